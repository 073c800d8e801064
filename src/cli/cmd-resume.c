/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth resume`: thaw a paused container (cgroup.freeze).
 * Runs in the CLI process.
 */
#include "cli.h"

static int cmd_resume(int argc, char *argv[])
{
	return cli_run_on_id(&cli_cmd_resume, argc, argv, berth_resume);
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
