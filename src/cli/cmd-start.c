/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth start`: let a created container run its program.
 * Runs in the CLI process; berth_start() does the work.
 */
#include "cli.h"

static int cmd_start(int argc, char *argv[])
{
	return cli_run_on_id(&cli_cmd_start, argc, argv, berth_start);
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
