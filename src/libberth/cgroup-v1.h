/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The v1 controllers (cgroup-v1.c), for the cgroup driver (cgroup.c) only:
 * the container's cgroup in each v1 hierarchy, its limits, entering them
 * around clone3, stats and OOM notification.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "berth/error.h"
#include "cgroup-fs.h"
#include "resources.h"

enum {
	CGROUP_V1_MEMORY = 1 << 0,
	CGROUP_V1_PIDS = 1 << 1,
	CGROUP_V1_CPU = 1 << 2, /* cpu and cpuacct */
	CGROUP_V1_CPUSET = 1 << 3,
	CGROUP_V1_BLKIO = 1 << 4,
	CGROUP_V1_DEVICES = 1 << 5,
	CGROUP_V1_NET = 1 << 6,	  /* net_cls and net_prio */
	CGROUP_V1_OTHER = 1 << 7, /* freezer, hugetlb, perf_event, rdma, misc, name=systemd */
	CGROUP_V1_ALL = (1 << 8) - 1,
};
/*
 * Make the v1 cgroups of rel for the controllers in mask (CGROUP_V1_*); with
 * unified (the container's v2 dir), move its processes into the new ones
 * (update of a running container).
 */
int cgroup_v1_create(const char *rel, unsigned mask, const char *unified, struct berth_error **err);
int cgroup_v1_apply(const char *rel, const struct berth_resources *res, bool update,
		    struct berth_error **err);
void cgroup_v1_destroy(const char *rel);
/*
 * Thaw the container's v1 freezer cgroup and those below it: someone may have
 * frozen them there, and a frozen task does not die of SIGKILL.
 */
void cgroup_v1_thaw(const char *rel);
void cgroup_v1_stats(const char *rel, struct cgroup_stats *s);
int cgroup_v1_oom_fd(const char *rel, int *ret_fd);
uint64_t cgroup_v1_oom_count(const char *rel);

/*
 * Hybrid or v1-only host (no-op on v2): move the calling, single-threaded process into
 * the v1 cgroups of path for the moment of clone3, so that the init is born
 * in them as CLONE_INTO_CGROUP does on v2, and a new cgroup namespace is
 * rooted there in every hierarchy. *ret_saved (malloc'd, may be NULL) is
 * where cgroup_v1_leave() returns the caller to; berth's own place in the
 * pids cgroup is added to pids.max until then.
 */
struct cgroup_v1_saved;
int cgroup_v1_enter(const char *path, struct cgroup_v1_saved **ret_saved, struct berth_error **err);
void cgroup_v1_leave(struct cgroup_v1_saved *saved);
/*
 * After cgroup_v1_enter(): move the caller on into sub, below the v1 cgroup
 * of path in controller's hierarchy (exec --cgroup CONTROLLER:SUB). Fails if
 * the container has no cgroup there (or no such v1 controller) or sub is missing.
 */
int cgroup_v1_enter_sub(const char *path, const char *controller, const char *sub,
			struct berth_error **err);
