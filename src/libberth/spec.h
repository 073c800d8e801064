/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OCI runtime-spec config.json as typed structs (config.md and the Linux
 * parts of config-linux.md). Filled by spec.c (yajl tree API), checked by
 * validate.c, read by every other module. Parsed in the parent; the container
 * init inherits a copy through clone3 (no CLONE_VM).
 *
 * Conventions: arrays are pointer + n_ count; strings are NULL when absent;
 * every optional scalar has a has_ flag. Strings arrays (char **) are also
 * NULL-terminated so they can go straight to execve().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/error.h"
#include "json.h"

#define BERTH_SPEC_MAX_SIZE (16u * 1024 * 1024)

enum berth_ns_type {
	BERTH_NS_PID,
	BERTH_NS_NET,
	BERTH_NS_MNT,
	BERTH_NS_IPC,
	BERTH_NS_UTS,
	BERTH_NS_USER,
	BERTH_NS_CGROUP,
	BERTH_NS_TIME,
	_BERTH_NS_MAX,
};

struct berth_namespace {
	enum berth_ns_type type;
	char *path; /* NULL: create a new one; else join this one */
};

struct berth_id_mapping {
	uint32_t container_id, host_id, size;
};

struct berth_time_offset {
	bool set;
	int64_t secs;
	uint32_t nanosecs;
};

struct berth_mount {
	char *destination; /* required, absolute inside the container */
	char *source;	   /* may be NULL (e.g. tmpfs) */
	char *type;	   /* may be NULL: then a bind mount if options say bind */
	char **options;	   /* NULL-terminated */
	size_t n_options;
	struct berth_id_mapping *uid_mappings, *gid_mappings; /* idmapped mounts */
	size_t n_uid_mappings, n_gid_mappings;
};

struct berth_rlimit {
	char *type;   /* "RLIMIT_NOFILE" */
	int resource; /* RLIMIT_NOFILE, resolved by the parser */
	uint64_t soft, hard;
};

/* Capability sets as bit masks indexed by CAP_* number (libcap's numbering). */
struct berth_caps {
	bool has_bounding, has_effective, has_inheritable, has_permitted, has_ambient;
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct berth_user {
	uint32_t uid, gid;
	bool has_umask;
	uint32_t umask;
	uint32_t *additional_gids;
	size_t n_additional_gids;
};

struct berth_scheduler {
	bool set;
	char *policy; /* SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE */
	int policy_value; /* resolved */
	bool has_nice, has_priority, has_runtime, has_deadline, has_period;
	int32_t nice, priority;
	uint64_t runtime, deadline, period;
	uint32_t flags; /* SCHED_FLAG_* bits resolved from the flags[] names */
};

struct berth_io_priority {
	bool set;
	char *class; /* IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE */
	int class_value;
	int priority;
};

struct berth_process {
	bool terminal;
	bool has_console_size;
	uint32_t console_height, console_width;
	char *cwd;   /* required, absolute */
	char **args; /* NULL-terminated, n_args >= 1 once validated */
	size_t n_args;
	char **env; /* NULL-terminated, may be empty */
	size_t n_env;
	struct berth_user user;
	struct berth_caps caps;
	struct berth_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	char *selinux_label;
	bool has_oom_score_adj;
	int oom_score_adj;
	struct berth_scheduler scheduler;
	struct berth_io_priority io_priority;
};

struct berth_hook {
	char *path;
	char **args; /* NULL-terminated, may be NULL */
	size_t n_args;
	char **env; /* NULL-terminated, may be NULL */
	size_t n_env;
	bool has_timeout;
	int timeout; /* seconds, > 0 */
};

enum berth_hook_kind {
	BERTH_HOOK_PRESTART,
	BERTH_HOOK_CREATE_RUNTIME,
	BERTH_HOOK_CREATE_CONTAINER,
	BERTH_HOOK_START_CONTAINER,
	BERTH_HOOK_POSTSTART,
	BERTH_HOOK_POSTSTOP,
	_BERTH_HOOK_MAX,
};

struct berth_hooks {
	struct berth_hook *list[_BERTH_HOOK_MAX];
	size_t n[_BERTH_HOOK_MAX];
};

struct berth_device {
	char type; /* 'c', 'b', 'u' or 'p' */
	char *path;
	int64_t major, minor; /* required for c/b/u, ignored for p */
	bool has_file_mode, has_uid, has_gid;
	uint32_t file_mode, uid, gid;
};

struct berth_personality {
	bool set;
	char *domain; /* LINUX or LINUX32 */
	unsigned long value;
};

/*
 * linux.memoryPolicy: set_mempolicy(2) for the container's processes. Node
 * numbers up to BERTH_NUMA_MAX_NODES - 1 (what runc accepts too; the kernel refuses
 * nodes beyond its own MAX_NUMNODES).
 */
enum {
	/* the kernel's MPOL_* modes (include/uapi/linux/mempolicy.h), older headers lack some */
	BERTH_MPOL_DEFAULT = 0,
	BERTH_MPOL_PREFERRED = 1,
	BERTH_MPOL_BIND = 2,
	BERTH_MPOL_INTERLEAVE = 3,
	BERTH_MPOL_LOCAL = 4,
	BERTH_MPOL_PREFERRED_MANY = 5,
	BERTH_MPOL_WEIGHTED_INTERLEAVE = 6,
};
#define BERTH_MPOL_F_NUMA_BALANCING (1u << 13)
#define BERTH_MPOL_F_RELATIVE_NODES (1u << 14)
#define BERTH_MPOL_F_STATIC_NODES   (1u << 15)
#define BERTH_NUMA_MAX_NODES	    4096
#define BERTH_NUMA_MASK_WORDS	    (BERTH_NUMA_MAX_NODES / 64)
struct berth_memory_policy {
	bool set;
	char *mode; /* MPOL_BIND, ... */
	int mode_value;
	char *nodes; /* as written: "0-3,7" */
	uint64_t nodemask[BERTH_NUMA_MASK_WORDS];
	bool has_nodes; /* at least one node in nodemask */
	char **flags;	/* NULL-terminated names */
	size_t n_flags;
	unsigned flags_value; /* MPOL_F_* bits resolved from flags */
};

/* Opaque JSON kept for sections that later issues parse (seccomp, resources, netDevices). */
struct berth_raw_json {
	char *text; /* NULL when the section is absent; re-serialised JSON text */
};

struct berth_linux {
	struct berth_namespace *namespaces;
	size_t n_namespaces;
	struct berth_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct berth_time_offset time_monotonic, time_boottime;
	struct berth_device *devices;
	size_t n_devices;
	char *cgroups_path;
	char *rootfs_propagation; /* shared, slave, private, unbindable, rshared, ... */
	char **masked_paths, **readonly_paths; /* NULL-terminated */
	size_t n_masked_paths, n_readonly_paths;
	char *mount_label;
	struct berth_kv *sysctl;
	size_t n_sysctl;
	struct berth_personality personality;
	struct berth_memory_policy memory_policy;
	struct berth_raw_json resources, seccomp, net_devices, intel_rdt;
};

struct berth_spec {
	char *oci_version;
	char *root_path; /* as written; may be relative to the bundle */
	bool root_readonly;
	struct berth_mount *mounts;
	size_t n_mounts;
	bool has_process;
	struct berth_process process;
	char *hostname, *domainname;
	struct berth_hooks hooks;
	struct berth_kv *annotations;
	size_t n_annotations;
	bool has_linux;
	struct berth_linux linux_;
};

/*
 * Parse config.json text (len bytes, need not be NUL-terminated) into *ret.
 * Unknown fields are ignored. Integers are parsed from the number text so that
 * uint64 values are exact. On error: "config.json: <json.path>: <problem>".
 * Only syntax and type problems are reported here; meaning is checked by
 * spec_validate().
 */
int spec_parse(const char *text, size_t len, struct berth_spec **ret, struct berth_error **err);

/*
 * Parse a bare process object (what `exec --process FILE` reads) into a spec
 * holding only it (has_process set; free with spec_free()). Errors as
 * spec_parse(), JSON paths as in a whole config ("process.args").
 */
int spec_parse_process(const char *text, size_t len, struct berth_spec **ret,
		       struct berth_error **err);

/* Read <bundle>/config.json (refusing files over BERTH_SPEC_MAX_SIZE) and parse it. */
int spec_load(const char *path, struct berth_spec **ret, struct berth_error **err);

void spec_free(struct berth_spec *s);
static inline void spec_freep(struct berth_spec **s)
{
	spec_free(*s);
}

/*
 * Check the meaning of a parsed spec (validate.c): required fields, absolute
 * paths, known namespace types without duplicates, mount options, rlimit
 * names, devices, sysctls allowed for the namespaces, etc. Errors name the
 * JSON path: "config.json: linux.namespaces[2].type: unknown namespace \"netx\"".
 * need_process: the process section is required (create/run).
 */
int spec_validate(const struct berth_spec *s, bool need_process, struct berth_error **err);
/* The process part of spec_validate() alone (exec). */
int spec_validate_process(const struct berth_process *p, struct berth_error **err);

/*
 * A container that stays in the runtime's mount namespace (none in
 * linux.namespaces, or a path to berth's own) only changes root: refuse
 * everything that would mount.
 */
int spec_validate_runtime_mntns(const struct berth_spec *s, struct berth_error **err);

/* Helpers used by several modules. */
const char *ns_type_name(enum berth_ns_type t);	   /* "pid", "network", ... as in the spec */
int ns_type_from_name(const char *name);	   /* -EINVAL if unknown */
unsigned long ns_clone_flag(enum berth_ns_type t); /* CLONE_NEWPID, ... */
const struct berth_namespace *spec_find_ns(const struct berth_spec *s, enum berth_ns_type t);
const char *spec_annotation(const struct berth_spec *s, const char *key);
const char *hook_kind_name(enum berth_hook_kind k); /* "prestart", "createRuntime", ... */

/*
 * A node list as in linux.memoryPolicy.nodes and /sys/devices/system/node/online:
 * "0-3,7", "" (empty). Sets the bits in mask (BERTH_NUMA_MASK_WORDS words,
 * cleared first). -EINVAL on bad syntax, -ERANGE on a node beyond
 * BERTH_NUMA_MAX_NODES - 1.
 */
int node_list_parse(const char *s, uint64_t mask[BERTH_NUMA_MASK_WORDS]);

/* The linux.memoryPolicy mode names (flags false) or flag names berth knows; returns how many. */
size_t memory_policy_names(bool flags, const char **ret, size_t max);
