/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of overlay_prepare(): how the berth.rootfs.* annotations
 * become the overlay's lowerdir/upperdir/workdir (or a bind of one layer), and
 * which combinations are refused; and the ephemeral layer's make_dirs/remove.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay.h"
#include "spec.h"
#include "tests.h"

static char tmp[PATH_MAX]; /* the real path of the temp bundle */

static void mkdir_in(const char *name)
{
	char p[2 * PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", tmp, name);
	check(mkdir(p, 0755) == 0);
}

/* Prepare with the given annotations (NULL: absent); returns the result code. */
static int prepare(const char *lower, const char *upper, const char *work, bool readonly,
		   bool userns, struct berth_overlay **ret, struct berth_error **err)
{
	struct berth_kv kv[3];
	size_t n = 0;
	if (lower)
		kv[n++] = (struct berth_kv){ (char *)BERTH_ANN_ROOTFS_LOWER, (char *)lower };
	if (upper)
		kv[n++] = (struct berth_kv){ (char *)BERTH_ANN_ROOTFS_UPPER, (char *)upper };
	if (work)
		kv[n++] = (struct berth_kv){ (char *)BERTH_ANN_ROOTFS_WORK, (char *)work };
	struct berth_namespace ns = { BERTH_NS_USER, NULL };
	struct berth_spec s = { 0 };
	s.annotations = kv;
	s.n_annotations = n;
	s.root_readonly = readonly;
	if (userns) {
		s.linux_.namespaces = &ns;
		s.linux_.n_namespaces = 1;
	}
	return overlay_prepare(&s, tmp, ret, err);
}

static struct berth_overlay *ok(const char *lower, const char *upper, const char *work,
				bool readonly, bool userns)
{
	struct berth_overlay *o = (struct berth_overlay *)1;
	struct berth_error *e = NULL;
	int r = prepare(lower, upper, work, readonly, userns, &o, &e);
	if (r != 0) {
		fprintf(stderr, "lower \"%s\": unexpected error %d %s\n", lower ? lower : "", r,
			e ? e->msg : "");
		exit(1);
	}
	check(!e);
	return o;
}

static void refused(const char *lower, const char *upper, const char *work, bool readonly,
		    bool userns, int want_r, const char *want)
{
	struct berth_overlay *o = (struct berth_overlay *)1;
	struct berth_error *e = NULL;
	int r = prepare(lower, upper, work, readonly, userns, &o, &e);
	if (r != want_r || !e || !strstr(e->msg, want)) {
		fprintf(stderr, "lower \"%s\": want %d \"%s\", got %d \"%s\"\n", lower ? lower : "",
			want_r, want, r, e ? e->msg : "success");
		exit(1);
	}
	check(o == NULL);
	berth_error_free(e);
}

/* Is got "<tmp>/a", or with b "<tmp>/a:<tmp>/b"? */
static bool is_under_tmp(const char *got, const char *a, const char *b)
{
	char want[3 * PATH_MAX];
	if (b)
		snprintf(want, sizeof(want), "%s/%s:%s/%s", tmp, a, tmp, b);
	else
		snprintf(want, sizeof(want), "%s/%s", tmp, a);
	if (got && strcmp(got, want) == 0)
		return true;
	fprintf(stderr, "want \"%s\", got \"%s\"\n", want, got ? got : "(null)");
	return false;
}

static void test_none(void)
{
	struct berth_overlay *o = ok(NULL, NULL, NULL, false, false);
	check(o == NULL);
	refused(NULL, "up", NULL, false, false, -EINVAL,
		"annotations[\"berth.rootfs.upper\"]: needs \"berth.rootfs.lower\"");
	refused(NULL, NULL, "w", false, false, -EINVAL,
		"annotations[\"berth.rootfs.work\"]: needs \"berth.rootfs.lower\"");
	refused("l1", NULL, "w", false, false, -EINVAL,
		"annotations[\"berth.rootfs.work\"]: needs \"berth.rootfs.upper\"");
}

/* One read-only layer: a bind mount of it, not an overlay. */
static void test_single_readonly(void)
{
	struct berth_overlay *o = ok("l1", NULL, NULL, true, false);
	check(o);
	check(is_under_tmp(o->bind_source, "l1", NULL));
	check(is_under_tmp(o->lowerdir, "l1", NULL));
	check(!o->upperdir && !o->workdir && !o->ephemeral);
	overlay_free(o);
}

/* Two layers, top first, relative and absolute; no upper: read-only overlay. */
static void test_two_readonly(void)
{
	char lower[2 * PATH_MAX];
	snprintf(lower, sizeof(lower), "l1:%s/l2", tmp);
	struct berth_overlay *o = ok(lower, NULL, NULL, true, false);
	check(is_under_tmp(o->lowerdir, "l1", "l2"));
	check(!o->bind_source && !o->upperdir && !o->workdir && !o->ephemeral);
	overlay_free(o);
	/* empty elements of the list are skipped */
	o = ok("::l2::l1:", NULL, NULL, true, false);
	check(is_under_tmp(o->lowerdir, "l2", "l1"));
	overlay_free(o);
}

/* A writable rootfs without upper: an ephemeral layer in the state dir (no bind). */
static void test_ephemeral(void)
{
	struct berth_overlay *o = ok("l1", NULL, NULL, false, false);
	check(o->ephemeral && !o->bind_source && !o->upperdir && !o->workdir);

	int state_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	check(state_fd >= 0);
	struct berth_error *e = NULL;
	check(overlay_make_dirs(o, state_fd, &e) == 0 && !e);
	check(is_under_tmp(o->upperdir, "overlay/upper", NULL));
	check(is_under_tmp(o->workdir, "overlay/work", NULL));
	struct stat st;
	check(stat(o->upperdir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
	check(stat(o->workdir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
	/* a second make_dirs finds them made: refused */
	free(o->upperdir);
	free(o->workdir);
	o->upperdir = o->workdir = NULL;
	check(overlay_make_dirs(o, state_fd, &e) == -EEXIST && e);
	berth_error_free(e);
	overlay_free(o);

	/* remove takes it all, files included; then absent is 0 */
	char f[2 * PATH_MAX];
	snprintf(f, sizeof(f), "%s/overlay/upper/file", tmp);
	int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	check(fd >= 0);
	close(fd);
	check(overlay_remove(state_fd) == 0);
	snprintf(f, sizeof(f), "%s/overlay", tmp);
	check(access(f, F_OK) < 0 && errno == ENOENT);
	check(overlay_remove(state_fd) == 0);
	close(state_fd);

	/* not ephemeral: make_dirs makes nothing */
	o = ok("l1", NULL, NULL, true, false);
	check(overlay_make_dirs(o, -1, &e) == 0);
	overlay_free(o);
	check(overlay_make_dirs(NULL, -1, &e) == 0);
}

/* The ephemeral layer is out of reach of a user namespace's root. */
static void test_userns(void)
{
	refused("l1", NULL, NULL, false, true, -ENOTSUP, "with a user namespace");
	struct berth_overlay *o = ok("l1", NULL, NULL, true, true);
	check(o && o->bind_source);
	overlay_free(o);
	o = ok("l1", "up", NULL, false, true);
	check(o && o->upperdir);
	overlay_free(o);
}

/* upper without work: work is made as the sibling "<upper>.work". */
static void test_upper(void)
{
	struct berth_overlay *o = ok("l1", "up", NULL, false, false);
	check(is_under_tmp(o->lowerdir, "l1", NULL));
	check(is_under_tmp(o->upperdir, "up", NULL));
	check(is_under_tmp(o->workdir, "up.work", NULL));
	check(!o->bind_source && !o->ephemeral);
	struct stat st;
	check(stat(o->workdir, &st) == 0 && S_ISDIR(st.st_mode));
	overlay_free(o);

	o = ok("l1", "up", "wk", false, false);
	check(is_under_tmp(o->upperdir, "up", NULL));
	check(is_under_tmp(o->workdir, "wk", NULL));
	overlay_free(o);
}

/* ':' and '\' in a layer's real path are escaped for overlayfs; symlinks resolved. */
static void test_escaping(void)
{
	mkdir_in("we\\ird");
	char p[2 * PATH_MAX];
	snprintf(p, sizeof(p), "%s/link", tmp);
	check(symlink("we\\ird", p) == 0);
	struct berth_overlay *o = ok("link:l1", NULL, NULL, true, false);
	check(is_under_tmp(o->lowerdir, "we\\\\ird", "l1"));
	overlay_free(o);
}

static void test_refused_layers(void)
{
	refused("l1:nope", NULL, NULL, true, false, -ENOENT,
		"annotations[\"berth.rootfs.lower\"]: layer \"nope\"");
	refused("file", NULL, NULL, true, false, -ENOTDIR, "layer \"file\" is not a directory");
	refused(":::", NULL, NULL, true, false, -EINVAL, "no layer directory");
	refused("l1", "nope", NULL, false, false, -ENOENT,
		"annotations[\"berth.rootfs.upper\"]: upper layer \"nope\"");
	refused("l1", "up", "nope", false, false, -ENOENT,
		"annotations[\"berth.rootfs.work\"]: work dir \"nope\"");
	refused("l1", "", NULL, false, false, -EINVAL, "empty upper layer path");
}

int main(void)
{
	char t[] = "/tmp/berth-test-overlay.XXXXXX";
	check(mkdtemp(t));
	check(realpath(t, tmp));
	mkdir_in("l1");
	mkdir_in("l2");
	mkdir_in("up");
	mkdir_in("wk");
	char f[2 * PATH_MAX];
	snprintf(f, sizeof(f), "%s/file", tmp);
	int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	check(fd >= 0);
	close(fd);

	test_none();
	test_single_readonly();
	test_two_readonly();
	test_ephemeral();
	test_userns();
	test_upper();
	test_escaping();
	test_refused_layers();

	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	check(system(cmd) == 0);
	return 0;
}
