/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What container.c (the lifecycle of create, start, kill, delete) offers the
 * other orchestrators beyond the public API: the create that berth-shim's
 * launcher (shim.c) needs.
 */
#pragma once

#include <sys/types.h>

#include "berth/berth.h"

/*
 * berth_create() for berth-shim (container.c): the pty master (or -EBADF)
 * and the notify socket (or -EBADF) go to the caller instead of being closed.
 */
int shim_create(struct berth_context *ctx, const struct berth_create_opts *opts, pid_t *ret_pid,
		int *ret_console_fd, int *ret_notify_fd, struct berth_error **err);

/* berth_restore() for berth-shim (container.c): as shim_create, detached, without notify. */
int shim_restore(struct berth_context *ctx, const struct berth_restore_opts *opts, pid_t *ret_pid,
		 int *ret_console_fd, struct berth_error **err);

/* berth_restore() with opts->shim (shim.c): the restored init's parent is berth-shim. */
int berth_restore_shim(struct berth_context *ctx, const struct berth_restore_opts *opts,
		       struct berth_error **err);
