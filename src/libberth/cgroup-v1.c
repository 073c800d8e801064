/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The v1 controllers of a hybrid host (memory, pids, cpu, cpuacct, cpuset,
 * blkio, devices at /sys/fs/cgroup/<controller>): the container's directory
 * at the same path as on the unified hierarchy, its limits, attaching the
 * init, stats and OOM notification. Runs in the berth process; never mounts.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

#include "cgroup.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"

#define V1_BASE "/sys/fs/cgroup"

static const char *const v1_controllers[] = { "memory", "pids",	 "cpu",	   "cpuacct",
					      "cpuset", "blkio", "devices" };

const char *cgroup_v1_root(const char *controller)
{
	static char roots[ELEMENTSOF(v1_controllers)][64];
	static bool probed[ELEMENTSOF(v1_controllers)];
	for (size_t i = 0; i < ELEMENTSOF(v1_controllers); i++) {
		if (!streq(controller, v1_controllers[i]))
			continue;
		if (!probed[i]) {
			probed[i] = true;
			struct statfs fs;
			snprintf(roots[i], sizeof(roots[i]), V1_BASE "/%s", controller);
			if (statfs(roots[i], &fs) < 0 || fs.f_type != CGROUP_SUPER_MAGIC)
				roots[i][0] = 0;
		}
		return roots[i][0] ? roots[i] : NULL;
	}
	return NULL;
}

bool cgroup_v1_uses(const char *controller)
{
	const char *u = cgroup_unified_root();
	/* v2 has no cpuacct: its accounting is part of cpu */
	const char *v2name = streq(controller, "cpuacct") ? "cpu"
			     : streq(controller, "blkio") ? "io"
							  : controller;
	return cgroup_v1_root(controller) && !(u && cgroup_v2_has(u, v2name));
}

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
		int r = cgroup_write(dir, files[i], pv, err);
		if (r < 0)
			return r;
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

static const unsigned v1_masks[] = { CGROUP_V1_MEMORY, CGROUP_V1_PIDS,	 CGROUP_V1_CPU,
				     CGROUP_V1_CPU,    CGROUP_V1_CPUSET, CGROUP_V1_BLKIO,
				     CGROUP_V1_DEVICES };

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
	for (size_t i = 0; i < ELEMENTSOF(v1_controllers); i++) {
		const char *c = v1_controllers[i];
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
	return 0;
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

void cgroup_v1_leave(char *saved)
{
	if (!saved)
		return;
	/* "4:memory:/some/path" lines; "5:cpu,cpuacct:/x" for co-mounted ones */
	for (char *save = NULL, *l = strtok_r(saved, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *c = strchr(l, ':');
		char *p = c ? strchr(c + 1, ':') : NULL;
		if (!p)
			continue;
		*p++ = 0;
		c++;
		for (char *save2 = NULL, *ctrl = strtok_r(c, ",", &save2); ctrl;
		     ctrl = strtok_r(NULL, ",", &save2))
			if (cgroup_v1_uses(ctrl)) {
				(void)move_self(ctrl, p, NULL);
				break;
			}
	}
	free(saved);
}

int cgroup_v1_enter(const char *path, char **ret_saved, struct berth_error **err)
{
	const char *rel = cgroup_relative(path);
	*ret_saved = NULL;
	/* Only the v1 cgroups made for this container (from its resources) exist. */
	bool in[ELEMENTSOF(v1_controllers)] = { false }, any = false;
	for (size_t i = 0; i < ELEMENTSOF(v1_controllers); i++) {
		_cleanup_free_ char *dir = v1_dir(v1_controllers[i], rel[0] == '/' ? rel + 1 : rel);
		in[i] = dir && access(dir, F_OK) == 0;
		any |= in[i];
	}
	if (!any)
		return 0;
	char *saved = NULL;
	int r = read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 16, &saved, NULL);
	if (r < 0)
		return berth_error_set(err, -r, "cgroup: read /proc/self/cgroup");
	for (size_t i = 0; i < ELEMENTSOF(v1_controllers); i++) {
		if (!in[i])
			continue;
		r = move_self(v1_controllers[i], rel, err);
		if (r < 0) {
			cgroup_v1_leave(saved);
			return r;
		}
	}
	*ret_saved = saved;
	return 0;
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
	for (size_t i = 0; i < ELEMENTSOF(v1_controllers); i++) {
		_cleanup_free_ char *dir = v1_dir(v1_controllers[i], rel);
		if (!dir || access(dir, F_OK) < 0)
			continue;
		/* The unified cgroup is empty by now; exiting tasks may linger here a moment. */
		for (int k = 0; k < 1000 && rmdir(dir) < 0 && errno == EBUSY; k++) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
		cgroup_remove_made_parents(dir, strlen(cgroup_v1_root(v1_controllers[i])));
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
