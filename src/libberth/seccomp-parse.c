// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The parser of linux.seccomp: the section's text (yajl tree) into a struct
 * berth_seccomp_config, with the JSON path in every error, and the names the
 * section may use (actions, operators, architectures, flags). Runs in the
 * parent (berth create/exec, and berth start/exec again for listenerPath).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <seccomp.h>

#include "json.h"
#include "seccomp-internal.h"
#include "util/macro.h"

#define ERRNO_MAX 4095 /* the kernel clamps SECCOMP_RET_ERRNO data to MAX_ERRNO */

/* ---- the names the section may use, and their values ---- */

static const struct berth_seccomp_name actions[] = {
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

static const struct berth_seccomp_name operators[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE },
	{ "SCMP_CMP_LT", SCMP_CMP_LT },
	{ "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
	{ "SCMP_CMP_GE", SCMP_CMP_GE },
	{ "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static const struct berth_seccomp_name archs[] = {
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

const struct berth_seccomp_name berth_seccomp_flags[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", BERTH_SECCOMP_FLAG_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", BERTH_SECCOMP_FLAG_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", BERTH_SECCOMP_FLAG_SPEC_ALLOW },
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", BERTH_SECCOMP_FLAG_WAIT_KILLABLE_RECV },
};
_Static_assert(ELEMENTSOF(archs) == BERTH_SECCOMP_N_ARCHS, "BERTH_SECCOMP_N_ARCHS is wrong");
_Static_assert(ELEMENTSOF(berth_seccomp_flags) == BERTH_SECCOMP_N_FLAGS,
	       "BERTH_SECCOMP_N_FLAGS is wrong");

/* The same names for `berth features`. */
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

const struct berth_seccomp_name *berth_seccomp_lookup(const struct berth_seccomp_name *t, size_t n,
						      const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(t[i].name, name))
			return &t[i];
	return NULL;
}

const char *berth_seccomp_action_name(uint32_t a)
{
	for (size_t i = 0; i < ELEMENTSOF(actions); i++)
		if (actions[i].value == (a & 0xffff0000U))
			return actions[i].name;
	return "?";
}

/* ---- the parser ---- */

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
	const struct berth_seccomp_name *a = NULL;
	if (!YAJL_IS_STRING(act))
		r = json_fail(p, "must be a string");
	else if (!(a = berth_seccomp_lookup(actions, ELEMENTSOF(actions), act->u.string)))
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
	const struct berth_seccomp_name *op = NULL;
	if (!YAJL_IS_STRING(x))
		r = json_fail(p, "must be a string");
	else if (!(op = berth_seccomp_lookup(operators, ELEMENTSOF(operators), x->u.string)))
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
static int conv_names_u32(struct json_parser *p, yajl_val v, const struct berth_seccomp_name *table,
			  size_t n, const char *what, unsigned long *or_into, uint32_t **append,
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
		const struct berth_seccomp_name *x = NULL;
		int r = 0;
		if (!YAJL_IS_STRING(e))
			r = json_fail(p, "must be a string");
		else if (!(x = berth_seccomp_lookup(table, n, e->u.string)))
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
			    conv_names_u32(p, v, berth_seccomp_flags,
					   ELEMENTSOF(berth_seccomp_flags), "flag", &c->flags, NULL,
					   NULL))) < 0 ||
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
