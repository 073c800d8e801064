/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The container operations that act on its cgroup once it exists: update,
 * pause, resume and events (stats and OOM). Composes state, resources and
 * cgroup like container.c does for the lifecycle. Runs in the berth process.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "berth/berth.h"
#include "cgroup.h"
#include "json.h"
#include "resources.h"
#include "state.h"
#include "systemd-scope.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/proc.h"
#include "util/timestamp.h"

const char *state_status(int dirfd, const struct berth_state *s)
{
	if (s->creating)
		return "creating";
	if (s->pid <= 0)
		return "stopped";
	uint64_t st = proc_start_time(s->pid);
	if (st == 0 || st != s->pid_start_time)
		return "stopped";
	if (!s->started)
		return "created";
	if (cgroup_is_frozen(s->cgroup))
		return "paused";
	return "running";
}

/* Read the state of id (lock released again) and its status; the container must have a cgroup. */
static int load(struct berth_context *ctx, const char *id, struct berth_state **ret,
		const char **ret_status, int *ret_dirfd, struct berth_error **err)
{
	_cleanup_close_ int dirfd = -EBADF;
	struct berth_state *s = NULL;
	int r = state_open_read(ctx, id, &dirfd, &s, err);
	if (r < 0)
		return r;
	if (s->creating) {
		berth_state_free(s);
		return berth_error_setx(err, EINVAL,
					"container \"%s\" is creating: its create has not finished "
					"(delete it if that create died)",
					id);
	}
	if (!s->cgroup) {
		berth_state_free(s);
		return berth_error_setx(err, ENOTSUP,
					"container \"%s\" has no cgroup (rootless, no cgroup berth "
					"may write): nothing to act on",
					id);
	}
	*ret_status = state_status(dirfd, s);
	*ret = s;
	if (ret_dirfd)
		*ret_dirfd = TAKE_FD(dirfd);
	return 0;
}

int berth_update(struct berth_context *ctx, const char *id, const char *resources, size_t len,
		 struct berth_error **err)
{
	_cleanup_close_ int dirfd = -EBADF;
	struct berth_state *s = NULL;
	const char *status = "stopped";
	int r = load(ctx, id, &s, &status, &dirfd, err);
	if (r < 0 || !s)
		return r;
	_cleanup_(resources_freep) struct berth_resources *res = NULL;
	if (streq(status, "stopped"))
		r = berth_error_setx(err, EINVAL, "container is stopped");
	else if ((r = resources_parse(resources, len, "resources", &res, err)) >= 0 &&
		 (!s->systemd_unit || (r = systemd_scope_update(s->systemd_unit, res, err)) >= 0))
		r = cgroup_apply(s->cgroup, res, true, err);
	if (r < 0)
		berth_error_prefix(err, "update \"%s\"", id);
	berth_state_free(s);
	return r;
}

/* Where each enum berth_limit goes in linux.resources; a group's limits stand together. */
static const struct {
	const char *group, *key;
} limit_keys[] = {
	[BERTH_LIMIT_MEMORY] = { "memory", "limit" },
	[BERTH_LIMIT_MEMORY_SWAP] = { "memory", "swap" },
	[BERTH_LIMIT_MEMORY_RESERVATION] = { "memory", "reservation" },
	[BERTH_LIMIT_CPU_SHARES] = { "cpu", "shares" },
	[BERTH_LIMIT_CPU_QUOTA] = { "cpu", "quota" },
	[BERTH_LIMIT_CPU_PERIOD] = { "cpu", "period" },
	[BERTH_LIMIT_CPUSET_CPUS] = { "cpu", "cpus" },
	[BERTH_LIMIT_CPUSET_MEMS] = { "cpu", "mems" },
	[BERTH_LIMIT_PIDS] = { "pids", "limit" },
	[BERTH_LIMIT_BLKIO_WEIGHT] = { "blockIO", "weight" },
};

/* The limits as linux.resources JSON, the last of each (NULL on ENOMEM). */
static char *limits_json(const struct berth_limit_value *v, size_t n)
{
	const char *group = NULL;
	struct gen j;

	if (gen_init(&j, NULL) < 0)
		return NULL;
	gen_open(&j, false);
	for (size_t k = 0; k < ELEMENTSOF(limit_keys); k++) {
		const struct berth_limit_value *last = NULL;
		for (size_t i = 0; i < n; i++)
			if (v[i].limit == k)
				last = &v[i];
		if (!last)
			continue;
		if (!group || !streq(group, limit_keys[k].group)) {
			if (group)
				gen_close(&j, false);
			group = limit_keys[k].group;
			gen_str(&j, group);
			gen_open(&j, false);
		}
		if (k == BERTH_LIMIT_CPUSET_CPUS || k == BERTH_LIMIT_CPUSET_MEMS)
			gen_key_str(&j, limit_keys[k].key, last->list);
		else
			gen_key_int(&j, limit_keys[k].key, last->value);
	}
	if (group)
		gen_close(&j, false);
	gen_close(&j, false);
	char *out = NULL;
	return gen_finish(&j, &out, NULL) < 0 ? NULL : out;
}

int berth_update_limits(struct berth_context *ctx, const char *id,
			const struct berth_limit_value *v, size_t n, struct berth_error **err)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned)v[i].limit >= ELEMENTSOF(limit_keys))
			return berth_error_setx(err, EINVAL, "update \"%s\": unknown limit %d", id,
						(int)v[i].limit);
	_cleanup_free_ char *json = limits_json(v, n);
	if (!json)
		return berth_error_setx(err, ENOMEM, "out of memory");
	return berth_update(ctx, id, json, strlen(json), err);
}

static int pause_resume(struct berth_context *ctx, const char *id, bool freeze,
			struct berth_error **err)
{
	_cleanup_close_ int dirfd = -EBADF;
	struct berth_state *s = NULL;
	const char *status = "stopped";
	int r = load(ctx, id, &s, &status, &dirfd, err);
	if (r < 0 || !s)
		return r;
	const char *want = freeze ? "running" : "paused";
	if (!streq(status, want))
		r = berth_error_setx(err, EINVAL, "%s \"%s\": container is %s, not %s",
				     freeze ? "pause" : "resume", id, status, want);
	else if ((r = cgroup_freeze(s->cgroup, freeze, err)) < 0)
		berth_error_prefix(err, "%s \"%s\"", freeze ? "pause" : "resume", id);
	berth_state_free(s);
	return r;
}

int berth_pause(struct berth_context *ctx, const char *id, struct berth_error **err)
{
	return pause_resume(ctx, id, true, err);
}

int berth_resume(struct berth_context *ctx, const char *id, struct berth_error **err)
{
	return pause_resume(ctx, id, false, err);
}

/* ---- events ---- */

static void mem_entry(struct gen *g, const char *key, const struct cgroup_mem_entry *e)
{
	gen_str(g, key);
	gen_open(g, false);
	gen_key_u64(g, "limit", e->limit);
	gen_key_u64(g, "usage", e->usage);
	gen_key_u64(g, "max", e->max);
	gen_key_u64(g, "failcnt", e->failcnt);
	gen_close(g, false);
}

static void blkio_list(struct gen *g, const char *key, const struct cgroup_blkio_entry *v, size_t n)
{
	gen_str(g, key);
	gen_open(g, true);
	for (size_t i = 0; i < n; i++) {
		gen_open(g, false);
		gen_key_u64(g, "major", v[i].major);
		gen_key_u64(g, "minor", v[i].minor);
		gen_str(g, "op");
		gen_str(g, v[i].op);
		gen_key_u64(g, "value", v[i].value);
		gen_close(g, false);
	}
	gen_close(g, true);
}

static char *event_json(const char *type, const char *id, const struct cgroup_stats *s)
{
	struct gen j;
	struct gen *g = &j;
	if (gen_init(g, NULL) < 0)
		return NULL;
	gen_open(g, false);
	gen_str(g, "type");
	gen_str(g, type);
	gen_str(g, "id");
	gen_str(g, id);
	if (s) {
		gen_str(g, "data");
		gen_open(g, false);

		gen_str(g, "cpu");
		gen_open(g, false);
		gen_str(g, "usage");
		gen_open(g, false);
		gen_key_u64(g, "total", s->cpu_total);
		gen_str(g, "percpu");
		gen_open(g, true);
		for (size_t i = 0; i < s->n_percpu; i++)
			gen_u64(g, s->percpu[i]);
		gen_close(g, true);
		gen_key_u64(g, "kernel", s->cpu_kernel);
		gen_key_u64(g, "user", s->cpu_user);
		gen_close(g, false);
		gen_str(g, "throttling");
		gen_open(g, false);
		gen_key_u64(g, "periods", s->periods);
		gen_key_u64(g, "throttledPeriods", s->throttled_periods);
		gen_key_u64(g, "throttledTime", s->throttled_time);
		gen_close(g, false);
		gen_close(g, false);

		gen_str(g, "memory");
		gen_open(g, false);
		gen_key_u64(g, "cache", s->mem_cache);
		mem_entry(g, "usage", &s->mem);
		mem_entry(g, "swap", &s->swap);
		mem_entry(g, "kernel", &s->kernel);
		gen_str(g, "raw");
		gen_open(g, false);
		for (size_t i = 0; i < s->n_raw; i++)
			gen_key_u64(g, s->raw_keys[i], s->raw_values[i]);
		gen_close(g, false);
		gen_close(g, false);

		gen_str(g, "pids");
		gen_open(g, false);
		gen_key_u64(g, "current", s->pids_current);
		gen_key_u64(g, "limit", s->pids_limit);
		gen_close(g, false);

		gen_str(g, "blkio");
		gen_open(g, false);
		blkio_list(g, "ioServiceBytesRecursive", s->io_bytes, s->n_io_bytes);
		blkio_list(g, "ioServicedRecursive", s->io_ops, s->n_io_ops);
		gen_close(g, false);

		gen_str(g, "hugetlb");
		gen_open(g, false);
		for (size_t i = 0; i < s->n_hugetlb; i++) {
			gen_str(g, s->hugetlb[i].size);
			gen_open(g, false);
			gen_key_u64(g, "usage", s->hugetlb[i].usage);
			gen_key_u64(g, "max", s->hugetlb[i].max);
			gen_key_u64(g, "failcnt", s->hugetlb[i].failcnt);
			gen_close(g, false);
		}
		gen_close(g, false);

		gen_close(g, false);
	}
	gen_close(g, false);
	char *out = NULL;
	return gen_finish(g, &out, NULL) < 0 ? NULL : out;
}

static int emit_stats(const char *id, const char *cg, const struct berth_events_opts *o,
		      struct berth_error **err)
{
	struct cgroup_stats st;
	int r = cgroup_stats_read(cg, &st, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *json = event_json("stats", id, &st);
	cgroup_stats_done(&st);
	if (!json)
		return berth_error_set(err, ENOMEM, "events");
	return o->emit(o->data, json) ? 1 : 0;
}

/*
 * An inotify fd that becomes readable once the state directory dirfd is
 * removed or renamed (the container was deleted). Added while dirfd holds
 * the state lock, so that no delete can slip in before it.
 */
static int watch_state_dir(int dirfd, int *ret_fd)
{
	_cleanup_close_ int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	char path[64];
	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
	if (inotify_add_watch(fd, path, IN_DELETE_SELF | IN_MOVE_SELF) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* One "oom" event if the container's OOM kill count went past *seen; non-zero: stop. */
static int emit_new_ooms(const char *id, const char *cg, uint64_t *seen,
			 const struct berth_events_opts *o)
{
	uint64_t c = cgroup_oom_count(cg);
	if (c <= *seen)
		return 0;
	*seen = c;
	_cleanup_free_ char *json = event_json("oom", id, NULL);
	return json ? o->emit(o->data, json) : 0;
}

int berth_events(struct berth_context *ctx, const char *id, const struct berth_events_opts *o,
		 struct berth_error **err)
{
	struct berth_state *s = NULL;
	const char *status = "stopped";
	_cleanup_close_ int dirfd = -EBADF;
	int r = load(ctx, id, &s, &status, &dirfd, err);
	if (r < 0 || !s)
		return r;
	_cleanup_free_ char *cg = TAKE_PTR(s->cgroup);
	pid_t pid = s->pid;
	uint64_t start = s->pid_start_time;
	berth_state_free(s);
	if (streq(status, "stopped"))
		return berth_error_setx(err, EINVAL, "events \"%s\": container is stopped", id);
	if (o->stats_only) {
		closep(&dirfd);
		r = emit_stats(id, cg, o, err);
		return r < 0 ? berth_error_prefix(err, "events \"%s\"", id) : 0;
	}

	/* as runc: events go on after the container stopped, until it is deleted */
	_cleanup_close_ int gonefd = -EBADF;
	r = watch_state_dir(dirfd, &gonefd);
	if (r < 0)
		return berth_error_set(err, -r, "events \"%s\": watch its state", id);
	closep(&dirfd); /* the lock: delete must be able to take it */

	_cleanup_close_ int pidfd = proc_pidfd_open_started(pid, start);
	_cleanup_close_ int oomfd = -EBADF;
	(void)cgroup_oom_fd(cg, &oomfd);
	uint64_t ooms = cgroup_oom_count(cg);
	/*
	 * v1 signals the eventfd when the cgroup enters OOM, before the kill is
	 * counted in oom_kill: until the count moves, look again every 10 ms
	 * (at most a second) rather than miss the event.
	 */
	int recheck = 0;
	uint64_t interval = o->interval_ms ? o->interval_ms : 5000;
	uint64_t next = (uint64_t)monotonic_ms() + interval;
	for (;;) {
		uint64_t t = (uint64_t)monotonic_ms();
		int timeout = t >= next ? 0 : (int)MIN(next - t, (uint64_t)INT32_MAX);
		if (recheck > 0)
			timeout = MIN(timeout, 10);
		/* a negative fd is skipped by poll(): the init once it is gone */
		struct pollfd p[3] = { { .fd = gonefd, .events = POLLIN },
				       { .fd = pidfd, .events = POLLIN },
				       { .fd = oomfd, .events = POLLIN } };
		int n = poll(p, ELEMENTSOF(p), timeout);
		if (n < 0 && errno != EINTR)
			return berth_error_set(err, errno, "events \"%s\": poll", id);
		if (n > 0 && (p[2].revents & POLLIN)) {
			char buf[4096];
			while (read(oomfd, buf, sizeof(buf)) > 0)
				;
			recheck = 100;
		}
		/* the OOM kill may be what ended the init: report it before going on */
		if (n > 0 && (p[1].revents & POLLIN)) {
			recheck = MAX(recheck, 1);
			closep(&pidfd);
		}
		if (recheck > 0) {
			uint64_t before = ooms;
			if (emit_new_ooms(id, cg, &ooms, o))
				return 0;
			recheck = ooms != before ? 0 : recheck - 1;
		}
		if (n > 0 && p[0].revents)
			return 0;
		if ((uint64_t)monotonic_ms() >= next) {
			/* a cgroup that cannot be read this time is skipped, as runc does */
			struct berth_error *e = NULL;
			r = emit_stats(id, cg, o, &e);
			berth_error_free(e);
			if (r > 0 || emit_new_ooms(id, cg, &ooms, o))
				return 0;
			next += interval;
		}
	}
}
