/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * berth-shim: the parent (and subreaper) of one container's init, in its own
 * session after berth exited. Reaps, writes the container's output to
 * container.log, serves attach.sock, relays sd_notify, forwards signals and
 * records the exit status in state.json (through libberth's state.c, the
 * only part of libberth it links, with the JSON layer and yajl).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim-protocol.h"
#include "state.h"
#include "util/fd.h"
#include "util/proc.h"
#include "util/sdnotify.h"
#include "util/timestamp.h"
#include "util/wire.h"

#define MAX_CLIENTS 8
#define CHUNK	    8192

enum { P_SIG, P_OUT, P_ERR, P_LISTEN, P_NOTIFY, P_CLIENT };

static struct {
	const char *id, *state_dir;
	pid_t init;
	int report, in, out, err, notify;
	bool tty;
	int dirfd, logfd, listen;
	int clients[MAX_CLIENTS];
	struct sdnotify sd;
} S = {
	.report = -1,
	.in = -1,
	.out = -1,
	.err = -1,
	.notify = -1,
	.dirfd = -1,
	.logfd = -1,
	.listen = -1,
};

static char outbuf[CHUNK * 4];
static size_t outlen;

static void fail(int code, const char *what)
{
	if (S.report >= 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s: %s", what, strerror(code));
		wire_send(S.report, WIRE_ERROR, code, msg, NULL, 0);
	}
	if (S.init > 0) {
		kill(S.init, SIGKILL);
		waitpid(S.init, NULL, 0);
	}
	_exit(1);
}

static void log_flush(void)
{
	if (outlen > 0 && S.logfd >= 0)
		write_all(S.logfd, outbuf, outlen);
	outlen = 0;
}

/* One k8s-file record: "TIME STREAM F|P MSG\n". */
static void log_record(const char *ts, const char *stream, const char *msg, size_t n, bool full)
{
	size_t need = strlen(ts) + strlen(stream) + n + 6;
	if (outlen + need > sizeof(outbuf))
		log_flush();
	if (need > sizeof(outbuf)) {
		/* a single huge record (cannot happen with CHUNK reads), written as is */
		dprintf(S.logfd, "%s %s %c ", ts, stream, full ? 'F' : 'P');
		write_all(S.logfd, msg, n);
		write_all(S.logfd, "\n", 1);
		return;
	}
	outlen += (size_t)snprintf(outbuf + outlen, sizeof(outbuf) - outlen, "%s %s %c ", ts,
				   stream, full ? 'F' : 'P');
	memcpy(outbuf + outlen, msg, n);
	outlen += n;
	outbuf[outlen++] = '\n';
}

static void log_chunk(const char *stream, const char *buf, size_t n)
{
	char ts[48];
	rfc3339_now(ts, sizeof(ts));
	while (n > 0) {
		const char *nl = memchr(buf, '\n', n);
		size_t l = nl ? (size_t)(nl - buf) : n;
		size_t ml = l;
		if (nl && S.tty && ml > 0 && buf[ml - 1] == '\r')
			ml--;
		log_record(ts, stream, buf, ml, nl != NULL);
		if (!nl)
			break;
		buf += l + 1;
		n -= l + 1;
	}
	log_flush();
}

static void client_close(int i)
{
	close(S.clients[i]);
	S.clients[i] = -1;
}

/* Read once from the container's stdout or stderr: to the log and to attached clients. */
static int pump(int *fd, const char *stream)
{
	char buf[CHUNK];
	ssize_t k = read(*fd, buf, sizeof(buf));
	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (k <= 0) {
		/* EOF, or EIO from a pty whose other side is closed */
		if (*fd != S.in)
			close(*fd);
		*fd = -1;
		return -1;
	}
	log_chunk(stream, buf, (size_t)k);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (S.clients[i] >= 0 &&
		    send(S.clients[i], buf, (size_t)k, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN)
			client_close(i);
	return 1;
}

static void client_accept(void)
{
	int fd = accept4(S.listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (S.clients[i] < 0) {
			char hello[32];
			int n = snprintf(hello, sizeof(hello), SHIM_ATTACH_HELLO "%d", S.tty);
			send(fd, hello, (size_t)n, MSG_NOSIGNAL);
			S.clients[i] = fd;
			return;
		}
	close(fd);
}

static void client_input(int i)
{
	char buf[CHUNK + 1];
	ssize_t k = recv(S.clients[i], buf, sizeof(buf), 0);
	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k <= 0) {
		client_close(i);
		return;
	}
	if (buf[0] == BERTH_ATTACH_DATA && S.in >= 0) {
		/* a full stdin pipe drops input rather than stall the reaper */
		if (write(S.in, buf + 1, (size_t)k - 1) < 0 && errno != EAGAIN)
			if (!S.tty) {
				close(S.in);
				S.in = -1;
			}
	} else if (buf[0] == BERTH_ATTACH_WINSIZE && S.tty && k >= 5 && S.in >= 0) {
		uint16_t rows, cols;
		memcpy(&rows, buf + 1, 2);
		memcpy(&cols, buf + 3, 2);
		struct winsize ws = { .ws_row = rows, .ws_col = cols };
		ioctl(S.in, TIOCSWINSZ, &ws);
	}
}

/*
 * exitCode and exitedAt into state.json, under the state dir's lock (berth's
 * commands take it), read and written by libberth's state.c as berth does:
 * the same trust checks, the same document.
 */
static void record_exit(int code)
{
	char ts[48];
	rfc3339_now(ts, sizeof(ts));
	while (flock(S.dirfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return;
	struct stat st;
	struct berth_state *s = NULL;
	/* deleted meanwhile (berth delete --force), or never written: nothing to record */
	if (fstatat(S.dirfd, STATE_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    state_read(S.dirfd, S.id, &s, NULL) == 0 && !s->has_exit_code) {
		s->has_exit_code = true;
		s->exit_code = code;
		s->exited_at = strdup(ts);
		state_write(S.dirfd, s, NULL);
	}
	berth_state_free(s);
	flock(S.dirfd, LOCK_UN);
}

static void setup(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	S.dirfd = open(S.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (S.dirfd < 0)
		fail(errno, "open the state dir");
	if (chdir("/") < 0)
		fail(errno, "chdir /");
	S.logfd = openat(S.dirfd, SHIM_LOG_FILE, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (S.logfd < 0)
		fail(errno, "open " SHIM_LOG_FILE);

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", S.dirfd,
		 SHIM_ATTACH_SOCK);
	S.listen = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (S.listen < 0 || bind(S.listen, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(S.listen, 4) < 0)
		fail(errno, "attach socket");

	char pid[64];
	int n = snprintf(pid, sizeof(pid), SHIM_PID_FORMAT, (int)getpid(),
			 (unsigned long long)proc_start_time(getpid()));
	int r = write_file_atomic_at(S.dirfd, SHIM_PID_FILE, pid, (size_t)n, 0600);
	if (r < 0)
		fail(-r, "write " SHIM_PID_FILE);

	int fds[] = { S.in, S.out, S.err, S.notify };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	for (int i = 0; i < MAX_CLIENTS; i++)
		S.clients[i] = -1;
}

static int parse_int(const char *s)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 0 || v > 0x7fffffff) {
		fprintf(stderr, "berth-shim: invalid number '%s'\n", s);
		exit(2);
	}
	return (int)v;
}

static void parse_args(int argc, char *argv[])
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--tty") == 0) {
			S.tty = true;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "berth-shim: '%s' needs an argument (or is unknown)\n", a);
			exit(2);
		}
		const char *v = argv[++i];
		if (strcmp(a, "--id") == 0)
			S.id = v;
		else if (strcmp(a, "--state-dir") == 0)
			S.state_dir = v;
		else if (strcmp(a, "--pid") == 0)
			S.init = parse_int(v);
		else if (strcmp(a, "--report") == 0)
			S.report = parse_int(v);
		else if (strcmp(a, "--stdin") == 0)
			S.in = parse_int(v);
		else if (strcmp(a, "--stdout") == 0)
			S.out = parse_int(v);
		else if (strcmp(a, "--stderr") == 0)
			S.err = parse_int(v);
		else if (strcmp(a, "--notify") == 0)
			S.notify = parse_int(v);
		else if (strcmp(a, "--notify-socket") == 0)
			S.sd.target = v;
		else {
			fprintf(stderr, "berth-shim: unknown option '%s'\n", a);
			exit(2);
		}
	}
	if (!S.id || !S.state_dir || S.init <= 0 || S.out < 0) {
		fprintf(stderr, "berth-shim: started by berth only (run -d, create --shim, "
				"restore --shim); see berth-shim(8)\n");
		exit(2);
	}
}

int main(int argc, char *argv[])
{
	parse_args(argc, argv);

	sigset_t set;
	proc_forwarded_sigset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		fail(errno, "signalfd");
	setup();
	S.sd.fd = S.notify;
	S.sd.mainpid = S.init;

	/* ready: berth may start the container and exit */
	wire_send(S.report, WIRE_SHIM_READY, 0, NULL, NULL, 0);
	close(S.report);
	S.report = -1;

	int status = 0;
	bool exited = false;
	while (!exited) {
		struct pollfd p[P_CLIENT + MAX_CLIENTS];
		p[P_SIG] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		p[P_OUT] = (struct pollfd){ .fd = S.out, .events = POLLIN };
		p[P_ERR] = (struct pollfd){ .fd = S.err, .events = POLLIN };
		p[P_LISTEN] = (struct pollfd){ .fd = S.listen, .events = POLLIN };
		p[P_NOTIFY] = (struct pollfd){ .fd = S.notify, .events = POLLIN };
		for (int i = 0; i < MAX_CLIENTS; i++)
			p[P_CLIENT + i] = (struct pollfd){ .fd = S.clients[i], .events = POLLIN };
		if (poll(p, P_CLIENT + MAX_CLIENTS, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[P_SIG].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo != SIGCHLD) {
					kill(S.init, (int)si.ssi_signo);
					continue;
				}
				/* the init, and any orphan of the container reparented to us */
				int st;
				pid_t w;
				while ((w = waitpid(-1, &st, WNOHANG)) > 0)
					if (w == S.init) {
						status = st;
						exited = true;
					}
			}
		}
		if (p[P_OUT].revents)
			pump(&S.out, "stdout");
		if (p[P_ERR].revents)
			pump(&S.err, "stderr");
		if (p[P_LISTEN].revents)
			client_accept();
		if (p[P_NOTIFY].revents)
			sdnotify_relay(&S.sd);
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (S.clients[i] >= 0 && p[P_CLIENT + i].revents)
				client_input(i);
	}

	/* what the container wrote before it exited belongs in the log */
	while (S.out >= 0 && pump(&S.out, "stdout") > 0)
		;
	while (S.err >= 0 && pump(&S.err, "stderr") > 0)
		;
	record_exit(proc_exit_code(status));
	unlinkat(S.dirfd, SHIM_ATTACH_SOCK, 0);
	return 0;
}
