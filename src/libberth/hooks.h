/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OCI hooks: fork, exec the hook with its args and env, the container state
 * JSON on its stdin, enforce its timeout. Runs in whichever process calls it
 * (the parent for runtime-namespace hooks, the container init for
 * createContainer and startContainer).
 */
#pragma once

#include "spec.h"

/*
 * Makes a hook's child what the hook must run as, in the child, after its
 * stdin is the state and every fd but stdio and keep_fd is closed, right
 * before execve. keep_fd is O_CLOEXEC and must stay open. Returns 0, or
 * -errno with *err set: the hook then fails with that message.
 */
struct berth_hook_setup {
	int (*fn)(void *data, int keep_fd, struct berth_error **err);
	void *data;
	char *const *env; /* of a hook without env; NULL: the runtime's own */
};

/*
 * Run every hook of kind in order; stop at the first failure with an error
 * like "createRuntime hook \"/usr/bin/x\": exited with status 1" or
 * "... timed out after 5s". A hook has stdio only: the state on stdin, the
 * caller's stdout and stderr. It runs in its own process group: when it
 * fails (status, signal, timeout, or our wait fails), it and whatever it
 * left in that group are killed, and it is always reaped; a hook whose
 * caller dies is killed. What a successful hook leaves running is its own.
 */
int hooks_run(const struct berth_hooks *hooks, enum berth_hook_kind kind, const char *state_json,
	      struct berth_error **err);

/* hooks_run(), with setup (may be NULL) run in each hook's child. */
int hooks_run_as(const struct berth_hooks *hooks, enum berth_hook_kind kind, const char *state_json,
		 const struct berth_hook_setup *setup, struct berth_error **err);
