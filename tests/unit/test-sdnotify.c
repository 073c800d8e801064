/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the sd_notify relay (util/sdnotify.c) and of the exit code
 * berth-shim records in state.json (state_write/state_read round trip).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "state.h"
#include "util/macro.h"
#include "util/sdnotify.h"
#include "tests.h"

static int recv_str(int fd, char *buf, size_t size)
{
	ssize_t k = recv(fd, buf, size - 1, MSG_DONTWAIT);
	if (k < 0)
		return -errno;
	buf[k] = 0;
	return (int)k;
}

static void test_relay(void)
{
	char dir[] = "/tmp/berth-sdnotify.XXXXXX", path[128], buf[4096];
	check(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify.sock", dir);
	/* "systemd" */
	int sd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	check(bind(sd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	/* the container's socket: c[0] is what berth reads */
	int c[2];
	check(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, c) == 0);
	struct sdnotify n = { .fd = c[0], .target = path, .mainpid = 4242 };

	check(sdnotify_relay(&n) == -EAGAIN);
	/* before READY=1: nothing goes on */
	check(send(c[1], "STATUS=starting\nMAINPID=1", 25, 0) == 25);
	check(sdnotify_relay(&n) == 0);
	check(recv_str(sd, buf, sizeof(buf)) == -EAGAIN);
	check(!n.ready);
	/* READY=1: with the host's MAINPID and the STATUS seen before, never the container's */
	check(send(c[1], "READY=1\nMAINPID=7", 17, 0) == 17);
	check(sdnotify_relay(&n) == 0);
	check(recv_str(sd, buf, sizeof(buf)) > 0);
	check(strstr(buf, "READY=1\n"));
	check(strstr(buf, "MAINPID=4242\n"));
	check(!strstr(buf, "MAINPID=7") && !strstr(buf, "MAINPID=1\n"));
	check(strstr(buf, "STATUS=starting\n"));
	check(n.ready);
	/* afterwards: passed on as they are, minus MAINPID */
	check(send(c[1], "STATUS=serving\nMAINPID=9", 24, 0) == 24);
	check(sdnotify_relay(&n) == 0);
	check(recv_str(sd, buf, sizeof(buf)) > 0);
	check(strcmp(buf, "STATUS=serving\n") == 0);
	/* an abstract or relative target is refused, not sent somewhere else */
	n.target = "relative";
	check(send(c[1], "WATCHDOG=1", 10, 0) == 10);
	check(sdnotify_relay(&n) == -EINVAL);

	close(c[0]);
	close(c[1]);
	close(sd);
	unlink(path);
	rmdir(dir);
}

static void test_state_exit_code(void)
{
	char dir[] = "/tmp/berth-sdstate.XXXXXX";
	check(mkdtemp(dir));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	check(fd >= 0);
	struct berth_state s = { .id = "x", .bundle = "/b", .pid = 5 };
	struct berth_state *r = NULL;
	check(state_write(fd, &s, NULL) == 0);
	check(state_read(fd, "x", &r, NULL) == 0);
	check(!r->has_exit_code && !r->exited_at);
	berth_state_free(r);

	/* what berth-shim appends to state.json, and a later state_write keeps it */
	s.has_exit_code = true;
	s.exit_code = 137;
	s.exited_at = "2026-11-24T01:02:03.000000000Z";
	check(state_write(fd, &s, NULL) == 0);
	check(state_read(fd, "x", &r, NULL) == 0);
	check(r->has_exit_code && r->exit_code == 137);
	check(strcmp(r->exited_at, s.exited_at) == 0);
	r->started = true;
	check(state_write(fd, r, NULL) == 0);
	berth_state_free(r);
	check(state_read(fd, "x", &r, NULL) == 0);
	check(r->has_exit_code && r->exit_code == 137 && r->started);
	berth_state_free(r);

	unlinkat(fd, STATE_FILE, 0);
	close(fd);
	rmdir(dir);
}

int main(void)
{
	test_relay();
	test_state_exit_code();
	printf("test-sdnotify: ok\n");
	return 0;
}
