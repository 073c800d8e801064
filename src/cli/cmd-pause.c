/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth pause`: freeze every process of a container (cgroup.freeze or,
 * with cgroup v1 only, freezer.state).
 * Runs in the CLI process.
 */
#include "cli.h"

static int cmd_pause(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_error *err = NULL;
	int c;

	while ((c = cli_getopt("pause", argc, argv, "h", options)) != -1) {
		switch (c) {
		case 'h':
			return cli_print_help(&cli_cmd_pause);
		default:
			return CLI_EXIT_USAGE;
		}
	}
	int r = cli_check_args("pause", argc - optind, 1, 1);
	if (r != 0)
		return r;
	if (berth_pause(&cli_ctx, argv[optind], &err) < 0)
		return cli_fail(err);
	return 0;
}

const struct cli_command cli_cmd_pause = {
	.name = "pause",
	.summary = "freeze every process of a container",
	.help = "Usage: berth pause [OPTIONS] ID\n"
		"\n"
		"Freeze every process of the running container ID through its cgroup's\n"
		"cgroup.freeze (cgroup v1 only: freezer.state) and wait until the kernel\n"
		"reports it frozen. 'berth state' then shows \"paused\"; 'berth resume'\n"
		"thaws it.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n",
	.run = cmd_pause,
};
