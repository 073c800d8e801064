/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File and fd helpers: read whole files, write atomically, close inherited
 * fds. libc and kernel only; used in every process.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Read all of path (at most max bytes, else -EFBIG) into a NUL-terminated buffer. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);
int read_fd_all(int fd, size_t max, char **ret, size_t *ret_len);

/*
 * Could only the effective user have written what st (or fd) describes? It
 * must be owned by geteuid() and have none of the forbidden mode bits
 * (S_IWGRP | S_IWOTH for files berth reads back and the dirs holding them,
 * 077 for a private dir). Returns 0, or -EPERM with the reason in why
 * ("is owned by uid 65534, not 0"), ready to follow the subject's name.
 */
int stat_check_trusted(const struct stat *st, mode_t forbidden, char *why, size_t why_size);
int fd_check_trusted(int fd, mode_t forbidden, char *why, size_t why_size);

/*
 * read_file_at() for a file berth wrote itself and reads back: not a symlink,
 * a regular file, trusted as above (-EPERM otherwise). On any failure why
 * holds the reason, to follow the file's name.
 */
int read_trusted_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
			 char *why, size_t why_size);

/*
 * The same without the trust check, for a file of a directory berth does not
 * trust (a checkpoint's images): a regular file, not through a symlink, and no
 * FIFO to block on.
 */
int read_regular_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
			 char *why, size_t why_size);

/*
 * Write data to dirfd/name through a new temporary file (O_EXCL: never one
 * that was there) and rename(2): readers see the old file or the new one.
 */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

/*
 * Write pid to path (relative to the cwd) as runc does, for engines that
 * read it back (containerd, podman): the decimal number and no newline,
 * mode 0644, atomically as above. 0 or -errno.
 */
int write_pid_file(const char *path, pid_t pid);

/* Write the whole buffer, retrying on EINTR and short writes. */
int write_all(int fd, const void *data, size_t len);

/* Write a string to an existing file (sysfs/procfs style). */
int write_string_at(int dirfd, const char *path, const char *s);

/* Close every fd >= from except those in keep[] (n_keep entries). */
int close_fds_from(int from, const int *keep, size_t n_keep);

/*
 * Send len bytes of data (at least one) with passfd attached as SCM_RIGHTS
 * over a unix socket, retrying on EINTR, never raising SIGPIPE. Returns the
 * number of bytes sent (the fd travels with the first) or -errno.
 */
ssize_t fd_send(int sock, int passfd, const void *data, size_t len);

/*
 * The last non-empty line among the last bytes of the file fd (read with
 * pread(2) from its end: a log another process wrote), with control
 * characters replaced by '?', in buf (n > 0). "" if there is none or on error.
 */
void fd_last_line(int fd, char *buf, size_t n);

/* Set or clear FD_CLOEXEC. */
int fd_set_cloexec(int fd, bool on);
