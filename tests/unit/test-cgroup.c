/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of cgroup_resolve(): how linux.cgroupsPath becomes a directory of
 * the unified hierarchy. It only computes; it needs a cgroup2 mount (skip if none).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "tests.h"

static const char *root;

/* cgroups_path must resolve to root + "/" + want. */
static void resolves(const char *cgroups_path, const char *id, const char *want)
{
	char *got = NULL;
	struct berth_error *e = NULL;
	int r = cgroup_resolve(cgroups_path, id, &got, &e);
	char full[4096];
	snprintf(full, sizeof(full), "%s/%s", root, want);
	if (r != 0 || !got || strcmp(got, full) != 0) {
		fprintf(stderr, "cgroup_resolve(\"%s\", \"%s\"): want \"%s\", got %d \"%s\" (%s)\n",
			cgroups_path ? cgroups_path : "(null)", id, full, r, got ? got : "",
			e ? e->msg : "");
		exit(1);
	}
	check(!e);
	free(got);
}

/* cgroups_path must be refused with -EINVAL, a message containing want, and no path. */
static void refused(const char *cgroups_path, const char *want)
{
	char *got = NULL;
	struct berth_error *e = NULL;
	int r = cgroup_resolve(cgroups_path, "c1", &got, &e);
	if (r != -EINVAL || got || !e || !strstr(e->msg, want)) {
		fprintf(stderr, "cgroup_resolve(\"%s\"): want -EINVAL \"%s\", got %d \"%s\" (%s)\n",
			cgroups_path, want, r, got ? got : "", e ? e->msg : "success");
		exit(1);
	}
	berth_error_free(e);
}

int main(void)
{
	root = cgroup_unified_root();
	if (!root) {
		fprintf(stderr, "no cgroup2 hierarchy mounted, skipping\n");
		return 77;
	}
	check(strcmp(root, "/sys/fs/cgroup") == 0 || strcmp(root, "/sys/fs/cgroup/unified") == 0);

	/* no cgroupsPath: berth/<id> */
	resolves(NULL, "web", "berth/web");
	resolves("", "web", "berth/web");
	/* relative: under berth/ */
	resolves("pods/web", "x", "berth/pods/web");
	/* absolute: under the root, the id unused */
	resolves("/pods/web", "x", "pods/web");
	resolves("/a", "x", "a");
	/* duplicate and trailing slashes go */
	resolves("//pods///web//", "x", "pods/web");
	resolves("pods//web/", "x", "berth/pods/web");
	resolves("/a/b/", "x", "a/b");
	/* dots that are not a ".." component are names */
	resolves("/a..b/..c/d..", "x", "a..b/..c/d..");
	resolves("/a/./b", "x", "a/./b");
	/* a colon in an absolute path is a name, not the systemd driver */
	resolves("/a:b:c", "x", "a:b:c");

	/* ".." anywhere */
	refused("/..", "must not contain \"..\"");
	refused("/a/../b", "must not contain \"..\"");
	refused("../x", "must not contain \"..\"");
	refused("a/..", "must not contain \"..\"");
	refused("/a/b/..", "must not contain \"..\"");
	/* the root itself */
	refused("/", "is the root cgroup");
	refused("///", "is the root cgroup");
	/* systemd slice:prefix:name */
	refused("system.slice:berth:web", "systemd cgroup path");
	refused("user.slice:a:b", "needs --systemd-cgroup");
	return 0;
}
