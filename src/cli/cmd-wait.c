/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth wait`: block until a container supervised by berth-shim stopped and
 * print its exit code. Runs in the CLI process.
 */
#include <stdio.h>

#include "cli.h"

static int cmd_wait(int argc, char *argv[])
{
	struct berth_error *err = NULL;
	int code = 0;
	int r = cli_parse_plain(&cli_cmd_wait, argc, argv, 1, 1);
	if (r != CLI_CONTINUE)
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
		"Wait until the container ID (started with 'berth run -d', 'create --shim' or\n"
		"'restore --shim') stopped, then print its exit code (128+N when signal N\n"
		"killed it) and exit 0.\n"
		"Fails when the exit code is unknown: a container without berth-shim.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n",
	.run = cmd_wait,
};
