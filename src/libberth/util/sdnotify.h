/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Relay of sd_notify messages from a container's notify socket to the
 * host's NOTIFY_SOCKET. libc only: berth run and berth-shim both link it.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct sdnotify {
	int fd;		    /* the container's bound datagram socket */
	const char *target; /* the host's NOTIFY_SOCKET ("/path" or "@abstract") */
	pid_t mainpid;	    /* the container init as the host sees it */
	bool ready;	    /* READY=1 was passed on */
	char status[256];   /* the last STATUS= line seen before READY=1 */
};

/*
 * Read one datagram from n->fd. Nothing goes to the host before the
 * container sent READY=1; that message goes on with MAINPID=<mainpid> and
 * the last STATUS=. Later messages are passed on as they are. A MAINPID=
 * from the container (a pid of its namespace) is always dropped. Returns
 * 0, or -errno (-EAGAIN: nothing to read).
 */
int sdnotify_relay(struct sdnotify *n);
