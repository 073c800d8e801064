/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth kill`: send a signal to a container's process (or all of them).
 * Runs in the CLI process.
 */
#include <signal.h>
#include <string.h>

#include "cli.h"

static int cmd_kill(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_error *err = NULL;
	bool all = false;
	int c, sig = SIGTERM;

	while ((c = cli_getopt("kill", argc, argv, "ah", options)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'h':
			return cli_print_help(&cli_cmd_kill);
		default:
			return CLI_EXIT_USAGE;
		}
	}
	int r = cli_check_args("kill", argc - optind, 1, 2);
	if (r != 0)
		return r;
	const char *s = argc - optind == 2 ? argv[optind + 1] : NULL;
	/* as runc and kill(1): signal 0 only checks that the process exists */
	if (s && s[0] && s[strspn(s, "0")] == '\0')
		sig = 0;
	else if (s && berth_signal_parse(s, &sig) < 0)
		return cli_usage_error("kill", "unknown signal '%s'", s);

	if (berth_kill(&cli_ctx, argv[optind], sig, all, &err) < 0)
		return cli_fail(err);
	return 0;
}

const struct cli_command cli_cmd_kill = {
	.name = "kill",
	.summary = "send a signal to a container",
	.help = "Usage: berth kill [OPTIONS] ID [SIGNAL]\n"
		"\n"
		"Send SIGNAL (default: SIGTERM) to the process of the container ID. SIGNAL is\n"
		"a number (15) or a name with or without SIG (TERM, SIGTERM, RTMIN+1); 0\n"
		"sends nothing and only checks that the process exists (fails if not).\n"
		"\n"
		"Options:\n"
		"  -a, --all    send the signal to every process of the container's cgroup\n"
		"  -h, --help   show this help\n",
	.run = cmd_kill,
};
