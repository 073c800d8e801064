/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Copying a directory tree entry by entry from fd to fd (tmpcopyup in the
 * container init, the overlay's writable layer in checkpoint and restore).
 * libc and kernel only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"
#include "util/tree.h"

#define TREE_MAX_DEPTH 256

struct link_seen {
	dev_t dev;
	ino_t ino;
	char *path; /* where its copy is, relative to the destination's top */
};

struct tree_ctx {
	unsigned flags;
	int dst_top;
	char path[PATH_MAX]; /* of the entry being copied, relative to the top */
	struct link_seen *links;
	size_t n_links;
};

static int copy_data(int from, int to)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(from, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		int r = write_all(to, buf, (size_t)n);
		if (r < 0)
			return r;
	}
}

/* Owners that do not map into a user namespace cannot be kept; leave those to root. */
static int chown_ok(int r)
{
	return r < 0 && errno != EINVAL ? -errno : 0;
}

static int copy_xattrs(int from, int to)
{
	ssize_t n = flistxattr(from, NULL, 0);
	if (n < 0)
		return errno == ENOTSUP ? 0 : -errno;
	if (n == 0)
		return 0;
	_cleanup_free_ char *names = malloc((size_t)n);
	if (!names)
		return -ENOMEM;
	n = flistxattr(from, names, (size_t)n);
	if (n < 0)
		return -errno; /* it grew meanwhile: not a tree to copy now */
	for (char *k = names; k < names + n; k += strlen(k) + 1) {
		ssize_t len = fgetxattr(from, k, NULL, 0);
		if (len < 0)
			return -errno;
		_cleanup_free_ char *val = malloc(len ? (size_t)len : 1);
		if (!val)
			return -ENOMEM;
		len = fgetxattr(from, k, val, (size_t)len);
		if (len < 0 || fsetxattr(to, k, val, (size_t)len, 0) < 0)
			return -errno;
	}
	return 0;
}

/* Owner, then mode (chown clears set-id bits), then the times, of an open entry. */
static int copy_meta(const struct tree_ctx *c, int from, int to, const struct stat *st)
{
	int r = 0;
	if (c->flags & TREE_COPY_XATTRS)
		r = copy_xattrs(from, to);
	if (r >= 0)
		r = chown_ok(fchown(to, st->st_uid, st->st_gid));
	if (r >= 0 && fchmod(to, st->st_mode & 07777) < 0)
		r = -errno;
	if (r >= 0 && (c->flags & TREE_COPY_TIMES)) {
		struct timespec ts[2] = { st->st_atim, st->st_mtim };
		if (futimens(to, ts) < 0)
			r = -errno;
	}
	return r;
}

/* The same for an entry that is not opened (a symlink, a device node), by name. */
static int copy_meta_at(const struct tree_ctx *c, int dst, const char *name, const struct stat *st)
{
	int r = chown_ok(fchownat(dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW));
	if (r >= 0 && !S_ISLNK(st->st_mode) && fchmodat(dst, name, st->st_mode & 07777, 0) < 0)
		r = -errno;
	if (r >= 0 && (c->flags & TREE_COPY_TIMES)) {
		struct timespec ts[2] = { st->st_atim, st->st_mtim };
		if (utimensat(dst, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
	}
	return r;
}

/* A file seen before under another name: link its copy. 1 if done, 0 if new. */
static int copy_hardlink(struct tree_ctx *c, const struct stat *st, int dst, const char *name)
{
	for (size_t i = 0; i < c->n_links; i++) {
		struct link_seen *l = &c->links[i];
		if (l->dev != st->st_dev || l->ino != st->st_ino)
			continue;
		char *slash = strrchr(l->path, '/');
		_cleanup_close_ int pfd = -EBADF;
		if (slash) {
			*slash = '\0';
			pfd = path_open_in_root(c->dst_top, l->path, O_PATH | O_DIRECTORY, 0);
			*slash = '/';
			if (pfd < 0)
				return pfd;
		}
		if (linkat(slash ? pfd : c->dst_top, slash ? slash + 1 : l->path, dst, name, 0) < 0)
			return -errno;
		return 1;
	}
	struct link_seen *nl = realloc(c->links, (c->n_links + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	c->links = nl;
	char *p = strdup(c->path);
	if (!p)
		return -ENOMEM;
	c->links[c->n_links++] = (struct link_seen){ st->st_dev, st->st_ino, p };
	return 0;
}

static int copy_file(struct tree_ctx *c, int src, int dst, const char *name, const struct stat *st)
{
	if ((c->flags & TREE_COPY_HARDLINKS) && st->st_nlink > 1) {
		int r = copy_hardlink(c, st, dst, name);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	/* O_NONBLOCK: a fifo swapped in since the stat must not hang the copy */
	_cleanup_close_ int s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (s < 0)
		return -errno;
	struct stat now;
	if (fstat(s, &now) < 0)
		return -errno;
	if (!S_ISREG(now.st_mode) || now.st_ino != st->st_ino || now.st_dev != st->st_dev)
		return -EAGAIN; /* changed under us */
	_cleanup_close_ int t =
		openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (t < 0)
		return -errno;
	int r = copy_data(s, t);
	return r < 0 ? r : copy_meta(c, s, t, st);
}

static int copy_dir(struct tree_ctx *c, int src, int dst, int depth);

static int copy_entry(struct tree_ctx *c, int src, int dst, const char *name, int depth)
{
	struct stat st;
	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dst, name, 0700) < 0)
			return -errno;
		_cleanup_close_ int s =
			openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int t =
			openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || t < 0)
			return -errno;
		int r = copy_dir(c, s, t, depth + 1);
		return r < 0 ? r : copy_meta(c, s, t, &st);
	}
	if (S_ISREG(st.st_mode))
		return copy_file(c, src, dst, name, &st);
	if (S_ISLNK(st.st_mode)) {
		char tgt[PATH_MAX];
		ssize_t n = readlinkat(src, name, tgt, sizeof(tgt) - 1);
		if (n < 0)
			return -errno;
		tgt[n] = '\0';
		if (symlinkat(tgt, dst, name) < 0)
			return -errno;
		return copy_meta_at(c, dst, name, &st);
	}
	if ((c->flags & TREE_COPY_SPECIAL) &&
	    (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
		if (mknodat(dst, name, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
			return -errno;
		return copy_meta_at(c, dst, name, &st);
	}
	return 0;
}

static int copy_dir(struct tree_ctx *c, int src, int dst, int depth)
{
	if (depth > TREE_MAX_DEPTH)
		return -ELOOP;
	int dfd = fcntl(src, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	rewinddir(d);
	size_t len = strlen(c->path);
	int r = 0;
	struct dirent *de;
	while (r >= 0 && (errno = 0, de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		int n = snprintf(c->path + len, sizeof(c->path) - len, "%s%s", len ? "/" : "",
				 de->d_name);
		if (n < 0 || (size_t)n >= sizeof(c->path) - len) {
			r = -ENAMETOOLONG;
			break;
		}
		r = copy_entry(c, src, dst, de->d_name, depth);
		if (r >= 0)
			c->path[len] = '\0';
	}
	if (r >= 0 && errno != 0)
		r = -errno;
	closedir(d);
	return r;
}

int tree_copy(int src, int dst, unsigned flags, char *where, size_t where_size)
{
	struct tree_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->flags = flags;
	c->dst_top = dst;
	int r = copy_dir(c, src, dst, 0);
	struct stat st;
	if (r >= 0 && (flags & TREE_COPY_TOP)) {
		c->path[0] = '\0';
		r = fstat(src, &st) < 0 ? -errno : copy_meta(c, src, dst, &st);
	}
	if (where && where_size)
		snprintf(where, where_size, "%s", r < 0 && c->path[0] ? c->path : ".");
	for (size_t i = 0; i < c->n_links; i++)
		free(c->links[i].path);
	free(c->links);
	free(c);
	return r;
}
