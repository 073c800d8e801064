/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth features`: print the runtime-spec features document.
 * Runs in the CLI process.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static int cmd_features(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_error *err = NULL;
	char *json = NULL;
	int c;

	while ((c = cli_getopt("features", argc, argv, "h", options)) != -1) {
		if (c == 'h')
			return cli_print_help(&cli_cmd_features);
		return CLI_EXIT_USAGE;
	}
	int r = cli_check_args("features", argc - optind, 0, 0);
	if (r != 0)
		return r;

	if (berth_features_json(&json, &err) < 0)
		return cli_fail(err);
	puts(json);
	free(json);
	return 0;
}

const struct cli_command cli_cmd_features = {
	.name = "features",
	.summary = "print what berth implements as JSON",
	.help = "Usage: berth features\n"
		"\n"
		"Print the runtime-spec features document: the supported OCI versions, hooks,\n"
		"mount options, namespaces, capabilities, cgroup drivers and security features.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n",
	.run = cmd_features,
};
