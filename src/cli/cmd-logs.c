/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth logs`: print what a container supervised by berth-shim wrote to its
 * stdout and stderr (container.log). Runs in the CLI process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	OPT_TAIL = 0x100,
};

static int emit(void *data, const char *stream, const char *msg, size_t len, bool partial)
{
	fwrite(msg, 1, len, stdout);
	if (!partial)
		fputc('\n', stdout);
	/* with --follow every record shows at once */
	if (data)
		fflush(stdout);
	return ferror(stdout) ? -EIO : 0;
}

static int cmd_logs(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "tail", required_argument, NULL, OPT_TAIL },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_error *err = NULL;
	struct berth_logs_opts o = { .tail = -1, .emit = emit };
	int c, n;

	while ((c = cli_getopt("logs", argc, argv, "fh", options)) != -1) {
		switch (c) {
		case 'f':
			o.follow = true;
			o.data = &o;
			break;
		case OPT_TAIL:
			if (cli_parse_uint("logs", "--tail", optarg, &n) != 0)
				return CLI_EXIT_USAGE;
			o.tail = n;
			break;
		case 'h':
			return cli_print_help(&cli_cmd_logs);
		default:
			return CLI_EXIT_USAGE;
		}
	}
	int r = cli_check_args("logs", argc - optind, 1, 1);
	if (r != 0)
		return r;
	if (berth_logs(&cli_ctx, argv[optind], &o, &err) < 0)
		return cli_fail(err);
	if (fflush(stdout) != 0)
		return cli_error("logs: write: %s", strerror(errno));
	return 0;
}

const struct cli_command cli_cmd_logs = {
	.name = "logs",
	.summary = "print the output of a container that berth-shim runs",
	.help = "Usage: berth logs [OPTIONS] ID\n"
		"\n"
		"Print the messages the container ID wrote to its stdout and stderr, as\n"
		"berth-shim recorded them in <root>/ID/container.log (one line per record:\n"
		"time, stream, F for a full line or P for a partial one, message).\n"
		"\n"
		"Options:\n"
		"  -f, --follow   keep printing new output until the container exited\n"
		"      --tail N   only the last N lines\n"
		"  -h, --help     show this help\n",
	.run = cmd_logs,
};
