/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth resume`: thaw a paused container (cgroup.freeze).
 * Runs in the CLI process.
 */
#include "cli.h"

static int cmd_resume(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_error *err = NULL;
	int c;

	while ((c = cli_getopt("resume", argc, argv, "h", options)) != -1) {
		switch (c) {
		case 'h':
			return cli_print_help(&cli_cmd_resume);
		default:
			return CLI_EXIT_USAGE;
		}
	}
	int r = cli_check_args("resume", argc - optind, 1, 1);
	if (r != 0)
		return r;
	if (berth_resume(&cli_ctx, argv[optind], &err) < 0)
		return cli_fail(err);
	return 0;
}

const struct cli_command cli_cmd_resume = {
	.name = "resume",
	.summary = "thaw a paused container",
	.help = "Usage: berth resume [OPTIONS] ID\n"
		"\n"
		"Thaw the paused container ID (see 'berth pause') and wait until the kernel\n"
		"reports it thawed. 'berth state' then shows \"running\" again.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n",
	.run = cmd_resume,
};
