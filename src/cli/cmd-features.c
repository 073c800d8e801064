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
	struct berth_error *err = NULL;
	char *json = NULL;
	int r = cli_parse_plain(&cli_cmd_features, argc, argv, 0, 0);
	if (r != CLI_CONTINUE)
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
