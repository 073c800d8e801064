/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/tree.c: a tree copied fd to fd keeps owners, modes, times, xattrs,
 * fifos, whiteouts and hard links when asked, and never follows a symlink
 * of the source. Runs in temp directories (owners, whiteouts and trusted.*
 * only as root).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/tree.h"
#include "tests.h"

static char src[] = "/tmp/berth-test-tree-src-XXXXXX";
static char dst[] = "/tmp/berth-test-tree-dst-XXXXXX";
static char outside[] = "/tmp/berth-test-tree-out-XXXXXX";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void cleanup(void)
{
	nftw(src, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	nftw(dst, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	nftw(outside, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *dir, const char *name, const char *text, mode_t mode)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	check(fd >= 0);
	check(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	check(chmod(p, mode) == 0);
}

static struct stat lstat_in(const char *dir, const char *name)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	check(lstat(p, &st) == 0);
	return st;
}

static bool exists_in(const char *dir, const char *name)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

static int copy(unsigned flags)
{
	int s = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int d = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	check(s >= 0 && d >= 0);
	char where[256];
	int r = tree_copy(s, d, flags, where, sizeof(where));
	close(s);
	close(d);
	return r;
}

static struct timespec ts[2] = { { 1000000, 0 }, { 2000000, 0 } };

/* The source tree; *user_xattr and *trusted: whether the filesystem took those. */
static void make_src(bool root, bool *user_xattr, bool *trusted)
{
	char p[512], q[512];
	snprintf(p, sizeof(p), "%s/d", src);
	check(mkdir(p, 0750) == 0);
	put(src, "d/f", "hello\n", 0640);
	snprintf(p, sizeof(p), "%s/d/f", src);
	snprintf(q, sizeof(q), "%s/d/hard", src);
	check(link(p, q) == 0);
	*user_xattr = setxattr(p, "user.berth", "v", 1, 0) == 0;
	*trusted = false;
	if (root) {
		check(chown(p, 1234, 5678) == 0);
		snprintf(q, sizeof(q), "%s/d", src);
		*trusted = setxattr(q, "trusted.overlay.opaque", "y", 1, 0) == 0;
		snprintf(q, sizeof(q), "%s/whiteout", src);
		check(mknod(q, S_IFCHR | 0, makedev(0, 0)) == 0);
	}
	check(utimensat(AT_FDCWD, p, ts, 0) == 0);
	snprintf(p, sizeof(p), "%s/fifo", src);
	check(mkfifo(p, 0600) == 0);
	/* symlinks stay symlinks: one to a directory out of the tree is not entered */
	put(outside, "secret", "no\n", 0600);
	snprintf(p, sizeof(p), "%s/out", src);
	check(symlink(outside, p) == 0);
	check(chmod(src, 0711) == 0);
}

int main(void)
{
	check(mkdtemp(src) && mkdtemp(dst) && mkdtemp(outside));
	atexit(cleanup);
	bool root = geteuid() == 0, user_xattr, trusted;
	char p[512], buf[512];

	/* tmpcopyup's copy: no fifo, no times */
	make_src(root, &user_xattr, &trusted);
	check(copy(0) == 0);
	check(!exists_in(dst, "fifo"));
	check(lstat_in(dst, "d/f").st_mtime != 2000000);
	check(!exists_in(outside, "d"));
	cleanup();
	check(mkdir(dst, 0700) == 0 && mkdir(src, 0700) == 0 && mkdir(outside, 0700) == 0);

	/* everything */
	make_src(root, &user_xattr, &trusted);
	check(copy(TREE_COPY_ALL | TREE_COPY_TOP) == 0);
	struct stat f = lstat_in(dst, "d/f"), h = lstat_in(dst, "d/hard");
	check(S_ISREG(f.st_mode) && (f.st_mode & 07777) == 0640 && f.st_mtime == 2000000);
	check(f.st_ino == h.st_ino && f.st_nlink == 2);
	check((lstat_in(dst, "d").st_mode & 07777) == 0750);
	check((lstat_in(dst, ".").st_mode & 07777) == 0711);
	check(S_ISFIFO(lstat_in(dst, "fifo").st_mode));
	check(S_ISLNK(lstat_in(dst, "out").st_mode));
	snprintf(p, sizeof(p), "%s/out", dst);
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);
	check(n > 0 && (size_t)n == strlen(outside) && memcmp(buf, outside, (size_t)n) == 0);
	check(!exists_in(outside, "d") && !exists_in(outside, "fifo"));
	snprintf(p, sizeof(p), "%s/d/f", dst);
	if (user_xattr)
		check(getxattr(p, "user.berth", buf, sizeof(buf)) == 1 && buf[0] == 'v');
	if (root) {
		check(f.st_uid == 1234 && f.st_gid == 5678);
		struct stat w = lstat_in(dst, "whiteout");
		check(S_ISCHR(w.st_mode) && w.st_rdev == makedev(0, 0));
		snprintf(p, sizeof(p), "%s/d", dst);
		if (trusted)
			check(getxattr(p, "trusted.overlay.opaque", buf, sizeof(buf)) == 1 &&
			      buf[0] == 'y');
	}

	/* nothing is overwritten: a second copy into the same dst fails */
	check(copy(TREE_COPY_ALL) == -EEXIST);
	return 0;
}
