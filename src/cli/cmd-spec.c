/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth spec`: write a default config.json into a bundle directory, never
 * over an existing one. Runs in the CLI process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int cmd_spec(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "rootless", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_free_ char *json = NULL, *path = NULL;
	struct berth_error *err = NULL;
	const char *bundle = ".";
	bool rootless = false;
	int c, r;

	while ((c = cli_getopt("spec", argc, argv, "b:h", options)) != -1) {
		switch (c) {
		case 'b':
			bundle = optarg;
			break;
		case 'r':
			rootless = true;
			break;
		case 'h':
			return cli_print_help(&cli_cmd_spec);
		default:
			return CLI_EXIT_USAGE;
		}
	}
	r = cli_check_args("spec", argc - optind, 0, 0);
	if (r != 0)
		return r;

	if (berth_spec_generate(rootless, &json, &err) < 0)
		return cli_fail(err);

	if (asprintf(&path, "%s/config.json", bundle) < 0)
		return cli_error("spec: out of memory");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0 && errno == EEXIST)
		return cli_error("spec: config.json already exists in \"%s\"", bundle);
	if (fd < 0)
		return cli_error("spec: create \"%s\": %s", path, strerror(errno));

	/* dprintf() writes all of it (retrying short writes) or fails with errno */
	r = dprintf(fd, "%s\n", json) < 0 ? -errno : 0;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		unlink(path);
		return cli_error("spec: write \"%s\": %s", path, strerror(-r));
	}
	return 0;
}

const struct cli_command cli_cmd_spec = {
	.name = "spec",
	.summary = "write a default config.json",
	.help = "Usage: berth spec [OPTIONS]\n"
		"\n"
		"Write a default config.json into the bundle directory: run sh from rootfs/\n"
		"without a terminal, in new pid, network, ipc, uts, mount and cgroup\n"
		"namespaces. An existing config.json is never overwritten.\n"
		"\n"
		"Options:\n"
		"  -b, --bundle DIR   the bundle directory (default: the current directory)\n"
		"      --rootless     for a user without privileges: a user namespace mapping\n"
		"                     the caller to root, the host network, /sys bound from\n"
		"                     the host, no cgroup mount\n"
		"  -h, --help         show this help\n",
	.run = cmd_spec,
};
