/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The v1 controllers of a hybrid or v1-only host (memory, pids, cpu,
 * cpuacct, cpuset, blkio, devices, freezer, ... at /sys/fs/cgroup/<controller>):
 * the container's directory at the same path as on the tracking hierarchy,
 * its limits, attaching the init, stats and OOM notification. Runs in the
 * berth process; never mounts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup-fs.h"
#include "cgroup-v1.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"

static char *v1_dir(const char *controller, const char *rel)
{
	if (!cgroup_v1_uses(controller))
		return NULL;
	return path_join(cgroup_v1_root(controller), rel);
}

/* A new cpuset is empty: copy cpus and mems from the parent, or nothing can join it. */
static int cpuset_init(const char *dir, struct berth_error **err)
{
	_cleanup_free_ char *parent = strdup(dir);
	if (!parent)
		return berth_error_set(err, ENOMEM, "cgroup");
	char *s = strrchr(parent, '/');
	if (!s)
		return 0;
	*s = 0;
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		_cleanup_free_ char *cur = NULL, *pv = NULL;
		if (cgroup_read(dir, files[i], &cur) >= 0 && *cur)
			continue;
		if (cgroup_read(parent, files[i], &pv) < 0)
			continue;
		/* -ENOENT: a concurrent delete removed dir and mkdir_chain makes it again; no
		 * error is kept for that (it leaked, or named a failure that did not last) */
		_cleanup_(berth_error_freep) struct berth_error *e = NULL;
		int r = cgroup_write(dir, files[i], pv, &e);
		if (r == -ENOENT)
			return r;
		if (r < 0)
			return berth_error_setx(err, -r, "%s", e ? e->msg : "cgroup");
	}
	return 0;
}

/* mkdir -p root/rel, marking the parents; -ENOENT if a concurrent delete removed a parent. */
static int mkdir_chain(const char *controller, char *dir, size_t rootlen, struct berth_error **err)
{
	for (char *s = dir + rootlen + 1;; s++) {
		if (*s != '/' && *s != 0)
			continue;
		char saved = *s;
		*s = 0;
		int r = saved					  ? cgroup_mkdir_parent(dir)
			: mkdir(dir, 0755) < 0 && errno != EEXIST ? -errno
								  : 0;
		if (r == -ENOENT) {
			*s = saved;
			return r;
		}
		if (r < 0)
			r = berth_error_set(err, -r, "cgroup: create \"%s\"", dir);
		else if (streq(controller, "cpuset"))
			r = cpuset_init(dir, err);
		*s = saved;
		if (r < 0 || !saved)
			return r;
	}
}

static int wr(struct berth_error **err, const char *dir, const char *file, const char *fmt, ...)
	_printf_(4, 5);

static const unsigned v1_masks[CGROUP_N_V1] = {
	CGROUP_V1_MEMORY, CGROUP_V1_PIDS,    CGROUP_V1_CPU,   CGROUP_V1_CPU,   CGROUP_V1_CPUSET,
	CGROUP_V1_BLKIO,  CGROUP_V1_DEVICES, CGROUP_V1_OTHER, CGROUP_V1_OTHER, CGROUP_V1_NET,
	CGROUP_V1_NET,	  CGROUP_V1_OTHER,   CGROUP_V1_OTHER, CGROUP_V1_OTHER, CGROUP_V1_OTHER
};

/* Move every process of the unified cgroup into dir (a v1 cgroup made after the start). */
static int v1_adopt(const char *dir, const char *unified, struct berth_error **err)
{
	pid_t *pids = NULL;
	size_t n = 0;
	int r = cgroup_pids(unified, &pids, &n);
	if (r < 0)
		return berth_error_set(err, -r, "cgroup: read \"%s/cgroup.procs\"", unified);
	for (size_t i = 0; i < n && r >= 0; i++) {
		r = wr(NULL, dir, "cgroup.procs", "%d", (int)pids[i]);
		if (r == -ESRCH)
			r = 0;
		else if (r < 0)
			berth_error_set(err, -r, "cgroup: move pid %d into \"%s\"", (int)pids[i],
					dir);
	}
	free(pids);
	return r;
}

int cgroup_v1_create(const char *rel, unsigned mask, const char *unified, struct berth_error **err)
{
	for (size_t i = 0; i < CGROUP_N_V1; i++) {
		const char *c = cgroup_v1_controllers[i];
		if (!(mask & v1_masks[i]))
			continue;
		_cleanup_free_ char *dir = v1_dir(c, rel);
		if (!dir || access(dir, F_OK) == 0)
			continue;
		int r = -ENOENT;
		for (int attempt = 0; attempt < 10 && r == -ENOENT; attempt++)
			r = mkdir_chain(c, dir, strlen(cgroup_v1_root(c)), err);
		if (r == -ENOENT)
			r = berth_error_set(err, ENOENT, "cgroup: create \"%s\"", dir);
		if (r >= 0 && unified)
			r = v1_adopt(dir, unified, err);
		if (r < 0) {
			if (!unified)
				cgroup_v1_destroy(rel);
			return r;
		}
	}
	return 0;
}

static int w(const char *dir, const char *file, const char *fmt, ...) _printf_(3, 4);
static int w(const char *dir, const char *file, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	va_start(ap, fmt);
	/* the analyzer loses track of va_start through the format attribute */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return cgroup_write(dir, file, buf, NULL);
}

/* Write, and on failure report the file and the value. */
static int wr(struct berth_error **err, const char *dir, const char *file, const char *fmt, ...)
	_printf_(4, 5);
static int wr(struct berth_error **err, const char *dir, const char *file, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	va_start(ap, fmt);
	/* the analyzer loses track of va_start through the format attribute */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return cgroup_write(dir, file, buf, err);
}

static int v1_memory(const char *dir, const struct berth_resources *res, bool update,
		     struct berth_error **err)
{
	const typeof(res->memory) *m = &res->memory;
	int r;
	if (m->has_limit && m->has_check_before_update && m->check_before_update && update &&
	    m->limit > 0) {
		uint64_t cur = cgroup_read_u64(dir, "memory.usage_in_bytes");
		if (cur > (uint64_t)m->limit)
			return berth_error_setx(err, EBUSY,
						"cgroup: memory.limit %" PRId64
						" is below the current usage %" PRIu64,
						m->limit, cur);
	}
	if (m->has_swap && m->swap != -1 && m->has_limit && m->limit != -1 && m->swap < m->limit)
		return berth_error_setx(err, EINVAL,
					"cgroup: memory.swap %" PRId64
					" must not be less than memory.limit %" PRId64
					" (it counts memory and swap)",
					m->swap, m->limit);
	bool have_memsw = cgroup_read_u64(dir, "memory.memsw.limit_in_bytes") != 0;
	if (m->has_swap && !have_memsw)
		return berth_error_setx(err, ENOTSUP,
					"cgroup: cannot apply memory.swap: the kernel has no swap "
					"accounting (memory.memsw.limit_in_bytes)");
	uint64_t cur_sw = have_memsw ? cgroup_read_u64(dir, "memory.memsw.limit_in_bytes") : 0;
	bool has_swap = m->has_swap;
	int64_t swap = m->swap;
	/* A new limit alone keeps "no swap" (memsw == limit) if that is what was set. */
	if (m->has_limit && !has_swap && have_memsw &&
	    cur_sw == cgroup_read_u64(dir, "memory.limit_in_bytes") &&
	    cur_sw != (uint64_t)INT64_MAX - 4095) {
		has_swap = true;
		swap = m->limit;
	}
	/* A limit of -1 alone lifts swap too (as runc): memsw below it would be refused. */
	if (m->has_limit && m->limit == -1 && !has_swap && have_memsw) {
		has_swap = true;
		swap = -1;
	}
	/* memsw must stay >= the limit at every step: raise it first, lower it last. */
	bool swap_first = has_swap && (swap == -1 || !m->has_limit || m->limit == -1 ||
				       (uint64_t)m->limit > cur_sw);
	if (swap_first && (r = wr(err, dir, "memory.memsw.limit_in_bytes", "%" PRId64, swap)) < 0)
		return r;
	if (m->has_limit && (r = wr(err, dir, "memory.limit_in_bytes", "%" PRId64, m->limit)) < 0)
		return r;
	if (has_swap && !swap_first &&
	    (r = wr(err, dir, "memory.memsw.limit_in_bytes", "%" PRId64, swap)) < 0)
		return r;
	if (m->has_reservation &&
	    (r = wr(err, dir, "memory.soft_limit_in_bytes", "%" PRId64, m->reservation)) < 0)
		return r;
	if (m->has_swappiness &&
	    (r = wr(err, dir, "memory.swappiness", "%" PRIu64, m->swappiness)) < 0)
		return r;
	if (m->has_disable_oom_killer && (m->disable_oom_killer || update) &&
	    (r = wr(err, dir, "memory.oom_control", "%d", m->disable_oom_killer ? 1 : 0)) < 0)
		return r;
	if (m->has_kernel &&
	    (r = wr(err, dir, "memory.kmem.limit_in_bytes", "%" PRId64, m->kernel)) < 0)
		return r;
	if (m->has_kernel_tcp &&
	    (r = wr(err, dir, "memory.kmem.tcp.limit_in_bytes", "%" PRId64, m->kernel_tcp)) < 0)
		return r;
	return 0;
}

/* cpu.rt_runtime_us / cpu.rt_period_us of dir; 0 when unreadable, -1 unlimited. */
static double rt_share(const char *dir)
{
	_cleanup_free_ char *t = NULL;
	if (cgroup_read(dir, "cpu.rt_runtime_us", &t) < 0)
		return 0;
	double run = strtod(t, NULL), period = (double)cgroup_read_u64(dir, "cpu.rt_period_us");
	return run < 0 ? -1 : period > 0 ? run / period : 0;
}

/* The real-time share the cgroups directly below dir hold, but for the one named skip. */
static double rt_children(const char *dir, const char *skip)
{
	double sum = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, "..") ||
		    (skip && streq(de->d_name, skip)))
			continue;
		_cleanup_free_ char *sub = path_join(dir, de->d_name);
		double x = sub ? rt_share(sub) : 0;
		sum += x > 0 ? x : 0;
	}
	closedir(d);
	return sum;
}

/*
 * A cgroup's real-time budget comes out of its parent's, and a new cgroup has
 * none to hand down. So that the container at dir can get want (its share of
 * cpu time), each parent berth made (berth/ by default) holds exactly what the
 * cgroups below it hold: raised top down before the container's is written,
 * given back bottom up (also once it is gone, want 0). Parents berth did not
 * make are left alone: the kernel's refusal of the container's own budget
 * then says so. Errors are left to that write.
 */
static void rt_fit_parents(const char *dir, double want)
{
	const char *root = cgroup_v1_root("cpu");
	size_t rootlen = root ? strlen(root) : 0;
	_cleanup_free_ char *p = strdup(dir);
	if (!root || !p || strncmp(p, root, rootlen) != 0 || p[rootlen] != '/')
		return;
	/* the parents between the root and dir: p[cut[i]] is the '/' ending parent i */
	size_t cut[64], n = 0;
	for (char *s = strchr(p + rootlen + 1, '/'); s && n < ELEMENTSOF(cut);
	     s = strchr(s + 1, '/'))
		cut[n++] = (size_t)(s - p);
	double need[64];
	for (size_t i = n; i-- > 0;) {
		p[cut[i]] = 0;
		const char *child = p + cut[i] + 1;
		char *end = strchr(child, '/');
		if (end)
			*end = 0;
		need[i] = rt_children(p, child) + (i + 1 < n ? need[i + 1] : want);
		if (end)
			*end = '/';
		p[cut[i]] = '/';
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < n; k++) {
			size_t i = pass == 0 ? k : n - 1 - k; /* raise top down, lower bottom up */
			p[cut[i]] = 0;
			double have = rt_share(p);
			uint64_t period = cgroup_read_u64(p, "cpu.rt_period_us");
			if (cgroup_is_made_parent(p, rootlen) && have >= 0 && period > 0 &&
			    (pass == 0 ? need[i] > have : need[i] < have))
				(void)w(p, "cpu.rt_runtime_us", "%" PRIu64,
					(uint64_t)(need[i] * (double)period + 0.999));
			p[cut[i]] = '/';
		}
	}
}

static int v1_cpu(const char *dir, const struct berth_resources *res, struct berth_error **err)
{
	const typeof(res->cpu) *c = &res->cpu;
	int r;
	if (c->has_shares && (r = wr(err, dir, "cpu.shares", "%" PRIu64, c->shares)) < 0)
		return r;
	/*
	 * The kernel checks quota/period against the parent's at each write: of
	 * the two orders, take the one whose step in between asks for less
	 * (new quota / old period against old quota / new period; -1 is none).
	 */
	bool quota_first = false;
	if (c->has_period && c->has_quota) {
		int64_t old_q = (int64_t)cgroup_read_u64(dir, "cpu.cfs_quota_us");
		uint64_t old_p = cgroup_read_u64(dir, "cpu.cfs_period_us");
		if (c->quota < 0)
			quota_first = true;
		else if (old_q >= 0)
			quota_first = (unsigned __int128)c->quota * c->period <
				      (unsigned __int128)old_q * old_p;
	}
	if (quota_first && (r = wr(err, dir, "cpu.cfs_quota_us", "%" PRId64, c->quota)) < 0)
		return r;
	if (c->has_period && (r = wr(err, dir, "cpu.cfs_period_us", "%" PRIu64, c->period)) < 0)
		return r;
	if (c->has_quota && !quota_first &&
	    (r = wr(err, dir, "cpu.cfs_quota_us", "%" PRId64, c->quota)) < 0)
		return r;
	if (c->has_burst && (r = wr(err, dir, "cpu.cfs_burst_us", "%" PRIu64, c->burst)) < 0)
		return r;
	if (c->has_realtime_period &&
	    (r = wr(err, dir, "cpu.rt_period_us", "%" PRIu64, c->realtime_period)) < 0)
		return r;
	if (c->has_realtime_runtime && c->realtime_runtime >= 0) {
		uint64_t period = c->has_realtime_period ? c->realtime_period
							 : cgroup_read_u64(dir, "cpu.rt_period_us");
		if (period > 0)
			rt_fit_parents(dir, (double)c->realtime_runtime / (double)period);
	}
	if (c->has_realtime_runtime &&
	    (r = wr(err, dir, "cpu.rt_runtime_us", "%" PRId64, c->realtime_runtime)) < 0)
		return r;
	if (c->has_idle && (r = wr(err, dir, "cpu.idle", "%" PRId64, c->idle)) < 0)
		return r;
	return 0;
}

static int v1_blkio(const char *dir, const struct berth_resources *res, struct berth_error **err)
{
	const typeof(res->block_io) *b = &res->block_io;
	char probe[256];
	snprintf(probe, sizeof(probe), "%s/blkio.weight", dir);
	const char *wf = access(probe, F_OK) == 0 ? "blkio.weight" : "blkio.bfq.weight";
	const char *wdf =
		access(probe, F_OK) == 0 ? "blkio.weight_device" : "blkio.bfq.weight_device";
	int r;
	if (b->has_weight && (r = wr(err, dir, wf, "%u", b->weight)) < 0)
		return r;
	if (b->has_leaf_weight && (r = wr(err, dir, "blkio.leaf_weight", "%u", b->leaf_weight)) < 0)
		return r;
	for (size_t i = 0; i < b->n_weight_device; i++) {
		const struct berth_res_weight_device *d = &b->weight_device[i];
		if (d->has_weight && (r = wr(err, dir, wdf, "%" PRId64 ":%" PRId64 " %u", d->major,
					     d->minor, d->weight)) < 0)
			return r;
		if (d->has_leaf_weight &&
		    (r = wr(err, dir, "blkio.leaf_weight_device", "%" PRId64 ":%" PRId64 " %u",
			    d->major, d->minor, d->leaf_weight)) < 0)
			return r;
	}
	static const char *const files[] = { "blkio.throttle.read_bps_device",
					     "blkio.throttle.write_bps_device",
					     "blkio.throttle.read_iops_device",
					     "blkio.throttle.write_iops_device" };
	for (size_t k = 0; k < 4; k++)
		for (size_t i = 0; i < b->n_throttle[k]; i++) {
			const struct berth_res_throttle *t = &b->throttle[k][i];
			if ((r = wr(err, dir, files[k], "%" PRId64 ":%" PRId64 " %" PRIu64,
				    t->major, t->minor, t->rate)) < 0)
				return r;
		}
	return 0;
}

/* hugetlb, net_cls and net_prio (cgroup_apply() refused them where there is none). */
static int v1_other(const char *rel, const struct berth_resources *res, struct berth_error **err)
{
	_cleanup_free_ char *hugetlb = v1_dir("hugetlb", rel), *cls = v1_dir("net_cls", rel),
			    *prio = v1_dir("net_prio", rel);
	int r;
	for (size_t i = 0; hugetlb && i < res->n_hugepages; i++) {
		const struct berth_res_hugepage *h = &res->hugepages[i];
		char file[64], probe[PATH_MAX];
		snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", h->page_size);
		snprintf(probe, sizeof(probe), "%s/%s", hugetlb, file);
		if (access(probe, F_OK) < 0)
			return berth_error_setx(err, EINVAL,
						"cgroup: cannot apply hugepageLimits[%zu]: no page "
						"size \"%s\" (%s)",
						i, h->page_size, file);
		if ((r = wr(err, hugetlb, file, "%" PRIu64, h->limit)) < 0)
			return r;
	}
	if (cls && res->network.has_class_id &&
	    (r = wr(err, cls, "net_cls.classid", "%" PRIu32, res->network.class_id)) < 0)
		return r;
	for (size_t i = 0; prio && i < res->network.n_priorities; i++) {
		const struct berth_res_netprio *n = &res->network.priorities[i];
		if ((r = wr(err, prio, "net_prio.ifpriomap", "%s %" PRIu32, n->name, n->priority)) <
		    0)
			return r;
	}
	return 0;
}

int cgroup_v1_apply(const char *rel, const struct berth_resources *res, bool update,
		    struct berth_error **err)
{
	_cleanup_free_ char *mem = v1_dir("memory", rel), *cpu = v1_dir("cpu", rel),
			    *cpuset = v1_dir("cpuset", rel), *pids = v1_dir("pids", rel),
			    *blkio = v1_dir("blkio", rel);
	int r;
	if (mem && (r = v1_memory(mem, res, update, err)) < 0)
		return r;
	if (cpu && (r = v1_cpu(cpu, res, err)) < 0)
		return r;
	if (cpuset && res->cpu.cpus &&
	    (r = cgroup_write(cpuset, "cpuset.cpus", res->cpu.cpus, err)) < 0)
		return r;
	if (cpuset && res->cpu.mems &&
	    (r = cgroup_write(cpuset, "cpuset.mems", res->cpu.mems, err)) < 0)
		return r;
	if (pids && res->pids.has_limit) {
		if (res->pids.limit < 0)
			r = cgroup_write(pids, "pids.max", "max", err);
		else
			r = wr(err, pids, "pids.max", "%" PRId64, res->pids.limit);
		if (r < 0)
			return r;
	}
	if (blkio && (r = v1_blkio(blkio, res, err)) < 0)
		return r;
	return v1_other(rel, res, err);
}

/* Move this process into controller's v1 cgroup rel ("/"-rooted path as in /proc/self/cgroup). */
static int move_self(const char *controller, const char *rel, struct berth_error **err)
{
	_cleanup_free_ char *dir =
		path_join(cgroup_v1_root(controller), rel[0] == '/' ? rel + 1 : rel);
	if (!dir)
		return berth_error_set(err, ENOMEM, "cgroup");
	return wr(err, dir, "cgroup.procs", "%d", (int)getpid());
}

struct cgroup_v1_saved {
	char *self;	/* /proc/self/cgroup before the step */
	char *pids_dir; /* the container's pids cgroup, its pids.max raised by one */
	char *pids_max;
};

void cgroup_v1_leave(struct cgroup_v1_saved *saved)
{
	if (!saved)
		return;
	/* "4:memory:/some/path" lines; "5:cpu,cpuacct:/x" for co-mounted ones */
	for (char *save = NULL, *l = strtok_r(saved->self, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *c = strchr(l, ':');
		char *p = c ? strchr(c + 1, ':') : NULL;
		if (!p)
			continue;
		*p++ = 0;
		c++;
		for (char *save2 = NULL, *ctrl = strtok_r(c, ",", &save2); ctrl;
		     ctrl = strtok_r(NULL, ",", &save2)) {
			if (streq(ctrl, "name=systemd"))
				ctrl += 5;
			if (cgroup_v1_uses(ctrl)) {
				(void)move_self(ctrl, p, NULL);
				break;
			}
		}
	}
	if (saved->pids_dir)
		(void)cgroup_write(saved->pids_dir, "pids.max", saved->pids_max, NULL);
	free(saved->self);
	free(saved->pids_dir);
	free(saved->pids_max);
	free(saved);
}

/*
 * berth counts in the container's pids cgroup while it is in there: one more
 * for that moment, so that a limit of 1 still lets the init be cloned.
 */
static void pids_make_room(struct cgroup_v1_saved *saved, char *dir)
{
	_cleanup_free_ char *dir_owned = dir;
	char *cur = NULL;
	if (!dir || cgroup_read(dir, "pids.max", &cur) < 0)
		return;
	char *end;
	errno = 0;
	unsigned long long max = strtoull(cur, &end, 10);
	if (errno || end == cur || *end || max == ULLONG_MAX ||
	    w(dir, "pids.max", "%llu", max + 1) < 0) {
		free(cur);
		return;
	}
	saved->pids_dir = TAKE_PTR(dir_owned);
	saved->pids_max = cur;
}

int cgroup_v1_enter(const char *path, struct cgroup_v1_saved **ret_saved, struct berth_error **err)
{
	const char *rel = cgroup_relative(path);
	*ret_saved = NULL;
	/* The v1 cgroups made for this container, each hierarchy once. */
	bool in[CGROUP_N_V1] = { false }, any = false;
	for (size_t i = 0; i < CGROUP_N_V1; i++) {
		if (cgroup_v1_alias(i))
			continue;
		_cleanup_free_ char *dir =
			v1_dir(cgroup_v1_controllers[i], rel[0] == '/' ? rel + 1 : rel);
		in[i] = dir && access(dir, F_OK) == 0;
		/* berth itself would freeze there (exec into a container someone froze) */
		if (in[i] && streq(cgroup_v1_controllers[i], "freezer")) {
			_cleanup_free_ char *state = NULL;
			in[i] = cgroup_read(dir, "freezer.state", &state) >= 0 &&
				streq(state, "THAWED");
		}
		any |= in[i];
	}
	if (!any)
		return 0;
	struct cgroup_v1_saved *saved = calloc(1, sizeof(*saved));
	if (!saved)
		return berth_error_set(err, ENOMEM, "cgroup");
	int r = read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 16, &saved->self, NULL);
	if (r < 0) {
		free(saved);
		return berth_error_set(err, -r, "cgroup: read /proc/self/cgroup");
	}
	for (size_t i = 0; i < CGROUP_N_V1; i++) {
		if (!in[i])
			continue;
		if (streq(cgroup_v1_controllers[i], "pids"))
			pids_make_room(saved, v1_dir("pids", rel[0] == '/' ? rel + 1 : rel));
		r = move_self(cgroup_v1_controllers[i], rel, err);
		if (r < 0) {
			cgroup_v1_leave(saved);
			return r;
		}
	}
	*ret_saved = saved;
	return 0;
}

/* Write THAWED to freezer.state of dir and of every cgroup below it. */
static void thaw_tree(int dirfd, int depth)
{
	_cleanup_close_ int fd = openat(dirfd, "freezer.state", O_WRONLY | O_CLOEXEC);
	if (fd >= 0)
		(void)!write(fd, "THAWED", 6);
	int dup_fd = depth < 32 ? openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && !streq(de->d_name, ".") && !streq(de->d_name, "..")) {
			_cleanup_close_ int sub = openat(
				dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				thaw_tree(sub, depth + 1);
		}
	closedir(d);
}

void cgroup_v1_thaw(const char *rel)
{
	_cleanup_free_ char *dir = v1_dir("freezer", rel);
	if (!dir)
		return;
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		thaw_tree(fd, 0);
}

int cgroup_v1_enter_sub(const char *path, const char *controller, const char *sub,
			struct berth_error **err)
{
	const char *rel = cgroup_relative(path);
	const char *root = cgroup_v1_root(controller);
	_cleanup_free_ char *own = root ? path_join(root, rel) : NULL;
	_cleanup_free_ char *dest = path_join(rel, sub);
	if (!dest || (root && !own))
		return berth_error_set(err, ENOMEM, "cgroup");
	if (!own || access(own, F_OK) < 0)
		return berth_error_setx(err, EINVAL, "cgroup \"%s\" has no %s controller", path,
					controller);
	return move_self(controller, dest, err);
}

void cgroup_v1_destroy(const char *rel)
{
	for (size_t i = 0; i < CGROUP_N_V1; i++) {
		_cleanup_free_ char *dir = v1_dir(cgroup_v1_controllers[i], rel);
		if (!dir)
			continue;
		if (access(dir, F_OK) == 0) {
			/* The unified cgroup is empty by now; exiting tasks may linger here a moment. */
			/* a removed cgroup's budget is given back only later: give it back now */
			bool rt = streq(cgroup_v1_controllers[i], "cpu") && rt_share(dir) > 0 &&
				  w(dir, "cpu.rt_runtime_us", "0") >= 0;
			(void)cgroup_rmdir_tree(dir);
			if (rt)
				rt_fit_parents(dir, 0);
		}
		/* also when a create died after the parents and before this one */
		cgroup_remove_made_parents(dir, strlen(cgroup_v1_root(cgroup_v1_controllers[i])));
	}
}

static void blkio_entries(const char *dir, const char *file, struct cgroup_blkio_entry **ret,
			  size_t *ret_n)
{
	_cleanup_free_ char *t = NULL;
	if (cgroup_read(dir, file, &t) < 0)
		return;
	for (char *save = NULL, *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long long maj, min, v;
		char op[16];
		if (sscanf(l, "%llu:%llu %15s %llu", &maj, &min, op, &v) != 4)
			continue;
		struct cgroup_blkio_entry *nv = realloc(*ret, (*ret_n + 1) * sizeof(*nv));
		if (!nv)
			return;
		*ret = nv;
		nv[*ret_n] = (struct cgroup_blkio_entry){ .major = maj, .minor = min, .value = v };
		snprintf(nv[*ret_n].op, sizeof(nv[*ret_n].op), "%s", op);
		(*ret_n)++;
	}
}

static void mem_entry(const char *dir, const char *prefix, struct cgroup_mem_entry *e)
{
	char f[96];
	snprintf(f, sizeof(f), "%s.usage_in_bytes", prefix);
	e->usage = cgroup_read_u64(dir, f);
	snprintf(f, sizeof(f), "%s.limit_in_bytes", prefix);
	e->limit = cgroup_read_u64(dir, f);
	snprintf(f, sizeof(f), "%s.max_usage_in_bytes", prefix);
	e->max = cgroup_read_u64(dir, f);
	snprintf(f, sizeof(f), "%s.failcnt", prefix);
	e->failcnt = cgroup_read_u64(dir, f);
}

/* The v1 dir of controller if this container has one (it is made only for limits). */
static char *v1_existing_dir(const char *controller, const char *rel)
{
	char *dir = v1_dir(controller, rel);
	if (dir && access(dir, F_OK) < 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

void cgroup_v1_stats(const char *rel, struct cgroup_stats *s)
{
	_cleanup_free_ char *acct = v1_existing_dir("cpuacct", rel),
			    *cpu = v1_existing_dir("cpu", rel),
			    *mem = v1_existing_dir("memory", rel),
			    *pids = v1_existing_dir("pids", rel),
			    *blkio = v1_existing_dir("blkio", rel);
	if (acct) {
		s->cpu_total = cgroup_read_u64(acct, "cpuacct.usage");
		long hz = sysconf(_SC_CLK_TCK);
		uint64_t tick = hz > 0 ? 1000000000ull / (uint64_t)hz : 10000000ull;
		s->cpu_user = cgroup_read_key(acct, "cpuacct.stat", "user") * tick;
		s->cpu_kernel = cgroup_read_key(acct, "cpuacct.stat", "system") * tick;
		_cleanup_free_ char *t = NULL;
		if (cgroup_read(acct, "cpuacct.usage_percpu", &t) >= 0) {
			for (char *p = t, *end;; p = end) {
				unsigned long long v = strtoull(p, &end, 10);
				if (end == p)
					break;
				uint64_t *nv =
					realloc(s->percpu, (s->n_percpu + 1) * sizeof(uint64_t));
				if (!nv)
					break;
				s->percpu = nv;
				nv[s->n_percpu++] = v;
			}
		}
	}
	if (cpu) {
		s->periods = cgroup_read_key(cpu, "cpu.stat", "nr_periods");
		s->throttled_periods = cgroup_read_key(cpu, "cpu.stat", "nr_throttled");
		s->throttled_time = cgroup_read_key(cpu, "cpu.stat", "throttled_time");
	}
	if (mem) {
		mem_entry(mem, "memory", &s->mem);
		mem_entry(mem, "memory.memsw", &s->swap);
		mem_entry(mem, "memory.kmem", &s->kernel);
		_cleanup_free_ char *t = NULL;
		if (cgroup_read(mem, "memory.stat", &t) >= 0)
			for (char *save = NULL, *l = strtok_r(t, "\n", &save); l;
			     l = strtok_r(NULL, "\n", &save)) {
				char *sp = strchr(l, ' ');
				if (!sp)
					continue;
				*sp = 0;
				char **k = realloc(s->raw_keys, (s->n_raw + 1) * sizeof(char *));
				if (!k)
					break;
				s->raw_keys = k;
				uint64_t *v =
					realloc(s->raw_values, (s->n_raw + 1) * sizeof(uint64_t));
				if (!v)
					break;
				s->raw_values = v;
				if (!(k[s->n_raw] = strdup(l)))
					break;
				v[s->n_raw] = strtoull(sp + 1, NULL, 10);
				if (streq(l, "cache"))
					s->mem_cache = v[s->n_raw];
				s->n_raw++;
			}
	}
	if (pids) {
		s->pids_current = cgroup_read_u64(pids, "pids.current");
		uint64_t l = cgroup_read_u64(pids, "pids.max");
		s->pids_limit = l == UINT64_MAX ? 0 : l;
	}
	if (blkio) {
		blkio_entries(blkio, "blkio.throttle.io_service_bytes_recursive", &s->io_bytes,
			      &s->n_io_bytes);
		blkio_entries(blkio, "blkio.throttle.io_serviced_recursive", &s->io_ops,
			      &s->n_io_ops);
	}
}

int cgroup_v1_oom_fd(const char *rel, int *ret_fd)
{
	_cleanup_free_ char *mem = v1_dir("memory", rel);
	if (!mem)
		return -ENOTSUP;
	_cleanup_free_ char *oc = path_join(mem, "memory.oom_control");
	if (!oc)
		return -ENOMEM;
	_cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	_cleanup_close_ int cfd = open(oc, O_RDONLY | O_CLOEXEC);
	if (efd < 0 || cfd < 0)
		return -errno;
	if (w(mem, "cgroup.event_control", "%d %d", efd, cfd) < 0)
		return -EIO;
	*ret_fd = TAKE_FD(efd);
	return 0;
}

uint64_t cgroup_v1_oom_count(const char *rel)
{
	_cleanup_free_ char *mem = v1_dir("memory", rel);
	return mem ? cgroup_read_key(mem, "memory.oom_control", "oom_kill") : 0;
}
