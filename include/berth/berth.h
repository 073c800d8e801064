/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public API of libberth: what the berth CLI, berth-shim or a container
 * engine links against. The library never prints and never exits; errors come
 * back as struct berth_error, warnings and debug lines through ctx->log. The
 * berth CLI includes nothing else of libberth: what it needs is here.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/error.h"
#include "berth/version.h" /* BERTH_VERSION, generated from meson.build */

#define BERTH_SPEC_VERSION "1.3.0"
#define BERTH_DEFAULT_ROOT "/run/berth"

enum berth_log_level {
	BERTH_LOG_ERROR,
	BERTH_LOG_WARN,
	BERTH_LOG_INFO,
	BERTH_LOG_DEBUG,
};

/* The line formats of a --log file, for berth_log_line(). */
enum berth_log_format {
	BERTH_LOG_FORMAT_TEXT, /* time="2006-01-02T15:04:05Z" level=error msg="..." */
	BERTH_LOG_FORMAT_JSON, /* {"level":"error","msg":"...","time":"2006-01-02T15:04:05Z"} */
};

/*
 * One line of a --log file as runc writes it (logrus) and engines such as
 * containerd read it back, with its newline: msg quoted or escaped for the
 * format, at time t (UTC, to the second). malloc'd; NULL on ENOMEM. Since
 * BERTH_0.2.
 */
char *berth_log_line(enum berth_log_format format, enum berth_log_level level, const char *msg,
		     time_t t);

struct berth_context {
	const char *root; /* state root; NULL means BERTH_DEFAULT_ROOT */
	bool systemd_cgroup;
	bool debug;
	/* Warnings (poststart hook failed, ...) and debug lines; may be NULL. */
	void (*log)(void *data, enum berth_log_level level, const char *msg);
	void *log_data;
};

struct berth_create_opts {
	const char *id;
	const char *bundle; /* NULL: current directory */
	const char *pid_file;
	const char *console_socket;
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds; /* fds 3 .. 3+n-1 are passed to the container */
	/*
	 * The host's NOTIFY_SOCKET (sd_notify), or NULL. Set only when a relay
	 * will listen (berth_run, berth_create_shim): the container gets its own
	 * socket at /run/notify/notify.sock and READY=1 is passed on.
	 */
	const char *notify_socket;
	/* LISTEN_FDS socket activation: n fds (within preserve_fds); LISTEN_PID is the init's */
	int listen_fds;
};

/*
 * runtime-spec state plus what berth keeps about a container: the one type
 * of state.json (libberth reads and writes it) and of berth_state_get().
 */
struct berth_state {
	char *oci_version;
	char *id;
	char *status; /* "creating", "created", "running", "paused", "stopped" */
	pid_t pid;    /* 0 when stopped */
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339 */
	char **annotation_keys, **annotation_values;
	size_t n_annotations;
	/* Recorded by berth-shim when the init exited (shown as berth.exitCode, berth.exitedAt). */
	bool has_exit_code;
	int exit_code;	 /* 128+N when killed by signal N */
	char *exited_at; /* RFC 3339 */
	/* berth_list only: who owns the state, as runc's list shows it (name or "#UID") */
	char *owner;
	/* the absolute path of the container's cgroup directory, or NULL */
	char *cgroup;
	/* --systemd-cgroup: the transient scope unit that holds the cgroup, or NULL */
	char *systemd_unit;
	/* /proc/<pid>/stat field 22 of the init: guards against PID reuse */
	uint64_t pid_start_time;
	/* berth start ran */
	bool started;
	/*
	 * Set by create before it makes anything, cleared by its last write: still
	 * set once the state's lock is free means the create died half-way, and
	 * delete removes what the state names.
	 */
	bool creating;
};

/* Check a container ID: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 1024 bytes. */
int berth_id_check(const char *id, struct berth_error **err);

/*
 * Create the container: state dir, cgroup, namespaces, root filesystem, hooks
 * up to createContainer. The init is left waiting for berth_start(). Writes
 * the pid file. On failure nothing is left behind.
 */
int berth_create(struct berth_context *ctx, const struct berth_create_opts *opts,
		 struct berth_error **err);

/*
 * Release a created container's init to execute the user's program, then run
 * the poststart hooks. A failing poststart hook fails the start: the container
 * is stopped and deleted (poststop hooks run), as runtime-spec 1.3 asks.
 */
int berth_start(struct berth_context *ctx, const char *id, struct berth_error **err);

/*
 * create + start in the foreground: stdio passed through, signals forwarded to
 * the init, waits for it. *ret_status is the exit code (128+N when killed by
 * signal N). The container is deleted afterwards unless keep.
 */
int berth_run(struct berth_context *ctx, const struct berth_create_opts *opts, bool keep,
	      int *ret_status, struct berth_error **err);

/* Send sig to the init, or with all to every process of the container's cgroup. */
int berth_kill(struct berth_context *ctx, const char *id, int sig, bool all,
	       struct berth_error **err);

/*
 * Delete a created or stopped container (force: kill a running one first).
 * Runs poststop hooks, removes the cgroup and the state dir.
 */
int berth_delete(struct berth_context *ctx, const char *id, bool force, struct berth_error **err);

int berth_state_get(struct berth_context *ctx, const char *id, struct berth_state **ret,
		    struct berth_error **err);
/* runtime-spec state JSON (ociVersion, id, status, pid, bundle, annotations); malloc'd. */
char *berth_state_to_json(const struct berth_state *s, bool pretty);
void berth_state_free(struct berth_state *s);

/* Every container under ctx->root, sorted by id. */
int berth_list(struct berth_context *ctx, struct berth_state ***ret, size_t *ret_n,
	       struct berth_error **err);
void berth_state_list_free(struct berth_state **l, size_t n);
/*
 * The JSON of `berth list --format json`, as runc's: an array of the
 * berth_state_to_json() objects of l, compact. malloc'd; NULL on ENOMEM.
 * Since BERTH_0.2.
 */
char *berth_state_list_to_json(struct berth_state *const *l, size_t n);

/* PIDs of every process of the container (its cgroup), sorted. */
int berth_ps(struct berth_context *ctx, const char *id, pid_t **ret, size_t *ret_n,
	     struct berth_error **err);

/* A default config.json that berth run accepts as is (sh in rootfs/). malloc'd JSON text. */
int berth_spec_generate(bool rootless, char **ret_json, struct berth_error **err);

/* The runtime-spec features.md JSON, true to what berth implements. malloc'd. */
int berth_features_json(char **ret_json, struct berth_error **err);

/* "TERM", "SIGTERM", "15" -> 15. -EINVAL if unknown. */
int berth_signal_parse(const char *s, int *ret_sig);

/*
 * Change the limits of a live container: resources is linux.resources JSON
 * (len bytes; what `berth update --resources` reads). Fields left out or 0
 * (as engines send them) are not changed; devices are not updated.
 */
int berth_update(struct berth_context *ctx, const char *id, const char *resources, size_t len,
		 struct berth_error **err);

/* The limits of `berth update`'s options, for berth_update_limits(). */
enum berth_limit {
	BERTH_LIMIT_MEMORY,		/* memory.limit, bytes; -1: none */
	BERTH_LIMIT_MEMORY_SWAP,	/* memory.swap: memory plus swap; -1: unlimited swap */
	BERTH_LIMIT_MEMORY_RESERVATION, /* memory.reservation: the soft limit */
	BERTH_LIMIT_CPU_SHARES,		/* cpu.shares */
	BERTH_LIMIT_CPU_QUOTA,		/* cpu.quota, microseconds per period; -1: none */
	BERTH_LIMIT_CPU_PERIOD,		/* cpu.period, microseconds */
	BERTH_LIMIT_CPUSET_CPUS,	/* cpu.cpus, a list ("0-3,5") */
	BERTH_LIMIT_CPUSET_MEMS,	/* cpu.mems, a list of memory nodes */
	BERTH_LIMIT_PIDS,		/* pids.limit; -1: none */
	BERTH_LIMIT_BLKIO_WEIGHT,	/* blockIO.weight */
};

struct berth_limit_value {
	enum berth_limit limit;
	int64_t value;	  /* the number, for every limit but the two below */
	const char *list; /* BERTH_LIMIT_CPUSET_CPUS and BERTH_LIMIT_CPUSET_MEMS */
};

/*
 * berth_update() with the n limits of v as values instead of JSON (what
 * `berth update --memory ...` sets); a limit given twice counts once, the
 * last. An unknown limit fails with EINVAL. Since BERTH_0.2.
 */
int berth_update_limits(struct berth_context *ctx, const char *id,
			const struct berth_limit_value *v, size_t n, struct berth_error **err);

/*
 * Read all of fd, or of the file path (relative to the cwd), into a malloc'd,
 * NUL-terminated buffer (*ret_len bytes; ret_len may be NULL): what
 * berth_exec() and berth_update() take, from a file or a pipe as engines pass
 * it. At most max bytes, else -EFBIG; 0 or -errno. fd stays open. Since BERTH_0.2.
 */
int berth_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
int berth_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* Freeze every process of the container (cgroup.freeze); state then says "paused". */
int berth_pause(struct berth_context *ctx, const char *id, struct berth_error **err);
/* Thaw a paused container. */
int berth_resume(struct berth_context *ctx, const char *id, struct berth_error **err);

struct berth_events_opts {
	bool stats_only;      /* one stats event, then return */
	unsigned interval_ms; /* between stats events; 0: 5000 */
	/* Called with each event as one line of JSON (no newline); non-zero stops. */
	int (*emit)(void *data, const char *json);
	void *data;
};

/*
 * runc-compatible events of a container: {"type":"stats","id":..,"data":{..}}
 * every interval and {"type":"oom","id":..} when the OOM killer struck.
 * Goes on after the container stopped and returns once it is deleted (or
 * after one stats event with stats_only), as runc's events.
 */
int berth_events(struct berth_context *ctx, const char *id, const struct berth_events_opts *opts,
		 struct berth_error **err);

/* `berth exec`: a new process in a running container. */
struct berth_exec_params {
	const char *id;
	/*
	 * The process: process_json (the text of --process FILE, len bytes;
	 * process_name names it in errors) or, when NULL, the container's own
	 * process with args. The fields below change either.
	 */
	const char *process_json;
	size_t process_json_len;
	const char *process_name;
	char *const *args; /* NULL-terminated; required without process_json */
	bool tty;	   /* process.terminal = true */
	const char *console_socket;
	bool detach;
	const char *pid_file;
	char *const *env; /* NULL-terminated KEY=VALUE, replacing the same KEY */
	const char *cwd;
	bool has_uid, has_gid;
	uint32_t uid, gid;
	const uint32_t *additional_gids; /* added */
	size_t n_additional_gids;
	char *const *caps; /* NULL-terminated names, added to bounding, effective, permitted */
	bool no_new_privs;
	int preserve_fds; /* fds 3 .. 3+n-1 are passed to the process */
	bool ignore_paused;
	/*
	 * runc's --cgroup, NULL-terminated: "SUB" alone (the process goes into
	 * SUB below the container's cgroup, on a hybrid host also in the v1
	 * hierarchies that have it) or "CONTROLLER[,CONTROLLER]:SUB" (v1
	 * controllers of a hybrid host). SUB must exist and stay below.
	 */
	char *const *sub_cgroups;
};

/*
 * Run a process in the running container p->id: it joins every namespace
 * of the container's init (through a pidfd), its cgroup and its root, gets
 * its capabilities (inheritable stays as asked: empty unless given),
 * rlimits, no_new_privs, umask and the container's seccomp filter. With
 * detach returns once the program runs (*ret_status = its pid); else waits
 * with signals forwarded (and a terminal relayed without console_socket) and
 * *ret_status is its exit code (128+N when killed by signal N).
 */
int berth_exec(struct berth_context *ctx, const struct berth_exec_params *p, int *ret_status,
	       struct berth_error **err);

/* ---- berth-shim: supervised containers (src/libberth/shim.c, shim-client.c) ---- */

/*
 * Create the container under a berth-shim process that becomes the parent
 * of its init (and subreaper), keeps its stdio (container.log, attach.sock)
 * and records its exit status; with start, also start it. Returns once the
 * shim is ready; the shim runs on after the caller exits.
 */
int berth_create_shim(struct berth_context *ctx, const struct berth_create_opts *opts, bool start,
		      struct berth_error **err);

/*
 * Wait until the container stopped and its exit code is known; *ret_code is
 * it (128+N when killed by signal N). Fails when no berth-shim recorded it.
 */
int berth_wait(struct berth_context *ctx, const char *id, int *ret_code, struct berth_error **err);

struct berth_logs_opts {
	bool follow; /* keep reading until the container's shim is gone */
	long tail;   /* only the last tail lines; < 0: all */
	/* Called with each message (without its newline when partial); non-zero stops. */
	int (*emit)(void *data, const char *stream, const char *msg, size_t len, bool partial);
	void *data;
};

/* The messages of <state>/<id>/container.log (k8s-file format, written by berth-shim). */
int berth_logs(struct berth_context *ctx, const char *id, const struct berth_logs_opts *opts,
	       struct berth_error **err);

/*
 * Connect to the shim's attach socket. *ret_fd is a SOCK_SEQPACKET socket:
 * it receives the container's output; send BERTH_ATTACH_DATA + bytes for its
 * stdin, BERTH_ATTACH_WINSIZE + rows, cols (uint16_t each) to resize its pty.
 * *ret_tty tells whether the container has a terminal.
 */
#define BERTH_ATTACH_DATA    'd'
#define BERTH_ATTACH_WINSIZE 'w'
int berth_attach_connect(struct berth_context *ctx, const char *id, int *ret_fd, bool *ret_tty,
			 struct berth_error **err);

/* ---- checkpoint and restore with CRIU (src/libberth/criu.c; `criu` must be installed) ---- */

/* `berth checkpoint`: runc's options, with runc's defaults. Since BERTH_0.3. */
struct berth_checkpoint_opts {
	const char *id;
	const char *image_path;	 /* NULL: ./checkpoint */
	const char *work_path;	 /* logs (dump.log); NULL: the image path */
	const char *parent_path; /* the images of a pre-dump, relative to image_path */
	bool leave_running;
	bool tcp_established, ext_unix_sk, shell_job, file_locks;
	bool pre_dump; /* dump memory only, the container goes on */
	bool auto_dedup;
	bool lazy_pages;
	const char *manage_cgroups_mode; /* soft (NULL), full, strict, ignore */
	const char *empty_ns;		 /* a namespace CRIU leaves empty: "network" */
	const char *page_server;	 /* ADDR:PORT, or NULL */
	int status_fd; /* --status-fd: CRIU writes to it when lazy pages are ready; -1 */
};

/*
 * Dump the running container id into the image dir with CRIU. Without
 * leave_running or pre_dump its processes are gone afterwards and the
 * state says "stopped"; the container is deleted as usual. The image dir
 * also gets descriptors.json (the init's stdio, as runc writes it).
 */
int berth_checkpoint(struct berth_context *ctx, const struct berth_checkpoint_opts *opts,
		     struct berth_error **err);

/* `berth restore`. Since BERTH_0.3. */
struct berth_restore_opts {
	const char *id;
	const char *bundle; /* NULL: current directory */
	const char *image_path, *work_path;
	const char *pid_file;
	const char *console_socket; /* process.terminal: the pty master goes there */
	bool detach;
	bool no_pivot;
	bool tcp_established, ext_unix_sk, shell_job, file_locks;
	bool auto_dedup, lazy_pages;
	const char *manage_cgroups_mode;
	const char *empty_ns;
	bool shim; /* hand the container to berth-shim (as berth_create_shim); implies detach */
};

/*
 * Make the container id again from its bundle and the images of a
 * checkpoint: state, cgroup with its limits, network (berth.net: a fresh
 * veth with the same address), the prestart and createRuntime hooks, then
 * CRIU puts the processes back. The container is "running". Without
 * detach, waits for it like berth_run (*ret_status its exit code) and
 * deletes it; with detach returns at once (*ret_status 0); with shim,
 * berth-shim becomes the init's parent (its output in container.log, its
 * exit status for berth_wait) and it returns once the shim is ready.
 */
int berth_restore(struct berth_context *ctx, const struct berth_restore_opts *opts, int *ret_status,
		  struct berth_error **err);
