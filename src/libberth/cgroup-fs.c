/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every cgroup module shares, and nothing of any of them: where the
 * hierarchies are (cgroup2, each v1 controller, the one that tracks a
 * container's processes), reading and writing their files, the parents berth
 * makes and removes, and the processes of a cgroup. Runs in the berth
 * process; never mounts, unmounts or rebinds a hierarchy.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup-fs.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"

#define V1_BASE "/sys/fs/cgroup"

/*
 * Every v1 hierarchy runc places a container in; "systemd" is the named
 * hierarchy name=systemd. Co-mounted ones (cpu,cpuacct) share a directory.
 */
const char *const cgroup_v1_controllers[CGROUP_N_V1] = {
	"memory",  "pids",    "cpu",	  "cpuacct",	"cpuset", "blkio", "devices", "freezer",
	"hugetlb", "net_cls", "net_prio", "perf_event", "rdma",	  "misc",  "systemd"
};

static struct {
	char path[64];
	dev_t dev;
	bool alias; /* the same hierarchy as an earlier entry */
} roots[CGROUP_N_V1];

static void probe_roots(void)
{
	static bool probed;
	if (probed)
		return;
	probed = true;
	for (size_t i = 0; i < CGROUP_N_V1; i++) {
		struct statfs fs;
		struct stat st;
		snprintf(roots[i].path, sizeof(roots[i].path), V1_BASE "/%s",
			 cgroup_v1_controllers[i]);
		if (statfs(roots[i].path, &fs) < 0 || fs.f_type != CGROUP_SUPER_MAGIC ||
		    stat(roots[i].path, &st) < 0) {
			roots[i].path[0] = 0;
			continue;
		}
		roots[i].dev = st.st_dev;
		for (size_t k = 0; k < i; k++)
			roots[i].alias |= roots[k].path[0] && roots[k].dev == st.st_dev;
	}
}

bool cgroup_v1_alias(size_t i)
{
	probe_roots();
	return roots[i].alias;
}

const char *cgroup_v1_root(const char *controller)
{
	probe_roots();
	for (size_t i = 0; i < CGROUP_N_V1; i++)
		if (streq(controller, cgroup_v1_controllers[i]))
			return roots[i].path[0] ? roots[i].path : NULL;
	return NULL;
}

bool cgroup_v1_uses(const char *controller)
{
	const char *u = cgroup_unified_root();
	/* v2 has no cpuacct: its accounting is part of cpu */
	const char *v2name = streq(controller, "cpuacct") ? "cpu"
			     : streq(controller, "blkio") ? "io"
							  : controller;
	return cgroup_v1_root(controller) && !(u && cgroup_v2_has(u, v2name));
}

static bool is_cgroup2(const char *p)
{
	struct statfs fs;
	return statfs(p, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

const char *cgroup_unified_root(void)
{
	static const char *root;
	static bool probed;
	if (!probed) {
		probed = true;
		if (is_cgroup2("/sys/fs/cgroup"))
			root = "/sys/fs/cgroup";
		else if (is_cgroup2("/sys/fs/cgroup/unified"))
			root = "/sys/fs/cgroup/unified";
	}
	return root;
}

const char *cgroup_track_root(void)
{
	const char *u = cgroup_unified_root();
	/*
	 * Without cgroup2 the freezer hierarchy: every container has a cgroup
	 * there (cgroup_v1_create() with CGROUP_V1_ALL), pause and resume work
	 * on it anyway, it sets no limit that would get in the way of berth's
	 * own moves (pids, cpuset do), and, unlike the named systemd
	 * hierarchy, no init system moves processes about in it.
	 */
	return u ? u : cgroup_v1_root("freezer");
}

/* Processes are tracked in a v1 hierarchy (the freezer's): the host has no cgroup2. */
bool cgroup_tracks_v1(void)
{
	return !cgroup_unified_root();
}

const char *cgroup_relative(const char *path)
{
	const char *root = cgroup_track_root();
	size_t n = root ? strlen(root) : 0;
	if (root && strncmp(path, root, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}

/* ---- small file helpers ---- */

int cgroup_write(const char *dir, const char *file, const char *value, struct berth_error **err)
{
	_cleanup_free_ char *p = path_join(dir, file);
	if (!p)
		return berth_error_set(err, ENOMEM, "cgroup");
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_error_set(err, errno, "cgroup: open \"%s\"", p);
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n < 0)
		return berth_error_set(err, errno, "cgroup: write \"%s\" to \"%s\"", value, p);
	if ((size_t)n != len)
		return berth_error_setx(err, EIO, "cgroup: short write of \"%s\" to \"%s\"", value,
					p);
	return 0;
}

int cgroup_read(const char *dir, const char *file, char **ret)
{
	_cleanup_free_ char *p = path_join(dir, file);
	if (!p)
		return -ENOMEM;
	char *text = NULL;
	size_t len = 0;
	int r = read_file_at(AT_FDCWD, p, 1 << 20, &text, &len);
	if (r < 0)
		return r;
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = 0;
	*ret = text;
	return 0;
}

static uint64_t parse_u64(const char *s)
{
	if (strncmp(s, "max", 3) == 0)
		return UINT64_MAX;
	return strtoull(s, NULL, 10);
}

uint64_t cgroup_read_u64(const char *dir, const char *file)
{
	_cleanup_free_ char *t = NULL;
	if (cgroup_read(dir, file, &t) < 0)
		return 0;
	return parse_u64(t);
}

uint64_t cgroup_read_key(const char *dir, const char *file, const char *key)
{
	_cleanup_free_ char *t = NULL;
	if (cgroup_read(dir, file, &t) < 0)
		return 0;
	size_t kl = strlen(key);
	for (char *l = t; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, kl) == 0 && l[kl] == ' ')
			return parse_u64(l + kl + 1);
	return 0;
}

bool cgroup_list_has(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *s = list; (s = strstr(s, word)); s += n)
		if ((s == list || s[-1] == ' ' || s[-1] == '\n') &&
		    (s[n] == 0 || s[n] == ' ' || s[n] == '\n'))
			return true;
	return false;
}

bool cgroup_v2_has(const char *path, const char *controller)
{
	_cleanup_free_ char *t = NULL;
	return cgroup_read(path, "cgroup.controllers", &t) >= 0 && cgroup_list_has(t, controller);
}

bool cgroup_has_file(const char *dir, const char *file)
{
	_cleanup_free_ char *p = path_join(dir, file);
	return p && access(p, F_OK) == 0;
}

/* ---- create ---- */

/*
 * Parents berth makes carry this xattr, so that it removes them (once empty)
 * and nothing else. The default parent (<root>/berth) is berth's whatever it
 * carries: a create killed between its mkdir and the setxattr leaves it bare.
 */
#define MADE_XATTR "trusted.berth.made"

int cgroup_mkdir_parent(const char *dir)
{
	if (mkdir(dir, 0755) < 0)
		return errno == EEXIST ? 0 : -errno;
	(void)setxattr(dir, MADE_XATTR, "1", 1, 0);
	return 0;
}

bool cgroup_is_made_parent(const char *dir, size_t rootlen)
{
	char v;
	return streq(dir + rootlen, "/" CGROUP_DEFAULT_PARENT) ||
	       getxattr(dir, MADE_XATTR, &v, 1) >= 0;
}

void cgroup_remove_made_parents(const char *dir, size_t rootlen)
{
	_cleanup_free_ char *p = strdup(dir);
	if (!p)
		return;
	for (char *s = strrchr(p, '/'); s && (size_t)(s - p) > rootlen; s = strrchr(p, '/')) {
		*s = 0;
		if (!cgroup_is_made_parent(p, rootlen) || rmdir(p) < 0)
			break;
	}
}

/* Append the PIDs in dir/cgroup.procs to *v (n used of cap), and with subtree those below dir. */
static int read_pids(const char *dir, bool subtree, int depth, pid_t **v, size_t *n, size_t *cap)
{
	_cleanup_free_ char *file = path_join(dir, "cgroup.procs");
	_cleanup_free_ char *text = NULL;
	if (!file)
		return -ENOMEM;
	int r = read_file_at(AT_FDCWD, file, 1 << 24, &text, NULL);
	if (r < 0)
		return r;
	for (char *s = text; *s;) {
		char *end;
		long p = strtol(s, &end, 10);
		if (end == s)
			break;
		if (*n == *cap) {
			pid_t *nv = realloc(*v, (*cap *= 2) * sizeof(pid_t));
			if (!nv)
				return -ENOMEM;
			*v = nv;
		}
		(*v)[(*n)++] = (pid_t)p;
		s = end;
		while (*s == '\n')
			s++;
	}
	DIR *d = subtree && depth < 32 ? opendir(dir) : NULL;
	if (!d)
		return 0;
	struct dirent *de;
	while (r >= 0 && (de = readdir(d)))
		if (de->d_type == DT_DIR && !streq(de->d_name, ".") && !streq(de->d_name, "..")) {
			_cleanup_free_ char *sub = path_join(dir, de->d_name);
			r = sub ? read_pids(sub, true, depth + 1, v, n, cap) : -ENOMEM;
			if (r == -ENOENT) /* removed meanwhile */
				r = 0;
		}
	closedir(d);
	return r;
}

int cgroup_pids(const char *path, pid_t **ret, size_t *ret_n)
{
	size_t n = 0, cap = 16;
	pid_t *v = malloc(cap * sizeof(pid_t));
	if (!v)
		return -ENOMEM;
	/* v1 has no cgroup.kill or "populated": the cgroups the container made below count here */
	int r = read_pids(path, cgroup_tracks_v1(), 0, &v, &n, &cap);
	if (r < 0) {
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cgroup_rmdir_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_type == DT_DIR && !streq(de->d_name, ".") &&
			    !streq(de->d_name, "..")) {
				_cleanup_free_ char *sub = path_join(dir, de->d_name);
				if (sub)
					(void)cgroup_rmdir_tree(sub);
			}
		closedir(d);
	}
	for (int k = 0; k < 1000; k++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}
