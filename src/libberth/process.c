/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Turning the container init into the user's program: sysctls, rlimits,
 * scheduler, I/O priority, personality, OOM score, user and groups,
 * capabilities, no_new_privs, umask, cwd, fd closing and execve.
 * Runs in the container init after pivot_root (the container's root is "/").
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "process.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#ifndef IOPRIO_WHO_PROCESS
#define IOPRIO_WHO_PROCESS 1
#endif
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_PRIO_MASK   ((1 << IOPRIO_CLASS_SHIFT) - 1)

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT		 47
#define PR_CAP_AMBIENT_RAISE	 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* The kernel's struct sched_attr, first version (SCHED_ATTR_SIZE_VER0, 48 bytes). */
struct berth_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

/*
 * Map a sysctl key to its path under /proc/sys the way sysctl(8) does: dots
 * separate components and a '/' inside a component stands for a dot
 * ("net.ipv4.conf.eth0/1.forwarding" -> "net/ipv4/conf/eth0.1/forwarding").
 * Returns a malloc'd relative path or NULL (ENOMEM, or EINVAL for an empty
 * key or a component that is empty, "." or "..").
 */
static char *sysctl_key_to_path(const char *key)
{
	char *p = strdup(key);
	if (!p)
		return NULL;
	for (char *c = p; *c; c++) {
		if (*c == '.')
			*c = '/';
		else if (*c == '/')
			*c = '.';
	}
	/* reject components that would not name a file below /proc/sys */
	for (const char *c = p;;) {
		size_t len = strcspn(c, "/");
		if (len == 0 || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.')) {
			free(p);
			errno = EINVAL;
			return NULL;
		}
		if (!c[len])
			break;
		c += len + 1;
	}
	return p;
}

int sysctl_apply(const struct berth_kv *kv, size_t n, struct berth_error **err)
{
	if (n == 0)
		return 0;

	_cleanup_close_ int dfd = open("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berth_error_set(err, errno, "sysctl: open \"/proc/sys\"");

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *rel = sysctl_key_to_path(kv[i].key);
		if (!rel)
			return berth_error_set(err, errno, "sysctl \"%s\"", kv[i].key);

		/* stay below /proc/sys whatever the key says */
		_cleanup_close_ int fd =
			path_open_in_root(dfd, rel, O_WRONLY | O_CLOEXEC | O_NOCTTY, 0);
		if (fd < 0)
			return berth_error_set(err, -fd, "sysctl \"%s\"", kv[i].key);
		const char *v = kv[i].value ? kv[i].value : "";
		ssize_t k = write(fd, v, strlen(v));
		if (k < 0)
			return berth_error_set(err, errno, "sysctl \"%s\" = \"%s\"", kv[i].key, v);
		if ((size_t)k != strlen(v))
			return berth_error_set(err, EIO, "sysctl \"%s\" = \"%s\": short write",
					       kv[i].key, v);
	}
	return 0;
}

/* First "PATH=" entry of a NULL-terminated environment, or NULL. */
static const char *env_path(char **env)
{
	if (!env)
		return NULL;
	for (char **e = env; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			return *e + 5;
	return NULL;
}

/* 0 if path is an executable regular file, else -errno (EISDIR for directories). */
static int check_executable(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	if (access(path, X_OK) < 0)
		return -errno;
	return 0;
}

/*
 * The error of a failed program lookup, worded as runc words it ("no such file or
 * directory", "permission denied", lowercase): engines read these words to tell a
 * missing program (exit 127) or one that cannot run (126) from other failures.
 */
static int exec_lookup_error(struct berth_error **err, int errnum, const char *path)
{
	char msg[128];
	snprintf(msg, sizeof(msg), "%s", strerror(errnum));
	msg[0] = (char)tolower((unsigned char)msg[0]);
	return berth_error_setx(err, errnum, "exec: \"%s\": %s", path, msg);
}

int process_find_exec(const struct berth_process *p, char **ret_path, struct berth_error **err)
{
	const char *cwd = p->cwd ? p->cwd : "/";
	const char *name = p->args ? p->args[0] : NULL;
	int r;

	if (!name || !*name)
		return berth_error_setx(err, ENOENT,
					"exec: \"\": executable file not found in $PATH");

	if (strchr(name, '/')) {
		/* join rather than normalise so that ".." resolves as the kernel will after chdir */
		_cleanup_free_ char *full = name[0] == '/' ? strdup(name) : path_join(cwd, name);
		if (!full)
			return berth_error_set(err, ENOMEM, "exec: \"%s\"", name);
		r = check_executable(full);
		if (r < 0)
			return exec_lookup_error(err, -r, full);
		*ret_path = TAKE_PTR(full);
		return 0;
	}

	const char *search = env_path(p->env);
	if (!search)
		search = DEFAULT_PATH;

	_cleanup_free_ char *denied = NULL;
	for (const char *s = search;;) {
		size_t len = strcspn(s, ":");
		_cleanup_free_ char *dir = len == 0 ? strdup(".") : strndup(s, len);
		if (!dir)
			return berth_error_set(err, ENOMEM, "exec: \"%s\"", name);
		_cleanup_free_ char *cand = NULL;
		if (dir[0] == '/') {
			cand = path_join(dir, name);
		} else {
			/* relative PATH entries (and "", meaning ".") are relative to the cwd */
			_cleanup_free_ char *d = path_join(cwd, dir);
			cand = d ? path_join(d, name) : NULL;
		}
		if (!cand)
			return berth_error_set(err, ENOMEM, "exec: \"%s\"", name);

		r = check_executable(cand);
		if (r == 0) {
			*ret_path = TAKE_PTR(cand);
			return 0;
		}
		/* like execvp: remember a file that exists but cannot be run */
		if (r == -EACCES && !denied)
			denied = TAKE_PTR(cand);

		if (!s[len])
			break;
		s += len + 1;
	}
	if (denied)
		return exec_lookup_error(err, EACCES, denied);
	return berth_error_setx(err, ENOENT, "exec: \"%s\": executable file not found in $PATH",
				name);
}

/*
 * The home directory of uid in /etc/passwd as seen from the current root (the
 * container's), "/" when there is no entry or no file. Returns a new string or NULL
 * (out of memory).
 */
static void file_closep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static char *passwd_home(uint32_t uid)
{
	_cleanup_(file_closep) FILE *f = fopen("/etc/passwd", "re");
	_cleanup_free_ char *line = NULL;
	size_t size = 0;

	while (f && getline(&line, &size, f) > 0) {
		/* name:password:uid:gid:gecos:home:shell */
		char *field[7] = { line };
		size_t n = 1;
		for (char *c = line; *c && n < 7; c++)
			if (*c == ':') {
				*c = '\0';
				field[n++] = c + 1;
			}
		if (n < 7)
			continue;
		field[6][strcspn(field[6], "\n")] = '\0';
		char *end;
		errno = 0;
		unsigned long v = strtoul(field[2], &end, 10);
		if (errno || end == field[2] || *end || v != uid || !*field[5])
			continue;
		return strdup(field[5]);
	}
	return strdup("/");
}

static bool env_has(char *const *env, const char *key)
{
	size_t len = strlen(key);
	for (; env && *env; env++)
		if (strncmp(*env, key, len) == 0 && (*env)[len] == '=')
			return true;
	return false;
}

static void format_rlim(char *buf, size_t size, uint64_t v)
{
	if (v == (uint64_t)RLIM_INFINITY)
		snprintf(buf, size, "unlimited");
	else
		snprintf(buf, size, "%" PRIu64, v);
}

static int setup_rlimits(const struct berth_process *p, struct berth_error **err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct berth_rlimit *l = &p->rlimits[i];
		char name[32], soft[32], hard[32];
		struct rlimit rl = { .rlim_cur = l->soft, .rlim_max = l->hard };

		if (l->type)
			snprintf(name, sizeof(name), "%s", l->type);
		else
			snprintf(name, sizeof(name), "resource %d", l->resource);
		format_rlim(soft, sizeof(soft), l->soft);
		format_rlim(hard, sizeof(hard), l->hard);

		if (prlimit(0, l->resource, &rl, NULL) == 0)
			continue;

		int e = errno;
		struct rlimit cur;
		if (e == EPERM && getrlimit(l->resource, &cur) == 0 && l->hard > cur.rlim_max) {
			char now[32];
			format_rlim(now, sizeof(now), cur.rlim_max);
			return berth_error_setx(
				err, e,
				"setrlimit %s soft=%s hard=%s: %s (the hard limit of this "
				"process is %s)",
				name, soft, hard, strerror(e), now);
		}
		return berth_error_set(err, e, "setrlimit %s soft=%s hard=%s", name, soft, hard);
	}
	return 0;
}

static int setup_oom_score_adj(const struct berth_process *p, struct berth_error **err)
{
	if (!p->has_oom_score_adj)
		return 0;

	char buf[32];
	snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
	int r = write_string_at(AT_FDCWD, "/proc/self/oom_score_adj", buf);
	if (r == -EACCES && p->oom_score_adj < 0)
		return berth_error_setx(err, -r,
					"oom_score_adj %d: %s (lowering it below its minimum needs "
					"CAP_SYS_RESOURCE)",
					p->oom_score_adj, strerror(-r));
	if (r < 0)
		return berth_error_set(err, -r, "oom_score_adj %d", p->oom_score_adj);
	return 0;
}

static int setup_scheduler(const struct berth_process *p, struct berth_error **err)
{
	const struct berth_scheduler *s = &p->scheduler;
	if (!s->set)
		return 0;

	struct berth_sched_attr a = {
		.size = sizeof(a),
		.sched_policy = (uint32_t)s->policy_value,
		.sched_flags = s->flags,
		.sched_nice = s->has_nice ? s->nice : 0,
		.sched_priority = s->has_priority ? (uint32_t)s->priority : 0,
		.sched_runtime = s->has_runtime ? s->runtime : 0,
		.sched_deadline = s->has_deadline ? s->deadline : 0,
		.sched_period = s->has_period ? s->period : 0,
	};
	if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
		return berth_error_set(err, errno, "sched_setattr %s",
				       s->policy ? s->policy : "policy");
	return 0;
}

static int setup_io_priority(const struct berth_process *p, struct berth_error **err)
{
	const struct berth_io_priority *io = &p->io_priority;
	if (!io->set)
		return 0;

	int v = (io->class_value << IOPRIO_CLASS_SHIFT) | (io->priority & IOPRIO_PRIO_MASK);
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, v) < 0)
		return berth_error_set(err, errno, "ioprio_set %s %d",
				       io->class ? io->class : "class", io->priority);
	return 0;
}

int process_setup(const struct berth_process *p, struct berth_error **err)
{
	int r;

	r = setup_rlimits(p, err);
	if (r < 0)
		return r;
	r = setup_oom_score_adj(p, err);
	if (r < 0)
		return r;
	r = setup_scheduler(p, err);
	if (r < 0)
		return r;
	return setup_io_priority(p, err);
}

bool process_lsm_enabled(const char *name)
{
	if (streq(name, "apparmor")) {
		char buf[4] = "";
		_cleanup_close_ int fd =
			open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
		return fd >= 0 && read(fd, buf, 1) == 1 && buf[0] == 'Y';
	}
	return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

int process_lsm_check(const struct berth_process *p, struct berth_error **err)
{
	if (p->apparmor_profile && *p->apparmor_profile && !process_lsm_enabled("apparmor"))
		return berth_error_setx(err, ENOTSUP,
					"config.json: process.apparmorProfile: \"%s\" is set, but "
					"AppArmor is not enabled on this host",
					p->apparmor_profile);
	if (p->selinux_label && *p->selinux_label && !process_lsm_enabled("selinux"))
		return berth_error_setx(err, ENOTSUP,
					"config.json: process.selinuxLabel: \"%s\" is set, but "
					"SELinux is not enabled on this host",
					p->selinux_label);
	return 0;
}

/* Write the label for the next execve to the LSM's exec attribute of this task. */
static int lsm_write_exec(const char *file, const char *fallback, const char *value,
			  struct berth_error **err)
{
	_cleanup_close_ int fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && fallback)
		fd = open(fallback, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(value);
	if (fd < 0 || write(fd, value, len) != (ssize_t)len)
		return berth_error_set(err, errno, "set the security label \"%s\" for exec", value);
	return 0;
}

static int lsm_apply(const struct berth_process *p, struct berth_error **err)
{
	if (p->apparmor_profile && *p->apparmor_profile) {
		_cleanup_free_ char *v = NULL;
		if (asprintf(&v, "exec %s", p->apparmor_profile) < 0)
			return berth_error_set(err, ENOMEM, "apparmor");
		int r = lsm_write_exec("/proc/thread-self/attr/apparmor/exec",
				       "/proc/thread-self/attr/exec", v, err);
		if (r < 0)
			return r;
	}
	if (p->selinux_label && *p->selinux_label)
		return lsm_write_exec("/proc/thread-self/attr/exec", NULL, p->selinux_label, err);
	return 0;
}

int personality_apply(const struct berth_personality *pers, struct berth_error **err)
{
	if (!pers || !pers->set)
		return 0;
	if (personality(pers->value) < 0)
		return berth_error_set(err, errno, "personality %s",
				       pers->domain ? pers->domain : "domain");
	return 0;
}

/* "\"CAP_SYS_ADMIN\"" (quoted) for a capability number, or "capability 62" if libcap has no name. */
static const char *cap_name(int cap, char *buf, size_t size)
{
	char *n = cap_to_name((cap_value_t)cap);
	if (!n || !*n || (*n >= '0' && *n <= '9')) {
		cap_free(n);
		snprintf(buf, size, "capability %d", cap);
		return buf;
	}
	snprintf(buf, size, "\"%s\"", n);
	cap_free(n);
	for (char *c = buf; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	return buf;
}

/* The running kernel's highest capability number (/proc/sys/kernel/cap_last_cap). */
static int cap_last(void)
{
	_cleanup_free_ char *s = NULL;
	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 64, &s, NULL) == 0) {
		char *end;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (errno == 0 && end != s && v >= 0 && v < 64)
			return (int)v;
	}
	/* no /proc: ask the bounding set itself */
	int c = 0;
	while (c < 63 && prctl(PR_CAPBSET_READ, (unsigned long)c + 1, 0, 0, 0) >= 0)
		c++;
	return c;
}

static uint64_t caps_requested(const struct berth_caps *c)
{
	return (c->has_effective ? c->effective : 0) | (c->has_permitted ? c->permitted : 0) |
	       (c->has_inheritable ? c->inheritable : 0) | (c->has_ambient ? c->ambient : 0);
}

/*
 * Refuse capabilities the runtime itself cannot hand out (not in its own
 * bounding set, or unknown to the kernel). Bounding-only entries are fine:
 * the bounding set can only shrink, keeping less than asked is safe.
 */
static int caps_check(const struct berth_caps *c, int last, struct berth_error **err)
{
	uint64_t want = caps_requested(c);
	char name[64];

	for (int i = 0; i < 64; i++) {
		if (!(want & (UINT64_C(1) << i)))
			continue;
		if (i > last)
			return berth_error_setx(
				err, EINVAL,
				"capabilities: %s is not known to the running kernel (its "
				"last capability is %d)",
				cap_name(i, name, sizeof(name)), last);
		if (prctl(PR_CAPBSET_READ, (unsigned long)i, 0, 0, 0) != 1)
			return berth_error_setx(
				err, EPERM,
				"capabilities: %s is not in the bounding set of the "
				"runtime, cannot grant it",
				cap_name(i, name, sizeof(name)));
	}
	return 0;
}

static int caps_drop_bounding(const struct berth_caps *c, int last, struct berth_error **err)
{
	uint64_t keep = c->has_bounding ? c->bounding : 0;
	char name[64];

	for (int i = 0; i <= last; i++) {
		if (keep & (UINT64_C(1) << i))
			continue;
		if (prctl(PR_CAPBSET_READ, (unsigned long)i, 0, 0, 0) != 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)i, 0, 0, 0) < 0)
			return berth_error_set(err, errno,
					       "capabilities: drop %s from the bounding set",
					       cap_name(i, name, sizeof(name)));
	}
	return 0;
}

static int cap_set_mask(cap_t c, cap_flag_t flag, uint64_t mask)
{
	for (int i = 0; i < 64; i++) {
		if (!(mask & (UINT64_C(1) << i)))
			continue;
		cap_value_t v = i;
		if (cap_set_flag(c, flag, 1, &v, CAP_SET) < 0)
			return -errno;
	}
	return 0;
}

static void cap_tp(cap_t *c)
{
	if (*c)
		cap_free(*c);
}

/*
 * The effective, permitted and inheritable sets of c as a new cap_t in
 * *ret, built before the seccomp filter is loaded so that caps_apply()
 * makes no call but capset and prctl. The kernel raises an ambient
 * capability only if it is also inheritable; engines (buildah) ask for
 * ambient without inheritable, so the ambient bits are added to the
 * inheritable set and nothing else is.
 */
static int caps_prepare(const struct berth_caps *c, cap_t *ret, struct berth_error **err)
{
	_cleanup_(cap_tp) cap_t st = cap_init();
	int r;

	if (!st)
		return berth_error_set(err, errno, "capabilities");
	if ((r = cap_set_mask(st, CAP_EFFECTIVE, c->has_effective ? c->effective : 0)) < 0 ||
	    (r = cap_set_mask(st, CAP_PERMITTED, c->has_permitted ? c->permitted : 0)) < 0 ||
	    (r = cap_set_mask(st, CAP_INHERITABLE,
			      (c->has_inheritable ? c->inheritable : 0) |
				      (c->has_ambient ? c->ambient : 0))) < 0)
		return berth_error_set(err, -r, "capabilities");
	*ret = TAKE_PTR(st);
	return 0;
}

/*
 * Set st (from caps_prepare) with capset(2), then the ambient set. May run
 * under the container's seccomp filter: capset and prctl only, as runc.
 */
static int caps_apply(const struct berth_caps *c, cap_t st, struct berth_error **err)
{
	if (cap_set_proc(st) < 0) {
		int e = errno;
		if (e == EPERM && c->has_effective && c->has_permitted &&
		    (c->effective & ~c->permitted))
			return berth_error_setx(
				err, e,
				"capabilities: %s (the effective set is not a subset "
				"of the permitted set)",
				strerror(e));
		return berth_error_set(err, e,
				       "capabilities: set effective, permitted and inheritable");
	}

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		/* kernels before 4.3 have no ambient set: fine unless one was asked for */
		if (errno == EINVAL && !(c->has_ambient && c->ambient))
			return 0;
		return berth_error_set(err, errno, "capabilities: clear the ambient set");
	}
	uint64_t amb = c->has_ambient ? c->ambient : 0;
	for (int i = 0; i < 64; i++) {
		char name[64];
		if (!(amb & (UINT64_C(1) << i)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)i, 0, 0) < 0) {
			int e = errno;
			if (e == EPERM)
				return berth_error_setx(
					err, e,
					"capabilities: raise ambient %s: %s (an "
					"ambient capability must also be permitted and "
					"inheritable)",
					cap_name(i, name, sizeof(name)), strerror(e));
			return berth_error_set(err, e, "capabilities: raise ambient %s",
					       cap_name(i, name, sizeof(name)));
		}
	}
	return 0;
}

/*
 * Make CAP_SYS_ADMIN effective again after a change to a user other than
 * root (which empties the effective set but, with PR_SET_KEEPCAPS, keeps
 * the permitted one): loading a seccomp filter without no_new_privs needs
 * it. Nothing to do when it is effective already.
 */
static int caps_raise_sys_admin(struct berth_error **err)
{
	_cleanup_(cap_tp) cap_t st = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;
	cap_value_t admin = CAP_SYS_ADMIN;

	if (!st || cap_get_flag(st, admin, CAP_EFFECTIVE, &v) < 0)
		return berth_error_set(err, errno, "capabilities: read the current sets");
	if (v == CAP_SET)
		return 0;
	if (cap_set_flag(st, CAP_EFFECTIVE, 1, &admin, CAP_SET) < 0 || cap_set_proc(st) < 0)
		return berth_error_set(err, errno,
				       "capabilities: make \"CAP_SYS_ADMIN\" effective to load "
				       "the seccomp filter without noNewPrivileges");
	return 0;
}

static int become_user(const struct berth_user *u, struct berth_error **err)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return berth_error_set(err, errno, "prctl PR_SET_KEEPCAPS");

	_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits");
	if (setgroups(u->n_additional_gids, (const gid_t *)u->additional_gids) < 0) {
		/* in a user namespace with setgroups "deny" we cannot even clear the list */
		if (!(errno == EPERM && u->n_additional_gids == 0))
			return berth_error_set(err, errno, "setgroups");
	}
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return berth_error_set(err, errno, "setresgid %" PRIu32, u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return berth_error_set(err, errno, "setresuid %" PRIu32, u->uid);

	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return berth_error_set(err, errno, "prctl PR_SET_KEEPCAPS");
	return 0;
}

int process_cwd_create(const struct berth_process *p, struct berth_error **err)
{
	const char *cwd = p->cwd ? p->cwd : "/";
	_cleanup_close_ int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return berth_error_set(err, errno, "open \"/\"");
	_cleanup_close_ int fd =
		path_open_in_root(root_fd, cwd, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd >= 0)
		return 0;
	if (fd != -ENOENT)
		return berth_error_set(err, -fd, "cwd \"%s\"", cwd);

	/* the caller's umask must not make the directory unusable for the user */
	mode_t old = umask(0022);
	fd = path_mkdir_p_in_root(root_fd, cwd, 0755);
	umask(old);
	if (fd < 0)
		return berth_error_set(err, -fd, "cwd \"%s\": create", cwd);
	return 0;
}

/* Resolve the cwd again as the user, so that its permissions apply, and enter it. */
static int cwd_enter(int root_fd, const char *cwd, struct berth_error **err)
{
	_cleanup_close_ int fd =
		path_open_in_root(root_fd, cwd, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return berth_error_set(err, -fd, "cwd \"%s\"", cwd);
	if (fchdir(fd) < 0)
		return berth_error_set(err, errno, "cwd \"%s\"", cwd);
	return 0;
}

static int call_before_exec(const struct berth_exec_opts *o, struct berth_error **err)
{
	if (!o->before_exec)
		return 0;
	int r = o->before_exec(o->before_exec_data, err);
	if (r < 0)
		return berth_error_set(err, -r, "before exec"); /* kept if the callback set one */
	return 0;
}

static bool fd_in(int fd, const int *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == fd)
			return true;
	return false;
}

/*
 * HOME from the container's passwd entry of the user when process.env has none:
 * engines (docker, containerd) leave it out and expect it as runc sets it. Returns
 * 0 with *ret_env the environment to execve with (p->env itself, or a new array
 * whose last entry *ret_home is the only other allocation), or -errno.
 */
static int env_with_home(const struct berth_process *p, char ***ret_env, char **ret_home,
			 struct berth_error **err)
{
	char *const *env = p->env;
	size_t n = 0;

	if (env_has(env, "HOME")) {
		*ret_env = NULL;
		*ret_home = NULL;
		return 0;
	}
	while (env && env[n])
		n++;
	_cleanup_free_ char *dir = passwd_home(p->user.uid);
	_cleanup_free_ char **env_home = calloc(n + 2, sizeof(char *));
	_cleanup_free_ char *home = dir ? malloc(strlen(dir) + sizeof("HOME=")) : NULL;
	if (!env_home || !home)
		return berth_error_set(err, ENOMEM, "exec: HOME");
	strcpy(stpcpy(home, "HOME="), dir);
	for (size_t i = 0; i < n; i++)
		env_home[i] = env[i];
	env_home[n] = home;
	*ret_env = TAKE_PTR(env_home);
	*ret_home = TAKE_PTR(home);
	return 0;
}

int process_become(const struct berth_exec_opts *o, struct berth_error **err)
{
	const struct berth_process *p = o->process;
	const char *cwd = p->cwd ? p->cwd : "/";
	int r;

	if (o->preserve_fds < 0)
		return berth_error_setx(err, EINVAL, "preserve-fds %d: must not be negative",
					o->preserve_fds);

	/* resolve from our own root: never from an inherited fd or cwd (CVE-2024-21626) */
	_cleanup_close_ int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return berth_error_set(err, errno, "open \"/\"");

	int last = cap_last();
	r = caps_check(&p->caps, last, err);
	if (r < 0)
		return r;

	/* Security labels take effect at execve; set them while still privileged. */
	r = lsm_apply(p, err);
	if (r < 0)
		return r;

	/* needs CAP_SETPCAP in the effective set: do it before becoming the user */
	r = caps_drop_bounding(&p->caps, last, err);
	if (r < 0)
		return r;

	r = become_user(&p->user, err);
	if (r < 0)
		return r;
	/*
	 * Still a copy of berth until execve (CVE-2019-5736): the change of
	 * user made us dumpable again if fs.suid_dumpable is 1.
	 */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	/*
	 * As the user, before its capabilities are set: a user other than root
	 * has no effective capability now, so the permissions of the path apply.
	 */
	r = cwd_enter(root_fd, cwd, err);
	if (r < 0)
		return r;

	umask(p->user.has_umask ? (mode_t)p->user.umask : 0022);

	/* explicitly: it could sit in the preserved range */
	close(TAKE_FD(root_fd));
	r = close_fds_from(3 + o->preserve_fds, o->keep_fds, o->n_keep_fds);
	if (r < 0)
		return berth_error_set(err, -r, "close fds");
	for (int fd = 3; fd < 3 + o->preserve_fds; fd++) {
		/* a kept fd must still close at execve, even inside the preserved range */
		if (fd_in(fd, o->keep_fds, o->n_keep_fds))
			continue;
		r = fd_set_cloexec(fd, false);
		if (r < 0 && r != -EBADF)
			return berth_error_set(err, -r, "preserve fd %d", fd);
	}

	_cleanup_(cap_tp) cap_t caps = NULL;
	r = caps_prepare(&p->caps, &caps, err);
	if (r < 0)
		return r;

	/*
	 * The filter comes after every step of ours but those runc also makes
	 * after its filter: without no_new_privs it needs CAP_SYS_ADMIN, so
	 * capset and prctl (caps_apply) follow it; with no_new_privs nothing
	 * but execve does.
	 */
	if (!p->no_new_privileges && o->before_exec) {
		r = caps_raise_sys_admin(err);
		if (r < 0)
			return r;
		r = call_before_exec(o, err);
		if (r < 0)
			return r;
	}

	r = caps_apply(&p->caps, caps, err);
	if (r < 0)
		return r;

	if (p->no_new_privileges) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			return berth_error_set(err, errno, "prctl PR_SET_NO_NEW_PRIVS");
		r = call_before_exec(o, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int process_exec(const struct berth_exec_opts *o, struct berth_error **err)
{
	const struct berth_process *p = o->process;
	int r;

	if (!o->path || !p->args || !p->args[0])
		return berth_error_setx(err, EINVAL, "exec: no program to run");

	/* before the user switch: the user may not be able to read /etc/passwd */
	_cleanup_free_ char **env_home = NULL;
	_cleanup_free_ char *home = NULL;
	r = env_with_home(p, &env_home, &home, err);
	if (r < 0)
		return r;

	r = process_become(o, err);
	if (r < 0)
		return r;

	execve(o->path, p->args, env_home ? env_home : p->env);
	return berth_error_set(err, errno, "exec \"%s\"", o->path);
}
