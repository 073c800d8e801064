/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth events`: a container's statistics and OOM notifications as JSON
 * lines, like runc events. Runs in the CLI process until the container is
 * deleted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A Go-style duration ("5s", "250ms", "1m30s"; a bare number is seconds) -> milliseconds > 0. */
static int parse_duration(const char *s, unsigned *ret)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = { { "ns", 1e-6 }, { "us", 1e-3 }, { "ms", 1 },
		      { "s", 1000 },  { "m", 60000 }, { "h", 3600000 } };
	double total = 0;
	if (!*s)
		return -EINVAL;
	while (*s) {
		char *end;
		if (!isdigit((unsigned char)*s) && *s != '.')
			return -EINVAL;
		double v = strtod(s, &end);
		if (end == s)
			return -EINVAL;
		s = end;
		if (!*s && total == 0) {
			total = v * 1000;
			break;
		}
		size_t best = 0, blen = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);
			if (strncmp(s, units[i].unit, l) == 0 && l > blen)
				best = i, blen = l;
		}
		if (!blen)
			return -EINVAL;
		total += v * units[best].ms;
		s += blen;
	}
	if (total < 1 || total > 86400000.0 * 365)
		return -ERANGE;
	*ret = (unsigned)total;
	return 0;
}

static int print_line(void *data, const char *json)
{
	puts(json);
	/* stdout closed (a pipe reader went away): stop */
	return fflush(stdout) != 0;
}

static int cmd_events(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "stats", no_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_error *err = NULL;
	struct berth_events_opts o = { .interval_ms = 5000, .emit = print_line };
	int c;

	while ((c = cli_getopt("events", argc, argv, "si:h", options)) != -1) {
		switch (c) {
		case 's':
			o.stats_only = true;
			break;
		case 'i':
			if (parse_duration(optarg, &o.interval_ms) < 0)
				return cli_usage_error("events",
						       "--interval: invalid duration '%s'", optarg);
			break;
		case 'h':
			return cli_print_help(&cli_cmd_events);
		default:
			return CLI_EXIT_USAGE;
		}
	}
	int r = cli_check_args("events", argc - optind, 1, 1);
	if (r != 0)
		return r;
	if (berth_events(&cli_ctx, argv[optind], &o, &err) < 0)
		return cli_fail(err);
	return 0;
}

const struct cli_command cli_cmd_events = {
	.name = "events",
	.summary = "show the statistics and OOM events of a container",
	.help = "Usage: berth events [OPTIONS] ID\n"
		"\n"
		"Print events of the container ID as JSON lines, like runc: every interval\n"
		"{\"type\":\"stats\",\"id\":ID,\"data\":{\"cpu\":..,\"memory\":..,\"pids\":..,\n"
		"\"blkio\":..,\"hugetlb\":..}} and {\"type\":\"oom\",\"id\":ID} whenever the OOM\n"
		"killer strikes in the container. Goes on after the container stopped and\n"
		"ends when it is deleted, as runc's.\n"
		"\n"
		"Options:\n"
		"  -s, --stats           print one stats event and exit\n"
		"  -i, --interval D      time between stats events (default 5s; 500ms, 1m)\n"
		"  -h, --help            show this help\n",
	.run = cmd_events,
};
