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
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"
#include "util/macro.h"

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1: none) for poll(2); 0 once it has passed. */
static int remaining_ms(int64_t deadline)
{
	if (deadline < 0)
		return -1;
	int64_t left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* In the forked child: plain signal state, the pipe as stdin, exec. Never returns. */
static _noreturn_ void hook_child(const char *path, char *const *argv, char *const *envp, int in_fd,
				  int report_fd)
{
	sigset_t none;
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (in_fd == STDIN_FILENO) {
		if (fcntl(in_fd, F_SETFD, 0) < 0)
			goto fail;
	} else if (dup2(in_fd, STDIN_FILENO) < 0) {
		goto fail;
	}
	execve(path, argv, envp);
fail:;
	int e = errno;
	while (write(report_fd, &e, sizeof(e)) < 0 && errno == EINTR)
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
 * Wait for the child until deadline (-1: forever). Returns 0 with *ret_status
 * filled, -ETIMEDOUT (child still running, not reaped) or -errno.
 */
static int wait_child(pid_t pid, int pidfd, int64_t deadline, int *ret_status)
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
			/* readable: it has exited, waitpid below won't block */
		}

		int status;
		pid_t w = waitpid(pid, &status, pidfd >= 0 || deadline < 0 ? 0 : WNOHANG);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == pid) {
			*ret_status = status;
			return 0;
		}
		/* no pidfd (kernel < 5.3) and a deadline: poll every 10ms */
		if (remaining_ms(deadline) == 0)
			return -ETIMEDOUT;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static int reap(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int run_one(const struct berth_hook *h, const char *kind, const char *state_json,
		   struct berth_error **err)
{
	_cleanup_close_ int in_r = -EBADF, in_w = -EBADF, rep_r = -EBADF, rep_w = -EBADF,
			    pidfd = -EBADF;
	int fds[2];
	int r, status = 0;

	if (!h->path)
		return berth_error_setx(err, EINVAL, "%s hook: no path", kind);

	char *default_argv[] = { h->path, NULL };
	char *empty_env[] = { NULL };
	char *const *argv = h->args && h->n_args > 0 ? h->args : default_argv;
	char *const *envp = h->env ? h->env : empty_env;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return berth_error_set(err, errno, "%s hook \"%s\": pipe", kind, h->path);
	in_r = fds[0];
	in_w = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return berth_error_set(err, errno, "%s hook \"%s\": pipe", kind, h->path);
	rep_r = fds[0];
	rep_w = fds[1];

	int64_t deadline =
		h->has_timeout && h->timeout > 0 ? now_ms() + (int64_t)h->timeout * 1000 : -1;

	pid_t pid = fork();
	if (pid < 0)
		return berth_error_set(err, errno, "%s hook \"%s\": fork", kind, h->path);
	if (pid == 0)
		hook_child(h->path, argv, envp, in_r, rep_w);

	close(TAKE_FD(in_r));
	close(TAKE_FD(rep_w));

	pidfd = pidfd_open_(pid);
	if (pidfd < 0 && errno != ENOSYS) {
		r = -errno;
		kill(pid, SIGKILL);
		reap(pid);
		return berth_error_set(err, -r, "%s hook \"%s\": pidfd_open", kind, h->path);
	}

	r = fcntl(in_w, F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
	if (r == 0 && state_json)
		r = feed_stdin(in_w, pidfd, state_json, strlen(state_json), deadline);
	close(TAKE_FD(in_w));

	if (r == 0 || r == -ETIMEDOUT) {
		if (r == 0)
			r = wait_child(pid, pidfd, deadline, &status);
		if (r == -ETIMEDOUT) {
			kill(pid, SIGKILL);
			reap(pid);
			return berth_error_setx(err, ETIMEDOUT,
						"%s hook \"%s\": timed out after %ds", kind,
						h->path, h->timeout);
		}
	} else {
		kill(pid, SIGKILL);
		reap(pid);
	}
	if (r < 0)
		return berth_error_set(err, -r, "%s hook \"%s\": wait", kind, h->path);

	/* EOF: the exec succeeded and closed our CLOEXEC report pipe */
	int e = 0;
	ssize_t k;
	do
		k = read(rep_r, &e, sizeof(e));
	while (k < 0 && errno == EINTR);
	if (k == (ssize_t)sizeof(e) && e > 0)
		return berth_error_set(err, e, "%s hook \"%s\": exec", kind, h->path);

	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return berth_error_setx(err, EIO, "%s hook \"%s\": exited with status %d", kind,
					h->path, WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return berth_error_setx(err, EIO, "%s hook \"%s\": killed by signal %d", kind,
					h->path, WTERMSIG(status));
	return 0;
}

int berth_hooks_run(const struct berth_hooks *hooks, enum berth_hook_kind kind,
		    const char *state_json, struct berth_error **err)
{
	if (!hooks || (unsigned)kind >= _BERTH_HOOK_MAX)
		return 0;

	const char *name = berth_hook_kind_name(kind);
	if (!name)
		name = "unknown";
	for (size_t i = 0; i < hooks->n[kind]; i++) {
		int r = run_one(&hooks->list[kind][i], name, state_json, err);
		if (r < 0)
			return r;
	}
	return 0;
}
