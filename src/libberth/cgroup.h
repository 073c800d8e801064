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
 * cgroup.c: v2 driver and the dispatch; cgroup-v1.c: v1 controllers;
 * cgroup-devices.c: the device rules (eBPF program on v2, devices.* on v1).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/error.h"
#include "resources.h"
#include "spec.h"

/* Mount point of the cgroup2 hierarchy (static string) or NULL if none. */
const char *cgroup_unified_root(void);
/*
 * The hierarchy that tracks the container's processes: the unified one, else
 * (cgroup v1 only) the freezer's; NULL if neither is mounted.
 */
const char *cgroup_track_root(void);

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
 * hierarchy, and the v1 cgroups entered around the call (cgroup_v1_enter():
 * path's, sub's where it exists, and each "CTL[,CTL]:SUB" of subs, exec
 * --cgroup; NULL or entries without ':' add nothing). Returns the child's
 * pid, 0 in the child; -errno with err set.
 */
struct clone_args;
long cgroup_clone3(struct clone_args *ca, const char *path, const char *sub, char *const *subs,
		   struct berth_error **err);

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

/* PIDs in cgroup.procs of path (malloc'd array); v1 only: of the cgroups below it too. */
int cgroup_pids(const char *path, pid_t **ret, size_t *ret_n);

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

/* ---- statistics (runc's events --stats data) ---- */

struct cgroup_mem_entry {
	uint64_t usage, limit, max, failcnt;
};

struct cgroup_blkio_entry {
	uint64_t major, minor;
	char op[16];
	uint64_t value;
};

struct cgroup_hugetlb_entry {
	char size[32];
	uint64_t usage, max, failcnt;
};

struct cgroup_stats {
	uint64_t cpu_total, cpu_kernel, cpu_user; /* ns */
	uint64_t *percpu;
	size_t n_percpu;
	uint64_t periods, throttled_periods, throttled_time;
	uint64_t mem_cache;
	struct cgroup_mem_entry mem, swap, kernel;
	char **raw_keys; /* memory.stat */
	uint64_t *raw_values;
	size_t n_raw;
	uint64_t pids_current, pids_limit;
	struct cgroup_blkio_entry *io_bytes, *io_ops;
	size_t n_io_bytes, n_io_ops;
	struct cgroup_hugetlb_entry *hugetlb;
	size_t n_hugetlb;
};

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

/* ---- shared by cgroup*.c only ---- */

/* The v1 hierarchy of controller (e.g. "/sys/fs/cgroup/memory") if mounted, else NULL. */
const char *cgroup_v1_root(const char *controller);
/* Whether controller is enabled for the unified cgroup at path (its cgroup.controllers). */
bool cgroup_v2_has(const char *path, const char *controller);
/* The path relative to the tracking root ("berth/x"); static for path. */
const char *cgroup_relative(const char *path);
/* Write value to dir/file; the error names both. */
int cgroup_write(const char *dir, const char *file, const char *value, struct berth_error **err);
/* Read dir/file into a malloc'd string (trailing newline removed). */
int cgroup_read(const char *dir, const char *file, char **ret);
/* A uint64 from dir/file ("max" is UINT64_MAX); 0 if unreadable. */
uint64_t cgroup_read_u64(const char *dir, const char *file);
/* "key value" line of a flat keyed file dir/file; 0 if absent. */
uint64_t cgroup_read_key(const char *dir, const char *file, const char *key);

/* mkdir a parent, marking it as berth's (0 if it exists). */
int cgroup_mkdir_parent(const char *dir);
/*
 * rmdir dir and the cgroups the container made below it, deepest first,
 * waiting up to a second for each while exiting tasks keep it busy.
 */
int cgroup_rmdir_tree(const char *dir);
/* Is dir (under a root of rootlen bytes) a parent berth made: berth/, or one it marked? */
bool cgroup_is_made_parent(const char *dir, size_t rootlen);
/* rmdir the empty parents of dir that berth made, up to the root (rootlen bytes of dir). */
void cgroup_remove_made_parents(const char *dir, size_t rootlen);

/* cgroup-v1.c */
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
/* Does the v1 hierarchy handle controller (mounted, and not on v2)? */
bool cgroup_v1_uses(const char *controller);

/* cgroup-devices.c */
/* Attach an eBPF device program for rules (n entries, last match wins) to the cgroup dir fd. */
int cgroup_devices_bpf(int dirfd, const struct berth_res_device *rules, size_t n,
		       struct berth_error **err);
/* Write the rules to devices.deny/devices.allow of the v1 dir. */
int cgroup_devices_v1(const char *dir, const struct berth_res_device *rules, size_t n,
		      struct berth_error **err);
/*
 * The spec's rules, then the devices every container needs (/dev/null, ...,
 * as runc allows them). linux.devices adds none: as in runc, a node the spec
 * makes is usable only if linux.resources.devices allows it. malloc'd.
 */
int cgroup_devices_rules(const struct berth_res_device *spec, size_t n,
			 struct berth_res_device **ret, size_t *ret_n);
