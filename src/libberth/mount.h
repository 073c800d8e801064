/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The container's root filesystem: root bind, spec mounts, /dev, devices,
 * pivot_root, masked and read-only paths. All of it runs in the container
 * init, inside its new mount namespace; every path inside the rootfs is
 * resolved from a directory fd with RESOLVE_IN_ROOT.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "spec.h"

/* mount(8) options of one spec mount, sorted into what mount(2) and mount_setattr(2) take. */
struct berth_mount_opts {
	unsigned long flags;	   /* MS_* to set (MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC, ...) */
	unsigned long clear;	   /* MS_* explicitly cleared ("rw", "suid", "dev", "exec", ...) */
	unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC) or 0 */
	uint64_t attr_set,
		attr_clr; /* MOUNT_ATTR_* for the recursive r* options (rro, rnosuid, ...) */
	bool tmpcopyup;
	bool idmap, ridmap;
	char *data; /* the rest, comma-joined, passed to the filesystem; malloc'd or NULL */
};

/*
 * Sort options[] (n entries) into *ret. Never fails on an option it does not
 * know (that goes to data); fails only on allocation. Free with
 * mount_opts_done().
 */
int mount_opts_parse(char *const *options, size_t n, struct berth_mount_opts *ret,
		     struct berth_error **err);
void mount_opts_done(struct berth_mount_opts *o);

/*
 * Every option name mount_opts_parse() recognises (the rest go to the
 * filesystem as data), for the features document. Fills up to max entries of
 * ret with static strings and returns how many there are in all.
 */
size_t mount_option_names(const char **ret, size_t max);

struct berth_rootfs_ctx {
	const struct berth_spec *spec;
	const char *rootfs; /* absolute host path of the root filesystem */
	const char *bundle; /* relative bind-mount sources resolve here; NULL: the cwd */
	bool no_pivot;
	bool new_netns;	 /* sysfs may be mounted fresh only with a new netns */
	bool new_userns; /* some mounts (sysfs, devices) are restricted in a user ns */
	bool new_cgroupns;
	/* The container's cgroup under each hierarchy's root ("berth/<id>"), as placed by berth. */
	const char *cgroup_rel;
	/* Optional: mounts a filesystem (e.g. an overlay) on rootfs before its self bind. */
	int (*mount_root)(void *data, const char *rootfs, struct berth_error **err);
	void *mount_root_data;
	/* Filled by rootfs_setup(): an O_PATH fd of the rootfs (after the self bind). */
	int root_fd;
	/* From rootfs_open_source() in the parent's helper: one per spec mount, -EBADF
	 * where none, or NULL (the init opens them itself). */
	const int *bind_sources;
	/* Set by rootfs_setup(): /dev is a read-only mount kept writable until finalize. */
	bool dev_ro_later;
};

/*
 * Does the config bind-mount /dev (a bind at /dev, or over the whole root,
 * decided by the last such mount)? Then berth creates no device node, no
 * default device and no link in it (nor anywhere: linux.devices is skipped,
 * as runc does). The container init also finds out at run time when /dev is
 * not the tmpfs it made (a bind that reached /dev through a symlink). For the
 * log of the parent, before the init is cloned.
 */
bool rootfs_dev_is_bind(const struct berth_spec *s);

/*
 * Is m a bind mount (not a remount) with a source? In a new user namespace
 * the parent's helper opens those sources with the host's credentials in the
 * container's mount namespace and hands them to the init (bind_sources): the
 * container's mapped root may not be allowed to reach them, nor to write the
 * maps of an idmap helper user namespace.
 */
bool rootfs_has_source(const struct berth_mount *m);
/*
 * For a restore, whose root may be a fresh copy of the image (podman's restore
 * --import): the targets of the spec's bind mounts, made inside root_fd as
 * rootfs_setup() makes them (a directory or an empty file, after the source),
 * except below another of the spec's mounts (a tmpfs, /dev...), whose content
 * CRIU brings back itself. Runs in berth's own process. Returns 0 or -errno.
 */
int rootfs_make_bind_targets(const struct berth_spec *s, const char *bundle, int root_fd,
			     struct berth_error **err);
/*
 * The source of spec mount i (a bind mount with a source): an O_PATH fd of it
 * (relative: to bundle) or, for idmap/ridmap, a detached idmapped clone of
 * it, mapped by the mount's uidMappings/gidMappings or, without them, the
 * container's (runtime-spec config.md). Returns the fd or -errno.
 */
int rootfs_open_source(const struct berth_spec *s, size_t i, const char *bundle,
		       struct berth_error **err);

/*
 * Phase 1, before the createContainer hooks: set / propagation (rslave, or
 * linux.rootfsPropagation), bind the rootfs onto itself, mount every spec
 * mount in order, build /dev (standard devices, pts, shm, fd links, console
 * target when process.terminal) and linux.devices, in a /dev that is berth's
 * (a tmpfs of a spec mount, or a directory of the rootfs): never in a bind.
 */
int rootfs_setup(struct berth_rootfs_ctx *c, struct berth_error **err);

/* Phase 2: pivot_root into the rootfs (or MS_MOVE + chroot with no_pivot), chdir("/"). */
int rootfs_pivot(struct berth_rootfs_ctx *c, struct berth_error **err);

/*
 * Phase 3, after pivot (paths now relative to the new /): maskedPaths,
 * readonlyPaths, root.readonly, final rootfsPropagation.
 */
int rootfs_finalize(struct berth_rootfs_ctx *c, struct berth_error **err);
