/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The container's cgroups. Processes are tracked on the unified (v2)
 * hierarchy: /sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified on a hybrid
 * one (kill --all, freeze, ps), and on a host with cgroup v1 only in the v1
 * freezer hierarchy (/sys/fs/cgroup/freezer). Limits go to the v2
 * controllers, and on a hybrid or v1-only host to the v1 controllers at
 * /sys/fs/cgroup/<controller>/<same path> for those not on v2. Runs in the
 * berth process; never mounts, unmounts or rebinds a hierarchy.
 *
 * cgroup.c: v2 driver and the dispatch (this header); cgroup-v1.c: v1
 * controllers (cgroup-v1.h); cgroup-devices.c: the device rules, eBPF on v2
 * and devices.* on v1 (cgroup-devices.h); cgroup-fs.c: hierarchies, files,
 * parents and processes, shared by all three (cgroup-fs.h). Only cgroup.c
 * calls the other two; they call only cgroup-fs.c.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/error.h"
#include "cgroup-fs.h"
#include "resources.h"
#include "spec.h"

/*
 * The absolute directory in the tracking hierarchy (malloc'd; the path the
 * state records and every other function here takes) of the container's cgroup for
 * linux.cgroupsPath (NULL: berth/<id>; relative: under berth/; absolute:
 * under the root). Makes nothing: create records it before cgroup_create().
 */
int cgroup_resolve(const char *cgroups_path, const char *id, char **ret_path,
		   struct berth_error **err);

/*
 * Create the cgroup at path (from cgroup_resolve()), enabling the available
 * controllers in each parent's cgroup.subtree_control (v1 only: in every v1
 * hierarchy); an existing one is taken over only while empty. On failure
 * nothing is left, parents made included.
 */
int cgroup_create(const char *path, struct berth_error **err);

/*
 * Apply res to the cgroup at path (unified dir, as from cgroup_create()).
 * update: a live container (`berth update`): devices are left alone. An error
 * names the file and the value the kernel refused, or the limit berth cannot
 * apply on this host.
 */
int cgroup_apply(const char *path, const struct berth_resources *res, bool update,
		 struct berth_error **err);

/*
 * clone3(ca) with the child born in the container's cgroup path, or in its
 * existing sub-cgroup sub (NULL: none): CLONE_INTO_CGROUP on the unified
 * hierarchy, and the v1 cgroups entered around the call (cgroup_v1_enter() of cgroup-v1.h:
 * path's, sub's where it exists, and each "CTL[,CTL]:SUB" of subs, exec
 * --cgroup; NULL or entries without ':' add nothing). Returns the child's
 * pid, 0 in the child; -errno with err set.
 */
struct clone_args;
long cgroup_clone3(struct clone_args *ca, const char *path, const char *sub, char *const *subs,
		   struct berth_error **err);

/* Send sig to every process of the cgroup (v1 only: thawed after a SIGKILL). */
int cgroup_signal_all(const char *path, int sig);

/*
 * Freeze (or thaw) through cgroup.freeze and wait until cgroup.events says
 * so; v1 only: freezer.state, until it reads FROZEN (THAWED).
 */
int cgroup_freeze(const char *path, bool freeze, struct berth_error **err);
/* cgroup.freeze of path reads 1 (v1 only: freezer.state reads FROZEN). */
bool cgroup_is_frozen(const char *path);

/*
 * Kill whatever is left (SIGKILL, cgroup.kill where the kernel has it), wait
 * until the cgroup is empty and remove it, its v1 twins and the empty
 * berth-made parents.
 */
int cgroup_destroy(const char *path, struct berth_error **err);

/* Read what the cgroup's controllers report; missing files leave zeros. */
int cgroup_stats_read(const char *path, struct cgroup_stats *ret, struct berth_error **err);
void cgroup_stats_done(struct cgroup_stats *s);

/*
 * An fd that becomes readable when the cgroup's OOM counters may have
 * changed (inotify on memory.events on v2, a memory.oom_control eventfd on
 * v1), and the number of OOM kills so far. -ENOTSUP without a memory controller.
 */
int cgroup_oom_fd(const char *path, int *ret_fd);
uint64_t cgroup_oom_count(const char *path);
