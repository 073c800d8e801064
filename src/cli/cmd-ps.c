/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth ps`: the processes of a container, as a table or a JSON array of
 * PIDs (what engines parse). Runs in the CLI process; reads /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util/macro.h"

/* Read up to size-1 bytes of /proc/PID/NAME into buf; returns the length, 0 if unreadable. */
static size_t read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	_cleanup_close_ int fd = -EBADF;
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

/* The command line of pid with spaces for NULs; "[comm]" when it has none (zombie). */
static void proc_cmd(pid_t pid, char *buf, size_t size)
{
	size_t len = read_proc(pid, "cmdline", buf, size);

	while (len > 0 && buf[len - 1] == '\0')
		len--;
	if (len > 0) {
		for (size_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		return;
	}

	char comm[64];
	len = read_proc(pid, "comm", comm, sizeof(comm));
	while (len > 0 && comm[len - 1] == '\n')
		comm[--len] = '\0';
	snprintf(buf, size, "[%s]", len > 0 ? comm : "?");
}

static int cmd_ps(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_error *err = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	bool json = false;
	size_t n = 0;
	int c;

	while ((c = cli_getopt("ps", argc, argv, "f:h", options)) != -1) {
		switch (c) {
		case 'f':
			if (streq(optarg, "json"))
				json = true;
			else if (streq(optarg, "table"))
				json = false;
			else
				return cli_usage_error("ps", "--format: unknown format '%s'",
						       optarg);
			break;
		case 'h':
			return cli_print_help(&cli_cmd_ps);
		default:
			return CLI_EXIT_USAGE;
		}
	}
	int r = cli_check_args("ps", argc - optind, 1, 1);
	if (r != 0)
		return r;

	if (berth_ps(&cli_ctx, argv[optind], &pids, &n, &err) < 0)
		return cli_fail(err);

	if (json) {
		fputc('[', stdout);
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i > 0 ? "," : "", (int)pids[i]);
		fputs("]\n", stdout);
		return 0;
	}

	printf("%-8s %s\n", "PID", "CMD");
	for (size_t i = 0; i < n; i++) {
		char cmd[4096];
		proc_cmd(pids[i], cmd, sizeof(cmd));
		printf("%-8d %s\n", (int)pids[i], cmd);
	}
	return 0;
}

const struct cli_command cli_cmd_ps = {
	.name = "ps",
	.summary = "list the processes of a container",
	.help = "Usage: berth ps [OPTIONS] ID\n"
		"\n"
		"List the processes of the container ID (every process of its cgroup), sorted\n"
		"by PID as seen from the host.\n"
		"\n"
		"Options:\n"
		"  -f, --format FMT    table (default: PID and command line) or json (an array\n"
		"                      of PIDs)\n"
		"  -h, --help          show this help\n",
	.run = cmd_ps,
};
