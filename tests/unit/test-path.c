/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/path.c: lookups and creations inside a root stay inside it whatever
 * the symlinks in the tree say; string helpers. Runs in a temp directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/path.h"
#include "tests.h"

static char tmp[] = "/tmp/berth-test-path-XXXXXX";
static char outside[] = "/tmp/berth-test-path-out-XXXXXX";
static char root[4096];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(p);
	return unlink(p);
}

static void cleanup(void)
{
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	nftw(outside, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Does a followed by b exist (as a directory / regular file), not following symlinks? */
static bool exists(const char *a, const char *b)
{
	char p[8192];
	struct stat st;
	snprintf(p, sizeof(p), "%s%s", a, b);
	return lstat(p, &st) == 0;
}

/* Does a followed by b exist (as a directory / regular file), not following symlinks? */
static bool is_dir(const char *a, const char *b)
{
	char p[8192];
	struct stat st;
	snprintf(p, sizeof(p), "%s%s", a, b);
	return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Does a followed by b exist (as a directory / regular file), not following symlinks? */
static bool is_reg(const char *a, const char *b)
{
	char p[8192];
	struct stat st;
	snprintf(p, sizeof(p), "%s%s", a, b);
	return lstat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The path an fd names, relative to the root ("" for the root itself). */
static const char *fd_in_root(int fd)
{
	static char link[8192];
	char p[64];
	ssize_t n = readlink(path_fd_path(fd, p, sizeof(p)), link, sizeof(link) - 1);
	check(n > 0);
	link[n] = 0;
	size_t l = strlen(root);
	check(strncmp(link, root, l) == 0);
	return link + l;
}

static void sym(const char *target, const char *name)
{
	char p[8192];
	snprintf(p, sizeof(p), "%s/%s", root, name);
	check(symlink(target, p) == 0);
}

static void test_strings(void)
{
	char buf[32];
	check(streq(path_fd_path(7, buf, sizeof(buf)), "/proc/self/fd/7"));

	struct {
		const char *a, *b, *want;
	} joins[] = {
		{ "/a", "b", "/a/b" }, { "/a/", "/b", "/a/b" }, { "/a//", "//b/c", "/a/b/c" },
		{ "/", "b", "/b" },    { "a", "b", "a/b" },	{ "/a", "", "/a/" },
	};
	for (size_t i = 0; i < ELEMENTSOF(joins); i++) {
		char *s = path_join(joins[i].a, joins[i].b);
		check(s);
		if (!streq(s, joins[i].want)) {
			fprintf(stderr, "path_join(%s, %s) = %s, want %s\n", joins[i].a, joins[i].b,
				s, joins[i].want);
			abort();
		}
		free(s);
	}

	struct {
		const char *base, *p, *want;
	} abs[] = {
		{ "/", "a/b", "/a/b" },
		{ "/x/y", "../z", "/x/z" },
		{ "/x", "/a/./b//c/", "/a/b/c" },
		{ "/x", "../../../..", "/" },
		{ "/", ".", "/" },
		{ "/a/b", "./c/../d", "/a/b/d" },
		{ NULL, "/proc/../sys", "/sys" },
		{ "/", "/../etc/..//passwd", "/passwd" },
		{ "/base", "", "/base" },
	};
	for (size_t i = 0; i < ELEMENTSOF(abs); i++) {
		char *s = path_absolute(abs[i].base, abs[i].p);
		check(s);
		if (!streq(s, abs[i].want)) {
			fprintf(stderr, "path_absolute(%s, %s) = %s, want %s\n", abs[i].base,
				abs[i].p, s, abs[i].want);
			abort();
		}
		free(s);
	}
}

static void test_open(int rfd)
{
	/* rootfs/etc -> /, rootfs/up -> ../../.., rootfs/abs -> <outside>: all land in the root */
	sym("/", "toroot");
	sym("../../../..", "up");
	sym(outside, "abs");
	char real[8192];
	snprintf(real, sizeof(real), "%s/real", root);
	check(mkdir(real, 0755) == 0);

	int fd = path_open_in_root(rfd, "/toroot/real", O_PATH | O_DIRECTORY, 0);
	check(fd >= 0);
	check(streq(fd_in_root(fd), "/real"));
	close(fd);

	fd = path_open_in_root(rfd, "up/up/real", O_PATH | O_DIRECTORY, 0);
	check(fd >= 0);
	check(streq(fd_in_root(fd), "/real"));
	close(fd);

	fd = path_open_in_root(rfd, "/..", O_PATH | O_DIRECTORY, 0);
	check(fd >= 0);
	check(streq(fd_in_root(fd), ""));
	close(fd);

	/* <outside> exists on the host, but not in the root */
	check(path_open_in_root(rfd, "abs", O_PATH, 0) == -ENOENT);
	check(path_open_in_root(rfd, "abs/marker", O_PATH, 0) == -ENOENT);

	/* a symlink to /proc/... is a plain path inside the root: there is no proc there */
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", rfd);
	sym(p, "magic");
	check(path_open_in_root(rfd, "magic", O_PATH, 0) == -ENOENT);
	/* and magic links are refused even where proc is reachable */
	int host = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	check(host >= 0);
	check(path_open_in_root(host, p, O_PATH, 0) == -ELOOP);
	close(host);

	/* O_CLOEXEC is always set */
	fd = path_open_in_root(rfd, "real", O_PATH, 0);
	check(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	close(fd);

	/* O_CREAT takes the mode */
	fd = path_open_in_root(rfd, "real/newfile", O_CREAT | O_WRONLY | O_EXCL, 0600);
	check(fd >= 0);
	close(fd);
	check(is_reg(root, "/real/newfile"));
}

static void test_mkdir_p(int rfd)
{
	/* etc -> <outside>: creating etc/foo must make <root><outside>/foo, never <outside>/foo */
	sym(outside, "etc");
	int fd = path_mkdir_p_in_root(rfd, "/etc/foo", 0755);
	check(fd >= 0);
	close(fd);
	check(!exists(outside, "/foo"));
	char want[8192];
	snprintf(want, sizeof(want), "%s%s/foo", root, outside);
	check(is_dir(want, ""));

	/* relative escape through .. in a dangling symlink */
	sym("../../../../../../tmp/escape-rel", "rel");
	fd = path_mkdir_p_in_root(rfd, "rel/a/b", 0755);
	check(fd >= 0);
	check(streq(fd_in_root(fd), "/tmp/escape-rel/a/b"));
	close(fd);
	check(!exists("/tmp/escape-rel", ""));

	/* a chain of symlinks, the second one dangling */
	sym("chain2", "chain1");
	sym("/var/../chain-target", "chain2");
	fd = path_mkdir_p_in_root(rfd, "chain1/x", 0700);
	check(fd >= 0);
	check(streq(fd_in_root(fd), "/chain-target/x"));
	close(fd);

	/* existing dirs, "." and ".." and repeated slashes */
	fd = path_mkdir_p_in_root(rfd, "//real/./d1/../d2//", 0755);
	check(fd >= 0);
	check(streq(fd_in_root(fd), "/real/d2"));
	close(fd);
	check(is_dir(root, "/real/d1"));

	/* a symlink loop and a regular file in the way */
	sym("loop2", "loop1");
	sym("loop1", "loop2");
	check(path_mkdir_p_in_root(rfd, "loop1/x", 0755) == -ELOOP);
	check(path_mkdir_p_in_root(rfd, "real/newfile/x", 0755) == -ENOTDIR);

	/* the root itself */
	fd = path_mkdir_p_in_root(rfd, "/", 0755);
	check(fd >= 0);
	check(streq(fd_in_root(fd), ""));
	close(fd);
}

static void test_ensure(int rfd)
{
	/* a file through a dangling absolute symlink lands inside */
	sym("/tmp/escape-file", "dangling-file");
	int fd = path_ensure_in_root(rfd, "dangling-file", false, 0644);
	check(fd >= 0);
	check(streq(fd_in_root(fd), "/tmp/escape-file"));
	close(fd);
	check(!exists("/tmp/escape-file", ""));
	check(is_reg(root, "/tmp/escape-file"));

	/* parents are created, inside the root, through the symlinked etc */
	fd = path_ensure_in_root(rfd, "/etc/sub/resolv.conf", false, 0644);
	check(fd >= 0);
	close(fd);
	char want[8192];
	snprintf(want, sizeof(want), "%s%s/sub/resolv.conf", root, outside);
	check(is_reg(want, ""));
	check(!exists(outside, "/sub"));

	/* existing: returned as is */
	fd = path_ensure_in_root(rfd, "real/newfile", false, 0644);
	check(fd >= 0);
	check(streq(fd_in_root(fd), "/real/newfile"));
	close(fd);

	fd = path_ensure_in_root(rfd, "dirs/a/b", true, 0755);
	check(fd >= 0);
	close(fd);
	check(is_dir(root, "/dirs/a/b"));

	check(path_ensure_in_root(rfd, "/", false, 0644) >= 0); /* exists: the root dir */
	check(path_ensure_in_root(rfd, "real/newfile/x", false, 0644) == -ENOTDIR);
}

int main(void)
{
	check(mkdtemp(tmp));
	check(mkdtemp(outside));
	atexit(cleanup);

	char marker[8192];
	snprintf(marker, sizeof(marker), "%s/marker", outside);
	int m = open(marker, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	check(m >= 0);
	close(m);

	snprintf(root, sizeof(root), "%s/rootfs", tmp);
	check(mkdir(root, 0755) == 0);
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	check(rfd >= 0);

	test_strings();
	test_open(rfd);
	test_mkdir_p(rfd);
	test_ensure(rfd);

	/* nothing was created outside the root */
	check(!exists(outside, "/foo") && !exists(outside, "/sub"));
	close(rfd);
	return 0;
}
