/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRIU's network lock, taken off a network namespace that a restored
 * container joined by path. Runs in the berth process after a restore; a
 * child of it enters the namespace and runs iptables there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu.h"
#include "util/fd.h"
#include "util/macro.h"

/*
 * criu 3.17 locks the network namespace of the dumped tree with an iptables
 * chain "CRIU" that drops all but its own packets (jumped to from INPUT and
 * OUTPUT, a restore adding a second pair of jumps), also when it is told the
 * namespace is external, and lifts it only from a namespace it
 * restored itself: a namespace joined by path outlives the dump and would
 * stay locked.
 */
#define MAX_JUMPS 16

/* The first executable name in the directories where iptables lives. */
static int find_tool(const char *name, char *ret, size_t size)
{
	static const char *const dirs[] = { "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin",
					    "/bin" };
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		snprintf(ret, size, "%s/%s", dirs[i], name);
		if (access(ret, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/*
 * Run argv in the network namespace netns_fd with its output in out (a
 * memfd, for the error). The exit status, or -errno.
 */
static int run_in_netns(int netns_fd, char *const argv[], int out)
{
	if (ftruncate(out, 0) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (setns(netns_fd, CLONE_NEWNET) < 0 || null < 0 || dup2(null, 0) < 0 ||
		    dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* "tool -w op CRIU" in the namespace: its status, or -errno with err set. */
static int tool_in_netns(int netns_fd, char *tool, const char *op, int out,
			 struct berth_error **err)
{
	char *argv[] = { tool, (char *)"-w", (char *)op, (char *)"CRIU", NULL };
	int r = run_in_netns(netns_fd, argv, out);
	if (r < 0)
		return berth_error_set(err, -r, "network lock: run \"%s\"", tool);
	return r;
}

int criu_netns_unlock(int netns_fd, struct berth_error **err)
{
	static const char *const tools[] = { "iptables", "ip6tables" };
	for (size_t i = 0; i < ELEMENTSOF(tools); i++) {
		char tool[PATH_MAX];
		if (find_tool(tools[i], tool, sizeof(tool)) < 0)
			continue; /* without iptables CRIU took no lock of this kind */
		_cleanup_close_ int out = memfd_create("berth-criu-netlock", MFD_CLOEXEC);
		if (out < 0)
			return berth_error_set(err, errno, "network lock: memfd");
		/* only where the chain is: a criu that lifts its lock itself left none */
		int r = tool_in_netns(netns_fd, tool, "-S", out, err);
		if (r < 0)
			return r;
		if (r != 0)
			continue;
		static const char *const hooks[] = { "INPUT", "OUTPUT" };
		for (size_t h = 0; h < ELEMENTSOF(hooks); h++)
			for (int n = 0; n < MAX_JUMPS; n++) {
				/* "-D INPUT -j CRIU": one jump a time, until there is none */
				char *argv[] = { tool,	       (char *)"-w",
						 (char *)"-D", (char *)hooks[h],
						 (char *)"-j", (char *)"CRIU",
						 NULL };
				r = run_in_netns(netns_fd, argv, out);
				if (r < 0)
					return berth_error_set(err, -r, "network lock: run \"%s\"",
							       tool);
				if (r != 0)
					break;
			}
		r = tool_in_netns(netns_fd, tool, "-F", out, err);
		if (r == 0)
			r = tool_in_netns(netns_fd, tool, "-X", out, err);
		if (r < 0)
			return r;
		if (r != 0) {
			char line[256] = "";
			fd_last_line(out, line, sizeof(line));
			return berth_error_setx(
				err, EIO,
				"lift CRIU's network lock: \"%s\" exited with status "
				"%d%s%s",
				tool, r, *line ? ": " : "", line);
		}
	}
	return 0;
}
