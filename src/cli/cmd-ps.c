/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth ps`: the processes of a container, as the lines of ps(1) that are
 * the container's (runc's table) or a JSON array of PIDs (what engines
 * parse). Runs in the CLI process, which spawns ps.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/*
 * Run ps with args (argv[0] included) and return its stdout and stderr
 * together, NUL-terminated, in *ret_out (malloc'd). Fails with the output
 * in the message when ps fails.
 */
static int run_ps(char *args[], char **ret_out)
{
	_cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
	_cleanup_free_ char *out = NULL;
	size_t len = 0, size = 0;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return cli_error("ps: pipe: %s", strerror(errno));
	rfd = p[0];
	wfd = p[1];

	posix_spawn_file_actions_t fa;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return cli_error("out of memory");
	/* dup2 clears O_CLOEXEC on the copies: ps gets only stdio */
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, wfd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, wfd, STDERR_FILENO);
	pid_t pid;
	int r = posix_spawnp(&pid, "ps", &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return cli_error("run ps: %s", strerror(r));
	berth_closep(&wfd);

	for (;;) {
		if (size - len < 4096) {
			char *n = realloc(out, size + 65536);
			if (!n) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				return cli_error("out of memory");
			}
			out = n;
			size += 65536;
		}
		ssize_t k = read(rfd, out + len, size - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	out[len] = '\0';

	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		while (len > 0 && out[len - 1] == '\n')
			out[--len] = '\0';
		if (WIFEXITED(status))
			return cli_error("ps: exit status %d: %s", WEXITSTATUS(status), out);
		return cli_error("ps: killed by signal %d: %s", WTERMSIG(status), out);
	}
	*ret_out = out;
	out = NULL;
	return 0;
}

/* The whitespace-separated field number n (from 0) of line, as a PID; -1 if none. */
static pid_t field_pid(const char *line, size_t n)
{
	const char *f = line;
	for (size_t i = 0;; i++) {
		f += strspn(f, " \t");
		if (!*f)
			return -1;
		if (i == n)
			break;
		f += strcspn(f, " \t");
	}
	char *end = NULL;
	errno = 0;
	long v = strtol(f, &end, 10);
	if (errno || end == f || (*end && *end != ' ' && *end != '\t') || v <= 0 || v > INT32_MAX)
		return -1;
	return (pid_t)v;
}

static bool has_pid(const pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/*
 * As runc: run ps with the options given after the ID (default -ef), print
 * its header and only the lines whose PID column is one of the container's.
 */
static int print_table(char *ps_args[], size_t n_args, const pid_t *pids, size_t n)
{
	_cleanup_free_ char **args = calloc(n_args + 3, sizeof(char *));
	_cleanup_free_ char *out = NULL;
	if (!args)
		return cli_error("out of memory");
	args[0] = (char *)"ps";
	if (n_args == 0)
		args[1] = (char *)"-ef";
	for (size_t i = 0; i < n_args; i++)
		args[i + 1] = ps_args[i];
	int r = run_ps(args, &out);
	if (r != 0)
		return r;

	char *save = NULL;
	char *head = strtok_r(out, "\n", &save);
	ssize_t col = -1;
	char *h = head ? head : (char *)"";
	for (size_t i = 0;; i++) {
		h += strspn(h, " \t");
		if (!*h)
			break;
		size_t w = strcspn(h, " \t");
		if (w == 3 && strncmp(h, "PID", 3) == 0) {
			col = (ssize_t)i;
			break;
		}
		h += w;
	}
	if (col < 0)
		return cli_error("ps: no PID column in the output of ps");
	puts(head);
	for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (has_pid(pids, n, field_pid(line, (size_t)col)))
			puts(line);
	return 0;
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

	/* options stop at the ID: what follows it is for ps */
	while ((c = cli_getopt("ps", argc, argv, "+f:h", options)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") == 0)
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
	int r = cli_check_args("ps", argc - optind, 1, INT_MAX);
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

	return print_table(argv + optind + 1, (size_t)(argc - optind - 1), pids, n);
}

const struct cli_command cli_cmd_ps = {
	.name = "ps",
	.summary = "list the processes of a container",
	.help = "Usage: berth ps [OPTIONS] ID [PS OPTIONS...]\n"
		"\n"
		"List the processes of the container ID (every process of its cgroup), by\n"
		"PID as seen from the host. As runc, the table is what `ps PS OPTIONS`\n"
		"(default: ps -ef) prints, keeping the header and the lines whose PID column\n"
		"is one of the container's.\n"
		"\n"
		"Options (before ID; what follows ID goes to ps):\n"
		"  -f, --format FMT    table (default) or json (a sorted array of PIDs;\n"
		"                      PS OPTIONS are then ignored)\n"
		"  -h, --help          show this help\n",
	.run = cmd_ps,
};
