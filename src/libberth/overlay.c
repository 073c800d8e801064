/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Overlay root filesystems (berth.rootfs.* annotations). prepare and
 * make_dirs run in the parent during create, mount in the container init
 * (new mount namespace, "/" already a slave), remove in delete; save_upper
 * and load_upper in the parent during checkpoint and restore (mount also in
 * the criu swrk child, on the root CRIU restores onto).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "overlay.h"
#include "util/macro.h"
#include "util/path.h"
#include "util/tree.h"

#ifndef FSCONFIG_SET_STRING
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

void overlay_free(struct berth_overlay *o)
{
	if (!o)
		return;
	free(o->lowerdir);
	free(o->upperdir);
	free(o->workdir);
	free(o->bind_source);
	free(o);
}

static void overlay_freep(struct berth_overlay **o)
{
	overlay_free(*o);
}

/* An absolute, existing directory for one layer; relative paths are under the bundle. */
static int layer_path(const char *ann, const char *what, const char *bundle, const char *p,
		      char **ret, struct berth_error **err)
{
	if (!*p)
		return berth_error_setx(
			err, EINVAL, "config.json: annotations[\"%s\"]: empty %s path", ann, what);
	_cleanup_free_ char *abs = p[0] == '/' ? strdup(p) : path_join(bundle, p);
	if (!abs)
		return berth_error_set(err, ENOMEM, "overlay");
	struct stat st;
	if (stat(abs, &st) < 0)
		return berth_error_set(err, errno, "config.json: annotations[\"%s\"]: %s \"%s\"",
				       ann, what, p);
	if (!S_ISDIR(st.st_mode))
		return berth_error_setx(
			err, ENOTDIR,
			"config.json: annotations[\"%s\"]: %s \"%s\" is not a directory", ann, what,
			p);
	char *real = realpath(abs, NULL);
	if (!real)
		return berth_error_set(err, errno, "config.json: annotations[\"%s\"]: %s \"%s\"",
				       ann, what, p);
	*ret = real;
	return 0;
}

/* Append s to the lowerdir list, escaping the separators overlayfs splits on. */
static int append_escaped(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *nb = realloc(*buf, *len + 2 * n + 2);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	if (*len)
		nb[(*len)++] = ':';
	for (const char *p = s; *p; p++) {
		if (*p == ':' || *p == '\\')
			nb[(*len)++] = '\\';
		nb[(*len)++] = *p;
	}
	nb[*len] = 0;
	return 0;
}

int overlay_prepare(const struct berth_spec *s, const char *bundle, struct berth_overlay **ret,
		    struct berth_error **err)
{
	const char *lower = spec_annotation(s, BERTH_ANN_ROOTFS_LOWER);
	const char *upper = spec_annotation(s, BERTH_ANN_ROOTFS_UPPER);
	const char *work = spec_annotation(s, BERTH_ANN_ROOTFS_WORK);
	int r;

	*ret = NULL;
	if (!lower) {
		if (upper || work)
			return berth_error_setx(
				err, EINVAL, "config.json: annotations[\"%s\"]: needs \"%s\"",
				upper ? BERTH_ANN_ROOTFS_UPPER : BERTH_ANN_ROOTFS_WORK,
				BERTH_ANN_ROOTFS_LOWER);
		return 0;
	}
	if (work && !upper)
		return berth_error_setx(err, EINVAL,
					"config.json: annotations[\"%s\"]: needs \"%s\"",
					BERTH_ANN_ROOTFS_WORK, BERTH_ANN_ROOTFS_UPPER);

	_cleanup_(overlay_freep) struct berth_overlay *o = calloc(1, sizeof(*o));
	_cleanup_free_ char *list = strdup(lower);
	if (!o || !list)
		return berth_error_set(err, ENOMEM, "overlay");
	size_t len = 0, n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(list, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *abs = NULL;
		r = layer_path(BERTH_ANN_ROOTFS_LOWER, "layer", bundle, tok, &abs, err);
		if (r < 0 || !abs)
			return r < 0 ? r : -EINVAL;
		if (append_escaped(&o->lowerdir, &len, abs) < 0)
			return berth_error_set(err, ENOMEM, "overlay");
		if (n++ == 0)
			o->bind_source = TAKE_PTR(abs);
	}
	if (n == 0)
		return berth_error_setx(err, EINVAL,
					"config.json: annotations[\"%s\"]: no layer directory",
					BERTH_ANN_ROOTFS_LOWER);

	if (upper) {
		r = layer_path(BERTH_ANN_ROOTFS_UPPER, "upper layer", bundle, upper, &o->upperdir,
			       err);
		if (r < 0)
			return r;
		if (work) {
			r = layer_path(BERTH_ANN_ROOTFS_WORK, "work dir", bundle, work, &o->workdir,
				       err);
			if (r < 0)
				return r;
		} else {
			/* overlayfs wants the work dir on the upper layer's filesystem: a sibling */
			if (asprintf(&o->workdir, "%s.work", o->upperdir) < 0) {
				o->workdir = NULL;
				return berth_error_set(err, ENOMEM, "overlay");
			}
			if (mkdir(o->workdir, 0700) < 0 && errno != EEXIST)
				return berth_error_set(
					err, errno,
					"config.json: annotations[\"%s\"]: work dir \"%s\"",
					BERTH_ANN_ROOTFS_UPPER, o->workdir);
		}
	} else if (!s->root_readonly) {
		/* the state dir (0700, host root) is out of reach of a user namespace's root */
		if (spec_find_ns(s, BERTH_NS_USER))
			return berth_error_setx(err, ENOTSUP,
						"config.json: annotations[\"%s\"]: with a user "
						"namespace, give a writable layer in \"%s\" (or "
						"root.readonly)",
						BERTH_ANN_ROOTFS_LOWER, BERTH_ANN_ROOTFS_UPPER);
		o->ephemeral = true;
	}
	if (n > 1 || o->ephemeral || o->upperdir)
		free(TAKE_PTR(o->bind_source));
	*ret = TAKE_PTR(o);
	return 0;
}

int overlay_make_dirs(struct berth_overlay *o, int state_fd, struct berth_error **err)
{
	if (!o || !o->ephemeral)
		return 0;
	char buf[64], dir[PATH_MAX];
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", state_fd);
	ssize_t n = readlink(buf, dir, sizeof(dir) - 1);
	if (n < 0)
		return berth_error_set(err, errno, "overlay: state dir");
	dir[n] = 0;
	if (mkdirat(state_fd, BERTH_OVERLAY_DIR, 0700) < 0)
		return berth_error_set(err, errno, "overlay: make \"%s/%s\"", dir,
				       BERTH_OVERLAY_DIR);
	if (mkdirat(state_fd, BERTH_OVERLAY_DIR "/upper", 0755) < 0 ||
	    mkdirat(state_fd, BERTH_OVERLAY_DIR "/work", 0700) < 0)
		return berth_error_set(err, errno, "overlay: make the writable layer in \"%s\"",
				       dir);
	if (asprintf(&o->upperdir, "%s/" BERTH_OVERLAY_DIR "/upper", dir) < 0 ||
	    asprintf(&o->workdir, "%s/" BERTH_OVERLAY_DIR "/work", dir) < 0)
		return berth_error_set(err, ENOMEM, "overlay");
	return 0;
}

int overlay_mount(const struct berth_overlay *o, const char *target, struct berth_error **err)
{
	if (o->bind_source) {
		/* root.readonly makes it read-only with the rest of the rootfs */
		if (mount(o->bind_source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
			return berth_error_set(err, errno, "overlay: bind layer \"%s\" on \"%s\"",
					       o->bind_source, target);
		return 0;
	}
	/* fsconfig takes each option whole: no ',' splitting to worry about, no page limit */
	_cleanup_close_ int fsfd = (int)syscall(SYS_fsopen, "overlay", 1 /* FSOPEN_CLOEXEC */);
	if (fsfd < 0)
		return berth_error_set(err, errno, "overlay: fsopen");
	struct {
		const char *key, *value;
	} opts[] = {
		{ "lowerdir", o->lowerdir },
		{ "upperdir", o->upperdir },
		{ "workdir", o->workdir },
	};
	for (size_t i = 0; i < ELEMENTSOF(opts); i++) {
		if (!opts[i].value)
			continue;
		if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, opts[i].key, opts[i].value,
			    0) < 0)
			return berth_error_set(err, errno, "overlay: %s \"%s\"", opts[i].key,
					       opts[i].value);
	}
	if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return berth_error_set(err, errno, "overlay: mount the layers \"%s\"", o->lowerdir);
	_cleanup_close_ int mfd = (int)syscall(SYS_fsmount, fsfd, 1 /* FSMOUNT_CLOEXEC */, 0);
	if (mfd < 0)
		return berth_error_set(err, errno, "overlay: fsmount");
	if (syscall(SYS_move_mount, mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return berth_error_set(err, errno, "overlay: mount on \"%s\"", target);
	return 0;
}

/* rm -rf of name under dirfd, staying on device dev (never into a mount). */
static int remove_tree_at(int parent_fd, const char *name, dev_t dev, int depth)
{
	struct stat st;
	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (st.st_dev != dev || depth > 256)
		return -EBUSY;
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		int q = remove_tree_at(dirfd(d), de->d_name, dev, depth + 1);
		if (q < 0 && r == 0)
			r = q;
	}
	closedir(d);
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

int overlay_remove(int state_fd)
{
	struct stat st;
	if (fstat(state_fd, &st) < 0)
		return -errno;
	return remove_tree_at(state_fd, BERTH_OVERLAY_DIR, st.st_dev, 0);
}

int overlay_save_upper(int state_fd, int images_fd, struct berth_error **err)
{
	_cleanup_close_ int src = openat(state_fd, BERTH_OVERLAY_DIR "/upper",
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0 && errno == ENOENT)
		return 0;
	if (src < 0)
		return berth_error_set(err, errno, "overlay: open the writable layer");
	/* an older copy (a checkpoint again into the same dir) is replaced, as CRIU's images are */
	struct stat st;
	if (fstat(images_fd, &st) < 0)
		return berth_error_set(err, errno, "overlay: image path");
	int r = remove_tree_at(images_fd, BERTH_OVERLAY_SAVED, st.st_dev, 0);
	if (r < 0)
		return berth_error_set(err, -r, "overlay: remove the old %s", BERTH_OVERLAY_SAVED);
	if (mkdirat(images_fd, BERTH_OVERLAY_SAVED, 0700) < 0)
		return berth_error_set(err, errno, "overlay: make %s", BERTH_OVERLAY_SAVED);
	_cleanup_close_ int dst = openat(images_fd, BERTH_OVERLAY_SAVED,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return berth_error_set(err, errno, "overlay: open %s", BERTH_OVERLAY_SAVED);
	char where[256];
	r = tree_copy(src, dst, TREE_COPY_ALL | TREE_COPY_TOP, where, sizeof(where));
	if (r < 0)
		return berth_error_set(err, -r, "overlay: save the writable layer into %s: \"%s\"",
				       BERTH_OVERLAY_SAVED, where);
	return 0;
}

int overlay_load_upper(const struct berth_overlay *o, int state_fd, int images_fd,
		       struct berth_error **err)
{
	if (!o || !o->ephemeral)
		return 0;
	/* the image dir is not ours: the saved layer must be a directory, not a way elsewhere */
	_cleanup_close_ int src = openat(images_fd, BERTH_OVERLAY_SAVED,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0 && errno == ENOENT)
		return 0; /* a checkpoint of an empty layer, or made by another runtime */
	if (src < 0)
		return berth_error_set(err, errno == ELOOP ? ENOTDIR : errno,
				       "overlay: image path: %s", BERTH_OVERLAY_SAVED);
	_cleanup_close_ int dst = openat(state_fd, BERTH_OVERLAY_DIR "/upper",
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return berth_error_set(err, errno, "overlay: open the writable layer");
	char where[256];
	int r = tree_copy(src, dst, TREE_COPY_ALL | TREE_COPY_TOP, where, sizeof(where));
	if (r < 0)
		return berth_error_set(err, -r, "overlay: copy %s of the image path: \"%s\"",
				       BERTH_OVERLAY_SAVED, where);
	return 0;
}
