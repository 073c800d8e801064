/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth list`: the containers under --root, as a table, IDs or JSON.
 * Runs in the CLI process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define LIST_COLUMNS 6

static int print_table(struct berth_state **l, size_t n)
{
	static const char *const header[LIST_COLUMNS] = { "ID",	    "PID",     "STATUS",
							  "BUNDLE", "CREATED", "OWNER" };
	_cleanup_free_ char **cells = calloc((n + 1) * LIST_COLUMNS, sizeof(char *));
	size_t width[LIST_COLUMNS] = {};
	int ret = 0;

	if (!cells)
		return cli_error("list: out of memory");

	for (size_t c = 0; c < LIST_COLUMNS; c++)
		cells[c] = strdup(header[c]);
	for (size_t i = 0; i < n; i++) {
		char **row = cells + (i + 1) * LIST_COLUMNS;
		if (asprintf(&row[1], "%d", (int)l[i]->pid) < 0)
			row[1] = NULL;
		row[0] = strdup(l[i]->id ? l[i]->id : "");
		row[2] = strdup(l[i]->status ? l[i]->status : "");
		row[3] = strdup(l[i]->bundle ? l[i]->bundle : "");
		row[4] = strdup(l[i]->created ? l[i]->created : "");
		row[5] = strdup(l[i]->owner ? l[i]->owner : "");
	}
	for (size_t k = 0; k < (n + 1) * LIST_COLUMNS; k++) {
		if (!cells[k]) {
			ret = cli_error("list: out of memory");
			goto out;
		}
		size_t len = strlen(cells[k]);
		if (len > width[k % LIST_COLUMNS])
			width[k % LIST_COLUMNS] = len;
	}
	for (size_t i = 0; i <= n; i++) {
		for (size_t c = 0; c < LIST_COLUMNS; c++) {
			const char *v = cells[i * LIST_COLUMNS + c];
			if (c == LIST_COLUMNS - 1)
				printf("%s\n", v);
			else
				printf("%-*s   ", (int)width[c], v);
		}
	}
out:
	for (size_t k = 0; k < (n + 1) * LIST_COLUMNS; k++)
		free(cells[k]);
	return ret;
}

static int print_json(struct berth_state **l, size_t n)
{
	_cleanup_free_ char *out = berth_state_list_to_json(l, n);
	if (!out)
		return cli_error("list: out of memory");
	puts(out);
	return 0;
}

static int cmd_list(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_error *err = NULL;
	struct berth_state **l = NULL;
	bool quiet = false, json = false;
	size_t n = 0;
	int c, r;

	while ((c = cli_getopt("list", argc, argv, "qf:h", options)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") == 0)
				json = false;
			else
				return cli_usage_error("list", "--format: unknown format '%s'",
						       optarg);
			break;
		case 'h':
			return cli_print_help(&cli_cmd_list);
		default:
			return CLI_EXIT_USAGE;
		}
	}
	r = cli_check_args("list", argc - optind, 0, 0);
	if (r != 0)
		return r;

	if (berth_list(&cli_ctx, &l, &n, &err) < 0)
		return cli_fail(err);

	if (quiet) {
		for (size_t i = 0; i < n; i++)
			puts(l[i]->id);
		r = 0;
	} else if (json)
		r = print_json(l, n);
	else
		r = print_table(l, n);
	berth_state_list_free(l, n);
	return r;
}

const struct cli_command cli_cmd_list = {
	.name = "list",
	.summary = "list the containers",
	.help = "Usage: berth list [OPTIONS]\n"
		"\n"
		"List the containers under the --root directory, sorted by ID.\n"
		"\n"
		"Options:\n"
		"  -q, --quiet         print only the IDs, one per line\n"
		"  -f, --format FMT    table (default: ID PID STATUS BUNDLE CREATED OWNER)\n"
		"                      or json (an array of state objects with runc's\n"
		"                      fields: ociVersion id pid status bundle rootfs\n"
		"                      created annotations owner)\n"
		"  -h, --help          show this help\n",
	.run = cmd_list,
};
