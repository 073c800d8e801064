/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth delete`: remove a created or stopped container (--force: any).
 * Runs in the CLI process.
 */
#include "cli.h"

static int cmd_delete(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_error *err = NULL;
	bool force = false;
	int c;

	while ((c = cli_getopt("delete", argc, argv, "fh", options)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			return cli_print_help(&cli_cmd_delete);
		default:
			return CLI_EXIT_USAGE;
		}
	}
	int r = cli_check_args("delete", argc - optind, 1, 1);
	if (r != 0)
		return r;

	if (berth_delete(&cli_ctx, argv[optind], force, &err) < 0)
		return cli_fail(err);
	return 0;
}

const struct cli_command cli_cmd_delete = {
	.name = "delete",
	.summary = "delete a container",
	.help = "Usage: berth delete [OPTIONS] ID\n"
		"\n"
		"Delete the created or stopped container ID: run the poststop hooks, remove its\n"
		"cgroup and its state.\n"
		"\n"
		"Options:\n"
		"  -f, --force  kill a running container first (SIGKILL); succeed quietly when\n"
		"               ID does not exist\n"
		"  -h, --help   show this help\n",
	.run = cmd_delete,
};
