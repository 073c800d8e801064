/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth start`: let a created container run its program.
 * Runs in the CLI process; berth_start() does the work.
 */
#include "cli.h"

static int cmd_start(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_error *err = NULL;
	int c;

	while ((c = cli_getopt("start", argc, argv, "h", options)) != -1) {
		if (c == 'h')
			return cli_print_help(&cli_cmd_start);
		return CLI_EXIT_USAGE;
	}
	int r = cli_check_args("start", argc - optind, 1, 1);
	if (r != 0)
		return r;

	if (berth_start(&cli_ctx, argv[optind], &err) < 0)
		return cli_fail(err);
	return 0;
}

const struct cli_command cli_cmd_start = {
	.name = "start",
	.summary = "run the program of a created container",
	.help = "Usage: berth start ID\n"
		"\n"
		"Make the created container ID execute the program of process.args, then run\n"
		"the poststart hooks. Returns once the program has been started.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n",
	.run = cmd_start,
};
