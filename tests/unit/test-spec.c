/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for spec.c: a config with every field, exact error messages for
 * type and syntax errors, edge cases, file loading, and no crash on mangled input.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <unistd.h>

#include "spec.h"
#include "util/fd.h"
#include "util/macro.h"
#include "tests.h"

#define CAP(c) (UINT64_C(1) << (c))

/*
 * Allocation failure injection: the test binary interposes malloc & co. and can
 * fail the n-th allocation, counting live blocks to find leaks on those paths.
 * Allocations made by libyajl itself are never failed: yajl 2.1 does not check
 * for NULL everywhere. Under valgrind its own allocator wins and this is skipped;
 * under ASan (the sanitizer build of tests/run) malloc must stay ASan's, which
 * initialises before anything of ours can run: nothing is interposed and the
 * allocation failure test is skipped.
 */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#ifndef TEST_ASAN
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

/* volatile: the compiler assumes strdup() & co. leave globals alone */
static volatile long alloc_fail_in = -1; /* fail after this many more allocations; -1: never */
static volatile bool alloc_failed;
static volatile long alloc_live;

static bool called_from_yajl(const void *caller)
{
	Dl_info info;
	return dladdr(caller, &info) != 0 && info.dli_fname && strstr(info.dli_fname, "libyajl");
}

static bool alloc_should_fail(const void *caller)
{
	if (alloc_fail_in < 0 || called_from_yajl(caller))
		return false;
	if (alloc_fail_in-- > 0)
		return false;
	alloc_failed = true;
	errno = ENOMEM;
	return true;
}

void *malloc(size_t n)
{
	if (alloc_should_fail(__builtin_return_address(0)))
		return NULL;
	void *p = __libc_malloc(n);
	alloc_live += p != NULL;
	return p;
}

void *calloc(size_t n, size_t size)
{
	if (alloc_should_fail(__builtin_return_address(0)))
		return NULL;
	void *p = __libc_calloc(n, size);
	alloc_live += p != NULL;
	return p;
}

void *realloc(void *old, size_t n)
{
	if (alloc_should_fail(__builtin_return_address(0)))
		return NULL;
	void *p = __libc_realloc(old, n);
	if (!old && p)
		alloc_live++;
	else if (old && !p && n == 0)
		alloc_live--;
	return p;
}

void free(void *p)
{
	if (p)
		alloc_live--;
	__libc_free(p);
}
#endif /* !TEST_ASAN */

static struct berth_spec *parse_ok(const char *json)
{
	struct berth_spec *s = NULL;
	struct berth_error *e = NULL;
	int r = spec_parse(json, strlen(json), &s, &e);
	if (r < 0) {
		fprintf(stderr, "unexpected error for %s\n  %s\n", json, e ? e->msg : "(none)");
		exit(1);
	}
	check(s);
	check(!e);
	return s;
}

/* Parsing must fail with exactly msg. */
static void parse_fails(const char *json, size_t len, const char *msg)
{
	struct berth_spec *s = NULL;
	struct berth_error *e = NULL;
	int r = spec_parse(json, len, &s, &e);
	if (r >= 0 || !e || !streq(e->msg, msg)) {
		fprintf(stderr, "input:    %.*s\nexpected: %s\ngot:      r=%d %s\n",
			(int)MIN(len, 300), json, msg, r, e ? e->msg : "(no error)");
		exit(1);
	}
	check(r == -e->code);
	check(!s);
	berth_error_free(e);
}

#define FAILS(json, msg) parse_fails((json), strlen(json), (msg))

static char *read_data(const char *name, size_t *ret_len)
{
	char path[4096];
	char *text = NULL;
	snprintf(path, sizeof(path), "%s/tests/unit/data/%s", SRCDIR, name);
	int r = read_file_at(AT_FDCWD, path, BERTH_SPEC_MAX_SIZE, &text, ret_len);
	if (r < 0) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(-r));
		exit(1);
	}
	return text;
}

static void test_full(void)
{
	size_t len;
	_cleanup_free_ char *text = read_data("full-config.json", &len);
	_cleanup_(spec_freep) struct berth_spec *s = NULL;
	struct berth_error *e = NULL;

	check(spec_parse(text, len, &s, &e) == 0);
	check(!e);

	check(streq(s->oci_version, "1.2.0"));
	check(streq(s->root_path, "rootfs"));
	check(s->root_readonly);

	check(s->n_mounts == 3);
	check(streq(s->mounts[0].destination, "/proc"));
	check(streq(s->mounts[0].type, "proc"));
	check(streq(s->mounts[0].source, "proc"));
	check(!s->mounts[0].options && s->mounts[0].n_options == 0);
	check(s->mounts[1].n_options == 3);
	check(streq(s->mounts[1].options[2], "size=18446744073709551615"));
	check(s->mounts[1].options[3] == NULL);
	check(s->mounts[1].n_uid_mappings == 1 && s->mounts[1].uid_mappings[0].host_id == 100000);
	check(s->mounts[1].uid_mappings[0].size == 65536);
	check(s->mounts[1].n_gid_mappings == 1 && s->mounts[1].gid_mappings[0].size == UINT32_MAX);
	check(!s->mounts[2].source && !s->mounts[2].type);
	check(s->mounts[2].n_options == 0 && s->mounts[2].options && !s->mounts[2].options[0]);

	const struct berth_process *p = &s->process;
	check(s->has_process);
	check(p->terminal);
	check(p->has_console_size && p->console_height == 25 && p->console_width == 80);
	check(p->user.uid == 1000 && p->user.gid == UINT32_MAX);
	check(p->user.has_umask && p->user.umask == 18);
	check(p->user.n_additional_gids == 3 && p->user.additional_gids[2] == 7);
	check(p->n_args == 3 && streq(p->args[0], "/bin/sh") && streq(p->args[2], "echo hi"));
	check(p->args[3] == NULL);
	check(p->n_env == 2 && streq(p->env[1], "TERM=xterm") && p->env[2] == NULL);
	check(streq(p->cwd, "/home/user"));
	check(p->caps.has_bounding &&
	      p->caps.bounding == (CAP(CAP_CHOWN) | CAP(CAP_NET_ADMIN) | CAP(CAP_SYS_ADMIN)));
	check(p->caps.has_effective && p->caps.effective == CAP(CAP_CHOWN));
	check(p->caps.has_inheritable && p->caps.inheritable == CAP(CAP_NET_BIND_SERVICE));
	check(p->caps.has_permitted &&
	      p->caps.permitted == (CAP(CAP_CHOWN) | CAP(CAP_NET_BIND_SERVICE)));
	check(p->caps.has_ambient && p->caps.ambient == CAP(CAP_NET_BIND_SERVICE));
	check(p->n_rlimits == 2);
	check(streq(p->rlimits[0].type, "RLIMIT_NOFILE") &&
	      p->rlimits[0].resource == RLIMIT_NOFILE);
	check(p->rlimits[0].soft == 1024 && p->rlimits[0].hard == 4096);
	check(p->rlimits[1].resource == RLIMIT_CORE);
	check(p->rlimits[1].soft == UINT64_MAX && p->rlimits[1].hard == UINT64_MAX);
	check(p->no_new_privileges);
	check(streq(p->apparmor_profile, "berth-default"));
	check(streq(p->selinux_label, "system_u:system_r:container_t:s0"));
	check(p->has_oom_score_adj && p->oom_score_adj == -500);
	check(p->scheduler.set && streq(p->scheduler.policy, "SCHED_DEADLINE"));
	check(p->scheduler.policy_value == SCHED_DEADLINE);
	check(p->scheduler.has_nice && p->scheduler.nice == -5);
	check(p->scheduler.has_priority && p->scheduler.priority == 0);
	check(p->scheduler.flags == (0x01 | 0x40));
	check(p->scheduler.has_runtime && p->scheduler.runtime == 1000000);
	check(p->scheduler.has_deadline && p->scheduler.deadline == 2000000);
	check(p->scheduler.has_period && p->scheduler.period == 3000000);
	check(p->io_priority.set && streq(p->io_priority.class, "IOPRIO_CLASS_IDLE"));
	check(p->io_priority.class_value == 3 && p->io_priority.priority == 7);

	check(streq(s->hostname, "box"));
	check(streq(s->domainname, "example.org"));

	const struct berth_hooks *h = &s->hooks;
	check(h->n[BERTH_HOOK_PRESTART] == 1);
	const struct berth_hook *pre = &h->list[BERTH_HOOK_PRESTART][0];
	check(streq(pre->path, "/usr/bin/net-setup"));
	check(pre->n_args == 2 && streq(pre->args[1], "up") && pre->args[2] == NULL);
	check(pre->n_env == 1 && streq(pre->env[0], "A=1") && pre->env[1] == NULL);
	check(pre->has_timeout && pre->timeout == 5);
	check(h->n[BERTH_HOOK_CREATE_RUNTIME] == 1);
	check(h->n[BERTH_HOOK_CREATE_CONTAINER] == 2);
	check(!h->list[BERTH_HOOK_CREATE_CONTAINER][0].has_timeout);
	check(!h->list[BERTH_HOOK_CREATE_CONTAINER][0].args);
	check(h->list[BERTH_HOOK_CREATE_CONTAINER][1].timeout == 1);
	check(h->n[BERTH_HOOK_START_CONTAINER] == 1 && h->n[BERTH_HOOK_POSTSTART] == 1);
	check(h->n[BERTH_HOOK_POSTSTOP] == 1);
	check(streq(h->list[BERTH_HOOK_POSTSTOP][0].path, "/usr/bin/cleanup"));

	check(s->n_annotations == 2);
	check(streq(spec_annotation(s, "org.example.key"), "value"));
	check(streq(spec_annotation(s, "empty"), ""));
	check(spec_annotation(s, "missing") == NULL);

	const struct berth_linux *l = &s->linux_;
	check(s->has_linux);
	check(l->n_namespaces == 8);
	check(l->namespaces[0].type == BERTH_NS_PID && !l->namespaces[0].path);
	check(l->namespaces[1].type == BERTH_NS_NET &&
	      streq(l->namespaces[1].path, "/run/netns/x"));
	check(l->namespaces[6].type == BERTH_NS_CGROUP && !l->namespaces[6].path); /* "" */
	check(l->namespaces[7].type == BERTH_NS_TIME);
	check(spec_find_ns(s, BERTH_NS_NET) == &l->namespaces[1]);
	check(l->n_uid_mappings == 2 && l->uid_mappings[1].container_id == 1);
	check(l->uid_mappings[1].host_id == 100000 && l->uid_mappings[1].size == 65536);
	check(l->n_gid_mappings == 1 && l->gid_mappings[0].host_id == 1000);
	check(l->time_monotonic.set && l->time_monotonic.secs == -86400);
	check(l->time_monotonic.nanosecs == 500);
	check(l->time_boottime.set && l->time_boottime.secs == INT64_MAX);
	check(l->time_boottime.nanosecs == 999999999);
	check(l->n_devices == 3);
	check(l->devices[0].type == 'c' && streq(l->devices[0].path, "/dev/fuse"));
	check(l->devices[0].major == 10 && l->devices[0].minor == 229);
	check(l->devices[0].has_file_mode && l->devices[0].file_mode == 0666);
	check(l->devices[0].has_uid && l->devices[0].has_gid && l->devices[0].gid == 0);
	check(l->devices[1].type == 'p' && !l->devices[1].has_file_mode);
	check(l->devices[2].type == 'b' && l->devices[2].major == 8);
	check(streq(l->cgroups_path, "/berth/test"));
	check(streq(l->rootfs_propagation, "rslave"));
	check(l->n_masked_paths == 2 && streq(l->masked_paths[1], "/proc/keys"));
	check(l->masked_paths[2] == NULL);
	check(l->n_readonly_paths == 0 && l->readonly_paths && l->readonly_paths[0] == NULL);
	check(streq(l->mount_label, "system_u:object_r:container_file_t:s0"));
	check(l->n_sysctl == 3 && streq(l->sysctl[0].key, "net.ipv4.ip_forward"));
	check(streq(l->sysctl[0].value, "1") && streq(l->sysctl[2].value, "example.org"));
	check(l->personality.set && streq(l->personality.domain, "LINUX32"));
	check(l->personality.value == PER_LINUX32);

	/* raw sections keep the exact number text */
	check(l->resources.text);
	check(strstr(l->resources.text, "\"limit\":18446744073709551615"));
	check(strstr(l->resources.text, "\"swap\":-1"));
	check(strstr(l->resources.text, "\"quota\":1.5e3"));
	check(strstr(l->resources.text, "\"unified\":{\"memory.high\":\"max\"}"));
	check(strstr(l->resources.text, "\"hugepageLimits\":[]"));
	check(strstr(l->resources.text, "\"allow\":false"));
	check(strstr(l->seccomp.text, "\"value\":4294967295"));
	check(streq(l->net_devices.text, "{\"eth1\":{\"name\":\"eth0\"}}"));
	check(streq(l->intel_rdt.text,
		    "{\"closID\":\"guaranteed\",\"l3CacheSchema\":\"L3:0=7f0\"}"));

	/*
	 * It parses the largest 32-bit values, which as a gid (or the end of an ID
	 * range) mean "unchanged" to the kernel: validation refuses them. Without
	 * them, the full config is valid.
	 */
	check(spec_validate(s, true, &e) == -EINVAL);
	check(streq(e->msg, "config.json: process.user.gid: 4294967295 is not a valid gid"));
	berth_error_free(e);
	e = NULL;
	s->process.user.gid = 1000;
	check(spec_validate(s, true, &e) == -EINVAL);
	check(streq(e->msg, "config.json: mounts[1].gidMappings[0]: hostID 200000 and size "
			    "4294967295 reach 4295167294, which is not a valid gid"));
	berth_error_free(e);
	e = NULL;
	s->mounts[1].gid_mappings[0].size = 65536;
	check(spec_validate(s, true, &e) == 0);
	check(!e);
}

static void test_minimal(void)
{
	_cleanup_(spec_freep) struct berth_spec *s =
		parse_ok("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},"
			 "\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"]},\"x\":{\"y\":[1,2]}}");
	check(s->has_process && !s->has_linux);
	check(s->process.n_args == 1 && s->process.args[1] == NULL);
	/* env absent: still an empty NULL-terminated array for execve() */
	check(s->process.n_env == 0 && s->process.env && s->process.env[0] == NULL);
	check(!s->process.caps.has_bounding && !s->process.caps.has_ambient);
	check(!s->process.scheduler.set && !s->process.io_priority.set);
	check(!s->process.has_oom_score_adj && !s->process.has_console_size);
	check(!s->linux_.resources.text && !s->linux_.seccomp.text);
	check(!s->hostname && s->n_mounts == 0);
	check(spec_find_ns(s, BERTH_NS_PID) == NULL);

	_cleanup_(spec_freep) struct berth_spec *empty = parse_ok("{}");
	check(!empty->oci_version && !empty->root_path && !empty->has_process);

	/* null counts as absent; empty arrays and objects are fine */
	_cleanup_(spec_freep) struct berth_spec *n = parse_ok(
		"{\"ociVersion\":null,\"mounts\":[],\"process\":{\"args\":[],\"env\":null,"
		"\"capabilities\":{\"bounding\":[]},\"rlimits\":[]},\"linux\":{\"namespaces\":[],"
		"\"sysctl\":{},\"resources\":{}},\"annotations\":{},\"hooks\":{}}");
	check(!n->oci_version && n->n_mounts == 0 && n->has_process && n->has_linux);
	check(n->process.n_args == 0 && n->process.args && n->process.args[0] == NULL);
	check(n->process.caps.has_bounding && n->process.caps.bounding == 0);
	check(streq(n->linux_.resources.text, "{}"));

	/* comments are allowed (as yajl_tree_parse does); last duplicate key wins */
	_cleanup_(spec_freep) struct berth_spec *c =
		parse_ok("/* hi */ {\"hostname\":\"a\", // x\n \"hostname\":\"b\"}");
	check(streq(c->hostname, "b"));

	/* negative values where allowed, numbers with signs at the limits */
	_cleanup_(spec_freep) struct berth_spec *neg = parse_ok(
		"{\"process\":{\"oomScoreAdj\":-1000,\"scheduler\":{\"policy\":\"SCHED_OTHER\","
		"\"nice\":-20,\"priority\":-2147483648}},\"linux\":{\"devices\":[{\"type\":\"c\","
		"\"path\":\"/dev/x\",\"major\":-1,\"minor\":-9223372036854775808}]}}");
	check(neg->process.oom_score_adj == -1000 && neg->process.scheduler.nice == -20);
	check(neg->process.scheduler.priority == INT32_MIN);
	check(neg->linux_.devices[0].major == -1 && neg->linux_.devices[0].minor == INT64_MIN);

	/* every rlimit name, scheduler policy and flag resolves */
	static const char *const rl[] = { "AS",	    "CORE",   "CPU",	    "DATA",
					  "FSIZE",  "LOCKS",  "MEMLOCK",    "MSGQUEUE",
					  "NICE",   "NOFILE", "NPROC",	    "RSS",
					  "RTPRIO", "RTTIME", "SIGPENDING", "STACK" };
	static const int rlv[] = { RLIMIT_AS,	  RLIMIT_CORE,	 RLIMIT_CPU,	    RLIMIT_DATA,
				   RLIMIT_FSIZE,  RLIMIT_LOCKS,	 RLIMIT_MEMLOCK,    RLIMIT_MSGQUEUE,
				   RLIMIT_NICE,	  RLIMIT_NOFILE, RLIMIT_NPROC,	    RLIMIT_RSS,
				   RLIMIT_RTPRIO, RLIMIT_RTTIME, RLIMIT_SIGPENDING, RLIMIT_STACK };
	for (size_t i = 0; i < ELEMENTSOF(rl); i++) {
		char buf[256];
		snprintf(buf, sizeof(buf),
			 "{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_%s\",\"soft\":1,\"hard\":2}"
			 "]}}",
			 rl[i]);
		_cleanup_(spec_freep) struct berth_spec *x = parse_ok(buf);
		check(x->process.rlimits[0].resource == rlv[i]);
	}
	static const char *const pol[] = {
		"OTHER", "FIFO", "RR", "BATCH", "ISO", "IDLE", "DEADLINE"
	};
	static const int polv[] = {
		SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, 4, SCHED_IDLE, 6
	};
	for (size_t i = 0; i < ELEMENTSOF(pol); i++) {
		char buf[256];
		snprintf(buf, sizeof(buf),
			 "{\"process\":{\"scheduler\":{\"policy\":\"SCHED_%s\"}}}", pol[i]);
		_cleanup_(spec_freep) struct berth_spec *x = parse_ok(buf);
		check(x->process.scheduler.policy_value == polv[i]);
	}
	_cleanup_(spec_freep) struct berth_spec *fl = parse_ok(
		"{\"process\":{\"scheduler\":{\"policy\":\"SCHED_FIFO\",\"flags\":["
		"\"SCHED_FLAG_RESET_ON_FORK\",\"SCHED_FLAG_RECLAIM\",\"SCHED_FLAG_DL_OVERRUN\","
		"\"SCHED_FLAG_KEEP_POLICY\",\"SCHED_FLAG_KEEP_PARAMS\",\"SCHED_FLAG_UTIL_CLAMP_"
		"MIN\","
		"\"SCHED_FLAG_UTIL_CLAMP_MAX\"]},\"ioPriority\":{\"class\":\"IOPRIO_CLASS_RT\"}},"
		"\"linux\":{\"personality\":{\"domain\":\"LINUX\"}}}");
	check(fl->process.scheduler.flags == 0x7f);
	check(fl->process.io_priority.class_value == 1);
	check(fl->linux_.personality.set && fl->linux_.personality.value == PER_LINUX);
}

static void test_type_errors(void)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{ "[1]", "config.json: top level must be a JSON object" },
		{ "\"x\"", "config.json: top level must be a JSON object" },
		{ "42", "config.json: top level must be a JSON object" },
		{ "{\"ociVersion\":1}", "config.json: ociVersion: must be a string" },
		{ "{\"root\":[]}", "config.json: root: must be an object" },
		{ "{\"root\":{\"path\":false}}", "config.json: root.path: must be a string" },
		{ "{\"root\":{\"readonly\":\"yes\"}}",
		  "config.json: root.readonly: must be a boolean" },
		{ "{\"root\":{\"readonly\":1}}", "config.json: root.readonly: must be a boolean" },
		{ "{\"mounts\":{}}", "config.json: mounts: must be an array" },
		{ "{\"mounts\":[{},{},{},{\"destination\":1}]}",
		  "config.json: mounts[3].destination: must be a string" },
		{ "{\"mounts\":[\"/x\"]}", "config.json: mounts[0]: must be an object" },
		{ "{\"mounts\":[{\"destination\":\"/x\",\"options\":[\"ro\",1]}]}",
		  "config.json: mounts[0].options: must be an array of strings" },
		{ "{\"mounts\":[{\"uidMappings\":[{\"containerID\":0,\"hostID\":0}]}]}",
		  "config.json: mounts[0].uidMappings[0].size: is required" },
		{ "{\"process\":[]}", "config.json: process: must be an object" },
		{ "{\"process\":{\"args\":\"sh\"}}",
		  "config.json: process.args: must be an array of strings" },
		{ "{\"process\":{\"args\":[\"sh\",null]}}",
		  "config.json: process.args: must be an array of strings" },
		{ "{\"process\":{\"env\":[1]}}",
		  "config.json: process.env: must be an array of strings" },
		{ "{\"process\":{\"cwd\":[]}}", "config.json: process.cwd: must be a string" },
		{ "{\"process\":{\"terminal\":\"true\"}}",
		  "config.json: process.terminal: must be a boolean" },
		{ "{\"process\":{\"consoleSize\":{\"height\":1}}}",
		  "config.json: process.consoleSize.width: is required" },
		{ "{\"process\":{\"user\":{\"uid\":-1}}}",
		  "config.json: process.user.uid: must be an unsigned 32-bit integer" },
		{ "{\"process\":{\"user\":{\"uid\":-0}}}",
		  "config.json: process.user.uid: must be an unsigned 32-bit integer" },
		{ "{\"process\":{\"user\":{\"gid\":4294967296}}}",
		  "config.json: process.user.gid: must be an unsigned 32-bit integer" },
		{ "{\"process\":{\"user\":{\"uid\":1.0}}}",
		  "config.json: process.user.uid: must be an unsigned 32-bit integer" },
		{ "{\"process\":{\"user\":{\"uid\":1e3}}}",
		  "config.json: process.user.uid: must be an unsigned 32-bit integer" },
		{ "{\"process\":{\"user\":{\"uid\":\"0\"}}}",
		  "config.json: process.user.uid: must be an unsigned 32-bit integer" },
		{ "{\"process\":{\"user\":{\"additionalGids\":[1,-2]}}}",
		  "config.json: process.user.additionalGids[1]: must be an unsigned 32-bit "
		  "integer" },
		{ "{\"process\":{\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\","
		  "\"CAP_NET_ADMIN\",\"CAP_SYS_ADMIN\",\"CAP_FOO\"]}}}",
		  "config.json: process.capabilities.bounding[4]: unknown capability \"CAP_FOO\"" },
		{ "{\"process\":{\"capabilities\":{\"ambient\":[\"chown\"]}}}",
		  "config.json: process.capabilities.ambient[0]: unknown capability \"chown\"" },
		{ "{\"process\":{\"capabilities\":{\"effective\":[\"12\"]}}}",
		  "config.json: process.capabilities.effective[0]: unknown capability \"12\"" },
		{ "{\"process\":{\"capabilities\":{\"permitted\":[7]}}}",
		  "config.json: process.capabilities.permitted[0]: must be a string" },
		{ "{\"process\":{\"capabilities\":{\"inheritable\":\"CAP_KILL\"}}}",
		  "config.json: process.capabilities.inheritable: must be an array of strings" },
		{ "{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1}]}}",
		  "config.json: process.rlimits[0].hard: is required" },
		{ "{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]}}",
		  "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"" },
		{ "{\"process\":{\"rlimits\":[{\"soft\":1,\"hard\":1}]}}",
		  "config.json: process.rlimits[0].type: is required" },
		{ "{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_CPU\",\"soft\":"
		  "18446744073709551616,"
		  "\"hard\":1}]}}",
		  "config.json: process.rlimits[0].soft: must be an unsigned 64-bit integer" },
		{ "{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_CPU\",\"soft\":-1,\"hard\":1}]}}",
		  "config.json: process.rlimits[0].soft: must be an unsigned 64-bit integer" },
		{ "{\"process\":{\"oomScoreAdj\":2147483648}}",
		  "config.json: process.oomScoreAdj: must be a 32-bit integer" },
		{ "{\"process\":{\"oomScoreAdj\":-0.5}}",
		  "config.json: process.oomScoreAdj: must be a 32-bit integer" },
		{ "{\"process\":{\"noNewPrivileges\":null,\"apparmorProfile\":3}}",
		  "config.json: process.apparmorProfile: must be a string" },
		{ "{\"process\":{\"scheduler\":{\"policy\":\"SCHED_FAST\"}}}",
		  "config.json: process.scheduler.policy: unknown scheduler policy "
		  "\"SCHED_FAST\"" },
		{ "{\"process\":{\"scheduler\":{\"flags\":[\"SCHED_FLAG_RECLAIM\",\"X\"]}}}",
		  "config.json: process.scheduler.flags[1]: unknown scheduler flag \"X\"" },
		{ "{\"process\":{\"scheduler\":{\"runtime\":-5}}}",
		  "config.json: process.scheduler.runtime: must be an unsigned 64-bit integer" },
		{ "{\"process\":{\"ioPriority\":{\"class\":\"IOPRIO_CLASS_NONE\"}}}",
		  "config.json: process.ioPriority.class: unknown I/O priority class "
		  "\"IOPRIO_CLASS_NONE\"" },
		{ "{\"hostname\":7}", "config.json: hostname: must be a string" },
		{ "{\"hooks\":[]}", "config.json: hooks: must be an object" },
		{ "{\"hooks\":{\"poststop\":[{\"path\":\"/x\"},{\"path\":\"/"
		  "y\",\"timeout\":\"5\"}]}}",
		  "config.json: hooks.poststop[1].timeout: must be a 32-bit integer" },
		{ "{\"hooks\":{\"prestart\":[{\"path\":\"/x\",\"args\":[1]}]}}",
		  "config.json: hooks.prestart[0].args: must be an array of strings" },
		{ "{\"annotations\":{\"a\":\"b\",\"c\":1}}",
		  "config.json: annotations[\"c\"]: must be a string" },
		{ "{\"annotations\":[]}", "config.json: annotations: must be an object" },
		{ "{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},"
		  "{\"type\":\"netx\"}]}}",
		  "config.json: linux.namespaces[2].type: unknown namespace \"netx\"" },
		{ "{\"linux\":{\"namespaces\":[{\"path\":\"/x\"}]}}",
		  "config.json: linux.namespaces[0].type: is required" },
		{ "{\"linux\":{\"namespaces\":[{\"type\":\"pid\",\"path\":1}]}}",
		  "config.json: linux.namespaces[0].path: must be a string" },
		{ "{\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":-1,\"size\":1}]}}",
		  "config.json: linux.uidMappings[0].hostID: must be an unsigned 32-bit integer" },
		{ "{\"linux\":{\"timeOffsets\":{\"boottime\":{\"secs\":9223372036854775808}}}}",
		  "config.json: linux.timeOffsets.boottime.secs: must be a 64-bit integer" },
		{ "{\"linux\":{\"devices\":[{\"type\":\"x\",\"path\":\"/dev/x\"}]}}",
		  "config.json: linux.devices[0].type: unknown device type \"x\"" },
		{ "{\"linux\":{\"devices\":[{\"type\":\"cb\",\"path\":\"/dev/x\"}]}}",
		  "config.json: linux.devices[0].type: unknown device type \"cb\"" },
		{ "{\"linux\":{\"devices\":[{\"type\":\"c\",\"path\":\"/dev/x\",\"major\":1}]}}",
		  "config.json: linux.devices[0].minor: is required" },
		{ "{\"linux\":{\"devices\":[{\"type\":\"u\",\"path\":\"/dev/x\"}]}}",
		  "config.json: linux.devices[0].major: is required" },
		{ "{\"linux\":{\"devices\":[{\"type\":\"b\",\"major\":1,\"minor\":2,\"fileMode\":-"
		  "1}]}}",
		  "config.json: linux.devices[0].fileMode: must be an unsigned 32-bit integer" },
		{ "{\"linux\":{\"maskedPaths\":\"/proc\"}}",
		  "config.json: linux.maskedPaths: must be an array of strings" },
		{ "{\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":1}}}",
		  "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: must be a string" },
		{ "{\"linux\":{\"personality\":{\"domain\":\"BSD\"}}}",
		  "config.json: linux.personality.domain: unknown personality domain \"BSD\"" },
		{ "{\"linux\":{\"personality\":{}}}",
		  "config.json: linux.personality.domain: is required" },
		{ "{\"linux\":{\"resources\":[]}}",
		  "config.json: linux.resources: must be an object" },
		{ "{\"linux\":{\"seccomp\":\"x\"}}",
		  "config.json: linux.seccomp: must be an object" },
		{ "{\"linux\":{\"netDevices\":1}}",
		  "config.json: linux.netDevices: must be an object" },
		{ "{\"linux\":{\"intelRdt\":true}}",
		  "config.json: linux.intelRdt: must be an object" },
		{ "{\"linux\":7}", "config.json: linux: must be an object" },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		FAILS(cases[i].json, cases[i].msg);
}

static void test_syntax_errors(void)
{
	FAILS("{\n  \"ociVersion\": \"1.0.0\",\n  \"root\" 1\n}",
	      "config.json: invalid JSON at line 3, column 10: parse error: object key and value "
	      "must be separated by a colon (':')");
	FAILS("{\n\"a\": 1,\n  \"b\": x\n}", "config.json: invalid JSON at line 3, column 8: "
					     "lexical error: invalid char in json text");
	FAILS("{\"a\":",
	      "config.json: invalid JSON at line 1, column 6: parse error: premature EOF");
	FAILS("{\"process\":{\"args\":[\"a\"", /* truncated */
	      "config.json: invalid JSON at line 1, column 24: parse error: premature EOF");
	FAILS("", "config.json: invalid JSON at line 1, column 1: parse error: premature EOF");
	FAILS("  \n ", "config.json: invalid JSON at line 2, column 2: parse error: premature EOF");
	FAILS("{} {}",
	      "config.json: invalid JSON at line 1, column 4: parse error: trailing garbage");
	FAILS("{\"a\":\"x\\u0000y\"}",
	      "config.json: invalid JSON at line 1, column 15: string contains a NUL character");
	FAILS("{\"a\\u0000\":1}",
	      "config.json: invalid JSON at line 1, column 10: string contains a NUL character");

	/* a raw NUL byte, with an explicit length */
	static const char nul[] = "{\"a\":\"x\0\"}";
	parse_fails(
		nul, sizeof(nul) - 1,
		"config.json: invalid JSON at line 1, column 8: lexical error: invalid character "
		"inside string");

	/* deep nesting is refused before yajl or we recurse into it */
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 8);
	check(deep);
	strcpy(deep, "{\"x\":");
	memset(deep + 5, '[', depth);
	memset(deep + 5 + depth, ']', depth);
	strcpy(deep + 5 + 2 * depth, "}");
	FAILS(deep, "config.json: invalid JSON at line 1, column 261: nesting is deeper than 256 "
		    "levels");
	free(deep);

	/* huge numbers are numbers: only the field's range decides */
	FAILS("{\"process\":{\"user\":{\"uid\":"
	      "99999999999999999999999999999999999999999999999999999999999999999}}}",
	      "config.json: process.user.uid: must be an unsigned 32-bit integer");
	_cleanup_(spec_freep) struct berth_spec *s =
		parse_ok("{\"linux\":{\"resources\":{\"x\":99999999999999999999999999}}}");
	check(streq(s->linux_.resources.text, "{\"x\":99999999999999999999999999}"));
}

static void test_load(void)
{
	char dir[] = "/tmp/test-spec-XXXXXX";
	char path[256];
	struct berth_spec *s = NULL;
	struct berth_error *e = NULL;

	check(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);

	/* missing file: names the path, with strerror */
	check(spec_load(path, &s, &e) == -ENOENT);
	check(!s && e);
	char want[512];
	snprintf(want, sizeof(want), "read '%s': %s", path, strerror(ENOENT));
	check(streq(e->msg, want));
	berth_error_free(e);
	e = NULL;

	/* good file */
	const char *good = "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"rootfs\"}}";
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	check(fd >= 0);
	check(write_all(fd, good, strlen(good)) == 0);
	check(close(fd) == 0);
	check(spec_load(path, &s, &e) == 0);
	check(s && !e && streq(s->root_path, "rootfs"));
	spec_free(s);
	s = NULL;

	/* exactly the limit is read (and fails as JSON), one byte more is refused unread */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	check(fd >= 0);
	check(ftruncate(fd, BERTH_SPEC_MAX_SIZE) == 0);
	check(close(fd) == 0);
	check(spec_load(path, &s, &e) == -EINVAL);
	check(strstr(e->msg, "config.json: invalid JSON at line 1, column 1: "));
	berth_error_free(e);
	e = NULL;
	check(truncate(path, BERTH_SPEC_MAX_SIZE + 1) == 0);
	check(spec_load(path, &s, &e) == -EFBIG);
	check(!s && streq(e->msg, "config.json: file is larger than 16 MiB"));
	berth_error_free(e);
	e = NULL;

	/* the parser refuses over-long text too */
	check(spec_parse("{}", BERTH_SPEC_MAX_SIZE + 1, &s, &e) == -EFBIG);
	berth_error_free(e);
	e = NULL;

	/* a directory is not a file */
	check(spec_load(dir, &s, &e) < 0 && e);
	berth_error_free(e);

	check(unlink(path) == 0);
	check(rmdir(dir) == 0);
}

static void test_helpers(void)
{
	static const char *const names[] = { "pid", "network", "mount",	 "ipc",
					     "uts", "user",    "cgroup", "time" };
	static const unsigned long flags[] = { CLONE_NEWPID,	CLONE_NEWNET, CLONE_NEWNS,
					       CLONE_NEWIPC,	CLONE_NEWUTS, CLONE_NEWUSER,
					       CLONE_NEWCGROUP, 0x80 };
	check(ELEMENTSOF(names) == _BERTH_NS_MAX);
	for (int i = 0; i < _BERTH_NS_MAX; i++) {
		check(streq(ns_type_name(i), names[i]));
		check(ns_type_from_name(names[i]) == i);
		check(ns_clone_flag(i) == flags[i]);
	}
	check(ns_type_from_name("net") == -EINVAL);
	check(ns_type_from_name(NULL) == -EINVAL);
	check(ns_type_name(_BERTH_NS_MAX) == NULL);

	static const char *const hooks[] = { "prestart",       "createRuntime", "createContainer",
					     "startContainer", "poststart",	"poststop" };
	for (int i = 0; i < _BERTH_HOOK_MAX; i++)
		check(streq(hook_kind_name(i), hooks[i]));
	check(hook_kind_name(_BERTH_HOOK_MAX) == NULL);

	spec_free(NULL);
	check(spec_annotation(NULL, "x") == NULL);
	check(spec_find_ns(NULL, BERTH_NS_PID) == NULL);
}

static bool node_set(const uint64_t *m, unsigned n)
{
	return (m[n / 64] >> (n % 64)) & 1;
}

static void test_node_list(void)
{
	uint64_t m[BERTH_NUMA_MASK_WORDS];

	check(node_list_parse("0-3,7,1023,4095", m) == 0);
	for (unsigned n = 0; n < BERTH_NUMA_MAX_NODES; n++)
		check(node_set(m, n) == (n <= 3 || n == 7 || n == 1023 || n == 4095));
	/* as sysfs writes it, and empty */
	check(node_list_parse("0\n", m) == 0 && m[0] == 1);
	check(node_list_parse("", m) == 0 && m[0] == 0);
	check(node_list_parse(NULL, m) == 0 && m[0] == 0);
	check(node_list_parse("4096", m) == -ERANGE);
	check(node_list_parse("99999999999", m) == -ERANGE);
	static const char *const bad[] = { "0-", "-1",	"3-1",	 "0,", ",0",  "0,,1",
					   "a",	 "0 1", "0-1-2", "+1", "0\n1" };
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		check(node_list_parse(bad[i], m) == -EINVAL);

	struct berth_spec *s = parse_ok("{\"linux\":{\"memoryPolicy\":{\"mode\":\"MPOL_BIND\","
					"\"nodes\":\"0,2\",\"flags\":[\"MPOL_F_STATIC_NODES\"]}}}");
	const struct berth_memory_policy *mp = &s->linux_.memory_policy;
	check(mp->set && mp->mode_value == BERTH_MPOL_BIND && mp->has_nodes);
	check(mp->nodemask[0] == 5 && streq(mp->nodes, "0,2"));
	check(mp->flags_value == BERTH_MPOL_F_STATIC_NODES && mp->n_flags == 1);
	spec_free(s);
	FAILS("{\"linux\":{\"memoryPolicy\":{\"mode\":\"MPOL_BIND\",\"nodes\":7}}}",
	      "config.json: linux.memoryPolicy.nodes: must be a string");
	FAILS("{\"linux\":{\"memoryPolicy\":[]}}",
	      "config.json: linux.memoryPolicy: must be an object");

	const char *names[16];
	check(memory_policy_names(false, names, ELEMENTSOF(names)) == 7);
	check(memory_policy_names(true, names, ELEMENTSOF(names)) == 3);
	check(streq(names[0], "MPOL_F_NUMA_BALANCING"));
}

/*
 * Every prefix of the full config, and copies with single bytes replaced, must
 * parse or fail cleanly (valgrind checks nothing leaks on the error paths).
 */
static void test_mangled(void)
{
	size_t len;
	_cleanup_free_ char *text = read_data("full-config.json", &len);
	_cleanup_free_ char *buf = malloc(len + 1);
	static const char subst[] = { '"', '{', '}', '[', ']', ',', ':', '-', '1', 'x', ' ' };
	size_t n_ok = 0, n_fail = 0;

	check(buf);
	for (size_t cut = 0; cut <= len; cut++) {
		struct berth_spec *s = NULL;
		struct berth_error *e = NULL;
		int r = spec_parse(text, cut, &s, &e);
		check((r == 0) == (s != NULL) && (r < 0) == (e != NULL));
		r == 0 ? n_ok++ : n_fail++;
		spec_free(s);
		berth_error_free(e);
	}
	for (size_t at = 0; at < len; at += 4)
		for (size_t k = 0; k < ELEMENTSOF(subst); k++) {
			struct berth_spec *s = NULL;
			struct berth_error *e = NULL;
			memcpy(buf, text, len);
			buf[at] = subst[k];
			int r = spec_parse(buf, len, &s, &e);
			check((r == 0) == (s != NULL) && (r < 0) == (e != NULL));
			check(r == 0 || (e && strncmp(e->msg, "config.json: ", 13) == 0));
			r == 0 ? n_ok++ : n_fail++;
			if (r == 0) {
				/* the validator must not crash on whatever parsed */
				struct berth_error *ve = NULL;
				(void)spec_validate(s, true, &ve);
				berth_error_free(ve);
			}
			spec_free(s);
			berth_error_free(e);
		}
	check(n_ok > 0 && n_fail > 0);
}

/* Fail each allocation in turn: a clean -ENOMEM (or an error), never a crash or a leak. */
static void test_oom(void)
{
#ifdef TEST_ASAN
	printf("skipping allocation failure test: malloc is ASan's (sanitizer build)\n");
#else
	size_t len;
	_cleanup_free_ char *text = read_data("full-config.json", &len);

	/* strdup(), not malloc(): the compiler may fold a malloc()/free() pair away */
	alloc_fail_in = 0;
	char *probe = strdup("probe");
	alloc_fail_in = -1;
	if (probe) {
		free(probe);
		printf("skipping allocation failure test: malloc is not ours (valgrind?)\n");
		return;
	}

	size_t n_failed = 0;
	for (long n = 0;; n++) {
		struct berth_spec *s = NULL;
		struct berth_error *e = NULL;
		long live = alloc_live;

		alloc_failed = false;
		alloc_fail_in = n;
		int r = spec_parse(text, len, &s, &e);
		if (r == 0) {
			/* the two values test_full() shows validation refuses */
			s->process.user.gid = 1000;
			s->mounts[1].gid_mappings[0].size = 65536;
			(void)spec_validate(s, true, &e);
		}
		alloc_fail_in = -1;

		if (!alloc_failed) {
			check(r == 0 && s && !e);
			spec_free(s);
			check(alloc_live == live);
			break;
		}
		n_failed++;
		/* the error object itself may be what could not be allocated */
		check(r < 0 && !s);
		check(!e || e->code == ENOMEM);
		berth_error_free(e);
		if (alloc_live != live) {
			fprintf(stderr, "leak: %ld blocks after failing allocation #%ld\n",
				alloc_live - live, n);
			exit(1);
		}
	}
	printf("%zu allocation failures handled\n", n_failed);
	check(n_failed > 50);
#endif
}

/* JSON nested n deep inside linux.resources: {"linux":{"resources":{"x":[[...]]}}} */
static char *nested_resources(size_t n)
{
	const char *head = "{\"linux\":{\"resources\":{\"x\":", *tail = "}}}";
	size_t hl = strlen(head), tl = strlen(tail);
	char *t = malloc(hl + 2 * n + tl + 1);
	check(t);
	memcpy(t, head, hl);
	memset(t + hl, '[', n);
	memset(t + hl + n, ']', n);
	memcpy(t + hl + 2 * n, tail, tl + 1);
	return t;
}

/* The advertised limit holds everywhere, opaque sections included. */
static void test_nesting_limit(void)
{
	/* 3 levels of objects around the arrays: 253 arrays make 256 levels */
	_cleanup_free_ char *ok = nested_resources(253);
	_cleanup_(spec_freep) struct berth_spec *s = parse_ok(ok);
	/* re-serialised exactly: the section's own text */
	check(strlen(s->linux_.resources.text) == strlen("{\"x\":}") + 2 * 253);
	check(strncmp(s->linux_.resources.text, "{\"x\":[[[", 8) == 0);
	_cleanup_free_ char *deep = nested_resources(254);
	FAILS(deep, "config.json: invalid JSON at line 1, column 281: nesting is deeper than 256 "
		    "levels");
	/* what a re-serialised section holds survives the trip: escapes, UTF-8, numbers */
	_cleanup_(spec_freep) struct berth_spec *s2 =
		parse_ok("{\"linux\":{\"resources\":{\"a\\\"\\\\\\n\\u0001/"
			 "\":[\"\\u00e9\\ud83d\\ude00\",-1.5e3,"
			 "18446744073709551615,true,false,null,{}]}}}");
	check(streq(s2->linux_.resources.text,
		    "{\"a\\\"\\\\\\n\\u0001/\":[\"\xc3\xa9\xf0\x9f\x98\x80\",-1.5e3,"
		    "18446744073709551615,true,false,null,{}]}"));
}

/* A lone UTF-16 surrogate has no UTF-8 form: refused with its path, never replaced. */
static void test_surrogates(void)
{
	FAILS("{\"process\":{\"args\":[\"sh\",\"a\\ud800\"]}}",
	      "config.json: process.args[1]: invalid JSON string at line 1, column 28: lone "
	      "UTF-16 surrogate \\ud800");
	FAILS("{\"process\":{\"env\":[\"A=\\udc00\"]}}",
	      "config.json: process.env[0]: invalid JSON string at line 1, column 23: lone "
	      "UTF-16 surrogate \\udc00");
	/* a high surrogate must be followed by a low one */
	FAILS("{\"hostname\":\"\\uD800\\u0041\"}",
	      "config.json: hostname: invalid JSON string at line 1, column 14: lone UTF-16 "
	      "surrogate \\uD800");
	FAILS("{\"hostname\":\"\\ud800\\ud800\"}",
	      "config.json: hostname: invalid JSON string at line 1, column 14: lone UTF-16 "
	      "surrogate \\ud800");
	/* in a key: the path of the object holding it */
	FAILS("{\"annotations\":{\"k\\ud800\":\"v\"}}",
	      "config.json: annotations: invalid JSON string at line 1, column 19: lone UTF-16 "
	      "surrogate \\ud800");
	/* deep in an opaque section */
	FAILS("{\"linux\":{\"seccomp\":{\"syscalls\":[{\"names\":[\"\\udfff\"]}]}}}",
	      "config.json: linux.seccomp.syscalls[0].names[0]: invalid JSON string at line 1, "
	      "column 45: lone UTF-16 surrogate \\udfff");
	/* a surrogate written as raw UTF-8 bytes is no better */
	FAILS("{\"hostname\":\"\xed\xa0\x80\"}",
	      "config.json: hostname: invalid JSON string at line 1, column 14: UTF-8 encoded "
	      "UTF-16 surrogate");
	/* an escaped backslash before "u" is not an escape */
	_cleanup_(spec_freep) struct berth_spec *s =
		parse_ok("{\"hostname\":\"\\\\ud800\",\"domainname\":\"\\ud83d\\ude00\"}");
	check(streq(s->hostname, "\\ud800"));
	check(streq(s->domainname, "\xf0\x9f\x98\x80"));
	/* the process file of berth exec: paths read as in a whole config */
	struct berth_spec *p = NULL;
	struct berth_error *e = NULL;
	const char *proc = "{\"args\":[\"\\ud800\"],\"cwd\":\"/\"}";
	check(spec_parse_process(proc, strlen(proc), &p, &e) == -EINVAL && !p);
	check(streq(e->msg, "config.json: process.args[0]: invalid JSON string at line 1, column "
			    "11: lone UTF-16 surrogate \\ud800"));
	berth_error_free(e);
}

int main(void)
{
	test_full();
	test_minimal();
	test_type_errors();
	test_syntax_errors();
	test_load();
	test_helpers();
	test_node_list();
	test_mangled();
	test_nesting_limit();
	test_surrogates();
	test_oom();
	return 0;
}
