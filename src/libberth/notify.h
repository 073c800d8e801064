/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The container's sd_notify socket and LISTEN_FDS (notify.c): for every
 * container started under a service manager, supervised by berth-shim or not.
 */
#pragma once

#include "berth/berth.h"
#include "spec.h"

/* The state dir's directory of the notify socket, and where the container sees it. */
#define NOTIFY_DIR   "notify"
#define NOTIFY_MOUNT "/run/notify"
#define NOTIFY_PATH  "/run/notify/notify.sock"

/*
 * With opts->notify_socket: bind <state>/<id>/notify/notify.sock (datagram),
 * add a bind mount of that directory on /run/notify to spec and set
 * NOTIFY_SOCKET in process.env. *ret_fd is the bound socket. Without it:
 * nothing, *ret_fd stays. Parent process, before the init is cloned.
 */
int notify_prepare(struct berth_spec *spec, const struct berth_create_opts *opts, const char *root,
		   const char *id, int state_fd, int *ret_fd, struct berth_error **err);

/* LISTEN_FDS=n and LISTEN_PID=<our pid> in p->env. Runs in the init right before exec. */
int notify_listen_env(struct berth_process *p, int n);
