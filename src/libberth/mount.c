/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The container's root filesystem: propagation of /, the rootfs self bind,
 * the spec mounts, /dev and linux.devices, pivot_root, masked and read-only
 * paths. Runs in the container init, inside its new mount namespace; every
 * mount target inside the rootfs is an fd resolved with RESOLVE_IN_ROOT.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/error.h"
#include "mount.h"
#include "namespace.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"
#include "util/tree.h"

/* Flags that belong to one mount (not to its superblock): what a bind remount may change. */
#define PER_MOUNT_FLAGS                                                                            \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | \
	 MS_STRICTATIME | MS_NOSYMFOLLOW)
#define ATIME_FLAGS	  (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)
#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

#define FD_PATH_MAX 32

/* ---- options ---------------------------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned long set, clear;
} flag_opts[] = {
	{ "async", 0, MS_SYNCHRONOUS },
	{ "atime", 0, MS_NOATIME },
	{ "bind", MS_BIND, 0 },
	{ "defaults", 0, 0 },
	{ "dev", 0, MS_NODEV },
	{ "diratime", 0, MS_NODIRATIME },
	{ "dirsync", MS_DIRSYNC, 0 },
	{ "exec", 0, MS_NOEXEC },
	{ "iversion", MS_I_VERSION, 0 },
	{ "lazytime", MS_LAZYTIME, 0 },
	{ "loud", 0, MS_SILENT },
	{ "mand", MS_MANDLOCK, 0 },
	{ "noatime", MS_NOATIME, 0 },
	{ "nodev", MS_NODEV, 0 },
	{ "nodiratime", MS_NODIRATIME, 0 },
	{ "noexec", MS_NOEXEC, 0 },
	{ "noiversion", 0, MS_I_VERSION },
	{ "nolazytime", 0, MS_LAZYTIME },
	{ "nomand", 0, MS_MANDLOCK },
	{ "norelatime", 0, MS_RELATIME },
	{ "nostrictatime", 0, MS_STRICTATIME },
	{ "nosuid", MS_NOSUID, 0 },
	{ "nosymfollow", MS_NOSYMFOLLOW, 0 },
	{ "rbind", MS_BIND | MS_REC, 0 },
	{ "relatime", MS_RELATIME, 0 },
	{ "remount", MS_REMOUNT, 0 },
	{ "ro", MS_RDONLY, 0 },
	{ "rw", 0, MS_RDONLY },
	{ "silent", MS_SILENT, 0 },
	{ "strictatime", MS_STRICTATIME, 0 },
	{ "suid", 0, MS_NOSUID },
	{ "sync", MS_SYNCHRONOUS, 0 },
	{ "symfollow", 0, MS_NOSYMFOLLOW },
};

static const struct {
	const char *name;
	unsigned long flags;
} propagation_opts[] = {
	{ "private", MS_PRIVATE },	 { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED },	 { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE },		 { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

/*
 * The recursive options map to mount_setattr(2). The atime modes are an enum
 * there, not bits: changing it needs all of MOUNT_ATTR__ATIME in attr_clr.
 */
static const struct {
	const char *name;
	uint64_t set, clr;
	bool atime;
} attr_opts[] = {
	{ "rro", MOUNT_ATTR_RDONLY, 0, false },
	{ "rrw", 0, MOUNT_ATTR_RDONLY, false },
	{ "rnosuid", MOUNT_ATTR_NOSUID, 0, false },
	{ "rsuid", 0, MOUNT_ATTR_NOSUID, false },
	{ "rnodev", MOUNT_ATTR_NODEV, 0, false },
	{ "rdev", 0, MOUNT_ATTR_NODEV, false },
	{ "rnoexec", MOUNT_ATTR_NOEXEC, 0, false },
	{ "rexec", 0, MOUNT_ATTR_NOEXEC, false },
	{ "rnodiratime", MOUNT_ATTR_NODIRATIME, 0, false },
	{ "rdiratime", 0, MOUNT_ATTR_NODIRATIME, false },
	{ "rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0, false },
	{ "rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW, false },
	{ "rrelatime", MOUNT_ATTR_RELATIME, 0, true },
	{ "rnorelatime", MOUNT_ATTR_STRICTATIME, 0, true },
	{ "rnoatime", MOUNT_ATTR_NOATIME, 0, true },
	{ "ratime", MOUNT_ATTR_RELATIME, 0, true },
	{ "rstrictatime", MOUNT_ATTR_STRICTATIME, 0, true },
	{ "rnostrictatime", MOUNT_ATTR_RELATIME, 0, true },
};

size_t mount_option_names(const char **ret, size_t max)
{
	static const char *const extra[] = { "tmpcopyup", "idmap", "ridmap" };
	size_t n = 0;
#define ADD(s)                        \
	do {                          \
		if (n < max)          \
			ret[n] = (s); \
		n++;                  \
	} while (0)
	for (size_t i = 0; i < ELEMENTSOF(flag_opts); i++)
		ADD(flag_opts[i].name);
	for (size_t i = 0; i < ELEMENTSOF(propagation_opts); i++)
		ADD(propagation_opts[i].name);
	for (size_t i = 0; i < ELEMENTSOF(attr_opts); i++)
		ADD(attr_opts[i].name);
	for (size_t i = 0; i < ELEMENTSOF(extra); i++)
		ADD(extra[i]);
#undef ADD
	return n;
}

void mount_opts_done(struct berth_mount_opts *o)
{
	if (!o)
		return;
	free(o->data);
	o->data = NULL;
}

static int data_append(char **data, const char *opt)
{
	size_t l = *data ? strlen(*data) : 0, n = strlen(opt);
	char *d = realloc(*data, l + 1 + n + 1);
	if (!d)
		return -ENOMEM;
	if (l > 0)
		d[l++] = ',';
	memcpy(d + l, opt, n + 1);
	*data = d;
	return 0;
}

static bool opt_flag(struct berth_mount_opts *o, const char *opt)
{
	for (size_t i = 0; i < ELEMENTSOF(flag_opts); i++) {
		if (!streq(opt, flag_opts[i].name))
			continue;
		/* a later option wins over an earlier one ("ro,rw" is rw) */
		o->flags = (o->flags & ~flag_opts[i].clear) | flag_opts[i].set;
		o->clear = (o->clear & ~flag_opts[i].set) | flag_opts[i].clear;
		return true;
	}
	return false;
}

static bool opt_propagation(struct berth_mount_opts *o, const char *opt)
{
	for (size_t i = 0; i < ELEMENTSOF(propagation_opts); i++) {
		if (streq(opt, propagation_opts[i].name)) {
			o->propagation = propagation_opts[i].flags;
			return true;
		}
	}
	return false;
}

static bool opt_attr(struct berth_mount_opts *o, const char *opt)
{
	for (size_t i = 0; i < ELEMENTSOF(attr_opts); i++) {
		if (!streq(opt, attr_opts[i].name))
			continue;
		if (attr_opts[i].atime) {
			o->attr_set =
				(o->attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | attr_opts[i].set;
			o->attr_clr |= MOUNT_ATTR__ATIME;
		} else {
			o->attr_set = (o->attr_set & ~attr_opts[i].clr) | attr_opts[i].set;
			o->attr_clr = (o->attr_clr & ~attr_opts[i].set) | attr_opts[i].clr;
		}
		return true;
	}
	return false;
}

int mount_opts_parse(char *const *options, size_t n, struct berth_mount_opts *ret,
		     struct berth_error **err)
{
	struct berth_mount_opts o = {};

	for (size_t i = 0; i < n; i++) {
		const char *opt = options[i];
		if (!opt || opt_flag(&o, opt) || opt_propagation(&o, opt) || opt_attr(&o, opt))
			continue;
		if (streq(opt, "tmpcopyup")) {
			o.tmpcopyup = true;
		} else if (streq(opt, "idmap")) {
			o.idmap = true;
		} else if (streq(opt, "ridmap")) {
			o.idmap = o.ridmap = true;
		} else if (data_append(&o.data, opt) < 0) {
			mount_opts_done(&o);
			return berth_error_set(err, ENOMEM, "mount options");
		}
	}
	*ret = o;
	return 0;
}

/* ---- small helpers ---------------------------------------------------------------------- */

/* Current per-mount flags of the mount fd is on, as MS_* bits (fstatvfs works on O_PATH). */
static unsigned long mount_flags_of(int fd)
{
	struct statvfs sv;
	if (fstatvfs(fd, &sv) < 0)
		return 0;
	unsigned long f = 0;
	if (sv.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	if (!(f & (MS_NOATIME | MS_RELATIME)))
		f |= MS_STRICTATIME;
#ifdef ST_NOSYMFOLLOW
	if (sv.f_flag & ST_NOSYMFOLLOW)
		f |= MS_NOSYMFOLLOW;
#endif
	return f;
}

/*
 * MS_BIND|MS_REMOUNT the mount at target (fd: an fd of its root) with set
 * added and clear removed, keeping every other flag it has: in a user
 * namespace the kernel refuses a remount that drops a locked nosuid, nodev,
 * noexec or atime flag of a mount inherited from the host.
 */
static int remount_bind(int fd, const char *target, unsigned long set, unsigned long clear)
{
	unsigned long f = mount_flags_of(fd);
	if (set & ATIME_FLAGS)
		f &= ~ATIME_FLAGS;
	f &= ~clear;
	if ((clear & ATIME_FLAGS) && !(f & ATIME_FLAGS))
		f |= MS_RELATIME;
	f |= set & PER_MOUNT_FLAGS;
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | f, NULL) == 0)
		return 0;
	if (errno != EPERM)
		return -errno;
	/*
	 * In a user namespace the kernel locks the flags a mount came with from
	 * a more privileged namespace (nosuid, nodev, noexec, ro, the atime
	 * mode): keep those it has rather than fail, as runc does.
	 */
	unsigned long cur = mount_flags_of(fd);
	unsigned long locked = cur & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
	unsigned long g = (f & ~ATIME_FLAGS) | (cur & ATIME_FLAGS) | locked;
	if (g == f || mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | g, NULL) < 0)
		return -EPERM;
	return 0;
}

static int apply_propagation(const char *target, unsigned long propagation)
{
	if (propagation && mount(NULL, target, NULL, propagation, NULL) < 0)
		return -errno;
	return 0;
}

static int apply_attrs(int fd, const struct berth_mount_opts *o)
{
	if (!o->attr_set && !o->attr_clr)
		return 0;
	struct mount_attr a = { .attr_set = o->attr_set, .attr_clr = o->attr_clr };
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
		return -errno;
	return 0;
}

static int propagation_from_name(const char *name, unsigned long *ret)
{
	for (size_t i = 0; i < ELEMENTSOF(propagation_opts); i++) {
		if (streq(name, propagation_opts[i].name)) {
			*ret = propagation_opts[i].flags;
			return 0;
		}
	}
	return -EINVAL;
}

/* Create a missing mount point directory; an existing one is fine. */
static int mkdir_at(int dirfd, const char *name, mode_t mode)
{
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* ---- spec mounts -------------------------------------------------------------------------- */

struct mount_job {
	struct berth_rootfs_ctx *c;
	const struct berth_mount *m;
	int bind_source; /* the source the parent's helper opened (or idmapped), or -EBADF */
	struct berth_mount_opts o;
	const char *dest, *source, *type; /* type: what is shown in messages */
};

static int job_fail(struct mount_job *j, struct berth_error **err, int r, const char *step)
{
	return berth_error_set(err, r, "mount '%s' on '%s' (%s)%s%s", j->source ?: "none", j->dest,
			       j->type, step ? ": " : "", step ?: "");
}

/* Open dest again: after a mount on it, this gives the root of the new mount. */
static int job_reopen(struct mount_job *j)
{
	return path_open_in_root(j->c->root_fd, j->dest, O_PATH, 0);
}

/* Open a host path for a bind source: relative paths are relative to the bundle. */
static int open_host_source(const char *bundle, const char *source)
{
	int fd;
	if (source[0] != '/' && bundle) {
		_cleanup_close_ int b = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (b < 0)
			return -errno;
		fd = openat(b, source, O_PATH | O_CLOEXEC);
	} else {
		fd = open(source, O_PATH | O_CLOEXEC);
	}
	return fd < 0 ? -errno : fd;
}

/*
 * After the mount at dest exists: per-mount flags (bind remount), propagation
 * and the recursive attributes. set/clear are the MS_* flags still to apply.
 */
static int job_finish(struct mount_job *j, unsigned long set, unsigned long clear,
		      struct berth_error **err)
{
	char buf[FD_PATH_MAX];
	_cleanup_close_ int fd = job_reopen(j);
	if (fd < 0)
		return job_fail(j, err, fd, "reopen after mount");
	const char *t = path_fd_path(fd, buf, sizeof(buf));

	int r;
	if ((set | clear) & PER_MOUNT_FLAGS) {
		r = remount_bind(fd, t, set, clear);
		if (r < 0)
			return job_fail(j, err, r, "remount with flags");
	}
	r = apply_propagation(t, j->o.propagation);
	if (r < 0)
		return job_fail(j, err, r, "set propagation");
	r = apply_attrs(fd, &j->o);
	if (r < 0)
		return job_fail(j, err, r, "set recursive attributes");
	return 0;
}

/*
 * A user namespace whose maps are uid/gid, for MOUNT_ATTR_IDMAP; returns an
 * fd of it. Runs in the berth process (host user namespace): host ids. A helper child unshares it and opens
 * its /proc/self into our shared fd table (CLONE_FILES), so this works
 * whatever pid namespace /proc belongs to; we write the maps, then let it go.
 */
static int idmap_userns(const struct berth_id_mapping *uid, size_t n_uid,
			const struct berth_id_mapping *gid, size_t n_gid)
{
	int ready[2], done[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(done, O_CLOEXEC) < 0) {
		int r = -errno;
		close(ready[0]);
		close(ready[1]);
		return r;
	}

	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		int fd = -EBADF;
		if (unshare(CLONE_NEWUSER) < 0)
			fd = -errno;
		else if ((fd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			fd = -errno;
		if (write(ready[1], &fd, sizeof(fd)) != sizeof(fd))
			_exit(1);
		char c;
		/* EOF once the parent closes the write end in our shared table */
		while (read(done[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}

	int r = 0, procfd = -EBADF, userns = -EBADF;
	if (pid < 0) {
		r = -errno;
	} else {
		ssize_t k;
		do
			k = read(ready[0], &procfd, sizeof(procfd));
		while (k < 0 && errno == EINTR);
		if (k != sizeof(procfd))
			r = -EIO;
		else if (procfd < 0)
			r = procfd;
		if (r >= 0)
			r = ns_write_id_map(procfd, "uid_map", uid, n_uid);
		if (r >= 0)
			r = ns_write_id_map(procfd, "gid_map", gid, n_gid);
		if (r >= 0) {
			userns = openat(procfd, "ns/user", O_RDONLY | O_CLOEXEC);
			if (userns < 0)
				r = -errno;
		}
		if (procfd >= 0)
			close(procfd);
	}
	close(done[1]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	close(done[0]);
	close(ready[0]);
	close(ready[1]);
	return r < 0 ? r : userns;
}

/*
 * A detached idmapped clone of m's source (open_tree + mount_setattr). It
 * needs the host's credentials: the helper user namespace maps host ids,
 * which the container's own user namespace could not write, so in a new user
 * namespace the parent's helper makes it (rootfs_open_source()) in the
 * container's mount namespace. Returns the tree fd.
 */
static int idmap_tree(const struct berth_spec *s, const struct berth_mount *m,
		      const struct berth_mount_opts *o, const char *bundle,
		      struct berth_error **err)
{
	const char *src = m->source ?: "none";
	/* without mappings of its own, the container's (runtime-spec config.md) */
	const struct berth_id_mapping *uid = m->uid_mappings, *gid = m->gid_mappings;
	size_t n_uid = m->n_uid_mappings, n_gid = m->n_gid_mappings;
	if (!n_uid && !n_gid) {
		uid = s->linux_.uid_mappings;
		n_uid = s->linux_.n_uid_mappings;
		gid = s->linux_.gid_mappings;
		n_gid = s->linux_.n_gid_mappings;
	}
	if (!n_uid || !n_gid)
		return berth_error_setx(
			err, EINVAL,
			"mount '%s' on '%s': idmap needs uidMappings and gidMappings "
			"(the mount's or the container's user namespace's)",
			src, m->destination);
	if (!m->source)
		return berth_error_setx(err, EINVAL, "mount on '%s': bind mount without a source",
					m->destination);

	_cleanup_close_ int sfd = open_host_source(bundle, m->source);
	if (sfd < 0)
		return berth_error_set(err, sfd, "mount '%s' on '%s': open source", src,
				       m->destination);
	_cleanup_close_ int userns = idmap_userns(uid, n_uid, gid, n_gid);
	if (userns < 0)
		return berth_error_set(err, userns,
				       "mount '%s' on '%s': create the idmap user namespace", src,
				       m->destination);
	int tree = open_tree(sfd, "",
			     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
				     ((o->flags & MS_REC) ? AT_RECURSIVE : 0));
	if (tree < 0)
		return berth_error_set(err, errno, "mount '%s' on '%s': clone source tree", src,
				       m->destination);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
	if (mount_setattr(tree, "", AT_EMPTY_PATH | (o->ridmap ? AT_RECURSIVE : 0), &a, sizeof(a)) <
	    0) {
		int e = errno;
		close(tree);
		return berth_error_set(err, e, "mount '%s' on '%s': idmap", src, m->destination);
	}
	return tree;
}

/* Is m a bind mount, as mount_job_run() decides? */
static bool wants_bind(const struct berth_mount *m, const struct berth_mount_opts *o)
{
	return (o->flags & MS_BIND) || !m->type || streq(m->type, "bind");
}

/* Is m an idmapped bind mount (by its options, or mappings without them)? */
static bool wants_idmap(const struct berth_mount *m, const struct berth_mount_opts *o)
{
	return wants_bind(m, o) && (o->idmap || m->n_uid_mappings || m->n_gid_mappings);
}

bool rootfs_has_source(const struct berth_mount *m)
{
	struct berth_mount_opts o = { 0 };
	struct berth_error *ignored = NULL;
	if (!m->source || mount_opts_parse(m->options, m->n_options, &o, &ignored) < 0) {
		berth_error_free(ignored);
		return false;
	}
	bool r = wants_bind(m, &o) && !(o.flags & MS_REMOUNT);
	mount_opts_done(&o);
	return r;
}

/* Is dest below (not at) dir? Both absolute. */
static bool path_below(const char *dest, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 0 && dir[n - 1] == '/')
		n--;
	return strncmp(dest, dir, n) == 0 && dest[n] == '/' && dest[n + 1] != '\0';
}

int rootfs_make_bind_targets(const struct berth_spec *s, const char *bundle, int root_fd,
			     struct berth_error **err)
{
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct berth_mount *m = &s->mounts[i];
		if (!rootfs_has_source(m) || !m->destination)
			continue;
		bool inside = false;
		for (size_t k = 0; k < s->n_mounts && !inside; k++)
			inside = k != i && s->mounts[k].destination &&
				 !rootfs_has_source(&s->mounts[k]) &&
				 path_below(m->destination, s->mounts[k].destination);
		if (inside)
			continue; /* in a tmpfs, /dev...: CRIU brings its content back */
		_cleanup_close_ int sfd = open_host_source(bundle, m->source);
		struct stat st;
		if (sfd < 0 || fstat(sfd, &st) < 0)
			return berth_error_set(err, sfd < 0 ? -sfd : errno,
					       "mounts: source \"%s\" of \"%s\"", m->source,
					       m->destination);
		bool is_dir = S_ISDIR(st.st_mode);
		_cleanup_close_ int tfd =
			path_ensure_in_root(root_fd, m->destination, is_dir, is_dir ? 0755 : 0644);
		if (tfd < 0)
			return berth_error_set(err, -tfd, "mounts: create the destination \"%s\"",
					       m->destination);
	}
	return 0;
}

int rootfs_open_source(const struct berth_spec *s, size_t i, const char *bundle,
		       struct berth_error **err)
{
	const struct berth_mount *m = &s->mounts[i];
	struct berth_mount_opts o = { 0 };
	int r = mount_opts_parse(m->options, m->n_options, &o, err);
	if (r < 0)
		return r;
	if (wants_idmap(m, &o)) {
		r = idmap_tree(s, m, &o, bundle, err);
	} else {
		r = open_host_source(bundle, m->source);
		if (r < 0)
			berth_error_set(err, r, "mount '%s' on '%s': open source", m->source,
					m->destination);
	}
	mount_opts_done(&o);
	return r;
}

/* Bind host path source (MS_REC if rec) onto dest in the rootfs, creating dest as needed. */
static int job_bind(struct mount_job *j, const char *source, bool rec, struct berth_error **err)
{
	char sbuf[FD_PATH_MAX], tbuf[FD_PATH_MAX];

	if (!source)
		return berth_error_setx(err, EINVAL, "mount on '%s': bind mount without a source",
					j->dest);
	/* opened (or, idmapped, made) by the parent's helper in a new user namespace */
	_cleanup_close_ int sfd = -EBADF;
	if (j->bind_source >= 0) {
		sfd = fcntl(j->bind_source, F_DUPFD_CLOEXEC, 3);
		if (sfd < 0)
			return job_fail(j, err, -errno, "open source");
	} else if (j->o.idmap) {
		sfd = idmap_tree(j->c->spec, j->m, &j->o, j->c->bundle, err);
		if (sfd < 0)
			return sfd;
	} else {
		sfd = open_host_source(j->c->bundle, source);
		if (sfd < 0)
			return job_fail(j, err, sfd, "open source");
	}
	struct stat st;
	if (fstat(sfd, &st) < 0)
		return job_fail(j, err, errno, "stat source");
	bool is_dir = S_ISDIR(st.st_mode);

	_cleanup_close_ int tfd =
		path_ensure_in_root(j->c->root_fd, j->dest, is_dir, is_dir ? 0755 : 0644);
	if (tfd < 0)
		return job_fail(j, err, tfd, "create destination");

	if (j->o.idmap) {
		if (move_mount(sfd, "", tfd, "",
			       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return job_fail(j, err, errno, "attach idmapped mount");
		return 0;
	}
	if (mount(path_fd_path(sfd, sbuf, sizeof(sbuf)), path_fd_path(tfd, tbuf, sizeof(tbuf)),
		  NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
		return job_fail(j, err, errno, NULL);
	return 0;
}

/*
 * Mount a fresh filesystem of type fstype at the directory fd tfd. The
 * superblock of proc, sysfs and cgroup may be the host's: MS_RDONLY there
 * would make the host's read-only too, so callers strip it and remount the
 * new mount read-only with a bind remount afterwards.
 */
static int mount_fresh_at(int tfd, const char *source, const char *fstype, unsigned long flags,
			  const char *data)
{
	char buf[FD_PATH_MAX];
	if (mount(source, path_fd_path(tfd, buf, sizeof(buf)), fstype, flags, data) < 0)
		return -errno;
	return 0;
}

/* Make the mount whose root is name under dirfd read-only (bind remount). */
static int remount_ro_at(int dirfd, const char *name)
{
	char buf[FD_PATH_MAX];
	_cleanup_close_ int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return remount_bind(fd, path_fd_path(fd, buf, sizeof(buf)), MS_RDONLY, 0);
}

static bool fs_has_magic(const char *path, long magic)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}

/* Where the host's cgroup2 hierarchy is mounted: /sys/fs/cgroup or its unified subdir. */
static const char *host_cgroup2_path(void)
{
	if (fs_has_magic("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
		return "/sys/fs/cgroup";
	if (fs_has_magic("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
		return "/sys/fs/cgroup/unified";
	return NULL;
}

/*
 * The container's own cgroup in the host's hierarchy mounted at hierarchy
 * (an O_PATH fd), the directory berth placed the init in; -ENOENT when there
 * is none.
 */
static int own_cgroup_dir(const char *hierarchy, const char *cgroup_rel)
{
	if (!cgroup_rel || !*cgroup_rel)
		return -ENOENT;
	_cleanup_close_ int hfd = open(hierarchy, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (hfd < 0)
		return -errno;
	return path_open_in_root(hfd, cgroup_rel, O_PATH | O_DIRECTORY, 0);
}

/*
 * Show the container's own cgroup of one hierarchy at the directory sub: in
 * a new cgroup namespace a fresh mount (its root is the namespace's, the
 * init's cgroup), otherwise (or where a user namespace refuses the mount) a
 * bind of that cgroup's directory, as runc does. Never the hierarchy's root:
 * a read-write mount must not reach the host's files.
 */
static int mount_own_cgroup(struct mount_job *j, int parent, const char *name, int own,
			    const char *fstype, const char *data, unsigned long flags)
{
	char buf[FD_PATH_MAX], obuf[FD_PATH_MAX];
	int r = mkdir_at(parent, name, 0755);
	if (r < 0)
		return r;
	_cleanup_close_ int sub =
		openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return -errno;
	r = -EPERM;
	if (j->c->new_cgroupns)
		r = mount_fresh_at(sub, fstype, fstype, flags & ~MS_RDONLY, data);
	if (r != -EPERM || (j->c->new_cgroupns && !j->c->new_userns))
		return r;
	if (mount(path_fd_path(own, obuf, sizeof(obuf)), path_fd_path(sub, buf, sizeof(buf)), NULL,
		  MS_BIND, NULL) < 0)
		return -errno;
	/* a bind keeps the source's nosuid, nodev and noexec: add the mount's own */
	_cleanup_close_ int fd =
		openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return remount_bind(fd, path_fd_path(fd, buf, sizeof(buf)),
			    flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC), 0);
}

/*
 * One v1 hierarchy (controllers "cpu,cpuacct" or "name=systemd") at
 * <tmpfs>/<dir>, showing the container's own cgroup (mount_own_cgroup()). A
 * hierarchy berth did not place the container in is left out. Combined
 * controllers also get one symlink per controller, as on the host.
 */
static int mount_cgroup_v1_one(struct mount_job *j, int tmpfs_fd, const char *ctrls,
			       unsigned long flags, bool ro, struct berth_error **err)
{
	const char *dir = ctrls;
	_cleanup_free_ char *data = NULL;

	if (strncmp(ctrls, "name=", 5) == 0) {
		dir = ctrls + 5;
		if (asprintf(&data, "none,%s", ctrls) < 0)
			return berth_error_set(err, ENOMEM, "cgroup");
	} else {
		data = strdup(ctrls);
		if (!data)
			return berth_error_set(err, ENOMEM, "cgroup");
	}
	if (!*dir || strchr(dir, '/') || streq(dir, ".") || streq(dir, ".."))
		return 0;

	_cleanup_free_ char *host = path_join("/sys/fs/cgroup", dir);
	if (!host)
		return berth_error_set(err, ENOMEM, "cgroup");
	_cleanup_close_ int own = own_cgroup_dir(host, j->c->cgroup_rel);
	if (own == -ENOENT)
		return 0;
	if (own < 0)
		return berth_error_set(err, -own,
				       "mount cgroup on '%s/%s': open the container's cgroup",
				       j->dest, dir);
	int r = mount_own_cgroup(j, tmpfs_fd, dir, own, "cgroup", data, flags);
	if (r < 0)
		return berth_error_set(err, r, "mount 'cgroup' on '%s/%s' (cgroup, %s)", j->dest,
				       dir, data);
	if (ro) {
		r = remount_ro_at(tmpfs_fd, dir);
		if (r < 0)
			return berth_error_set(err, r, "mount cgroup on '%s/%s': remount read-only",
					       j->dest, dir);
	}

	/* "cpu,cpuacct": cpu -> cpu,cpuacct and cpuacct -> cpu,cpuacct */
	if (strchr(dir, ',') && dir == ctrls) {
		_cleanup_free_ char *copy = strdup(dir);
		if (!copy)
			return berth_error_set(err, ENOMEM, "cgroup");
		char *save = NULL;
		for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save))
			if (symlinkat(dir, tmpfs_fd, c) < 0 && errno != EEXIST)
				return berth_error_set(err, errno, "cgroup symlink '%s/%s'",
						       j->dest, c);
	}
	return 0;
}

/*
 * A "cgroup2" spec mount (or a "cgroup" one on a pure v2 host) at tfd showing
 * the container's own cgroup: fresh in a new cgroup namespace (the kernel
 * roots it there), otherwise, or where a user namespace refuses it, a bind of
 * that cgroup's directory. A fresh mount without a cgroup namespace would
 * show the host's whole hierarchy, writable with rw.
 */
static int job_cgroup2(struct mount_job *j, int tfd, struct berth_error **err)
{
	unsigned long flags = j->o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
	char buf[FD_PATH_MAX], obuf[FD_PATH_MAX];
	int r = -EPERM;
	/*
	 * cgroup v1 only: the container has no cgroup of its own there, and a
	 * fresh mount would show the host's root cgroup with every process.
	 */
	if (!host_cgroup2_path())
		return berth_error_setx(err, ENOTSUP,
					"mount '%s' on '%s' (cgroup2): this host has no cgroup2 "
					"hierarchy (cgroup v1 only); mount type 'cgroup' instead",
					j->source ?: "none", j->dest);
	if (j->c->new_cgroupns)
		r = mount_fresh_at(tfd, "cgroup2", "cgroup2", flags & ~MS_RDONLY, j->o.data);
	/*
	 * EBUSY: the host's cgroup2 is on dest already (in the /sys bound from
	 * the host with a joined network namespace), and the kernel puts no
	 * second mount of a superblock on the root of a mount of it: the bind
	 * covers the host's hierarchy as well
	 */
	if ((r == -EPERM && (!j->c->new_cgroupns || j->c->new_userns)) || r == -EBUSY) {
		const char *v2 = host_cgroup2_path();
		_cleanup_close_ int own = v2 ? own_cgroup_dir(v2, j->c->cgroup_rel) : -ENOENT;
		if (own < 0)
			return job_fail(j, err, own, "open the container's cgroup2 cgroup");
		r = mount(path_fd_path(own, obuf, sizeof(obuf)),
			  path_fd_path(tfd, buf, sizeof(buf)), NULL, MS_BIND, NULL) < 0
			    ? -errno
			    : 0;
	}
	if (r < 0)
		return job_fail(j, err, r, "mount cgroup2");
	return job_finish(j, flags & PER_MOUNT_FLAGS, j->o.clear, err);
}

/*
 * A "cgroup" (v1) spec mount. On a pure v2 host it becomes cgroup2. On a v1
 * or hybrid host: a tmpfs at dest, the unified hierarchy at dest/unified (if
 * the host has one: not with cgroup v1 only) and one v1 mount per hierarchy
 * this process is in (mount_cgroup_v1_one()).
 */
static int job_cgroup_v1(struct mount_job *j, int tfd, struct berth_error **err)
{
	unsigned long flags = j->o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
	bool ro = flags & MS_RDONLY;
	int r;

	const char *v2 = host_cgroup2_path();
	if (v2 && streq(v2, "/sys/fs/cgroup"))
		return job_cgroup2(j, tfd, err);

	/* nosuid,nodev,noexec for the tmpfs as for the hierarchies; read-only comes last */
	unsigned long tflags = flags & ~MS_RDONLY;
	r = mount_fresh_at(tfd, "tmpfs", "tmpfs", tflags, "mode=755");
	if (r < 0)
		return job_fail(j, err, r, "mount tmpfs");
	_cleanup_close_ int top =
		path_open_in_root(j->c->root_fd, j->dest, O_PATH | O_DIRECTORY, 0);
	if (top < 0)
		return job_fail(j, err, top, "reopen after mount");

	_cleanup_close_ int own = v2 ? own_cgroup_dir(v2, j->c->cgroup_rel) : -ENOENT;
	if (own >= 0) {
		r = mount_own_cgroup(j, top, "unified", own, "cgroup2", NULL, tflags);
		if (r < 0)
			return job_fail(j, err, r, "mount cgroup2 on 'unified'");
		if (ro) {
			r = remount_ro_at(top, "unified");
			if (r < 0)
				return job_fail(j, err, r, "remount 'unified' read-only");
		}
	} else if (own != -ENOENT) {
		return job_fail(j, err, own, "open the container's cgroup2 cgroup");
	}

	_cleanup_free_ char *self = NULL;
	r = read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &self, NULL);
	if (r < 0)
		return job_fail(j, err, r, "read '/proc/self/cgroup'");
	char *save = NULL;
	for (char *line = strtok_r(self, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* "4:cpu,cpuacct:/user.slice"; "0::/..." is cgroup2 */
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || c2 == c1 + 1)
			continue;
		*c2 = 0;
		r = mount_cgroup_v1_one(j, top, c1 + 1, tflags, ro, err);
		if (r < 0)
			return r;
	}
	return job_finish(j, ro ? MS_RDONLY : 0, 0, err);
}

/* Host paths a fresh mount can fall back to in a user namespace (where it is refused). */
static const char *userns_fallback(const char *type)
{
	if (streq(type, "sysfs"))
		return "/sys";
	if (streq(type, "mqueue"))
		return "/dev/mqueue";
	return NULL;
}

static bool is_dev_destination(const char *dest)
{
	_cleanup_free_ char *n = dest ? path_absolute("/", dest) : NULL;
	return n && streq(n, "/dev");
}

/* Does the comma-separated data set key (as "key=...")? */
static bool data_has_key(const char *data, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = data; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == '=')
			return true;
	return false;
}

static int job_fresh(struct mount_job *j, struct berth_error **err)
{
	const char *type = j->m->type;
	unsigned long flags = j->o.flags & ~(MS_BIND | MS_REC);
	bool shared_sb = streq(type, "proc") || streq(type, "sysfs") || streq(type, "cgroup") ||
			 streq(type, "cgroup2");
	bool ro_later = (flags & MS_RDONLY) && (shared_sb || j->o.tmpcopyup);
	int r;

	/* a read-only /dev is filled (devices, pts, shm) first: read-only in finalize (runc) */
	if ((flags & MS_RDONLY) && is_dev_destination(j->dest)) {
		flags &= ~MS_RDONLY;
		ro_later = false;
		j->c->dev_ro_later = true;
	}

	_cleanup_close_ int tfd = path_mkdir_p_in_root(j->c->root_fd, j->dest, 0755);
	if (tfd < 0)
		return job_fail(j, err, tfd, "create destination");

	/* a tmpfs without mode= takes the mode of the directory it covers, made or not (runc) */
	struct stat covered;
	bool take_mode =
		streq(type, "tmpfs") && !j->o.tmpcopyup && !data_has_key(j->o.data, "mode");
	if (take_mode && fstat(tfd, &covered) < 0)
		return job_fail(j, err, -errno, "stat destination");
	ro_later = ro_later || (take_mode && (flags & MS_RDONLY));

	if (streq(type, "cgroup"))
		return job_cgroup_v1(j, tfd, err);
	if (streq(type, "cgroup2"))
		return job_cgroup2(j, tfd, err);

	_cleanup_close_ int old = -EBADF;
	if (j->o.tmpcopyup) {
		/* the directory the new mount is about to hide */
		old = openat(tfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (old < 0)
			return job_fail(j, err, errno, "tmpcopyup: open destination");
	}

	r = mount_fresh_at(tfd, j->source ?: type, type, ro_later ? flags & ~MS_RDONLY : flags,
			   j->o.data);
	if (r == -EPERM && j->c->new_userns && userns_fallback(type)) {
		struct berth_error *ignored = NULL;
		r = job_bind(j, userns_fallback(type), true, &ignored);
		berth_error_free(ignored);
		if (r >= 0)
			return job_finish(j, flags & PER_MOUNT_FLAGS, j->o.clear, err);
		r = -EPERM; /* report the original refusal */
	}
	if (r < 0)
		return job_fail(j, err, r, NULL);

	if (old >= 0) {
		_cleanup_close_ int fd =
			path_open_in_root(j->c->root_fd, j->dest, O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0)
			return job_fail(j, err, fd, "tmpcopyup: open new mount");
		r = tree_copy(old, fd, 0, NULL, 0);
		if (r < 0)
			return job_fail(j, err, r, "tmpcopyup: copy");
		/* the new root takes the old directory's owner, and its mode unless mode= was given */
		struct stat st;
		if (fstat(old, &st) < 0 ||
		    (fchown(fd, st.st_uid, st.st_gid) < 0 && errno != EINVAL) ||
		    (!data_has_key(j->o.data, "mode") && fchmod(fd, st.st_mode & 07777) < 0))
			return job_fail(j, err, errno, "tmpcopyup: copy owner and mode");
	}
	if (take_mode) {
		_cleanup_close_ int fd =
			path_open_in_root(j->c->root_fd, j->dest, O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0)
			return job_fail(j, err, fd, "open new mount");
		if (fchmod(fd, covered.st_mode & 07777) < 0)
			return job_fail(j, err, -errno, "set the mode of the covered directory");
	}
	return job_finish(j, ro_later ? MS_RDONLY : 0, 0, err);
}

/*
 * procfs and sysfs go on a directory of the rootfs, never on a symlink the
 * image put at the destination (runc): the image would choose where they
 * appear. A missing destination is created later.
 */
static int job_check_plain_dir(struct mount_job *j, struct berth_error **err)
{
	_cleanup_close_ int fd = path_open_in_root(j->c->root_fd, j->dest, O_PATH | O_NOFOLLOW, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return job_fail(j, err, fd, "open destination");
	struct stat st;
	if (fstat(fd, &st) < 0)
		return job_fail(j, err, -errno, "stat destination");
	if (S_ISLNK(st.st_mode))
		return job_fail(j, err, -ELOOP, "the destination is a symlink");
	if (!S_ISDIR(st.st_mode))
		return job_fail(j, err, -ENOTDIR, "the destination is not a directory");
	return 0;
}

static int mount_job_run(struct mount_job *jp, struct berth_error **err)
{
	struct mount_job j = *jp;
	struct berth_rootfs_ctx *c = j.c;
	const struct berth_mount *m = j.m;
	int r;

	bool bind = (j.o.flags & MS_BIND) || !m->type || streq(m->type, "bind");
	j.type = bind ? (j.o.flags & MS_REC ? "rbind" : "bind") : m->type;

	/* mappings without the option still ask for an idmapped mount */
	if (m->n_uid_mappings || m->n_gid_mappings)
		j.o.idmap = true;
	if (j.o.idmap && !bind)
		return berth_error_setx(
			err, EOPNOTSUPP,
			"mount '%s' on '%s': idmap is only supported on bind mounts",
			j.source ?: "none", j.dest);

	if (j.o.flags & MS_REMOUNT) {
		/* change an existing mount in place */
		char buf[FD_PATH_MAX];
		_cleanup_close_ int fd = job_reopen(&j);
		if (fd < 0)
			return job_fail(&j, err, fd, "open destination");
		if (bind)
			r = remount_bind(fd, path_fd_path(fd, buf, sizeof(buf)), j.o.flags,
					 j.o.clear);
		else
			r = mount(j.source, path_fd_path(fd, buf, sizeof(buf)), m->type, j.o.flags,
				  j.o.data) < 0
				    ? -errno
				    : 0;
		if (r < 0)
			return job_fail(&j, err, r, "remount");
		return job_finish(&j, 0, 0, err);
	}

	if (bind) {
		r = job_bind(&j, m->source, j.o.flags & MS_REC, err);
		if (r < 0)
			return r;
		return job_finish(&j, j.o.flags & PER_MOUNT_FLAGS, j.o.clear, err);
	}

	if (streq(m->type, "proc") || streq(m->type, "sysfs")) {
		r = job_check_plain_dir(&j, err);
		if (r < 0)
			return r;
	}

	if (streq(m->type, "sysfs") && (!c->new_netns || c->new_userns)) {
		/* a fresh sysfs shows the netns of its mounter: bind the host's instead */
		r = job_bind(&j, "/sys", true, err);
		if (r < 0)
			return r;
		r = job_finish(&j, j.o.flags & PER_MOUNT_FLAGS, j.o.clear, err);
		if (r < 0)
			return r;
		/* the remount only touched the top: make the submounts match */
		uint64_t set = 0;
		if (j.o.flags & MS_RDONLY)
			set |= MOUNT_ATTR_RDONLY;
		if (j.o.flags & MS_NOSUID)
			set |= MOUNT_ATTR_NOSUID;
		if (j.o.flags & MS_NODEV)
			set |= MOUNT_ATTR_NODEV;
		if (j.o.flags & MS_NOEXEC)
			set |= MOUNT_ATTR_NOEXEC;
		if (set) {
			_cleanup_close_ int fd = job_reopen(&j);
			struct mount_attr a = { .attr_set = set };
			if (fd < 0 ||
			    mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
				return job_fail(&j, err, fd < 0 ? fd : -errno,
						"set flags on submounts");
		}
		return 0;
	}

	return job_fresh(&j, err);
}

/* One spec mount, in the rootfs, with everything its options ask for. */
static int mount_one(struct berth_rootfs_ctx *c, size_t i, struct berth_error **err)
{
	const struct berth_mount *m = &c->spec->mounts[i];
	struct mount_job j = {
		.c = c,
		.m = m,
		.bind_source = c->bind_sources ? c->bind_sources[i] : -EBADF,
		.dest = m->destination,
		.source = m->source,
	};

	if (!m->destination)
		return berth_error_setx(err, EINVAL, "mount without a destination");
	int r = mount_opts_parse(m->options, m->n_options, &j.o, err);
	if (r < 0)
		return r;
	r = mount_job_run(&j, err);
	mount_opts_done(&j.o);
	return r;
}

/* ---- /dev --------------------------------------------------------------------------------- */

/* The id of the mount fd is on (statx STATX_MNT_ID), or 0. */
static uint64_t mount_id_of(int fd)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0 ||
	    !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	return sx.stx_mnt_id;
}

/*
 * Make a new entry next to name under dirfd, under a temporary name that is
 * written to tmp (NAME_MAX + 1 bytes): make(dirfd, tmp, data) creates it and
 * fails with -EEXIST when the name is taken (the image may hold any name).
 * Returns 0 or what make() returned.
 */
static int make_temp(int dirfd, const char *name, char *tmp,
		     int (*make)(int dirfd, const char *tmp, void *data), void *data)
{
	for (int tries = 0; tries < 64; tries++) {
		uint32_t rnd = 0;
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			rnd = (uint32_t)getpid() * 2654435761U + (uint32_t)tries;
		snprintf(tmp, NAME_MAX + 1, ".berth-%08x-%.200s", rnd, name);
		int r = make(dirfd, tmp, data);
		if (r != -EEXIST)
			return r;
	}
	return -EEXIST;
}

struct node_spec {
	mode_t mode;
	dev_t dev;
};

static int make_node_at(int dirfd, const char *name, void *data)
{
	const struct node_spec *n = data;
	int r = S_ISFIFO(n->mode) ? mkfifoat(dirfd, name, n->mode & 07777)
				  : mknodat(dirfd, name, n->mode, n->dev);
	return r < 0 ? -errno : 0;
}

static int make_empty_file_at(int dirfd, const char *name, void *data)
{
	mode_t mode = *(const mode_t *)data;
	int fd = openat(dirfd, name,
			O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * Where mknod is refused (user namespace, no CAP_MKNOD): bind the host's node
 * at host_path, which must be the same device, onto name under dirfd. Never
 * destructive: a missing name becomes an empty file; a file or node there is
 * mounted over (it stays, hidden, underneath); a symlink is exchanged with an
 * empty file, and exchanged back if the mount fails. Returns 2.
 */
static int bind_host_node(int dirfd, const char *name, mode_t mode, dev_t dev,
			  const char *host_path, struct berth_error **err)
{
	_cleanup_close_ int hfd = open(host_path, O_PATH | O_CLOEXEC);
	if (hfd < 0)
		return berth_error_set(err, errno,
				       "create device '%s': mknod not permitted, and no host node "
				       "to bind",
				       host_path);
	struct stat st;
	if (fstat(hfd, &st) < 0)
		return berth_error_set(err, errno, "create device '%s': stat host node", host_path);
	if ((st.st_mode & S_IFMT) != (mode & S_IFMT) || st.st_rdev != dev)
		return berth_error_setx(err, ENODEV,
					"create device '%s': mknod not permitted, and the host's "
					"node is a different device",
					host_path);
	_cleanup_close_ int tree =
		open_tree(hfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return berth_error_set(err, errno, "create device '%s': clone host node",
				       host_path);
	/* a device node needs neither: nothing the host's mount allows is carried in */
	struct mount_attr na = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC };
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &na, sizeof(na)) < 0)
		return berth_error_set(err, errno, "create device '%s': set nosuid,noexec",
				       host_path);

	mode_t empty_mode = 0666;
	char tmp[NAME_MAX + 1] = "";
	bool created = false, exchanged = false;
	int r = 0;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return berth_error_set(err, errno, "create device '%s'", host_path);
		r = make_empty_file_at(dirfd, name, &empty_mode);
		created = r >= 0;
	} else if (S_ISDIR(st.st_mode)) {
		return berth_error_setx(err, EISDIR,
					"create device '%s': a directory is in the way", host_path);
	} else if (S_ISLNK(st.st_mode)) {
		r = make_temp(dirfd, name, tmp, make_empty_file_at, &empty_mode);
		if (r >= 0 && renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) < 0) {
			r = -errno;
			(void)unlinkat(dirfd, tmp, 0);
		}
		exchanged = r >= 0;
	}
	if (r < 0)
		return berth_error_set(err, r, "create device '%s': bind target", host_path);

	_cleanup_close_ int t = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (t < 0 || fstat(t, &st) < 0)
		r = -errno;
	else if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
		r = -EEXIST; /* swapped under us */
	else if (move_mount(tree, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		r = -errno;
	if (r < 0) {
		if (created)
			(void)unlinkat(dirfd, name, 0);
		if (exchanged && renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0)
			(void)unlinkat(dirfd, tmp, 0);
		return berth_error_set(err, r, "create device '%s': bind host node", host_path);
	}
	/* what is left under the temporary name is the symlink that was replaced */
	if (exchanged)
		(void)unlinkat(dirfd, tmp, 0);
	return 2;
}

/*
 * Create the node name under dirfd, owned by uid:gid ((uid_t)-1 and
 * (gid_t)-1: as made). Where mknod is refused, bind the host's node at
 * host_path instead (bind_host_node()); host_path also names the node in
 * messages. With replace, whatever is at name is replaced only once the new
 * node exists: it is made, and chowned, under a temporary name, then renamed
 * over the old one; a failure leaves the old one as it was. Returns 1 if a
 * node was created, 2 if it was bound, 0 if it existed and replace is false.
 */
static int make_node(int dirfd, const char *name, mode_t mode, dev_t dev, uid_t uid, gid_t gid,
		     const char *host_path, bool replace, struct berth_error **err)
{
	struct node_spec n = { .mode = mode, .dev = dev };
	char tmp[NAME_MAX + 1];
	const char *made = replace ? tmp : name;

	int r = replace ? make_temp(dirfd, name, tmp, make_node_at, &n)
			: make_node_at(dirfd, name, &n);
	if (r == -EEXIST && !replace)
		return 0;
	if (r == -EPERM && !S_ISFIFO(mode))
		return bind_host_node(dirfd, name, mode, dev, host_path, err);
	if (r < 0)
		return berth_error_set(err, r, "create device '%s'", host_path);

	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchownat(dirfd, made, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		r = berth_error_set(err, errno, "chown device '%s'", host_path);
		(void)unlinkat(dirfd, made, 0);
		return r;
	}
	if (replace && renameat(dirfd, tmp, dirfd, name) < 0) {
		if (errno == EBUSY)
			r = berth_error_setx(err, EBUSY, "replace '%s': a mount is in the way",
					     host_path);
		else
			r = berth_error_set(err, errno, "replace '%s'", host_path);
		(void)unlinkat(dirfd, tmp, 0);
		return r;
	}
	return 1;
}

/* config-linux.md "Default Devices" plus the usual links and mount points, in a fresh /dev. */
static int setup_default_dev(int dev, struct berth_error **err)
{
	static const struct {
		const char *name;
		unsigned int major, minor;
	} devs[] = {
		{ "null", 1, 3 },   { "zero", 1, 5 },	 { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const struct {
		const char *name, *target;
	} links[] = {
		{ "fd", "/proc/self/fd" },	 { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
		{ "ptmx", "pts/ptmx" },		 { "core", "/proc/kcore" },
	};

	for (size_t i = 0; i < ELEMENTSOF(devs); i++) {
		char host[32];
		snprintf(host, sizeof(host), "/dev/%s", devs[i].name);
		int r = make_node(dev, devs[i].name, S_IFCHR | 0666,
				  makedev(devs[i].major, devs[i].minor), (uid_t)-1, (gid_t)-1, host,
				  false, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ELEMENTSOF(links); i++)
		if (symlinkat(links[i].target, dev, links[i].name) < 0 && errno != EEXIST)
			return berth_error_set(err, errno, "create symlink '/dev/%s'",
					       links[i].name);
	int r = mkdir_at(dev, "pts", 0755);
	if (r >= 0)
		r = mkdir_at(dev, "shm", 01777);
	if (r < 0)
		return berth_error_set(err, r, "create '/dev/pts' or '/dev/shm'");
	return 0;
}

/* linux.devices: each node created (or replaced) at its path inside the rootfs. */
static int create_device(struct berth_rootfs_ctx *c, const struct berth_device *d,
			 struct berth_error **err)
{
	mode_t type;
	switch (d->type) {
	case 'c':
	case 'u':
		type = S_IFCHR;
		break;
	case 'b':
		type = S_IFBLK;
		break;
	case 'p':
		type = S_IFIFO;
		break;
	default:
		return berth_error_setx(err, EINVAL, "device '%s': unknown type '%c'", d->path,
					d->type);
	}
	if (!d->path)
		return berth_error_setx(err, EINVAL, "device without a path");

	_cleanup_free_ char *norm = path_absolute("/", d->path);
	if (!norm)
		return berth_error_set(err, ENOMEM, "device '%s'", d->path);
	char *slash = strrchr(norm, '/');
	if (!slash[1])
		return berth_error_setx(err, EINVAL, "device '%s': not a file path", d->path);
	*slash = 0;
	const char *name = slash + 1;

	_cleanup_close_ int dir = path_mkdir_p_in_root(c->root_fd, *norm ? norm : "/", 0755);
	if (dir < 0)
		return berth_error_set(err, dir, "device '%s': create parent directory", d->path);

	mode_t perm = d->has_file_mode ? (d->file_mode & 07777) : 0666;
	dev_t dv = type == S_IFIFO ? 0 : makedev((unsigned int)d->major, (unsigned int)d->minor);
	/* a bound host node keeps its owner: make_node() never chowns the host's */
	int r = make_node(dir, name, type | perm, dv, d->has_uid ? d->uid : (uid_t)-1,
			  d->has_gid ? d->gid : (gid_t)-1, d->path, true, err);
	return r < 0 ? r : 0;
}

/*
 * The mount target of the pty (process.terminal) at console under dev: a
 * regular file or a character device, which terminal_attach() mounts
 * on after pivot_root. In a /dev of berth's (own), anything else there (a
 * symlink of the image) is replaced by an empty file, only once that exists.
 * In a /dev that is not berth's, nothing is created or replaced: anything
 * but a file or a device there is refused.
 */
static int console_target(int dev, bool own, struct berth_error **err)
{
	mode_t mode = 0600;
	struct stat st;
	int r;

	bool missing = false;
	if (fstatat(dev, "console", &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return berth_error_set(err, errno, "stat '/dev/console'");
		missing = true;
	} else if (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)) {
		return 0;
	}
	if (!own)
		return berth_error_setx(err, EPERM,
					"terminal: '/dev/console' is %s, on a '/dev' that is not "
					"berth's (a bind mount), where berth creates nothing",
					missing		      ? "missing"
					: S_ISLNK(st.st_mode) ? "a symlink"
							      : "not a file or a device");
	if (missing) {
		r = make_empty_file_at(dev, "console", &mode);
		if (r < 0)
			return berth_error_set(err, r, "create '/dev/console'");
		return 0;
	}

	char tmp[NAME_MAX + 1];
	r = make_temp(dev, "console", tmp, make_empty_file_at, &mode);
	if (r < 0)
		return berth_error_set(err, r, "create '/dev/console'");
	if (renameat(dev, tmp, dev, "console") < 0) {
		r = berth_error_set(err, errno, "replace '/dev/console'");
		(void)unlinkat(dev, tmp, 0);
		return r;
	}
	return 0;
}

static int setup_dev(struct berth_rootfs_ctx *c, uint64_t own_mnt, struct berth_error **err)
{
	const struct berth_spec *s = c->spec;
	int r = 0;

	_cleanup_close_ int dev = path_mkdir_p_in_root(c->root_fd, "/dev", 0755);
	if (dev < 0)
		return berth_error_set(err, dev, "open '/dev' in the rootfs");
	/*
	 * berth fills the tmpfs a spec mount made at /dev (own_mnt) or a plain
	 * directory of the root filesystem. Any other mount there (a bind of the
	 * host's /dev or of anything else, even one that reached /dev through a
	 * symlink of the image; a devtmpfs, which is the host's) is left as it
	 * is, devices and all, as runc does.
	 */
	uint64_t id = mount_id_of(dev);
	bool fresh = id != 0 && id == own_mnt;
	bool own = fresh || (id != 0 && id == mount_id_of(c->root_fd));

	/* modes in the spec are exact: no umask */
	mode_t old_umask = umask(0);

	if (fresh)
		r = setup_default_dev(dev, err);

	if (r >= 0 && s->has_process && s->process.terminal)
		r = console_target(dev, own, err);

	for (size_t i = 0; own && r >= 0 && i < s->linux_.n_devices; i++)
		r = create_device(c, &s->linux_.devices[i], err);

	umask(old_umask);
	return r;
}

/* ---- phases ------------------------------------------------------------------------------- */

static bool has_option(const struct berth_mount *m, const char *name)
{
	for (size_t i = 0; i < m->n_options; i++)
		if (m->options[i] && streq(m->options[i], name))
			return true;
	return false;
}

/* A bind mount by its type or options ("bind", "rbind"), as mount_job_run() decides. */
static bool is_bind(const struct berth_mount *m)
{
	return !m->type || streq(m->type, "bind") || has_option(m, "bind") ||
	       has_option(m, "rbind");
}

/* A new tmpfs (or ramfs) that belongs to this container alone: one berth may fill. */
static bool is_fresh_tmpfs(const struct berth_mount *m)
{
	return !is_bind(m) && (streq(m->type, "tmpfs") || streq(m->type, "ramfs"));
}

bool rootfs_dev_is_bind(const struct berth_spec *s)
{
	bool bind = false;
	for (size_t i = 0; i < s->n_mounts; i++) {
		_cleanup_free_ char *n = s->mounts[i].destination
						 ? path_absolute("/", s->mounts[i].destination)
						 : NULL;
		/* the last mount at /dev or over the whole root decides */
		if (n && (streq(n, "/dev") || streq(n, "/")))
			bind = is_bind(&s->mounts[i]);
	}
	return bind;
}

int rootfs_setup(struct berth_rootfs_ctx *c, struct berth_error **err)
{
	const struct berth_spec *s = c->spec;
	unsigned long prop = 0;

	c->root_fd = -EBADF;
	if (s->linux_.rootfs_propagation && *s->linux_.rootfs_propagation &&
	    propagation_from_name(s->linux_.rootfs_propagation, &prop) < 0)
		return berth_error_setx(err, EINVAL, "unknown rootfs propagation '%s'",
					s->linux_.rootfs_propagation);

	/*
	 * Always rslave first: copies of the host's shared mounts are still in
	 * the host's peer groups, and nothing mounted here may propagate back.
	 * Shared and unbindable are applied after pivot_root: pivot_root
	 * refuses a shared parent mount, and an unbindable / cannot be bound.
	 */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return berth_error_set(err, errno, "make '/' a recursive slave");
	if ((prop & MS_PRIVATE) && mount(NULL, "/", NULL, prop, NULL) < 0)
		return berth_error_set(err, errno, "set propagation '%s' on '/'",
				       s->linux_.rootfs_propagation);

	if (!c->rootfs || c->rootfs[0] != '/')
		return berth_error_setx(err, EINVAL, "rootfs '%s' is not an absolute path",
					c->rootfs ?: "");
	if (c->mount_root) {
		int r = c->mount_root(c->mount_root_data, c->rootfs, err);
		if (r < 0)
			return r;
	}
	if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return berth_error_set(err, errno, "bind rootfs '%s' onto itself", c->rootfs);
	c->root_fd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->root_fd < 0)
		return berth_error_set(err, errno, "open rootfs '%s'", c->rootfs);

	uint64_t own_dev_mnt = 0;
	c->dev_ro_later = false;
	for (size_t i = 0; i < s->n_mounts; i++) {
		/* a new mount at /dev decides again whether /dev is made read-only at the end */
		if (is_dev_destination(s->mounts[i].destination) &&
		    !has_option(&s->mounts[i], "remount"))
			c->dev_ro_later = false;
		int r = mount_one(c, i, err);
		if (r < 0)
			return r;
		/* a remount changes the mount there, it makes none */
		if (!is_dev_destination(s->mounts[i].destination) ||
		    has_option(&s->mounts[i], "remount"))
			continue;
		/* the /dev that berth fills: a tmpfs of its own, not a bind */
		own_dev_mnt = 0;
		if (is_fresh_tmpfs(&s->mounts[i])) {
			_cleanup_close_ int fd =
				path_open_in_root(c->root_fd, "/dev", O_PATH | O_DIRECTORY, 0);
			if (fd < 0)
				return berth_error_set(err, fd, "open '/dev' in the rootfs");
			own_dev_mnt = mount_id_of(fd);
		}
	}

	return setup_dev(c, own_dev_mnt, err);
}

/* Decode mountinfo's octal escapes ("\\040" for a space) in place. */
static void mountinfo_unescape(char *s)
{
	char *w = s;
	for (const char *r = s; *r; w++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
			r += 4;
		} else {
			*w = *r++;
		}
	}
	*w = 0;
}

/* Is p dir or below it (both absolute and canonical)? */
static bool path_is_below(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 0 && dir[n - 1] == '/')
		n--;
	return strncmp(p, dir, n) == 0 && (p[n] == 0 || p[n] == '/');
}

/*
 * --no-pivot, before the move: the host's mounts stay in this mount namespace
 * (out of the chroot's reach, not out of the kernel's sight). A whole procfs
 * or sysfs among them would let a nested user namespace mount a fresh,
 * unmasked one: the kernel allows it when an instance is fully visible
 * anywhere in the namespace. Each one outside the rootfs is detached or,
 * where it cannot be (locked in a user namespace), covered by an empty
 * tmpfs. Runs in the container init, in its mount namespace (a recursive
 * slave: nothing reaches the host).
 */
static int hide_host_proc_sys(int root_fd, struct berth_error **err)
{
	char buf[FD_PATH_MAX], root[PATH_MAX];
	ssize_t n = readlink(path_fd_path(root_fd, buf, sizeof(buf)), root, sizeof(root) - 1);
	if (n < 0)
		return berth_error_set(err, errno, "no-pivot: find the rootfs path");
	root[n] = 0;

	/* all of it first: detaching the host's /proc ends the reading */
	_cleanup_free_ char *mi = NULL;
	int r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", 64u << 20, &mi, NULL);
	if (r < 0)
		return berth_error_set(err, r, "no-pivot: read '/proc/self/mountinfo'");

	size_t n_hide = 0, cap = 0;
	_cleanup_free_ char **hide = NULL;
	char *save = NULL;
	for (char *line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* id parent dev root mountpoint options [optional...] - fstype source super */
		char *f[5], *fsave = NULL, *tok = strtok_r(line, " ", &fsave);
		size_t k = 0;
		for (; tok && k < ELEMENTSOF(f); tok = strtok_r(NULL, " ", &fsave))
			f[k++] = tok;
		while (tok && !streq(tok, "-"))
			tok = strtok_r(NULL, " ", &fsave);
		const char *fstype = tok ? strtok_r(NULL, " ", &fsave) : NULL;
		if (k < ELEMENTSOF(f) || !fstype ||
		    (!streq(fstype, "proc") && !streq(fstype, "sysfs")))
			continue;
		mountinfo_unescape(f[3]);
		mountinfo_unescape(f[4]);
		/* a bind of a part hides the rest: only whole instances count */
		if (!streq(f[3], "/") || path_is_below(f[4], root))
			continue;
		if (n_hide == cap) {
			cap = cap ? cap * 2 : 8;
			char **v = realloc(hide, cap * sizeof(*v));
			if (!v)
				return berth_error_set(err, ENOMEM, "no-pivot");
			hide = v;
		}
		hide[n_hide++] = f[4];
	}

	/* the last mounted first: submounts before what they sit on */
	for (size_t i = n_hide; i-- > 0;) {
		if (umount2(hide[i], MNT_DETACH | UMOUNT_NOFOLLOW) == 0 || errno == ENOENT)
			continue;
		if (errno != EINVAL && errno != EPERM)
			return berth_error_set(err, errno, "no-pivot: detach host mount '%s'",
					       hide[i]);
		if (mount("tmpfs", hide[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=4k") < 0 &&
		    errno != ENOENT)
			return berth_error_set(err, errno, "no-pivot: cover host mount '%s'",
					       hide[i]);
	}
	return 0;
}

int rootfs_pivot(struct berth_rootfs_ctx *c, struct berth_error **err)
{
	if (fchdir(c->root_fd) < 0 && chdir(c->rootfs) < 0)
		return berth_error_set(err, errno, "chdir to rootfs '%s'", c->rootfs);

	if (c->no_pivot) {
		int r = hide_host_proc_sys(c->root_fd, err);
		if (r < 0)
			return r;
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			return berth_error_set(err, errno, "move rootfs '%s' to '/'", c->rootfs);
		if (chroot(".") < 0)
			return berth_error_set(err, errno, "chroot to rootfs '%s'", c->rootfs);
	} else {
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			return berth_error_set(err, errno, "pivot_root to '%s'", c->rootfs);
		/* the old root now sits on top of "."; detach it without telling the host */
		if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			return berth_error_set(err, errno, "make the old root a recursive slave");
		if (umount2(".", MNT_DETACH) < 0)
			return berth_error_set(err, errno, "detach the old root");
	}
	if (chdir("/") < 0)
		return berth_error_set(err, errno, "chdir to '/'");
	return 0;
}

/* After pivot: an fd as a mount path through /proc/self/fd when proc is there, else the path. */
struct fin {
	int root;
	bool proc_ok;
};

static const char *fin_target(const struct fin *f, int fd, const char *path, char *buf, size_t n)
{
	return f->proc_ok ? path_fd_path(fd, buf, n) : path;
}

/* Is /proc/self/fd usable as a way to name fds (a procfs that shows this process)? */
static bool proc_fd_usable(int root_fd)
{
	char buf[FD_PATH_MAX], link[8];
	ssize_t n = readlink(path_fd_path(root_fd, buf, sizeof(buf)), link, sizeof(link));
	return n == 1 && link[0] == '/';
}

static int readonly_path(const struct fin *f, const char *path, struct berth_error **err)
{
	char buf[FD_PATH_MAX];
	_cleanup_close_ int fd = path_open_in_root(f->root, path, O_PATH, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return berth_error_set(err, fd, "readonly path '%s'", path);
	const char *t = fin_target(f, fd, path, buf, sizeof(buf));
	if (mount(t, t, NULL, MS_BIND | MS_REC, NULL) < 0)
		return berth_error_set(err, errno, "readonly path '%s': bind", path);

	_cleanup_close_ int nfd = path_open_in_root(f->root, path, O_PATH, 0);
	if (nfd < 0)
		return berth_error_set(err, nfd, "readonly path '%s': reopen", path);
	int r = remount_bind(nfd, fin_target(f, nfd, path, buf, sizeof(buf)), MS_RDONLY, 0);
	if (r < 0)
		return berth_error_set(err, r, "readonly path '%s': remount read-only", path);
	return 0;
}

static int masked_path(const struct fin *f, const char *path, struct berth_error **err)
{
	char buf[FD_PATH_MAX], sbuf[FD_PATH_MAX];
	_cleanup_close_ int fd = path_open_in_root(f->root, path, O_PATH, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return berth_error_set(err, fd, "masked path '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berth_error_set(err, errno, "masked path '%s'", path);
	const char *t = fin_target(f, fd, path, buf, sizeof(buf));

	/* a directory: an empty read-only tmpfs (runc), listable by anyone */
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", t, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) <
		    0)
			return berth_error_set(err, errno, "masked path '%s': mount empty tmpfs",
					       path);
		return 0;
	}

	_cleanup_close_ int null = path_open_in_root(f->root, "/dev/null", O_PATH, 0);
	if (null < 0)
		return berth_error_set(err, null, "masked path '%s': open '/dev/null'", path);
	struct stat ns;
	if (fstat(null, &ns) < 0 || !S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
		return berth_error_setx(
			err, ENODEV, "masked path '%s': '/dev/null' is not the null device", path);
	if (mount(fin_target(f, null, "/dev/null", sbuf, sizeof(sbuf)), t, NULL, MS_BIND, NULL) < 0)
		return berth_error_set(err, errno, "masked path '%s': bind '/dev/null'", path);
	return 0;
}

int rootfs_finalize(struct berth_rootfs_ctx *c, struct berth_error **err)
{
	const struct berth_linux *l = &c->spec->linux_;
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return berth_error_set(err, errno, "open '/'");
	struct fin f = { .root = root, .proc_ok = proc_fd_usable(root) };
	int r;

	for (size_t i = 0; i < l->n_readonly_paths; i++) {
		r = readonly_path(&f, l->readonly_paths[i], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < l->n_masked_paths; i++) {
		r = masked_path(&f, l->masked_paths[i], err);
		if (r < 0)
			return r;
	}

	if (c->dev_ro_later) {
		char buf[FD_PATH_MAX];
		_cleanup_close_ int dev = path_open_in_root(root, "/dev", O_PATH | O_DIRECTORY, 0);
		if (dev < 0)
			return berth_error_set(err, dev, "open '/dev'");
		r = remount_bind(dev, fin_target(&f, dev, "/dev", buf, sizeof(buf)), MS_RDONLY, 0);
		if (r < 0)
			return berth_error_set(err, r, "remount '/dev' read-only");
	}

	if (c->spec->root_readonly) {
		r = remount_bind(root, "/", MS_RDONLY, 0);
		if (r < 0)
			return berth_error_set(err, r, "remount '/' read-only");
	}

	/* last: the binds above are refused inside an unbindable tree */
	if (l->rootfs_propagation && *l->rootfs_propagation) {
		unsigned long prop = 0;
		if (propagation_from_name(l->rootfs_propagation, &prop) < 0)
			return berth_error_setx(err, EINVAL, "unknown rootfs propagation '%s'",
						l->rootfs_propagation);
		if (mount(NULL, "/", NULL, prop, NULL) < 0)
			return berth_error_set(err, errno, "set propagation '%s' on '/'",
					       l->rootfs_propagation);
	}
	return 0;
}
