/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRIU's RPC, spoken by berth itself: a few dozen lines of protobuf encoding
 * for criu_req (rpc.proto) and decoding for criu_resp, over the
 * SOCK_SEQPACKET socket of a `criu swrk` child. Runs in the berth process
 * (checkpoint and restore); the child may first enter the container's cgroup
 * and a private mount namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

#include "cgroup.h"
#include "criu.h"
#include "util/fd.h"
#include "util/macro.h"
#include "spec.h"
#include "util/path.h"

/* The biggest answer CRIU sends is far below this (a notification, an error). */
#define CRIU_MSG_MAX (64 * 1024)

/* ---- protobuf, the little of it rpc.proto needs ---- */

enum { PB_VARINT = 0, PB_LEN = 2 };

struct pb {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};

static void pb_put(struct pb *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *nb = realloc(b->buf, cap);
		if (!nb) {
			b->oom = true;
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void pb_varint(struct pb *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	do {
		t[n] = v & 0x7f;
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	pb_put(b, t, n);
}

static void pb_tag(struct pb *b, unsigned field, unsigned wire)
{
	pb_varint(b, ((uint64_t)field << 3) | wire);
}

/* int32 fields: negative numbers are sign-extended to ten bytes, as protobuf does */
static void pb_int(struct pb *b, unsigned field, int64_t v)
{
	pb_tag(b, field, PB_VARINT);
	pb_varint(b, (uint64_t)v);
}

static void pb_bool(struct pb *b, unsigned field, bool v)
{
	if (v)
		pb_int(b, field, 1);
}

static void pb_bytes(struct pb *b, unsigned field, const void *p, size_t n)
{
	pb_tag(b, field, PB_LEN);
	pb_varint(b, n);
	pb_put(b, p, n);
}

static void pb_str(struct pb *b, unsigned field, const char *s)
{
	if (s)
		pb_bytes(b, field, s, strlen(s));
}

/* Append sub as field of b, and free sub. */
static void pb_msg(struct pb *b, unsigned field, struct pb *sub)
{
	b->oom |= sub->oom;
	pb_bytes(b, field, sub->buf ? sub->buf : (uint8_t *)"", sub->len);
	free(sub->buf);
	*sub = (struct pb){ 0 };
}

static void pb_pair(struct pb *b, unsigned field, const char *key, const char *val)
{
	struct pb m = { 0 };
	pb_str(&m, 1, key);
	pb_str(&m, 2, val);
	pb_msg(b, field, &m);
}

struct pb_reader {
	const uint8_t *p, *end;
};

static int pb_read_varint(struct pb_reader *r, uint64_t *ret)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -EBADMSG;
		uint8_t c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -EBADMSG;
}

/*
 * The next field of r: *ret_field, and its value in *ret_v (varint) or
 * *ret_sub (length-delimited). Other wire types are skipped. 0 at the end, 1
 * for a field, -EBADMSG.
 */
static int pb_next(struct pb_reader *r, unsigned *ret_field, uint64_t *ret_v,
		   struct pb_reader *ret_sub)
{
	for (;;) {
		if (r->p >= r->end)
			return 0;
		uint64_t key, v;
		if (pb_read_varint(r, &key) < 0)
			return -EBADMSG;
		switch (key & 7) {
		case PB_VARINT:
			if (pb_read_varint(r, &v) < 0)
				return -EBADMSG;
			*ret_field = (unsigned)(key >> 3);
			*ret_v = v;
			return 1;
		case PB_LEN:
			if (pb_read_varint(r, &v) < 0 || v > (uint64_t)(r->end - r->p))
				return -EBADMSG;
			*ret_sub = (struct pb_reader){ r->p, r->p + v };
			r->p += v;
			*ret_field = (unsigned)(key >> 3);
			*ret_v = v;
			return 1;
		case 1: /* 64-bit */
			if (r->end - r->p < 8)
				return -EBADMSG;
			r->p += 8;
			break;
		case 5: /* 32-bit */
			if (r->end - r->p < 4)
				return -EBADMSG;
			r->p += 4;
			break;
		default:
			return -EBADMSG;
		}
	}
}

static char *pb_strdup(const struct pb_reader *s)
{
	if (!s->p)
		return strdup("");
	return strndup((const char *)s->p, (size_t)(s->end - s->p));
}

/* ---- criu_req ---- */

static void encode_opts(struct pb *b, const struct criu_opts *o)
{
	pb_int(b, 1, o->images_fd);
	if (o->pid > 0)
		pb_int(b, 2, o->pid);
	pb_bool(b, 3, o->leave_running);
	pb_bool(b, 4, o->ext_unix_sk);
	pb_bool(b, 5, o->tcp_established);
	pb_bool(b, 7, o->shell_job);
	pb_bool(b, 8, o->file_locks);
	pb_int(b, 9, 4); /* log_level: everything, the log is what a failure is read from */
	pb_str(b, 10, o->log_file);
	if (o->ps_address) {
		struct pb ps = { 0 };
		pb_str(&ps, 1, o->ps_address);
		pb_int(&ps, 2, o->ps_port);
		pb_msg(b, 11, &ps);
	}
	pb_bool(b, 12, true); /* notify_scripts */
	pb_str(b, 13, o->root);
	pb_str(b, 14, o->parent_img);
	pb_bool(b, 15, o->track_mem);
	pb_bool(b, 16, o->auto_dedup);
	if (o->work_fd >= 0)
		pb_int(b, 17, o->work_fd);
	for (size_t i = 0; i < o->n_ext_mnt; i++)
		pb_pair(b, 23, o->ext_mnt[i].key, o->ext_mnt[i].val);
	if (o->cg_mode >= 0)
		pb_bool(b, 24, true); /* manage_cgroups */
	if (o->cg_root) {
		struct pb cg = { 0 };
		pb_str(&cg, 2, o->cg_root);
		pb_msg(b, 25, &cg);
	}
	pb_bool(b, 26, o->rst_sibling);
	for (size_t i = 0; o && i < o->n_inherit; i++) {
		struct pb in = { 0 };
		pb_str(&in, 1, o->inherit[i].key);
		pb_int(&in, 2, o->inherit[i].fd);
		pb_msg(b, 27, &in);
	}
	if (o->cg_mode >= 0)
		pb_int(b, 34, o->cg_mode);
	for (size_t i = 0; i < o->n_external; i++)
		pb_str(b, 37, o->external[i]);
	if (o->empty_ns)
		pb_int(b, 38, o->empty_ns);
	pb_str(b, 44, o->freeze_cgroup);
	pb_bool(b, 48, o->lazy_pages);
	if (o->status_fd >= 0)
		pb_int(b, 49, o->status_fd);
	pb_bool(b, 50, o->orphan_pts_master);
}

static int send_req(int sock, struct pb *b, struct berth_error **err)
{
	if (b->oom)
		return berth_error_set(err, ENOMEM, "criu request");
	ssize_t n = send(sock, b->buf, b->len, MSG_NOSIGNAL);
	/* a criu that died before it read the request: its log says why, as after one */
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		return berth_error_setx(err, EPIPE, "criu exited without an answer");
	if (n != (ssize_t)b->len)
		return berth_error_set(err, n < 0 ? errno : EIO, "criu: send the request");
	return 0;
}

/* "Error (criu/x.c:12): what\n" -> "what", in place. */
static char *log_message(char *line)
{
	if (strncmp(line, "Error (", 7) == 0) {
		char *p = strstr(line, "): ");
		if (p)
			memmove(line, p + 3, strlen(p + 3) + 1);
	}
	line[strcspn(line, "\n")] = '\0';
	return line;
}

/* ---- criu_resp ---- */

struct criu_resp {
	uint64_t type;
	bool success;
	int cr_errno;
	char *errmsg;
	char *script;	 /* notify */
	pid_t pid;	 /* notify.pid or restore.pid */
	int fd;		 /* an fd sent with it */
	bool lazy_pages; /* features.lazy_pages of a FEATURE_CHECK */
};

static void resp_done(struct criu_resp *r)
{
	free(r->errmsg);
	free(r->script);
	closep(&r->fd);
}

/* the pid of a criu_notify or criu_restore_resp: field 2 or 1 */
static int decode_pid(struct pb_reader s, unsigned field, pid_t *ret)
{
	unsigned f;
	uint64_t v;
	struct pb_reader sub = { 0 };
	int r;
	while ((r = pb_next(&s, &f, &v, &sub)) > 0)
		if (f == field)
			*ret = (pid_t)(int32_t)v;
	return r;
}

static int decode_resp(const uint8_t *buf, size_t n, struct criu_resp *ret)
{
	struct pb_reader rd = { buf, buf + n }, sub = { 0 };
	unsigned f;
	uint64_t v;
	int r;
	while ((r = pb_next(&rd, &f, &v, &sub)) > 0) {
		switch (f) {
		case 1:
			ret->type = v;
			break;
		case 2:
			ret->success = v != 0;
			break;
		case 4:
			if (decode_pid(sub, 1, &ret->pid) < 0)
				return -EBADMSG;
			break;
		case 5: {
			struct pb_reader s = sub, ss = { 0 };
			unsigned nf;
			uint64_t nv;
			int q;
			while ((q = pb_next(&s, &nf, &nv, &ss)) > 0) {
				if (nf == 1 && !ret->script && !(ret->script = pb_strdup(&ss)))
					return -ENOMEM;
				if (nf == 2)
					ret->pid = (pid_t)(int32_t)nv;
			}
			if (q < 0)
				return q;
			break;
		}
		case 7:
			ret->cr_errno = (int)(int32_t)v;
			break;
		case 8: {
			struct pb_reader s = sub, ss = { 0 };
			unsigned nf;
			uint64_t nv;
			int q;
			while ((q = pb_next(&s, &nf, &nv, &ss)) > 0)
				if (nf == 2)
					ret->lazy_pages = nv != 0;
			if (q < 0)
				return q;
			break;
		}
		case 9:
			if (!ret->errmsg && !(ret->errmsg = pb_strdup(&sub)))
				return -ENOMEM;
			break;
		default:
			break;
		}
	}
	return r;
}

static int recv_resp(int sock, struct criu_resp *ret, struct berth_error **err)
{
	_cleanup_free_ uint8_t *buf = malloc(CRIU_MSG_MAX);
	if (!buf)
		return berth_error_set(err, ENOMEM, "criu: answer");
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { buf, CRIU_MSG_MAX };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.b,
		.msg_controllen = sizeof(cbuf.b),
	};
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ECONNRESET)
		n = 0; /* it exited with the request unread */
	if (n < 0)
		return berth_error_set(err, errno, "criu: read its answer");
	*ret = (struct criu_resp){ .fd = -EBADF };
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&ret->fd, CMSG_DATA(c), sizeof(int));
	if (n == 0)
		return berth_error_setx(err, EPIPE, "criu exited without an answer");
	int r = decode_resp(buf, (size_t)n, ret);
	if (r < 0)
		return berth_error_set(err, -r, "criu: its answer");
	return 0;
}

/* ---- the criu swrk child ---- */

int criu_find(char **ret, struct berth_error **err)
{
	static const char *const fixed[] = { "/usr/local/sbin/criu", "/usr/sbin/criu",
					     "/usr/bin/criu" };
	_cleanup_free_ char *p = NULL;
	int r = path_find_program("BERTH_CRIU", fixed, ELEMENTSOF(fixed), "criu", &p);
	if (r < 0 || access(p, X_OK) < 0)
		return berth_error_setx(err, ENOENT,
					"criu is not installed (install the criu package, or "
					"set BERTH_CRIU to the criu program)");
	*ret = TAKE_PTR(p);
	return 0;
}

/* In the child, on a failed set-up: errno and message to the parent, which reads them. */
static _noreturn_ void swrk_fail(int errfd, int code, const char *msg)
{
	dprintf(errfd, "%d %s", code, msg);
	_exit(127);
}

static _noreturn_ void swrk_main(const char *criu, int sock, int dirfd, int errfd,
				 const struct criu_spawn *sp, const struct criu_opts *o)
{
	if (sp->mntns_setup) {
		/* a slave: nothing mounted here reaches the namespace berth lives in */
		if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			swrk_fail(errfd, errno, "criu: make \"/\" a slave in its mount namespace");
		struct berth_error *e = NULL;
		if (sp->mntns_setup(sp->mntns_data, &e) < 0)
			swrk_fail(errfd, e ? e->code : EIO, e ? e->msg : "criu: set-up failed");
	}
	/* CRIU makes its cgroup yard in its cwd: the work dir, not wherever berth was started */
	if (!criu || fchdir(dirfd) < 0)
		swrk_fail(errfd, errno ? errno : ENOENT, "criu: enter the work dir");
	if (sp->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		swrk_fail(errfd, errno, "criu: set no_new_privs");
	if (fd_set_cloexec(sock, false) < 0)
		swrk_fail(errfd, errno, "criu: its socket");
	/* inherit_fd names fds of criu's own: ours (a network namespace) must survive the exec */
	for (size_t i = 0; o && i < o->n_inherit; i++)
		if (o->inherit[i].fd > 2 && fd_set_cloexec(o->inherit[i].fd, false) < 0)
			swrk_fail(errfd, errno, "criu: an fd to inherit");
	char fdarg[16];
	snprintf(fdarg, sizeof(fdarg), "%d", sock);
	execl(criu, "criu", "swrk", fdarg, (char *)NULL);
	dprintf(STDERR_FILENO, "berth: exec \"%s\": %s\n", criu, strerror(errno));
	_exit(127);
}

/* What a child that did not reach exec says (its errfd closes at exec: EOF then). */
static int swrk_setup_result(int fd, struct berth_error **err)
{
	char buf[1024];
	ssize_t n;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *msg = NULL;
	long code = strtol(buf, &msg, 10);
	if (code <= 0 || code > 4095 || *msg != ' ')
		return berth_error_setx(err, EIO, "criu: its set-up failed");
	return berth_error_setx(err, (int)code, "%s", msg + 1);
}

static int spawn_swrk(const char *criu, const struct criu_opts *o, const struct criu_spawn *sp,
		      int sock, int dirfd, pid_t *ret, struct berth_error **err)
{
	const struct criu_spawn none = { 0 };
	if (!sp)
		sp = &none;
	int ep[2];
	if (pipe2(ep, O_CLOEXEC) < 0)
		return berth_error_set(err, errno, "criu: pipe");
	_cleanup_close_ int erd = ep[0], ewr = ep[1];
	struct clone_args ca = { .exit_signal = SIGCHLD };
	if (sp->mntns_setup)
		ca.flags |= CLONE_NEWNS;
	long pid;
	if (sp->cgroup) {
		pid = cgroup_clone3(&ca, sp->cgroup, NULL, NULL, err);
	} else {
		pid = syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid < 0)
			pid = berth_error_set(err, errno, "criu: clone3");
	}
	if (pid == 0)
		swrk_main(criu, sock, dirfd, ewr, sp, o);
	if (pid < 0)
		return (int)pid;
	closep(&ewr);
	int r = swrk_setup_result(erd, err);
	if (r < 0) {
		while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
			;
		return r;
	}
	*ret = (pid_t)pid;
	return 0;
}

/*
 * The work dir as the swrk child sees it in its mount namespace: CRIU reaches
 * it through /proc/<our pid>/fd and mounts its cgroup yard there, which the
 * kernel allows only on a mount of CRIU's own namespace. The same directory
 * (checked), opened by its path under /proc/<child>/root.
 */
static int open_in_child(pid_t child, int fd, int *ret, struct berth_error **err)
{
	char link[64], dir[PATH_MAX], p[PATH_MAX + 64];
	ssize_t n = readlink(path_fd_path(fd, link, sizeof(link)), dir, sizeof(dir) - 1);
	if (n < 0)
		return berth_error_set(err, errno, "criu: the work dir");
	dir[n] = '\0';
	snprintf(p, sizeof(p), "/proc/%d/root%s", (int)child, dir);
	_cleanup_close_ int nfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (nfd < 0)
		return berth_error_set(err, errno,
				       "criu: the work dir \"%s\" in its mount namespace", dir);
	struct stat a, b;
	if (fstat(fd, &a) < 0 || fstat(nfd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return berth_error_setx(
			err, ESTALE, "criu: the work dir \"%s\" is another in its mount namespace",
			dir);
	*ret = TAKE_FD(nfd);
	return 0;
}

/*
 * After a failed look into the child's namespace: whether it exits within a
 * second (its namespaces go before it is a zombie), left to be reaped.
 */
static bool swrk_exits_soon(pid_t pid)
{
	for (int i = 0; i < 100; i++) {
		siginfo_t si = { 0 };
		if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
			return false;
		if (si.si_pid == pid)
			return true;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

static int reply_notify(int sock, bool ok, struct berth_error **err)
{
	struct pb b = { 0 };
	pb_int(&b, 1, CRIU_REQ_NOTIFY);
	pb_bool(&b, 3, ok);
	int r = send_req(sock, &b, err);
	free(b.buf);
	return r;
}

static const char *req_name(enum criu_req_type t)
{
	switch (t) {
	case CRIU_REQ_DUMP:
		return "dump";
	case CRIU_REQ_PRE_DUMP:
		return "pre-dump";
	case CRIU_REQ_RESTORE:
		return "restore";
	default:
		return "request";
	}
}

static int converse(int sock, const struct criu_opts *o, criu_notify_fn fn, void *data,
		    pid_t *ret_pid, struct berth_error **err)
{
	struct pb b = { 0 }, opts = { 0 };
	pb_int(&b, 1, o->type);
	encode_opts(&opts, o);
	pb_msg(&b, 2, &opts);
	int r = send_req(sock, &b, err);
	free(b.buf);
	if (r < 0)
		return r;
	for (;;) {
		struct criu_resp resp = { .fd = -EBADF };
		r = recv_resp(sock, &resp, err);
		if (r < 0)
			return r;
		if (resp.type == CRIU_REQ_NOTIFY) {
			r = 0;
			if (fn)
				r = fn(data, resp.script ? resp.script : "", resp.pid,
				       TAKE_FD(resp.fd), err);
			resp_done(&resp);
			int q = reply_notify(sock, r >= 0, r < 0 ? NULL : err);
			if (r < 0)
				return r;
			if (q < 0)
				return q;
			continue;
		}
		if (resp.type != o->type) {
			resp_done(&resp);
			return berth_error_setx(err, EBADMSG,
						"criu: an answer of type %llu to a %s",
						(unsigned long long)resp.type, req_name(o->type));
		}
		if (!resp.success) {
			int e = resp.cr_errno > 0 ? resp.cr_errno : EIO;
			if (resp.errmsg)
				log_message(resp.errmsg);
			r = resp.errmsg
				    ? berth_error_setx(err, e, "criu %s: %s", req_name(o->type),
						       resp.errmsg)
				    : berth_error_setx(err, e, "criu %s failed", req_name(o->type));
			resp_done(&resp);
			return r;
		}
		if (ret_pid)
			*ret_pid = o->type == CRIU_REQ_RESTORE ? resp.pid : 0;
		resp_done(&resp);
		return 0;
	}
}

/* A fresh `criu swrk` in dirfd for o (or NULL): *ret_sock is our end of its socket. */
static int swrk_open(int dirfd, const struct criu_opts *o, const struct criu_spawn *sp,
		     int *ret_sock, pid_t *ret_pid, struct berth_error **err)
{
	_cleanup_free_ char *criu = NULL;
	int r = criu_find(&criu, err);
	if (r < 0)
		return r;
	int sk[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk) < 0)
		return berth_error_set(err, errno, "criu: socketpair");
	_cleanup_close_ int ours = sk[0], theirs = sk[1];
	r = spawn_swrk(criu, o, sp, theirs, dirfd, ret_pid, err);
	if (r < 0)
		return r;
	*ret_sock = TAKE_FD(ours);
	return 0;
}

/* Close our end (swrk ends once its socket is closed) and reap it. */
static void swrk_close(int sock, pid_t pid)
{
	close(sock);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	/* its status says nothing more: swrk fails when its socket is closed after the answer */
}

int criu_call(const struct criu_opts *o, const struct criu_spawn *sp, criu_notify_fn fn, void *data,
	      pid_t *ret_pid, struct berth_error **err)
{
	int sock = -EBADF;
	pid_t pid = 0;
	int work = o->work_fd >= 0 ? o->work_fd : o->images_fd;
	int r = swrk_open(work, o, sp, &sock, &pid, err);
	if (r < 0)
		return r;
	/* in a mount namespace of its own, CRIU gets the work dir as seen from there */
	struct criu_opts oc = *o;
	_cleanup_close_ int child_work = -EBADF;
	if (sp && sp->mntns_setup) {
		r = open_in_child(pid, work, &child_work, err);
		oc.work_fd = child_work;
		/* a criu that is going already has no namespace to look into: say that */
		if (r < 0 && swrk_exits_soon(pid)) {
			berth_error_free(TAKE_PTR(*err));
			r = berth_error_setx(err, EPIPE, "criu exited without an answer");
		}
	}
	if (r >= 0)
		r = converse(sock, &oc, fn, data, ret_pid, err);
	swrk_close(sock, pid);
	return r;
}

int criu_check_lazy_pages(struct berth_error **err)
{
	_cleanup_close_ int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return berth_error_set(err, errno, "open \"/\"");
	int sock = -EBADF;
	pid_t pid = 0;
	int r = swrk_open(root, NULL, NULL, &sock, &pid, err);
	if (r < 0)
		return r;
	struct pb b = { 0 }, feat = { 0 };
	pb_int(&b, 1, CRIU_REQ_FEATURE_CHECK);
	pb_bool(&feat, 2, true); /* lazy_pages */
	pb_msg(&b, 5, &feat);
	r = send_req(sock, &b, err);
	free(b.buf);
	struct criu_resp resp = { .fd = -EBADF };
	if (r >= 0)
		r = recv_resp(sock, &resp, err);
	swrk_close(sock, pid);
	if (r < 0)
		return berth_error_prefix(err, "--lazy-pages: ask criu whether it can");
	bool ok = resp.type == CRIU_REQ_FEATURE_CHECK && resp.success && resp.lazy_pages;
	resp_done(&resp);
	if (!ok)
		return berth_error_setx(err, ENOTSUP,
					"--lazy-pages: criu cannot do lazy pages on this kernel "
					"(it needs userfaultfd with non-cooperative events)");
	return 0;
}

/* ---- options ---- */

static int cg_mode_parse(const char *s)
{
	static const struct {
		const char *name;
		int mode;
	} modes[] = { { "soft", CRIU_CG_SOFT },
		      { "full", CRIU_CG_FULL },
		      { "strict", CRIU_CG_STRICT },
		      { "ignore", CRIU_CG_IGNORE } };
	for (size_t i = 0; i < ELEMENTSOF(modes); i++)
		if (strcmp(s, modes[i].name) == 0)
			return modes[i].mode;
	return -EINVAL;
}

static int empty_ns_parse(const char *s, unsigned *ret)
{
	static const struct {
		const char *name;
		unsigned flag;
	} ns[] = { { "network", CLONE_NEWNET },
		   { "ipc", CLONE_NEWIPC },
		   { "uts", CLONE_NEWUTS },
		   { "pid", CLONE_NEWPID },
		   { "mount", CLONE_NEWNS } };
	for (size_t i = 0; i < ELEMENTSOF(ns); i++)
		if (strcmp(s, ns[i].name) == 0) {
			*ret = ns[i].flag;
			return 0;
		}
	return -EINVAL;
}

int criu_opts_set_modes(struct criu_opts *o, const char *cg_mode, const char *empty_ns,
			struct berth_error **err)
{
	if (cg_mode && (o->cg_mode = cg_mode_parse(cg_mode)) < 0)
		return berth_error_setx(err, EINVAL,
					"--manage-cgroups-mode: \"%s\" is not soft, full, strict "
					"or ignore",
					cg_mode);
	if (empty_ns && empty_ns_parse(empty_ns, &o->empty_ns) < 0)
		return berth_error_setx(err, EINVAL, "--empty-ns: \"%s\" is not a namespace",
					empty_ns);
	return 0;
}

void criu_log_error(int dirfd, const char *name, char *buf, size_t size)
{
	buf[0] = '\0';
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (read_file_at(dirfd, name, 16 << 20, &text, &len) < 0)
		return;
	/* the last error but CRIU's closing "Dumping FAILED." */
	char *last = NULL;
	for (char *p = text; (p = strstr(p, "Error (")); p++) {
		size_t n = strcspn(p, "\n");
		if (n < 7 || strncmp(p + n - 7, "FAILED.", 7) != 0)
			last = p;
	}
	if (!last)
		return;
	last[strcspn(last, "\n")] = '\0';
	snprintf(buf, size, "%s", log_message(last));
}

/* ---- what of the config CRIU must be told ---- */

static bool mount_is_bind(const struct berth_mount *m)
{
	if (m->type && strcmp(m->type, "bind") == 0)
		return true;
	for (size_t i = 0; i < m->n_options; i++)
		if (strcmp(m->options[i], "bind") == 0 || strcmp(m->options[i], "rbind") == 0)
			return true;
	return false;
}

void criu_pairs_free(struct criu_pair *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free((char *)p[i].key);
		free((char *)p[i].val);
	}
	free(p);
}

int criu_bind_mounts(const struct berth_spec *s, const char *bundle, bool restore,
		     struct criu_pair **ret, size_t *ret_n)
{
	struct criu_pair *p = calloc(s->n_mounts + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct berth_mount *m = &s->mounts[i];
		if (!mount_is_bind(m) || !m->source)
			continue;
		p[n].key = strdup(m->destination);
		p[n].val = restore ? path_absolute(bundle, m->source) : strdup(m->destination);
		n++;
		if (!p[n - 1].key || !p[n - 1].val) {
			criu_pairs_free(p, n);
			return -ENOMEM;
		}
	}
	*ret = p;
	*ret_n = n;
	return 0;
}
