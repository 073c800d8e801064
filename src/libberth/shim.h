/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What container.c needs from the berth-shim support (shim.c): the create
 * that keeps the pty master and notify socket for the shim, the container's
 * sd_notify socket, and LISTEN_FDS in the init's environment.
 */
#pragma once

#include <sys/types.h>

#include "berth/berth.h"
#include "spec.h"
#include "util/sdnotify.h"

/* Files of the state dir that berth-shim owns. */
#define SHIM_LOG_FILE	 "container.log"
#define SHIM_ATTACH_SOCK "attach.sock"
#define SHIM_PID_FILE	 "shim.pid"
#define SHIM_NOTIFY_DIR	 "notify"
/* Where the container sees its notify socket. */
#define SHIM_NOTIFY_MOUNT "/run/notify"
#define SHIM_NOTIFY_PATH  "/run/notify/notify.sock"

/*
 * berth_create() for berth-shim (container.c): the pty master (or -EBADF)
 * and the notify socket (or -EBADF) go to the caller instead of being closed.
 */
int shim_create(struct berth_context *ctx, const struct berth_create_opts *opts, pid_t *ret_pid,
		int *ret_console_fd, int *ret_notify_fd, struct berth_error **err);

/*
 * With opts->notify_socket: bind <state>/<id>/notify/notify.sock (datagram),
 * add a bind mount of that directory on /run/notify to spec and set
 * NOTIFY_SOCKET in process.env. *ret_fd is the bound socket. Without it:
 * nothing, *ret_fd stays. Parent process, before the init is cloned.
 */
int shim_notify_prepare(struct berth_spec *spec, const struct berth_create_opts *opts,
			const char *root, const char *id, int state_fd, int *ret_fd,
			struct berth_error **err);

/* LISTEN_FDS=n and LISTEN_PID=<our pid> in p->env. Runs in the init right before exec. */
int shim_listen_env(struct berth_process *p, int n);
