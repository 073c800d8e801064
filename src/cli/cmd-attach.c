/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth attach`: connect the caller's terminal to a container supervised by
 * berth-shim through its attach.sock; Ctrl-P Ctrl-Q detaches. Runs in the
 * CLI process.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

#define CTRL_P 0x10
#define CTRL_Q 0x11

static void send_winsize(int fd)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		return;
	char msg[5] = { BERTH_ATTACH_WINSIZE };
	uint16_t rows = ws.ws_row, cols = ws.ws_col;
	memcpy(msg + 1, &rows, 2);
	memcpy(msg + 3, &cols, 2);
	send(fd, msg, sizeof(msg), MSG_NOSIGNAL);
}

/*
 * Relay until the container is gone (0), the user detached (1) or an error
 * (-errno). A Ctrl-P that ends one read waits for the next.
 */
static int relay(int fd, bool tty, int sfd)
{
	char in[4096], msg[4097], out[8192];
	bool stdin_open = true, pending_p = false;

	for (;;) {
		struct pollfd p[3] = { { .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
				       { .fd = fd, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[2].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				if (tty)
					send_winsize(fd);
		}
		if (p[1].revents) {
			ssize_t k = recv(fd, out, sizeof(out), 0);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return 0;
			for (ssize_t w = 0; w < k;) {
				ssize_t n = write(STDOUT_FILENO, out + w, (size_t)(k - w));
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					return -errno;
				w += n;
			}
		}
		if (p[0].revents) {
			ssize_t k = read(STDIN_FILENO, in, sizeof(in));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				stdin_open = false;
				continue;
			}
			size_t n = 1;
			msg[0] = BERTH_ATTACH_DATA;
			for (ssize_t i = 0; i < k; i++) {
				char ch = in[i];
				if (pending_p) {
					pending_p = false;
					if (ch == CTRL_Q)
						return 1;
					msg[n++] = CTRL_P;
				}
				if (ch == CTRL_P) {
					pending_p = true;
					continue;
				}
				msg[n++] = ch;
			}
			if (n > 1 && send(fd, msg, n, MSG_NOSIGNAL) < 0)
				return 0; /* the shim is gone with the container */
		}
	}
}

static int cmd_attach(int argc, char *argv[])
{
	struct berth_error *err = NULL;
	int fd = -1;
	bool tty = false;
	int r = cli_parse_plain(&cli_cmd_attach, argc, argv, 1, 1);
	if (r != CLI_CONTINUE)
		return r;
	if (berth_attach_connect(&cli_ctx, argv[optind], &fd, &tty, &err) < 0)
		return cli_fail(err);

	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, &old);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

	struct termios saved;
	bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	if (tty && isatty(STDIN_FILENO))
		send_winsize(fd);
	r = relay(fd, tty && isatty(STDIN_FILENO), sfd);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	close(fd);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return cli_error("attach \"%s\": %s", argv[optind], strerror(-r));
	return 0;
}

const struct cli_command cli_cmd_attach = {
	.name = "attach",
	.summary = "connect the terminal to a container started with run -d",
	.help = "Usage: berth attach ID\n"
		"\n"
		"Connect this terminal to the stdin and stdout of the container ID (its pty\n"
		"with process.terminal) through the attach socket of its berth-shim. Output\n"
		"from the moment of attaching is shown; 'berth logs' has the earlier one.\n"
		"Detach with Ctrl-P Ctrl-Q; the container goes on. berth attach ends when the\n"
		"container exits.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n",
	.run = cmd_attach,
};
