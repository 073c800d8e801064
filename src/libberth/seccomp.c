// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * linux.seccomp: the parser (yajl tree, JSON paths in errors) and the compiler
 * (libseccomp). Both run in the parent (berth create/exec); the ENOSYS
 * preamble is seccomp-enosys.c, the cache seccomp-cache.c, the loader
 * seccomp-load.c, the notify-agent hand-off seccomp-agent.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/seccomp.h>

#include <seccomp.h>

#include "berth/berth.h"
#include "json.h"
#include "seccomp-internal.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/sha256.h"

#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif

#define ERRNO_MAX 4095 /* the kernel clamps SECCOMP_RET_ERRNO data to MAX_ERRNO */

/* ---- name tables ---- */

struct name_u32 {
	const char *name;
	uint32_t value;
};

static const struct name_u32 actions[] = {
	{ "SCMP_ACT_KILL", SCMP_ACT_KILL },
	{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
	{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
	{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
	{ "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0) },
	{ "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0) },
	{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
	{ "SCMP_ACT_LOG", SCMP_ACT_LOG },
	{ "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY },
};

static const struct name_u32 operators[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE },
	{ "SCMP_CMP_LT", SCMP_CMP_LT },
	{ "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
	{ "SCMP_CMP_GE", SCMP_CMP_GE },
	{ "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static const struct name_u32 archs[] = {
	{ "SCMP_ARCH_X86", SCMP_ARCH_X86 },
	{ "SCMP_ARCH_X86_64", SCMP_ARCH_X86_64 },
	{ "SCMP_ARCH_X32", SCMP_ARCH_X32 },
	{ "SCMP_ARCH_ARM", SCMP_ARCH_ARM },
	{ "SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64 },
	{ "SCMP_ARCH_MIPS", SCMP_ARCH_MIPS },
	{ "SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64 },
	{ "SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32 },
	{ "SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL },
	{ "SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64 },
	{ "SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32 },
	{ "SCMP_ARCH_PPC", SCMP_ARCH_PPC },
	{ "SCMP_ARCH_PPC64", SCMP_ARCH_PPC64 },
	{ "SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE },
	{ "SCMP_ARCH_S390", SCMP_ARCH_S390 },
	{ "SCMP_ARCH_S390X", SCMP_ARCH_S390X },
	{ "SCMP_ARCH_PARISC", SCMP_ARCH_PARISC },
	{ "SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64 },
	{ "SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64 },
};

static const struct name_u32 flags_table[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", BERTH_SECCOMP_FLAG_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", BERTH_SECCOMP_FLAG_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", BERTH_SECCOMP_FLAG_SPEC_ALLOW },
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", BERTH_SECCOMP_FLAG_WAIT_KILLABLE_RECV },
};

const char *const berth_seccomp_action_names[] = {
	"SCMP_ACT_KILL",	"SCMP_ACT_KILL_PROCESS",
	"SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
	"SCMP_ACT_ERRNO",	"SCMP_ACT_TRACE",
	"SCMP_ACT_ALLOW",	"SCMP_ACT_LOG",
	"SCMP_ACT_NOTIFY",	NULL,
};
const char *const berth_seccomp_operator_names[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",	    "SCMP_CMP_EQ",
	"SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};
const char *const berth_seccomp_arch_names[] = {
	"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",	    "SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",	   "SCMP_ARCH_MIPS64",	    "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",	    "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",	    NULL,
};
const char *const berth_seccomp_flag_names[] = {
	"SECCOMP_FILTER_FLAG_TSYNC",
	"SECCOMP_FILTER_FLAG_LOG",
	"SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
	NULL,
};

static const struct name_u32 *lookup(const struct name_u32 *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(t[i].name, name))
			return &t[i];
	return NULL;
}

static const char *action_name(uint32_t a)
{
	for (size_t i = 0; i < ELEMENTSOF(actions); i++)
		if (actions[i].value == (a & 0xffff0000U))
			return actions[i].name;
	return "?";
}

/* ---- parser ---- */

/* An unsigned integer up to max, in linux.seccomp's wording ("must be at most <max>"). */
static int conv_u64(struct json_parser *p, yajl_val v, uint64_t max, uint64_t *ret)
{
	const struct json_int t = { 0, max, "a non-negative integer", JSON_RANGE_AT_MOST };
	return json_conv_u64(p, v, &t, ret);
}

/* A required member of obj, under its path; NULL (and *r < 0) if absent. */
static yajl_val required(struct json_parser *p, yajl_val obj, const char *key, int *r)
{
	yajl_val v = json_member(obj, key);
	*r = v ? 0 : json_require(p, 0, key);
	return v;
}

/* action + optional errnoRet (key eret_key) of the object obj into one SCMP_ACT_* value. */
static int get_action(struct json_parser *p, yajl_val obj, const char *act_key,
		      const char *eret_key, uint32_t *ret)
{
	int r;
	yajl_val act = required(p, obj, act_key, &r);
	if (!act)
		return r;
	size_t old = json_push_key(p, act_key);
	const struct name_u32 *a = NULL;
	if (!YAJL_IS_STRING(act))
		r = json_fail(p, "must be a string");
	else if (!(a = lookup(actions, ELEMENTSOF(actions), act->u.string)))
		r = json_fail(p, "unknown action \"%s\"", act->u.string);
	json_pop(p, old);
	if (!a)
		return r;
	bool takes_data = a->value == SCMP_ACT_ERRNO(0) || a->value == SCMP_ACT_TRACE(0);
	uint64_t data = EPERM;
	yajl_val eret = json_member(obj, eret_key);
	if (eret) {
		old = json_push_key(p, eret_key);
		if (!takes_data)
			r = json_fail(p, "not allowed with action \"%s\"", a->name);
		else
			r = conv_u64(p, eret, a->value == SCMP_ACT_ERRNO(0) ? ERRNO_MAX : 0xffff,
				     &data);
		json_pop(p, old);
		if (r < 0)
			return r;
	}
	*ret = takes_data ? a->value | (uint32_t)data : a->value;
	return 0;
}

static int parse_arg(struct json_parser *p, yajl_val o, void *elem)
{
	struct berth_seccomp_arg *a = elem;
	uint64_t idx = 0;
	int r;
	if (!YAJL_IS_OBJECT(o))
		return json_fail(p, "must be an object");
	yajl_val x = required(p, o, "index", &r);
	if (!x)
		return r;
	size_t old = json_push_key(p, "index");
	if (!YAJL_IS_INTEGER(x) || x->u.number.i < 0 || x->u.number.i > 5)
		r = json_fail(p, "must be between 0 and 5");
	else
		r = conv_u64(p, x, 5, &idx);
	json_pop(p, old);
	if (r < 0)
		return r;
	a->index = (unsigned)idx;

	if (!required(p, o, "value", &r))
		return r;
	if ((r = JSON_FIELD(p, o, "value", conv_u64(p, v, UINT64_MAX, &a->value))) < 0 ||
	    (r = JSON_FIELD(p, o, "valueTwo", conv_u64(p, v, UINT64_MAX, &a->value_two))) < 0)
		return r;
	if (!(x = required(p, o, "op", &r)))
		return r;
	old = json_push_key(p, "op");
	const struct name_u32 *op = NULL;
	if (!YAJL_IS_STRING(x))
		r = json_fail(p, "must be a string");
	else if (!(op = lookup(operators, ELEMENTSOF(operators), x->u.string)))
		r = json_fail(p, "unknown operator \"%s\"", x->u.string);
	json_pop(p, old);
	if (!op)
		return r;
	a->op = (int)op->value;
	return 0;
}

/*
 * The syscalls the loading process makes between loading the filter and
 * the agent getting the listener (sendmsg passes it on, write reports an
 * error): notified, they would wait for an agent that never hears of them.
 */
static bool is_handoff_syscall(const char *name)
{
	return streq(name, "sendmsg") || streq(name, "write");
}

/* names: a non-empty array of non-empty strings */
static int conv_names(struct json_parser *p, yajl_val names, struct berth_seccomp_rule *rule)
{
	if (!YAJL_IS_ARRAY(names) || names->u.array.len == 0)
		return json_fail(p, "must be a non-empty array of strings");
	rule->names = calloc(names->u.array.len + 1, sizeof(char *));
	if (!rule->names)
		return json_oom(p);
	for (size_t i = 0; i < names->u.array.len; i++) {
		yajl_val n = names->u.array.values[i];
		if (!YAJL_IS_STRING(n) || !*n->u.string) {
			json_push_index(p, i);
			return json_fail(p, "must be a non-empty string");
		}
		rule->names[i] = strdup(n->u.string);
		if (!rule->names[i])
			return json_oom(p);
		rule->n_names++;
	}
	return 0;
}

static int parse_rule(struct json_parser *p, yajl_val v, struct berth_seccomp_rule *rule,
		      struct berth_seccomp_config *c)
{
	int r;
	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");

	yajl_val names = required(p, v, "names", &r);
	if (!names)
		return r;
	size_t old = json_push_key(p, "names");
	r = conv_names(p, names, rule);
	json_pop(p, old);
	if (r < 0)
		return r;
	if ((r = get_action(p, v, "action", "errnoRet", &rule->action)) < 0)
		return r;
	if (rule->action == SCMP_ACT_NOTIFY) {
		c->has_notify = true;
		for (size_t i = 0; i < rule->n_names; i++) {
			if (!is_handoff_syscall(rule->names[i]))
				continue;
			json_push_key(p, "names");
			json_push_index(p, i);
			return json_fail(
				p,
				"SCMP_ACT_NOTIFY cannot be used for \"%s\": berth needs it "
				"to hand the listener to the agent",
				rule->names[i]);
		}
	}

	yajl_val args = json_member(v, "args");
	if (args) {
		old = json_push_key(p, "args");
		if (YAJL_IS_ARRAY(args) && args->u.array.len > 6)
			r = json_fail(p, "must have at most 6 entries");
		else
			r = json_conv_array(p, args, sizeof(*rule->args), parse_arg,
					    (void **)&rule->args, &rule->n_args);
		json_pop(p, old);
		if (r < 0)
			return r;
	}
	return 0;
}

/* An array of names from table, each into *ret by or (flags) or appended (archs). */
static int conv_names_u32(struct json_parser *p, yajl_val v, const struct name_u32 *table, size_t n,
			  const char *what, unsigned long *or_into, uint32_t **append,
			  size_t *n_append)
{
	if (!YAJL_IS_ARRAY(v))
		return json_fail(p, "must be an array of strings");
	if (append) {
		*append = calloc(v->u.array.len + 1, sizeof(uint32_t));
		if (!*append)
			return json_oom(p);
	}
	for (size_t i = 0; i < v->u.array.len; i++) {
		yajl_val e = v->u.array.values[i];
		size_t old = json_push_index(p, i);
		const struct name_u32 *x = NULL;
		int r = 0;
		if (!YAJL_IS_STRING(e))
			r = json_fail(p, "must be a string");
		else if (!(x = lookup(table, n, e->u.string)))
			r = json_fail(p, "unknown %s \"%s\"", what, e->u.string);
		json_pop(p, old);
		if (!x)
			return r;
		if (append)
			(*append)[(*n_append)++] = x->value;
		else
			*or_into |= x->value;
	}
	return 1;
}

static int parse_section(struct json_parser *p, yajl_val root, struct berth_seccomp_config *c)
{
	int r;

	if (!YAJL_IS_OBJECT(root))
		return json_fail(p, "must be an object");
	if ((r = get_action(p, root, "defaultAction", "defaultErrnoRet", &c->default_action)) < 0)
		return r;
	if (c->default_action == SCMP_ACT_NOTIFY) {
		json_push_key(p, "defaultAction");
		return json_fail(p, "SCMP_ACT_NOTIFY cannot be the default action");
	}
	if ((r = JSON_FIELD(p, root, "architectures",
			    conv_names_u32(p, v, archs, ELEMENTSOF(archs), "architecture", NULL,
					   &c->archs, &c->n_archs))) < 0 ||
	    (r = JSON_FIELD(p, root, "flags",
			    conv_names_u32(p, v, flags_table, ELEMENTSOF(flags_table), "flag",
					   &c->flags, NULL, NULL))) < 0 ||
	    (r = json_field_string(p, root, "listenerPath", &c->listener_path)) < 0 ||
	    (r = json_field_string(p, root, "listenerMetadata", &c->listener_metadata)) < 0)
		return r;

	yajl_val v = json_member(root, "syscalls");
	if (v) {
		size_t old = json_push_key(p, "syscalls");
		if (!YAJL_IS_ARRAY(v))
			return json_fail(p, "must be an array");
		c->rules = calloc(v->u.array.len + 1, sizeof(*c->rules));
		if (!c->rules)
			return json_oom(p);
		for (size_t i = 0; i < v->u.array.len; i++) {
			size_t oi = json_push_index(p, i);
			c->n_rules++;
			r = parse_rule(p, v->u.array.values[i], &c->rules[i], c);
			if (r < 0)
				return r;
			json_pop(p, oi);
		}
		json_pop(p, old);
	}

	if (c->has_notify) {
		struct sockaddr_un sa;
		json_push_key(p, "listenerPath");
		if (!c->listener_path)
			return json_fail(p, "is required with SCMP_ACT_NOTIFY rules");
		if (c->listener_path[0] != '/' || strlen(c->listener_path) >= sizeof(sa.sun_path))
			return json_fail(p, "must be an absolute path of at most %zu bytes",
					 sizeof(sa.sun_path) - 1);
	}
	return 0;
}

int berth_seccomp_parse(const char *json, struct berth_seccomp_config **ret,
			struct berth_error **err)
{
	struct json_parser p;
	yajl_val root = NULL;
	json_parser_init(&p, "config.json", "linux.seccomp", err);
	int r = json_parse(&p, json, json ? strlen(json) : 0, &root);
	if (r < 0)
		return r;
	struct berth_seccomp_config *c = calloc(1, sizeof(*c));
	r = c ? parse_section(&p, root, c) : json_oom(&p);
	yajl_tree_free(root);
	if (r < 0) {
		berth_seccomp_config_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void berth_seccomp_config_free(struct berth_seccomp_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_rules; i++) {
		strv_free(c->rules[i].names);
		free(c->rules[i].args);
	}
	free(c->rules);
	free(c->archs);
	free(c->listener_path);
	free(c->listener_metadata);
	free(c);
}

void berth_seccomp_free(struct berth_seccomp *f)
{
	if (!f)
		return;
	free(f->insns);
	strv_free(f->warnings);
	free(f);
}

int berth_seccomp_add_warning(struct berth_seccomp *f, const char *msg)
{
	char **nw = realloc(f->warnings, (f->n_warnings + 2) * sizeof(char *));
	if (!nw)
		return -ENOMEM;
	f->warnings = nw;
	nw[f->n_warnings] = strdup(msg);
	if (!nw[f->n_warnings])
		return -ENOMEM;
	nw[++f->n_warnings] = NULL;
	return 0;
}

/* ---- kernel probes ---- */

static bool kernel_has_action(uint32_t action)
{
	uint32_t a = action == SCMP_ACT_KILL_PROCESS ? action : action & 0xffff0000U;
	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &a) == 0;
}

/*
 * A filter flag is known to the kernel if seccomp(2) gets past the flag check
 * and fails on the NULL program (EFAULT) instead of EINVAL.
 */
static bool kernel_has_flag(unsigned long flag)
{
	if (flag == BERTH_SECCOMP_FLAG_WAIT_KILLABLE_RECV)
		flag |= BERTH_SECCOMP_FLAG_NEW_LISTENER;
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, NULL);
	return r < 0 && errno == EFAULT;
}

bool berth_seccomp_flag_supported(const char *name)
{
	const struct name_u32 *f = lookup(flags_table, ELEMENTSOF(flags_table), name);
	return f && kernel_has_flag(f->value);
}

/* ---- compiler ---- */

struct limits {
	struct berth_seccomp_nr_limit l[ELEMENTSOF(archs) + 1];
	uint32_t token[ELEMENTSOF(archs) + 1];
	size_t n;
};

static void limits_add_arch(struct limits *lim, uint32_t token)
{
	for (size_t i = 0; i < lim->n; i++)
		if (lim->token[i] == token)
			return;
	if (lim->n >= ELEMENTSOF(lim->l))
		return;
	lim->token[lim->n] = token;
	lim->l[lim->n] = (struct berth_seccomp_nr_limit){
		.audit_arch = token == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token,
		.x32 = token == SCMP_ARCH_X32,
	};
	lim->n++;
}

static void limits_add_name(struct limits *lim, const char *name)
{
	for (size_t i = 0; i < lim->n; i++) {
		int nr = seccomp_syscall_resolve_name_arch(lim->token[i], name);
		if (nr >= 0 && (uint32_t)nr > lim->l[i].max_nr)
			lim->l[i].max_nr = (uint32_t)nr;
	}
}

/* The arch-independent libseccomp part: a context with every rule added. */
static int build_ctx(const struct berth_seccomp_config *c, struct berth_seccomp *f,
		     struct limits *lim, scmp_filter_ctx *ret, struct berth_error **err)
{
	scmp_filter_ctx ctx = seccomp_init(c->default_action);
	if (!ctx)
		return berth_error_setx(
			err, EINVAL,
			"seccomp: libseccomp cannot make a filter with default action %s",
			action_name(c->default_action));
	*ret = ctx;
	/* we load the program ourselves: none of libseccomp's load-time behaviour applies */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (c->n_rules > 32)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

	limits_add_arch(lim, seccomp_arch_native());
	for (size_t i = 0; i < c->n_archs; i++) {
		int r = seccomp_arch_add(ctx, c->archs[i]);
		if (r < 0 && r != -EEXIST)
			return berth_error_set(
				err, -r,
				"config.json: linux.seccomp.architectures[%zu]: add to the filter",
				i);
		limits_add_arch(lim, c->archs[i]);
	}

	for (size_t i = 0; i < c->n_rules; i++) {
		const struct berth_seccomp_rule *rule = &c->rules[i];
		struct scmp_arg_cmp cmp[6];
		bool same_index = false;
		for (size_t a = 0; a < rule->n_args; a++) {
			cmp[a] = (struct scmp_arg_cmp){ .arg = rule->args[a].index,
							.op = (enum scmp_compare)rule->args[a].op,
							.datum_a = rule->args[a].value,
							.datum_b = rule->args[a].value_two };
			for (size_t b = 0; b < a; b++)
				same_index |= rule->args[b].index == rule->args[a].index;
		}
		if (!kernel_has_action(rule->action))
			return berth_error_setx(err, EOPNOTSUPP,
						"config.json: linux.seccomp.syscalls[%zu].action: "
						"the kernel does not support \"%s\"",
						i, action_name(rule->action));
		for (size_t j = 0; j < rule->n_names; j++) {
			const char *name = rule->names[j];
			int nr = seccomp_syscall_resolve_name(name);
			if (nr == __NR_SCMP_ERROR) {
				char w[512];
				snprintf(w, sizeof(w),
					 "config.json: linux.seccomp.syscalls[%zu].names[%zu]: "
					 "unknown syscall \"%s\" skipped",
					 i, j, name);
				if (berth_seccomp_add_warning(f, w) < 0)
					return berth_error_set(err, ENOMEM, "seccomp");
				continue;
			}
			limits_add_name(lim, name);
			int r;
			if (!same_index) {
				r = seccomp_rule_add_array(ctx, rule->action, nr,
							   (unsigned)rule->n_args, cmp);
			} else {
				/* Several conditions on one argument: libseccomp wants one rule each (any matches). */
				r = 0;
				for (size_t a = 0; a < rule->n_args && r >= 0; a++)
					r = seccomp_rule_add_array(ctx, rule->action, nr, 1,
								   &cmp[a]);
			}
			/* -EACCES: the rule's action is the default action, nothing to add */
			if (r < 0 && r != -EACCES)
				return berth_error_set(err, -r,
						       "config.json: linux.seccomp.syscalls[%zu]: "
						       "add rule for \"%s\"",
						       i, name);
		}
	}
	return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct sock_filter **ret, size_t *ret_n,
		      struct berth_error **err)
{
	_cleanup_close_ int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return berth_error_set(err, errno, "seccomp: memfd");
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return berth_error_set(err, -r, "seccomp: export the BPF program");
	if (lseek(fd, 0, SEEK_SET) < 0)
		return berth_error_set(err, errno, "seccomp: memfd");
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	r = read_fd_all(fd, 4u << 20, &buf, &len);
	if (r < 0)
		return berth_error_set(err, -r, "seccomp: read the BPF program");
	if (len == 0 || len % sizeof(struct sock_filter))
		return berth_error_setx(err, EIO, "seccomp: libseccomp exported %zu bytes", len);
	*ret_n = len / sizeof(struct sock_filter);
	*ret = malloc(len);
	if (!*ret)
		return berth_error_set(err, ENOMEM, "seccomp");
	memcpy(*ret, buf, len);
	return 0;
}

int berth_seccomp_compile(const struct berth_seccomp_config *c, struct berth_seccomp **ret,
			  struct berth_error **err)
{
	_cleanup_(berth_seccomp_freep) struct berth_seccomp *f = calloc(1, sizeof(*f));
	if (!f)
		return berth_error_set(err, ENOMEM, "seccomp");
	if (!kernel_has_action(c->default_action))
		return berth_error_setx(err, EOPNOTSUPP,
					"config.json: linux.seccomp.defaultAction: the kernel does "
					"not support \"%s\"",
					action_name(c->default_action));
	for (size_t i = 0; i < ELEMENTSOF(flags_table); i++) {
		if (!(c->flags & flags_table[i].value))
			continue;
		/* Without a listener there is no receive to make killable: nothing to ask for. */
		if (flags_table[i].value == BERTH_SECCOMP_FLAG_WAIT_KILLABLE_RECV && !c->has_notify)
			continue;
		if (!kernel_has_flag(flags_table[i].value))
			return berth_error_setx(err, EOPNOTSUPP,
						"config.json: linux.seccomp.flags: the kernel does "
						"not support \"%s\"",
						flags_table[i].name);
		f->flags |= flags_table[i].value;
	}
	f->notify = c->has_notify;
	/* TSYNC and a listener are exclusive unless a failed sync may be reported as ESRCH */
	if (f->notify && (f->flags & BERTH_SECCOMP_FLAG_TSYNC))
		f->flags |= BERTH_SECCOMP_FLAG_TSYNC_ESRCH;

	struct limits lim = { .n = 0 };
	scmp_filter_ctx ctx = NULL;
	int r = build_ctx(c, f, &lim, &ctx, err);
	_cleanup_free_ struct sock_filter *prog = NULL;
	size_t n_prog = 0;
	if (r >= 0)
		r = export_bpf(ctx, &prog, &n_prog, err);
	if (ctx)
		seccomp_release(ctx);
	if (r < 0)
		return r;

	_cleanup_free_ struct sock_filter *pre = NULL;
	size_t n_pre = 0;
	if ((c->default_action & 0xffff0000U) == SCMP_ACT_ERRNO(0)) {
		/* only architectures where the profile names something */
		struct berth_seccomp_nr_limit use[ELEMENTSOF(lim.l)];
		size_t n_use = 0;
		for (size_t i = 0; i < lim.n; i++)
			if (lim.l[i].max_nr > 0)
				use[n_use++] = lim.l[i];
		if (berth_seccomp_enosys_preamble(use, n_use, &pre, &n_pre) < 0)
			return berth_error_set(err, ENOMEM, "seccomp");
	}
	if (n_pre + n_prog > BPF_MAXINSNS)
		return berth_error_setx(
			err, E2BIG,
			"config.json: linux.seccomp: the filter has %zu instructions, more than %d",
			n_pre + n_prog, BPF_MAXINSNS);
	f->insns = malloc((n_pre + n_prog) * sizeof(struct sock_filter));
	if (!f->insns)
		return berth_error_set(err, ENOMEM, "seccomp");
	if (n_pre)
		memcpy(f->insns, pre, n_pre * sizeof(struct sock_filter));
	memcpy(f->insns + n_pre, prog, n_prog * sizeof(struct sock_filter));
	f->n_insns = n_pre + n_prog;
	*ret = TAKE_PTR(f);
	return 0;
}
