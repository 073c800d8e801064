/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the message format between berth's processes (util/wire.h)
 * and libberth's layer on it (sync.h): round trips, fds, and what a broken
 * or hostile peer can send (short, oversized, garbage, forged fds).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync.h"
#include "tests.h"
#include "util/wire.h"

static void pair(int sp[2])
{
	check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
	/* room for the largest message plus some */
	int size = 4 * WIRE_MAX_TEXT;
	setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static bool same_file(int a, int b)
{
	struct stat x, y;
	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev &&
	       x.st_ino == y.st_ino;
}

/* A record of len bytes with n fds, as a peer that ignores the format could send it. */
static int send_raw(int sock, const int *fds, size_t n, const void *buf, size_t len)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	m.msg_control = u.b;
	m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	check(c && n <= 4);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(sock, &m, 0) == (ssize_t)len ? 0 : -errno;
}

static int count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 256; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void test_encode_decode(void)
{
	char buf[256];
	ssize_t n = wire_encode(WIRE_PID, -7, "abc", 3, 1, buf, sizeof(buf));
	check(n > 3);
	struct wire_msg m = WIRE_MSG_INIT;
	check(wire_decode(buf, (size_t)n, &m) == 0);
	check(m.type == WIRE_PID && m.value == -7 && m.len == 3 && strcmp(m.text, "abc") == 0);
	check(m.n_fds == 1 && m.fds[0] < 0);
	m.n_fds = 0;
	wire_msg_done(&m);

	/* every cut short of the whole record is refused, and so is a longer one */
	for (ssize_t k = 0; k < n; k++)
		check(wire_decode(buf, (size_t)k, &m) == -EBADMSG);
	check(wire_decode(buf, (size_t)n + 1, &m) == -EBADMSG);

	/* a wrong magic, type 0, an unknown type, a NUL inside the text */
	char bad[256];
	memcpy(bad, buf, (size_t)n);
	bad[0] ^= 1;
	check(wire_decode(bad, (size_t)n, &m) == -EBADMSG);
	check(wire_encode(0, 0, NULL, 0, 0, bad, sizeof(bad)) == -EMSGSIZE);
	check(wire_encode(WIRE_TYPE_MAX, 0, NULL, 0, 0, bad, sizeof(bad)) == -EMSGSIZE);
	n = wire_encode(WIRE_LOG, 0, "a\0b", 3, 0, bad, sizeof(bad));
	check(n > 0 && wire_decode(bad, (size_t)n, &m) == -EBADMSG);
	/* no text at all is a NULL text */
	n = wire_encode(WIRE_CREATED, 0, NULL, 0, 0, bad, sizeof(bad));
	check(n > 0 && wire_decode(bad, (size_t)n, &m) == 0 && !m.text && m.len == 0);

	/* too long for a message, or for the buffer */
	check(wire_encode(WIRE_LOG, 0, "x", WIRE_MAX_TEXT + 1, 0, bad, SIZE_MAX) == -EMSGSIZE);
	check(wire_encode(WIRE_LOG, 0, "xyz", 3, 0, bad, 4) == -EMSGSIZE);
	check(wire_encode(WIRE_LOG, 0, NULL, 0, WIRE_MAX_FDS + 1, bad, sizeof(bad)) == -EMSGSIZE);
}

static void test_roundtrip(void)
{
	int sp[2];
	pair(sp);
	struct wire_msg m = WIRE_MSG_INIT;
	check(wire_send(sp[1], WIRE_HOOKS_DONE, 42, "{\"id\":\"x\"}", NULL, 0) == 0);
	check(wire_recv(sp[0], &m) == 0);
	check(m.type == WIRE_HOOKS_DONE && m.value == 42 && strcmp(m.text, "{\"id\":\"x\"}") == 0);
	check(m.n_fds == 0);
	wire_msg_done(&m);

	/* the largest text goes whole; one byte more is refused by the writer */
	char *big = malloc(WIRE_MAX_TEXT + 2);
	check(big);
	memset(big, 'a', WIRE_MAX_TEXT + 1);
	big[WIRE_MAX_TEXT] = 0;
	check(wire_send(sp[1], WIRE_LOG, 3, big, NULL, 0) == 0);
	check(wire_recv(sp[0], &m) == 0 && m.len == WIRE_MAX_TEXT &&
	      m.text[WIRE_MAX_TEXT - 1] == 'a');
	wire_msg_done(&m);
	big[WIRE_MAX_TEXT] = 'a';
	big[WIRE_MAX_TEXT + 1] = 0;
	check(wire_send(sp[1], WIRE_LOG, 3, big, NULL, 0) == -EMSGSIZE);

	/* an error too long for a message still goes up, cut */
	struct berth_error be = { .code = EPERM, .msg = big };
	sync_send_error(sp[1], &be);
	struct berth_error *e = NULL;
	check(sync_expect(sp[0], WIRE_CREATED, NULL, NULL, "created", &e) == -EPERM);
	check(strlen(e->msg) == WIRE_MAX_TEXT);
	berth_error_free(e);
	free(big);

	/* a closed peer is -EPIPE */
	close(sp[1]);
	check(wire_recv(sp[0], &m) == -EPIPE);
	close(sp[0]);
}

static void test_fds(void)
{
	int sp[2];
	pair(sp);
	int a = open("/dev/null", O_RDONLY | O_CLOEXEC), b = open("/", O_RDONLY | O_CLOEXEC);
	check(a >= 0 && b >= 0);
	int fds[2] = { a, b };
	struct wire_msg m = WIRE_MSG_INIT;
	check(wire_send(sp[1], WIRE_MOUNT_SOURCE, 0, "two", fds, 2) == 0);
	check(wire_recv(sp[0], &m) == 0 && m.n_fds == 2);
	check(same_file(m.fds[0], a) && same_file(m.fds[1], b) && m.fds[0] != a);
	check(fcntl(m.fds[0], F_GETFD) & FD_CLOEXEC);
	int taken = wire_msg_take_fd(&m);
	check(same_file(taken, a));
	close(taken);
	int before = count_fds();
	wire_msg_done(&m);
	check(count_fds() == before - 1 && m.fds[1] < 0);

	/* fds the header does not announce: refused, and none of them stays open */
	before = count_fds();
	char buf[64];
	ssize_t n = wire_encode(WIRE_CREATED, 0, NULL, 0, 0, buf, sizeof(buf));
	check(n > 0 && send_raw(sp[1], fds, 2, buf, (size_t)n) == 0);
	check(wire_recv(sp[0], &m) == -EBADMSG);
	check(count_fds() == before);
	/* more fds than any message carries */
	int three[3] = { a, b, a };
	n = wire_encode(WIRE_CREATED, 0, NULL, 0, 2, buf, sizeof(buf));
	check(n > 0 && send_raw(sp[1], three, 3, buf, (size_t)n) == 0);
	check(wire_recv(sp[0], &m) == -EBADMSG);
	check(count_fds() == before);
	/* an announced fd that did not come */
	n = wire_encode(WIRE_CONSOLE, 0, NULL, 0, 1, buf, sizeof(buf));
	check(n > 0 && send(sp[1], buf, (size_t)n, 0) == n);
	check(wire_recv(sp[0], &m) == -EBADMSG);

	/* sync_expect() refuses an fd nobody asked for, sync_expect_fd() a missing one */
	struct berth_error *e = NULL;
	check(sync_send_fd(sp[1], WIRE_HOOKS_DONE, a, NULL) == 0);
	check(sync_expect(sp[0], WIRE_HOOKS_DONE, NULL, NULL, "hooks", &e) == -EPROTO);
	berth_error_free(e);
	e = NULL;
	check(count_fds() == before);
	close(a);
	close(b);
	close(sp[0]);
	close(sp[1]);
}

static void test_garbage(void)
{
	int sp[2];
	pair(sp);
	struct wire_msg m = WIRE_MSG_INIT;
	struct berth_error *e = NULL;
	/* a record shorter than a header, text without a header, a record longer than any */
	check(send(sp[1], "E 1 x", 5, 0) == 5);
	check(wire_recv(sp[0], &m) == -EBADMSG);
	char *huge = calloc(1, WIRE_MAX_TEXT + 64);
	check(huge);
	check(send(sp[1], huge, WIRE_MAX_TEXT + 64, 0) == WIRE_MAX_TEXT + 64);
	check(wire_recv(sp[0], &m) == -EMSGSIZE);
	free(huge);
	/* the next good message is still read whole after garbage */
	check(wire_send(sp[1], WIRE_PID, 9, NULL, NULL, 0) == 0);
	check(wire_recv(sp[0], &m) == 0 && m.type == WIRE_PID && m.value == 9);
	/* through libberth's layer garbage is a protocol error naming the peer */
	check(send(sp[1], "OK\n", 3, 0) == 3);
	check(sync_expect(sp[0], WIRE_PID, NULL, NULL, "its pid", &e) == -EPROTO);
	check(strstr(e->msg, "container init") && strstr(e->msg, "before its pid"));
	berth_error_free(e);
	e = NULL;
	/* an empty record is garbage, not the end of the peer (start would take it for exec) */
	check(send(sp[1], "", 0, 0) == 0);
	check(wire_recv(sp[0], &m) == -EBADMSG);
	close(sp[0]);
	close(sp[1]);
}

/* The end after the last message: 0; an fd message first: 1 and the fd; an error as sent. */
static void test_expect_end(void)
{
	int sp[2];
	pair(sp);
	struct berth_error *e = NULL;
	int fd = -EBADF, a = open("/dev/null", O_RDONLY | O_CLOEXEC);
	check(sync_send_fd(sp[1], WIRE_SECCOMP_FD, a, NULL) == 0);
	check(sync_expect_end(sp[0], "container init", WIRE_SECCOMP_FD, &fd, &e) == 1);
	check(same_file(fd, a));
	close(fd);
	struct berth_error be = { .code = ENOEXEC, .msg = (char *)"exec \"/x\": bad format" };
	sync_send_error(sp[1], &be);
	check(sync_expect_end(sp[0], "container init", 0, NULL, &e) == -ENOEXEC);
	check(strcmp(e->msg, "exec \"/x\": bad format") == 0);
	berth_error_free(e);
	e = NULL;
	check(sync_send(sp[1], WIRE_PID, 1, NULL) == 0);
	check(sync_expect_end(sp[0], "container init", 0, NULL, &e) == -EPROTO);
	berth_error_free(e);
	e = NULL;
	close(sp[1]);
	check(sync_expect_end(sp[0], "container init", 0, NULL, &e) == 0 && !e);
	close(sp[0]);
	close(a);
}

int main(void)
{
	test_encode_decode();
	test_roundtrip();
	test_fds();
	test_garbage();
	test_expect_end();
	return 0;
}
