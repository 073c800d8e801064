/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Overlay root filesystems from the berth.rootfs.* annotations: checked and
 * resolved in the parent (create), mounted on root.path by the container init
 * inside its own mount namespace, the ephemeral upper layer removed on delete.
 */
#pragma once

#include <stdbool.h>

#include "spec.h"

#define BERTH_ANN_ROOTFS_LOWER "berth.rootfs.lower"
#define BERTH_ANN_ROOTFS_UPPER "berth.rootfs.upper"
#define BERTH_ANN_ROOTFS_WORK  "berth.rootfs.work"
/* The ephemeral writable layer: <state dir>/overlay/{upper,work}. */
#define BERTH_OVERLAY_DIR "overlay"
/* In a checkpoint's image dir: a copy of the ephemeral writable layer. */
#define BERTH_OVERLAY_SAVED "berth-rootfs-upper"

struct berth_overlay {
	char *lowerdir; /* absolute layer paths, top first, ':'-joined with ':' and '\' escaped */
	char *upperdir, *workdir; /* both NULL: a read-only overlay of the lower layers */
	bool ephemeral;		  /* upper and work go in the state dir (made by make_dirs) */
	char *bind_source; /* read-only root of a single layer: a bind mount (overlayfs wants 2) */
};

/*
 * Parent, before anything is made: read berth.rootfs.lower/upper/work,
 * resolve relative paths against the bundle and check that every layer is a
 * directory. *ret is NULL when the spec asks for no overlay. Errors name the
 * annotation: config.json: annotations["berth.rootfs.lower"]: layer "/x": ...
 */
int overlay_prepare(const struct berth_spec *s, const char *bundle, struct berth_overlay **ret,
		    struct berth_error **err);

/* Parent, once the state dir exists: make its overlay/{upper,work} for an ephemeral upper. */
int overlay_make_dirs(struct berth_overlay *o, int state_fd, struct berth_error **err);

/* Container init, in its mount namespace (after "/" became a slave): mount on target. */
int overlay_mount(const struct berth_overlay *o, const char *target, struct berth_error **err);

/* Remove <state dir>/overlay and everything in it (never crossing a mount); 0 if absent. */
int overlay_remove(int state_fd);

/*
 * Parent, in checkpoint while CRIU holds the container frozen (its
 * post-dump): copy <state dir>/overlay/upper (the ephemeral writable layer)
 * into <images>/berth-rootfs-upper with owners, modes, times, extended
 * attributes (trusted.overlay.*), whiteouts and hard links; an older copy
 * there is replaced. 0 without an ephemeral layer.
 */
int overlay_save_upper(int state_fd, int images_fd, struct berth_error **err);

/*
 * Parent, in restore once make_dirs made the new writable layer: fill it from
 * <images>/berth-rootfs-upper, if the checkpoint has one. The image dir is
 * not trusted: a symlink in place of the copy is refused, and nothing in it
 * is followed. 0 when o has no ephemeral layer.
 */
int overlay_load_upper(const struct berth_overlay *o, int state_fd, int images_fd,
		       struct berth_error **err);

void overlay_free(struct berth_overlay *o);
