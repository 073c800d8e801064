/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What berth remembers about a container between commands: <root>/<id>/
 * (0700) holds state.json (written atomically), a copy of config.json and,
 * while the container is created but not started, start.sock (the waiting
 * init listens on it). A flock on the directory serialises commands on one
 * container. Runs in the CLI process.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/berth.h"
#include "berth/error.h"

struct berth_context;

#define STATE_FILE   "state.json"
#define STATE_CONFIG "config.json"
#define STATE_SOCKET "start.sock"

/*
 * Open the state root (with create, make it and its parents 0700 first). It
 * must be owned by the effective user and not writable by group or others,
 * else an error names the path and the reason. Without create, a missing root
 * is not an error: 0 with *ret_fd = -EBADF. An O_PATH fd.
 */
int state_root_open(const char *root, bool create, int *ret_fd, struct berth_error **err);
/*
 * Open (and with create, make: 0700, EEXIST -> "container \"x\" already exists") the state dir
 * and take its lock. The root is checked as above; the dir must be owned by the effective user
 * and closed to group and others.
 */
int state_dir_open(const char *root, const char *id, bool create, int *ret_dirfd,
		   struct berth_error **err);
/* Read a file berth wrote into the state dir (config.json, shim.pid), refusing any other. */
int state_read_file(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len,
		    struct berth_error **err);
/*
 * Write s as state.json (atomically; 0600): what berth itself reads back.
 * The fields of state.json are those of struct berth_state but status and
 * owner, which are never stored.
 */
int state_write(int dirfd, const struct berth_state *s, struct berth_error **err);
/*
 * Read state.json (only a file berth wrote: see read_trusted_file_at()). A
 * state dir without one (create died before its first write) reads as a
 * creating container that names nothing else. A field of the wrong type, or
 * no id or bundle: EBADMSG, "state of \"<id>\" is corrupt: state.json: pid: ...".
 */
int state_read(int dirfd, const char *id, struct berth_state **ret, struct berth_error **err);
/*
 * The runtime spec's state document of s (malloc'd; NULL on ENOMEM): status
 * (NULL: s->status), pid 0 when "stopped". full adds rootfs, created, owner
 * and berth-shim's exit record (as annotations berth.exitCode and
 * berth.exitedAt), for berth state and list; hooks and the seccomp agent get
 * the spec's fields only. indent: NULL for one line.
 */
char *state_json(const struct berth_state *s, const char *status, bool full, const char *indent);
/* Remove every file of the state dir and the dir itself. */
int state_dir_remove(const char *root, const char *id, int dirfd);

/*
 * "creating", "created", "running", "paused" or "stopped" from the init
 * process, the started flag and the cgroup (container-cgroup.c: it composes
 * state and cgroup, and keeps state.c free of cgroups for berth-shim).
 */
const char *state_status(int dirfd, const struct berth_state *s);
/*
 * The state root of ctx: ctx->root, else BERTH_DEFAULT_ROOT for root, else
 * (rootless, proc_rootless()) $XDG_RUNTIME_DIR/berth (NULL if that is unset or not absolute:
 * state_root_open() says so). The string lives until the next call.
 */
const char *state_root(const struct berth_context *ctx);
/* 0 if root (from state_root()) is a state root, else -ENOENT with why. */
int state_root_check(const char *root, struct berth_error **err);
/*
 * What a command on an existing container starts with: check id
 * (berth_id_check()), open its state dir under state_root(ctx) and take its
 * lock (state_dir_open()); state_open_read() also reads its state.
 */
int state_open(const struct berth_context *ctx, const char *id, int *ret_dirfd,
	       struct berth_error **err);
int state_open_read(const struct berth_context *ctx, const char *id, int *ret_dirfd,
		    struct berth_state **ret, struct berth_error **err);
