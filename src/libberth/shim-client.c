/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The clients of a running berth-shim: wait (shim.pid, and the exit code it
 * records in state.json), logs (container.log) and attach (attach.sock). Run
 * in the berth process; they read what the shim writes and never start one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim-protocol.h"
#include "state.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/proc.h"

/* A pidfd of the container's berth-shim if it still runs (shim.pid). */
static int shim_pidfd(int dirfd)
{
	_cleanup_free_ char *text = NULL;
	if (state_read_file(dirfd, SHIM_PID_FILE, 256, &text, NULL, NULL) < 0)
		return -ENOENT;
	int pid = 0;
	unsigned long long st = 0;
	if (sscanf(text, SHIM_PID_FORMAT, &pid, &st) != 2 || pid <= 0)
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
	*ret_tty = strstr(hello, SHIM_ATTACH_HELLO "1") != NULL;
	*ret_fd = TAKE_FD(fd);
	return 0;
}
