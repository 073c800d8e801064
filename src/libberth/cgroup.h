/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The container's cgroup on the unified (v2) hierarchy: /sys/fs/cgroup on a
 * v2 host, /sys/fs/cgroup/unified on a hybrid one. It tracks every process of
 * the container (kill --all, delete --force, ps). Runs in the berth process.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "berth/error.h"

/* Mount point of the cgroup2 hierarchy (static string) or NULL if none. */
const char *cgroup_unified_root(void);

/*
 * Create the container's cgroup for linux.cgroupsPath (NULL: berth/<id>;
 * relative: under berth/; absolute: under the root). Returns the absolute
 * directory (malloc'd) and an O_DIRECTORY fd of it for CLONE_INTO_CGROUP.
 */
int cgroup_create(const char *cgroups_path, const char *id, char **ret_path, int *ret_fd,
		  struct berth_error **err);

/* PIDs in cgroup.procs of path (malloc'd array). */
int cgroup_pids(const char *path, pid_t **ret, size_t *ret_n);

/* Send sig to every process of the cgroup. */
int cgroup_signal_all(const char *path, int sig);

/*
 * Kill whatever is left (SIGKILL, cgroup.kill where the kernel has it), wait
 * until the cgroup is empty and remove it and the empty berth-made parents.
 */
int cgroup_destroy(const char *path, struct berth_error **err);
