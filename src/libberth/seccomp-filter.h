/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * linux.seccomp: parse the section, compile it with libseccomp into a classic
 * BPF program (with an ENOSYS preamble and an on-disk cache), load it with
 * seccomp(2), and hand a notify listener fd to the agent at listenerPath.
 * Parsing, compiling and the agent hand-off run in the parent (berth create /
 * start); loading runs in the container init (or an exec'd process) just
 * before execve. One file per step: seccomp-parse.c, seccomp-compile.c (with
 * seccomp-enosys.c, the preamble), seccomp-cache.c (prepare), seccomp-load.c
 * and seccomp-agent.c; seccomp-internal.h is what they alone share.
 */
#pragma once

/* Not "seccomp.h": src/libberth is on the include path and <seccomp.h> is libseccomp's. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

#include "berth/error.h"

/* seccomp(2) filter flags (older headers may lack the newer ones). */
#define BERTH_SECCOMP_FLAG_TSYNC	      (1UL << 0)
#define BERTH_SECCOMP_FLAG_LOG		      (1UL << 1)
#define BERTH_SECCOMP_FLAG_SPEC_ALLOW	      (1UL << 2)
#define BERTH_SECCOMP_FLAG_NEW_LISTENER	      (1UL << 3)
#define BERTH_SECCOMP_FLAG_TSYNC_ESRCH	      (1UL << 4)
#define BERTH_SECCOMP_FLAG_WAIT_KILLABLE_RECV (1UL << 5)

struct berth_seccomp_arg {
	unsigned index; /* 0..5 */
	int op;		/* enum scmp_compare */
	uint64_t value, value_two;
};

struct berth_seccomp_rule {
	char **names; /* NULL-terminated, at least one */
	size_t n_names;
	uint32_t action; /* SCMP_ACT_*, errno/trace data included */
	struct berth_seccomp_arg *args;
	size_t n_args;
};

/* linux.seccomp as written; no libseccomp call is needed to build it. */
struct berth_seccomp_config {
	uint32_t default_action;
	uint32_t *archs; /* libseccomp arch tokens (== AUDIT_ARCH_* except x32) */
	size_t n_archs;
	unsigned long flags; /* BERTH_SECCOMP_FLAG_* from "flags" */
	char *listener_path, *listener_metadata;
	struct berth_seccomp_rule *rules;
	size_t n_rules;
	bool has_notify; /* some rule uses SCMP_ACT_NOTIFY */
};

/*
 * Parse the linux.seccomp JSON object text (as kept by spec.c). Errors name
 * the JSON path: "config.json: linux.seccomp.syscalls[3].action: unknown
 * action \"SCMP_ACT_FOO\"". Syscall names are not checked here (compile
 * skips unknown ones with a warning).
 */
int berth_seccomp_parse(const char *json, struct berth_seccomp_config **ret,
			struct berth_error **err);
void berth_seccomp_config_free(struct berth_seccomp_config *c);
static inline void berth_seccomp_config_freep(struct berth_seccomp_config **c)
{
	berth_seccomp_config_free(*c);
}

/* A filter ready for seccomp(2); reusable for every process of a container. */
struct berth_seccomp {
	struct sock_filter *insns;
	size_t n_insns;
	unsigned long flags; /* for seccomp(2); NEW_LISTENER is added by load when notify */
	bool notify;	     /* has SCMP_ACT_NOTIFY rules: load returns a listener fd */
	bool from_cache;
	char **warnings; /* NULL-terminated, e.g. skipped syscall names */
	size_t n_warnings;
};

void berth_seccomp_free(struct berth_seccomp *f);
static inline void berth_seccomp_freep(struct berth_seccomp **f)
{
	berth_seccomp_free(*f);
}

/*
 * Compile a parsed config with libseccomp: rules, architectures (the native
 * one always included), the ENOSYS preamble when the default action is an
 * errno, and the kernel checks for actions and flags. Parent process.
 */
int berth_seccomp_compile(const struct berth_seccomp_config *c, struct berth_seccomp **ret,
			  struct berth_error **err);

/*
 * Parse + compile the linux.seccomp text, through the cache in cache_dir
 * (created if missing; NULL or BERTH_SECCOMP_CACHE=0 in the environment: no
 * cache). A hit skips parsing and libseccomp and returns the stored program
 * and warnings. A cache that cannot be written is not an error. A cache dir
 * (or its parent, the state root) or an entry that anyone but the effective
 * user could have written is not used: the section is compiled instead.
 */
int berth_seccomp_prepare(const char *json, const char *cache_dir, struct berth_seccomp **ret,
			  struct berth_error **err);

/*
 * Load the filter into the calling thread with seccomp(2). With notify rules
 * *ret_listener_fd gets the (O_CLOEXEC) listener fd, else -EBADF. With
 * ret_listener_fd NULL no listener is made: notified syscalls fail with
 * ENOSYS. Needs no_new_privs or CAP_SYS_ADMIN. Runs in the process about to
 * execve.
 */
int berth_seccomp_load(const struct berth_seccomp *f, int *ret_listener_fd,
		       struct berth_error **err);

/*
 * Hand the listener fd to the agent: connect to listener_path (SOCK_STREAM)
 * and send the containerProcessState JSON ({"ociVersion", "fds":
 * ["seccompFd"], "pid", "metadata", "state"}) with the fd as SCM_RIGHTS.
 * state_json is the container's state object. Parent (berth start).
 */
int berth_seccomp_send_to_agent(const char *listener_path, const char *metadata, int listener_fd,
				pid_t pid, const char *state_json, struct berth_error **err);

/* ---- pieces exposed for the unit tests and features ---- */

/* The highest syscall number the profile names on one architecture. */
struct berth_seccomp_nr_limit {
	uint32_t audit_arch; /* AUDIT_ARCH_* */
	bool x32;	     /* x86_64 numbers with __X32_SYSCALL_BIT */
	uint32_t max_nr;
};

/*
 * BPF instructions returning ERRNO(ENOSYS) for syscall numbers above each
 * limit, to be put in front of a program that starts by loading the arch.
 * Anything else falls through to that program. *ret malloc'd.
 */
int berth_seccomp_enosys_preamble(const struct berth_seccomp_nr_limit *l, size_t n,
				  struct sock_filter **ret, size_t *ret_n);

/* The cache key: SHA-256 of the section and of what the program depends on. */
void berth_seccomp_cache_key(const char *json, uint8_t ret[32]);

/* Name tables for `berth features` (NULL-terminated). */
extern const char *const berth_seccomp_action_names[];
extern const char *const berth_seccomp_operator_names[];
extern const char *const berth_seccomp_arch_names[];
extern const char *const berth_seccomp_flag_names[];
/* Whether the running kernel accepts a "flags" name. */
bool berth_seccomp_flag_supported(const char *name);
