/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parent <-> container init message channel (SOCK_SEQPACKET). Used on
 * both sides: berth (parent) and the container init before it executes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "sync.h"
#include "util/fd.h"
#include "util/macro.h"

struct sync_hdr {
	uint32_t type;
	int32_t value;
};

int sync_send(int fd, enum sync_type type, int32_t value, const char *text)
{
	struct sync_hdr h = { .type = (uint32_t)type, .value = value };
	size_t len = text ? strnlen(text, SYNC_MAX_TEXT) : 0;
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)text, .iov_len = len },
	};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	for (;;) {
		ssize_t k = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (k >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int sync_recv(int fd, enum sync_type *ret_type, int32_t *ret_value, char **ret_text)
{
	_cleanup_free_ char *buf = malloc(sizeof(struct sync_hdr) + SYNC_MAX_TEXT + 1);
	if (!buf)
		return -ENOMEM;
	ssize_t k;
	do
		k = recv(fd, buf, sizeof(struct sync_hdr) + SYNC_MAX_TEXT, 0);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return errno == ECONNRESET ? -EPIPE : -errno;
	if (k == 0)
		return -EPIPE;
	if ((size_t)k < sizeof(struct sync_hdr))
		return -EBADMSG;

	struct sync_hdr h;
	memcpy(&h, buf, sizeof(h));
	*ret_type = (enum sync_type)h.type;
	if (ret_value)
		*ret_value = h.value;
	if (ret_text) {
		size_t tl = (size_t)k - sizeof(h);
		if (tl == 0) {
			*ret_text = NULL;
		} else {
			char *t = malloc(tl + 1);
			if (!t)
				return -ENOMEM;
			memcpy(t, buf + sizeof(h), tl);
			t[tl] = 0;
			*ret_text = t;
		}
	}
	return 0;
}

int sync_expect(int fd, enum sync_type type, int32_t *ret_value, char **ret_text, const char *what,
		struct berth_error **err)
{
	enum sync_type t = 0;
	int32_t v = 0;
	_cleanup_free_ char *text = NULL;

	int r = sync_recv(fd, &t, &v, &text);
	if (r == -EPIPE)
		return berth_error_setx(err, EPIPE, "container init exited before %s", what);
	if (r < 0)
		return berth_error_set(err, -r, "read from container init");
	if (t == SYNC_ERROR)
		return berth_error_setx(err, v > 0 ? v : EIO, "%s",
					text ? text : "unknown error in container init");
	if (t != type)
		return berth_error_setx(err, EPROTO,
					"unexpected message %u from container init before %s",
					(unsigned)t, what);
	if (ret_value)
		*ret_value = v;
	if (ret_text)
		*ret_text = TAKE_PTR(text);
	return 0;
}

int sync_send_fd(int fd, enum sync_type type, int passfd, const char *text)
{
	size_t len = text ? strnlen(text, SYNC_MAX_TEXT) : 0;
	_cleanup_free_ char *buf = malloc(sizeof(struct sync_hdr) + len);
	if (!buf)
		return -ENOMEM;
	struct sync_hdr h = { .type = (uint32_t)type };
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), text, len);
	ssize_t k = fd_send(fd, passfd, buf, sizeof(h) + len);
	return k < 0 ? (int)k : 0;
}

int sync_expect_fd(int fd, enum sync_type type, int *ret_fd, char **ret_text, const char *what,
		   struct berth_error **err)
{
	_cleanup_free_ char *buf = malloc(sizeof(struct sync_hdr) + SYNC_MAX_TEXT + 1);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = {};
	if (!buf)
		return berth_error_set(err, ENOMEM, "read from container init");
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(struct sync_hdr) + SYNC_MAX_TEXT };
	struct msghdr m = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	ssize_t k;
	do
		k = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	while (k < 0 && errno == EINTR);
	if (k == 0 || (k < 0 && errno == ECONNRESET))
		return berth_error_setx(err, EPIPE, "container init exited before %s", what);
	if (k < 0)
		return berth_error_set(err, errno, "read from container init");

	int passed = -EBADF;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int)) && passed < 0)
			memcpy(&passed, CMSG_DATA(c), sizeof(int));
	_cleanup_close_ int pfd = passed;

	struct sync_hdr h;
	if ((size_t)k < sizeof(h))
		return berth_error_setx(err, EBADMSG, "read from container init: short message");
	memcpy(&h, buf, sizeof(h));
	if (h.type == SYNC_ERROR) {
		buf[k] = 0;
		const char *text = (size_t)k > sizeof(h) ? buf + sizeof(h) : NULL;
		return berth_error_setx(err, h.value > 0 ? h.value : EIO, "%s",
					text ? text : "unknown error in container init");
	}
	if (h.type != (uint32_t)type || pfd < 0)
		return berth_error_setx(err, EPROTO,
					"unexpected message %u from container init before %s",
					(unsigned)h.type, what);
	if (ret_text) {
		size_t tl = (size_t)k - sizeof(h);
		*ret_text = tl ? strndup(buf + sizeof(h), tl) : NULL;
		if (tl && !*ret_text)
			return berth_error_set(err, ENOMEM, "read from container init");
	}
	*ret_fd = TAKE_FD(pfd);
	return 0;
}

void sync_send_error(int fd, const struct berth_error *e)
{
	if (!e)
		(void)sync_send(fd, SYNC_ERROR, EIO, "unknown error");
	else
		(void)sync_send(fd, SYNC_ERROR, e->code, e->msg);
}
