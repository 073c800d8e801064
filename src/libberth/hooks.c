/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OCI hooks: fork, exec each hook with the container state on its stdin,
 * enforce its timeout, report how it ended. Runs in whichever process calls
 * it: the parent for runtime-namespace hooks, the container init for
 * createContainer and startContainer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/proc.h"
#include "util/timestamp.h"

/* Milliseconds left until deadline (-1: none) for poll(2); 0 once it has passed. */
static int remaining_ms(int64_t deadline)
{
	if (deadline < 0)
		return -1;
	int64_t left = deadline - monotonic_ms();
	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* What a hook's child sends up its report pipe when it could not exec the hook. */
struct hook_report {
	int code;
	char msg[1020];
};

/*
 * In the forked child: plain signal state, its own process group, the pipe
 * as stdin, nothing else open but stdio, the caller's setup, exec. Never
 * returns; a failure before the hook runs goes up report_fd.
 */
static _noreturn_ void hook_child(const char *path, char *const *argv, char *const *envp, int in_fd,
				  int report_fd, pid_t parent, const struct berth_hook_setup *setup)
{
	struct berth_error *e = NULL;
	struct hook_report rep = { 0 };
	int r;

	(void)proc_signals_reset();

	/* if the hook fails, what it leaves in its group ends with it (end_hook) */
	if (setpgid(0, 0) < 0) {
		berth_error_set(&e, errno, "setpgid");
		goto fail;
	}
	/*
	 * If we die, so does the hook: it must not run on unsupervised and
	 * untimed. A change of user (setup) clears this, as does a set-user-ID
	 * hook; the pid namespace of a container init ends its hooks then.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(127);

	if (in_fd == STDIN_FILENO)
		r = fcntl(in_fd, F_SETFD, 0);
	else
		r = dup2(in_fd, STDIN_FILENO);
	if (r < 0) {
		berth_error_set(&e, errno, "stdin");
		goto fail;
	}
	/* fds our caller left open (not O_CLOEXEC) are not the hook's */
	r = close_fds_from(3, &report_fd, 1);
	if (r < 0) {
		berth_error_set(&e, -r, "close fds");
		goto fail;
	}
	if (setup && setup->fn(setup->data, report_fd, &e) < 0)
		goto fail;

	execve(path, argv, envp);
	berth_error_set(&e, errno, "exec");
fail:
	rep.code = e ? e->code : EIO;
	snprintf(rep.msg, sizeof(rep.msg), "%s", e && e->msg ? e->msg : "setup failed");
	size_t len = offsetof(struct hook_report, msg) + strlen(rep.msg) + 1;
	while (write(report_fd, &rep, len) < 0 && errno == EINTR)
		;
	_exit(127);
}

/*
 * Feed data to fd (non-blocking) until it is all written, the reader goes
 * away, the child exits (pidfd readable) or the deadline passes. SIGPIPE is
 * blocked meanwhile and swallowed if we caused it. Returns 0, or -ETIMEDOUT;
 * a hook that does not read its stdin is not an error.
 */
static int feed_stdin(int fd, int pidfd, const char *data, size_t len, int64_t deadline)
{
	sigset_t pipe_set, old, pending;
	bool was_pending;
	int r = 0;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);

	while (len > 0) {
		ssize_t k = write(fd, data, len);
		if (k >= 0) {
			data += k;
			len -= (size_t)k;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			break; /* EPIPE: the hook closed its stdin */

		struct pollfd p[2] = { { .fd = fd, .events = POLLOUT },
				       { .fd = pidfd, .events = POLLIN } };
		int n = poll(p, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? remaining_ms(deadline) : 100);
		if (n < 0 && errno != EINTR)
			break;
		if (n == 0 && pidfd >= 0) {
			r = -ETIMEDOUT;
			break;
		}
		if (pidfd < 0 && deadline >= 0 && remaining_ms(deadline) == 0) {
			r = -ETIMEDOUT;
			break;
		}
		if (n > 0 && pidfd >= 0 && (p[1].revents & POLLIN))
			break; /* exited without reading everything */
	}

	if (!was_pending) {
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

/*
 * Wait for the child to end, until deadline (-1: forever), without reaping
 * it: its pid stays its own, and its group's, until end_hook(). Returns 0
 * with *ret_info filled, -ETIMEDOUT (still running) or -errno.
 */
static int wait_child(pid_t pid, int pidfd, int64_t deadline, siginfo_t *ret_info)
{
	for (;;) {
		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			int n = poll(&p, 1, remaining_ms(deadline));
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (n == 0)
				return -ETIMEDOUT;
			/* readable: it has exited, waitid below won't block */
		}

		siginfo_t si = { 0 };
		int flags = WEXITED | WNOWAIT | (pidfd >= 0 || deadline < 0 ? 0 : WNOHANG);
		if (waitid(P_PID, (id_t)pid, &si, flags) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (si.si_pid == pid) {
			*ret_info = si;
			return 0;
		}
		/* no pidfd (kernel < 5.3) and a deadline: poll every 10ms */
		if (remaining_ms(deadline) == 0)
			return -ETIMEDOUT;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/*
 * End a hook that failed, however: SIGKILL what is left in its process group
 * and the hook itself, then reap it. The group goes first, while the unreaped
 * hook still holds the number: it cannot name anyone else's group yet.
 * After a success only the hook is reaped: what it started on purpose (a
 * daemon, detached or not yet) is its business.
 */
static void end_hook(pid_t pid, bool failed)
{
	if (failed) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int run_one(const struct berth_hook *h, const char *kind, const char *state_json,
		   const struct berth_hook_setup *setup, struct berth_error **err)
{
	_cleanup_close_ int in_r = -EBADF, in_w = -EBADF, rep_r = -EBADF, rep_w = -EBADF,
			    pidfd = -EBADF;
	siginfo_t info = { 0 };
	int fds[2];
	int r;

	if (!h->path)
		return berth_error_setx(err, EINVAL, "%s hook: no path", kind);

	char *default_argv[] = { h->path, NULL };
	char *const *argv = h->args && h->n_args > 0 ? h->args : default_argv;
	/* a hook without env gets the runtime's environment, as runc and crun give it */
	char *const *envp = h->env ? h->env : setup && setup->env ? setup->env : environ;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return berth_error_set(err, errno, "%s hook \"%s\": pipe", kind, h->path);
	in_r = fds[0];
	in_w = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return berth_error_set(err, errno, "%s hook \"%s\": pipe", kind, h->path);
	rep_r = fds[0];
	rep_w = fds[1];

	int64_t deadline =
		h->has_timeout && h->timeout > 0 ? monotonic_ms() + (int64_t)h->timeout * 1000 : -1;

	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return berth_error_set(err, errno, "%s hook \"%s\": fork", kind, h->path);
	if (pid == 0)
		hook_child(h->path, argv, envp, in_r, rep_w, parent, setup);
	/* the child does it too: whichever runs first, the group exists before a kill */
	(void)setpgid(pid, pid);

	close(TAKE_FD(in_r));
	close(TAKE_FD(rep_w));

	pidfd = proc_pidfd_open(pid);
	if (pidfd < 0 && pidfd != -ENOSYS) {
		r = pidfd;
		end_hook(pid, true);
		return berth_error_set(err, -r, "%s hook \"%s\": pidfd_open", kind, h->path);
	}

	r = fcntl(in_w, F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
	if (r == 0 && state_json)
		r = feed_stdin(in_w, pidfd, state_json, strlen(state_json), deadline);
	close(TAKE_FD(in_w));
	if (r == 0)
		r = wait_child(pid, pidfd, deadline, &info);
	if (r < 0) {
		end_hook(pid, true);
		if (r == -ETIMEDOUT)
			return berth_error_setx(err, ETIMEDOUT,
						"%s hook \"%s\": timed out after %ds", kind,
						h->path, h->timeout);
		return berth_error_set(err, -r, "%s hook \"%s\": wait", kind, h->path);
	}
	bool ok = info.si_code == CLD_EXITED && info.si_status == 0;
	end_hook(pid, !ok);

	/* EOF: the exec succeeded and closed our CLOEXEC report pipe */
	struct hook_report rep = { 0 };
	const ssize_t head = (ssize_t)offsetof(struct hook_report, msg);
	ssize_t k;
	do
		k = read(rep_r, &rep, sizeof(rep) - 1);
	while (k < 0 && errno == EINTR);
	if (k >= head && rep.code > 0)
		return berth_error_setx(err, rep.code, "%s hook \"%s\": %s", kind, h->path,
					k > head ? rep.msg : "exec");

	if (info.si_code == CLD_EXITED && info.si_status != 0)
		return berth_error_setx(err, EIO, "%s hook \"%s\": exited with status %d", kind,
					h->path, info.si_status);
	if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED)
		return berth_error_setx(err, EIO, "%s hook \"%s\": killed by signal %d", kind,
					h->path, info.si_status);
	return 0;
}

int hooks_run_as(const struct berth_hooks *hooks, enum berth_hook_kind kind, const char *state_json,
		 const struct berth_hook_setup *setup, struct berth_error **err)
{
	if (!hooks || (unsigned)kind >= _BERTH_HOOK_MAX || hooks->n[kind] == 0)
		return 0;

	const char *name = hook_kind_name(kind);
	if (!name)
		name = "unknown";

	/* an ignored SIGCHLD (our caller's, inherited) would reap hooks behind our back */
	struct sigaction chld, dfl = { .sa_handler = SIG_DFL };
	bool restore = sigaction(SIGCHLD, NULL, &chld) == 0 &&
		       (chld.sa_handler == SIG_IGN || (chld.sa_flags & SA_NOCLDWAIT));
	if (restore)
		sigaction(SIGCHLD, &dfl, NULL);

	int r = 0;
	for (size_t i = 0; i < hooks->n[kind] && r >= 0; i++)
		r = run_one(&hooks->list[kind][i], name, state_json, setup, err);

	if (restore)
		sigaction(SIGCHLD, &chld, NULL);
	return r;
}

int hooks_run(const struct berth_hooks *hooks, enum berth_hook_kind kind, const char *state_json,
	      struct berth_error **err)
{
	return hooks_run_as(hooks, kind, state_json, NULL, err);
}
