/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Turning the container init into the user's program: sysctls, rlimits,
 * scheduler, I/O priority, personality, OOM score, user and groups,
 * capabilities, no_new_privs, umask, cwd, fd closing and execve. Runs in the
 * container init after pivot_root.
 */
#pragma once

#include <stddef.h>

#include "spec.h"

/* Write linux.sysctl entries to /proc/sys (after pivot, the container's /proc). */
int sysctl_apply(const struct berth_kv *kv, size_t n, struct berth_error **err);

/*
 * Find args[0] the way execvp would, with the PATH of process.env (or the
 * default PATH), relative to the current root. Error:
 * "exec: \"foo\": executable file not found in $PATH". ret_path malloc'd.
 */
int process_find_exec(const struct berth_process *p, char **ret_path, struct berth_error **err);

/*
 * Everything that needs privileges but not the user: rlimits,
 * oomScoreAdj, scheduler, ioPriority, personality. Call before
 * process_exec().
 */
int process_setup(const struct berth_process *p, struct berth_error **err);
/*
 * In the init, under its new root and before it is made read-only: create
 * process.cwd (0755, owned by root) if it is missing, as runc does. An exec
 * never creates it: a missing cwd fails there as chdir fails.
 */
int process_cwd_create(const struct berth_process *p, struct berth_error **err);

/* personality(2) with linux.personality's domain | flags; no-op when unset. */
/*
 * Parent side, before anything is made: process.apparmorProfile and
 * process.selinuxLabel can be honoured only where that LSM is enabled; fail
 * clearly otherwise instead of starting the process unconfined.
 */
int process_lsm_check(const struct berth_process *p, struct berth_error **err);

/* Is the LSM "apparmor" or "selinux" enabled on this host? */
bool process_lsm_enabled(const char *name);

int personality_apply(const struct berth_personality *pers, struct berth_error **err);

struct berth_exec_opts {
	const struct berth_process *process;
	const char *path; /* from process_find_exec() */
	int preserve_fds; /* fds 3 .. 3+n-1 survive */
	/* O_CLOEXEC fds to leave open until execve (e.g. the start connection). */
	const int *keep_fds;
	size_t n_keep_fds;
	/*
	 * Loads the seccomp filter (issue 4). May be NULL. With noNewPrivileges
	 * it is called after every other step, and only execve follows. Without,
	 * the filter needs CAP_SYS_ADMIN: it is called as the user, with
	 * CAP_SYS_ADMIN made effective again, before the capability sets are
	 * set, and only capset, prctl and execve follow (what runc makes after
	 * its own filter).
	 */
	int (*before_exec)(void *data, struct berth_error **err);
	void *before_exec_data;
};

/*
 * Drop the bounding set, become the user (setgroups, setresgid, setresuid
 * keeping capabilities), enter cwd (resolved inside the root, created if
 * missing; the user's permissions apply, except for root), set the umask,
 * close every fd but stdio, preserve_fds and keep_fds, then set the other
 * four capability sets (ambient last) and no_new_privs, calling before_exec
 * as said above. o->path is not used. Afterwards the caller is what the
 * container's process will be and has nothing left to do but execve: this
 * runs in the init, and in the init's children that run startContainer
 * hooks. Returns 0 or -errno; a failure leaves the process half-changed, it
 * must exit.
 */
int process_become(const struct berth_exec_opts *o, struct berth_error **err);

/*
 * process_exec: HOME from the container's passwd when process.env has
 * none, process_become(), execve of o->path. Returns only on failure.
 */
int process_exec(const struct berth_exec_opts *o, struct berth_error **err);
