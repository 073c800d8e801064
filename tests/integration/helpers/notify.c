/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A static sd_notify sender for the systemd tests, run inside a busybox
 * container: sends each argument as one datagram to $NOTIFY_SOCKET.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "notify: no NOTIFY_SOCKET\n");
		return 1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	for (int i = 1; i < argc; i++) {
		if (sendto(fd, argv[i], strlen(argv[i]), 0, (struct sockaddr *)&sa, sizeof(sa)) <
		    0) {
			perror("notify: sendto");
			return 1;
		}
	}
	return 0;
}
