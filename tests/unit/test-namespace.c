/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of ns_plan(): which namespaces are new (CLONE_NEW* flags)
 * and which are joined (an fd of the right type), and the refusals.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "namespace.h"
#include "spec.h"
#include "tests.h"

/* Is fd the same file as path? */
static bool same_file(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int plan(struct berth_namespace *ns, size_t n, struct ns_plan *ret, struct berth_error **err)
{
	struct berth_spec s = { 0 };
	s.linux_.namespaces = ns;
	s.linux_.n_namespaces = n;
	return ns_plan(&s, ret, err);
}

static void test_none(void)
{
	struct ns_plan p;
	struct berth_error *e = NULL;
	check(plan(NULL, 0, &p, &e) == 0 && !e);
	check(p.new_flags == 0);
	check(!p.any_join);
	for (int i = 0; i < _BERTH_NS_MAX; i++)
		check(p.join_fd[i] == -EBADF);
	ns_plan_done(&p);
}

static void test_all_new(void)
{
	struct berth_namespace ns[] = {
		{ BERTH_NS_PID, NULL },	   { BERTH_NS_NET, NULL },  { BERTH_NS_MNT, NULL },
		{ BERTH_NS_IPC, NULL },	   { BERTH_NS_UTS, NULL },  { BERTH_NS_USER, NULL },
		{ BERTH_NS_CGROUP, NULL }, { BERTH_NS_TIME, NULL },
	};
	struct ns_plan p;
	struct berth_error *e = NULL;
	check(plan(ns, 8, &p, &e) == 0 && !e);
	check(p.new_flags ==
	      (unsigned long)(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC |
			      CLONE_NEWUTS | CLONE_NEWUSER | CLONE_NEWCGROUP | CLONE_NEWTIME));
	check(!p.any_join);
	for (int i = 0; i < _BERTH_NS_MAX; i++)
		check(p.join_fd[i] == -EBADF);
	ns_plan_done(&p);
}

/* New mount and pid namespaces, joined network and uts ones: only the new get a flag. */
static void test_mixed(void)
{
	struct berth_namespace ns[] = {
		{ BERTH_NS_MNT, NULL },
		{ BERTH_NS_NET, (char *)"/proc/self/ns/net" },
		{ BERTH_NS_PID, NULL },
		{ BERTH_NS_UTS, (char *)"/proc/self/ns/uts" },
	};
	struct ns_plan p;
	struct berth_error *e = NULL;
	check(plan(ns, 4, &p, &e) == 0 && !e);
	check(p.new_flags == (unsigned long)(CLONE_NEWNS | CLONE_NEWPID));
	check(p.any_join);
	check(p.join_fd[BERTH_NS_NET] >= 0 &&
	      same_file(p.join_fd[BERTH_NS_NET], "/proc/self/ns/net"));
	check(p.join_fd[BERTH_NS_UTS] >= 0 &&
	      same_file(p.join_fd[BERTH_NS_UTS], "/proc/self/ns/uts"));
	check(fcntl(p.join_fd[BERTH_NS_NET], F_GETFD) == FD_CLOEXEC);
	check(ns_is_own(p.join_fd[BERTH_NS_NET], BERTH_NS_NET));
	check(p.join_fd[BERTH_NS_MNT] == -EBADF && p.join_fd[BERTH_NS_PID] == -EBADF);
	check(p.join_fd[BERTH_NS_IPC] == -EBADF && p.join_fd[BERTH_NS_USER] == -EBADF);

	int fd = p.join_fd[BERTH_NS_NET];
	ns_plan_done(&p);
	/* done closes the fds and resets them */
	check(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
	check(p.join_fd[BERTH_NS_NET] == -EBADF && p.join_fd[BERTH_NS_UTS] == -EBADF);
}

/* A path of the wrong namespace type is refused, and nothing opened stays open. */
static void test_wrong_type(void)
{
	int before = open("/dev/null", O_RDONLY | O_CLOEXEC);
	check(before >= 0);
	close(before);

	struct berth_namespace ns[] = {
		{ BERTH_NS_UTS, (char *)"/proc/self/ns/uts" },
		{ BERTH_NS_IPC, (char *)"/proc/self/ns/net" },
	};
	struct ns_plan p = { .new_flags = 12345 };
	struct berth_error *e = NULL;
	int r = plan(ns, 2, &p, &e);
	check(r == -EINVAL && e);
	check(strstr(e->msg, "linux.namespaces[1]") && strstr(e->msg, "is not a ipc namespace"));
	check(p.new_flags == 12345); /* ret untouched on failure */
	berth_error_free(e);

	int after = open("/dev/null", O_RDONLY | O_CLOEXEC);
	check(after == before); /* the uts fd was closed */
	close(after);
}

static void test_missing_path(void)
{
	struct berth_namespace ns[] = {
		{ BERTH_NS_PID, NULL },
		{ BERTH_NS_NET, (char *)"/nonexistent/berth-test/ns" },
	};
	struct ns_plan p;
	struct berth_error *e = NULL;
	int r = plan(ns, 2, &p, &e);
	check(r == -ENOENT && e);
	check(strstr(e->msg, "linux.namespaces[1]") &&
	      strstr(e->msg, "/nonexistent/berth-test/ns"));
	berth_error_free(e);
}

/* The map as the kernel reads it: one line per mapping, all in one write. */
static void test_write_id_map(void)
{
	char dir[] = "/tmp/berth-test-idmap.XXXXXX";
	check(mkdtemp(dir));
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	check(dfd >= 0);
	int fd = openat(dfd, "uid_map", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	check(fd >= 0);
	close(fd);
	const struct berth_id_mapping m[] = {
		{ .container_id = 0, .host_id = 100000, .size = 65536 },
		{ .container_id = 65536, .host_id = 4294967294U, .size = 1 },
	};
	check(ns_write_id_map(dfd, "uid_map", m, 2) == 0);
	char buf[256] = { 0 };
	fd = openat(dfd, "uid_map", O_RDONLY | O_CLOEXEC);
	check(fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	check(strcmp(buf, "0 100000 65536\n65536 4294967294 1\n") == 0);
	/* the file must exist: the kernel's, never one made here */
	check(ns_write_id_map(dfd, "gid_map", m, 1) == -ENOENT);
	check(unlinkat(dfd, "uid_map", 0) == 0);
	close(dfd);
	check(rmdir(dir) == 0);
}

int main(void)
{
	test_write_id_map();
	test_none();
	test_all_new();
	test_mixed();
	test_wrong_type();
	test_missing_path();
	return 0;
}
