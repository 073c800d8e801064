/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the cgroup modules (cgroup-fs.c): the hierarchies, their files,
 * the parents berth makes, the processes of a cgroup, and the records of the
 * statistics each driver fills.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/error.h"

/* The parent of containers' cgroups when linux.cgroupsPath is not absolute. */
#define CGROUP_DEFAULT_PARENT "berth"

/* Mount point of the cgroup2 hierarchy (static string) or NULL if none. */
const char *cgroup_unified_root(void);
/*
 * The hierarchy that tracks the container's processes: the unified one, else
 * (cgroup v1 only) the freezer's; NULL if neither is mounted.
 */
const char *cgroup_track_root(void);
/* Processes are tracked in a v1 hierarchy (the freezer's): the host has no cgroup2. */
bool cgroup_tracks_v1(void);

/*
 * The v1 hierarchies runc places a container in, in this order ("systemd" is
 * the named hierarchy name=systemd); co-mounted ones (cpu,cpuacct) share a
 * directory, and the later of them is an alias.
 */
#define CGROUP_N_V1 15
extern const char *const cgroup_v1_controllers[CGROUP_N_V1];
bool cgroup_v1_alias(size_t i);
/* Does the v1 hierarchy handle controller (mounted, and not on v2)? */
bool cgroup_v1_uses(const char *controller);

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
/* dir/file exists. */
bool cgroup_has_file(const char *dir, const char *file);
/* word is one of the space or newline separated words of list. */
bool cgroup_list_has(const char *list, const char *word);

/* PIDs in cgroup.procs of path (malloc'd array); v1 only: of the cgroups below it too. */
int cgroup_pids(const char *path, pid_t **ret, size_t *ret_n);

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
