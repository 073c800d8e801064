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
 * Run every hook of kind in order; stop at the first failure with an error
 * like "createRuntime hook \"/usr/bin/x\": exited with status 1" or
 * "... timed out after 5s". The hook's stdout and stderr are the caller's.
 */
int berth_hooks_run(const struct berth_hooks *hooks, enum berth_hook_kind kind,
		    const char *state_json, struct berth_error **err);
