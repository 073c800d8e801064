/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Supervised containers: berth_create_shim() runs in berth and in a forked
 * child that creates the container (so its init is that child's) and then
 * executes berth-shim in place; wait, logs and attach are clients of the
 * shim's files in the state dir and run in the berth CLI process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "container.h"
#include "shim.h"
#include "state.h"
#include "sync.h"
#include "util/env.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"
#include "util/proc.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define REPORT_MAX_LOGS 4096 /* log messages of create: more is a runaway report */

/* ---- handing a container to berth-shim ---- */

/* berth-shim: $BERTH_SHIM, next to berth, the installed one (never a build tree's). */
static int find_shim(char **ret)
{
	static const char *const fixed[] = { BERTH_SHIM_PATH };
	return path_find_program("BERTH_SHIM", fixed, ELEMENTSOF(fixed), "berth-shim", ret);
}

/*
 * The child's report to berth, on the wire: WIRE_LOG {level, message},
 * WIRE_CREATED, WIRE_ERROR {errno, message}; berth-shim then sends
 * WIRE_SHIM_READY (or its own WIRE_ERROR).
 */
static void report_log(void *data, enum berth_log_level level, const char *msg)
{
	(void)sync_send(*(int *)data, WIRE_LOG, (int32_t)level, msg);
}

static void report_error(int fd, int code, const char *msg)
{
	struct berth_error e = { .code = code, .msg = (char *)msg };
	sync_send_error(fd, &e);
}

static void fd_arg(char ***a, const char *opt, int fd, char buf[static 16])
{
	snprintf(buf, 16, "%d", fd);
	*(*a)++ = (char *)opt;
	*(*a)++ = buf;
}

/*
 * The grandchild of berth_create_shim(): a new session and subreaper, the
 * container's stdio pipes on 0, 1, 2 (the init inherits them), the create,
 * then execve of berth-shim with the other ends. Never returns.
 */
static _noreturn_ void shim_child(struct berth_context *ctx, const struct berth_create_opts *opts,
				  const char *shim, int rep)
{
	struct berth_error *e = NULL;
	int in[2], out[2], er[2];

	setsid();
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
		report_error(rep, errno, "berth-shim: pipe");
		_exit(1);
	}
	if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(er[1], 2) < 0) {
		report_error(rep, errno, "berth-shim: dup2");
		_exit(1);
	}
	close(in[0]);
	close(out[1]);
	close(er[1]);

	struct berth_context cc = *ctx;
	cc.log = report_log;
	cc.log_data = &rep;
	pid_t init = 0;
	int console = -EBADF, notify = -EBADF;
	if (shim_create(&cc, opts, &init, &console, &notify, &e) < 0) {
		report_error(rep, e->code, e->msg);
		_exit(1);
	}
	(void)sync_send(rep, WIRE_CREATED, 0, NULL);

	/* the container has its stdio: ours must not hold the caller's terminal or pipes */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	if (chdir("/") < 0)
		_exit(1);

	char b[8][16], *argv[32], **a = argv;
	_cleanup_free_ char *dir = NULL;
	if (asprintf(&dir, "%s/%s", state_root(ctx), opts->id) < 0) {
		report_error(rep, ENOMEM, "berth-shim");
		kill(init, SIGKILL);
		_exit(1);
	}
	*a++ = (char *)"berth-shim";
	*a++ = (char *)"--id";
	*a++ = (char *)opts->id;
	*a++ = (char *)"--state-dir";
	*a++ = dir;
	snprintf(b[0], 16, "%d", (int)init);
	*a++ = (char *)"--pid";
	*a++ = b[0];
	fd_arg(&a, "--report", rep, b[1]);
	fd_arg(&a, "--stdin", console >= 0 ? console : in[1], b[2]);
	fd_arg(&a, "--stdout", console >= 0 ? console : out[0], b[3]);
	if (console < 0)
		fd_arg(&a, "--stderr", er[0], b[4]);
	else
		*a++ = (char *)"--tty";
	if (notify >= 0) {
		fd_arg(&a, "--notify", notify, b[5]);
		*a++ = (char *)"--notify-socket";
		*a++ = (char *)opts->notify_socket;
	}
	*a = NULL;

	/* the shim gets only what it needs (no preserved fds, no state lock) */
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	int keep[] = { rep, in[1], out[0], er[0], console, notify };
	for (size_t i = 0; i < ELEMENTSOF(keep); i++)
		if (keep[i] >= 0)
			fd_set_cloexec(keep[i], false);
	execv(shim, argv);
	report_error(rep, errno, "execute berth-shim");
	kill(init, SIGKILL);
	_exit(1);
}

int berth_create_shim(struct berth_context *ctx, const struct berth_create_opts *opts, bool start,
		      struct berth_error **err)
{
	int r = berth_id_check(opts->id, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *shim = NULL;
	r = find_shim(&shim);
	if (r < 0)
		return berth_error_setx(err, -r, "berth-shim not found (set BERTH_SHIM)");

	int rep[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rep) < 0)
		return berth_error_set(err, errno, "berth-shim: socketpair");
	_cleanup_close_ int rfd = rep[0];
	pid_t p = fork();
	if (p < 0) {
		close(rep[1]);
		return berth_error_set(err, errno, "berth-shim: fork");
	}
	if (p == 0) {
		/* double fork: the shim must not stay our child */
		close(rep[0]);
		pid_t q = fork();
		if (q != 0)
			_exit(q < 0 ? 1 : 0);
		shim_child(ctx, opts, shim, rep[1]);
	}
	close(rep[1]);
	waitpid(p, NULL, 0);

	/*
	 * Until WIRE_SHIM_READY or WIRE_ERROR, not the end: the waiting init
	 * holds a copy of the socket until it executes.
	 */
	bool created = false, ok = false;
	int code = 0, read_errno = 0;
	_cleanup_free_ char *msg = NULL;
	for (size_t n_logs = 0; !ok && !msg;) {
		struct wire_msg m = WIRE_MSG_INIT;
		r = wire_recv(rfd, &m);
		if (r == -EPIPE)
			break;
		if (r < 0) {
			/* what was read so far decides: a created container is deleted below */
			read_errno = r == -EBADMSG || r == -EMSGSIZE ? EPROTO : -r;
			break;
		}
		if (m.type == WIRE_LOG && ++n_logs > REPORT_MAX_LOGS) {
			read_errno = EMSGSIZE; /* a report that never ends is not waited for */
		} else if (m.type == WIRE_LOG && m.text && ctx && ctx->log &&
			   m.value >= BERTH_LOG_ERROR && m.value <= BERTH_LOG_DEBUG) {
			bool debug = m.value == BERTH_LOG_DEBUG;
			if (!debug || ctx->debug)
				ctx->log(ctx->log_data, (enum berth_log_level)m.value, m.text);
		} else if (m.type == WIRE_CREATED) {
			created = true;
		} else if (m.type == WIRE_SHIM_READY) {
			ok = true;
		} else if (m.type == WIRE_ERROR) {
			code = m.value;
			msg = m.text ? TAKE_PTR(m.text) : strdup("unknown error");
			if (!msg)
				read_errno = ENOMEM;
		}
		wire_msg_done(&m);
		if (read_errno)
			break;
	}
	if (!ok) {
		if (created) {
			struct berth_error *e2 = NULL;
			berth_delete(ctx, opts->id, true, &e2);
			berth_error_free(e2);
		}
		if (read_errno)
			return berth_error_set(err, read_errno, "berth-shim: read its report");
		if (!msg)
			return berth_error_setx(err, EIO, "berth-shim exited before it was ready");
		/* create's messages already name the container */
		if (created)
			return berth_error_setx(err, code > 0 ? code : EIO, "berth-shim: %s", msg);
		return berth_error_setx(err, code > 0 ? code : EIO, "%s", msg);
	}
	if (!start)
		return 0;
	r = berth_start(ctx, opts->id, err);
	if (r < 0) {
		struct berth_error *e2 = NULL;
		berth_delete(ctx, opts->id, true, &e2);
		berth_error_free(e2);
	}
	return r;
}

/* ---- clients: wait, logs, attach ---- */

/* A pidfd of the container's berth-shim if it still runs (shim.pid: "pid starttime"). */
static int shim_pidfd(int dirfd)
{
	_cleanup_free_ char *text = NULL;
	if (state_read_file(dirfd, SHIM_PID_FILE, 256, &text, NULL, NULL) < 0)
		return -ENOENT;
	int pid = 0;
	unsigned long long st = 0;
	if (sscanf(text, "%d %llu", &pid, &st) != 2 || pid <= 0)
		return -EBADMSG;
	return proc_pidfd_open_started(pid, st);
}

/* Read the state; *ret_shim: a pidfd of its live shim or -1; *ret_init: of its live init or -1. */
static int read_for_wait(struct berth_context *ctx, const char *id, struct berth_state **ret,
			 int *ret_shim, int *ret_init, struct berth_error **err)
{
	_cleanup_close_ int dirfd = -EBADF;
	struct berth_state *s = NULL;
	int r = state_open_read(ctx, id, &dirfd, &s, err);
	if (r < 0)
		return r;
	*ret_shim = shim_pidfd(dirfd);
	*ret_init = -EBADF;
	if (!streq(state_status(dirfd, s), "stopped")) {
		int fd = proc_pidfd_open_started(s->pid, s->pid_start_time);
		*ret_init = fd >= 0 ? fd : -EBADF;
	}
	*ret = s;
	return 0;
}

int berth_wait(struct berth_context *ctx, const char *id, int *ret_code, struct berth_error **err)
{
	for (;;) {
		struct berth_state *s = NULL;
		_cleanup_close_ int shim = -EBADF, init = -EBADF;
		int r = read_for_wait(ctx, id, &s, &shim, &init, err);
		if (r < 0)
			return r;
		bool has = s->has_exit_code;
		int code = s->exit_code;
		berth_state_free(s);
		if (has) {
			/* the shim exits right after recording: let it go (a delete may follow) */
			if (shim >= 0)
				poll(&(struct pollfd){ .fd = shim, .events = POLLIN }, 1, 2000);
			*ret_code = code;
			return 0;
		}
		/* the shim records the code, then exits: wait for it rather than the init */
		int fd = shim >= 0 ? shim : init;
		if (fd < 0 && shim != -ENOENT)
			return berth_error_setx(err, ECHILD,
						"wait \"%s\": exit code unknown: the container's "
						"berth-shim is gone (killed?) without recording it",
						id);
		if (fd < 0)
			return berth_error_setx(
				err, ECHILD,
				"wait \"%s\": exit code unknown: the container has no "
				"berth-shim (use 'berth run -d' or 'create --shim')",
				id);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		while (poll(&p, 1, -1) < 0)
			if (errno != EINTR)
				return berth_error_set(err, errno, "wait \"%s\"", id);
	}
}

/* One record "TIME STREAM F|P MSG": emit it. Returns the callback's verdict. */
static int emit_record(const struct berth_logs_opts *o, char *line, size_t len)
{
	char *sp1 = memchr(line, ' ', len);
	if (!sp1)
		return 0;
	char *stream = sp1 + 1;
	char *sp2 = memchr(stream, ' ', len - (size_t)(stream - line));
	if (!sp2 || (size_t)(sp2 + 3 - line) > len)
		return 0;
	*sp2 = 0;
	bool partial = sp2[1] == 'P';
	char *msg = sp2 + 3;
	size_t mlen = len - (size_t)(msg - line);
	return o->emit(o->data, stream, msg, mlen, partial);
}

/* Emit the complete records of buf[0..len); returns how many bytes were used. */
static size_t emit_records(const struct berth_logs_opts *o, char *buf, size_t len, size_t skip_full,
			   bool *stop)
{
	size_t pos = 0, full = 0;
	while (pos < len && !*stop) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		if (!nl)
			break;
		size_t l = (size_t)(nl - (buf + pos));
		/* a message is one F record after any P records: skip whole messages */
		char *sp = memchr(buf + pos, ' ', l);
		sp = sp ? memchr(sp + 1, ' ', l - (size_t)(sp + 1 - (buf + pos))) : NULL;
		bool is_full = !sp || sp[1] != 'P';
		if (full >= skip_full && emit_record(o, buf + pos, l) != 0)
			*stop = true;
		if (is_full)
			full++;
		pos += l + 1;
	}
	return pos;
}

static size_t count_full(const char *buf, size_t len)
{
	size_t n = 0;
	for (const char *p = buf; p < buf + len;) {
		const char *nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (!nl)
			break;
		const char *sp = memchr(p, ' ', (size_t)(nl - p));
		sp = sp ? memchr(sp + 1, ' ', (size_t)(nl - sp - 1)) : NULL;
		if (!sp || sp[1] != 'P')
			n++;
		p = nl + 1;
	}
	return n;
}

int berth_logs(struct berth_context *ctx, const char *id, const struct berth_logs_opts *o,
	       struct berth_error **err)
{
	_cleanup_close_ int logfd = -EBADF, shim = -EBADF;
	int r;
	{
		_cleanup_close_ int dirfd = -EBADF;
		r = state_open(ctx, id, &dirfd, err);
		if (r < 0)
			return r;
		logfd = openat(dirfd, SHIM_LOG_FILE, O_RDONLY | O_CLOEXEC);
		if (logfd < 0 && errno == ENOENT)
			return berth_error_setx(
				err, ENOENT,
				"logs \"%s\": no container.log: the container has no "
				"berth-shim (use 'berth run -d' or 'create --shim')",
				id);
		if (logfd < 0)
			return berth_error_set(err, errno, "logs \"%s\": open container.log", id);
		if (o->follow)
			shim = shim_pidfd(dirfd);
	}

	/* whole messages first (--tail counts them), then what is appended */
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	r = read_fd_all(logfd, (size_t)1 << 30, &buf, &len);
	if (r < 0)
		return berth_error_set(err, -r, "logs \"%s\": read container.log", id);
	size_t skip = 0;
	if (o->tail >= 0) {
		size_t n = count_full(buf, len);
		skip = n > (size_t)o->tail ? n - (size_t)o->tail : 0;
	}
	bool stop = false;
	size_t used = emit_records(o, buf, len, skip, &stop);
	if (!o->follow || stop)
		return 0;

	/* follow: keep the unfinished tail and read on until the shim is gone */
	size_t have = len - used, cap = MAX(have, (size_t)65536);
	char *tail = malloc(cap);
	if (!tail)
		return berth_error_set(err, ENOMEM, "logs");
	memcpy(tail, buf + used, have);
	bool last = shim < 0;
	while (!stop) {
		if (have == cap) {
			char *n = realloc(tail, cap * 2);
			if (!n) {
				free(tail);
				return berth_error_set(err, ENOMEM, "logs");
			}
			tail = n;
			cap *= 2;
		}
		ssize_t k = read(logfd, tail + have, cap - have);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			free(tail);
			return berth_error_set(err, e, "logs \"%s\": read container.log", id);
		}
		if (k > 0) {
			have += (size_t)k;
			size_t u = emit_records(o, tail, have, 0, &stop);
			memmove(tail, tail + u, have - u);
			have -= u;
			continue;
		}
		if (last)
			break;
		struct pollfd p = { .fd = shim, .events = POLLIN };
		if (poll(&p, 1, 100) > 0)
			last = true; /* one more read after the shim's last write */
	}
	free(tail);
	return 0;
}

int berth_attach_connect(struct berth_context *ctx, const char *id, int *ret_fd, bool *ret_tty,
			 struct berth_error **err)
{
	_cleanup_close_ int dirfd = -EBADF;
	int r = state_open(ctx, id, &dirfd, err);
	if (r < 0)
		return r;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" SHIM_ATTACH_SOCK, dirfd);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_error_set(err, errno, "attach \"%s\": socket", id);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			return berth_error_setx(
				err, errno,
				"attach \"%s\": the container has no running berth-shim", id);
		return berth_error_set(err, errno, "attach \"%s\": connect", id);
	}
	/* the shim's greeting says whether there is a terminal */
	char hello[64];
	ssize_t k;
	do
		k = recv(fd, hello, sizeof(hello) - 1, 0);
	while (k < 0 && errno == EINTR);
	if (k <= 0)
		return berth_error_setx(err, EPIPE, "attach \"%s\": the container is gone", id);
	hello[k] = 0;
	*ret_tty = strstr(hello, "tty=1") != NULL;
	*ret_fd = TAKE_FD(fd);
	return 0;
}
