/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth pause`: freeze every process of a container (cgroup.freeze or,
 * with cgroup v1 only, freezer.state).
 * Runs in the CLI process.
 */
#include "cli.h"

static int cmd_pause(int argc, char *argv[])
{
	return cli_run_on_id(&cli_cmd_pause, argc, argv, berth_pause);
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
