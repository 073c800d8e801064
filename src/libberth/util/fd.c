/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File and fd helpers: whole-file reads, atomic writes, closing inherited fds.
 * Runs in every process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/berth.h" /* berth_read_fd(), berth_read_file(): public */
#include "util/fd.h"
#include "util/macro.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int read_fd_all(int fd, size_t max, char **ret, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap >= max + 1)
				return -EFBIG;
			size_t ncap = MIN(cap * 2, max + 1);
			char *n = realloc(buf, ncap + 1);
			if (!n)
				return -ENOMEM;
			buf = n;
			cap = ncap;
		}
		ssize_t k = read(fd, buf + len, cap - len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int berth_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	return read_fd_all(fd, max, ret, ret_len);
}

int berth_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	return read_file_at(AT_FDCWD, path, max, ret, ret_len);
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size > max)
		return -EFBIG;
	return read_fd_all(fd, max, ret, ret_len);
}

int stat_check_trusted(const struct stat *st, mode_t forbidden, char *why, size_t why_size)
{
	uid_t euid = geteuid();
	if (st->st_uid != euid) {
		snprintf(why, why_size, "is owned by uid %u, not %u", (unsigned)st->st_uid,
			 (unsigned)euid);
		return -EPERM;
	}
	if (st->st_mode & forbidden) {
		snprintf(why, why_size, "is %s by group or others (mode %04o)",
			 forbidden & (S_IRGRP | S_IROTH) ? "accessible" : "writable",
			 (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int fd_check_trusted(int fd, mode_t forbidden, char *why, size_t why_size)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(why, why_size, "cannot be checked: %s", strerror(errno));
		return -errno;
	}
	return stat_check_trusted(&st, forbidden, why, why_size);
}

/* A regular file at dirfd/path, not through a symlink; with trusted, also trusted as above. */
static int read_regular(int dirfd, const char *path, bool trusted, size_t max, char **ret,
			size_t *ret_len, char *why, size_t why_size)
{
	/* O_NONBLOCK: a planted fifo must not hang us before we can look at it */
	_cleanup_close_ int fd =
		openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		/* O_NOFOLLOW on a symlink */
		snprintf(why, why_size,
			 e == ELOOP ? "is not a regular file" : "cannot be opened: %s",
			 strerror(e));
		return e == ELOOP ? -EPERM : -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(why, why_size, "cannot be checked: %s", strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, why_size, "is not a regular file");
		return -EPERM;
	}
	if (trusted) {
		int r = stat_check_trusted(&st, S_IWGRP | S_IWOTH, why, why_size);
		if (r < 0)
			return r;
	}
	if ((size_t)st.st_size > max) {
		snprintf(why, why_size, "is larger than %zu bytes", max);
		return -EFBIG;
	}
	int r = read_fd_all(fd, max, ret, ret_len);
	if (r < 0)
		snprintf(why, why_size, "cannot be read: %s", strerror(-r));
	return r;
}

int read_trusted_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
			 char *why, size_t why_size)
{
	return read_regular(dirfd, path, true, max, ret, ret_len, why, why_size);
}

int read_regular_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
			 char *why, size_t why_size)
{
	return read_regular(dirfd, path, false, max, ret, ret_len, why, why_size);
}

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	char tmp[256];
	if (snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", name, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/*
	 * A new file, never one found there: in a directory others can write
	 * (a --pid-file in /tmp) a planted hard link would have us truncate and
	 * fill the file it links to. A stale one of ours (a crash) goes first.
	 */
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
	_cleanup_close_ int fd = openat(dirfd, tmp, flags, mode);
	if (fd < 0 && errno == EEXIST && unlinkat(dirfd, tmp, 0) == 0)
		fd = openat(dirfd, tmp, flags, mode);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, data, len);
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = -errno;
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	return 0;
}

int write_pid_file(const char *path, pid_t pid)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	const char *base = path;
	if (slash) {
		base = path + (slash - dir) + 1;
		*slash = 0;
	}
	if (!*base)
		return -EISDIR;
	_cleanup_close_ int dfd =
		open(slash ? (*dir ? dir : "/") : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	return write_file_atomic_at(dfd, base, buf, (size_t)n, 0644);
}

int write_string_at(int dirfd, const char *path, const char *s)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	size_t len = strlen(s);
	ssize_t k = write(fd, s, len);
	if (k < 0)
		return -errno;
	if ((size_t)k != len)
		return -EIO;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int close_fds_from(int from, const int *keep, size_t n_keep)
{
	int sorted[64];
	size_t n = 0;

	if (n_keep > ELEMENTSOF(sorted))
		return -E2BIG;
	for (size_t i = 0; i < n_keep; i++)
		if (keep[i] >= from)
			sorted[n++] = keep[i];
	qsort(sorted, n, sizeof(int), cmp_int);

	unsigned int lo = (unsigned int)from;
	for (size_t i = 0; i <= n; i++) {
		unsigned int hi = i < n ? (unsigned int)sorted[i] : ~0U;
		if (i < n && (unsigned int)sorted[i] < lo)
			continue; /* duplicate */
		if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) < 0) {
			/* close_range missing (pre-5.9): walk the fds ourselves */
			for (unsigned int fd = lo; fd < hi && fd < 65536; fd++)
				close((int)fd);
		}
		if (i < n)
			lo = (unsigned int)sorted[i] + 1;
	}
	return 0;
}

ssize_t fd_send(int sock, int passfd, const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr m = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	for (;;) {
		ssize_t k = sendmsg(sock, &m, MSG_NOSIGNAL);
		if (k >= 0)
			return k;
		if (errno != EINTR)
			return -errno;
	}
}

int fd_set_cloexec(int fd, bool on)
{
	int f = fcntl(fd, F_GETFD);
	if (f < 0)
		return -errno;
	int nf = on ? (f | FD_CLOEXEC) : (f & ~FD_CLOEXEC);
	if (nf != f && fcntl(fd, F_SETFD, nf) < 0)
		return -errno;
	return 0;
}

void fd_last_line(int fd, char *buf, size_t n)
{
	char tail[1024];
	struct stat st;
	buf[0] = '\0';
	if (fstat(fd, &st) < 0 || st.st_size <= 0)
		return;
	off_t from = st.st_size > (off_t)sizeof(tail) ? st.st_size - (off_t)sizeof(tail) : 0;
	ssize_t k;
	do
		k = pread(fd, tail, sizeof(tail), from);
	while (k < 0 && errno == EINTR);
	if (k <= 0)
		return;
	size_t end = (size_t)k;
	while (end > 0 && (tail[end - 1] == '\n' || tail[end - 1] == '\r'))
		end--;
	size_t start = end;
	while (start > 0 && tail[start - 1] != '\n')
		start--;
	size_t j = 0;
	for (size_t i = start; i < end && j + 1 < n; i++)
		buf[j++] = (unsigned char)tail[i] < 0x20 || tail[i] == 0x7f ? '?' : tail[i];
	buf[j] = '\0';
}
