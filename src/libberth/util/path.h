/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Paths inside a container's root, always resolved from a directory fd with
 * openat2(RESOLVE_IN_ROOT): a symlink in the image can never lead outside the
 * root. libc and kernel only. Used by the container init (mount, process).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS. Returns fd or -errno. */
int path_open_in_root(int root_fd, const char *path, int flags, mode_t mode);

/*
 * Create every missing directory of path (relative to root_fd, leading '/'
 * ignored) with mode, resolving each component inside the root. Returns an
 * O_PATH|O_DIRECTORY fd of the final directory or -errno.
 */
int path_mkdir_p_in_root(int root_fd, const char *path, mode_t mode);

/*
 * Make sure path exists inside the root as a directory (is_dir) or an empty
 * regular file, creating parents as needed. Returns an O_PATH fd of it (which
 * can be used as a mount target through /proc/self/fd/N or move_mount) or -errno.
 */
int path_ensure_in_root(int root_fd, const char *path, bool is_dir, mode_t mode);

/* "/proc/self/fd/<fd>" into buf (at least 32 bytes). Returns buf. */
char *path_fd_path(int fd, char *buf, size_t size);

/*
 * The path of our own executable as it was before berth detached from it
 * (the first call caches it; selfexe_detach() makes that call). NULL
 * if unknown.
 */
const char *path_self_exe(void);

/*
 * Find a companion program of berth (berth-net, berth-shim): the path in
 * $env_var, else name next to our own executable (a build tree's berth
 * finds its own), else the first executable of fixed[] (where it is
 * installed). Never a build tree's for an installed berth. ret malloc'd;
 * -ENOENT if none.
 */
int path_find_program(const char *env_var, const char *const *fixed, size_t n_fixed,
		      const char *name, char **ret);

/* Join a and b with exactly one '/' between them; malloc'd or NULL. */
char *path_join(const char *a, const char *b);

/* Absolute, normalised form of p relative to base (no symlink resolution). malloc'd or NULL. */
char *path_absolute(const char *base, const char *p);
