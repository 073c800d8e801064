/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgroup v2 tracking of a container's processes on the unified hierarchy.
 * Resource limits are a separate module. Runs in the berth process; never
 * mounts, unmounts or rebinds a hierarchy.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"

#define CGROUP_DEFAULT_PARENT "berth"

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

/* Reject "..": a cgroupsPath must not climb out of the hierarchy. */
static bool path_has_dotdot(const char *p)
{
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/'))
			return true;
	return false;
}

int cgroup_create(const char *cgroups_path, const char *id, char **ret_path, int *ret_fd,
		  struct berth_error **err)
{
	const char *root = cgroup_unified_root();
	if (!root)
		return berth_error_setx(err, ENOTSUP, "cgroup: no cgroup2 hierarchy is mounted");

	_cleanup_free_ char *rel = NULL;
	if (!cgroups_path || !*cgroups_path)
		rel = path_join(CGROUP_DEFAULT_PARENT, id);
	else if (strchr(cgroups_path, ':') && cgroups_path[0] != '/')
		return berth_error_setx(err, EINVAL,
					"cgroup: \"%s\" is a systemd cgroup path, but the systemd cgroup driver is not supported",
					cgroups_path);
	else if (cgroups_path[0] == '/')
		rel = strdup(cgroups_path + 1);
	else
		rel = path_join(CGROUP_DEFAULT_PARENT, cgroups_path);
	if (!rel)
		return berth_error_set(err, ENOMEM, "cgroup");
	if (path_has_dotdot(rel))
		return berth_error_setx(err, EINVAL, "cgroup: path \"%s\" must not contain \"..\"", cgroups_path);

	_cleanup_free_ char *full = path_join(root, rel);
	if (!full)
		return berth_error_set(err, ENOMEM, "cgroup");

	/* mkdir -p; a concurrent delete may remove an empty parent under us: retry. */
	for (int attempt = 0; attempt < 10; attempt++) {
		int r = 0;
		for (char *s = full + strlen(root) + 1; *s; s++) {
			if (*s != '/')
				continue;
			*s = 0;
			if (mkdir(full, 0755) < 0 && errno != EEXIST)
				r = -errno;
			*s = '/';
			if (r < 0)
				break;
		}
		if (r == 0 && mkdir(full, 0755) < 0)
			r = errno == EEXIST ? 0 : -errno;
		if (r == 0)
			break;
		if (r != -ENOENT || attempt == 9)
			return berth_error_set(err, -r, "cgroup: create \"%s\"", full);
	}

	int fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berth_error_set(err, errno, "cgroup: open \"%s\"", full);
	*ret_fd = fd;
	*ret_path = TAKE_PTR(full);
	return 0;
}

int cgroup_pids(const char *path, pid_t **ret, size_t *ret_n)
{
	_cleanup_free_ char *file = path_join(path, "cgroup.procs");
	_cleanup_free_ char *text = NULL;
	if (!file)
		return -ENOMEM;
	int r = read_file_at(AT_FDCWD, file, 1 << 24, &text, NULL);
	if (r < 0)
		return r;
	size_t n = 0, cap = 16;
	pid_t *v = malloc(cap * sizeof(pid_t));
	if (!v)
		return -ENOMEM;
	for (char *s = text; *s;) {
		char *end;
		long p = strtol(s, &end, 10);
		if (end == s)
			break;
		if (n == cap) {
			pid_t *nv = realloc(v, (cap *= 2) * sizeof(pid_t));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = (pid_t)p;
		s = end;
		while (*s == '\n')
			s++;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cgroup_signal_all(const char *path, int sig)
{
	pid_t *pids = NULL;
	size_t n = 0;
	int r = cgroup_pids(path, &pids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		kill(pids[i], sig);
	free(pids);
	return 0;
}

static bool cgroup_empty(const char *path)
{
	pid_t *pids = NULL;
	size_t n = 0;
	if (cgroup_pids(path, &pids, &n) < 0)
		return true;
	free(pids);
	return n == 0;
}

int cgroup_destroy(const char *path, struct berth_error **err)
{
	if (!path)
		return 0;
	if (access(path, F_OK) < 0)
		return 0;

	_cleanup_free_ char *killf = path_join(path, "cgroup.kill");
	for (int i = 0; i < 1000 && !cgroup_empty(path); i++) {
		if (!killf || write_string_at(AT_FDCWD, killf, "1") < 0)
			cgroup_signal_all(path, SIGKILL);
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	if (rmdir(path) < 0 && errno != ENOENT)
		return berth_error_set(err, errno, "cgroup: remove \"%s\"", path);

	/* Remove the parents berth made under the default parent, if now empty. */
	const char *root = cgroup_unified_root();
	_cleanup_free_ char *base = root ? path_join(root, CGROUP_DEFAULT_PARENT) : NULL;
	_cleanup_free_ char *p = strdup(path);
	if (!base || !p)
		return 0;
	size_t bl = strlen(base);
	for (char *s = strrchr(p, '/'); s && s > p; s = strrchr(p, '/')) {
		*s = 0;
		if (strncmp(p, base, bl) != 0 || (p[bl] != 0 && p[bl] != '/'))
			break;
		if (rmdir(p) < 0)
			break;
	}
	return 0;
}
