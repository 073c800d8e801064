/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRIU, driven over its RPC protocol (`criu swrk FD`, protobuf messages of
 * CRIU's rpc.proto): the one place berth talks to CRIU, for checkpoint and
 * restore only. Nothing is linked: the criu program is found at run time.
 * Parent side (the berth process).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "berth/error.h"

/* criu_req_type of rpc.proto */
enum criu_req_type {
	CRIU_REQ_DUMP = 1,
	CRIU_REQ_RESTORE = 2,
	CRIU_REQ_PRE_DUMP = 4,
	CRIU_REQ_NOTIFY = 6,
	CRIU_REQ_FEATURE_CHECK = 9,
	CRIU_REQ_VERSION = 10,
};

/* criu_cg_mode of rpc.proto; -1: not sent (CRIU's default, soft) */
enum criu_cg_mode {
	CRIU_CG_IGNORE = 0,
	CRIU_CG_SOFT = 3,
	CRIU_CG_FULL = 4,
	CRIU_CG_STRICT = 5,
};

struct criu_pair {
	const char *key;
	const char *val;
};

struct criu_inherit {
	const char *key; /* "pipe:[123]", "extRootNetNS" */
	int fd;		 /* ours, left open across the exec of criu swrk (criu.c) */
};

/* The criu_opts of one request; fds are ours (CRIU reaches them through /proc/<our pid>/fd). */
struct criu_opts {
	enum criu_req_type type;
	int images_fd, work_fd; /* work_fd -EBADF: the images dir */
	pid_t pid;		/* dump: the root of the tree */
	const char *root;	/* the container's root filesystem */
	const char *log_file;	/* in the work dir */
	const char *parent_img; /* relative to the images dir */
	bool leave_running, ext_unix_sk, tcp_established, shell_job, file_locks;
	bool track_mem, auto_dedup, lazy_pages, orphan_pts_master, rst_sibling;
	int cg_mode; /* enum criu_cg_mode, or -1 */
	unsigned empty_ns;
	const char *cg_root;	   /* restore: the container's cgroup, relative to the hierarchy */
	const char *freeze_cgroup; /* dump: freeze this cgroup (the container's) first */
	const struct criu_pair *ext_mnt;
	size_t n_ext_mnt;
	const char *const *external;
	size_t n_external;
	const struct criu_inherit *inherit;
	size_t n_inherit;
	const char *ps_address; /* --page-server ADDR:PORT, split */
	int ps_port;
	int status_fd; /* -EBADF: none */
};

/*
 * A notification of CRIU ("setup-namespaces", "post-restore",
 * "orphan-pts-master", ...): pid is the restored init where CRIU gives it,
 * fd an fd it sent (the pty master) or -EBADF, owned by the callee. A
 * failure makes CRIU abort.
 */
typedef int (*criu_notify_fn)(void *data, const char *script, pid_t pid, int fd,
			      struct berth_error **err);

/* Where criu swrk runs. */
struct criu_spawn {
	const char *cgroup; /* clone it into this cgroup (restore: its tree is born there) */
	/*
	 * Restore: set no_new_privs before criu runs, so that every task it makes
	 * inherits it (CRIU's images do not keep it: it would be lost).
	 */
	bool no_new_privs;
	/*
	 * When set: the child gets a mount namespace of its own ("/" made a
	 * slave, so nothing goes back), where mntns_setup(mntns_data) runs
	 * before criu does; what it mounts dies with the child. CRIU's work
	 * dir is then given to it as seen from there (it mounts its cgroup
	 * yard in it). A failure comes back as criu_call's error.
	 */
	int (*mntns_setup)(void *data, struct berth_error **err);
	void *mntns_data;
};

/* The criu program ($BERTH_CRIU, else the installed one); ENOENT says to install it. */
int criu_find(char **ret, struct berth_error **err);

/*
 * Send one request to a fresh `criu swrk` and answer its notifications with
 * fn (may be NULL) until its final answer. *ret_pid: the restored init
 * (restore), else 0. A refusal fails with CRIU's errno and message.
 */
int criu_call(const struct criu_opts *o, const struct criu_spawn *sp, criu_notify_fn fn, void *data,
	      pid_t *ret_pid, struct berth_error **err);

/*
 * Whether CRIU can do lazy pages here (its FEATURE_CHECK request: userfaultfd
 * with non-cooperative events): 0, or -ENOTSUP with a line that says so.
 */
int criu_check_lazy_pages(struct berth_error **err);

/*
 * --manage-cgroups-mode (soft, full, strict, ignore) and --empty-ns (one of
 * network, ipc, uts, pid, mount, as runc takes it) into o, each when not NULL.
 * Returns 0, or -EINVAL with err naming the option.
 */
int criu_opts_set_modes(struct criu_opts *o, const char *cg_mode, const char *empty_ns,
			struct berth_error **err);

/* The last "Error (...)" line of the CRIU log file name in dirfd, without its prefix. */
void criu_log_error(int dirfd, const char *name, char *buf, size_t size);

struct berth_spec;

/*
 * The bind mounts of s as CRIU's external mounts: for a dump the key and the
 * value are the destination, for a restore the value is the source (relative
 * ones under bundle). *ret malloc'd, its strings too: criu_pairs_free().
 */
int criu_bind_mounts(const struct berth_spec *s, const char *bundle, bool restore,
		     struct criu_pair **ret, size_t *ret_n);
void criu_pairs_free(struct criu_pair *p, size_t n);
