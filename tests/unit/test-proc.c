/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/proc.c: exit codes as a shell shows them, pidfds that refuse a reused
 * PID, the signal reset before exec, the wait that forwards signals, and
 * uids through the user namespace's map.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/proc.h"
#include "tests.h"

static void test_exit_code(void)
{
	check(proc_exit_code(0) == 0);
	check(proc_exit_code(3 << 8) == 3);
	check(proc_exit_code(255 << 8) == 255);
	check(proc_exit_code(SIGKILL) == 128 + SIGKILL);
	check(proc_exit_code(SIGSEGV | 0x80) == 128 + SIGSEGV); /* with a core dump */
	check(proc_exit_code(0x137f) == 255);			/* stopped by SIGSTOP */
}

static void test_pidfd(void)
{
	uint64_t start = proc_start_time(getpid());
	check(start > 0);
	int fd = proc_pidfd_open_started(getpid(), start);
	if (fd == -ENOSYS)
		return;
	check(fd >= 0);
	check(proc_pidfd_signal(fd, 0) == 0);
	close(fd);
	check(proc_pidfd_open_started(getpid(), start + 1) == -ESRCH);
	check(proc_pidfd_open(-1) < 0);
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void test_signals_reset(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 }, got;
	check(sigaction(SIGUSR1, &sa, NULL) == 0);
	sigset_t set, now;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	check(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	check(proc_signals_reset() == 0);
	check(sigaction(SIGUSR1, NULL, &got) == 0 && got.sa_handler == SIG_DFL);
	check(sigprocmask(SIG_SETMASK, NULL, &now) == 0 && !sigismember(&now, SIGUSR2));
}

static void test_forwarded_set(void)
{
	sigset_t s;
	sigfillset(&s);
	proc_forwarded_sigset(&s);
	check(sigismember(&s, SIGTERM) && sigismember(&s, SIGINT) && sigismember(&s, SIGWINCH));
	check(!sigismember(&s, SIGCHLD) && !sigismember(&s, SIGKILL));
}

static volatile sig_atomic_t child_got;
static void child_handler(int sig)
{
	child_got = sig;
}

/* A child that exits with the number of the first signal it receives (SIGWINCH, SIGUSR1). */
static pid_t spawn_catcher(void)
{
	pid_t pid = fork();
	check(pid >= 0);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = child_handler };
		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGWINCH, &sa, NULL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		while (!child_got)
			pause();
		_exit(child_got);
	}
	return pid;
}

static int extra_calls;
static void on_extra(void *data)
{
	char b;
	check(read(*(int *)data, &b, 1) == 1);
	extra_calls++;
}

static void test_wait_forward(bool keep_winch)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGWINCH);
	check(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	check(sfd >= 0);
	int pipefd[2];
	check(pipe(pipefd) == 0);

	pid_t pid = spawn_catcher();
	int pidfd = proc_pidfd_open(pid);
	if (pidfd == -ENOSYS) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	check(pidfd >= 0);
	/* queued for us before the wait: SIGWINCH first, then SIGUSR1 */
	kill(getpid(), SIGWINCH);
	kill(getpid(), SIGUSR1);
	check(write(pipefd[1], "x", 1) == 1);
	const struct proc_wait w = {
		.pid = pid,
		.pidfd = pidfd,
		.sigfd = sfd,
		.keep_winch = keep_winch,
		.extra_fd = pipefd[0],
		.on_extra = on_extra,
		.data = &pipefd[0],
	};
	extra_calls = 0;
	int code = proc_wait_forward(&w);
	/* the signals are read in number order: SIGUSR1 (10) before SIGWINCH (28) */
	check(code == SIGUSR1);
	check(extra_calls == 1);
	check(proc_wait_forward(&w) == -ECHILD);
	close(pidfd);

	/* SIGWINCH alone: forwarded unless keep_winch */
	pid = spawn_catcher();
	pidfd = proc_pidfd_open(pid);
	check(pidfd >= 0);
	kill(getpid(), SIGWINCH);
	if (keep_winch) {
		struct proc_wait w2 = w;
		w2.pid = pid;
		w2.pidfd = pidfd;
		w2.sigfd = -EBADF; /* the signal stays queued: the child must not see it */
		kill(pid, SIGTERM);
		check(proc_wait_forward(&w2) == 128 + SIGTERM);
		struct signalfd_siginfo si;
		check(read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGWINCH);
	} else {
		struct proc_wait w2 = w;
		w2.pid = pid;
		w2.pidfd = pidfd;
		check(proc_wait_forward(&w2) == SIGWINCH);
	}
	close(pidfd);
out:
	close(pipefd[0]);
	close(pipefd[1]);
	close(sfd);
	check(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
}

/* A child that makes a user namespace of its own is rootless there, even as uid 0. */
static void test_rootless(void)
{
	if (geteuid() != 0) {
		check(proc_rootless());
		return;
	}
	pid_t pid = fork();
	check(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(77);
		_exit(proc_rootless() ? 0 : 1);
	}
	int status = 0;
	check(waitpid(pid, &status, 0) == pid);
	check(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 77));
}

/*
 * The uid a peer outside our user namespace sees: the child maps its own uid
 * (the only mapping it may write) to 7 inside, where it is uid 7.
 */
static void test_uid_outside(void)
{
	uid_t own = geteuid();
	check(proc_uid_outside(own) == own || proc_rootless());
	pid_t pid = fork();
	check(pid >= 0);
	if (pid == 0) {
		char map[64];
		int n = snprintf(map, sizeof(map), "7 %u 1\n", (unsigned)own);
		int fd = unshare(CLONE_NEWUSER) < 0 ? -1 : open("/proc/self/uid_map", O_WRONLY);
		if (fd < 0 || write(fd, map, (size_t)n) != n)
			_exit(77);
		close(fd);
		bool ok = geteuid() == 7 && proc_uid_outside(7) == own && proc_uid_outside(8) == 8;
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	check(waitpid(pid, &status, 0) == pid);
	check(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 77));
}

/* Our own pid namespace cannot be told apart from the host's: refused, not listed. */
static void test_pidns_members(void)
{
	pid_t *v = NULL;
	size_t n = 7;
	check(proc_pidns_members(getpid(), &v, &n) == -EPERM);
	check(v == NULL && n == 0);
	check(proc_pidns_members(-1, &v, &n) == -ESRCH);
}

int main(void)
{
	test_rootless();
	test_uid_outside();
	test_pidns_members();
	test_exit_code();
	test_pidfd();
	test_signals_reset();
	test_forwarded_set();
	test_wait_forward(false);
	test_wait_forward(true);
	return 0;
}
