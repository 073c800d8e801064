/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The berth-shim launcher (run -d, create --shim, restore --shim), an
 * orchestrator: it composes the create or restore of container.c with
 * berth-shim. Runs in berth, which reads the reports until the shim is ready,
 * and in a forked child that creates or restores the container (its init is
 * that child's) and then executes berth-shim in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "container.h"
#include "state.h"
#include "sync.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define REPORT_MAX_LOGS 4096 /* log messages of create: more is a runaway report */

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

/* What the shim's container comes from: a create, or a restore (ropts set). */
struct shim_job {
	const char *id;
	const struct berth_create_opts *copts;
	const struct berth_restore_opts *ropts;
};

/*
 * The grandchild of shim_launch(): a new session and subreaper, the
 * container's stdio pipes on 0, 1, 2 (the init inherits them; a restore hands
 * them to CRIU for the pipes the checkpoint had), the create or restore, then
 * execve of berth-shim with the other ends. Never returns.
 */
static _noreturn_ void shim_child(struct berth_context *ctx, const struct shim_job *job,
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
	int r = job->ropts ? shim_restore(&cc, job->ropts, &init, &console, &e)
			   : shim_create(&cc, job->copts, &init, &console, &notify, &e);
	if (r < 0) {
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
	if (asprintf(&dir, "%s/%s", state_root(ctx), job->id) < 0) {
		report_error(rep, ENOMEM, "berth-shim");
		kill(init, SIGKILL);
		_exit(1);
	}
	*a++ = (char *)"berth-shim";
	*a++ = (char *)"--id";
	*a++ = (char *)job->id;
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
		*a++ = (char *)job->copts->notify_socket;
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

/* Fork the shim's grandparent, read the reports until berth-shim is ready. */
static int shim_launch(struct berth_context *ctx, const struct shim_job *job, bool start,
		       struct berth_error **err)
{
	int r = berth_id_check(job->id, err);
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
		shim_child(ctx, job, shim, rep[1]);
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
			berth_delete(ctx, job->id, true, &e2);
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
	r = berth_start(ctx, job->id, err);
	if (r < 0) {
		struct berth_error *e2 = NULL;
		berth_delete(ctx, job->id, true, &e2);
		berth_error_free(e2);
	}
	return r;
}

int berth_create_shim(struct berth_context *ctx, const struct berth_create_opts *opts, bool start,
		      struct berth_error **err)
{
	const struct shim_job job = { .id = opts->id, .copts = opts };
	return shim_launch(ctx, &job, start, err);
}

int berth_restore_shim(struct berth_context *ctx, const struct berth_restore_opts *opts,
		       struct berth_error **err)
{
	const struct shim_job job = { .id = opts->id, .ropts = opts };
	return shim_launch(ctx, &job, false, err);
}
