/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sd_notify relay: container socket -> host NOTIFY_SOCKET. Runs in berth run
 * (foreground) or in berth-shim (run -d), whichever waits for the init.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/sdnotify.h"

#define MSG_MAX 4096

static int send_to(const char *target, const char *msg, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(target);
	if (n == 0 || n >= sizeof(sa.sun_path) || (target[0] != '/' && target[0] != '@'))
		return -EINVAL;
	memcpy(sa.sun_path, target, n);
	if (target[0] == '@')
		sa.sun_path[0] = 0; /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ssize_t k = sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sa,
			   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	int r = k < 0 ? -errno : 0;
	close(fd);
	return r;
}

int sdnotify_relay(struct sdnotify *n)
{
	char in[MSG_MAX + 1], out[MSG_MAX + 320];
	ssize_t k = recv(n->fd, in, MSG_MAX, MSG_DONTWAIT);
	if (k < 0)
		return -errno;
	in[k] = 0;

	size_t len = 0;
	bool ready = false;
	for (char *save = NULL, *line = strtok_r(in, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "MAINPID=", 8) == 0)
			continue;
		if (strcmp(line, "READY=1") == 0)
			ready = true;
		if (!n->ready && strncmp(line, "STATUS=", 7) == 0)
			snprintf(n->status, sizeof(n->status), "%s", line);
		if (n->ready || ready) {
			int w = snprintf(out + len, sizeof(out) - len, "%s\n", line);
			if (w < 0 || (size_t)w >= sizeof(out) - len)
				break;
			len += (size_t)w;
		}
	}
	if (!n->ready && !ready)
		return 0;
	if (!n->ready) {
		int w = snprintf(out + len, sizeof(out) - len, "MAINPID=%d\n", (int)n->mainpid);
		if (w > 0 && (size_t)w < sizeof(out) - len)
			len += (size_t)w;
		if (n->status[0] && !strstr(out, "STATUS=")) {
			w = snprintf(out + len, sizeof(out) - len, "%s\n", n->status);
			if (w > 0 && (size_t)w < sizeof(out) - len)
				len += (size_t)w;
		}
		n->ready = true;
	}
	if (len == 0 || !n->target)
		return 0;
	return send_to(n->target, out, len);
}
