// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * berth-seccomp-agent: a small example of a seccomp notify agent. It listens
 * on a unix socket (linux.seccomp.listenerPath), receives from berth the
 * containerProcessState JSON with the listener fd (SCM_RIGHTS), and answers
 * every notified syscall of the container the same way. Runs on the host.
 *
 * usage: berth-seccomp-agent [--errno N | --continue] [--log FILE] SOCKET
 *   default     pretend the syscall succeeded (return 0) without running it
 *   --errno N   fail the syscall with errno N
 *   --continue  let the kernel run the syscall (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
 *   --log FILE  append the received state and one line per syscall to FILE
 * It serves one container after another until SIGTERM/SIGINT.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/seccomp.h>

static int arg_errno = 0;
static int arg_continue = 0;
static const char *arg_log = NULL;

static void logf_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_line(const char *fmt, ...)
{
	if (!arg_log)
		return;
	FILE *f = fopen(arg_log, "ae");
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* Receive the state JSON and the listener fd from berth. */
static int receive(int conn, char *buf, size_t size, int *ret_fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	size_t len = 0;
	*ret_fd = -1;
	for (;;) {
		struct iovec iov = { .iov_base = buf + len, .iov_len = size - 1 - len };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = u.b,
				     .msg_controllen = sizeof(u.b) };
		ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
			    *ret_fd < 0)
				memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
		len += (size_t)n;
		if (n == 0 || len + 1 >= size)
			break;
	}
	buf[len] = 0;
	return *ret_fd >= 0 ? 0 : -1;
}

/* Answer notifications until every process using the filter is gone. */
static void serve(int nfd)
{
	struct seccomp_notif_sizes sz;
	if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_ID_VALID, NULL) < 0 && errno == ENOTTY)
		return;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0) {
		perror("seccomp(SECCOMP_GET_NOTIF_SIZES)");
		return;
	}
	struct seccomp_notif *req =
		calloc(1, sz.seccomp_notif > sizeof(*req) ? sz.seccomp_notif : sizeof(*req));
	struct seccomp_notif_resp *resp = calloc(
		1, sz.seccomp_notif_resp > sizeof(*resp) ? sz.seccomp_notif_resp : sizeof(*resp));
	if (!req || !resp)
		goto out;
	for (;;) {
		struct pollfd p = { .fd = nfd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
			break;
		memset(req, 0, sz.seccomp_notif);
		if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			break;
		}
		logf_line("syscall %d pid %u\n", req->data.nr, req->pid);
		memset(resp, 0, sz.seccomp_notif_resp);
		resp->id = req->id;
		if (arg_continue)
			resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		else if (arg_errno)
			resp->error = -arg_errno;
		else
			resp->val = 0;
		/* ENOENT: the process went away (or was interrupted) meanwhile */
		if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
			perror("SECCOMP_IOCTL_NOTIF_SEND");
	}
out:
	free(req);
	free(resp);
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc - 1; i++) {
		if (strcmp(argv[i], "--errno") == 0 && i + 1 < argc - 1)
			arg_errno = atoi(argv[++i]);
		else if (strcmp(argv[i], "--continue") == 0)
			arg_continue = 1;
		else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc - 1)
			arg_log = argv[++i];
		else
			break;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: %s [--errno N | --continue] [--log FILE] SOCKET\n",
			argv[0]);
		return 2;
	}
	const char *path = argv[i];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 8) < 0) {
		perror(path);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EINTR)
				continue;
			perror("accept");
			return 1;
		}
		static char buf[1 << 16];
		int nfd = -1;
		int r = receive(conn, buf, sizeof(buf), &nfd);
		close(conn);
		if (r < 0) {
			fprintf(stderr, "berth-seccomp-agent: no listener fd received\n");
			continue;
		}
		logf_line("state %s\n", buf);
		serve(nfd);
		close(nfd);
	}
}
