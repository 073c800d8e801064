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

#include "json.h"
#include "resources.h"
#include "util/macro.h"

/*
 * The wording of linux.resources, which engines match: "must be an
 * integer", "<number> is out of range", "must be true or false".
 */
static const struct json_int res_i64 = { INT64_MIN, INT64_MAX, "an integer", JSON_RANGE_TEXT };
static const struct json_int res_u16 = { 0, UINT16_MAX, "a non-negative integer", JSON_RANGE_TEXT };
static const struct json_int res_u32 = { 0, UINT32_MAX, "a non-negative integer", JSON_RANGE_TEXT };
static const struct json_int res_u64 = { 0, UINT64_MAX, "a non-negative integer", JSON_RANGE_TEXT };

/* Text from the input, cut for a message: the first 32 bytes and "...". */
#define SHORT_MAX 32
struct short_text {
	char s[SHORT_MAX + 8];
};

static struct short_text shorten(const char *t)
{
	struct short_text r;
	if (strlen(t) <= SHORT_MAX)
		snprintf(r.s, sizeof(r.s), "%s", t);
	else
		snprintf(r.s, sizeof(r.s), "%.*s...", SHORT_MAX, t);
	return r;
}

/* Field helpers: 1 if present and converted (and *has set), 0 if absent or null, < 0 on error. */
static int f_i64(struct json_parser *p, yajl_val obj, const char *key, bool *has, int64_t *ret)
{
	int r = JSON_FIELD(p, obj, key, json_conv_i64(p, v, &res_i64, ret));
	if (r > 0 && has)
		*has = true;
	return r;
}

static int f_u(struct json_parser *p, yajl_val obj, const char *key, const struct json_int *t,
	       bool *has, uint64_t *ret)
{
	int r = JSON_FIELD(p, obj, key, json_conv_u64(p, v, t, ret));
	if (r > 0 && has)
		*has = true;
	return r;
}

static int f_u64(struct json_parser *p, yajl_val obj, const char *key, bool *has, uint64_t *ret)
{
	return f_u(p, obj, key, &res_u64, has, ret);
}

static int f_u16(struct json_parser *p, yajl_val obj, const char *key, bool *has, uint16_t *ret)
{
	uint64_t x;
	int r = f_u(p, obj, key, &res_u16, has, &x);
	if (r > 0)
		*ret = (uint16_t)x;
	return r;
}

static int f_u32(struct json_parser *p, yajl_val obj, const char *key, bool *has, uint32_t *ret)
{
	uint64_t x;
	int r = f_u(p, obj, key, &res_u32, has, &x);
	if (r > 0)
		*ret = (uint32_t)x;
	return r;
}

static int f_bool(struct json_parser *p, yajl_val obj, const char *key, bool *has, bool *ret)
{
	int r = JSON_FIELD(p, obj, key, json_conv_bool(p, v, "true or false", ret));
	if (r > 0 && has)
		*has = true;
	return r;
}

static int conv_device(struct json_parser *p, yajl_val v, void *elem)
{
	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	struct berth_res_device *d = elem;
	int r;
	d->type = 'a';
	d->major = d->minor = -1;
	d->read = d->write = d->mknod = true;
	if ((r = f_bool(p, v, "allow", NULL, &d->allow)) < 0)
		return r;
	if (r == 0)
		return json_fail(p, "allow: is required");
	_cleanup_free_ char *type = NULL, *access = NULL;
	if ((r = json_field_string(p, v, "type", &type)) < 0)
		return r;
	if (type) {
		if (!streq(type, "a") && !streq(type, "c") && !streq(type, "b")) {
			size_t o = json_push_key(p, "type");
			r = json_fail(p, "\"%s\" must be \"a\", \"c\" or \"b\"", shorten(type).s);
			json_pop(p, o);
			return r;
		}
		d->type = type[0];
	}
	bool hm = false, hn = false;
	if ((r = f_i64(p, v, "major", &hm, &d->major)) < 0 ||
	    (r = f_i64(p, v, "minor", &hn, &d->minor)) < 0)
		return r;
	if ((hm && d->major < -1) || (hn && d->minor < -1))
		return json_fail(p, "major and minor must be -1 (any) or a device number");
	if ((r = json_field_string(p, v, "access", &access)) < 0)
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
				size_t o = json_push_key(p, "access");
				r = json_fail(p, "\"%s\" may only hold r, w and m",
					      shorten(access).s);
				json_pop(p, o);
				return r;
			}
		}
	}
	return 0;
}

static int conv_dev_numbers(struct json_parser *p, yajl_val v, int64_t *major, int64_t *minor)
{
	bool hm = false, hn = false;
	int r;
	if ((r = f_i64(p, v, "major", &hm, major)) < 0 ||
	    (r = f_i64(p, v, "minor", &hn, minor)) < 0)
		return r;
	if (!hm || !hn)
		return json_fail(p, "major and minor are required");
	if (*major < 0 || *minor < 0)
		return json_fail(p, "major and minor must not be negative");
	return 0;
}

static int conv_weight_device(struct json_parser *p, yajl_val v, void *elem)
{
	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	struct berth_res_weight_device *d = elem;
	int r = conv_dev_numbers(p, v, &d->major, &d->minor);
	if (r < 0 || (r = f_u16(p, v, "weight", &d->has_weight, &d->weight)) < 0 ||
	    (r = f_u16(p, v, "leafWeight", &d->has_leaf_weight, &d->leaf_weight)) < 0)
		return r;
	return 0;
}

static int conv_throttle(struct json_parser *p, yajl_val v, void *elem)
{
	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	struct berth_res_throttle *d = elem;
	bool has = false;
	int r = conv_dev_numbers(p, v, &d->major, &d->minor);
	if (r < 0 || (r = f_u64(p, v, "rate", &has, &d->rate)) < 0)
		return r;
	if (!has)
		return json_fail(p, "rate: is required");
	return 0;
}

static int conv_hugepage(struct json_parser *p, yajl_val v, void *elem)
{
	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	struct berth_res_hugepage *d = elem;
	bool has = false;
	int r;
	if ((r = json_field_string(p, v, "pageSize", &d->page_size)) < 0)
		return r;
	if (!d->page_size || !*d->page_size || strchr(d->page_size, '/'))
		return json_fail(p, "pageSize: must be a page size such as \"2MB\"");
	if ((r = f_u64(p, v, "limit", &has, &d->limit)) < 0)
		return r;
	if (!has)
		return json_fail(p, "limit: is required");
	return 0;
}

static int conv_netprio(struct json_parser *p, yajl_val v, void *elem)
{
	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	struct berth_res_netprio *d = elem;
	bool has = false;
	int r;
	if ((r = json_field_string(p, v, "name", &d->name)) < 0)
		return r;
	if (!d->name || !*d->name || strlen(d->name) > 15 || d->name[strcspn(d->name, " \t\n/")])
		return json_fail(p, "name: must be a network interface name");
	if ((r = f_u32(p, v, "priority", &has, &d->priority)) < 0)
		return r;
	if (!has)
		return json_fail(p, "priority: is required");
	return 0;
}

static int parse_memory(struct json_parser *p, yajl_val m, void *data)
{
	struct berth_resources *res = data;
	typeof(res->memory) *x = &res->memory;
	int r;
	if ((r = f_i64(p, m, "limit", &x->has_limit, &x->limit)) < 0 ||
	    (r = f_i64(p, m, "reservation", &x->has_reservation, &x->reservation)) < 0 ||
	    (r = f_i64(p, m, "swap", &x->has_swap, &x->swap)) < 0 ||
	    (r = f_i64(p, m, "kernel", &x->has_kernel, &x->kernel)) < 0 ||
	    (r = f_i64(p, m, "kernelTCP", &x->has_kernel_tcp, &x->kernel_tcp)) < 0 ||
	    (r = f_u64(p, m, "swappiness", &x->has_swappiness, &x->swappiness)) < 0 ||
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
			size_t o = json_push_key(p, names[i]);
			r = json_fail(p, "%" PRId64 " must be -1 (unlimited) or a number of bytes",
				      vals[i]);
			json_pop(p, o);
			return r;
		}
	if (x->has_swappiness && x->swappiness > 100) {
		size_t o = json_push_key(p, "swappiness");
		r = json_fail(p, "%" PRIu64 " must be between 0 and 100", x->swappiness);
		json_pop(p, o);
		return r;
	}
	return 0;
}

static int parse_cpu(struct json_parser *p, yajl_val c, void *data)
{
	struct berth_resources *res = data;
	typeof(res->cpu) *x = &res->cpu;
	int r;
	if ((r = f_u64(p, c, "shares", &x->has_shares, &x->shares)) < 0 ||
	    (r = f_i64(p, c, "quota", &x->has_quota, &x->quota)) < 0 ||
	    (r = f_u64(p, c, "burst", &x->has_burst, &x->burst)) < 0 ||
	    (r = f_u64(p, c, "period", &x->has_period, &x->period)) < 0 ||
	    (r = f_i64(p, c, "realtimeRuntime", &x->has_realtime_runtime, &x->realtime_runtime)) <
		    0 ||
	    (r = f_u64(p, c, "realtimePeriod", &x->has_realtime_period, &x->realtime_period)) < 0 ||
	    (r = f_i64(p, c, "idle", &x->has_idle, &x->idle)) < 0 ||
	    (r = json_field_string(p, c, "cpus", &x->cpus)) < 0 ||
	    (r = json_field_string(p, c, "mems", &x->mems)) < 0)
		return r;
	x->has_shares &= x->shares != 0;
	x->has_quota &= x->quota != 0;
	x->has_period &= x->period != 0;
	x->has_realtime_runtime &= x->realtime_runtime != 0;
	x->has_realtime_period &= x->realtime_period != 0;
	if (x->has_quota && x->quota < -1) {
		size_t o = json_push_key(p, "quota");
		r = json_fail(p, "%" PRId64 " must be -1 (unlimited) or a number of microseconds",
			      x->quota);
		json_pop(p, o);
		return r;
	}
	if (x->has_idle && x->idle != 0 && x->idle != 1) {
		size_t o = json_push_key(p, "idle");
		r = json_fail(p, "%" PRId64 " must be 0 or 1", x->idle);
		json_pop(p, o);
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

static int parse_block_io(struct json_parser *p, yajl_val b, void *data)
{
	struct berth_resources *res = data;
	typeof(res->block_io) *x = &res->block_io;
	static const char *const tkeys[] = { "throttleReadBpsDevice", "throttleWriteBpsDevice",
					     "throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
	int r;
	if ((r = f_u16(p, b, "weight", &x->has_weight, &x->weight)) < 0 ||
	    (r = f_u16(p, b, "leafWeight", &x->has_leaf_weight, &x->leaf_weight)) < 0 ||
	    (r = json_field_array(p, b, "weightDevice", sizeof(*x->weight_device),
				  conv_weight_device, (void **)&x->weight_device,
				  &x->n_weight_device)) < 0)
		return r;
	for (size_t i = 0; i < 4; i++)
		if ((r = json_field_array(p, b, tkeys[i], sizeof(struct berth_res_throttle),
					  conv_throttle, (void **)&x->throttle[i],
					  &x->n_throttle[i])) < 0)
			return r;
	x->has_weight &= x->weight != 0;
	x->has_leaf_weight &= x->leaf_weight != 0;
	return 0;
}

static int parse_rdma(struct json_parser *p, yajl_val o, void *data)
{
	struct berth_resources *res = data;
	size_t n = o->u.object.len;
	res->rdma = calloc(n ? n : 1, sizeof(*res->rdma));
	if (!res->rdma)
		return json_oom(p);
	for (size_t i = 0; i < n; i++) {
		struct berth_res_rdma *d = &res->rdma[i];
		const char *key = o->u.object.keys[i];
		yajl_val v = o->u.object.values[i];
		res->n_rdma = i + 1;
		d->device = strdup(key);
		if (!d->device)
			return json_oom(p);
		size_t old = json_push_key(p, key);
		int r = 0;
		if (!YAJL_IS_OBJECT(v))
			r = json_fail(p, "must be an object");
		else if ((r = f_u32(p, v, "hcaHandles", &d->has_hca_handles, &d->hca_handles)) >= 0)
			r = f_u32(p, v, "hcaObjects", &d->has_hca_objects, &d->hca_objects);
		json_pop(p, old);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_unified(struct json_parser *p, yajl_val o, void *data)
{
	struct berth_resources *res = data;
	size_t n = o->u.object.len;
	res->unified = calloc(n ? n : 1, sizeof(*res->unified));
	if (!res->unified)
		return json_oom(p);
	for (size_t i = 0; i < n; i++) {
		const char *key = o->u.object.keys[i];
		yajl_val v = o->u.object.values[i];
		size_t old = json_push_key(p, key);
		int r = 0;
		if (!YAJL_IS_STRING(v))
			r = json_fail(p, "must be a string");
		else if (!*key || strchr(key, '/') || streq(key, ".") || streq(key, "..") ||
			 !strchr(key, '.'))
			r = json_fail(p, "not a cgroup interface file name");
		json_pop(p, old);
		if (r < 0)
			return r;
		res->unified[i].key = strdup(key);
		res->unified[i].value = strdup(v->u.string);
		res->n_unified = i + 1;
		if (!res->unified[i].key || !res->unified[i].value)
			return json_oom(p);
	}
	return 0;
}

static int parse_pids(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_resources *res = data;
	int r = f_i64(p, v, "limit", &res->pids.has_limit, &res->pids.limit);
	res->pids.has_limit &= res->pids.limit != 0;
	return r;
}

static int parse_network(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_resources *res = data;
	int r = f_u32(p, v, "classID", &res->network.has_class_id, &res->network.class_id);
	if (r >= 0)
		r = json_field_array(p, v, "priorities", sizeof(*res->network.priorities),
				     conv_netprio, (void **)&res->network.priorities,
				     &res->network.n_priorities);
	return r;
}

static int parse_root(struct json_parser *p, yajl_val root, struct berth_resources *res)
{
	int r;
	if ((r = json_field_array(p, root, "devices", sizeof(*res->devices), conv_device,
				  (void **)&res->devices, &res->n_devices)) < 0)
		return r;
	res->has_devices = r > 0;
	if ((r = json_field_object(p, root, "memory", parse_memory, res)) < 0 ||
	    (r = json_field_object(p, root, "cpu", parse_cpu, res)) < 0 ||
	    (r = json_field_object(p, root, "pids", parse_pids, res)) < 0 ||
	    (r = json_field_object(p, root, "blockIO", parse_block_io, res)) < 0 ||
	    (r = json_field_array(p, root, "hugepageLimits", sizeof(*res->hugepages), conv_hugepage,
				  (void **)&res->hugepages, &res->n_hugepages)) < 0 ||
	    (r = json_field_object(p, root, "rdma", parse_rdma, res)) < 0 ||
	    (r = json_field_object(p, root, "network", parse_network, res)) < 0 ||
	    (r = json_field_object(p, root, "unified", parse_unified, res)) < 0)
		return r;
	return 0;
}

int resources_parse(const char *text, size_t len, const char *what, struct berth_resources **ret,
		    struct berth_error **err)
{
	struct json_parser p;
	json_parser_init(&p, NULL, what ? what : "resources", err);
	_cleanup_(resources_freep) struct berth_resources *res = calloc(1, sizeof(*res));
	if (!res)
		return json_oom(&p);
	if (!text || len == 0) {
		*ret = TAKE_PTR(res);
		return 0;
	}
	/* the limits and checks of config.json: depth, NUL, lone surrogates */
	yajl_val root = NULL;
	int r = json_parse(&p, text, len, &root);
	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(root))
		r = json_fail(&p, "must be an object");
	else
		r = parse_root(&p, root, res);
	yajl_tree_free(root);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(res);
	return 0;
}

void resources_free(struct berth_resources *r)
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

uint64_t blkio_to_io_weight(uint64_t w)
{
	if (w < 10)
		w = 10;
	if (w > 1000)
		w = 1000;
	return 1 + (w - 10) * 9999 / 990;
}

uint64_t cpu_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

const char *resources_first_limit(const struct berth_resources *res)
{
	if (!res)
		return NULL;
	const typeof(res->memory) *m = &res->memory;
	if (m->has_limit || m->has_reservation || m->has_swap || m->has_kernel ||
	    m->has_kernel_tcp || m->has_swappiness || m->has_disable_oom_killer)
		return "memory";
	const typeof(res->cpu) *c = &res->cpu;
	if (c->has_shares || c->has_quota || c->has_burst || c->has_period ||
	    c->has_realtime_runtime || c->has_realtime_period || c->has_idle || c->cpus || c->mems)
		return "cpu";
	if (res->pids.has_limit)
		return "pids";
	const typeof(res->block_io) *b = &res->block_io;
	bool throttle = false;
	for (size_t i = 0; i < ELEMENTSOF(b->n_throttle); i++)
		throttle = throttle || b->n_throttle[i] > 0;
	if (b->has_weight || b->has_leaf_weight || b->n_weight_device || throttle)
		return "blockIO";
	if (res->n_hugepages)
		return "hugepageLimits";
	if (res->n_rdma)
		return "rdma";
	if (res->network.has_class_id || res->network.n_priorities)
		return "network";
	if (res->n_unified)
		return "unified";
	return NULL;
}
