/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config.json -> struct berth_spec: yajl tree parse, type checks that name the
 * JSON path, and name -> number resolution (capabilities, rlimits, scheduler,
 * I/O priority, personality). Runs in the parent before anything is created.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "spec.h"
#include "util/fd.h"
#include "util/macro.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SCHED_BATCH
#define SCHED_BATCH 3
#endif
#ifndef SCHED_ISO
#define SCHED_ISO 4
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

/* Deeper JSON is refused up front: yajl frees trees recursively, and so do we. */
#define JSON_MAX_DEPTH BERTH_JSON_MAX_DEPTH
#define PATH_MAX_LEN   512

/* ---- JSON path bookkeeping and errors ---- */

struct parser {
	char path[PATH_MAX_LEN];
	size_t len;
	struct berth_error **err;
};

_printf_(2, 3) static size_t path_push(struct parser *p, const char *fmt, ...)
{
	size_t old = p->len;
	va_list ap;

	va_start(ap, fmt);
	/* the analyzer loses track of va_start through the format attribute */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	int k = vsnprintf(p->path + p->len, sizeof(p->path) - p->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		p->len = MIN(p->len + (size_t)k, sizeof(p->path) - 1);
	return old;
}

static size_t path_push_key(struct parser *p, const char *key)
{
	return p->len == 0 ? path_push(p, "%s", key) : path_push(p, ".%s", key);
}

static void path_pop(struct parser *p, size_t old)
{
	p->len = old;
	p->path[old] = 0;
}

static int oom(struct parser *p)
{
	int r = berth_error_set(p->err, ENOMEM, "config.json");
	return r < 0 ? r : -ENOMEM;
}

/* "config.json: <path>: <message>", always EINVAL. */
_printf_(2, 3) static int fail(struct parser *p, const char *fmt, ...)
{
	_cleanup_free_ char *m = NULL;
	va_list ap;

	va_start(ap, fmt);
	int k = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (k < 0)
		return oom(p);
	if (p->len == 0)
		k = berth_error_setx(p->err, EINVAL, "config.json: %s", m);
	else
		k = berth_error_setx(p->err, EINVAL, "config.json: %s: %s", p->path, m);
	return k < 0 ? k : -EINVAL; /* callers rely on < 0 */
}

/* The value of key in obj; NULL when absent or JSON null (treated alike, as Go runtimes do). */
static yajl_val obj_get(yajl_val obj, const char *key)
{
	yajl_val found = NULL;

	for (size_t i = 0; i < obj->u.object.len; i++)
		if (streq(obj->u.object.keys[i], key))
			found = obj->u.object.values[i]; /* the last duplicate wins */
	if (found && YAJL_IS_NULL(found))
		return NULL;
	return found;
}

/* ---- scalar conversions of the value at the current path ---- */

static int conv_string(struct parser *p, yajl_val v, char **ret)
{
	if (!YAJL_IS_STRING(v))
		return fail(p, "must be a string");
	char *s = strdup(v->u.string);
	if (!s)
		return oom(p);
	free(*ret);
	*ret = s;
	return 1;
}

static int conv_bool(struct parser *p, yajl_val v, bool *ret)
{
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
		return fail(p, "must be a boolean");
	*ret = YAJL_IS_TRUE(v);
	return 1;
}

/* The number's own text, if it is written as an integer (no fraction, no exponent). */
static const char *integer_text(yajl_val v)
{
	if (!YAJL_IS_NUMBER(v) || !v->u.number.r)
		return NULL;
	const char *t = v->u.number.r;
	if (strpbrk(t, ".eE"))
		return NULL;
	return t;
}

static int conv_u64(struct parser *p, yajl_val v, uint64_t max, const char *what, uint64_t *ret)
{
	const char *t = integer_text(v);
	if (!t || t[0] == '-')
		return fail(p, "must be %s", what);
	char *end = NULL;
	errno = 0;
	unsigned long long x = strtoull(t, &end, 10);
	if (errno != 0 || !end || *end != 0 || end == t || x > max)
		return fail(p, "must be %s", what);
	*ret = x;
	return 1;
}

static int conv_i64(struct parser *p, yajl_val v, int64_t min, int64_t max, const char *what,
		    int64_t *ret)
{
	const char *t = integer_text(v);
	if (!t)
		return fail(p, "must be %s", what);
	char *end = NULL;
	errno = 0;
	long long x = strtoll(t, &end, 10);
	if (errno != 0 || !end || *end != 0 || end == t || x < min || x > max)
		return fail(p, "must be %s", what);
	*ret = x;
	return 1;
}

static int conv_u32(struct parser *p, yajl_val v, uint32_t *ret)
{
	uint64_t x = 0;
	int r = conv_u64(p, v, UINT32_MAX, "an unsigned 32-bit integer", &x);
	if (r > 0)
		*ret = (uint32_t)x;
	return r;
}

static int conv_i32(struct parser *p, yajl_val v, int32_t *ret)
{
	int64_t x = 0;
	int r = conv_i64(p, v, INT32_MIN, INT32_MAX, "a 32-bit integer", &x);
	if (r > 0)
		*ret = (int32_t)x;
	return r;
}

/* A NULL-terminated copy of an array of strings; *ret_n is its length. */
static int conv_strv(struct parser *p, yajl_val v, char ***ret, size_t *ret_n)
{
	if (!YAJL_IS_ARRAY(v))
		return fail(p, "must be an array of strings");
	size_t n = v->u.array.len;
	for (size_t i = 0; i < n; i++)
		if (!YAJL_IS_STRING(v->u.array.values[i]))
			return fail(p, "must be an array of strings");

	char **l = calloc(n + 1, sizeof(char *));
	if (!l)
		return oom(p);
	for (size_t i = 0; i < n; i++) {
		l[i] = strdup(v->u.array.values[i]->u.string);
		if (!l[i]) {
			strv_free(l);
			return oom(p);
		}
	}
	strv_free(*ret);
	*ret = l;
	*ret_n = n;
	return 1;
}

/*
 * An array of structs: calloc()s the array, then fills it element by element.
 * *ret_n counts every element touched so far, so that a failure in the middle of
 * an element still lets the caller's destructor free what that element holds.
 */
typedef int (*elem_fn)(struct parser *p, yajl_val v, void *elem);

static int conv_array(struct parser *p, yajl_val v, size_t size, elem_fn fn, void **ret,
		      size_t *ret_n)
{
	if (!YAJL_IS_ARRAY(v))
		return fail(p, "must be an array");
	size_t n = v->u.array.len;
	char *arr = calloc(n ? n : 1, size);
	if (!arr)
		return oom(p);
	*ret = arr;
	*ret_n = 0;
	for (size_t i = 0; i < n; i++) {
		size_t old = path_push(p, "[%zu]", i);
		*ret_n = i + 1;
		int r = fn(p, v->u.array.values[i], arr + i * size);
		path_pop(p, old);
		if (r < 0)
			return r;
	}
	return 1;
}

/* A JSON object of strings -> array of key/value pairs. */
static int conv_kv(struct parser *p, yajl_val v, struct berth_kv **ret, size_t *ret_n)
{
	if (!YAJL_IS_OBJECT(v))
		return fail(p, "must be an object");
	size_t n = v->u.object.len;
	struct berth_kv *kv = calloc(n ? n : 1, sizeof(*kv));
	if (!kv)
		return oom(p);
	*ret = kv;
	*ret_n = 0;
	for (size_t i = 0; i < n; i++) {
		yajl_val val = v->u.object.values[i];
		if (!YAJL_IS_STRING(val)) {
			size_t old = path_push(p, "[\"%s\"]", v->u.object.keys[i]);
			int r = fail(p, "must be a string");
			path_pop(p, old);
			return r;
		}
		*ret_n = i + 1;
		kv[i].key = strdup(v->u.object.keys[i]);
		kv[i].value = strdup(val->u.string);
		if (!kv[i].key || !kv[i].value)
			return oom(p);
	}
	return 1;
}

/* ---- re-serialising opaque sections ---- */

/*
 * Our own writer, not yajl_gen: that refuses anything nested deeper than 128
 * levels, and the scan already allows JSON_MAX_DEPTH, bounding the recursion.
 */
static void put_string(FILE *f, const char *str)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)str; *c; c++) {
		switch (*c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*c < 0x20)
				fprintf(f, "\\u%04x", *c);
			else
				fputc(*c, f);
		}
	}
	fputc('"', f);
}

static bool put_value(FILE *f, yajl_val v)
{
	bool ok = true;

	switch (v->type) {
	case yajl_t_string:
		put_string(f, v->u.string);
		return true;
	case yajl_t_number:
		/* the original text, so that values beyond int64 stay exact */
		fputs(v->u.number.r, f);
		return true;
	case yajl_t_true:
		fputs("true", f);
		return true;
	case yajl_t_false:
		fputs("false", f);
		return true;
	case yajl_t_null:
		fputs("null", f);
		return true;
	case yajl_t_object:
		fputc('{', f);
		for (size_t i = 0; ok && i < v->u.object.len; i++) {
			if (i > 0)
				fputc(',', f);
			put_string(f, v->u.object.keys[i]);
			fputc(':', f);
			ok = put_value(f, v->u.object.values[i]);
		}
		fputc('}', f);
		return ok;
	case yajl_t_array:
		fputc('[', f);
		for (size_t i = 0; ok && i < v->u.array.len; i++) {
			if (i > 0)
				fputc(',', f);
			ok = put_value(f, v->u.array.values[i]);
		}
		fputc(']', f);
		return ok;
	default:
		return false;
	}
}

static int conv_raw_object(struct parser *p, yajl_val v, struct berth_raw_json *ret)
{
	if (!YAJL_IS_OBJECT(v))
		return fail(p, "must be an object");

	char *t = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&t, &len);
	if (!f)
		return oom(p);
	bool ok = put_value(f, v);
	/* a failed allocation inside the stream only shows in its error flag */
	bool written = !ferror(f);
	if (fclose(f) != 0 || !written || !t) {
		free(t);
		return oom(p);
	}
	if (!ok) {
		free(t);
		return fail(p, "cannot be re-serialised");
	}
	free(ret->text);
	ret->text = t;
	return 1;
}

/* ---- field helpers: look up key in obj, convert it under "<path>.<key>" ---- */

#define FIELD(p, obj, key, call)                                 \
	({                                                       \
		yajl_val _v = obj_get((obj), (key));             \
		int _r = 0;                                      \
		if (_v) {                                        \
			size_t _old = path_push_key((p), (key)); \
			yajl_val v = _v;                         \
			_r = (call);                             \
			path_pop((p), _old);                     \
		}                                                \
		_r;                                              \
	})

/* Returns 1 if key was present and converted, 0 if absent, <0 on error. */
static int field_string(struct parser *p, yajl_val obj, const char *key, char **ret)
{
	return FIELD(p, obj, key, conv_string(p, v, ret));
}

static int field_bool(struct parser *p, yajl_val obj, const char *key, bool *ret)
{
	return FIELD(p, obj, key, conv_bool(p, v, ret));
}

static int field_u32(struct parser *p, yajl_val obj, const char *key, uint32_t *ret)
{
	return FIELD(p, obj, key, conv_u32(p, v, ret));
}

static int field_i32(struct parser *p, yajl_val obj, const char *key, int32_t *ret)
{
	return FIELD(p, obj, key, conv_i32(p, v, ret));
}

static int field_u64(struct parser *p, yajl_val obj, const char *key, uint64_t *ret)
{
	return FIELD(p, obj, key, conv_u64(p, v, UINT64_MAX, "an unsigned 64-bit integer", ret));
}

static int field_i64(struct parser *p, yajl_val obj, const char *key, int64_t *ret)
{
	return FIELD(p, obj, key, conv_i64(p, v, INT64_MIN, INT64_MAX, "a 64-bit integer", ret));
}

static int field_strv(struct parser *p, yajl_val obj, const char *key, char ***ret, size_t *ret_n)
{
	return FIELD(p, obj, key, conv_strv(p, v, ret, ret_n));
}

static int field_array(struct parser *p, yajl_val obj, const char *key, size_t size, elem_fn fn,
		       void **ret, size_t *ret_n)
{
	return FIELD(p, obj, key, conv_array(p, v, size, fn, ret, ret_n));
}

static int field_kv(struct parser *p, yajl_val obj, const char *key, struct berth_kv **ret,
		    size_t *ret_n)
{
	return FIELD(p, obj, key, conv_kv(p, v, ret, ret_n));
}

static int field_raw(struct parser *p, yajl_val obj, const char *key, struct berth_raw_json *ret)
{
	return FIELD(p, obj, key, conv_raw_object(p, v, ret));
}

typedef int (*object_fn)(struct parser *p, yajl_val obj, void *data);

static int conv_object(struct parser *p, yajl_val v, object_fn fn, void *data)
{
	if (!YAJL_IS_OBJECT(v))
		return fail(p, "must be an object");
	int r = fn(p, v, data);
	return r < 0 ? r : 1;
}

static int field_object(struct parser *p, yajl_val obj, const char *key, object_fn fn, void *data)
{
	return FIELD(p, obj, key, conv_object(p, v, fn, data));
}

/* A field the struct cannot mark as absent. */
static int require(struct parser *p, int r, const char *key)
{
	if (r != 0)
		return r;
	size_t old = path_push_key(p, key);
	r = fail(p, "is required");
	path_pop(p, old);
	return r;
}

/* ---- name tables ---- */

struct name_value {
	const char *name;
	int value;
};

static const struct name_value rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

static const struct name_value sched_policy_names[] = {
	{ "SCHED_OTHER", SCHED_OTHER },
	{ "SCHED_FIFO", SCHED_FIFO },
	{ "SCHED_RR", SCHED_RR },
	{ "SCHED_BATCH", SCHED_BATCH },
	{ "SCHED_ISO", SCHED_ISO },
	{ "SCHED_IDLE", SCHED_IDLE },
	{ "SCHED_DEADLINE", SCHED_DEADLINE },
};

/* Values of the kernel's sched_attr.sched_flags (include/uapi/linux/sched.h). */
static const struct name_value sched_flag_names[] = {
	{ "SCHED_FLAG_RESET_ON_FORK", 0x01 },  { "SCHED_FLAG_RECLAIM", 0x02 },
	{ "SCHED_FLAG_DL_OVERRUN", 0x04 },     { "SCHED_FLAG_KEEP_POLICY", 0x08 },
	{ "SCHED_FLAG_KEEP_PARAMS", 0x10 },    { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
	{ "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
};

static const struct name_value ioprio_class_names[] = {
	{ "IOPRIO_CLASS_RT", 1 },
	{ "IOPRIO_CLASS_BE", 2 },
	{ "IOPRIO_CLASS_IDLE", 3 },
};

static const struct name_value personality_names[] = {
	{ "LINUX", PER_LINUX },
	{ "LINUX32", PER_LINUX32 },
};

/* linux.memoryPolicy: the names config-linux.md lists, with the kernel's values. */
static const struct name_value mpol_mode_names[] = {
	{ "MPOL_DEFAULT", BERTH_MPOL_DEFAULT },
	{ "MPOL_BIND", BERTH_MPOL_BIND },
	{ "MPOL_INTERLEAVE", BERTH_MPOL_INTERLEAVE },
	{ "MPOL_WEIGHTED_INTERLEAVE", BERTH_MPOL_WEIGHTED_INTERLEAVE },
	{ "MPOL_PREFERRED", BERTH_MPOL_PREFERRED },
	{ "MPOL_PREFERRED_MANY", BERTH_MPOL_PREFERRED_MANY },
	{ "MPOL_LOCAL", BERTH_MPOL_LOCAL },
};

static const struct name_value mpol_flag_names[] = {
	{ "MPOL_F_NUMA_BALANCING", (int)BERTH_MPOL_F_NUMA_BALANCING },
	{ "MPOL_F_RELATIVE_NODES", (int)BERTH_MPOL_F_RELATIVE_NODES },
	{ "MPOL_F_STATIC_NODES", (int)BERTH_MPOL_F_STATIC_NODES },
};

static int lookup(const struct name_value *t, size_t n, const char *name, int *ret)
{
	for (size_t i = 0; i < n; i++)
		if (streq(t[i].name, name)) {
			*ret = t[i].value;
			return 0;
		}
	return -EINVAL;
}

static const char *const ns_names[_BERTH_NS_MAX] = {
	[BERTH_NS_PID] = "pid",	      [BERTH_NS_NET] = "network", [BERTH_NS_MNT] = "mount",
	[BERTH_NS_IPC] = "ipc",	      [BERTH_NS_UTS] = "uts",	  [BERTH_NS_USER] = "user",
	[BERTH_NS_CGROUP] = "cgroup", [BERTH_NS_TIME] = "time",
};

static const unsigned long ns_flags[_BERTH_NS_MAX] = {
	[BERTH_NS_PID] = CLONE_NEWPID,	     [BERTH_NS_NET] = CLONE_NEWNET,
	[BERTH_NS_MNT] = CLONE_NEWNS,	     [BERTH_NS_IPC] = CLONE_NEWIPC,
	[BERTH_NS_UTS] = CLONE_NEWUTS,	     [BERTH_NS_USER] = CLONE_NEWUSER,
	[BERTH_NS_CGROUP] = CLONE_NEWCGROUP, [BERTH_NS_TIME] = CLONE_NEWTIME,
};

static const char *const hook_names[_BERTH_HOOK_MAX] = {
	[BERTH_HOOK_PRESTART] = "prestart",
	[BERTH_HOOK_CREATE_RUNTIME] = "createRuntime",
	[BERTH_HOOK_CREATE_CONTAINER] = "createContainer",
	[BERTH_HOOK_START_CONTAINER] = "startContainer",
	[BERTH_HOOK_POSTSTART] = "poststart",
	[BERTH_HOOK_POSTSTOP] = "poststop",
};

const char *berth_ns_type_name(enum berth_ns_type t)
{
	if ((unsigned)t >= _BERTH_NS_MAX)
		return NULL;
	return ns_names[t];
}

int berth_ns_type_from_name(const char *name)
{
	if (!name)
		return -EINVAL;
	for (int i = 0; i < _BERTH_NS_MAX; i++)
		if (streq(ns_names[i], name))
			return i;
	return -EINVAL;
}

unsigned long berth_ns_clone_flag(enum berth_ns_type t)
{
	if ((unsigned)t >= _BERTH_NS_MAX)
		return 0;
	return ns_flags[t];
}

const char *berth_hook_kind_name(enum berth_hook_kind k)
{
	if ((unsigned)k >= _BERTH_HOOK_MAX)
		return NULL;
	return hook_names[k];
}

const struct berth_namespace *berth_spec_find_ns(const struct berth_spec *s, enum berth_ns_type t)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->linux_.n_namespaces; i++)
		if (s->linux_.namespaces[i].type == t)
			return &s->linux_.namespaces[i];
	return NULL;
}

const char *berth_spec_annotation(const struct berth_spec *s, const char *key)
{
	if (!s || !key)
		return NULL;
	for (size_t i = 0; i < s->n_annotations; i++)
		if (streq(s->annotations[i].key, key))
			return s->annotations[i].value;
	return NULL;
}

/* ---- the sections ---- */

static int parse_id_mapping(struct parser *p, yajl_val v, void *elem)
{
	struct berth_id_mapping *m = elem;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return fail(p, "must be an object");
	r = require(p, field_u32(p, v, "containerID", &m->container_id), "containerID");
	if (r < 0)
		return r;
	r = require(p, field_u32(p, v, "hostID", &m->host_id), "hostID");
	if (r < 0)
		return r;
	return require(p, field_u32(p, v, "size", &m->size), "size");
}

static int parse_mount(struct parser *p, yajl_val v, void *elem)
{
	struct berth_mount *m = elem;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return fail(p, "must be an object");
	if ((r = field_string(p, v, "destination", &m->destination)) < 0 ||
	    (r = field_string(p, v, "source", &m->source)) < 0 ||
	    (r = field_string(p, v, "type", &m->type)) < 0 ||
	    (r = field_strv(p, v, "options", &m->options, &m->n_options)) < 0 ||
	    (r = field_array(p, v, "uidMappings", sizeof(struct berth_id_mapping), parse_id_mapping,
			     (void **)&m->uid_mappings, &m->n_uid_mappings)) < 0 ||
	    (r = field_array(p, v, "gidMappings", sizeof(struct berth_id_mapping), parse_id_mapping,
			     (void **)&m->gid_mappings, &m->n_gid_mappings)) < 0)
		return r;
	return 0;
}

static int parse_root(struct parser *p, yajl_val v, void *data)
{
	struct berth_spec *s = data;
	int r;

	if ((r = field_string(p, v, "path", &s->root_path)) < 0 ||
	    (r = field_bool(p, v, "readonly", &s->root_readonly)) < 0)
		return r;
	return 0;
}

static int parse_console_size(struct parser *p, yajl_val v, void *data)
{
	struct berth_process *proc = data;
	int r;

	r = require(p, field_u32(p, v, "height", &proc->console_height), "height");
	if (r < 0)
		return r;
	r = require(p, field_u32(p, v, "width", &proc->console_width), "width");
	if (r < 0)
		return r;
	proc->has_console_size = true;
	return 0;
}

static int parse_u32_elem(struct parser *p, yajl_val v, void *elem)
{
	return conv_u32(p, v, elem);
}

static int parse_user(struct parser *p, yajl_val v, void *data)
{
	struct berth_user *u = data;
	int r;

	if ((r = field_u32(p, v, "uid", &u->uid)) < 0 || (r = field_u32(p, v, "gid", &u->gid)) < 0)
		return r;
	r = field_u32(p, v, "umask", &u->umask);
	if (r < 0)
		return r;
	u->has_umask = r > 0;
	r = field_array(p, v, "additionalGids", sizeof(uint32_t), parse_u32_elem,
			(void **)&u->additional_gids, &u->n_additional_gids);
	return r < 0 ? r : 0;
}

/* A capability name list -> bit mask. Only "CAP_*" names libcap knows are accepted. */
static int conv_caps(struct parser *p, yajl_val v, uint64_t *ret)
{
	uint64_t mask = 0;

	if (!YAJL_IS_ARRAY(v))
		return fail(p, "must be an array of strings");
	for (size_t i = 0; i < v->u.array.len; i++) {
		yajl_val e = v->u.array.values[i];
		size_t old = path_push(p, "[%zu]", i);
		int r = 0;
		cap_value_t c;

		if (!YAJL_IS_STRING(e))
			r = fail(p, "must be a string");
		else if (strncmp(e->u.string, "CAP_", 4) != 0 ||
			 cap_from_name(e->u.string, &c) < 0 || c < 0 || c >= 64)
			r = fail(p, "unknown capability \"%s\"", e->u.string);
		else
			mask |= UINT64_C(1) << c;
		path_pop(p, old);
		if (r < 0)
			return r;
	}
	*ret = mask;
	return 1;
}

static int parse_caps(struct parser *p, yajl_val o, void *data)
{
	struct berth_caps *c = data;
	int r;

#define CAPSET(key, field)                                        \
	do {                                                      \
		r = FIELD(p, o, key, conv_caps(p, v, &c->field)); \
		if (r < 0)                                        \
			return r;                                 \
		c->has_##field = r > 0;                           \
	} while (0)
	CAPSET("bounding", bounding);
	CAPSET("effective", effective);
	CAPSET("inheritable", inheritable);
	CAPSET("permitted", permitted);
	CAPSET("ambient", ambient);
#undef CAPSET
	return 0;
}

static int parse_rlimit(struct parser *p, yajl_val v, void *elem)
{
	struct berth_rlimit *rl = elem;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return fail(p, "must be an object");
	r = require(p, field_string(p, v, "type", &rl->type), "type");
	if (r < 0)
		return r;
	if (lookup(rlimit_names, ELEMENTSOF(rlimit_names), rl->type, &rl->resource) < 0) {
		size_t old = path_push_key(p, "type");
		r = fail(p, "unknown rlimit \"%s\"", rl->type);
		path_pop(p, old);
		return r;
	}
	r = require(p, field_u64(p, v, "soft", &rl->soft), "soft");
	if (r < 0)
		return r;
	return require(p, field_u64(p, v, "hard", &rl->hard), "hard");
}

/* Resolve the string just stored under key through a name table. */
static int resolve_name(struct parser *p, const char *key, const char *what,
			const struct name_value *t, size_t n, const char *name, int *ret)
{
	if (!name || lookup(t, n, name, ret) >= 0)
		return 0;
	size_t old = path_push_key(p, key);
	int r = fail(p, "unknown %s \"%s\"", what, name);
	path_pop(p, old);
	return r;
}

static int parse_scheduler(struct parser *p, yajl_val v, void *data)
{
	struct berth_scheduler *sc = data;
	_cleanup_strv_free_ char **flags = NULL;
	size_t n_flags = 0;
	int r;

	sc->set = true;
	if ((r = field_string(p, v, "policy", &sc->policy)) < 0 ||
	    (r = resolve_name(p, "policy", "scheduler policy", sched_policy_names,
			      ELEMENTSOF(sched_policy_names), sc->policy, &sc->policy_value)) < 0)
		return r;
	if ((r = field_i32(p, v, "nice", &sc->nice)) < 0)
		return r;
	sc->has_nice = r > 0;
	if ((r = field_i32(p, v, "priority", &sc->priority)) < 0)
		return r;
	sc->has_priority = r > 0;
	if ((r = field_u64(p, v, "runtime", &sc->runtime)) < 0)
		return r;
	sc->has_runtime = r > 0;
	if ((r = field_u64(p, v, "deadline", &sc->deadline)) < 0)
		return r;
	sc->has_deadline = r > 0;
	if ((r = field_u64(p, v, "period", &sc->period)) < 0)
		return r;
	sc->has_period = r > 0;

	if ((r = field_strv(p, v, "flags", &flags, &n_flags)) < 0)
		return r;
	for (size_t i = 0; i < n_flags; i++) {
		int bit;
		if (lookup(sched_flag_names, ELEMENTSOF(sched_flag_names), flags[i], &bit) < 0) {
			size_t old = path_push(p, ".flags[%zu]", i);
			r = fail(p, "unknown scheduler flag \"%s\"", flags[i]);
			path_pop(p, old);
			return r;
		}
		sc->flags |= (uint32_t)bit;
	}
	return 0;
}

static int parse_io_priority(struct parser *p, yajl_val v, void *data)
{
	struct berth_io_priority *io = data;
	int32_t prio = 0;
	int r;

	io->set = true;
	if ((r = field_string(p, v, "class", &io->class)) < 0 ||
	    (r = resolve_name(p, "class", "I/O priority class", ioprio_class_names,
			      ELEMENTSOF(ioprio_class_names), io->class, &io->class_value)) < 0 ||
	    (r = field_i32(p, v, "priority", &prio)) < 0)
		return r;
	io->priority = prio;
	return 0;
}

static int parse_process(struct parser *p, yajl_val v, void *data)
{
	struct berth_process *proc = data;
	int32_t oom_adj = 0;
	int r;

	if ((r = field_bool(p, v, "terminal", &proc->terminal)) < 0 ||
	    (r = field_object(p, v, "consoleSize", parse_console_size, proc)) < 0 ||
	    (r = field_string(p, v, "cwd", &proc->cwd)) < 0 ||
	    (r = field_strv(p, v, "args", &proc->args, &proc->n_args)) < 0 ||
	    (r = field_strv(p, v, "env", &proc->env, &proc->n_env)) < 0 ||
	    (r = field_object(p, v, "user", parse_user, &proc->user)) < 0 ||
	    (r = field_object(p, v, "capabilities", parse_caps, &proc->caps)) < 0 ||
	    (r = field_array(p, v, "rlimits", sizeof(struct berth_rlimit), parse_rlimit,
			     (void **)&proc->rlimits, &proc->n_rlimits)) < 0 ||
	    (r = field_bool(p, v, "noNewPrivileges", &proc->no_new_privileges)) < 0 ||
	    (r = field_string(p, v, "apparmorProfile", &proc->apparmor_profile)) < 0 ||
	    (r = field_string(p, v, "selinuxLabel", &proc->selinux_label)) < 0)
		return r;
	if ((r = field_i32(p, v, "oomScoreAdj", &oom_adj)) < 0)
		return r;
	proc->has_oom_score_adj = r > 0;
	proc->oom_score_adj = oom_adj;
	if ((r = field_object(p, v, "scheduler", parse_scheduler, &proc->scheduler)) < 0 ||
	    (r = field_object(p, v, "ioPriority", parse_io_priority, &proc->io_priority)) < 0)
		return r;

	/* An empty env still gets a NULL-terminated array: it goes straight to execve(). */
	if (!proc->env) {
		proc->env = calloc(1, sizeof(char *));
		if (!proc->env)
			return oom(p);
	}
	return 0;
}

static int parse_hook(struct parser *p, yajl_val v, void *elem)
{
	struct berth_hook *h = elem;
	int32_t timeout = 0;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return fail(p, "must be an object");
	if ((r = field_string(p, v, "path", &h->path)) < 0 ||
	    (r = field_strv(p, v, "args", &h->args, &h->n_args)) < 0 ||
	    (r = field_strv(p, v, "env", &h->env, &h->n_env)) < 0 ||
	    (r = field_i32(p, v, "timeout", &timeout)) < 0)
		return r;
	h->has_timeout = r > 0;
	h->timeout = timeout;
	return 0;
}

static int parse_hooks(struct parser *p, yajl_val v, void *data)
{
	struct berth_hooks *hooks = data;

	for (int k = 0; k < _BERTH_HOOK_MAX; k++) {
		int r = field_array(p, v, hook_names[k], sizeof(struct berth_hook), parse_hook,
				    (void **)&hooks->list[k], &hooks->n[k]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_namespace(struct parser *p, yajl_val v, void *elem)
{
	struct berth_namespace *ns = elem;
	_cleanup_free_ char *type = NULL;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return fail(p, "must be an object");
	r = require(p, field_string(p, v, "type", &type), "type");
	if (r < 0)
		return r;
	r = berth_ns_type_from_name(type);
	if (r < 0) {
		size_t old = path_push_key(p, "type");
		r = fail(p, "unknown namespace \"%s\"", type);
		path_pop(p, old);
		return r;
	}
	ns->type = (enum berth_ns_type)r;
	if ((r = field_string(p, v, "path", &ns->path)) < 0)
		return r;
	/* Go runtimes write "" for "no path": create a new namespace. */
	if (ns->path && ns->path[0] == 0) {
		free(ns->path);
		ns->path = NULL;
	}
	return 0;
}

static int parse_time_offset(struct parser *p, yajl_val v, void *data)
{
	struct berth_time_offset *t = data;
	int r;

	t->set = true;
	if ((r = field_i64(p, v, "secs", &t->secs)) < 0 ||
	    (r = field_u32(p, v, "nanosecs", &t->nanosecs)) < 0)
		return r;
	return 0;
}

static int parse_time_offsets(struct parser *p, yajl_val v, void *data)
{
	struct berth_linux *l = data;
	int r;

	if ((r = field_object(p, v, "monotonic", parse_time_offset, &l->time_monotonic)) < 0 ||
	    (r = field_object(p, v, "boottime", parse_time_offset, &l->time_boottime)) < 0)
		return r;
	return 0;
}

static int parse_device(struct parser *p, yajl_val v, void *elem)
{
	struct berth_device *d = elem;
	_cleanup_free_ char *type = NULL;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return fail(p, "must be an object");
	r = require(p, field_string(p, v, "type", &type), "type");
	if (r < 0)
		return r;
	if (!type || strlen(type) != 1 || !strchr("cbup", type[0])) {
		size_t old = path_push_key(p, "type");
		r = fail(p, "unknown device type \"%s\"", type);
		path_pop(p, old);
		return r;
	}
	d->type = type[0];
	if ((r = field_string(p, v, "path", &d->path)) < 0)
		return r;

	/* The struct has no "absent" for these, so required-ness is checked here. */
	bool need = d->type != 'p';
	r = field_i64(p, v, "major", &d->major);
	if (r < 0 || (need && (r = require(p, r, "major")) < 0))
		return r;
	r = field_i64(p, v, "minor", &d->minor);
	if (r < 0 || (need && (r = require(p, r, "minor")) < 0))
		return r;

	if ((r = field_u32(p, v, "fileMode", &d->file_mode)) < 0)
		return r;
	d->has_file_mode = r > 0;
	if ((r = field_u32(p, v, "uid", &d->uid)) < 0)
		return r;
	d->has_uid = r > 0;
	if ((r = field_u32(p, v, "gid", &d->gid)) < 0)
		return r;
	d->has_gid = r > 0;
	return 0;
}

static int parse_personality(struct parser *p, yajl_val v, void *data)
{
	struct berth_personality *pers = data;
	_cleanup_strv_free_ char **flags = NULL;
	size_t n_flags = 0;
	int value = 0, r;

	r = require(p, field_string(p, v, "domain", &pers->domain), "domain");
	if (r < 0)
		return r;
	r = resolve_name(p, "domain", "personality domain", personality_names,
			 ELEMENTSOF(personality_names), pers->domain, &value);
	if (r < 0)
		return r;
	pers->value = (unsigned long)value;
	/* No flags are defined by the spec yet; only the type is checked. */
	if ((r = field_strv(p, v, "flags", &flags, &n_flags)) < 0)
		return r;
	pers->set = true;
	return 0;
}

/* One node number of a list: decimal digits only, below BERTH_NUMA_MAX_NODES. */
static int node_number(const char **s, unsigned *ret)
{
	const char *t = *s;
	unsigned v = 0;

	if (*t < '0' || *t > '9')
		return -EINVAL;
	for (; *t >= '0' && *t <= '9'; t++) {
		v = v * 10 + (unsigned)(*t - '0');
		if (v >= BERTH_NUMA_MAX_NODES)
			return -ERANGE;
	}
	*s = t;
	*ret = v;
	return 0;
}

int berth_node_list_parse(const char *s, uint64_t mask[BERTH_NUMA_MASK_WORDS])
{
	memset(mask, 0, BERTH_NUMA_MASK_WORDS * sizeof(uint64_t));
	if (!s)
		return 0;
	/* sysfs ends its lists with a newline */
	while (*s && *s != '\n') {
		unsigned lo, hi;
		int r = node_number(&s, &lo);
		if (r < 0)
			return r;
		hi = lo;
		if (*s == '-') {
			s++;
			r = node_number(&s, &hi);
			if (r < 0)
				return r;
			if (hi < lo)
				return -EINVAL;
		}
		for (unsigned n = lo; n <= hi; n++)
			mask[n / 64] |= UINT64_C(1) << (n % 64);
		if (*s != ',')
			break;
		s++;
		if (*s == 0 || *s == '\n')
			return -EINVAL; /* a trailing comma */
	}
	return *s == 0 || streq(s, "\n") ? 0 : -EINVAL;
}

size_t berth_memory_policy_names(bool flags, const char **ret, size_t max)
{
	const struct name_value *t = flags ? mpol_flag_names : mpol_mode_names;
	size_t n = flags ? ELEMENTSOF(mpol_flag_names) : ELEMENTSOF(mpol_mode_names);
	for (size_t i = 0; i < n && i < max; i++)
		ret[i] = t[i].name;
	return MIN(n, max);
}

static int parse_memory_policy(struct parser *p, yajl_val v, void *data)
{
	struct berth_memory_policy *mp = data;
	int r;

	mp->set = true;
	r = require(p, field_string(p, v, "mode", &mp->mode), "mode");
	if (r < 0)
		return r;
	r = resolve_name(p, "mode", "memory policy mode", mpol_mode_names,
			 ELEMENTSOF(mpol_mode_names), mp->mode, &mp->mode_value);
	if (r < 0)
		return r;

	/* required by the spec, but absent and "" mean the same: no nodes */
	if ((r = field_string(p, v, "nodes", &mp->nodes)) < 0)
		return r;
	r = berth_node_list_parse(mp->nodes, mp->nodemask);
	if (r < 0) {
		size_t old = path_push_key(p, "nodes");
		if (r == -ERANGE)
			r = fail(p, "\"%s\" names a node above %d", mp->nodes,
				 BERTH_NUMA_MAX_NODES - 1);
		else
			r = fail(p,
				 "\"%s\" must be a list of node numbers and ranges, "
				 "such as \"0-3,7\"",
				 mp->nodes);
		path_pop(p, old);
		return r;
	}
	for (size_t i = 0; i < BERTH_NUMA_MASK_WORDS; i++)
		mp->has_nodes = mp->has_nodes || mp->nodemask[i] != 0;

	if ((r = field_strv(p, v, "flags", &mp->flags, &mp->n_flags)) < 0)
		return r;
	for (size_t i = 0; i < mp->n_flags; i++) {
		int bit;
		if (lookup(mpol_flag_names, ELEMENTSOF(mpol_flag_names), mp->flags[i], &bit) < 0) {
			size_t old = path_push(p, ".flags[%zu]", i);
			r = fail(p, "unknown memory policy flag \"%s\"", mp->flags[i]);
			path_pop(p, old);
			return r;
		}
		mp->flags_value |= (unsigned)bit;
	}
	return 0;
}

static int parse_linux(struct parser *p, yajl_val v, void *data)
{
	struct berth_linux *l = data;
	int r;

	if ((r = field_array(p, v, "namespaces", sizeof(struct berth_namespace), parse_namespace,
			     (void **)&l->namespaces, &l->n_namespaces)) < 0 ||
	    (r = field_array(p, v, "uidMappings", sizeof(struct berth_id_mapping), parse_id_mapping,
			     (void **)&l->uid_mappings, &l->n_uid_mappings)) < 0 ||
	    (r = field_array(p, v, "gidMappings", sizeof(struct berth_id_mapping), parse_id_mapping,
			     (void **)&l->gid_mappings, &l->n_gid_mappings)) < 0 ||
	    (r = field_object(p, v, "timeOffsets", parse_time_offsets, l)) < 0 ||
	    (r = field_array(p, v, "devices", sizeof(struct berth_device), parse_device,
			     (void **)&l->devices, &l->n_devices)) < 0 ||
	    (r = field_string(p, v, "cgroupsPath", &l->cgroups_path)) < 0 ||
	    (r = field_string(p, v, "rootfsPropagation", &l->rootfs_propagation)) < 0 ||
	    (r = field_strv(p, v, "maskedPaths", &l->masked_paths, &l->n_masked_paths)) < 0 ||
	    (r = field_strv(p, v, "readonlyPaths", &l->readonly_paths, &l->n_readonly_paths)) < 0 ||
	    (r = field_string(p, v, "mountLabel", &l->mount_label)) < 0 ||
	    (r = field_kv(p, v, "sysctl", &l->sysctl, &l->n_sysctl)) < 0 ||
	    (r = field_object(p, v, "personality", parse_personality, &l->personality)) < 0 ||
	    (r = field_object(p, v, "memoryPolicy", parse_memory_policy, &l->memory_policy)) < 0 ||
	    (r = field_raw(p, v, "resources", &l->resources)) < 0 ||
	    (r = field_raw(p, v, "seccomp", &l->seccomp)) < 0 ||
	    (r = field_raw(p, v, "netDevices", &l->net_devices)) < 0 ||
	    (r = field_raw(p, v, "intelRdt", &l->intel_rdt)) < 0)
		return r;
	return 0;
}

static int parse_top(struct parser *p, yajl_val v, struct berth_spec *s)
{
	int r;

	if ((r = field_string(p, v, "ociVersion", &s->oci_version)) < 0 ||
	    (r = field_object(p, v, "root", parse_root, s)) < 0 ||
	    (r = field_array(p, v, "mounts", sizeof(struct berth_mount), parse_mount,
			     (void **)&s->mounts, &s->n_mounts)) < 0)
		return r;
	if ((r = field_object(p, v, "process", parse_process, &s->process)) < 0)
		return r;
	s->has_process = r > 0;
	if ((r = field_string(p, v, "hostname", &s->hostname)) < 0 ||
	    (r = field_string(p, v, "domainname", &s->domainname)) < 0 ||
	    (r = field_object(p, v, "hooks", parse_hooks, &s->hooks)) < 0 ||
	    (r = field_kv(p, v, "annotations", &s->annotations, &s->n_annotations)) < 0)
		return r;
	if ((r = field_object(p, v, "linux", parse_linux, &s->linux_)) < 0)
		return r;
	s->has_linux = r > 0;
	return 0;
}

/* ---- syntax pass: positions for errors, depth, NUL and surrogate checks ---- */

struct scan_frame {
	bool array;
	size_t index; /* of the next element of an array */
	size_t base;  /* length of the path up to the container */
};

struct scan {
	yajl_handle h;
	const char *text;
	size_t text_len;
	unsigned depth;
	struct scan_frame frames[JSON_MAX_DEPTH + 1];
	char path[PATH_MAX_LEN];
	size_t len;
	const char *why;
	char why_buf[64];
	bool string_error; /* why is about the string at at, under path */
	size_t at;
};

_printf_(2, 3) static void scan_path_set(struct scan *s, const char *fmt, ...)
{
	va_list ap;
	s->len = MIN(s->frames[s->depth].base, sizeof(s->path) - 1);
	va_start(ap, fmt);
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	int k = vsnprintf(s->path + s->len, sizeof(s->path) - s->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		s->len = MIN(s->len + (size_t)k, sizeof(s->path) - 1);
	s->path[s->len] = 0;
}

/* A value starts: as an element of an array, it is the next index. */
static void scan_value(struct scan *s)
{
	struct scan_frame *f = &s->frames[s->depth];
	if (s->depth > 0 && f->array)
		scan_path_set(s, "[%zu]", f->index++);
}

static int hex4(const char *t, unsigned *ret)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = t[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v * 16 + (unsigned)d;
	}
	*ret = v;
	return 0;
}

/*
 * The string token that ends just before offset end (its closing quote is at
 * end - 1), as written: yajl decodes a lone surrogate escape to "?" (or to
 * bytes that are no UTF-8), so it is checked here, in the text. Sets why and
 * at on a lone surrogate.
 */
static bool scan_raw_string(struct scan *s, size_t end)
{
	const char *t = s->text;
	if (end < 2 || end > s->text_len || t[end - 1] != '"')
		return true; /* not where we expect it: yajl's own checks stand */
	size_t close = end - 1, open = close;
	for (;;) {
		if (open == 0)
			return true;
		open--;
		if (t[open] != '"')
			continue;
		size_t bs = 0;
		while (open > bs && t[open - 1 - bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			break;
	}
	for (size_t i = open + 1; i < close; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == 0xed && i + 1 < close && (unsigned char)t[i + 1] >= 0xa0) {
			s->why = "UTF-8 encoded UTF-16 surrogate";
			s->at = i;
			return false;
		}
		if (c != '\\')
			continue;
		unsigned cp, lo;
		if (i + 5 < close && t[i + 1] == 'u' && hex4(t + i + 2, &cp) == 0 && cp >= 0xd800 &&
		    cp <= 0xdfff) {
			if (cp <= 0xdbff && i + 11 < close && t[i + 6] == '\\' && t[i + 7] == 'u' &&
			    hex4(t + i + 8, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
				i += 11;
				continue;
			}
			snprintf(s->why_buf, sizeof(s->why_buf), "lone UTF-16 surrogate %.6s",
				 t + i);
			s->why = s->why_buf;
			s->at = i;
			return false;
		}
		i++; /* the escaped character */
	}
	return true;
}

static int scan_check_string(struct scan *s, const unsigned char *str, size_t len)
{
	/* yajl's tree hands out C strings: "\u0000" would silently cut a path short */
	if (memchr(str, 0, len)) {
		s->why = "string contains a NUL character";
		return 0;
	}
	if (!scan_raw_string(s, yajl_get_bytes_consumed(s->h))) {
		s->string_error = true;
		return 0;
	}
	return 1;
}

static int scan_string(void *ctx, const unsigned char *str, size_t len)
{
	struct scan *s = ctx;
	scan_value(s);
	return scan_check_string(s, str, len);
}

static int scan_key(void *ctx, const unsigned char *key, size_t len)
{
	struct scan *s = ctx;
	/* a bad key is reported at the object holding it */
	scan_path_set(s, "%s", "");
	if (!scan_check_string(s, key, len))
		return 0;
	scan_path_set(s, s->frames[s->depth].base == 0 ? "%.*s" : ".%.*s", (int)MIN(len, 256),
		      (const char *)key);
	return 1;
}

static int scan_scalar(void *ctx)
{
	scan_value(ctx);
	return 1;
}

static int scan_bool(void *ctx, int v)
{
	return scan_scalar(ctx);
}

static int scan_number(void *ctx, const char *n, size_t len)
{
	return scan_scalar(ctx);
}

static int scan_open(struct scan *s, bool array)
{
	scan_value(s);
	if (s->depth >= JSON_MAX_DEPTH) {
		snprintf(s->why_buf, sizeof(s->why_buf), "nesting is deeper than %d levels",
			 JSON_MAX_DEPTH);
		s->why = s->why_buf;
		return 0;
	}
	s->depth++;
	s->frames[s->depth] = (struct scan_frame){ .array = array, .base = s->len };
	return 1;
}

static int scan_open_map(void *ctx)
{
	return scan_open(ctx, false);
}

static int scan_open_array(void *ctx)
{
	return scan_open(ctx, true);
}

static int scan_close(void *ctx)
{
	struct scan *s = ctx;
	s->depth--;
	return 1;
}

static const yajl_callbacks scan_callbacks = {
	.yajl_null = scan_scalar,
	.yajl_boolean = scan_bool,
	.yajl_number = scan_number,
	.yajl_string = scan_string,
	.yajl_start_map = scan_open_map,
	.yajl_map_key = scan_key,
	.yajl_end_map = scan_close,
	.yajl_start_array = scan_open_array,
	.yajl_end_array = scan_close,
};

static void line_col(const char *text, size_t at, unsigned *ret_line, unsigned *ret_col)
{
	unsigned line = 1, col = 1;
	for (size_t i = 0; i < at; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	*ret_line = line;
	*ret_col = col;
}

int berth_json_check(const char *text, size_t len, const char *what, const char *prefix,
		     struct berth_error **err)
{
	_cleanup_free_ struct scan *s = calloc(1, sizeof(struct scan));
	char msg[256] = "syntax error";
	unsigned line, col;
	if (!s)
		return berth_error_set(err, ENOMEM, "%s", what);
	yajl_handle h = yajl_alloc(&scan_callbacks, NULL, s);
	if (!h)
		return berth_error_set(err, ENOMEM, "%s", what);
	yajl_config(h, yajl_allow_comments, 1);
	s->h = h;
	s->text = text;
	s->text_len = len;
	if (prefix)
		snprintf(s->path, sizeof(s->path), "%s", prefix);
	s->len = strlen(s->path);
	s->frames[0].base = s->len;

	yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
	bool at_end = false;
	size_t off = yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(h);
		at_end = true; /* e.g. premature EOF: point just past the text */
	}
	if (st == yajl_status_ok) {
		yajl_free(h);
		return 0;
	}

	if (st == yajl_status_client_canceled && s->string_error) {
		yajl_free(h);
		line_col(text, s->at, &line, &col);
		if (s->path[0])
			return berth_error_setx(
				err, EINVAL,
				"%s: %s: invalid JSON string at line %u, column %u: %s", what,
				s->path, line, col, s->why);
		return berth_error_setx(err, EINVAL,
					"%s: invalid JSON string at line %u, column %u: %s", what,
					line, col, s->why);
	}
	if (st == yajl_status_client_canceled && s->why) {
		snprintf(msg, sizeof(msg), "%s", s->why);
	} else {
		unsigned char *e = yajl_get_error(h, 0, (const unsigned char *)text, len);
		if (e) {
			snprintf(msg, sizeof(msg), "%s", (const char *)e);
			yajl_free_error(h, e);
		}
	}
	yajl_free(h);

	/* yajl's short text ends in ".\n"; our messages end bare */
	size_t n = strlen(msg);
	while (n > 0 && strchr(" \t\r\n.", msg[n - 1]))
		msg[--n] = 0;

	/*
	 * Where the offending byte is: yajl's lexer backs up to it for most lexical
	 * errors, but has consumed it for "invalid char" and for parse errors.
	 */
	bool consumed =
		strncmp(msg, "lexical error", 13) != 0 || strstr(msg, "invalid char in json");
	size_t at;
	if (at_end)
		at = len;
	else if (consumed)
		at = off > 0 ? MIN(off, len) - 1 : 0;
	else
		at = MIN(off, len);
	line_col(text, at, &line, &col);
	return berth_error_setx(err, EINVAL, "%s: invalid JSON at line %u, column %u: %s", what,
				line, col, msg);
}

/* ---- entry points ---- */

int berth_spec_parse(const char *text, size_t len, struct berth_spec **ret,
		     struct berth_error **err)
{
	_cleanup_(berth_spec_freep) struct berth_spec *s = NULL;
	struct parser p = { .err = err };
	char errbuf[256] = "";
	int r;

	if (!text)
		return berth_error_setx(err, EINVAL, "config.json: no text");
	if (len > BERTH_SPEC_MAX_SIZE)
		return berth_error_setx(err, EFBIG, "config.json: file is larger than 16 MiB");

	r = berth_json_check(text, len, "config.json", NULL, err);
	if (r < 0)
		return r;

	_cleanup_free_ char *copy = strndup(text, len);
	if (!copy)
		return berth_error_set(err, ENOMEM, "config.json");
	yajl_val root = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
	if (!root) {
		size_t n = strlen(errbuf);
		while (n > 0 && strchr(" \t\r\n.", errbuf[n - 1]))
			errbuf[--n] = 0;
		return berth_error_setx(err, EINVAL, "config.json: invalid JSON: %s",
					errbuf[0] ? errbuf : "out of memory");
	}

	if (!YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		return berth_error_setx(err, EINVAL,
					"config.json: top level must be a JSON object");
	}

	s = calloc(1, sizeof(*s));
	if (!s) {
		yajl_tree_free(root);
		return berth_error_set(err, ENOMEM, "config.json");
	}
	r = parse_top(&p, root, s);
	yajl_tree_free(root);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(s);
	return 0;
}

int berth_spec_parse_process(const char *text, size_t len, struct berth_spec **ret,
			     struct berth_error **err)
{
	_cleanup_(berth_spec_freep) struct berth_spec *s = NULL;
	struct parser p = { .err = err };
	char errbuf[256] = "";

	if (!text)
		return berth_error_setx(err, EINVAL, "config.json: no text");
	if (len > BERTH_SPEC_MAX_SIZE)
		return berth_error_setx(err, EFBIG, "config.json: file is larger than 16 MiB");
	/* paths read as in a whole config: "process.args" */
	int r = berth_json_check(text, len, "config.json", "process", err);
	if (r < 0)
		return r;
	_cleanup_free_ char *copy = strndup(text, len);
	if (!copy)
		return berth_error_set(err, ENOMEM, "config.json");
	yajl_val root = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
	if (!root)
		return berth_error_setx(err, EINVAL, "config.json: invalid JSON: %s",
					errbuf[0] ? errbuf : "out of memory");
	if (!YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		return berth_error_setx(err, EINVAL, "config.json: process: must be a JSON object");
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		yajl_tree_free(root);
		return berth_error_set(err, ENOMEM, "config.json");
	}
	/* paths read as in a whole config: "process.args" */
	path_push_key(&p, "process");
	r = parse_process(&p, root, &s->process);
	yajl_tree_free(root);
	if (r < 0)
		return r;
	s->has_process = true;
	*ret = TAKE_PTR(s);
	return 0;
}

int berth_spec_load(const char *path, struct berth_spec **ret, struct berth_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	int r = read_file_at(AT_FDCWD, path, BERTH_SPEC_MAX_SIZE, &text, &len);
	if (r == -EFBIG)
		return berth_error_setx(err, EFBIG, "config.json: file is larger than 16 MiB");
	if (r < 0)
		return berth_error_set(err, -r, "read '%s'", path);
	return berth_spec_parse(text, len, ret, err);
}

static void free_hook(struct berth_hook *h)
{
	free(h->path);
	strv_free(h->args);
	strv_free(h->env);
}

static void free_kv(struct berth_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void berth_spec_free(struct berth_spec *s)
{
	if (!s)
		return;

	free(s->oci_version);
	free(s->root_path);
	for (size_t i = 0; i < s->n_mounts; i++) {
		struct berth_mount *m = &s->mounts[i];
		free(m->destination);
		free(m->source);
		free(m->type);
		strv_free(m->options);
		free(m->uid_mappings);
		free(m->gid_mappings);
	}
	free(s->mounts);

	struct berth_process *p = &s->process;
	free(p->cwd);
	strv_free(p->args);
	strv_free(p->env);
	free(p->user.additional_gids);
	for (size_t i = 0; i < p->n_rlimits; i++)
		free(p->rlimits[i].type);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p->scheduler.policy);
	free(p->io_priority.class);

	free(s->hostname);
	free(s->domainname);
	for (int k = 0; k < _BERTH_HOOK_MAX; k++) {
		for (size_t i = 0; i < s->hooks.n[k]; i++)
			free_hook(&s->hooks.list[k][i]);
		free(s->hooks.list[k]);
	}
	free_kv(s->annotations, s->n_annotations);

	struct berth_linux *l = &s->linux_;
	for (size_t i = 0; i < l->n_namespaces; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
	free(l->rootfs_propagation);
	strv_free(l->masked_paths);
	strv_free(l->readonly_paths);
	free(l->mount_label);
	free_kv(l->sysctl, l->n_sysctl);
	free(l->personality.domain);
	free(l->memory_policy.mode);
	free(l->memory_policy.nodes);
	strv_free(l->memory_policy.flags);
	free(l->resources.text);
	free(l->seccomp.text);
	free(l->net_devices.text);
	free(l->intel_rdt.text);
	free(s);
}
