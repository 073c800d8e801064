/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth wait`: block until a container supervised by berth-shim stopped and
 * print its exit code. Runs in the CLI process.
 */
#include <stdio.h>

#include "cli.h"

static int cmd_wait(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_error *err = NULL;
	int c, code = 0;

	while ((c = cli_getopt("wait", argc, argv, "h", options)) != -1) {
		if (c == 'h')
			return cli_print_help(&cli_cmd_wait);
		return CLI_EXIT_USAGE;
	}
	int r = cli_check_args("wait", argc - optind, 1, 1);
	if (r != 0)
		return r;
	if (berth_wait(&cli_ctx, argv[optind], &code, &err) < 0)
		return cli_fail(err);
	printf("%d\n", code);
	return 0;
}

const struct cli_command cli_cmd_wait = {
	.name = "wait",
	.summary = "wait until a container stopped and print its exit code",
	.help = "Usage: berth wait ID\n"
		"\n"
		"Wait until the container ID (started with 'berth run -d' or 'create --shim')\n"
		"stopped, then print its exit code (128+N when signal N killed it) and exit 0.\n"
		"Fails when the exit code is unknown: a container without berth-shim.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n",
	.run = cmd_wait,
};
