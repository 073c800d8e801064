/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cgroup v2 driver: the container's cgroup on the unified hierarchy
 * (create, controllers, limits, freeze, stats, OOM counters, destroy), and
 * the dispatch of each limit to v2 or (hybrid or v1-only host) to
 * cgroup-v1.c; on a v1-only host the processes are tracked in the freezer
 * hierarchy instead. Runs in the berth process; never mounts, unmounts or
 * rebinds a hierarchy.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/sched.h>

#include "cgroup-devices.h"
#include "cgroup-fs.h"
#include "cgroup-v1.h"
#include "cgroup.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"
#include "util/proc.h"

/* Reject "..": a cgroupsPath must not climb out of the hierarchy. */
static bool path_has_dotdot(const char *p)
{
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/'))
			return true;
	return false;
}

/*
 * Enable in dir's cgroup.subtree_control every controller it has that is not
 * enabled yet, one by one: one the kernel refuses (a parent with processes of
 * its own, a threaded subtree) only makes its limits fail later, clearly.
 */
static void enable_controllers(const char *dir)
{
	_cleanup_free_ char *avail = NULL, *enabled = NULL;
	if (cgroup_read(dir, "cgroup.controllers", &avail) < 0 ||
	    cgroup_read(dir, "cgroup.subtree_control", &enabled) < 0)
		return;
	for (char *tok = strtok(avail, " \n"); tok; tok = strtok(NULL, " \n")) {
		if (cgroup_list_has(enabled, tok))
			continue;
		char buf[64];
		snprintf(buf, sizeof(buf), "+%s", tok);
		(void)cgroup_write(dir, "cgroup.subtree_control", buf, NULL);
	}
}

/*
 * Enable controller in cgroup.subtree_control of each parent of path, from
 * the root down, that has it available but not enabled: a cgroup another
 * manager made (systemd's scope) lacks those its manager does not know
 * (hugetlb, rdma, misc), as none enables them on the way. True if path has
 * controller now.
 */
static bool enable_in_parents(const char *path, const char *controller)
{
	const char *root = cgroup_unified_root();
	size_t rootlen = root ? strlen(root) : 0;
	if (!root || strncmp(path, root, rootlen) != 0 || path[rootlen] != '/')
		return false;
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return false;
	char buf[64];
	snprintf(buf, sizeof(buf), "+%s", controller);
	for (size_t i = rootlen; p[i]; i++) {
		if (p[i] != '/')
			continue;
		p[i] = 0; /* p is a parent: the root, then each below it */
		_cleanup_free_ char *enabled = NULL;
		if (cgroup_v2_has(p, controller) &&
		    cgroup_read(p, "cgroup.subtree_control", &enabled) >= 0 &&
		    !cgroup_list_has(enabled, controller))
			(void)cgroup_write(p, "cgroup.subtree_control", buf, NULL);
		p[i] = '/';
	}
	return cgroup_v2_has(path, controller);
}

int cgroup_resolve(const char *cgroups_path, const char *id, char **ret_path,
		   struct berth_error **err)
{
	const char *root = cgroup_track_root();
	if (!root)
		return berth_error_setx(err, ENOTSUP,
					"cgroup: neither a cgroup2 hierarchy nor a cgroup v1 "
					"freezer hierarchy is mounted");

	_cleanup_free_ char *rel = NULL;
	if (!cgroups_path || !*cgroups_path)
		rel = path_join(CGROUP_DEFAULT_PARENT, id);
	else if (strchr(cgroups_path, ':') && cgroups_path[0] != '/')
		return berth_error_setx(err, EINVAL,
					"cgroup: \"%s\" is a systemd cgroup path: it needs "
					"--systemd-cgroup",
					cgroups_path);
	else if (cgroups_path[0] == '/')
		rel = strdup(cgroups_path + 1);
	else
		rel = path_join(CGROUP_DEFAULT_PARENT, cgroups_path);
	if (!rel)
		return berth_error_set(err, ENOMEM, "cgroup");
	if (path_has_dotdot(rel))
		return berth_error_setx(err, EINVAL, "cgroup: path \"%s\" must not contain \"..\"",
					cgroups_path);
	/* strip duplicate and trailing slashes */
	char *w = rel;
	for (const char *s = rel; *s; s++)
		if (*s != '/' || (w > rel && w[-1] != '/'))
			*w++ = *s;
	while (w > rel && w[-1] == '/')
		w--;
	*w = 0;
	if (!*rel)
		return berth_error_setx(err, EINVAL, "cgroup: \"%s\" is the root cgroup",
					cgroups_path);

	char *full = path_join(root, rel);
	if (!full)
		return berth_error_set(err, ENOMEM, "cgroup");
	*ret_path = full;
	return 0;
}

static bool cgroup_empty(const char *path);

int cgroup_create(const char *full, struct berth_error **err)
{
	const char *root = cgroup_track_root();
	size_t rootlen = root ? strlen(root) : 0;
	if (!root || strncmp(full, root, rootlen) != 0 || full[rootlen] != '/')
		return berth_error_setx(err, EINVAL, "cgroup: \"%s\" is not under \"%s\"", full,
					root ? root : "the cgroup2 hierarchy");
	/* An existing cgroup (made by an engine) is taken over, but only while empty. */
	if (access(full, F_OK) == 0 && !cgroup_empty(full))
		return berth_error_setx(err, EBUSY, "cgroup: \"%s\" already has processes", full);

	int r = 0;
	bool made_leaf = false;
	if (cgroup_tracks_v1()) {
		/* the freezer's directory with all the others */
		made_leaf = access(full, F_OK) < 0;
		r = cgroup_v1_create(cgroup_relative(full), CGROUP_V1_ALL, NULL, err);
		if (r < 0)
			return r;
	} else {
		_cleanup_free_ char *p = strdup(full);
		if (!p)
			return berth_error_set(err, ENOMEM, "cgroup");
		/*
		 * mkdir -p, enabling controllers on the way; a concurrent
		 * delete may remove an empty parent: retry.
		 */
		for (int attempt = 0; attempt < 10; attempt++) {
			r = 0;
			enable_controllers(root);
			for (char *s = p + rootlen + 1; *s; s++) {
				if (*s != '/')
					continue;
				*s = 0;
				r = cgroup_mkdir_parent(p);
				if (r == 0)
					enable_controllers(p);
				*s = '/';
				if (r < 0)
					break;
			}
			if (r == 0 && mkdir(p, 0755) == 0)
				made_leaf = true;
			else if (r == 0 && errno != EEXIST)
				r = -errno;
			if (r != -ENOENT)
				break;
		}
		if (r < 0) {
			/* the parents made on the way go again; the error is the mkdir's */
			cgroup_remove_made_parents(full, rootlen);
			return berth_error_set(err, -r, "cgroup: create \"%s\"", full);
		}
	}

	_cleanup_close_ int fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		/* not a cgroup (a file of its parent, say), or out of fds */
		r = berth_error_set(err, errno, "cgroup: open \"%s\"", full);
		if (cgroup_tracks_v1() && made_leaf)
			cgroup_v1_destroy(cgroup_relative(full));
		else if (made_leaf)
			(void)rmdir(full);
		cgroup_remove_made_parents(full, rootlen);
		return r;
	}
	return 0;
}

/* ---- limits ---- */

struct applier {
	const char *path;
	struct berth_error **err;
};

static int w_u64(const struct applier *a, const char *file, uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cgroup_write(a->path, file, buf, a->err);
}

/* -1 (or any negative) is "max". */
static int w_i64_max(const struct applier *a, const char *file, int64_t v)
{
	char buf[32];
	if (v < 0)
		snprintf(buf, sizeof(buf), "max");
	else
		snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cgroup_write(a->path, file, buf, a->err);
}

/* The controller behind a limit is neither on v2 nor handled through v1. */
static int no_controller(const struct applier *a, const char *what, const char *controller)
{
	return berth_error_setx(
		a->err, ENOTSUP,
		"cgroup: cannot apply %s: the %s controller is not enabled for \"%s\"%s", what,
		controller, a->path,
		cgroup_v1_root(controller) ? "" : " and not mounted as cgroup v1");
}

static int v2_memory(const struct applier *a, const struct berth_resources *res, bool update)
{
	const typeof(res->memory) *m = &res->memory;
	int r;
	if (m->has_swappiness)
		return berth_error_setx(a->err, ENOTSUP,
					"cgroup: cannot apply memory.swappiness: cgroup v2 has no "
					"per-cgroup swappiness (leave it unset)");
	if (m->has_disable_oom_killer && m->disable_oom_killer)
		return berth_error_setx(a->err, ENOTSUP,
					"cgroup: cannot apply memory.disableOOMKiller: cgroup v2 "
					"cannot disable the OOM killer");
	if (m->has_kernel || m->has_kernel_tcp)
		return berth_error_setx(a->err, ENOTSUP,
					"cgroup: cannot apply memory.kernel/kernelTCP: cgroup v2 "
					"has no separate kernel memory limit");
	if (m->has_limit && m->has_check_before_update && m->check_before_update && update &&
	    m->limit > 0) {
		uint64_t cur = cgroup_read_u64(a->path, "memory.current");
		if (cur > (uint64_t)m->limit)
			return berth_error_setx(a->err, EBUSY,
						"cgroup: memory.limit %" PRId64
						" is below the current usage %" PRIu64,
						m->limit, cur);
	}
	/* v1 swap is memory+swap; v2's memory.swap.max is the swap alone. */
	if (m->has_swap) {
		if (m->swap != -1 && (!m->has_limit || m->limit == -1))
			return berth_error_setx(
				a->err, EINVAL,
				"cgroup: memory.swap %" PRId64 " needs a memory.limit", m->swap);
		if (m->swap != -1 && m->swap < m->limit)
			return berth_error_setx(a->err, EINVAL,
						"cgroup: memory.swap %" PRId64
						" must not be less than memory.limit %" PRId64
						" (it counts memory and swap)",
						m->swap, m->limit);
	}
	if (m->has_reservation && (r = w_i64_max(a, "memory.low", m->reservation)) < 0)
		return r;
	/* Lowering the limit may fail while swap is lower: set the one that grows second. */
	if (m->has_limit && (r = w_i64_max(a, "memory.max", m->limit)) < 0)
		return r;
	if (m->has_swap) {
		int64_t sw = m->swap == -1 ? -1 : m->swap - m->limit;
		if (!cgroup_has_file(a->path, "memory.swap.max")) {
			if (sw != 0 && sw != -1)
				return berth_error_setx(
					a->err, ENOTSUP,
					"cgroup: cannot apply memory.swap: the kernel has no swap "
					"accounting (memory.swap.max)");
		} else if ((r = w_i64_max(a, "memory.swap.max", sw)) < 0) {
			return r;
		}
	}
	return 0;
}

static int v2_cpu(const struct applier *a, const struct berth_resources *res)
{
	const typeof(res->cpu) *c = &res->cpu;
	int r;
	if (c->has_realtime_runtime || c->has_realtime_period)
		return berth_error_setx(a->err, ENOTSUP,
					"cgroup: cannot apply cpu.realtimeRuntime/realtimePeriod: "
					"cgroup v2 has no realtime CPU limits");
	if (c->has_shares && (r = w_u64(a, "cpu.weight", cpu_shares_to_weight(c->shares))) < 0)
		return r;
	if (c->has_quota || c->has_period) {
		/* Keep the part of cpu.max not given. */
		_cleanup_free_ char *cur = NULL;
		char quota[32] = "max";
		uint64_t period = 100000;
		if (cgroup_read(a->path, "cpu.max", &cur) >= 0) {
			char q[32];
			unsigned long long p;
			if (sscanf(cur, "%31s %llu", q, &p) == 2) {
				snprintf(quota, sizeof(quota), "%s", q);
				period = p;
			}
		}
		if (c->has_quota) {
			if (c->quota < 0)
				snprintf(quota, sizeof(quota), "max");
			else
				snprintf(quota, sizeof(quota), "%" PRId64, c->quota);
		}
		if (c->has_period)
			period = c->period;
		char buf[64];
		snprintf(buf, sizeof(buf), "%s %" PRIu64, quota, period);
		if ((r = cgroup_write(a->path, "cpu.max", buf, a->err)) < 0)
			return r;
	}
	if (c->has_burst && (r = w_u64(a, "cpu.max.burst", c->burst)) < 0)
		return r;
	if (c->has_idle && (r = w_u64(a, "cpu.idle", (uint64_t)c->idle)) < 0)
		return r;
	return 0;
}

static int v2_cpuset(const struct applier *a, const struct berth_resources *res)
{
	int r;
	if (res->cpu.cpus && (r = cgroup_write(a->path, "cpuset.cpus", res->cpu.cpus, a->err)) < 0)
		return r;
	if (res->cpu.mems && (r = cgroup_write(a->path, "cpuset.mems", res->cpu.mems, a->err)) < 0)
		return r;
	return 0;
}

static int v2_io(const struct applier *a, const struct berth_resources *res)
{
	const typeof(res->block_io) *b = &res->block_io;
	bool bfq = cgroup_has_file(a->path, "io.bfq.weight");
	char buf[128];
	int r;
	if (b->has_leaf_weight)
		return berth_error_setx(
			a->err, ENOTSUP,
			"cgroup: cannot apply blockIO.leafWeight: cgroup v2 has no leaf weight");
	for (size_t i = 0; i < b->n_weight_device; i++)
		if (b->weight_device[i].has_leaf_weight)
			return berth_error_setx(
				a->err, ENOTSUP,
				"cgroup: cannot apply blockIO.weightDevice[%zu].leafWeight: cgroup "
				"v2 has no leaf weight",
				i);
	if (b->has_weight) {
		if (bfq)
			snprintf(buf, sizeof(buf), "%u", b->weight);
		else
			snprintf(buf, sizeof(buf), "default %" PRIu64,
				 blkio_to_io_weight(b->weight));
		if ((r = cgroup_write(a->path, bfq ? "io.bfq.weight" : "io.weight", buf, a->err)) <
		    0)
			return r;
	}
	for (size_t i = 0; i < b->n_weight_device; i++) {
		const struct berth_res_weight_device *d = &b->weight_device[i];
		if (!d->has_weight)
			continue;
		snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
			 bfq ? d->weight : blkio_to_io_weight(d->weight));
		if ((r = cgroup_write(a->path, bfq ? "io.bfq.weight" : "io.weight", buf, a->err)) <
		    0)
			return r;
	}
	static const char *const keys[] = { "rbps", "wbps", "riops", "wiops" };
	for (size_t k = 0; k < 4; k++)
		for (size_t i = 0; i < b->n_throttle[k]; i++) {
			const struct berth_res_throttle *t = &b->throttle[k][i];
			char rate[32];
			if (t->rate == 0)
				snprintf(rate, sizeof(rate), "max");
			else
				snprintf(rate, sizeof(rate), "%" PRIu64, t->rate);
			snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %s=%s", t->major,
				 t->minor, keys[k], rate);
			if ((r = cgroup_write(a->path, "io.max", buf, a->err)) < 0)
				return r;
		}
	return 0;
}

static bool io_set(const struct berth_resources *res)
{
	const typeof(res->block_io) *b = &res->block_io;
	return b->has_weight || b->has_leaf_weight || b->n_weight_device || b->n_throttle[0] ||
	       b->n_throttle[1] || b->n_throttle[2] || b->n_throttle[3];
}

static bool cpu_set(const struct berth_resources *res)
{
	const typeof(res->cpu) *c = &res->cpu;
	return c->has_shares || c->has_quota || c->has_period || c->has_burst || c->has_idle ||
	       c->has_realtime_runtime || c->has_realtime_period;
}

static bool memory_set(const struct berth_resources *res)
{
	const typeof(res->memory) *m = &res->memory;
	return m->has_limit || m->has_reservation || m->has_swap || m->has_kernel ||
	       m->has_kernel_tcp || m->has_swappiness ||
	       (m->has_disable_oom_killer && m->disable_oom_killer);
}

static int v2_unified(const struct applier *a, const struct berth_resources *res)
{
	for (size_t i = 0; i < res->n_unified; i++) {
		const struct berth_res_kv *kv = &res->unified[i];
		_cleanup_free_ char *ctrl = strndup(kv->key, strcspn(kv->key, "."));
		if (!cgroup_has_file(a->path, kv->key) && ctrl && !streq(ctrl, "cgroup"))
			(void)enable_in_parents(a->path, ctrl);
		if (!cgroup_has_file(a->path, kv->key)) {
			if (ctrl && !streq(ctrl, "cgroup") && !cgroup_v2_has(a->path, ctrl))
				return berth_error_setx(a->err, ENOTSUP,
							"cgroup: cannot apply unified \"%s\": the "
							"%s controller is not enabled for \"%s\"",
							kv->key, ctrl, a->path);
			return berth_error_setx(
				a->err, ENOENT,
				"cgroup: cannot apply unified \"%s\": no such file in \"%s\"",
				kv->key, a->path);
		}
		int r = cgroup_write(a->path, kv->key, kv->value, a->err);
		if (r < 0)
			return r;
	}
	return 0;
}

int cgroup_apply(const char *path, const struct berth_resources *res, bool update,
		 struct berth_error **err)
{
	const struct applier a = { path, err };
	const char *rel = cgroup_relative(path);
	int r;

	/*
	 * Hybrid host: a new container gets a cgroup in every v1 hierarchy, as
	 * with runc, so that it sees its own everywhere and a later update of
	 * any controller has one to write. A container made before that gets
	 * those its update needs, its processes moved in.
	 */
	unsigned v1 = !update ? CGROUP_V1_ALL
			      : (memory_set(res) ? CGROUP_V1_MEMORY : 0) |
					(res->pids.has_limit ? CGROUP_V1_PIDS : 0) |
					(cpu_set(res) ? CGROUP_V1_CPU : 0) |
					(res->cpu.cpus || res->cpu.mems ? CGROUP_V1_CPUSET : 0) |
					(io_set(res) ? CGROUP_V1_BLKIO : 0) |
					(res->n_hugepages ? CGROUP_V1_OTHER : 0) |
					(res->network.has_class_id || res->network.n_priorities
						 ? CGROUP_V1_NET
						 : 0);
	if (v1 && (r = cgroup_v1_create(rel, v1, update ? path : NULL, err)) < 0)
		return r;

	if (memory_set(res)) {
		if (cgroup_v2_has(path, "memory"))
			r = v2_memory(&a, res, update);
		else if (!cgroup_v1_uses("memory"))
			r = no_controller(&a, "memory limits", "memory");
		else
			r = 0;
		if (r < 0)
			return r;
	}
	if (cpu_set(res)) {
		if (cgroup_v2_has(path, "cpu"))
			r = v2_cpu(&a, res);
		else if (!cgroup_v1_uses("cpu"))
			r = no_controller(&a, "cpu limits", "cpu");
		else
			r = 0;
		if (r < 0)
			return r;
	}
	if (res->cpu.cpus || res->cpu.mems) {
		if (cgroup_v2_has(path, "cpuset"))
			r = v2_cpuset(&a, res);
		else if (!cgroup_v1_uses("cpuset"))
			r = no_controller(&a, "cpu.cpus/mems", "cpuset");
		else
			r = 0;
		if (r < 0)
			return r;
	}
	if (res->pids.has_limit) {
		if (cgroup_v2_has(path, "pids"))
			r = w_i64_max(&a, "pids.max", res->pids.limit);
		else if (!cgroup_v1_uses("pids"))
			r = no_controller(&a, "pids.limit", "pids");
		else
			r = 0;
		if (r < 0)
			return r;
	}
	if (io_set(res)) {
		if (cgroup_v2_has(path, "io"))
			r = v2_io(&a, res);
		else if (!cgroup_v1_uses("blkio"))
			r = no_controller(&a, "blockIO limits", "io");
		else
			r = 0;
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < res->n_hugepages; i++) {
		const struct berth_res_hugepage *h = &res->hugepages[i];
		if (!cgroup_v2_has(path, "hugetlb") && !enable_in_parents(path, "hugetlb")) {
			if (!cgroup_v1_uses("hugetlb"))
				return no_controller(&a, "hugepageLimits", "hugetlb");
			continue; /* cgroup_v1_apply() */
		}
		char file[64];
		snprintf(file, sizeof(file), "hugetlb.%s.max", h->page_size);
		if (!cgroup_has_file(path, file))
			return berth_error_setx(err, EINVAL,
						"cgroup: cannot apply hugepageLimits[%zu]: no page "
						"size \"%s\" (%s)",
						i, h->page_size, file);
		if ((r = w_u64(&a, file, h->limit)) < 0)
			return r;
	}
	for (size_t i = 0; i < res->n_rdma; i++) {
		const struct berth_res_rdma *d = &res->rdma[i];
		if (!cgroup_v2_has(path, "rdma") && !enable_in_parents(path, "rdma"))
			return no_controller(&a, "rdma", "rdma");
		char buf[256], h[32] = "max", o[32] = "max";
		if (d->has_hca_handles)
			snprintf(h, sizeof(h), "%u", d->hca_handles);
		if (d->has_hca_objects)
			snprintf(o, sizeof(o), "%u", d->hca_objects);
		snprintf(buf, sizeof(buf), "%s hca_handle=%s hca_object=%s", d->device, h, o);
		if ((r = cgroup_write(path, "rdma.max", buf, err)) < 0)
			return r;
	}
	/* net_cls and net_prio exist only as v1 controllers: cgroup_v1_apply() writes them. */
	if (res->network.has_class_id && !cgroup_v1_uses("net_cls"))
		return berth_error_setx(err, ENOTSUP,
					"cgroup: cannot apply network.classID: this host has no "
					"net_cls controller (a cgroup v1 controller, not mounted)");
	if (res->network.n_priorities && !cgroup_v1_uses("net_prio"))
		return berth_error_setx(
			err, ENOTSUP,
			"cgroup: cannot apply network.priorities: this host has no "
			"net_prio controller (a cgroup v1 controller, not mounted)");
	if (res->n_unified && cgroup_tracks_v1())
		return berth_error_setx(err, ENOTSUP,
					"cgroup: cannot apply unified \"%s\": this host has no "
					"cgroup2 hierarchy (cgroup v1 only)",
					res->unified[0].key);
	if ((r = v2_unified(&a, res)) < 0)
		return r;

	/*
	 * At create the device rules are always set, with or without
	 * linux.resources.devices: deny all but the defaults, as runc does.
	 * Leaving them out would leave every device node reachable. Rootless
	 * (a delegated subtree), they are neither allowed (device programs and
	 * the devices controller want CAP_SYS_ADMIN) nor needed: a user
	 * namespace makes no device node a container could open, it sees only
	 * the host's nodes bound in, with the user's own rights on them (runc
	 * and crun leave them out too).
	 */
	if (!update && !proc_rootless()) {
		_cleanup_free_ struct berth_res_device *rules = NULL;
		size_t n = 0;
		if (cgroup_devices_rules(res->devices, res->n_devices, &rules, &n) < 0)
			return berth_error_set(err, ENOMEM, "cgroup: device rules");
		if (cgroup_v1_uses("devices")) {
			_cleanup_free_ char *dir = path_join(cgroup_v1_root("devices"), rel);
			if (!dir)
				return berth_error_set(err, ENOMEM, "cgroup");
			r = cgroup_devices_v1(dir, rules, n, err);
		} else {
			_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				return berth_error_set(err, errno, "cgroup: open \"%s\"", path);
			r = cgroup_devices_bpf(fd, rules, n, err);
		}
		if (r < 0)
			return r;
	}

	/* Whatever is left for the v1 hierarchies (hybrid host). */
	return cgroup_v1_apply(rel, res, update, err);
}

/* ---- processes ---- */

int cgroup_signal_all(const char *path, int sig)
{
	pid_t *pids = NULL;
	size_t n = 0;
	int r = cgroup_pids(path, &pids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		kill(pids[i], sig);
	free(pids);
	/* v1 freezer: a frozen task dies of SIGKILL only once thawed (runc thaws too) */
	if (sig == SIGKILL && cgroup_tracks_v1())
		cgroup_v1_thaw(cgroup_relative(path));
	return 0;
}

static bool cgroup_empty(const char *path)
{
	/* populated covers the cgroups the container made below its own, too */
	if (cgroup_has_file(path, "cgroup.events"))
		return cgroup_read_key(path, "cgroup.events", "populated") == 0;
	pid_t *pids = NULL;
	size_t n = 0;
	if (cgroup_pids(path, &pids, &n) < 0)
		return true;
	free(pids);
	return n == 0;
}

/* Move the caller into the v1 cgroups of each "CTL[,CTL]:SUB" of subs (after cgroup_v1_enter()). */
static int enter_v1_subs(const char *path, char *const *subs, struct berth_error **err)
{
	for (char *const *v = subs; v && *v; v++) {
		const char *colon = strchr(*v, ':');
		if (!colon)
			continue;
		_cleanup_free_ char *ctrls = strndup(*v, (size_t)(colon - *v));
		if (!ctrls)
			return berth_error_set(err, ENOMEM, "--cgroup");
		char *save = NULL;
		for (char *ctl = strtok_r(ctrls, ",", &save); ctl;
		     ctl = strtok_r(NULL, ",", &save)) {
			int r = cgroup_v1_enter_sub(path, ctl, colon + 1, err);
			if (r < 0)
				return berth_error_prefix(err, "--cgroup \"%s\"", *v);
		}
	}
	return 0;
}

long cgroup_clone3(struct clone_args *ca, const char *path, const char *sub, char *const *subs,
		   struct berth_error **err)
{
	_cleanup_free_ char *cg = sub ? path_join(path, sub) : strdup(path);
	if (!cg)
		return berth_error_set(err, ENOMEM, "cgroup");
	_cleanup_close_ int fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berth_error_set(err, errno, "cgroup \"%s\"", cg);
	if (!cgroup_tracks_v1()) {
		ca->flags |= CLONE_INTO_CGROUP;
		ca->cgroup = (uint64_t)fd;
	}
	/*
	 * cgroup_v1_enter() leaves out a freezer cgroup that is not thawed
	 * (berth would stop there). With cgroup v1 only, the child joins it
	 * itself before anything else: it is tracked there and runs on once
	 * thawed, as CLONE_INTO_CGROUP makes it on v2.
	 */
	_cleanup_free_ char *fstate = NULL;
	bool join_frozen = cgroup_tracks_v1() && cgroup_read(cg, "freezer.state", &fstate) >= 0 &&
			   !streq(fstate, "THAWED");
	/* the v1 hierarchies (hybrid or v1-only host), and those that have SUB */
	struct cgroup_v1_saved *saved = NULL, *sub_saved = NULL;
	int r = cgroup_v1_enter(path, &saved, err);
	if (r >= 0 && sub)
		r = cgroup_v1_enter(cg, &sub_saved, err);
	if (r >= 0)
		r = enter_v1_subs(path, subs, err);
	if (r < 0) {
		cgroup_v1_leave(sub_saved);
		cgroup_v1_leave(saved);
		return r;
	}
	long pid = syscall(SYS_clone3, ca, sizeof(*ca));
	if (pid == 0) {
		if (join_frozen && cgroup_write(cg, "cgroup.procs", "0", NULL) < 0)
			_exit(127);
		return 0;
	}
	int clone_errno = errno;
	cgroup_v1_leave(sub_saved);
	cgroup_v1_leave(saved);
	if (pid < 0)
		return berth_error_set(err, clone_errno, "clone3 into cgroup \"%s\"", cg);
	return pid;
}

/* ---- freezer ---- */

bool cgroup_is_frozen(const char *path)
{
	if (path && cgroup_tracks_v1()) {
		_cleanup_free_ char *state = NULL;
		return cgroup_read(path, "freezer.state", &state) >= 0 && streq(state, "FROZEN");
	}
	return path && cgroup_read_u64(path, "cgroup.freeze") == 1;
}

/* Whether the freeze or thaw asked for is done: every task stopped, or none. */
static bool freeze_done(const char *path, bool freeze)
{
	if (!cgroup_tracks_v1())
		return cgroup_read_key(path, "cgroup.events", "frozen") == (freeze ? 1 : 0);
	/* reading freezer.state moves FREEZING on to FROZEN once every task is stopped */
	_cleanup_free_ char *state = NULL;
	return cgroup_read(path, "freezer.state", &state) >= 0 &&
	       streq(state, freeze ? "FROZEN" : "THAWED");
}

int cgroup_freeze(const char *path, bool freeze, struct berth_error **err)
{
	const char *file = cgroup_tracks_v1() ? "freezer.state" : "cgroup.freeze";
	const char *value =
		cgroup_tracks_v1() ? (freeze ? "FROZEN" : "THAWED") : (freeze ? "1" : "0");
	if (!cgroup_has_file(path, file))
		return berth_error_setx(err, ENOTSUP, "cgroup: \"%s\" has no %s%s", path, file,
					cgroup_tracks_v1() ? "" : " (kernel older than 5.2)");
	int r = cgroup_write(path, file, value, err);
	if (r < 0)
		return r;
	for (int i = 0; i < 10000; i++) {
		if (freeze_done(path, freeze))
			return 0;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	if (freeze)
		(void)cgroup_write(path, file, cgroup_tracks_v1() ? "THAWED" : "0", NULL);
	return berth_error_setx(err, ETIMEDOUT, "cgroup: \"%s\" did not %s within 10 s", path,
				freeze ? "freeze" : "thaw");
}

/* ---- destroy ---- */

int cgroup_destroy(const char *path, struct berth_error **err)
{
	if (!path)
		return 0;
	const char *rel = cgroup_relative(path);
	if (access(path, F_OK) == 0) {
		_cleanup_free_ char *killf = path_join(path, "cgroup.kill");
		for (int i = 0; i < 1000 && !cgroup_empty(path); i++) {
			if (!killf || write_string_at(AT_FDCWD, killf, "1") < 0)
				cgroup_signal_all(path, SIGKILL);
			/* A frozen task only dies once thawed where there is no cgroup.kill. */
			if (i == 0 && !cgroup_tracks_v1() && cgroup_is_frozen(path))
				(void)cgroup_write(path, "cgroup.freeze", "0", NULL);
			/* Nor one that the v1 freezer holds (hybrid host), whoever froze it. */
			if (i == 0)
				cgroup_v1_thaw(rel);
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
		int r = cgroup_rmdir_tree(path);
		if (r < 0)
			return berth_error_set(err, -r, "cgroup: remove \"%s\"", path);
	}
	cgroup_v1_destroy(rel);

	const char *root = cgroup_unified_root();
	if (root)
		cgroup_remove_made_parents(path, strlen(root));
	return 0;
}

/* ---- statistics ---- */

static int add_raw(struct cgroup_stats *s, const char *key, uint64_t v)
{
	char **k = realloc(s->raw_keys, (s->n_raw + 1) * sizeof(char *));
	if (!k)
		return -ENOMEM;
	s->raw_keys = k;
	uint64_t *vv = realloc(s->raw_values, (s->n_raw + 1) * sizeof(uint64_t));
	if (!vv)
		return -ENOMEM;
	s->raw_values = vv;
	if (!(k[s->n_raw] = strdup(key)))
		return -ENOMEM;
	vv[s->n_raw++] = v;
	return 0;
}

/* Every "key value" line of dir/file into s->raw. */
static void read_raw(const char *dir, const char *file, struct cgroup_stats *s)
{
	_cleanup_free_ char *t = NULL;
	if (cgroup_read(dir, file, &t) < 0)
		return;
	for (char *save = NULL, *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');
		if (!sp)
			continue;
		*sp = 0;
		if (add_raw(s, l, strtoull(sp + 1, NULL, 10)) < 0)
			return;
	}
}

static uint64_t raw_get(const struct cgroup_stats *s, const char *key)
{
	for (size_t i = 0; i < s->n_raw; i++)
		if (streq(s->raw_keys[i], key))
			return s->raw_values[i];
	return 0;
}

static void v2_io_stats(const char *path, struct cgroup_stats *s)
{
	_cleanup_free_ char *t = NULL;
	if (cgroup_read(path, "io.stat", &t) < 0)
		return;
	/* "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" */
	for (char *save = NULL, *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long long maj, min;
		int off = 0;
		if (sscanf(l, "%llu:%llu %n", &maj, &min, &off) < 2)
			continue;
		static const struct {
			const char *key, *op;
			bool bytes;
		} map[] = {
			{ "rbytes=", "Read", true },
			{ "wbytes=", "Write", true },
			{ "rios=", "Read", false },
			{ "wios=", "Write", false },
		};
		for (size_t i = 0; i < ELEMENTSOF(map); i++) {
			char *f = strstr(l + off, map[i].key);
			if (!f)
				continue;
			struct cgroup_blkio_entry **v = map[i].bytes ? &s->io_bytes : &s->io_ops;
			size_t *n = map[i].bytes ? &s->n_io_bytes : &s->n_io_ops;
			struct cgroup_blkio_entry *nv = realloc(*v, (*n + 1) * sizeof(**v));
			if (!nv)
				return;
			*v = nv;
			nv[*n] = (struct cgroup_blkio_entry){ .major = maj, .minor = min };
			snprintf(nv[*n].op, sizeof(nv[*n].op), "%s", map[i].op);
			nv[*n].value = strtoull(f + strlen(map[i].key), NULL, 10);
			(*n)++;
		}
	}
}

static void hugetlb_stats(const char *path, struct cgroup_stats *s)
{
	DIR *d = opendir("/sys/kernel/mm/hugepages");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		/* hugepages-2048kB -> 2MB */
		unsigned long kb;
		if (sscanf(de->d_name, "hugepages-%lukB", &kb) != 1)
			continue;
		char size[32];
		if (kb >= 1024 * 1024)
			snprintf(size, sizeof(size), "%luGB", kb / (1024 * 1024));
		else if (kb >= 1024)
			snprintf(size, sizeof(size), "%luMB", kb / 1024);
		else
			snprintf(size, sizeof(size), "%luKB", kb);
		char cur[64], max[64], ev[64];
		snprintf(cur, sizeof(cur), "hugetlb.%s.current", size);
		snprintf(max, sizeof(max), "hugetlb.%s.max", size);
		snprintf(ev, sizeof(ev), "hugetlb.%s.events", size);
		if (!cgroup_has_file(path, cur))
			continue;
		struct cgroup_hugetlb_entry *nv =
			realloc(s->hugetlb, (s->n_hugetlb + 1) * sizeof(*nv));
		if (!nv)
			break;
		s->hugetlb = nv;
		struct cgroup_hugetlb_entry *e = &nv[s->n_hugetlb++];
		*e = (struct cgroup_hugetlb_entry){ 0 };
		snprintf(e->size, sizeof(e->size), "%s", size);
		e->usage = cgroup_read_u64(path, cur);
		e->max = cgroup_read_u64(path, max);
		e->failcnt = cgroup_read_key(path, ev, "max");
	}
	closedir(d);
}

int cgroup_stats_read(const char *path, struct cgroup_stats *s, struct berth_error **err)
{
	*s = (struct cgroup_stats){ 0 };
	if (access(path, F_OK) < 0)
		return berth_error_set(err, errno, "cgroup: \"%s\"", path);

	/* cpu.stat's usage is there even without the cpu controller (v1 cpuacct overrides). */
	{
		s->cpu_total = cgroup_read_key(path, "cpu.stat", "usage_usec") * 1000;
		s->cpu_user = cgroup_read_key(path, "cpu.stat", "user_usec") * 1000;
		s->cpu_kernel = cgroup_read_key(path, "cpu.stat", "system_usec") * 1000;
		s->periods = cgroup_read_key(path, "cpu.stat", "nr_periods");
		s->throttled_periods = cgroup_read_key(path, "cpu.stat", "nr_throttled");
		s->throttled_time = cgroup_read_key(path, "cpu.stat", "throttled_usec") * 1000;
	}
	if (cgroup_v2_has(path, "memory")) {
		read_raw(path, "memory.stat", s);
		s->mem_cache = raw_get(s, "file");
		s->mem.usage = cgroup_read_u64(path, "memory.current");
		s->mem.limit = cgroup_read_u64(path, "memory.max");
		s->mem.max = cgroup_read_u64(path, "memory.peak");
		s->mem.failcnt = cgroup_read_key(path, "memory.events", "max");
		/* runc reports swap as memory+swap, like v1's memsw */
		s->swap.usage = cgroup_read_u64(path, "memory.swap.current") + s->mem.usage;
		uint64_t sl = cgroup_read_u64(path, "memory.swap.max");
		s->swap.limit = sl == UINT64_MAX || s->mem.limit == UINT64_MAX ? UINT64_MAX
									       : sl + s->mem.limit;
		s->swap.failcnt = cgroup_read_key(path, "memory.swap.events", "max");
		s->kernel.usage = raw_get(s, "kernel");
	}
	if (cgroup_v2_has(path, "pids")) {
		s->pids_current = cgroup_read_u64(path, "pids.current");
		uint64_t l = cgroup_read_u64(path, "pids.max");
		s->pids_limit = l == UINT64_MAX ? 0 : l;
	}
	if (cgroup_v2_has(path, "io"))
		v2_io_stats(path, s);
	if (cgroup_v2_has(path, "hugetlb"))
		hugetlb_stats(path, s);
	cgroup_v1_stats(cgroup_relative(path), s);
	return 0;
}

void cgroup_stats_done(struct cgroup_stats *s)
{
	free(s->percpu);
	for (size_t i = 0; i < s->n_raw; i++)
		free(s->raw_keys[i]);
	free(s->raw_keys);
	free(s->raw_values);
	free(s->io_bytes);
	free(s->io_ops);
	free(s->hugetlb);
	*s = (struct cgroup_stats){ 0 };
}

/* ---- OOM ---- */

int cgroup_oom_fd(const char *path, int *ret_fd)
{
	if (cgroup_v2_has(path, "memory")) {
		_cleanup_close_ int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		_cleanup_free_ char *f = path_join(path, "memory.events");
		if (fd < 0 || !f)
			return fd < 0 ? -errno : -ENOMEM;
		if (inotify_add_watch(fd, f, IN_MODIFY) < 0)
			return -errno;
		*ret_fd = TAKE_FD(fd);
		return 0;
	}
	return cgroup_v1_oom_fd(cgroup_relative(path), ret_fd);
}

uint64_t cgroup_oom_count(const char *path)
{
	if (cgroup_v2_has(path, "memory"))
		return cgroup_read_key(path, "memory.events", "oom_kill");
	return cgroup_v1_oom_count(cgroup_relative(path));
}
