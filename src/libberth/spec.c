/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config.json -> struct berth_spec: the sections of the runtime spec on the
 * JSON layer (json.c: type checks that name the JSON path), and name -> number resolution (capabilities, rlimits, scheduler,
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

#include "json.h"
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

const char *ns_type_name(enum berth_ns_type t)
{
	if ((unsigned)t >= _BERTH_NS_MAX)
		return NULL;
	return ns_names[t];
}

int ns_type_from_name(const char *name)
{
	if (!name)
		return -EINVAL;
	for (int i = 0; i < _BERTH_NS_MAX; i++)
		if (streq(ns_names[i], name))
			return i;
	return -EINVAL;
}

unsigned long ns_clone_flag(enum berth_ns_type t)
{
	if ((unsigned)t >= _BERTH_NS_MAX)
		return 0;
	return ns_flags[t];
}

const char *hook_kind_name(enum berth_hook_kind k)
{
	if ((unsigned)k >= _BERTH_HOOK_MAX)
		return NULL;
	return hook_names[k];
}

const struct berth_namespace *spec_find_ns(const struct berth_spec *s, enum berth_ns_type t)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->linux_.n_namespaces; i++)
		if (s->linux_.namespaces[i].type == t)
			return &s->linux_.namespaces[i];
	return NULL;
}

const char *spec_annotation(const struct berth_spec *s, const char *key)
{
	if (!s || !key)
		return NULL;
	for (size_t i = 0; i < s->n_annotations; i++)
		if (streq(s->annotations[i].key, key))
			return s->annotations[i].value;
	return NULL;
}

/* ---- the sections ---- */

static int parse_id_mapping(struct json_parser *p, yajl_val v, void *elem)
{
	struct berth_id_mapping *m = elem;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	r = json_require(p, json_field_u32(p, v, "containerID", &m->container_id), "containerID");
	if (r < 0)
		return r;
	r = json_require(p, json_field_u32(p, v, "hostID", &m->host_id), "hostID");
	if (r < 0)
		return r;
	return json_require(p, json_field_u32(p, v, "size", &m->size), "size");
}

static int parse_mount(struct json_parser *p, yajl_val v, void *elem)
{
	struct berth_mount *m = elem;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	if ((r = json_field_string(p, v, "destination", &m->destination)) < 0 ||
	    (r = json_field_string(p, v, "source", &m->source)) < 0 ||
	    (r = json_field_string(p, v, "type", &m->type)) < 0 ||
	    (r = json_field_strv(p, v, "options", &m->options, &m->n_options)) < 0 ||
	    (r = json_field_array(p, v, "uidMappings", sizeof(struct berth_id_mapping),
				  parse_id_mapping, (void **)&m->uid_mappings,
				  &m->n_uid_mappings)) < 0 ||
	    (r = json_field_array(p, v, "gidMappings", sizeof(struct berth_id_mapping),
				  parse_id_mapping, (void **)&m->gid_mappings,
				  &m->n_gid_mappings)) < 0)
		return r;
	return 0;
}

static int parse_root(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_spec *s = data;
	int r;

	if ((r = json_field_string(p, v, "path", &s->root_path)) < 0 ||
	    (r = json_field_bool(p, v, "readonly", &s->root_readonly)) < 0)
		return r;
	return 0;
}

static int parse_console_size(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_process *proc = data;
	int r;

	r = json_require(p, json_field_u32(p, v, "height", &proc->console_height), "height");
	if (r < 0)
		return r;
	r = json_require(p, json_field_u32(p, v, "width", &proc->console_width), "width");
	if (r < 0)
		return r;
	proc->has_console_size = true;
	return 0;
}

static int parse_u32_elem(struct json_parser *p, yajl_val v, void *elem)
{
	return json_conv_u32(p, v, elem);
}

static int parse_user(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_user *u = data;
	int r;

	if ((r = json_field_u32(p, v, "uid", &u->uid)) < 0 ||
	    (r = json_field_u32(p, v, "gid", &u->gid)) < 0)
		return r;
	r = json_field_u32(p, v, "umask", &u->umask);
	if (r < 0)
		return r;
	u->has_umask = r > 0;
	r = json_field_array(p, v, "additionalGids", sizeof(uint32_t), parse_u32_elem,
			     (void **)&u->additional_gids, &u->n_additional_gids);
	return r < 0 ? r : 0;
}

/* A capability name list -> bit mask. Only "CAP_*" names libcap knows are accepted. */
static int conv_caps(struct json_parser *p, yajl_val v, uint64_t *ret)
{
	uint64_t mask = 0;

	if (!YAJL_IS_ARRAY(v))
		return json_fail(p, "must be an array of strings");
	for (size_t i = 0; i < v->u.array.len; i++) {
		yajl_val e = v->u.array.values[i];
		size_t old = json_push_index(p, i);
		int r = 0;
		cap_value_t c;

		if (!YAJL_IS_STRING(e))
			r = json_fail(p, "must be a string");
		else if (strncmp(e->u.string, "CAP_", 4) != 0 ||
			 cap_from_name(e->u.string, &c) < 0 || c < 0 || c >= 64)
			r = json_fail(p, "unknown capability \"%s\"", e->u.string);
		else
			mask |= UINT64_C(1) << c;
		json_pop(p, old);
		if (r < 0)
			return r;
	}
	*ret = mask;
	return 1;
}

static int parse_caps(struct json_parser *p, yajl_val o, void *data)
{
	struct berth_caps *c = data;
	int r;

#define CAPSET(key, field)                                             \
	do {                                                           \
		r = JSON_FIELD(p, o, key, conv_caps(p, v, &c->field)); \
		if (r < 0)                                             \
			return r;                                      \
		c->has_##field = r > 0;                                \
	} while (0)
	CAPSET("bounding", bounding);
	CAPSET("effective", effective);
	CAPSET("inheritable", inheritable);
	CAPSET("permitted", permitted);
	CAPSET("ambient", ambient);
#undef CAPSET
	return 0;
}

static int parse_rlimit(struct json_parser *p, yajl_val v, void *elem)
{
	struct berth_rlimit *rl = elem;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	r = json_require(p, json_field_string(p, v, "type", &rl->type), "type");
	if (r < 0)
		return r;
	if (lookup(rlimit_names, ELEMENTSOF(rlimit_names), rl->type, &rl->resource) < 0) {
		size_t old = json_push_key(p, "type");
		r = json_fail(p, "unknown rlimit \"%s\"", rl->type);
		json_pop(p, old);
		return r;
	}
	r = json_require(p, json_field_u64(p, v, "soft", &rl->soft), "soft");
	if (r < 0)
		return r;
	return json_require(p, json_field_u64(p, v, "hard", &rl->hard), "hard");
}

/* Resolve the string just stored under key through a name table. */
static int resolve_name(struct json_parser *p, const char *key, const char *what,
			const struct name_value *t, size_t n, const char *name, int *ret)
{
	if (!name || lookup(t, n, name, ret) >= 0)
		return 0;
	size_t old = json_push_key(p, key);
	int r = json_fail(p, "unknown %s \"%s\"", what, name);
	json_pop(p, old);
	return r;
}

static int parse_scheduler(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_scheduler *sc = data;
	_cleanup_strv_free_ char **flags = NULL;
	size_t n_flags = 0;
	int r;

	sc->set = true;
	if ((r = json_field_string(p, v, "policy", &sc->policy)) < 0 ||
	    (r = resolve_name(p, "policy", "scheduler policy", sched_policy_names,
			      ELEMENTSOF(sched_policy_names), sc->policy, &sc->policy_value)) < 0)
		return r;
	if ((r = json_field_i32(p, v, "nice", &sc->nice)) < 0)
		return r;
	sc->has_nice = r > 0;
	if ((r = json_field_i32(p, v, "priority", &sc->priority)) < 0)
		return r;
	sc->has_priority = r > 0;
	if ((r = json_field_u64(p, v, "runtime", &sc->runtime)) < 0)
		return r;
	sc->has_runtime = r > 0;
	if ((r = json_field_u64(p, v, "deadline", &sc->deadline)) < 0)
		return r;
	sc->has_deadline = r > 0;
	if ((r = json_field_u64(p, v, "period", &sc->period)) < 0)
		return r;
	sc->has_period = r > 0;

	if ((r = json_field_strv(p, v, "flags", &flags, &n_flags)) < 0)
		return r;
	for (size_t i = 0; i < n_flags; i++) {
		int bit;
		if (lookup(sched_flag_names, ELEMENTSOF(sched_flag_names), flags[i], &bit) < 0) {
			size_t old = json_push_key(p, "flags");
			json_push_index(p, i);
			r = json_fail(p, "unknown scheduler flag \"%s\"", flags[i]);
			json_pop(p, old);
			return r;
		}
		sc->flags |= (uint32_t)bit;
	}
	return 0;
}

static int parse_io_priority(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_io_priority *io = data;
	int32_t prio = 0;
	int r;

	io->set = true;
	if ((r = json_field_string(p, v, "class", &io->class)) < 0 ||
	    (r = resolve_name(p, "class", "I/O priority class", ioprio_class_names,
			      ELEMENTSOF(ioprio_class_names), io->class, &io->class_value)) < 0 ||
	    (r = json_field_i32(p, v, "priority", &prio)) < 0)
		return r;
	io->priority = prio;
	return 0;
}

static int parse_process(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_process *proc = data;
	int32_t oom_adj = 0;
	int r;

	if ((r = json_field_bool(p, v, "terminal", &proc->terminal)) < 0 ||
	    (r = json_field_object(p, v, "consoleSize", parse_console_size, proc)) < 0 ||
	    (r = json_field_string(p, v, "cwd", &proc->cwd)) < 0 ||
	    (r = json_field_strv(p, v, "args", &proc->args, &proc->n_args)) < 0 ||
	    (r = json_field_strv(p, v, "env", &proc->env, &proc->n_env)) < 0 ||
	    (r = json_field_object(p, v, "user", parse_user, &proc->user)) < 0 ||
	    (r = json_field_object(p, v, "capabilities", parse_caps, &proc->caps)) < 0 ||
	    (r = json_field_array(p, v, "rlimits", sizeof(struct berth_rlimit), parse_rlimit,
				  (void **)&proc->rlimits, &proc->n_rlimits)) < 0 ||
	    (r = json_field_bool(p, v, "noNewPrivileges", &proc->no_new_privileges)) < 0 ||
	    (r = json_field_string(p, v, "apparmorProfile", &proc->apparmor_profile)) < 0 ||
	    (r = json_field_string(p, v, "selinuxLabel", &proc->selinux_label)) < 0)
		return r;
	if ((r = json_field_i32(p, v, "oomScoreAdj", &oom_adj)) < 0)
		return r;
	proc->has_oom_score_adj = r > 0;
	proc->oom_score_adj = oom_adj;
	if ((r = json_field_object(p, v, "scheduler", parse_scheduler, &proc->scheduler)) < 0 ||
	    (r = json_field_object(p, v, "ioPriority", parse_io_priority, &proc->io_priority)) < 0)
		return r;

	/* An empty env still gets a NULL-terminated array: it goes straight to execve(). */
	if (!proc->env) {
		proc->env = calloc(1, sizeof(char *));
		if (!proc->env)
			return json_oom(p);
	}
	return 0;
}

static int parse_hook(struct json_parser *p, yajl_val v, void *elem)
{
	struct berth_hook *h = elem;
	int32_t timeout = 0;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	if ((r = json_field_string(p, v, "path", &h->path)) < 0 ||
	    (r = json_field_strv(p, v, "args", &h->args, &h->n_args)) < 0 ||
	    (r = json_field_strv(p, v, "env", &h->env, &h->n_env)) < 0 ||
	    (r = json_field_i32(p, v, "timeout", &timeout)) < 0)
		return r;
	h->has_timeout = r > 0;
	h->timeout = timeout;
	return 0;
}

static int parse_hooks(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_hooks *hooks = data;

	for (int k = 0; k < _BERTH_HOOK_MAX; k++) {
		int r = json_field_array(p, v, hook_names[k], sizeof(struct berth_hook), parse_hook,
					 (void **)&hooks->list[k], &hooks->n[k]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_namespace(struct json_parser *p, yajl_val v, void *elem)
{
	struct berth_namespace *ns = elem;
	_cleanup_free_ char *type = NULL;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	r = json_require(p, json_field_string(p, v, "type", &type), "type");
	if (r < 0)
		return r;
	r = ns_type_from_name(type);
	if (r < 0) {
		size_t old = json_push_key(p, "type");
		r = json_fail(p, "unknown namespace \"%s\"", type);
		json_pop(p, old);
		return r;
	}
	ns->type = (enum berth_ns_type)r;
	if ((r = json_field_string(p, v, "path", &ns->path)) < 0)
		return r;
	/* Go runtimes write "" for "no path": create a new namespace. */
	if (ns->path && ns->path[0] == 0) {
		free(ns->path);
		ns->path = NULL;
	}
	return 0;
}

static int parse_time_offset(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_time_offset *t = data;
	int r;

	t->set = true;
	if ((r = json_field_i64(p, v, "secs", &t->secs)) < 0 ||
	    (r = json_field_u32(p, v, "nanosecs", &t->nanosecs)) < 0)
		return r;
	return 0;
}

static int parse_time_offsets(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_linux *l = data;
	int r;

	if ((r = json_field_object(p, v, "monotonic", parse_time_offset, &l->time_monotonic)) < 0 ||
	    (r = json_field_object(p, v, "boottime", parse_time_offset, &l->time_boottime)) < 0)
		return r;
	return 0;
}

static int parse_device(struct json_parser *p, yajl_val v, void *elem)
{
	struct berth_device *d = elem;
	_cleanup_free_ char *type = NULL;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	r = json_require(p, json_field_string(p, v, "type", &type), "type");
	if (r < 0)
		return r;
	if (!type || strlen(type) != 1 || !strchr("cbup", type[0])) {
		size_t old = json_push_key(p, "type");
		r = json_fail(p, "unknown device type \"%s\"", type);
		json_pop(p, old);
		return r;
	}
	d->type = type[0];
	if ((r = json_field_string(p, v, "path", &d->path)) < 0)
		return r;

	/* The struct has no "absent" for these, so required-ness is checked here. */
	bool need = d->type != 'p';
	r = json_field_i64(p, v, "major", &d->major);
	if (r < 0 || (need && (r = json_require(p, r, "major")) < 0))
		return r;
	r = json_field_i64(p, v, "minor", &d->minor);
	if (r < 0 || (need && (r = json_require(p, r, "minor")) < 0))
		return r;

	if ((r = json_field_u32(p, v, "fileMode", &d->file_mode)) < 0)
		return r;
	d->has_file_mode = r > 0;
	if ((r = json_field_u32(p, v, "uid", &d->uid)) < 0)
		return r;
	d->has_uid = r > 0;
	if ((r = json_field_u32(p, v, "gid", &d->gid)) < 0)
		return r;
	d->has_gid = r > 0;
	return 0;
}

static int parse_personality(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_personality *pers = data;
	_cleanup_strv_free_ char **flags = NULL;
	size_t n_flags = 0;
	int value = 0, r;

	r = json_require(p, json_field_string(p, v, "domain", &pers->domain), "domain");
	if (r < 0)
		return r;
	r = resolve_name(p, "domain", "personality domain", personality_names,
			 ELEMENTSOF(personality_names), pers->domain, &value);
	if (r < 0)
		return r;
	pers->value = (unsigned long)value;
	/* No flags are defined by the spec yet; only the type is checked. */
	if ((r = json_field_strv(p, v, "flags", &flags, &n_flags)) < 0)
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

int node_list_parse(const char *s, uint64_t mask[BERTH_NUMA_MASK_WORDS])
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

size_t memory_policy_names(bool flags, const char **ret, size_t max)
{
	const struct name_value *t = flags ? mpol_flag_names : mpol_mode_names;
	size_t n = flags ? ELEMENTSOF(mpol_flag_names) : ELEMENTSOF(mpol_mode_names);
	for (size_t i = 0; i < n && i < max; i++)
		ret[i] = t[i].name;
	return MIN(n, max);
}

static int parse_memory_policy(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_memory_policy *mp = data;
	int r;

	mp->set = true;
	r = json_require(p, json_field_string(p, v, "mode", &mp->mode), "mode");
	if (r < 0)
		return r;
	r = resolve_name(p, "mode", "memory policy mode", mpol_mode_names,
			 ELEMENTSOF(mpol_mode_names), mp->mode, &mp->mode_value);
	if (r < 0)
		return r;

	/* required by the spec, but absent and "" mean the same: no nodes */
	if ((r = json_field_string(p, v, "nodes", &mp->nodes)) < 0)
		return r;
	r = node_list_parse(mp->nodes, mp->nodemask);
	if (r < 0) {
		size_t old = json_push_key(p, "nodes");
		if (r == -ERANGE)
			r = json_fail(p, "\"%s\" names a node above %d", mp->nodes,
				      BERTH_NUMA_MAX_NODES - 1);
		else
			r = json_fail(p,
				      "\"%s\" must be a list of node numbers and ranges, "
				      "such as \"0-3,7\"",
				      mp->nodes);
		json_pop(p, old);
		return r;
	}
	for (size_t i = 0; i < BERTH_NUMA_MASK_WORDS; i++)
		mp->has_nodes = mp->has_nodes || mp->nodemask[i] != 0;

	if ((r = json_field_strv(p, v, "flags", &mp->flags, &mp->n_flags)) < 0)
		return r;
	for (size_t i = 0; i < mp->n_flags; i++) {
		int bit;
		if (lookup(mpol_flag_names, ELEMENTSOF(mpol_flag_names), mp->flags[i], &bit) < 0) {
			size_t old = json_push_key(p, "flags");
			json_push_index(p, i);
			r = json_fail(p, "unknown memory policy flag \"%s\"", mp->flags[i]);
			json_pop(p, old);
			return r;
		}
		mp->flags_value |= (unsigned)bit;
	}
	return 0;
}

static int parse_linux(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_linux *l = data;
	int r;

	if ((r = json_field_array(p, v, "namespaces", sizeof(struct berth_namespace),
				  parse_namespace, (void **)&l->namespaces, &l->n_namespaces)) <
		    0 ||
	    (r = json_field_array(p, v, "uidMappings", sizeof(struct berth_id_mapping),
				  parse_id_mapping, (void **)&l->uid_mappings,
				  &l->n_uid_mappings)) < 0 ||
	    (r = json_field_array(p, v, "gidMappings", sizeof(struct berth_id_mapping),
				  parse_id_mapping, (void **)&l->gid_mappings,
				  &l->n_gid_mappings)) < 0 ||
	    (r = json_field_object(p, v, "timeOffsets", parse_time_offsets, l)) < 0 ||
	    (r = json_field_array(p, v, "devices", sizeof(struct berth_device), parse_device,
				  (void **)&l->devices, &l->n_devices)) < 0 ||
	    (r = json_field_string(p, v, "cgroupsPath", &l->cgroups_path)) < 0 ||
	    (r = json_field_string(p, v, "rootfsPropagation", &l->rootfs_propagation)) < 0 ||
	    (r = json_field_strv(p, v, "maskedPaths", &l->masked_paths, &l->n_masked_paths)) < 0 ||
	    (r = json_field_strv(p, v, "readonlyPaths", &l->readonly_paths, &l->n_readonly_paths)) <
		    0 ||
	    (r = json_field_string(p, v, "mountLabel", &l->mount_label)) < 0 ||
	    (r = json_field_kv(p, v, "sysctl", &l->sysctl, &l->n_sysctl)) < 0 ||
	    (r = json_field_object(p, v, "personality", parse_personality, &l->personality)) < 0 ||
	    (r = json_field_object(p, v, "memoryPolicy", parse_memory_policy, &l->memory_policy)) <
		    0 ||
	    (r = json_field_raw(p, v, "resources", &l->resources.text)) < 0 ||
	    (r = json_field_raw(p, v, "seccomp", &l->seccomp.text)) < 0 ||
	    (r = json_field_raw(p, v, "netDevices", &l->net_devices.text)) < 0 ||
	    (r = json_field_raw(p, v, "intelRdt", &l->intel_rdt.text)) < 0)
		return r;
	return 0;
}

static int parse_top(struct json_parser *p, yajl_val v, struct berth_spec *s)
{
	int r;

	if ((r = json_field_string(p, v, "ociVersion", &s->oci_version)) < 0 ||
	    (r = json_field_object(p, v, "root", parse_root, s)) < 0 ||
	    (r = json_field_array(p, v, "mounts", sizeof(struct berth_mount), parse_mount,
				  (void **)&s->mounts, &s->n_mounts)) < 0)
		return r;
	if ((r = json_field_object(p, v, "process", parse_process, &s->process)) < 0)
		return r;
	s->has_process = r > 0;
	if ((r = json_field_string(p, v, "hostname", &s->hostname)) < 0 ||
	    (r = json_field_string(p, v, "domainname", &s->domainname)) < 0 ||
	    (r = json_field_object(p, v, "hooks", parse_hooks, &s->hooks)) < 0 ||
	    (r = json_field_kv(p, v, "annotations", &s->annotations, &s->n_annotations)) < 0)
		return r;
	if ((r = json_field_object(p, v, "linux", parse_linux, &s->linux_)) < 0)
		return r;
	s->has_linux = r > 0;
	return 0;
}

/* ---- entry points ---- */

int spec_parse(const char *text, size_t len, struct berth_spec **ret, struct berth_error **err)
{
	_cleanup_(spec_freep) struct berth_spec *s = NULL;
	struct json_parser p;
	yajl_val root = NULL;

	if (len > BERTH_SPEC_MAX_SIZE)
		return berth_error_setx(err, EFBIG, "config.json: file is larger than 16 MiB");
	json_parser_init(&p, "config.json", NULL, err);
	int r = json_parse(&p, text, len, &root);
	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		return berth_error_setx(err, EINVAL,
					"config.json: top level must be a JSON object");
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		yajl_tree_free(root);
		return json_oom(&p);
	}
	r = parse_top(&p, root, s);
	yajl_tree_free(root);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

int spec_parse_process(const char *text, size_t len, struct berth_spec **ret,
		       struct berth_error **err)
{
	_cleanup_(spec_freep) struct berth_spec *s = NULL;
	struct json_parser p;
	yajl_val root = NULL;

	if (len > BERTH_SPEC_MAX_SIZE)
		return berth_error_setx(err, EFBIG, "config.json: file is larger than 16 MiB");
	/* paths read as in a whole config: "process.args" */
	json_parser_init(&p, "config.json", "process", err);
	int r = json_parse(&p, text, len, &root);
	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		return berth_error_setx(err, EINVAL, "config.json: process: must be a JSON object");
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		yajl_tree_free(root);
		return json_oom(&p);
	}
	r = parse_process(&p, root, &s->process);
	yajl_tree_free(root);
	if (r < 0)
		return r;
	s->has_process = true;
	*ret = TAKE_PTR(s);
	return 0;
}

int spec_load(const char *path, struct berth_spec **ret, struct berth_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	int r = read_file_at(AT_FDCWD, path, BERTH_SPEC_MAX_SIZE, &text, &len);
	if (r == -EFBIG)
		return berth_error_setx(err, EFBIG, "config.json: file is larger than 16 MiB");
	if (r < 0)
		return berth_error_set(err, -r, "read '%s'", path);
	return spec_parse(text, len, ret, err);
}

static void free_hook(struct berth_hook *h)
{
	free(h->path);
	strv_free(h->args);
	strv_free(h->env);
}

void spec_free(struct berth_spec *s)
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
	kv_free(s->annotations, s->n_annotations);

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
	kv_free(l->sysctl, l->n_sysctl);
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
