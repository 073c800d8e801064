/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The message format between berth's processes (wire.h): one reader and one
 * writer, used by berth, the container init, berth-shim and berth-net.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wire.h"

struct wire_hdr {
	uint32_t magic;
	uint16_t type;
	uint16_t n_fds;
	int32_t value;
	uint32_t len;
};

ssize_t wire_encode(uint32_t type, int32_t value, const char *text, size_t len, size_t n_fds,
		    void *buf, size_t size)
{
	if (len > WIRE_MAX_TEXT || n_fds > WIRE_MAX_FDS || size < sizeof(struct wire_hdr) + len ||
	    type == 0 || type >= WIRE_TYPE_MAX)
		return -EMSGSIZE;
	struct wire_hdr h = {
		.magic = WIRE_MAGIC,
		.type = (uint16_t)type,
		.n_fds = (uint16_t)n_fds,
		.value = value,
		.len = (uint32_t)len,
	};
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy((char *)buf + sizeof(h), text, len);
	return (ssize_t)(sizeof(h) + len);
}

int wire_decode(const void *buf, size_t n, struct wire_msg *m)
{
	struct wire_hdr h;
	if (n < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != WIRE_MAGIC || h.type == 0 || h.type >= WIRE_TYPE_MAX ||
	    h.n_fds > WIRE_MAX_FDS || h.len > WIRE_MAX_TEXT || h.len != n - sizeof(h))
		return -EBADMSG;
	const char *t = (const char *)buf + sizeof(h);
	if (memchr(t, 0, h.len))
		return -EBADMSG;
	char *text = NULL;
	if (h.len) {
		text = malloc(h.len + 1);
		if (!text)
			return -ENOMEM;
		memcpy(text, t, h.len);
		text[h.len] = 0;
	}
	*m = (struct wire_msg){
		.type = h.type,
		.value = h.value,
		.text = text,
		.len = h.len,
		.fds = { -EBADF, -EBADF },
		.n_fds = h.n_fds, /* what the header announces; wire_recv fills them */
	};
	return 0;
}

int wire_send(int sock, uint32_t type, int32_t value, const char *text, const int *fds,
	      size_t n_fds)
{
	size_t len = text ? strlen(text) : 0;
	struct wire_hdr h;
	if (len > WIRE_MAX_TEXT)
		return -EMSGSIZE;
	/* the header alone, as wire_encode checks it; the text goes from where it is */
	if (wire_encode(type, value, NULL, 0, n_fds, &h, sizeof(h)) < 0)
		return -EMSGSIZE;
	h.len = (uint32_t)len;
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)text, .iov_len = len },
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * WIRE_MAX_FDS)];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	if (n_fds > 0) {
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		if (!c)
			return -EINVAL;
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	for (;;) {
		ssize_t k = sendmsg(sock, &m, MSG_NOSIGNAL);
		if (k >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

static void close_all(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * After a read of 0 bytes: the end, or an empty record? A peer could send one
 * to pass for gone (start would take it for the init's successful exec).
 */
static bool peer_gone(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLRDHUP };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP));
}

int wire_recv(int sock, struct wire_msg *ret)
{
	/* one byte more than the largest message: a longer record shows as MSG_TRUNC */
	size_t size = sizeof(struct wire_hdr) + WIRE_MAX_TEXT + 1;
	char *buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	union {
		/* room for more than a message may carry: extra fds are seen, and closed */
		char buf[CMSG_SPACE(sizeof(int) * (WIRE_MAX_FDS + 1))];
		struct cmsghdr align;
	} u;
	int got[WIRE_MAX_FDS + 1];
	size_t n_got = 0;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr m = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	ssize_t k;
	do
		k = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (k < 0 && errno == EINTR);
	if (k < 0) {
		int e = errno;
		free(buf);
		return e == ECONNRESET ? -EPIPE : -e;
	}

	bool bad_fds = (m.msg_flags & MSG_CTRUNC) != 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n_got < WIRE_MAX_FDS + 1)
				got[n_got++] = fd;
			else
				close(fd);
		}
	}

	int r;
	struct wire_msg msg;
	if (k == 0 && n_got == 0 && peer_gone(sock))
		r = -EPIPE;
	else if (m.msg_flags & MSG_TRUNC)
		r = -EMSGSIZE;
	else
		r = wire_decode(buf, (size_t)k, &msg);
	free(buf);
	if (r >= 0 && (bad_fds || msg.n_fds != n_got)) {
		free(msg.text);
		r = -EBADMSG;
	}
	if (r < 0) {
		close_all(got, n_got);
		return r;
	}
	memcpy(msg.fds, got, n_got * sizeof(int));
	*ret = msg;
	return 0;
}

void wire_msg_done(struct wire_msg *m)
{
	free(m->text);
	m->text = NULL;
	m->len = 0;
	for (size_t i = 0; i < WIRE_MAX_FDS; i++)
		if (m->fds[i] >= 0) {
			close(m->fds[i]);
			m->fds[i] = -EBADF;
		}
	m->n_fds = 0;
}

int wire_msg_take_fd(struct wire_msg *m)
{
	for (size_t i = 0; i < WIRE_MAX_FDS; i++)
		if (m->fds[i] >= 0) {
			int fd = m->fds[i];
			m->fds[i] = -EBADF;
			return fd;
		}
	return -EBADF;
}
