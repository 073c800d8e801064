/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the seccomp-*.c files: parser errors and their JSON paths,
 * operator and action mapping, the cache key, the ENOSYS preamble and whole
 * compiled programs (run through a small classic-BPF interpreter), the cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/seccomp.h>

#include <seccomp.h>

#include "seccomp-filter.h"
#include "util/macro.h"
#include "util/sha256.h"
#include "tests.h"

/* ---- a classic BPF interpreter for seccomp programs ---- */

static uint32_t run_bpf(const struct sock_filter *f, size_t n, const struct seccomp_data *d)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = { 0 };
	const uint8_t *data = (const uint8_t *)d;
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *i = &f[pc];
		uint32_t src = BPF_SRC(i->code) == BPF_X ? X : i->k;
		switch (BPF_CLASS(i->code)) {
		case BPF_LD:
			if (BPF_MODE(i->code) == BPF_ABS) {
				check(BPF_SIZE(i->code) == BPF_W && i->k + 4 <= sizeof(*d));
				memcpy(&A, data + i->k, 4);
			} else if (BPF_MODE(i->code) == BPF_MEM) {
				A = M[i->k];
			} else if (BPF_MODE(i->code) == BPF_IMM) {
				A = i->k;
			} else {
				check(!"unsupported ld");
			}
			break;
		case BPF_LDX:
			X = BPF_MODE(i->code) == BPF_MEM ? M[i->k] : i->k;
			break;
		case BPF_ST:
			M[i->k] = A;
			break;
		case BPF_STX:
			M[i->k] = X;
			break;
		case BPF_ALU:
			switch (BPF_OP(i->code)) {
			case BPF_ADD:
				A += src;
				break;
			case BPF_SUB:
				A -= src;
				break;
			case BPF_AND:
				A &= src;
				break;
			case BPF_OR:
				A |= src;
				break;
			case BPF_LSH:
				A <<= src;
				break;
			case BPF_RSH:
				A >>= src;
				break;
			case BPF_NEG:
				A = -A;
				break;
			default:
				check(!"unsupported alu");
			}
			break;
		case BPF_JMP:
			if (BPF_OP(i->code) == BPF_JA) {
				pc += i->k;
				break;
			}
			bool t;
			switch (BPF_OP(i->code)) {
			case BPF_JEQ:
				t = A == src;
				break;
			case BPF_JGT:
				t = A > src;
				break;
			case BPF_JGE:
				t = A >= src;
				break;
			case BPF_JSET:
				t = (A & src) != 0;
				break;
			default:
				check(!"unsupported jmp");
				t = false;
			}
			pc += t ? i->jt : i->jf;
			break;
		case BPF_RET:
			return BPF_RVAL(i->code) == BPF_A ? A : i->k;
		case BPF_MISC:
			if (BPF_MISCOP(i->code) == BPF_TAX)
				X = A;
			else
				A = X;
			break;
		}
	}
	check(!"fell off the end of the program");
	return 0;
}

static struct seccomp_data sd(uint32_t arch, int nr, uint64_t a0)
{
	struct seccomp_data d = { .nr = nr, .arch = arch };
	d.args[0] = a0;
	return d;
}

/* ---- parser ---- */

static void expect_error(const char *json, const char *msg)
{
	struct berth_seccomp_config *c = NULL;
	struct berth_error *e = NULL;
	int r = berth_seccomp_parse(json, &c, &e);
	if (r >= 0 || !e || strcmp(e->msg, msg) != 0) {
		fprintf(stderr, "for %s\n  want: %s\n  got:  %s\n", json, msg,
			e ? e->msg : "(no error)");
		abort();
	}
	check(r == -EINVAL && !c);
	berth_error_free(e);
}

static void test_parse_errors(void)
{
	expect_error("{}", "config.json: linux.seccomp.defaultAction: is required");
	expect_error("{\"defaultAction\":\"SCMP_ACT_NOPE\"}",
		     "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\"");
	expect_error("{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}",
		     "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the "
		     "default action");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":5}",
		     "config.json: linux.seccomp.defaultErrnoRet: not allowed with action "
		     "\"SCMP_ACT_ALLOW\"");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}",
		     "config.json: linux.seccomp.defaultErrnoRet: must be a non-negative integer");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":5000}",
		     "config.json: linux.seccomp.defaultErrnoRet: must be at most 4095");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_"
		     "64\",\"SCMP_ARCH_Z80\"]}",
		     "config.json: linux.seccomp.architectures[1]: unknown architecture "
		     "\"SCMP_ARCH_Z80\"");
	expect_error(
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_NOPE\"]}",
		"config.json: linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_NOPE\"");
	const char *pre = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":["
			  "\"read\"],\"action\":"
			  "\"SCMP_ACT_ERRNO\"},{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\"}"
			  ",{\"names\":"
			  "[\"read\"],\"action\":\"SCMP_ACT_ERRNO\"},";
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_FOO\"}]}", pre);
	expect_error(
		buf,
		"config.json: linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\"");
	snprintf(buf, sizeof(buf),
		 "%s{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":7,"
		 "\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
		 pre);
	expect_error(
		buf,
		"config.json: linux.seccomp.syscalls[3].args[0].index: must be between 0 and 5");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"kill\"],"
		     "\"action\":\"SCMP_ACT_ERRNO\","
		     "\"args\":[{\"index\":1,\"value\":9,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,"
		     "\"value\":1,\"op\":\"SCMP_CMP_XX\"}]}]}",
		     "config.json: linux.seccomp.syscalls[0].args[1].op: unknown operator "
		     "\"SCMP_CMP_XX\"");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"kill\"],"
		     "\"action\":\"SCMP_ACT_ERRNO\","
		     "\"args\":[{\"index\":1,\"value\":-9,\"op\":\"SCMP_CMP_EQ\"}]}]}",
		     "config.json: linux.seccomp.syscalls[0].args[0].value: must be a non-negative "
		     "integer");
	expect_error(
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"kill\"],"
		"\"action\":\"SCMP_ACT_ERRNO\","
		"\"args\":[{\"index\":1,\"value\":18446744073709551616,\"op\":\"SCMP_CMP_EQ\"}]}]}",
		"config.json: linux.seccomp.syscalls[0].args[0].value: must be at most "
		"18446744073709551615");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[],\"action\":"
		     "\"SCMP_ACT_ERRNO\"}]}",
		     "config.json: linux.seccomp.syscalls[0].names: must be a non-empty array of "
		     "strings");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\",7],"
		     "\"action\":\"SCMP_ACT_ERRNO\"}]}",
		     "config.json: linux.seccomp.syscalls[0].names[1]: must be a non-empty string");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"]}]}",
		     "config.json: linux.seccomp.syscalls[0].action: is required");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],"
		     "\"action\":\"SCMP_ACT_KILL\",\"errnoRet\":1}]}",
		     "config.json: linux.seccomp.syscalls[0].errnoRet: not allowed with action "
		     "\"SCMP_ACT_KILL\"");
	expect_error(
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],\"action\":"
		"\"SCMP_ACT_NOTIFY\"}]}",
		"config.json: linux.seccomp.listenerPath: is required with SCMP_ACT_NOTIFY rules");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"rel\",\"syscalls\":["
		     "{\"names\":[\"a\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
		     "config.json: linux.seccomp.listenerPath: must be an absolute path of at most "
		     "107 bytes");
	expect_error(
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],\"action\":"
		"\"SCMP_ACT_ALLOW\",\"args\":[{\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
		"config.json: linux.seccomp.syscalls[0].args[0].index: is required");
	expect_error("[1]", "config.json: linux.seccomp: must be an object");
	/* berth passes the listener on with sendmsg and reports errors with write */
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/s\",\"syscalls\":["
		     "{\"names\":[\"read\",\"sendmsg\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
		     "config.json: linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be "
		     "used for \"sendmsg\": berth needs it to hand the listener to the agent");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/s\",\"syscalls\":["
		     "{\"names\":[\"write\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
		     "config.json: linux.seccomp.syscalls[0].names[0]: SCMP_ACT_NOTIFY cannot be "
		     "used for \"write\": berth needs it to hand the listener to the agent");
}

static void test_parse_ok(void)
{
	const char *json =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
		"\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X32\"],"
		"\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],"
		"\"listenerPath\":\"/run/agent.sock\",\"listenerMetadata\":\"meta\","
		"\"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"},"
		"{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":7},"
		"{\"names\":[\"x\"],\"action\":\"SCMP_ACT_ERRNO\"},"
		"{\"names\":[\"p\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		"{\"index\":0,\"value\":18446744073709551615,\"op\":\"SCMP_CMP_NE\"},"
		"{\"index\":1,\"value\":1,\"op\":\"SCMP_CMP_LT\"},"
		"{\"index\":2,\"value\":2,\"op\":\"SCMP_CMP_LE\"},"
		"{\"index\":3,\"value\":3,\"op\":\"SCMP_CMP_EQ\"},"
		"{\"index\":4,\"value\":4,\"op\":\"SCMP_CMP_GE\"},"
		"{\"index\":5,\"value\":5,\"op\":\"SCMP_CMP_GT\"}]},"
		"{\"names\":[\"q\"],\"action\":\"SCMP_ACT_KILL_PROCESS\",\"args\":["
		"{\"index\":0,\"value\":255,\"valueTwo\":18446744073709551614,\"op\":\"SCMP_CMP_"
		"MASKED_EQ\"}]}]}";
	struct berth_seccomp_config *c = NULL;
	struct berth_error *e = NULL;
	check(berth_seccomp_parse(json, &c, &e) == 0 && !e);
	check(c->default_action == SCMP_ACT_ERRNO(38));
	check(c->n_archs == 2 && c->archs[0] == SCMP_ARCH_X86_64 && c->archs[1] == SCMP_ARCH_X32);
	check(c->flags == (BERTH_SECCOMP_FLAG_LOG | BERTH_SECCOMP_FLAG_SPEC_ALLOW));
	check(strcmp(c->listener_path, "/run/agent.sock") == 0 &&
	      strcmp(c->listener_metadata, "meta") == 0);
	check(c->has_notify && c->n_rules == 6);
	check(c->rules[0].n_names == 2 && strcmp(c->rules[0].names[1], "write") == 0 &&
	      !c->rules[0].names[2]);
	check(c->rules[0].action == SCMP_ACT_ALLOW);
	check(c->rules[1].action == SCMP_ACT_NOTIFY);
	check(c->rules[2].action == SCMP_ACT_TRACE(7));
	check(c->rules[3].action == SCMP_ACT_ERRNO(EPERM)); /* errnoRet defaults to EPERM */
	const struct berth_seccomp_rule *p = &c->rules[4];
	check(p->n_args == 6);
	const int ops[] = { SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE,
			    SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT };
	for (unsigned i = 0; i < 6; i++)
		check(p->args[i].index == i && p->args[i].op == ops[i]);
	check(p->args[0].value == UINT64_MAX); /* exact, not clamped to INT64_MAX */
	const struct berth_seccomp_rule *q = &c->rules[5];
	check(q->action == SCMP_ACT_KILL_PROCESS && q->args[0].op == SCMP_CMP_MASKED_EQ);
	check(q->args[0].value == 255 && q->args[0].value_two == UINT64_MAX - 1);
	berth_seccomp_config_free(c);
}

/* ---- the cache key ---- */

static void hexs(const uint8_t *h, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

static void test_cache_key(void)
{
	uint8_t a[32], b[32], c[32];
	berth_seccomp_cache_key("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", a);
	berth_seccomp_cache_key("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", b);
	berth_seccomp_cache_key("{\"defaultAction\":\"SCMP_ACT_LOG\"}", c);
	check(memcmp(a, b, 32) == 0);
	check(memcmp(a, c, 32) != 0);
	/* not just the hash of the text: versions and kernel are in it */
	uint8_t plain[32];
	const char *t = "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}";
	sha256(t, strlen(t), plain);
	check(memcmp(a, plain, 32) != 0);
}

/* ---- the ENOSYS preamble ---- */

static void test_preamble(void)
{
	const struct berth_seccomp_nr_limit l[] = {
		{ .audit_arch = AUDIT_ARCH_X86_64, .max_nr = 300 },
		{ .audit_arch = AUDIT_ARCH_I386, .max_nr = 100 },
		{ .audit_arch = AUDIT_ARCH_X86_64, .x32 = true, .max_nr = 0x40000000 | 200 },
	};
	struct sock_filter *pre = NULL;
	size_t n = 0;
	check(berth_seccomp_enosys_preamble(l, 3, &pre, &n) == 0);
	/* what follows the preamble: a marker so we see fall-through */
	struct sock_filter *prog = calloc(n + 1, sizeof(*prog));
	memcpy(prog, pre, n * sizeof(*prog));
	prog[n] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	const uint32_t enosys = SECCOMP_RET_ERRNO | ENOSYS;
	struct seccomp_data d;
	d = sd(AUDIT_ARCH_X86_64, 300, 0);
	check(run_bpf(prog, n + 1, &d) == SECCOMP_RET_ALLOW);
	d = sd(AUDIT_ARCH_X86_64, 301, 0);
	check(run_bpf(prog, n + 1, &d) == enosys);
	d = sd(AUDIT_ARCH_X86_64, 0, 0);
	check(run_bpf(prog, n + 1, &d) == SECCOMP_RET_ALLOW);
	d = sd(AUDIT_ARCH_X86_64, 0x40000000 | 200, 0);
	check(run_bpf(prog, n + 1, &d) == SECCOMP_RET_ALLOW);
	d = sd(AUDIT_ARCH_X86_64, 0x40000000 | 201, 0);
	check(run_bpf(prog, n + 1, &d) == enosys);
	d = sd(AUDIT_ARCH_I386, 100, 0);
	check(run_bpf(prog, n + 1, &d) == SECCOMP_RET_ALLOW);
	d = sd(AUDIT_ARCH_I386, 101, 0);
	check(run_bpf(prog, n + 1, &d) == enosys);
	d = sd(AUDIT_ARCH_AARCH64, 5000, 0); /* not in the filter: left to the program */
	check(run_bpf(prog, n + 1, &d) == SECCOMP_RET_ALLOW);
	free(pre);

	/* x86_64 without x32: x32 numbers are the program's business, not ENOSYS */
	check(berth_seccomp_enosys_preamble(l, 1, &pre, &n) == 0);
	memcpy(prog, pre, n * sizeof(*prog));
	prog[n] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	d = sd(AUDIT_ARCH_X86_64, 0x40000000 | 5, 0);
	check(run_bpf(prog, n + 1, &d) == SECCOMP_RET_KILL_PROCESS);
	d = sd(AUDIT_ARCH_X86_64, 400, 0);
	check(run_bpf(prog, n + 1, &d) == enosys);
	free(pre);

	check(berth_seccomp_enosys_preamble(NULL, 0, &pre, &n) == 0 && n == 0);
	free(pre);
	free(prog);
}

/* ---- whole programs ---- */

static struct berth_seccomp *compile(const char *json)
{
	struct berth_seccomp_config *c = NULL;
	struct berth_seccomp *f = NULL;
	struct berth_error *e = NULL;
	check(berth_seccomp_parse(json, &c, &e) == 0);
	if (berth_seccomp_compile(c, &f, &e) < 0) {
		fprintf(stderr, "compile: %s\n", e->msg);
		abort();
	}
	berth_seccomp_config_free(c);
	return f;
}

static uint32_t verdict(const struct berth_seccomp *f, const char *name, uint64_t a0)
{
	int nr = seccomp_syscall_resolve_name(name);
	check(nr >= 0);
	struct seccomp_data d = sd(AUDIT_ARCH_X86_64, nr, a0);
	return run_bpf(f->insns, f->n_insns, &d);
}

static void test_compile(void)
{
#if !defined(__x86_64__)
	return; /* the syscall numbers below are x86_64's */
#endif
	struct berth_seccomp *f =
		compile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\"syscalls\":["
			"{\"names\":[\"read\",\"write\",\"close_range\",\"no_such_call\"],"
			"\"action\":\"SCMP_ACT_ALLOW\"},"
			"{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38},"
			"{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"},"
			"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
			"{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":"
			"4294967295,\"op\":\"SCMP_CMP_EQ\"}]},"
			"{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_TRAP\",\"args\":["
			"{\"index\":1,\"value\":9,\"op\":\"SCMP_CMP_EQ\"}]}]}");
	check(!f->notify && !f->from_cache);
	check(f->n_warnings == 1 &&
	      strstr(f->warnings[0], "syscalls[0].names[3]: unknown syscall \"no_such_call\""));
	check(verdict(f, "read", 0) == SECCOMP_RET_ALLOW);
	check(verdict(f, "mkdir", 0) == (SECCOMP_RET_ERRNO | 38));
	check(verdict(f, "getpid", 0) == SECCOMP_RET_KILL_PROCESS);
	check(verdict(f, "personality", 0) == SECCOMP_RET_ALLOW);
	check(verdict(f, "personality", 0xffffffff) == SECCOMP_RET_ALLOW);
	check(verdict(f, "personality", 8) == (SECCOMP_RET_ERRNO | 1));
	/* a syscall below the highest named one: the default errno */
	check(verdict(f, "sync", 0) == (SECCOMP_RET_ERRNO | 1));
	/* above close_range (436), the highest named: ENOSYS */
	check(verdict(f, "openat2", 0) == (SECCOMP_RET_ERRNO | ENOSYS));
	check(verdict(f, "faccessat2", 0) == (SECCOMP_RET_ERRNO | ENOSYS));
	struct seccomp_data d = sd(AUDIT_ARCH_X86_64, seccomp_syscall_resolve_name("kill"), 1);
	d.args[1] = 9;
	check(run_bpf(f->insns, f->n_insns, &d) == SECCOMP_RET_TRAP);
	d.args[1] = 15;
	check(run_bpf(f->insns, f->n_insns, &d) == (SECCOMP_RET_ERRNO | 1));
	berth_seccomp_free(f);

	/* not an errno default: no preamble, new syscalls get the default */
	f = compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
		    "\"action\":\"SCMP_ACT_LOG\"}]}");
	check(verdict(f, "openat2", 0) == SECCOMP_RET_ALLOW);
	check(verdict(f, "mkdir", 0) == SECCOMP_RET_LOG);
	berth_seccomp_free(f);

	/* notify, and flags that only make sense with it */
	f = compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/"
		    "x\",\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\"],"
		    "\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}");
	check(f->notify && (f->flags & BERTH_SECCOMP_FLAG_TSYNC) &&
	      (f->flags & BERTH_SECCOMP_FLAG_TSYNC_ESRCH));
	check(verdict(f, "mkdir", 0) == SECCOMP_RET_USER_NOTIF);
	berth_seccomp_free(f);
	f = compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_WAIT_"
		    "KILLABLE_RECV\"]}");
	check(f->flags == 0); /* dropped: no listener to receive from */
	berth_seccomp_free(f);
}

static void test_default_profile(void)
{
#if !defined(__x86_64__)
	return;
#endif
	FILE *fp = fopen(SRCDIR "/config/seccomp-default.json", "re");
	check(fp);
	char *text = calloc(1, 1 << 20);
	size_t n = fread(text, 1, (1 << 20) - 1, fp);
	fclose(fp);
	check(n > 0);
	struct berth_seccomp *f = compile(text);
	free(text);
	check(f->n_warnings == 0); /* every name is known to libseccomp */
	const char *allowed[] = { "read",	"write",       "openat",       "execve",
				  "mkdir",	"kill",	       "wait4",	       "socket",
				  "connect",	"close_range", "rt_sigaction", "exit_group",
				  "getdents64", "statx" };
	for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
		check(verdict(f, allowed[i], 0) == SECCOMP_RET_ALLOW);
	const char *denied[] = { "unshare",	"mount",  "keyctl", "kexec_load",
				 "bpf",		"ptrace", "setns",  "umount2",
				 "init_module", "reboot", "swapon", "pivot_root" };
	for (size_t i = 0; i < ELEMENTSOF(denied); i++)
		check(verdict(f, denied[i], 0) == (SECCOMP_RET_ERRNO | EPERM));
	check(verdict(f, "clone", 0x11 /* SIGCHLD */) == SECCOMP_RET_ALLOW);
	check(verdict(f, "clone", 0x40000000 /* CLONE_NEWNET */) == (SECCOMP_RET_ERRNO | EPERM));
	check(verdict(f, "clone3", 0) == (SECCOMP_RET_ERRNO | ENOSYS));
	check(verdict(f, "personality", 0xffffffff) == SECCOMP_RET_ALLOW);
	check(verdict(f, "personality", 0x0040000 /* ADDR_NO_RANDOMIZE */) ==
	      (SECCOMP_RET_ERRNO | EPERM));
	berth_seccomp_free(f);
}

/* ---- the cache ---- */

static void test_cache(void)
{
	char dir[] = "/tmp/test-seccomp-XXXXXX";
	check(mkdtemp(dir));
	char cache[64];
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	const char *json = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":["
			   "\"read\",\"bogus_call\"],"
			   "\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"mkdir\"],\"action\":"
			   "\"SCMP_ACT_NOTIFY\"}],"
			   "\"listenerPath\":\"/a\"}";
	struct berth_seccomp *a = NULL, *b = NULL, *c = NULL;
	struct berth_error *e = NULL;
	unsetenv("BERTH_SECCOMP_CACHE");
	check(berth_seccomp_prepare(json, cache, &a, &e) == 0);
	check(!a->from_cache && a->n_warnings == 1 && a->notify);

	uint8_t key[32];
	char name[256], hex[65];
	berth_seccomp_cache_key(json, key);
	hexs(key, hex);
	snprintf(name, sizeof(name), "%s/%s.bpf", cache, hex);
	struct stat st;
	check(stat(name, &st) == 0 && (st.st_mode & 0777) == 0600);

	check(berth_seccomp_prepare(json, cache, &b, &e) == 0);
	check(b->from_cache && b->notify == a->notify && b->flags == a->flags);
	check(b->n_insns == a->n_insns &&
	      memcmp(a->insns, b->insns, a->n_insns * sizeof(*a->insns)) == 0);
	check(b->n_warnings == 1 && strcmp(a->warnings[0], b->warnings[0]) == 0);

	/* a damaged file is a miss, never a wrong program */
	int fd = open(name, O_WRONLY | O_CLOEXEC);
	check(fd >= 0);
	check(pwrite(fd, "\xff", 1, (off_t)st.st_size - 40) == 1);
	close(fd);
	check(berth_seccomp_prepare(json, cache, &c, &e) == 0);
	check(!c->from_cache && c->n_insns == a->n_insns);
	berth_seccomp_free(c);
	c = NULL;

	/* BERTH_SECCOMP_CACHE=0: compiled every time */
	setenv("BERTH_SECCOMP_CACHE", "0", 1);
	check(berth_seccomp_prepare(json, cache, &c, &e) == 0 && !c->from_cache);
	unsetenv("BERTH_SECCOMP_CACHE");
	berth_seccomp_free(c);

	/* a bad section is an error, and nothing is cached for it */
	check(berth_seccomp_prepare("{\"defaultAction\":\"SCMP_ACT_FOO\"}", cache, &c, &e) ==
	      -EINVAL);
	check(e && strstr(e->msg, "unknown action"));
	berth_error_free(e);

	berth_seccomp_free(a);
	berth_seccomp_free(b);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	check(system(cmd) == 0);
}

int main(void)
{
	test_parse_errors();
	test_parse_ok();
	test_cache_key();
	test_preamble();
	test_compile();
	test_default_profile();
	test_cache();
	printf("test-seccomp: ok\n");
	return 0;
}
