/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Namespace plan, joining by path, user ns id maps and time ns offsets.
 * Opening and maps run in the berth parent; joining runs in the container init.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "namespace.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int ns_plan(const struct berth_spec *s, struct ns_plan *ret, struct berth_error **err)
{
	struct ns_plan p = { 0 };
	for (int i = 0; i < _BERTH_NS_MAX; i++)
		p.join_fd[i] = -EBADF;

	for (size_t i = 0; i < s->linux_.n_namespaces; i++) {
		const struct berth_namespace *ns = &s->linux_.namespaces[i];
		if (!ns->path) {
			p.new_flags |= ns_clone_flag(ns->type);
			continue;
		}
		int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ns_plan_done(&p);
			return berth_error_set(err, errno,
					       "linux.namespaces[%zu]: open %s namespace \"%s\"", i,
					       ns_type_name(ns->type), ns->path);
		}
		int t = ioctl(fd, NS_GET_NSTYPE);
		if (t >= 0 && (unsigned long)t != ns_clone_flag(ns->type)) {
			close(fd);
			ns_plan_done(&p);
			return berth_error_setx(
				err, EINVAL, "linux.namespaces[%zu]: \"%s\" is not a %s namespace",
				i, ns->path, ns_type_name(ns->type));
		}
		p.join_fd[ns->type] = fd;
		p.any_join = true;
	}
	*ret = p;
	return 0;
}

void ns_plan_done(struct ns_plan *p)
{
	for (int i = 0; i < _BERTH_NS_MAX; i++)
		closep(&p->join_fd[i]);
	for (int i = 0; i < _BERTH_NS_MAX; i++)
		p->join_fd[i] = -EBADF;
}

int ns_join(const struct ns_plan *p, struct berth_error **err)
{
	/* The user namespace first: the others may be owned by it. */
	static const enum berth_ns_type order[] = {
		BERTH_NS_USER, BERTH_NS_IPC,	BERTH_NS_UTS,  BERTH_NS_NET,
		BERTH_NS_PID,  BERTH_NS_CGROUP, BERTH_NS_TIME, BERTH_NS_MNT,
	};
	for (size_t i = 0; i < ELEMENTSOF(order); i++) {
		int fd = p->join_fd[order[i]];
		if (fd < 0)
			continue;
		if (setns(fd, (int)ns_clone_flag(order[i])) < 0)
			return berth_error_set(err, errno, "join %s namespace",
					       ns_type_name(order[i]));
	}
	return 0;
}

int ns_write_id_map(int dirfd, const char *file, const struct berth_id_mapping *m, size_t n)
{
	/* the kernel takes the whole map in one write(2) */
	size_t cap = n * 3 * 11 + 1, len = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len,
					"%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", m[i].container_id,
					m[i].host_id, m[i].size);
	_cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t k = write(fd, buf, len);
	if (k < 0)
		return -errno;
	return (size_t)k == len ? 0 : -EIO;
}

/*
 * Write a map through the setuid helper newuidmap/newgidmap (shadow's
 * uidmap package): an ordinary user may map only its own id and the ranges
 * /etc/subuid and /etc/subgid give it, which the helper checks. Its stderr
 * goes to a memfd, to say why it refused.
 */
static int run_idmap_tool(const char *tool, pid_t pid, const struct berth_id_mapping *m, size_t n,
			  struct berth_error **err)
{
	char path_env[32], fixed0[32], fixed1[32];
	snprintf(path_env, sizeof(path_env), "BERTH_%s",
		 streq(tool, "newuidmap") ? "NEWUIDMAP" : "NEWGIDMAP");
	snprintf(fixed0, sizeof(fixed0), "/usr/bin/%s", tool);
	snprintf(fixed1, sizeof(fixed1), "/bin/%s", tool);
	const char *const fixed[] = { fixed0, fixed1 };
	_cleanup_free_ char *prog = NULL;
	if (path_find_program(path_env, fixed, ELEMENTSOF(fixed), tool, &prog) < 0)
		return berth_error_setx(err, EPERM,
					"%s not found: mapping ids other than your own needs it "
					"(Debian package uidmap) and entries in /etc/sub%cid",
					tool, tool[3]);
	if (n > 340)
		return berth_error_setx(err, E2BIG, "%s: too many mappings", tool);
	_cleanup_free_ char *args = malloc(n * 3 * 11 + 1);
	_cleanup_free_ char **argv = calloc(n * 3 + 3, sizeof(char *));
	if (!args || !argv)
		return berth_error_set(err, ENOMEM, "%s", tool);
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	size_t a = 0, off = 0;
	argv[a++] = (char *)tool;
	argv[a++] = pidbuf;
	for (size_t i = 0; i < n; i++) {
		const uint32_t v[3] = { m[i].container_id, m[i].host_id, m[i].size };
		for (int j = 0; j < 3; j++) {
			argv[a++] = args + off;
			off += (size_t)snprintf(args + off, 11, "%" PRIu32, v[j]) + 1;
		}
	}
	argv[a] = NULL;
	_cleanup_close_ int out = memfd_create("berth-idmap", MFD_CLOEXEC);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out > 2) {
		posix_spawn_file_actions_adddup2(&fa, out, 1);
		posix_spawn_file_actions_adddup2(&fa, out, 2);
	}
	pid_t child;
	char *envp[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C", NULL };
	int r = posix_spawn(&child, prog, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return berth_error_set(err, r, "run %s", prog);
	int status = 0;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	char line[256] = "";
	if (out > 2)
		fd_last_line(out, line, sizeof(line));
	return berth_error_setx(err, EPERM, "%s refused the mapping: %s", tool,
				line[0] ? line : "(it said nothing)");
}

/* Is m the caller's own id mapped once (what an ordinary user may write itself)? */
static bool is_own_single(const struct berth_id_mapping *m, size_t n, uint32_t own)
{
	return n == 1 && m[0].size == 1 && m[0].host_id == own;
}

int ns_write_id_maps(pid_t pid, const struct berth_spec *s, struct berth_error **err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	_cleanup_close_ int dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berth_error_set(err, errno, "open %s", path);
	const struct berth_id_mapping *um = s->linux_.uid_mappings, *gm = s->linux_.gid_mappings;
	size_t nu = s->linux_.n_uid_mappings, ng = s->linux_.n_gid_mappings;
	int r;
	/*
	 * An ordinary user (no CAP_SETUID where we are) writes its own single
	 * id itself; the kernel then wants setgroups denied before gid_map.
	 * Anything else goes through newuidmap/newgidmap. Root, also uid 0 of
	 * rootless podman's user namespace, writes any map it may.
	 */
	if (geteuid() != 0 && !is_own_single(um, nu, geteuid())) {
		r = run_idmap_tool("newuidmap", pid, um, nu, err);
		if (r < 0)
			return r;
	} else {
		r = ns_write_id_map(dfd, "uid_map", um, nu);
		if (r < 0)
			return berth_error_set(err, -r, "write uid_map");
	}
	if (geteuid() != 0 && !is_own_single(gm, ng, getegid()))
		return run_idmap_tool("newgidmap", pid, gm, ng, err);
	if (geteuid() != 0) {
		r = write_string_at(dfd, "setgroups", "deny");
		if (r < 0)
			return berth_error_set(err, -r, "write setgroups");
	}
	r = ns_write_id_map(dfd, "gid_map", gm, ng);
	if (r < 0)
		return berth_error_set(err, -r, "write gid_map");
	return 0;
}

int ns_time_prepare(const struct berth_spec *s, int *ret_saved, struct berth_error **err)
{
	*ret_saved = -EBADF;
	const struct berth_namespace *ns = spec_find_ns(s, BERTH_NS_TIME);
	if (!ns || ns->path)
		return 0;

	_cleanup_close_ int saved = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
	if (saved < 0)
		return berth_error_set(err, errno, "time namespace: open /proc/self/ns/time");
	if (unshare(CLONE_NEWTIME) < 0)
		return berth_error_set(err, errno, "time namespace: unshare");

	char buf[128];
	size_t len = 0;
	const struct berth_time_offset *mono = &s->linux_.time_monotonic,
				       *boot = &s->linux_.time_boottime;
	if (mono->set)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"monotonic %" PRId64 " %" PRIu32 "\n", mono->secs,
					mono->nanosecs);
	if (boot->set)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"boottime %" PRId64 " %" PRIu32 "\n", boot->secs,
					boot->nanosecs);
	if (len > 0) {
		_cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
			int e = errno;
			setns(saved, CLONE_NEWTIME);
			return berth_error_set(err, e, "time namespace: write offsets");
		}
	}
	*ret_saved = TAKE_FD(saved);
	return 0;
}

void ns_time_restore(int saved)
{
	if (saved < 0)
		return;
	/* Our children from now on (hooks) belong in the runtime's time namespace again. */
	setns(saved, CLONE_NEWTIME);
	close(saved);
}

int ns_loopback_up(struct berth_error **err)
{
	_cleanup_close_ int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return berth_error_set(err, errno, "network namespace: bring 'lo' up");
	struct ifreq ifr = { .ifr_name = "lo" };
	if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0)
		return berth_error_set(err, errno, "network namespace: bring 'lo' up");
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sk, SIOCSIFFLAGS, &ifr) < 0)
		return berth_error_set(err, errno, "network namespace: bring 'lo' up");
	return 0;
}

bool ns_is_own(int fd, enum berth_ns_type t)
{
	static const char *const proc_name[_BERTH_NS_MAX] = {
		[BERTH_NS_PID] = "pid",	      [BERTH_NS_NET] = "net",	[BERTH_NS_MNT] = "mnt",
		[BERTH_NS_IPC] = "ipc",	      [BERTH_NS_UTS] = "uts",	[BERTH_NS_USER] = "user",
		[BERTH_NS_CGROUP] = "cgroup", [BERTH_NS_TIME] = "time",
	};
	char path[32];
	struct stat a, b;
	snprintf(path, sizeof(path), "/proc/self/ns/%s", proc_name[t]);
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}
