/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of terminals (pty allocation from /dev/ptmx, the console-socket
 * hand-off, the relay), passing fds over the sync channel, and parsing a
 * bare process object for exec. Runs on the host's /dev/ptmx; skips without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "spec.h"
#include "sync.h"
#include "terminal.h"
#include "util/macro.h"
#include "tests.h"

static void test_open_size_and_io(void)
{
	struct berth_process p = { .has_console_size = true,
				   .console_height = 24,
				   .console_width = 91 };
	int master = -1, slave = -1;
	struct berth_error *e = NULL;
	check(terminal_open(&p, false, &master, &slave, &e) == 0);
	check(isatty(master) && isatty(slave));
	check(fcntl(master, F_GETFD) & FD_CLOEXEC);
	check(fcntl(slave, F_GETFD) & FD_CLOEXEC);

	struct winsize ws;
	check(ioctl(slave, TIOCGWINSZ, &ws) == 0);
	check(ws.ws_row == 24 && ws.ws_col == 91);

	/* raw on the slave side so that the bytes come back as they are */
	struct termios t;
	check(tcgetattr(slave, &t) == 0);
	cfmakeraw(&t);
	check(tcsetattr(slave, TCSANOW, &t) == 0);
	check(write(master, "ping", 4) == 4);
	char buf[8] = "";
	check(read(slave, buf, sizeof(buf)) == 4 && memcmp(buf, "ping", 4) == 0);
	close(master);
	close(slave);

	/* one berth relays itself: "\n" is not turned into "\r\n" (as runc) */
	check(terminal_open(NULL, true, &master, &slave, &e) == 0);
	check(tcgetattr(slave, &t) == 0 && !(t.c_oflag & ONLCR));
	check(write(slave, "a\n", 2) == 2);
	check(read(master, buf, sizeof(buf)) == 2 && memcmp(buf, "a\n", 2) == 0);
	close(master);
	close(slave);
	/* one whose master goes to --console-socket keeps the kernel's default */
	check(terminal_open(NULL, false, &master, &slave, &e) == 0);
	check(tcgetattr(slave, &t) == 0 && (t.c_oflag & ONLCR));
	close(master);
	close(slave);
}

static void test_sync_fd_roundtrip(void)
{
	int sp[2];
	check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	check(devnull >= 0);
	check(sync_send_fd(sp[1], WIRE_CONSOLE, devnull, "with text") == 0);

	int got = -1;
	char *text = NULL;
	struct berth_error *e = NULL;
	check(sync_expect_fd(sp[0], WIRE_CONSOLE, &got, &text, "a test", &e) == 0);
	check(text && strcmp(text, "with text") == 0);
	free(text);
	struct stat a, b;
	check(fstat(got, &a) == 0 && fstat(devnull, &b) == 0);
	check(a.st_rdev == b.st_rdev && got != devnull);
	check(fcntl(got, F_GETFD) & FD_CLOEXEC);
	close(got);

	/* an error instead of the fd comes up as the error */
	struct berth_error err = { .code = ENOENT, .msg = (char *)"no ptmx here" };
	sync_send_error(sp[1], &err);
	check(sync_expect_fd(sp[0], WIRE_CONSOLE, &got, NULL, "a test", &e) == -ENOENT);
	check(strcmp(e->msg, "no ptmx here") == 0);
	berth_error_free(e);
	e = NULL;

	/* a message without an fd is a protocol error; a closed peer says what it was before */
	check(sync_send(sp[1], WIRE_CONSOLE, 0, NULL) == 0);
	check(sync_expect_fd(sp[0], WIRE_CONSOLE, &got, NULL, "a test", &e) == -EPROTO);
	berth_error_free(e);
	e = NULL;
	close(sp[1]);
	check(sync_expect_fd(sp[0], WIRE_CONSOLE, &got, NULL, "opening its terminal", &e) ==
	      -EPIPE);
	check(strstr(e->msg, "before opening its terminal"));
	berth_error_free(e);
	close(sp[0]);
	close(devnull);
}

/* Listen on path, return the listening fd. */
static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	check(s >= 0);
	if (strlen(path) < sizeof(sa.sun_path)) {
		strcpy(sa.sun_path, path);
		check(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	} else {
		/* bind a long path from its directory */
		char cwd[4096];
		check(getcwd(cwd, sizeof(cwd)));
		const char *slash = strrchr(path, '/');
		char *dir = strndup(path, (size_t)(slash - path));
		check(chdir(dir) == 0);
		strcpy(sa.sun_path, slash + 1);
		check(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
		check(chdir(cwd) == 0);
		free(dir);
	}
	check(listen(s, 1) == 0);
	return s;
}

static void receive_ptmx(int lfd)
{
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	check(c >= 0);
	char payload[64] = "";
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) - 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	ssize_t k = recvmsg(c, &m, MSG_CMSG_CLOEXEC);
	check(k == 9 && strcmp(payload, "/dev/ptmx") == 0);
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	check(h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS);
	int fd;
	memcpy(&fd, CMSG_DATA(h), sizeof(int));
	check(isatty(fd));
	close(fd);
	close(c);
}

static void test_console_socket(void)
{
	char dir[] = "/tmp/berth-unit-terminal-XXXXXX";
	check(mkdtemp(dir));
	int master = -1, slave = -1;
	struct berth_error *e = NULL;
	check(terminal_open(NULL, false, &master, &slave, &e) == 0);

	char path[512];
	snprintf(path, sizeof(path), "%s/pty.sock", dir);
	int lfd = listen_at(path);
	check(terminal_send_to_socket(path, master, &e) == 0);
	receive_ptmx(lfd);
	close(lfd);
	unlink(path);

	/* a path longer than sun_path goes through /proc/self/fd */
	char sub[400];
	snprintf(sub, sizeof(sub), "%s/%0150d", dir, 0);
	check(mkdir(sub, 0700) == 0);
	char longp[512];
	snprintf(longp, sizeof(longp), "%s/the-console-socket", sub);
	check(strlen(longp) > 108);
	lfd = listen_at(longp);
	check(terminal_send_to_socket(longp, master, &e) == 0);
	receive_ptmx(lfd);
	close(lfd);
	unlink(longp);
	rmdir(sub);

	/* nobody listening: the error names the socket */
	check(terminal_send_to_socket(path, master, &e) < 0);
	check(strstr(e->msg, "pty.sock"));
	berth_error_free(e);
	rmdir(dir);
	close(master);
	close(slave);
}

/* The relay copies the pty's output until the process behind it exits. */
static void test_relay(void)
{
	int master = -1, slave = -1;
	struct berth_error *e = NULL;
	check(terminal_open(NULL, false, &master, &slave, &e) == 0);
	int in[2], out[2];
	check(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);

	pid_t pid = fork();
	check(pid >= 0);
	if (pid == 0) {
		/* the relay must see EOF on in[0]: hold none of the pipes */
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		/* echo one line of the pty back, with a marker around it */
		char buf[64];
		ssize_t k = read(slave, buf, sizeof(buf));
		if (k <= 0)
			_exit(1);
		dprintf(slave, "got[%.*s]", (int)k - 1, buf);
		/* then EOF on stdin (the ^D the relay writes) ends a second read */
		k = read(slave, buf, sizeof(buf));
		dprintf(slave, "eof=%d", (int)k);
		_exit(0);
	}
	close(slave);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	check(pidfd >= 0);
	check(write(in[1], "hello\n", 6) == 6);
	close(in[1]);
	struct terminal_relay r = {
		.master = master,
		.in_fd = in[0],
		.out_fd = out[1],
		.pidfd = pidfd,
		.sigfd = -1,
		.pid = pid,
	};
	check(terminal_relay(&r, &e) == 0);
	close(out[1]);
	char got[256] = "";
	ssize_t n = 0, k;
	while ((k = read(out[0], got + n, sizeof(got) - 1 - (size_t)n)) > 0)
		n += k;
	check(strstr(got, "got[hello]") && strstr(got, "eof=0"));
	int st;
	check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(in[0]);
	close(out[0]);
	close(pidfd);
	close(master);
}

static void test_parse_process(void)
{
	static const char ok[] = "{\"terminal\":true,\"consoleSize\":{\"height\":5,\"width\":6},"
				 "\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":7,\"gid\":8},"
				 "\"capabilities\":{\"bounding\":[\"CAP_KILL\"]},"
				 "\"noNewPrivileges\":true}";
	struct berth_spec *s = NULL;
	struct berth_error *e = NULL;
	check(spec_parse_process(ok, strlen(ok), &s, &e) == 0);
	check(s->has_process && s->process.terminal && s->process.console_height == 5);
	check(s->process.user.uid == 7 && s->process.user.gid == 8);
	check(s->process.caps.has_bounding && s->process.caps.bounding == (1u << 5));
	check(s->process.env && !s->process.env[0]);
	check(spec_validate_process(&s->process, &e) == 0);
	spec_free(s);

	static const char bad[] = "{\"args\":\"sh\"}";
	check(spec_parse_process(bad, strlen(bad), &s, &e) == -EINVAL);
	check(strstr(e->msg, "process.args"));
	berth_error_free(e);
	e = NULL;
	check(spec_parse_process("[]", 2, &s, &e) == -EINVAL);
	berth_error_free(e);
	e = NULL;

	static const char nocwd[] = "{\"args\":[\"sh\"]}";
	check(spec_parse_process(nocwd, strlen(nocwd), &s, &e) == 0);
	check(spec_validate_process(&s->process, &e) == -EINVAL);
	check(strstr(e->msg, "process.cwd"));
	berth_error_free(e);
	spec_free(s);
}

int main(void)
{
	if (access("/dev/ptmx", R_OK | W_OK) < 0) {
		fprintf(stderr, "no /dev/ptmx: skipped\n");
		test_parse_process();
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	test_open_size_and_io();
	test_sync_fd_roundtrip();
	test_console_socket();
	test_relay();
	test_parse_process();
	return 0;
}
