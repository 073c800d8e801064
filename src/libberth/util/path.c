/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Paths inside a container's root: open, mkdir -p and create mount targets
 * with every lookup done by openat2(RESOLVE_IN_ROOT) from a root fd, plus
 * pure string helpers. Runs in the container init (mount, process).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/path.h"

/* As many symlinks as the kernel follows in one lookup (MAXSYMLINKS). */
#define PATH_MAX_SYMLINKS 40

int path_open_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	/* openat2 rejects a mode without O_CREAT/O_TMPFILE */
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		how.mode = mode;

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";

	for (int tries = 0;; tries++) {
		long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		/* EAGAIN: a concurrent rename raced with the ".." checks; retry a few times */
		if (errno == EAGAIN && tries < 32)
			continue;
		if (errno == EINTR)
			continue;
		return -errno;
	}
}

/* Append component c (len n) to the path string *p (a '/'-separated path). */
static int path_append(char **p, const char *c, size_t n)
{
	size_t l = strlen(*p);
	char *q = realloc(*p, l + 1 + n + 1);
	if (!q)
		return -ENOMEM;
	q[l] = '/';
	memcpy(q + l + 1, c, n);
	q[l + 1 + n] = 0;
	*p = q;
	return 0;
}

/* readlinkat() into a malloc'd string; NULL with errno set on failure. */
static char *read_link_at(int dirfd, const char *name)
{
	for (size_t sz = 256; sz <= PATH_MAX * 4; sz *= 2) {
		char *buf = malloc(sz);
		if (!buf)
			return NULL;
		ssize_t n = readlinkat(dirfd, name, buf, sz);
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if ((size_t)n < sz) {
			buf[n] = 0;
			return buf;
		}
		free(buf);
	}
	errno = ENAMETOOLONG;
	return NULL;
}

/*
 * Where a dangling symlink <dir>/<name> with target tgt points, followed by
 * rest: "tgt/rest" when tgt is absolute (resolved from the root later), else
 * "dir/tgt/rest". The kernel resolves the result in the root, so ".." in tgt
 * is relative to the symlink's real parent and clamped at the root.
 */
static char *symlink_retarget(const char *dir, const char *tgt, const char *rest)
{
	char *s = NULL;
	const char *sep = *rest ? "/" : "";
	int r;
	if (tgt[0] == '/')
		r = asprintf(&s, "%s%s%s", tgt, sep, rest);
	else
		r = asprintf(&s, "%s/%s%s%s", dir, tgt, sep, rest);
	return r < 0 ? NULL : s;
}

/*
 * mkdir -p inside the root. Every prefix is opened from root_fd with
 * RESOLVE_IN_ROOT; a missing component is created with mkdirat() on its
 * parent's fd; a dangling symlink is followed by rewriting the remaining path
 * and starting again from the root, so its target is created inside the root.
 */
static int mkdir_p_in_root(int root_fd, const char *path, mode_t mode, int depth)
{
	if (depth > PATH_MAX_SYMLINKS)
		return -ELOOP;

	_cleanup_free_ char *done = strdup(""); /* the prefix opened so far */
	if (!done)
		return -ENOMEM;
	_cleanup_close_ int cur = path_open_in_root(root_fd, "", O_PATH | O_DIRECTORY, 0);
	if (cur < 0)
		return cur;

	const char *p = path;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, "/");
		if (n == 1 && p[0] == '.') {
			p += n;
			continue;
		}
		if (n > NAME_MAX)
			return -ENAMETOOLONG;

		char name[NAME_MAX + 1];
		memcpy(name, p, n);
		name[n] = 0;

		_cleanup_free_ char *next = strdup(done);
		if (!next)
			return -ENOMEM;
		int r = path_append(&next, name, n);
		if (r < 0)
			return r;

		int fd = -EBADF;
		for (int tries = 0;; tries++) {
			fd = path_open_in_root(root_fd, next, O_PATH | O_DIRECTORY, 0);
			if (fd != -ENOENT || tries > 8)
				break;

			struct stat st;
			if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno != ENOENT)
					return -errno;
				if (mkdirat(cur, name, mode) < 0 && errno != EEXIST)
					return -errno;
				continue; /* reopen what we just made */
			}
			if (!S_ISLNK(st.st_mode))
				return -ENOENT; /* vanished under us: give up */

			/* dangling symlink: create its target, resolved in the root */
			_cleanup_free_ char *tgt = read_link_at(cur, name);
			if (!tgt)
				return -errno;
			_cleanup_free_ char *np = symlink_retarget(done, tgt, p + n);
			if (!np)
				return -ENOMEM;
			return mkdir_p_in_root(root_fd, np, mode, depth + 1);
		}
		if (fd < 0)
			return fd;

		close(cur);
		cur = fd;
		free(done);
		done = TAKE_PTR(next);
		p += n;
	}
	return TAKE_FD(cur);
}

int path_mkdir_p_in_root(int root_fd, const char *path, mode_t mode)
{
	return mkdir_p_in_root(root_fd, path, mode, 0);
}

/* Split path into a malloc'd parent ("" for the root) and a pointer to its last component. */
static int path_split_last(const char *path, char **ret_dir, char **ret_base)
{
	_cleanup_free_ char *s = strdup(path);
	if (!s)
		return -ENOMEM;
	size_t l = strlen(s);
	while (l > 0 && s[l - 1] == '/')
		s[--l] = 0;
	char *slash = strrchr(s, '/');
	char *base = slash ? slash + 1 : s;
	if (!*base || streq(base, ".") || streq(base, ".."))
		return -EINVAL;
	char *b = strdup(base);
	if (!b)
		return -ENOMEM;
	if (slash)
		*slash = 0;
	else
		s[0] = 0;
	*ret_dir = TAKE_PTR(s);
	*ret_base = b;
	return 0;
}

static int ensure_in_root(int root_fd, const char *path, bool is_dir, mode_t mode, int depth)
{
	if (is_dir)
		return mkdir_p_in_root(root_fd, path, mode, depth);
	if (depth > PATH_MAX_SYMLINKS)
		return -ELOOP;

	int fd = path_open_in_root(root_fd, path, O_PATH, 0);
	if (fd != -ENOENT)
		return fd;

	_cleanup_free_ char *dir = NULL, *base = NULL;
	int r = path_split_last(path, &dir, &base);
	if (r < 0)
		return r;
	_cleanup_close_ int dfd = mkdir_p_in_root(root_fd, dir, 0755, depth);
	if (dfd < 0)
		return dfd;

	struct stat st;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISLNK(st.st_mode))
			return -ENOENT; /* raced: it exists now but did not resolve */
		/* dangling symlink: create what it points to, inside the root */
		_cleanup_free_ char *tgt = read_link_at(dfd, base);
		if (!tgt)
			return -errno;
		_cleanup_free_ char *np = symlink_retarget(dir, tgt, "");
		if (!np)
			return -ENOMEM;
		return ensure_in_root(root_fd, np, false, mode, depth + 1);
	}
	if (errno != ENOENT)
		return -errno;

	_cleanup_close_ int nfd = openat(
		dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
	if (nfd < 0 && errno != EEXIST)
		return -errno;
	/* reopen through the root so that what we return is what a lookup in the root sees */
	return path_open_in_root(root_fd, path, O_PATH, 0);
}

int path_ensure_in_root(int root_fd, const char *path, bool is_dir, mode_t mode)
{
	return ensure_in_root(root_fd, path, is_dir, mode, 0);
}

char *path_fd_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
	return buf;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 0 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	size_t lb = strlen(b);

	char *s = malloc(la + 1 + lb + 1);
	if (!s)
		return NULL;
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb);
	s[la + 1 + lb] = 0;
	return s;
}

char *path_absolute(const char *base, const char *p)
{
	_cleanup_free_ char *full = NULL;
	if (p[0] == '/' || !base)
		full = strdup(p);
	else
		full = path_join(base, p);
	if (!full)
		return NULL;

	/* The result is never longer than "/" + full. */
	size_t cap = strlen(full) + 2;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t len = 0;

	const char *s = full;
	for (;;) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		size_t n = strcspn(s, "/");
		if (n == 1 && s[0] == '.') {
			/* nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* drop the '/' too */
		} else {
			out[len++] = '/';
			memcpy(out + len, s, n);
			len += n;
		}
		s += n;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = 0;
	return out;
}

const char *path_self_exe(void)
{
	static char self[PATH_MAX];
	static bool done;
	if (!done) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 && self[0] == '/' ? n : 0] = 0;
		done = true;
	}
	return self[0] ? self : NULL;
}

int path_find_program(const char *env_var, const char *const *fixed, size_t n_fixed,
		      const char *name, char **ret)
{
	const char *e = getenv(env_var);
	if (e && *e)
		return (*ret = strdup(e)) ? 0 : -ENOMEM;
	const char *exe = path_self_exe();
	const char *slash = exe ? strrchr(exe, '/') : NULL;
	if (slash) {
		_cleanup_free_ char *p = NULL;
		if (asprintf(&p, "%.*s/%s", (int)(slash - exe), exe, name) < 0)
			return -ENOMEM;
		if (access(p, X_OK) == 0) {
			*ret = TAKE_PTR(p);
			return 0;
		}
	}
	for (size_t i = 0; i < n_fixed; i++)
		if (fixed[i] && access(fixed[i], X_OK) == 0)
			return (*ret = strdup(fixed[i])) ? 0 : -ENOMEM;
	return -ENOENT;
}
