/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The per-container state dir: creation, locking, state.json read/write
 * (atomic rename, on the JSON layer) and the runtime spec's state document.
 * Runs in the berth process and in berth-shim (which records the exit status
 * through it), so it stays free of cgroups.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/berth.h"
#include "json.h"
#include "state.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/proc.h"

static int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int state_root_check(const char *root, struct berth_error **err)
{
	if (!root)
		return berth_error_setx(err, ENOENT,
					"no state root: XDG_RUNTIME_DIR is not set (not root: give "
					"--root DIR)");
	return 0;
}

int state_root_open(const char *root, bool create, int *ret_fd, struct berth_error **err)
{
	int r0 = state_root_check(root, err);
	if (r0 < 0)
		return r0;
	if (create) {
		int r = mkdir_p(root, 0700);
		if (r < 0)
			return berth_error_set(err, -r, "create state root \"%s\"", root);
	}
	_cleanup_close_ int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !create) {
			*ret_fd = -EBADF;
			return 0;
		}
		return berth_error_set(err, errno, "open state root \"%s\"", root);
	}
	/* whoever else could write here could plant state dirs and seccomp programs */
	char why[128];
	int r = fd_check_trusted(fd, S_IWGRP | S_IWOTH, why, sizeof(why));
	if (r < 0)
		return berth_error_setx(err, -r, "state root \"%s\" %s", root, why);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int state_dir_open(const char *root, const char *id, bool create, int *ret_dirfd,
		   struct berth_error **err)
{
	_cleanup_close_ int rootfd = -EBADF;
	int r = state_root_open(root, create, &rootfd, err);
	if (r < 0)
		return r;
	if (rootfd < 0)
		return berth_error_setx(err, ENOENT, "container \"%s\" does not exist", id);
	if (create && mkdirat(rootfd, id, 0700) < 0) {
		if (errno == EEXIST)
			return berth_error_setx(err, EEXIST, "container \"%s\" already exists", id);
		return berth_error_set(err, errno, "create state dir \"%s/%s\"", root, id);
	}
	_cleanup_close_ int fd =
		openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return berth_error_setx(err, ENOENT, "container \"%s\" does not exist", id);
		return berth_error_set(err, errno, "open state dir \"%s/%s\"", root, id);
	}
	/* before the lock: a planted dir is not ours to wait on */
	char why[128];
	r = fd_check_trusted(fd, S_IRWXG | S_IRWXO, why, sizeof(why));
	if (r < 0)
		return berth_error_setx(err, -r, "state dir \"%s/%s\" %s", root, id, why);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return berth_error_set(err, errno, "lock state dir \"%s/%s\"", root, id);
	/* It may have been deleted while we waited for the lock. */
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_nlink == 0)
		return berth_error_setx(err, ENOENT, "container \"%s\" does not exist", id);
	*ret_dirfd = TAKE_FD(fd);
	return 0;
}

int state_read_file(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len,
		    struct berth_error **err)
{
	char why[128];
	int r = read_trusted_file_at(dirfd, name, max, ret, ret_len, why, sizeof(why));
	if (r < 0)
		return berth_error_setx(err, -r, "%s %s", name, why);
	return 0;
}

/* A directory of the state dir with files in it (notify/ holds the notify socket). */
static void remove_subdir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
				unlinkat(fd, de->d_name, 0);
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

int state_dir_remove(const char *root, const char *id, int dirfd)
{
	_cleanup_close_ int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d)
		return -errno;
	(void)TAKE_FD(dfd); /* closedir() closes it */
	struct dirent *de;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			if (unlinkat(dirfd, de->d_name, 0) < 0 && errno == EISDIR)
				remove_subdir(dirfd, de->d_name);
	closedir(d);
	_cleanup_close_ int rootfd = -EBADF;
	int r = state_root_open(root, false, &rootfd, NULL);
	if (r < 0)
		return r;
	if (rootfd < 0 || unlinkat(rootfd, id, AT_REMOVEDIR) < 0)
		return -errno;
	return 0;
}

int state_write(int dirfd, const struct berth_state *s, struct berth_error **err)
{
	struct gen j;
	if (gen_init(&j, NULL) < 0)
		return berth_error_set(err, ENOMEM, "write state");
	gen_open(&j, false);
	gen_key_str(&j, "id", s->id);
	gen_key_str(&j, "bundle", s->bundle);
	gen_key_str(&j, "rootfs", s->rootfs);
	gen_key_str(&j, "created", s->created);
	gen_key_str(&j, "cgroup", s->cgroup);
	if (s->systemd_unit)
		gen_key_str(&j, "systemdUnit", s->systemd_unit);
	gen_key_int(&j, "pid", s->pid);
	gen_key_u64(&j, "pidStartTime", s->pid_start_time);
	gen_key_bool(&j, "started", s->started);
	if (s->creating)
		gen_key_bool(&j, "creating", true);
	gen_str(&j, "annotations");
	gen_open(&j, false);
	for (size_t i = 0; i < s->n_annotations; i++)
		gen_key_str(&j, s->annotation_keys[i], s->annotation_values[i]);
	gen_close(&j, false);
	if (s->has_exit_code) {
		gen_key_int(&j, "exitCode", s->exit_code);
		gen_key_str(&j, "exitedAt", s->exited_at);
	}
	gen_close(&j, false);

	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = gen_finish(&j, &buf, &len);
	if (r >= 0)
		r = write_file_atomic_at(dirfd, STATE_FILE, buf, len, 0600);
	if (r < 0)
		return berth_error_set(err, -r, "write state of \"%s\"", s->id);
	return 0;
}

/* annotations: an object of strings (null for a value berth wrote as NULL) */
static int conv_annotations(struct json_parser *p, yajl_val v, void *data)
{
	struct berth_state *s = data;
	size_t n = v->u.object.len;
	s->annotation_keys = calloc(n + 1, sizeof(char *));
	s->annotation_values = calloc(n + 1, sizeof(char *));
	if (!s->annotation_keys || !s->annotation_values)
		return json_oom(p);
	for (size_t i = 0; i < n; i++) {
		yajl_val e = v->u.object.values[i];
		if (!YAJL_IS_STRING(e) && !YAJL_IS_NULL(e)) {
			size_t old = json_push_name(p, v->u.object.keys[i]);
			int r = json_fail(p, "must be a string");
			json_pop(p, old);
			return r;
		}
		s->annotation_keys[i] = strdup(v->u.object.keys[i]);
		s->annotation_values[i] = strdup(YAJL_IS_STRING(e) ? e->u.string : "");
		s->n_annotations = i + 1;
		if (!s->annotation_keys[i] || !s->annotation_values[i])
			return json_oom(p);
	}
	return 0;
}

static int parse_state(struct json_parser *p, yajl_val root, struct berth_state *s)
{
	int32_t pid = 0, code = 0;
	int r;
	if ((r = json_require(p, json_field_string(p, root, "id", &s->id), "id")) < 0 ||
	    (r = json_require(p, json_field_string(p, root, "bundle", &s->bundle), "bundle")) < 0 ||
	    (r = json_field_string(p, root, "rootfs", &s->rootfs)) < 0 ||
	    (r = json_field_string(p, root, "created", &s->created)) < 0 ||
	    (r = json_field_string(p, root, "cgroup", &s->cgroup)) < 0 ||
	    (r = json_field_string(p, root, "systemdUnit", &s->systemd_unit)) < 0 ||
	    (r = json_field_i32(p, root, "pid", &pid)) < 0 ||
	    (r = json_field_u64(p, root, "pidStartTime", &s->pid_start_time)) < 0 ||
	    (r = json_field_bool(p, root, "started", &s->started)) < 0 ||
	    (r = json_field_bool(p, root, "creating", &s->creating)) < 0 ||
	    (r = json_field_object(p, root, "annotations", conv_annotations, s)) < 0)
		return r;
	s->pid = pid;
	if ((r = json_field_i32(p, root, "exitCode", &code)) < 0)
		return r;
	if (r > 0) {
		s->has_exit_code = true;
		s->exit_code = code;
		if ((r = json_field_string(p, root, "exitedAt", &s->exited_at)) < 0)
			return r;
	}
	return 0;
}

int state_read(int dirfd, const char *id, struct berth_state **ret, struct berth_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	char why[128];
	int r = read_trusted_file_at(dirfd, STATE_FILE, 1 << 24, &text, &len, why, sizeof(why));
	if (r == -ENOENT) {
		struct berth_state *s = calloc(1, sizeof(*s));
		if (!s || !(s->id = strdup(id)) || !(s->bundle = strdup(""))) {
			berth_state_free(s);
			return berth_error_set(err, ENOMEM, "read state");
		}
		s->creating = true;
		*ret = s;
		return 0;
	}
	if (r < 0)
		return berth_error_setx(err, -r, "state of \"%s\": %s %s", id, STATE_FILE, why);

	_cleanup_(berth_error_freep) struct berth_error *e = NULL;
	struct json_parser p;
	yajl_val root = NULL;
	json_parser_init(&p, STATE_FILE, NULL, &e);
	r = json_parse(&p, text, len, &root);
	struct berth_state *s = NULL;
	if (r >= 0) {
		s = calloc(1, sizeof(*s));
		if (!s)
			r = json_oom(&p);
		else if (!YAJL_IS_OBJECT(root))
			r = json_fail(&p, "must be an object");
		else
			r = parse_state(&p, root, s);
		yajl_tree_free(root);
	}
	if (r < 0) {
		berth_state_free(s);
		if (r == -ENOMEM)
			return berth_error_set(err, ENOMEM, "read state");
		return berth_error_setx(err, EBADMSG, "state of \"%s\" is corrupt: %s", id,
					e ? e->msg : STATE_FILE);
	}
	*ret = s;
	return 0;
}

char *state_json(const struct berth_state *s, const char *status, bool full, const char *indent)
{
	struct gen j;
	if (!status)
		status = s->status ? s->status : "stopped";
	if (gen_init(&j, indent) < 0)
		return NULL;
	gen_open(&j, false);
	gen_key_str(&j, "ociVersion", BERTH_SPEC_VERSION);
	gen_key_str(&j, "id", s->id);
	gen_key_str(&j, "status", status);
	gen_key_int(&j, "pid", streq(status, "stopped") ? 0 : s->pid);
	gen_key_str(&j, "bundle", s->bundle ? s->bundle : "");
	if (full && s->rootfs)
		gen_key_str(&j, "rootfs", s->rootfs);
	if (full && s->created)
		gen_key_str(&j, "created", s->created);
	gen_str(&j, "annotations");
	gen_open(&j, false);
	for (size_t i = 0; i < s->n_annotations; i++)
		gen_key_str(&j, s->annotation_keys[i],
			    s->annotation_values[i] ? s->annotation_values[i] : "");
	if (full && s->has_exit_code) {
		/* berth-shim's record, annotation style (extension fields of the state) */
		char code[16];
		snprintf(code, sizeof(code), "%d", s->exit_code);
		gen_key_str(&j, "berth.exitCode", code); /* annotations are strings */
		gen_key_str(&j, "berth.exitedAt", s->exited_at ? s->exited_at : "");
	}
	gen_close(&j, false);
	/* runc's list adds who owns the state */
	if (full && s->owner)
		gen_key_str(&j, "owner", s->owner);
	gen_close(&j, false);
	char *out = NULL;
	return gen_finish(&j, &out, NULL) < 0 ? NULL : out;
}

void berth_state_free(struct berth_state *s)
{
	if (!s)
		return;
	free(s->oci_version);
	free(s->id);
	free(s->status);
	free(s->bundle);
	free(s->rootfs);
	free(s->created);
	free(s->cgroup);
	free(s->systemd_unit);
	free(s->exited_at);
	free(s->owner);
	strv_free(s->annotation_keys);
	strv_free(s->annotation_values);
	free(s);
}

char *berth_state_to_json(const struct berth_state *s, bool pretty)
{
	return state_json(s, NULL, true, pretty ? "  " : NULL);
}

char *berth_state_list_to_json(struct berth_state *const *l, size_t n)
{
	struct gen j;
	if (gen_init(&j, NULL) < 0)
		return NULL;
	gen_open(&j, true);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *doc = berth_state_to_json(l[i], false);
		if (!doc) {
			gen_done(&j);
			return NULL;
		}
		gen_raw(&j, doc);
	}
	gen_close(&j, true);
	char *out = NULL;
	return gen_finish(&j, &out, NULL) < 0 ? NULL : out;
}

int berth_id_check(const char *id, struct berth_error **err)
{
	if (!id || !*id)
		return berth_error_setx(err, EINVAL, "container id must not be empty");
	size_t n = strlen(id);
	if (n > 1024)
		return berth_error_setx(err, EINVAL, "container id is longer than 1024 bytes");
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');
		if (alnum || (i > 0 && (ch == '_' || ch == '.' || ch == '+' || ch == '-')))
			continue;
		return berth_error_setx(
			err, EINVAL,
			"invalid container id \"%s\": use letters, digits and _.+- (not first)",
			id);
	}
	return 0;
}

const char *state_root(const struct berth_context *ctx)
{
	static __thread char buf[PATH_MAX];
	if (ctx && ctx->root)
		return ctx->root;
	if (!proc_rootless())
		return BERTH_DEFAULT_ROOT;
	/*
	 * as runc and crun: an ordinary user's containers live in its runtime dir,
	 * also when it is uid 0 of its own user namespace (rootless podman's)
	 */
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (!xdg || xdg[0] != '/')
		return NULL;
	int n = snprintf(buf, sizeof(buf), "%s/berth", xdg);
	return n > 0 && (size_t)n < sizeof(buf) ? buf : NULL;
}

int state_open(const struct berth_context *ctx, const char *id, int *ret_dirfd,
	       struct berth_error **err)
{
	int r = berth_id_check(id, err);
	if (r < 0)
		return r;
	return state_dir_open(state_root(ctx), id, false, ret_dirfd, err);
}

int state_open_read(const struct berth_context *ctx, const char *id, int *ret_dirfd,
		    struct berth_state **ret, struct berth_error **err)
{
	_cleanup_close_ int dirfd = -EBADF;
	int r = state_open(ctx, id, &dirfd, err);
	if (r < 0)
		return r;
	r = state_read(dirfd, id, ret, err);
	if (r < 0)
		return r;
	*ret_dirfd = TAKE_FD(dirfd);
	return 0;
}
