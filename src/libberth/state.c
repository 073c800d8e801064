/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The per-container state dir: creation, locking, state.json read/write
 * (atomic rename) and the status of a container from its init process and
 * exec fifo. Runs in the berth CLI process.
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
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "berth/berth.h"
#include "cgroup.h"
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

int state_root_open(const char *root, bool create, int *ret_fd, struct berth_error **err)
{
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

static void gen_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void gen_kv(yajl_gen g, const char *k, const char *v)
{
	gen_str(g, k);
	if (v)
		gen_str(g, v);
	else
		yajl_gen_null(g);
}

int state_write(int dirfd, const struct berth_container_state *s, struct berth_error **err)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return berth_error_set(err, ENOMEM, "write state");
	char num[32];

	yajl_gen_map_open(g);
	gen_kv(g, "id", s->id);
	gen_kv(g, "bundle", s->bundle);
	gen_kv(g, "rootfs", s->rootfs);
	gen_kv(g, "created", s->created);
	gen_kv(g, "cgroup", s->cgroup);
	gen_str(g, "pid");
	yajl_gen_integer(g, s->pid);
	gen_str(g, "pidStartTime");
	snprintf(num, sizeof(num), "%" PRIu64, s->pid_start_time);
	yajl_gen_number(g, num, strlen(num));
	gen_str(g, "started");
	yajl_gen_bool(g, s->started);
	if (s->creating) {
		gen_str(g, "creating");
		yajl_gen_bool(g, true);
	}
	gen_str(g, "annotations");
	yajl_gen_map_open(g);
	for (size_t i = 0; i < s->n_annotations; i++)
		gen_kv(g, s->annotation_keys[i], s->annotation_values[i]);
	yajl_gen_map_close(g);
	if (s->has_exit_code) {
		gen_str(g, "exitCode");
		yajl_gen_integer(g, s->exit_code);
		gen_kv(g, "exitedAt", s->exited_at);
	}
	yajl_gen_map_close(g);

	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	int r = write_file_atomic_at(dirfd, STATE_FILE, buf, len, 0600);
	yajl_gen_free(g);
	if (r < 0)
		return berth_error_set(err, -r, "write state of \"%s\"", s->id);
	return 0;
}

static char *dup_str(yajl_val root, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_string);
	const char *str = v ? YAJL_GET_STRING(v) : NULL;
	return str ? strdup(str) : NULL;
}

int state_read(int dirfd, const char *id, struct berth_container_state **ret,
	       struct berth_error **err)
{
	_cleanup_free_ char *text = NULL;
	char why[128];
	int r = read_trusted_file_at(dirfd, STATE_FILE, 1 << 24, &text, NULL, why, sizeof(why));
	if (r == -ENOENT) {
		struct berth_container_state *s = calloc(1, sizeof(*s));
		if (!s || !(s->id = strdup(id)) || !(s->bundle = strdup(""))) {
			state_free(s);
			return berth_error_set(err, ENOMEM, "read state");
		}
		s->creating = true;
		*ret = s;
		return 0;
	}
	if (r < 0)
		return berth_error_setx(err, -r, "state of \"%s\": %s %s", id, STATE_FILE, why);

	char ebuf[256];
	yajl_val root = yajl_tree_parse(text, ebuf, sizeof(ebuf));
	if (!root || !YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		return berth_error_setx(err, EBADMSG, "state of \"%s\" is corrupt", id);
	}

	struct berth_container_state *s = calloc(1, sizeof(*s));
	if (!s) {
		yajl_tree_free(root);
		return berth_error_set(err, ENOMEM, "read state");
	}
	s->id = dup_str(root, "id");
	s->bundle = dup_str(root, "bundle");
	s->rootfs = dup_str(root, "rootfs");
	s->created = dup_str(root, "created");
	s->cgroup = dup_str(root, "cgroup");
	const char *p_pid[] = { "pid", NULL }, *p_st[] = { "pidStartTime", NULL },
		   *p_started[] = { "started", NULL }, *p_ann[] = { "annotations", NULL };
	yajl_val v = yajl_tree_get(root, p_pid, yajl_t_number);
	if (v)
		s->pid = (pid_t)strtol(YAJL_GET_NUMBER(v), NULL, 10);
	v = yajl_tree_get(root, p_st, yajl_t_number);
	if (v)
		s->pid_start_time = strtoull(YAJL_GET_NUMBER(v), NULL, 10);
	v = yajl_tree_get(root, p_started, yajl_t_any);
	s->started = v && YAJL_IS_TRUE(v);
	const char *p_creating[] = { "creating", NULL };
	v = yajl_tree_get(root, p_creating, yajl_t_any);
	s->creating = v && YAJL_IS_TRUE(v);
	const char *p_exit[] = { "exitCode", NULL };
	v = yajl_tree_get(root, p_exit, yajl_t_number);
	if (v) {
		s->has_exit_code = true;
		s->exit_code = (int)strtol(YAJL_GET_NUMBER(v), NULL, 10);
		s->exited_at = dup_str(root, "exitedAt");
	}
	v = yajl_tree_get(root, p_ann, yajl_t_object);
	if (v && v->u.object.len > 0) {
		size_t n = v->u.object.len;
		s->annotation_keys = calloc(n + 1, sizeof(char *));
		s->annotation_values = calloc(n + 1, sizeof(char *));
		if (s->annotation_keys && s->annotation_values) {
			for (size_t i = 0; i < n; i++) {
				yajl_val e = v->u.object.values[i];
				s->annotation_keys[i] = strdup(v->u.object.keys[i]);
				s->annotation_values[i] =
					strdup(YAJL_IS_STRING(e) ? YAJL_GET_STRING(e) : "");
			}
			s->n_annotations = n;
		}
	}
	yajl_tree_free(root);
	if (!s->id || !s->bundle) {
		state_free(s);
		return berth_error_setx(err, EBADMSG, "state of \"%s\" is corrupt", id);
	}
	*ret = s;
	return 0;
}

void state_free(struct berth_container_state *s)
{
	if (!s)
		return;
	free(s->id);
	free(s->bundle);
	free(s->rootfs);
	free(s->created);
	free(s->cgroup);
	free(s->exited_at);
	strv_free(s->annotation_keys);
	strv_free(s->annotation_values);
	free(s);
}

const char *state_status(int dirfd, const struct berth_container_state *s)
{
	if (s->creating)
		return "creating";
	if (s->pid <= 0)
		return "stopped";
	uint64_t st = proc_start_time(s->pid);
	if (st == 0 || st != s->pid_start_time)
		return "stopped";
	if (!s->started)
		return "created";
	if (cgroup_is_frozen(s->cgroup))
		return "paused";
	return "running";
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
	return ctx && ctx->root ? ctx->root : BERTH_DEFAULT_ROOT;
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
		    struct berth_container_state **ret, struct berth_error **err)
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
