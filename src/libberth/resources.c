/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parser of linux.resources (config.json, `berth update --resources`) into
 * struct berth_resources, with exact integers and JSON-path error messages.
 * Runs in the berth process; touches nothing but memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "resources.h"
#include "spec.h"
#include "util/macro.h"

struct rparser {
	const char *what;
	char path[512];
	struct berth_error **err;
};

/* The message is never cut: what may be long (a number, a string) goes through shorten(). */
static int rfail(struct rparser *p, const char *fmt, ...) _printf_(2, 3);
static int rfail(struct rparser *p, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	/* the analyzer loses track of va_start through the format attribute */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	int k = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (k < 0)
		return berth_error_set(p->err, ENOMEM, "%s%s", p->what, p->path);
	return berth_error_setx(p->err, EINVAL, "%s%s: %s", p->what, p->path, msg);
}

/* Text from the input, cut for a message: the first 32 bytes and "...", and how many there were. */
#define SHORT_MAX 32
struct short_text {
	char s[SHORT_MAX + 40];
};

static struct short_text shorten(const char *t, const char *unit)
{
	struct short_text r;
	size_t n = strlen(t);
	if (n <= SHORT_MAX)
		snprintf(r.s, sizeof(r.s), "%s", t);
	else if (unit)
		snprintf(r.s, sizeof(r.s), "%.*s... (%zu %s)", SHORT_MAX, t, n - (t[0] == '-'),
			 unit);
	else
		snprintf(r.s, sizeof(r.s), "%.*s...", SHORT_MAX, t);
	return r;
}

static size_t push(struct rparser *p, const char *key)
{
	size_t old = strlen(p->path);
	snprintf(p->path + old, sizeof(p->path) - old, ".%s", key);
	return old;
}

static size_t push_index(struct rparser *p, size_t i)
{
	size_t old = strlen(p->path);
	snprintf(p->path + old, sizeof(p->path) - old, "[%zu]", i);
	return old;
}

static void pop(struct rparser *p, size_t old)
{
	p->path[old] = 0;
}

static yajl_val get(yajl_val obj, const char *key)
{
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (streq(obj->u.object.keys[i], key))
			return obj->u.object.values[i];
	return NULL;
}

/* An integer from the number text: no fraction, no exponent, within [min, max]. */
static int conv_int(struct rparser *p, yajl_val v, bool is_signed, int64_t min, uint64_t max,
		    void *ret)
{
	const char *t = YAJL_IS_NUMBER(v) ? v->u.number.r : NULL;
	const char *kind = is_signed ? "an integer" : "a non-negative integer";
	if (!t || strpbrk(t, ".eE"))
		return rfail(p, "must be %s", kind);
	char *end;
	errno = 0;
	if (is_signed) {
		long long x = strtoll(t, &end, 10);
		if (errno || *end || x < min || (x > 0 && (uint64_t)x > max))
			return rfail(p, "%s is out of range", shorten(t, "digits").s);
		*(int64_t *)ret = x;
	} else {
		if (t[0] == '-')
			return rfail(p, "must be %s", kind);
		unsigned long long x = strtoull(t, &end, 10);
		if (errno || *end || x > max)
			return rfail(p, "%s is out of range", shorten(t, "digits").s);
		*(uint64_t *)ret = x;
	}
	return 0;
}

/* Field helpers: 1 if present and converted, 0 if absent or null, < 0 on error. */
static int f_i64(struct rparser *p, yajl_val obj, const char *key, bool *has, int64_t *ret)
{
	yajl_val v = get(obj, key);
	if (!v || YAJL_IS_NULL(v))
		return 0;
	size_t o = push(p, key);
	int r = conv_int(p, v, true, INT64_MIN, INT64_MAX, ret);
	pop(p, o);
	if (r < 0)
		return r;
	if (has)
		*has = true;
	return 1;
}

static int f_u64(struct rparser *p, yajl_val obj, const char *key, uint64_t max, bool *has,
		 uint64_t *ret)
{
	yajl_val v = get(obj, key);
	if (!v || YAJL_IS_NULL(v))
		return 0;
	size_t o = push(p, key);
	int r = conv_int(p, v, false, 0, max, ret);
	pop(p, o);
	if (r < 0)
		return r;
	if (has)
		*has = true;
	return 1;
}

static int f_u16(struct rparser *p, yajl_val obj, const char *key, bool *has, uint16_t *ret)
{
	uint64_t x;
	int r = f_u64(p, obj, key, UINT16_MAX, has, &x);
	if (r > 0)
		*ret = (uint16_t)x;
	return r;
}

static int f_u32(struct rparser *p, yajl_val obj, const char *key, bool *has, uint32_t *ret)
{
	uint64_t x;
	int r = f_u64(p, obj, key, UINT32_MAX, has, &x);
	if (r > 0)
		*ret = (uint32_t)x;
	return r;
}

static int f_bool(struct rparser *p, yajl_val obj, const char *key, bool *has, bool *ret)
{
	yajl_val v = get(obj, key);
	if (!v || YAJL_IS_NULL(v))
		return 0;
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
		size_t o = push(p, key);
		int r = rfail(p, "must be true or false");
		pop(p, o);
		return r;
	}
	*ret = YAJL_IS_TRUE(v);
	if (has)
		*has = true;
	return 1;
}

static int f_str(struct rparser *p, yajl_val obj, const char *key, char **ret)
{
	yajl_val v = get(obj, key);
	if (!v || YAJL_IS_NULL(v))
		return 0;
	if (!YAJL_IS_STRING(v)) {
		size_t o = push(p, key);
		int r = rfail(p, "must be a string");
		pop(p, o);
		return r;
	}
	char *s = strdup(v->u.string);
	if (!s)
		return berth_error_set(p->err, ENOMEM, "%s", p->what);
	free(*ret);
	*ret = s;
	return 1;
}

/* Object member key: NULL if absent/null, else must be an object (or array if want_array). */
static int f_container(struct rparser *p, yajl_val obj, const char *key, bool want_array,
		       yajl_val *ret)
{
	yajl_val v = get(obj, key);
	*ret = NULL;
	if (!v || YAJL_IS_NULL(v))
		return 0;
	if (want_array ? !YAJL_IS_ARRAY(v) : !YAJL_IS_OBJECT(v)) {
		size_t o = push(p, key);
		int r = rfail(p, "must be an %s", want_array ? "array" : "object");
		pop(p, o);
		return r;
	}
	*ret = v;
	return 1;
}

typedef int (*elem_fn)(struct rparser *p, yajl_val v, void *elem);

/* Array of objects at key, each converted by fn into an element of size bytes. */
static int f_array(struct rparser *p, yajl_val obj, const char *key, size_t size, elem_fn fn,
		   void **ret, size_t *ret_n)
{
	yajl_val a;
	int r = f_container(p, obj, key, true, &a);
	if (r <= 0 || !a)
		return r;
	size_t o = push(p, key);
	size_t n = a->u.array.len;
	char *v = calloc(n ? n : 1, size);
	if (!v) {
		pop(p, o);
		return berth_error_set(p->err, ENOMEM, "%s", p->what);
	}
	/* Owned by the caller even on failure, so that partial elements get freed. */
	*ret = v;
	*ret_n = 0;
	for (size_t i = 0; i < n; i++) {
		size_t oi = push_index(p, i);
		yajl_val e = a->u.array.values[i];
		if (!YAJL_IS_OBJECT(e))
			r = rfail(p, "must be an object");
		else
			r = fn(p, e, v + i * size);
		*ret_n = i + 1;
		pop(p, oi);
		if (r < 0) {
			pop(p, o);
			return r;
		}
	}
	pop(p, o);
	return 1;
}

static int conv_device(struct rparser *p, yajl_val v, void *elem)
{
	struct berth_res_device *d = elem;
	int r;
	d->type = 'a';
	d->major = d->minor = -1;
	d->read = d->write = d->mknod = true;
	if ((r = f_bool(p, v, "allow", NULL, &d->allow)) < 0)
		return r;
	if (r == 0)
		return rfail(p, "allow: is required");
	_cleanup_free_ char *type = NULL, *access = NULL;
	if ((r = f_str(p, v, "type", &type)) < 0)
		return r;
	if (type) {
		if (!streq(type, "a") && !streq(type, "c") && !streq(type, "b")) {
			size_t o = push(p, "type");
			r = rfail(p, "\"%s\" must be \"a\", \"c\" or \"b\"", shorten(type, NULL).s);
			pop(p, o);
			return r;
		}
		d->type = type[0];
	}
	bool hm = false, hn = false;
	if ((r = f_i64(p, v, "major", &hm, &d->major)) < 0 ||
	    (r = f_i64(p, v, "minor", &hn, &d->minor)) < 0)
		return r;
	if ((hm && d->major < -1) || (hn && d->minor < -1))
		return rfail(p, "major and minor must be -1 (any) or a device number");
	if ((r = f_str(p, v, "access", &access)) < 0)
		return r;
	if (access) {
		d->read = d->write = d->mknod = false;
		for (const char *s = access; *s; s++) {
			if (*s == 'r')
				d->read = true;
			else if (*s == 'w')
				d->write = true;
			else if (*s == 'm')
				d->mknod = true;
			else {
				size_t o = push(p, "access");
				r = rfail(p, "\"%s\" may only hold r, w and m",
					  shorten(access, NULL).s);
				pop(p, o);
				return r;
			}
		}
	}
	return 0;
}

static int conv_dev_numbers(struct rparser *p, yajl_val v, int64_t *major, int64_t *minor)
{
	bool hm = false, hn = false;
	int r;
	if ((r = f_i64(p, v, "major", &hm, major)) < 0 ||
	    (r = f_i64(p, v, "minor", &hn, minor)) < 0)
		return r;
	if (!hm || !hn)
		return rfail(p, "major and minor are required");
	if (*major < 0 || *minor < 0)
		return rfail(p, "major and minor must not be negative");
	return 0;
}

static int conv_weight_device(struct rparser *p, yajl_val v, void *elem)
{
	struct berth_res_weight_device *d = elem;
	int r = conv_dev_numbers(p, v, &d->major, &d->minor);
	if (r < 0 || (r = f_u16(p, v, "weight", &d->has_weight, &d->weight)) < 0 ||
	    (r = f_u16(p, v, "leafWeight", &d->has_leaf_weight, &d->leaf_weight)) < 0)
		return r;
	return 0;
}

static int conv_throttle(struct rparser *p, yajl_val v, void *elem)
{
	struct berth_res_throttle *d = elem;
	bool has = false;
	int r = conv_dev_numbers(p, v, &d->major, &d->minor);
	if (r < 0 || (r = f_u64(p, v, "rate", UINT64_MAX, &has, &d->rate)) < 0)
		return r;
	if (!has)
		return rfail(p, "rate: is required");
	return 0;
}

static int conv_hugepage(struct rparser *p, yajl_val v, void *elem)
{
	struct berth_res_hugepage *d = elem;
	bool has = false;
	int r;
	if ((r = f_str(p, v, "pageSize", &d->page_size)) < 0)
		return r;
	if (!d->page_size || !*d->page_size || strchr(d->page_size, '/'))
		return rfail(p, "pageSize: must be a page size such as \"2MB\"");
	if ((r = f_u64(p, v, "limit", UINT64_MAX, &has, &d->limit)) < 0)
		return r;
	if (!has)
		return rfail(p, "limit: is required");
	return 0;
}

static int conv_netprio(struct rparser *p, yajl_val v, void *elem)
{
	struct berth_res_netprio *d = elem;
	bool has = false;
	int r;
	if ((r = f_str(p, v, "name", &d->name)) < 0)
		return r;
	if (!d->name || !*d->name || strlen(d->name) > 15 || d->name[strcspn(d->name, " \t\n/")])
		return rfail(p, "name: must be a network interface name");
	if ((r = f_u32(p, v, "priority", &has, &d->priority)) < 0)
		return r;
	if (!has)
		return rfail(p, "priority: is required");
	return 0;
}

static int parse_memory(struct rparser *p, yajl_val m, struct berth_resources *res)
{
	typeof(res->memory) *x = &res->memory;
	int r;
	if ((r = f_i64(p, m, "limit", &x->has_limit, &x->limit)) < 0 ||
	    (r = f_i64(p, m, "reservation", &x->has_reservation, &x->reservation)) < 0 ||
	    (r = f_i64(p, m, "swap", &x->has_swap, &x->swap)) < 0 ||
	    (r = f_i64(p, m, "kernel", &x->has_kernel, &x->kernel)) < 0 ||
	    (r = f_i64(p, m, "kernelTCP", &x->has_kernel_tcp, &x->kernel_tcp)) < 0 ||
	    (r = f_u64(p, m, "swappiness", UINT64_MAX, &x->has_swappiness, &x->swappiness)) < 0 ||
	    (r = f_bool(p, m, "disableOOMKiller", &x->has_disable_oom_killer,
			&x->disable_oom_killer)) < 0 ||
	    (r = f_bool(p, m, "useHierarchy", &x->has_use_hierarchy, &x->use_hierarchy)) < 0 ||
	    (r = f_bool(p, m, "checkBeforeUpdate", &x->has_check_before_update,
			&x->check_before_update)) < 0)
		return r;
	/* 0 means "not set" (what engines send for fields they leave alone). */
	x->has_limit &= x->limit != 0;
	x->has_reservation &= x->reservation != 0;
	x->has_swap &= x->swap != 0;
	x->has_kernel &= x->kernel != 0;
	x->has_kernel_tcp &= x->kernel_tcp != 0;
	static const char *const names[] = { "limit", "reservation", "swap", "kernel",
					     "kernelTCP" };
	const int64_t vals[] = { x->limit, x->reservation, x->swap, x->kernel, x->kernel_tcp };
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (vals[i] < -1) {
			size_t o = push(p, names[i]);
			r = rfail(p, "%" PRId64 " must be -1 (unlimited) or a number of bytes",
				  vals[i]);
			pop(p, o);
			return r;
		}
	if (x->has_swappiness && x->swappiness > 100) {
		size_t o = push(p, "swappiness");
		r = rfail(p, "%" PRIu64 " must be between 0 and 100", x->swappiness);
		pop(p, o);
		return r;
	}
	return 0;
}

static int parse_cpu(struct rparser *p, yajl_val c, struct berth_resources *res)
{
	typeof(res->cpu) *x = &res->cpu;
	int r;
	if ((r = f_u64(p, c, "shares", UINT64_MAX, &x->has_shares, &x->shares)) < 0 ||
	    (r = f_i64(p, c, "quota", &x->has_quota, &x->quota)) < 0 ||
	    (r = f_u64(p, c, "burst", UINT64_MAX, &x->has_burst, &x->burst)) < 0 ||
	    (r = f_u64(p, c, "period", UINT64_MAX, &x->has_period, &x->period)) < 0 ||
	    (r = f_i64(p, c, "realtimeRuntime", &x->has_realtime_runtime, &x->realtime_runtime)) <
		    0 ||
	    (r = f_u64(p, c, "realtimePeriod", UINT64_MAX, &x->has_realtime_period,
		       &x->realtime_period)) < 0 ||
	    (r = f_i64(p, c, "idle", &x->has_idle, &x->idle)) < 0 ||
	    (r = f_str(p, c, "cpus", &x->cpus)) < 0 || (r = f_str(p, c, "mems", &x->mems)) < 0)
		return r;
	x->has_shares &= x->shares != 0;
	x->has_quota &= x->quota != 0;
	x->has_period &= x->period != 0;
	x->has_realtime_runtime &= x->realtime_runtime != 0;
	x->has_realtime_period &= x->realtime_period != 0;
	if (x->has_quota && x->quota < -1) {
		size_t o = push(p, "quota");
		r = rfail(p, "%" PRId64 " must be -1 (unlimited) or a number of microseconds",
			  x->quota);
		pop(p, o);
		return r;
	}
	if (x->has_idle && x->idle != 0 && x->idle != 1) {
		size_t o = push(p, "idle");
		r = rfail(p, "%" PRId64 " must be 0 or 1", x->idle);
		pop(p, o);
		return r;
	}
	if (x->cpus && !*x->cpus) {
		free(x->cpus);
		x->cpus = NULL;
	}
	if (x->mems && !*x->mems) {
		free(x->mems);
		x->mems = NULL;
	}
	return 0;
}

static int parse_block_io(struct rparser *p, yajl_val b, struct berth_resources *res)
{
	typeof(res->block_io) *x = &res->block_io;
	static const char *const tkeys[] = { "throttleReadBpsDevice", "throttleWriteBpsDevice",
					     "throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
	int r;
	if ((r = f_u16(p, b, "weight", &x->has_weight, &x->weight)) < 0 ||
	    (r = f_u16(p, b, "leafWeight", &x->has_leaf_weight, &x->leaf_weight)) < 0 ||
	    (r = f_array(p, b, "weightDevice", sizeof(*x->weight_device), conv_weight_device,
			 (void **)&x->weight_device, &x->n_weight_device)) < 0)
		return r;
	for (size_t i = 0; i < 4; i++)
		if ((r = f_array(p, b, tkeys[i], sizeof(struct berth_res_throttle), conv_throttle,
				 (void **)&x->throttle[i], &x->n_throttle[i])) < 0)
			return r;
	x->has_weight &= x->weight != 0;
	x->has_leaf_weight &= x->leaf_weight != 0;
	return 0;
}

static int parse_rdma(struct rparser *p, yajl_val o, struct berth_resources *res)
{
	size_t n = o->u.object.len;
	res->rdma = calloc(n ? n : 1, sizeof(*res->rdma));
	if (!res->rdma)
		return berth_error_set(p->err, ENOMEM, "%s", p->what);
	for (size_t i = 0; i < n; i++) {
		struct berth_res_rdma *d = &res->rdma[i];
		const char *key = o->u.object.keys[i];
		yajl_val v = o->u.object.values[i];
		res->n_rdma = i + 1;
		d->device = strdup(key);
		if (!d->device)
			return berth_error_set(p->err, ENOMEM, "%s", p->what);
		size_t old = push(p, key);
		int r = 0;
		if (!YAJL_IS_OBJECT(v))
			r = rfail(p, "must be an object");
		else if ((r = f_u32(p, v, "hcaHandles", &d->has_hca_handles, &d->hca_handles)) >= 0)
			r = f_u32(p, v, "hcaObjects", &d->has_hca_objects, &d->hca_objects);
		pop(p, old);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_unified(struct rparser *p, yajl_val o, struct berth_resources *res)
{
	size_t n = o->u.object.len;
	res->unified = calloc(n ? n : 1, sizeof(*res->unified));
	if (!res->unified)
		return berth_error_set(p->err, ENOMEM, "%s", p->what);
	for (size_t i = 0; i < n; i++) {
		const char *key = o->u.object.keys[i];
		yajl_val v = o->u.object.values[i];
		size_t old = push(p, key);
		int r = 0;
		if (!YAJL_IS_STRING(v))
			r = rfail(p, "must be a string");
		else if (!*key || strchr(key, '/') || streq(key, ".") || streq(key, "..") ||
			 !strchr(key, '.'))
			r = rfail(p, "not a cgroup interface file name");
		pop(p, old);
		if (r < 0)
			return r;
		res->unified[i].key = strdup(key);
		res->unified[i].value = strdup(v->u.string);
		res->n_unified = i + 1;
		if (!res->unified[i].key || !res->unified[i].value)
			return berth_error_set(p->err, ENOMEM, "%s", p->what);
	}
	return 0;
}

static int parse_root(struct rparser *p, yajl_val root, struct berth_resources *res)
{
	yajl_val v;
	int r;
	if ((r = f_array(p, root, "devices", sizeof(*res->devices), conv_device,
			 (void **)&res->devices, &res->n_devices)) < 0)
		return r;
	res->has_devices = r > 0;
	if ((r = f_container(p, root, "memory", false, &v)) < 0)
		return r;
	if (v) {
		size_t o = push(p, "memory");
		r = parse_memory(p, v, res);
		pop(p, o);
		if (r < 0)
			return r;
	}
	if ((r = f_container(p, root, "cpu", false, &v)) < 0)
		return r;
	if (v) {
		size_t o = push(p, "cpu");
		r = parse_cpu(p, v, res);
		pop(p, o);
		if (r < 0)
			return r;
	}
	if ((r = f_container(p, root, "pids", false, &v)) < 0)
		return r;
	if (v) {
		size_t o = push(p, "pids");
		r = f_i64(p, v, "limit", &res->pids.has_limit, &res->pids.limit);
		pop(p, o);
		if (r < 0)
			return r;
		res->pids.has_limit &= res->pids.limit != 0;
	}
	if ((r = f_container(p, root, "blockIO", false, &v)) < 0)
		return r;
	if (v) {
		size_t o = push(p, "blockIO");
		r = parse_block_io(p, v, res);
		pop(p, o);
		if (r < 0)
			return r;
	}
	if ((r = f_array(p, root, "hugepageLimits", sizeof(*res->hugepages), conv_hugepage,
			 (void **)&res->hugepages, &res->n_hugepages)) < 0)
		return r;
	if ((r = f_container(p, root, "rdma", false, &v)) < 0)
		return r;
	if (v) {
		size_t o = push(p, "rdma");
		r = parse_rdma(p, v, res);
		pop(p, o);
		if (r < 0)
			return r;
	}
	if ((r = f_container(p, root, "network", false, &v)) < 0)
		return r;
	if (v) {
		size_t o = push(p, "network");
		r = f_u32(p, v, "classID", &res->network.has_class_id, &res->network.class_id);
		if (r >= 0)
			r = f_array(p, v, "priorities", sizeof(*res->network.priorities),
				    conv_netprio, (void **)&res->network.priorities,
				    &res->network.n_priorities);
		pop(p, o);
		if (r < 0)
			return r;
	}
	if ((r = f_container(p, root, "unified", false, &v)) < 0)
		return r;
	if (v) {
		size_t o = push(p, "unified");
		r = parse_unified(p, v, res);
		pop(p, o);
		if (r < 0)
			return r;
	}
	return 0;
}

int berth_resources_parse(const char *text, size_t len, const char *what,
			  struct berth_resources **ret, struct berth_error **err)
{
	struct rparser p = { .what = what ? what : "resources", .err = err };
	_cleanup_(berth_resources_freep) struct berth_resources *res = calloc(1, sizeof(*res));
	if (!res)
		return berth_error_set(err, ENOMEM, "%s", p.what);
	if (!text || len == 0) {
		*ret = TAKE_PTR(res);
		return 0;
	}
	/* the limits and checks of config.json: depth, NUL, lone surrogates */
	int r = berth_json_check(text, len, p.what, NULL, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *copy = strndup(text, len);
	if (!copy)
		return berth_error_set(err, ENOMEM, "%s", p.what);
	char ebuf[256] = "";
	yajl_val root = yajl_tree_parse(copy, ebuf, sizeof(ebuf));
	if (!root) {
		char *nl = strchr(ebuf, '\n');
		if (nl)
			*nl = 0;
		return berth_error_setx(err, EINVAL, "%s: invalid JSON: %s", p.what,
					*ebuf ? ebuf : "syntax error");
	}
	if (!YAJL_IS_OBJECT(root))
		r = rfail(&p, "must be an object");
	else
		r = parse_root(&p, root, res);
	yajl_tree_free(root);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(res);
	return 0;
}

void berth_resources_free(struct berth_resources *r)
{
	if (!r)
		return;
	free(r->devices);
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->block_io.weight_device);
	for (size_t i = 0; i < 4; i++)
		free(r->block_io.throttle[i]);
	for (size_t i = 0; i < r->network.n_priorities; i++)
		free(r->network.priorities[i].name);
	free(r->network.priorities);
	for (size_t i = 0; i < r->n_hugepages; i++)
		free(r->hugepages[i].page_size);
	free(r->hugepages);
	for (size_t i = 0; i < r->n_rdma; i++)
		free(r->rdma[i].device);
	free(r->rdma);
	for (size_t i = 0; i < r->n_unified; i++) {
		free(r->unified[i].key);
		free(r->unified[i].value);
	}
	free(r->unified);
	free(r);
}

uint64_t berth_cpu_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}
