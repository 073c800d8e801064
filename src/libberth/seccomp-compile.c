// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The compiler of linux.seccomp: a parsed config into the classic BPF program
 * seccomp(2) takes, with libseccomp (rules, architectures), the kernel probes
 * for actions and flags, and the ENOSYS preamble in front. The only file that
 * calls libseccomp. Runs in the parent (berth create/exec).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/seccomp.h>

#include <seccomp.h>

#include "seccomp-internal.h"
#include "util/fd.h"
#include "util/macro.h"

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

#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif

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
	const struct berth_seccomp_name *f =
		berth_seccomp_lookup(berth_seccomp_flags, BERTH_SECCOMP_N_FLAGS, name);
	return f && kernel_has_flag(f->value);
}

/* ---- the compiler ---- */

/* The highest syscall number per architecture: the native one and those of the config. */
struct limits {
	struct berth_seccomp_nr_limit l[BERTH_SECCOMP_N_ARCHS + 1];
	uint32_t token[BERTH_SECCOMP_N_ARCHS + 1];
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
			berth_seccomp_action_name(c->default_action));
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
						i, berth_seccomp_action_name(rule->action));
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
					berth_seccomp_action_name(c->default_action));
	for (size_t i = 0; i < BERTH_SECCOMP_N_FLAGS; i++) {
		if (!(c->flags & berth_seccomp_flags[i].value))
			continue;
		/* Without a listener there is no receive to make killable: nothing to ask for. */
		if (berth_seccomp_flags[i].value == BERTH_SECCOMP_FLAG_WAIT_KILLABLE_RECV &&
		    !c->has_notify)
			continue;
		if (!kernel_has_flag(berth_seccomp_flags[i].value))
			return berth_error_setx(err, EOPNOTSUPP,
						"config.json: linux.seccomp.flags: the kernel does "
						"not support \"%s\"",
						berth_seccomp_flags[i].name);
		f->flags |= berth_seccomp_flags[i].value;
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
