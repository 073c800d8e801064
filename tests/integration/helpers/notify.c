/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A static sd_notify sender for the systemd tests, run inside a busybox
 * container: sends each argument as one datagram to $NOTIFY_SOCKET. With
 * --serve first, it then answers every connection on the socket-activated
 * fd 3 (LISTEN_FDS=1 for this very process) with one line, until killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The one line each connection gets: what the process saw of the activation. */
static int serve(void)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	if (!fds || !pid || strcmp(fds, "1") != 0 || atol(pid) != (long)getpid()) {
		fprintf(stderr, "notify: LISTEN_FDS=%s LISTEN_PID=%s is not one fd for pid %ld\n",
			fds ? fds : "", pid ? pid : "", (long)getpid());
		return 1;
	}
	for (;;) {
		int c = accept(3, NULL, NULL);
		if (c < 0) {
			perror("notify: accept on fd 3");
			return 1;
		}
		char line[128];
		int n = snprintf(line, sizeof(line), "served by pid %ld LISTEN_FDS=%s\n",
				 (long)getpid(), fds);
		if (write(c, line, (size_t)n) != n)
			perror("notify: write");
		close(c);
	}
}

int main(int argc, char *argv[])
{
	int first = 1;
	int do_serve = argc > 1 && strcmp(argv[1], "--serve") == 0;
	if (do_serve)
		first = 2;
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (first < argc && (!path || strlen(path) >= sizeof(sa.sun_path))) {
		fprintf(stderr, "notify: no NOTIFY_SOCKET\n");
		return 1;
	}
	if (path && strlen(path) < sizeof(sa.sun_path))
		strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	for (int i = first; i < argc; i++) {
		if (sendto(fd, argv[i], strlen(argv[i]), 0, (struct sockaddr *)&sa, sizeof(sa)) <
		    0) {
			perror("notify: sendto");
			return 1;
		}
	}
	close(fd);
	return do_serve ? serve() : 0;
}
