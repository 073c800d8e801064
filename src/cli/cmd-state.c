/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth state`: print a container's runtime-spec state as JSON.
 * Runs in the CLI process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int cmd_state(int argc, char *argv[])
{
	struct berth_error *err = NULL;
	struct berth_state *s = NULL;
	int r = cli_parse_plain(&cli_cmd_state, argc, argv, 1, 1);
	if (r != CLI_CONTINUE)
		return r;

	if (berth_state_get(&cli_ctx, argv[optind], &s, &err) < 0)
		return cli_fail(err);
	char *json = berth_state_to_json(s, true);
	berth_state_free(s);
	if (!json)
		return cli_error("state \"%s\": out of memory", argv[optind]);
	size_t len = strlen(json);
	fputs(json, stdout);
	if (len == 0 || json[len - 1] != '\n')
		fputc('\n', stdout);
	free(json);
	return 0;
}

const struct cli_command cli_cmd_state = {
	.name = "state",
	.summary = "print the state of a container as JSON",
	.help = "Usage: berth state ID\n"
		"\n"
		"Print the runtime-spec state of the container ID as JSON: ociVersion, id,\n"
		"status (creating, created, running or stopped), pid, bundle, annotations.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n",
	.run = cmd_state,
};
