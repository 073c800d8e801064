/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The container lifecycle, and the only module that composes the others:
 * create (parent side and the cloned container init), start, run, kill,
 * delete, state, list, ps. The parent runs in the berth process; init_main()
 * runs in the container init until it executes the user's program.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/keyctl.h>
#include <linux/sched.h>

#include "berth/berth.h"
#include "cgroup.h"
#include "container.h"
#include "criu.h"
#include "hooks.h"
#include "json.h"
#include <yajl/yajl_tree.h>
#include "mempolicy.h"
#include "mount.h"
#include "namespace.h"
#include "notify.h"
#include "net.h"
#include "overlay.h"
#include "process.h"
#include "rdt.h"
#include "seccomp-filter.h"
#include "resources.h"
#include "selfexe.h"
#include "spec.h"
#include "state.h"
#include "sync.h"
#include "terminal.h"
#include "systemd-scope.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"
#include "util/proc.h"
#include "util/sdnotify.h"
#include "util/timestamp.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Everything create needs, in the parent and (inherited by clone3) in the init. */
struct create_ctx {
	struct berth_context *ctx;
	const struct berth_create_opts *opts;
	const char *root;
	const char *id;
	char *bundle, *rootfs;
	char *config_text;
	size_t config_len;
	struct berth_spec *spec;
	int state_fd; /* locked */
	bool state_made;
	char *cg_path; /* recorded in the state before it is made */
	bool cg_made;
	/* --systemd-cgroup: the scope unit, its slice, and its first process until the init is in */
	char *sd_unit, *sd_slice;
	pid_t sd_holder;
	int listen_fd; /* start.sock, inherited by the init */
	struct ns_plan ns;
	unsigned long clone_flags, unshare_flags;
	bool need_fork;
	/*
	 * berth cannot write the id maps of another process's user namespace
	 * (rootless): the init makes its user namespace itself and is dumpable
	 * while berth writes them, so that its /proc files are berth's user's
	 */
	bool own_maps;
	bool runtime_mntns; /* no mount namespace of its own: the init only changes root */
	int sock[2];
	pid_t child; /* the direct child of berth */
	pid_t pid;   /* the container's init (== child unless a double fork) */
	int pidfd;
	char created[64];
	struct berth_selfexe exe; /* sealed copy of berth the init applies (exe_lazy) */
	bool exe_lazy;
	struct berth_seccomp *seccomp; /* compiled in the parent, loaded by the init */
	struct berth_overlay *overlay; /* berth.rootfs.lower: mounted on rootfs by the init */
	struct berth_net *net;	       /* berth.net.*, linux.netDevices: done by berth-net */
	int netns_fd;		       /* the init's network namespace once berth-net ran */
	bool relay_terminal;	       /* berth run: keep the pty master for the relay */
	bool restoring;		       /* berth restore: CRIU makes the init */
	int console_fd;		       /* the pty master the init sent (process.terminal) */
	int notify_fd;		       /* the container's sd_notify socket (opts->notify_socket) */
};

static void logf_(struct berth_context *ctx, enum berth_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void logf_(struct berth_context *ctx, enum berth_log_level lvl, const char *fmt, ...)
{
	if (!ctx || !ctx->log || (lvl == BERTH_LOG_DEBUG && !ctx->debug))
		return;
	char *m = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (r >= 0)
		ctx->log(ctx->log_data, lvl, m);
	free(m);
}

/* ---- the state of the container being made ---- */

/*
 * The state of the container being made, borrowing c's strings: free only
 * the annotation arrays (free_create_state()). -ENOMEM.
 */
static int create_state(const struct create_ctx *c, struct berth_state *ret)
{
	size_t n = c->spec->n_annotations;
	char **keys = calloc(n + 1, sizeof(char *)), **values = calloc(n + 1, sizeof(char *));
	if (!keys || !values) {
		free(keys);
		free(values);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		keys[i] = c->spec->annotations[i].key;
		values[i] = c->spec->annotations[i].value;
	}
	*ret = (struct berth_state){
		.id = (char *)c->id,
		.bundle = c->bundle,
		.pid = c->pid,
		.annotation_keys = keys,
		.annotation_values = values,
		.n_annotations = n,
	};
	return 0;
}

static void free_create_state(struct berth_state *st)
{
	free(st->annotation_keys);
	free(st->annotation_values);
}

/* The state document hooks get while the container is being made. */
static char *spec_state_json(const struct create_ctx *c, const char *status)
{
	struct berth_state st;
	if (create_state(c, &st) < 0)
		return NULL;
	char *json = state_json(&st, status, false, NULL);
	free_create_state(&st);
	return json;
}

/* ---- the container init ---- */

static _noreturn_ void init_fail(int fd, struct berth_error *e)
{
	sync_send_error(fd, e);
	_exit(1);
}

static bool has_mapping_for_root(const struct berth_id_mapping *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].container_id == 0)
			return true;
	return false;
}

/*
 * Wait on start.sock for `berth start`: a WIRE_START with the state JSON.
 * Returns the connected fd (kept O_CLOEXEC so that execve closes it and
 * start sees the end) and the JSON.
 */
static int init_wait_start(int listen_fd, char **ret_json, struct berth_error **err)
{
	for (;;) {
		int cfd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return berth_error_set(err, errno, "wait for start");
		}
		struct wire_msg m = WIRE_MSG_INIT;
		int r = wire_recv(cfd, &m);
		if (r < 0 || m.type != WIRE_START || m.n_fds > 0 || !m.text || m.text[0] != '{') {
			/* Not a start request (a probe, or start died): keep waiting. */
			if (r >= 0)
				wire_msg_done(&m);
			close(cfd);
			continue;
		}
		*ret_json = TAKE_PTR(m.text);
		return cfd;
	}
}

/* The start connection gets the error (start names the container). */
static void init_report(int cfd, const struct berth_error *e)
{
	if (cfd >= 0)
		sync_send_error(cfd, e);
}

struct init_seccomp {
	const struct berth_seccomp *filter;
	int cfd; /* the start connection: a notify listener fd goes to berth start over it */
};

/* before_exec: the last step before the user's program; runs in the init. */
static int init_load_seccomp(void *data, struct berth_error **err)
{
	const struct init_seccomp *d = data;
	_cleanup_close_ int nfd = -EBADF;
	int r = berth_seccomp_load(d->filter, &nfd, err);
	if (r < 0 || nfd < 0)
		return r;
	r = sync_send_fd(d->cfd, WIRE_SECCOMP_FD, nfd, NULL);
	if (r < 0)
		return berth_error_set(err, -r, "send the seccomp listener fd");
	return 0;
}

/*
 * before_exec in a startContainer hook's child: the filter without a
 * listener (closing one could itself be a notified call with no agent).
 */
static int init_hook_seccomp(void *data, struct berth_error **err)
{
	return berth_seccomp_load(data, NULL, err);
}

/*
 * Setup of a startContainer hook's child: the hook is image content, so it
 * runs as the container's process will (user, capabilities, no_new_privs,
 * seccomp, stdio only). Notified syscalls of a hook fail with ENOSYS: the
 * agent serves the container's process only.
 */
static int init_hook_become(void *data, int keep_fd, struct berth_error **err)
{
	const struct create_ctx *c = data;
	struct berth_exec_opts xo = {
		.process = &c->spec->process,
		.keep_fds = &keep_fd,
		.n_keep_fds = 1,
		.before_exec = c->seccomp ? init_hook_seccomp : NULL,
		.before_exec_data = c->seccomp,
	};
	return process_become(&xo, err);
}

/*
 * Parent, right after WIRE_MAPS_DONE: a helper with the host's credentials
 * enters the init's (new) mount namespace and opens every plain bind source
 * there, as the host sees it; each fd goes to the init (WIRE_MOUNT_SOURCE),
 * in the order of the spec's mounts. The container's mapped root could not
 * open a source under a directory only the host's root may pass.
 */
static int send_bind_sources(struct create_ctx *c, struct berth_error **err)
{
	const struct berth_spec *s = c->spec;
	size_t n = 0;
	/*
	 * Rootless, berth has no more rights on the host than the init (and
	 * may not enter its mount namespace): the init opens them itself.
	 */
	for (size_t i = 0; i < s->n_mounts && !c->own_maps; i++)
		n += rootfs_has_source(&s->mounts[i]);
	if (n == 0)
		return 0;

	int h[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, h) < 0)
		return berth_error_set(err, errno, "bind sources: socketpair");
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(h[0]);
		close(h[1]);
		return berth_error_set(err, e, "bind sources: fork");
	}
	if (pid == 0) {
		struct berth_error *e = NULL;
		close(h[0]);
		if (setns(c->pidfd, CLONE_NEWNS) < 0) {
			berth_error_set(&e, errno, "enter the container's mount namespace");
			sync_send_error(h[1], e);
			_exit(1);
		}
		for (size_t i = 0; i < s->n_mounts; i++) {
			if (!rootfs_has_source(&s->mounts[i]))
				continue;
			int sfd = rootfs_open_source(s, i, c->bundle, &e);
			if (sfd < 0) {
				sync_send_error(h[1], e);
				_exit(1);
			}
			if (sync_send_fd(h[1], WIRE_MOUNT_SOURCE, sfd, NULL) < 0)
				_exit(1);
			close(sfd);
		}
		_exit(0);
	}
	close(h[1]);
	int r = 0;
	for (size_t k = 0; k < n && r >= 0; k++) {
		_cleanup_close_ int sfd = -EBADF;
		r = sync_expect_fd(h[0], WIRE_MOUNT_SOURCE, &sfd, NULL, "opening bind sources",
				   err);
		if (r >= 0 && sync_send_fd(c->sock[0], WIRE_MOUNT_SOURCE, sfd, NULL) < 0)
			r = berth_error_set(err, errno, "bind sources: pass to the init");
	}
	close(h[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r;
}

/*
 * Init: receive what send_bind_sources() sent, into *ret (one fd per spec
 * mount, -EBADF where none; NULL when there are none).
 */
static int recv_bind_sources(const struct berth_spec *s, int fd, int **ret,
			     struct berth_error **err)
{
	int *v = NULL;
	for (size_t i = 0; i < s->n_mounts; i++) {
		if (!rootfs_has_source(&s->mounts[i]))
			continue;
		if (!v) {
			v = malloc(s->n_mounts * sizeof(*v));
			if (!v)
				return berth_error_set(err, ENOMEM, "bind sources");
			for (size_t k = 0; k < s->n_mounts; k++)
				v[k] = -EBADF;
		}
		int r = sync_expect_fd(fd, WIRE_MOUNT_SOURCE, &v[i], NULL, "bind sources", err);
		if (r < 0) {
			for (size_t k = 0; k < i; k++)
				if (v[k] >= 0)
					close(v[k]);
			free(v);
			return r;
		}
	}
	*ret = v;
	return 0;
}

/* mount_root of the rootfs setup: the overlay goes on root.path before its self bind. */
static int init_mount_overlay(void *data, const char *rootfs, struct berth_error **err)
{
	return overlay_mount(data, rootfs, err);
}

static _noreturn_ void init_main(struct create_ctx *c)
{
	struct berth_error *e = NULL;
	const struct berth_spec *s = c->spec;
	int fd = c->sock[1];

	/*
	 * Until execve this process is a copy of berth: keep processes of the
	 * container from opening it through /proc/<pid>/exe (CVE-2019-5736).
	 */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	closep(&c->sock[0]);
	/* The state dir fd carries the flock: the init must not hold it. */
	closep(&c->state_fd);
	closep(&c->pidfd);
	int rs = proc_signals_reset();
	if (rs < 0) {
		berth_error_set(&e, -rs, "reset signal mask");
		init_fail(fd, e);
	}

	if (c->clone_flags & CLONE_NEWUSER)
		if (sync_expect(fd, WIRE_MAPS_DONE, NULL, NULL, "user namespace mapping", &e) < 0)
			_exit(1);
	if (ns_join(&c->ns, &e) < 0)
		init_fail(fd, e);
	ns_plan_done(&c->ns);
	if (c->unshare_flags) {
		if (unshare((int)c->unshare_flags) < 0) {
			berth_error_set(&e, errno, "unshare namespaces");
			init_fail(fd, e);
		}
		if (c->unshare_flags & CLONE_NEWUSER) {
			/* nothing of the container exists yet: no one to open our exe */
			if (c->own_maps)
				prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
			if (sync_send(fd, WIRE_USERNS_READY, 0, NULL) < 0 ||
			    sync_expect(fd, WIRE_MAPS_DONE, NULL, NULL, "user namespace mapping",
					&e) < 0)
				_exit(1);
			prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		}
	}
	/* in a new user namespace, bind sources come opened from the parent */
	_cleanup_free_ int *bind_sources = NULL;
	if (((c->clone_flags | c->unshare_flags) & CLONE_NEWUSER) && !c->own_maps &&
	    recv_bind_sources(s, fd, &bind_sources, &e) < 0)
		init_fail(fd, e);
	if (((c->clone_flags | c->unshare_flags) & CLONE_NEWUSER) &&
	    has_mapping_for_root(s->linux_.uid_mappings, s->linux_.n_uid_mappings) &&
	    has_mapping_for_root(s->linux_.gid_mappings, s->linux_.n_gid_mappings)) {
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
			berth_error_set(&e, errno, "become root in the user namespace");
			init_fail(fd, e);
		}
	}
	if (((c->clone_flags | c->unshare_flags) & CLONE_NEWNET) && ns_loopback_up(&e) < 0)
		init_fail(fd, e);
	if (c->need_fork) {
		/*
		 * A joined or unshared pid namespace only applies to our children.
		 * Both processes share the socket: the child waits for its parent
		 * to exit (EOF on the pipe) so that WIRE_PID is ahead of anything
		 * it sends itself.
		 */
		int gate[2];
		if (pipe2(gate, O_CLOEXEC) < 0) {
			berth_error_set(&e, errno, "fork into the pid namespace");
			init_fail(fd, e);
		}
		pid_t p = fork();
		if (p < 0) {
			berth_error_set(&e, errno, "fork into the pid namespace");
			init_fail(fd, e);
		}
		if (p > 0) {
			sync_send(fd, WIRE_PID, p, NULL);
			_exit(0);
		}
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		close(gate[1]);
		char b;
		while (read(gate[0], &b, 1) < 0 && errno == EINTR)
			;
		close(gate[0]);
	}

	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0) {
		berth_error_set(&e, errno, "set hostname \"%s\"", s->hostname);
		init_fail(fd, e);
	}
	if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0) {
		berth_error_set(&e, errno, "set domainname \"%s\"", s->domainname);
		init_fail(fd, e);
	}

	struct berth_rootfs_ctx rc = {
		.spec = s,
		.rootfs = c->rootfs,
		.bundle = c->bundle,
		.no_pivot = c->opts->no_pivot,
		.new_netns = (c->clone_flags | c->unshare_flags) & CLONE_NEWNET,
		.new_userns = (c->clone_flags | c->unshare_flags) & CLONE_NEWUSER,
		.new_cgroupns = (c->clone_flags | c->unshare_flags) & CLONE_NEWCGROUP,
		.cgroup_rel = c->cg_path ? cgroup_relative(c->cg_path) : NULL,
		.root_fd = -EBADF,
		.mount_root = c->overlay ? init_mount_overlay : NULL,
		.mount_root_data = c->overlay,
		.bind_sources = bind_sources,
	};
	if (c->runtime_mntns) {
		rc.root_fd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rc.root_fd < 0) {
			berth_error_set(&e, errno, "open rootfs \"%s\"", c->rootfs);
			init_fail(fd, e);
		}
	} else if (rootfs_setup(&rc, &e) < 0) {
		init_fail(fd, e);
	}

	_cleanup_free_ char *hook_state = NULL;
	if (sync_send(fd, WIRE_MOUNTS_READY, 0, NULL) < 0)
		_exit(1);
	if (c->exe_lazy) {
		/* before anything of the container's runs here: see create_container() */
		_cleanup_free_ char *segs = NULL;
		if (sync_expect_fd(fd, WIRE_EXE, &c->exe.fd, &segs, "berth copied itself", &e) < 0)
			_exit(1);
		if (selfexe_decode(segs, &c->exe) < 0) {
			berth_error_setx(&e, EPROTO,
					 "protect the runtime binary: bad segment list");
			init_fail(fd, e);
		}
		if (selfexe_apply(&c->exe, &e) < 0)
			init_fail(fd, e);
		closep(&c->exe.fd);
	}
	if (sync_expect(fd, WIRE_HOOKS_DONE, NULL, &hook_state, "createRuntime hooks", &e) < 0)
		_exit(1);
	/* createContainer hooks run in the container's root (runc) */
	if (fchdir(rc.root_fd) < 0) {
		berth_error_set(&e, errno, "chdir to rootfs '%s'", rc.rootfs);
		init_fail(fd, e);
	}
	if (hooks_run(&s->hooks, BERTH_HOOK_CREATE_CONTAINER, hook_state ? hook_state : "{}", &e) <
	    0)
		init_fail(fd, e);

	/*
	 * Before finalize: the sysctls (readonlyPaths usually makes /proc/sys
	 * read-only) and a missing cwd (root.readonly would refuse it).
	 */
	if (c->runtime_mntns) {
		/* nothing to mount or pivot in the runtime's mount table: only a new root */
		if (sysctl_apply(s->linux_.sysctl, s->linux_.n_sysctl, &e) < 0)
			init_fail(fd, e);
		if (fchdir(rc.root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0) {
			berth_error_set(&e, errno, "change root to \"%s\"", c->rootfs);
			init_fail(fd, e);
		}
		if (process_cwd_create(&s->process, &e) < 0)
			init_fail(fd, e);
	} else if (rootfs_pivot(&rc, &e) < 0 ||
		   sysctl_apply(s->linux_.sysctl, s->linux_.n_sysctl, &e) < 0 ||
		   process_cwd_create(&s->process, &e) < 0 || rootfs_finalize(&rc, &e) < 0) {
		init_fail(fd, e);
	}
	closep(&rc.root_fd);

	if (s->process.terminal) {
		/* from the container's devpts; the parent hands the master on */
		_cleanup_close_ int master = -EBADF, slave = -EBADF;
		if (terminal_open(&s->process, !c->opts->console_socket, &master, &slave, &e) < 0)
			init_fail(fd, e);
		if (sync_send_fd(fd, WIRE_CONSOLE, master, NULL) < 0)
			_exit(1);
		if (terminal_attach(TAKE_FD(slave), s->process.user.uid, true, &e) < 0)
			init_fail(fd, e);
	} else if (setsid() < 0) {
		/* a session of its own, as runc's init: CRIU dumps only whole sessions */
		berth_error_set(&e, errno, "setsid");
		init_fail(fd, e);
	} else if (terminal_own_stdio(s->process.user.uid, &e) < 0) {
		init_fail(fd, e);
	}

	if (!c->opts->no_new_keyring &&
	    syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL, 0, 0, 0) < 0 &&
	    errno != ENOSYS && errno != EACCES) {
		berth_error_set(&e, errno, "join a new session keyring");
		init_fail(fd, e);
	}

	_cleanup_free_ char *exe = NULL;
	if (process_find_exec(&s->process, &exe, &e) < 0 || process_setup(&s->process, &e) < 0 ||
	    personality_apply(&s->linux_.personality, &e) < 0 ||
	    mempolicy_apply(&s->linux_.memory_policy, &e) < 0)
		init_fail(fd, e);

	/* a create that dies before saving the state must not leave us waiting */
	if (sync_send(fd, WIRE_CREATED, 0, NULL) < 0 ||
	    sync_expect(fd, WIRE_COMMIT, NULL, NULL, "create saved the state", &e) < 0)
		_exit(1);
	closep(&c->sock[1]);

	/* Created: wait for `berth start`. Errors from here on go to its connection. */
	_cleanup_free_ char *start_state = NULL;
	int cfd = init_wait_start(c->listen_fd, &start_state, &e);
	if (cfd < 0)
		_exit(1);
	closep(&c->listen_fd);

	/* a copy of berth: its own environment is the host's, not the container's */
	struct berth_hook_setup hook_setup = {
		.fn = init_hook_become,
		.data = c,
		.env = s->process.env,
	};
	if (hooks_run_as(&s->hooks, BERTH_HOOK_START_CONTAINER, start_state, &hook_setup, &e) < 0) {
		init_report(cfd, e);
		_exit(1);
	}
	if (c->opts->listen_fds > 0 &&
	    notify_listen_env(&c->spec->process, c->opts->listen_fds) < 0) {
		berth_error_set(&e, ENOMEM, "LISTEN_FDS");
		init_report(cfd, e);
		_exit(1);
	}
	struct init_seccomp isc = { .filter = c->seccomp, .cfd = cfd };
	struct berth_exec_opts xo = {
		.process = &s->process,
		.path = exe,
		.preserve_fds = c->opts->preserve_fds,
		.keep_fds = &cfd,
		.n_keep_fds = 1,
		.before_exec = c->seccomp ? init_load_seccomp : NULL,
		.before_exec_data = &isc,
	};
	process_exec(&xo, &e);
	init_report(cfd, e);
	_exit(127);
}

/* ---- create, parent side ---- */

static void create_ctx_done(struct create_ctx *c)
{
	closep(&c->exe.fd);
	spec_free(c->spec);
	berth_seccomp_free(c->seccomp);
	overlay_free(c->overlay);
	net_free(c->net);
	closep(&c->netns_fd);
	free(c->bundle);
	free(c->rootfs);
	free(c->config_text);
	free(c->cg_path);
	free(c->sd_unit);
	free(c->sd_slice);
	closep(&c->listen_fd);
	closep(&c->state_fd);
	closep(&c->sock[0]);
	closep(&c->sock[1]);
	closep(&c->pidfd);
	closep(&c->console_fd);
	closep(&c->notify_fd);
	ns_plan_done(&c->ns);
}

/*
 * Make the container's cgroup and apply the limits before the init exists
 * (it is cloned into it). Rootless, a cgroup berth may not create (no
 * delegated subtree) is done without, as runc and crun do, unless the config
 * asks for a limit that only a cgroup can keep: then the error names it.
 */
static int create_cgroup(struct create_ctx *c, const struct berth_resources *res,
			 struct berth_error **err)
{
	if (c->sd_unit) {
		int r = systemd_scope_start(c->sd_unit, c->sd_slice, c->id, res,
					    c->spec->annotations, c->spec->n_annotations,
					    &c->sd_holder, err);
		if (r < 0)
			return r;
		c->cg_made = true;
		return cgroup_apply(c->cg_path, res, false, err);
	}
	_cleanup_(berth_error_freep) struct berth_error *cg_err = NULL;
	int r = cgroup_create(c->cg_path, &cg_err);
	if (r < 0 && (r == -EACCES || r == -EPERM || r == -EROFS) && proc_rootless()) {
		const char *limit = resources_first_limit(res);
		if (limit)
			return berth_error_setx(
				err, -r,
				"config.json: linux.resources.%s: rootless without a "
				"cgroup it may write, the limit cannot be kept (%s)",
				limit, cg_err ? cg_err->msg : "?");
		logf_(c->ctx, BERTH_LOG_DEBUG,
		      "rootless: container \"%s\" runs without a cgroup (%s)", c->id,
		      cg_err ? cg_err->msg : "?");
		free(c->cg_path);
		c->cg_path = NULL;
		return 0;
	}
	if (r < 0) {
		*err = TAKE_PTR(cg_err);
		return r;
	}
	c->cg_made = true;
	return cgroup_apply(c->cg_path, res, false, err);
}

/* Undo a failed create: nothing half-made is left behind. */
static void create_rollback(struct create_ctx *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		if (c->pid == c->child || c->child <= 0)
			waitpid(c->pid, NULL, 0);
	}
	if (c->child > 0 && c->child != c->pid)
		waitpid(c->child, NULL, 0);
	systemd_holder_release(c->sd_holder);
	c->sd_holder = 0;
	if (c->cg_made)
		cgroup_destroy(c->cg_path, NULL);
	if (c->cg_made && c->sd_unit)
		(void)systemd_scope_stop(c->sd_unit, NULL);
	if (c->state_made) {
		net_teardown(c->state_fd, c->netns_fd, NULL);
		overlay_remove(c->state_fd);
		state_dir_remove(c->root, c->id, c->state_fd);
	}
}

/* Every capability asked for must be in our own bounding set, or it could never be granted. */
static int check_caps(const struct berth_caps *caps, struct berth_error **err)
{
	uint64_t want = 0;
	if (caps->has_bounding)
		want |= caps->bounding;
	if (caps->has_effective)
		want |= caps->effective;
	if (caps->has_permitted)
		want |= caps->permitted;
	if (caps->has_inheritable)
		want |= caps->inheritable;
	if (caps->has_ambient)
		want |= caps->ambient;
	for (int cap = 0; cap < 64; cap++) {
		if (!(want & (1ULL << cap)))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			continue;
		char *name = cap_to_name((cap_value_t)cap);
		int r = berth_error_setx(err, EPERM,
					 "process.capabilities: \"%s\" is not in the bounding set "
					 "of berth itself and cannot be granted",
					 name ? name : "?");
		cap_free(name);
		return r;
	}
	return 0;
}

/* bind/connect a unix socket in a state dir through /proc/self/fd: IDs may be long. */
static int sock_addr(int dirfd, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", dirfd,
			 STATE_SOCKET);
	return n < (int)sizeof(sa->sun_path) ? 0 : -ENAMETOOLONG;
}

/*
 * Compile linux.seccomp (or take it from <root>/.seccomp-cache) before
 * anything is made, so that a bad section leaves nothing behind.
 */
static int create_seccomp(struct create_ctx *c, struct berth_error **err)
{
	if (!c->spec->linux_.seccomp.text)
		return 0;
	_cleanup_free_ char *cache = path_join(c->root, ".seccomp-cache");
	if (!cache)
		return berth_error_set(err, ENOMEM, "seccomp");
	int r = berth_seccomp_prepare(c->spec->linux_.seccomp.text, cache, &c->seccomp, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->seccomp->n_warnings; i++)
		logf_(c->ctx, BERTH_LOG_WARN, "%s", c->seccomp->warnings[i]);
	logf_(c->ctx, BERTH_LOG_DEBUG, "seccomp filter of %zu instructions (%s)",
	      c->seccomp->n_insns, c->seccomp->from_cache ? "cached" : "compiled");
	return 0;
}

static int create_prepare(struct create_ctx *c, struct berth_error **err)
{
	const struct berth_create_opts *o = c->opts;
	int r;

	c->bundle = realpath(o->bundle ? o->bundle : ".", NULL);
	if (!c->bundle)
		return berth_error_set(err, errno, "bundle \"%s\"", o->bundle ? o->bundle : ".");
	_cleanup_close_ int bfd = open(c->bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return berth_error_set(err, errno, "bundle \"%s\"", c->bundle);
	r = read_file_at(bfd, "config.json", BERTH_SPEC_MAX_SIZE, &c->config_text, &c->config_len);
	if (r == -EFBIG)
		return berth_error_setx(err, EFBIG, "config.json: file is larger than 16 MiB");
	if (r < 0)
		return berth_error_set(err, -r, "read \"%s/config.json\"", c->bundle);
	r = spec_parse(c->config_text, c->config_len, &c->spec, err);
	if (r < 0)
		return r;
	r = spec_validate(c->spec, true, err);
	if (r < 0)
		return r;
	if (rootfs_dev_is_bind(c->spec))
		logf_(c->ctx, BERTH_LOG_DEBUG,
		      "'/dev' is a bind mount: berth leaves it as it is, without default devices "
		      "or the %zu of linux.devices",
		      c->spec->linux_.n_devices);
	if (c->spec->process.terminal && !o->console_socket && !c->relay_terminal)
		return berth_error_setx(err, EINVAL,
					"config.json: process.terminal: a terminal needs "
					"--console-socket with %s (or use %s)",
					c->restoring ? "restore" : "create",
					c->restoring ? "--shim" : "'berth run'");
	if (c->spec->process.terminal && !o->console_socket)
		terminal_size_from_caller(&c->spec->process);
	/* as runc: nothing would ever be sent to the socket its caller waits on */
	if (!c->spec->process.terminal && o->console_socket)
		return berth_error_setx(err, EINVAL,
					"config.json: process.terminal: --console-socket needs a "
					"terminal (process.terminal: true)");

	_cleanup_free_ char *rootfs = c->spec->root_path[0] == '/'
					      ? strdup(c->spec->root_path)
					      : path_join(c->bundle, c->spec->root_path);
	if (!rootfs)
		return berth_error_set(err, ENOMEM, "root.path");
	c->rootfs = realpath(rootfs, NULL);
	struct stat st;
	if (!c->rootfs || stat(c->rootfs, &st) < 0)
		return berth_error_set(err, errno, "config.json: root.path: \"%s\"", rootfs);
	if (!S_ISDIR(st.st_mode))
		return berth_error_setx(
			err, ENOTDIR, "config.json: root.path: \"%s\" is not a directory", rootfs);
	r = overlay_prepare(c->spec, c->bundle, &c->overlay, err);
	if (r < 0)
		return r;
	r = net_prepare(c->spec, c->root, c->id, &c->net, err);
	if (r < 0)
		return r;
	r = check_caps(&c->spec->process.caps, err);
	if (r < 0)
		return r;
	r = process_lsm_check(&c->spec->process, err);
	if (r < 0)
		return r;
	r = mempolicy_check_host(&c->spec->linux_.memory_policy, err);
	if (r < 0)
		return r;
	r = rdt_check(c->spec, err);
	if (r < 0)
		return r;
	/* without SELinux there is nothing to label: ignored, as crun does */
	if (c->spec->linux_.mount_label && *c->spec->linux_.mount_label &&
	    !process_lsm_enabled("selinux"))
		logf_(c->ctx, BERTH_LOG_DEBUG,
		      "linux.mountLabel \"%s\" ignored: SELinux is not enabled on this host",
		      c->spec->linux_.mount_label);
	else if (c->spec->linux_.mount_label && *c->spec->linux_.mount_label)
		return berth_error_setx(
			err, ENOTSUP,
			"config.json: linux.mountLabel: SELinux mount labels are not "
			"supported by berth yet");
	r = create_seccomp(c, err);
	if (r < 0)
		return r;
	r = ns_plan(c->spec, &c->ns, err);
	if (r < 0)
		return r;
	int mnt_fd = c->ns.join_fd[BERTH_NS_MNT];
	c->runtime_mntns = !spec_find_ns(c->spec, BERTH_NS_MNT) ||
			   (mnt_fd >= 0 && ns_is_own(mnt_fd, BERTH_NS_MNT));
	if (c->runtime_mntns) {
		r = spec_validate_runtime_mntns(c->spec, err);
		if (r < 0)
			return r;
		if (o->notify_socket)
			return berth_error_setx(err, EINVAL,
						"NOTIFY_SOCKET: the container's notify socket "
						"needs a new mount namespace");
	}
	return 0;
}

/*
 * state.json of the container being made: first (creating) before anything
 * else is made, naming what delete must remove should create die; last
 * with the init's pid.
 */
static int create_write_state(struct create_ctx *c, bool creating, struct berth_error **err)
{
	struct berth_state st;
	if (create_state(c, &st) < 0)
		return berth_error_set(err, ENOMEM, "state");
	st.rootfs = c->rootfs;
	st.created = c->created;
	st.cgroup = c->cg_path;
	st.systemd_unit = c->sd_unit;
	st.pid = creating ? 0 : c->pid;
	st.pid_start_time = creating ? 0 : proc_start_time(c->pid);
	st.creating = creating;
	int r = state_write(c->state_fd, &st, err);
	free_create_state(&st);
	return r;
}

/*
 * After create_prepare(), what create and restore make first: the cgroup's
 * path, the state dir with a "creating" state and the saved config.json.
 */
static int create_state_dir(struct create_ctx *c, struct berth_error **err)
{
	int r;
	if (c->ctx->systemd_cgroup)
		r = systemd_scope_resolve(c->spec->linux_.cgroups_path, c->id, &c->sd_unit,
					  &c->sd_slice, &c->cg_path, err);
	else
		r = cgroup_resolve(c->spec->linux_.cgroups_path, c->id, &c->cg_path, err);
	if (r < 0)
		return r;
	r = state_dir_open(c->root, c->id, true, &c->state_fd, err);
	if (r < 0)
		return r;
	c->state_made = true;
	rfc3339_now(c->created, sizeof(c->created));
	r = create_write_state(c, true, err);
	if (r < 0)
		return r;
	r = write_file_atomic_at(c->state_fd, STATE_CONFIG, c->config_text, c->config_len, 0600);
	if (r < 0)
		return berth_error_set(err, -r, "save config.json");
	return 0;
}

static int create_container(struct create_ctx *c, struct berth_error **err)
{
	int r;

	/* Until execve the init is a copy of berth: see init_main(). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	r = berth_id_check(c->id, err);
	if (r >= 0)
		r = state_root_check(c->root, err);
	if (r < 0)
		return r;
	r = create_prepare(c, err);
	if (r >= 0)
		r = create_state_dir(c, err);
	if (r < 0)
		return r;
	r = overlay_make_dirs(c->overlay, c->state_fd, err);
	if (r < 0)
		return r;
	r = notify_prepare(c->spec, c->opts, c->root, c->id, c->state_fd, &c->notify_fd, err);
	if (r < 0)
		return r;

	_cleanup_(resources_freep) struct berth_resources *res = NULL;
	const char *rtext = c->spec->linux_.resources.text;
	r = resources_parse(rtext, rtext ? strlen(rtext) : 0, "config.json: linux.resources", &res,
			    err);
	if (r < 0)
		return r;
	/* as runc: an init cloned into a frozen cgroup would hang this create */
	if (cgroup_is_frozen(c->cg_path))
		return berth_error_setx(err, EBUSY,
					"cgroup \"%s\" exists and is frozen (thaw or remove it)",
					c->cg_path);
	r = create_cgroup(c, res, err);
	if (r < 0)
		return r;

	struct sockaddr_un sa;
	if (sock_addr(c->state_fd, &sa) < 0)
		return berth_error_set(err, ENAMETOOLONG, "start socket");
	c->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(c->listen_fd, 4) < 0)
		return berth_error_set(err, errno, "start socket");

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->sock) < 0)
		return berth_error_set(err, errno, "socketpair");

	/*
	 * New namespaces come from clone3 itself, except when a new user
	 * namespace must be made after joining others (they would not be ours
	 * to join from inside it): then the init unshares after setns.
	 */
	unsigned long new_flags = c->ns.new_flags & ~(unsigned long)CLONE_NEWTIME;
	c->own_maps = (new_flags & CLONE_NEWUSER) && geteuid() != 0;
	if ((new_flags & CLONE_NEWUSER) && (c->ns.any_join || c->own_maps)) {
		c->unshare_flags = new_flags;
		c->need_fork = new_flags & CLONE_NEWPID;
	} else {
		c->clone_flags = new_flags;
	}
	if (c->ns.join_fd[BERTH_NS_PID] >= 0)
		c->need_fork = true;
	if (c->need_fork)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	/*
	 * The init is a clone of this process, and so is every hook runner it
	 * forks. Whatever they execute resolves /proc/self/exe through their
	 * exe: an entrypoint or hook whose interpreter chain ends in
	 * #!/proc/self/exe makes the kernel run it in the container, and then
	 * /proc/<pid>/exe leads there to the file (CVE-2019-5736). So the init
	 * never runs anything of the container's while its exe is the host's
	 * binary. In a new pid namespace nothing of the container exists until
	 * the init runs something (berth and the waiting init are non-dumpable
	 * for anything with a host /proc): the copy is made while the init sets
	 * up its mounts, and the init applies it right before its first hook
	 * (WIRE_EXE). Otherwise (a shared or joined pid namespace) berth itself
	 * is in sight: it detaches before the clone.
	 */
	c->exe_lazy = (c->clone_flags | c->unshare_flags) & CLONE_NEWPID;
	if (!c->exe_lazy) {
		r = selfexe_detach(err);
		if (r < 0)
			return r;
	}

	int saved_time = -EBADF;
	r = ns_time_prepare(c->spec, &saved_time, err);
	if (r < 0)
		return r;

	struct clone_args ca = {
		.flags = c->clone_flags | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&c->pidfd,
		.exit_signal = SIGCHLD,
	};
	c->pidfd = -EBADF;
	long pid;
	int sd_attach = 0;
	if (c->cg_path) {
		_cleanup_(berth_error_freep) struct berth_error *ce = NULL;
		pid = cgroup_clone3(&ca, c->cg_path, NULL, NULL, &ce);
		/*
		 * Rootless berth started outside the user manager's tree (in a
		 * login session's scope) may not move a process into it: the
		 * init starts where berth is, and the user's systemd moves it
		 * into the scope, before the init is told to go on when it has
		 * a user namespace to wait for, and long before its execve.
		 */
		if (pid == -EACCES && c->sd_unit) {
			ca.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
			ca.cgroup = 0;
			pid = syscall(SYS_clone3, &ca, sizeof(ca));
			if (pid < 0)
				pid = berth_error_set(err, errno, "clone3");
			else if (pid > 0)
				sd_attach = systemd_scope_attach(c->sd_unit, (pid_t)pid, NULL, err);
		} else if (pid < 0 && err) {
			*err = TAKE_PTR(ce);
		}
	} else {
		pid = syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid < 0)
			pid = berth_error_set(err, errno, "clone3");
	}
	if (pid == 0)
		init_main(c);
	ns_time_restore(saved_time);
	/* the init is in the scope now (or failed to be): the scope's holder goes */
	systemd_holder_release(c->sd_holder);
	c->sd_holder = 0;
	if (pid < 0)
		return (int)pid;
	c->child = c->pid = (pid_t)pid;
	if (sd_attach < 0)
		return sd_attach;
	closep(&c->sock[1]);
	closep(&c->listen_fd);
	ns_plan_done(&c->ns);
	int fd = c->sock[0];

	if (c->clone_flags & CLONE_NEWUSER) {
		r = ns_write_id_maps(c->pid, c->spec, err);
		if (r < 0)
			return r;
		sync_send(fd, WIRE_MAPS_DONE, 0, NULL);
		r = send_bind_sources(c, err);
		if (r < 0)
			return r;
	}
	if (c->unshare_flags & CLONE_NEWUSER) {
		r = sync_expect(fd, WIRE_USERNS_READY, NULL, NULL, "creating the user namespace",
				err);
		if (r < 0)
			return r;
		r = ns_write_id_maps(c->pid, c->spec, err);
		if (r < 0)
			return r;
		sync_send(fd, WIRE_MAPS_DONE, 0, NULL);
		r = send_bind_sources(c, err);
		if (r < 0)
			return r;
	}
	if (c->need_fork) {
		int32_t p = 0;
		r = sync_expect(fd, WIRE_PID, &p, NULL, "entering the pid namespace", err);
		if (r < 0)
			return r;
		waitpid(c->child, NULL, 0);
		c->child = 0;
		c->pid = p;
		closep(&c->pidfd);
		/* the intermediate is reaped and we are the subreaper: p is our child */
		c->pidfd = proc_pidfd_open(c->pid);
		if (c->pidfd < 0)
			return berth_error_set(err, -c->pidfd, "open a pidfd of the init (pid %d)",
					       (int)c->pid);
	}
	/* The init's network namespace exists now; it sets up mounts meanwhile. */
	if (c->net) {
		r = net_setup(c->net, c->pid, c->state_fd, &c->netns_fd, err);
		if (r < 0)
			return r;
	}

	/* the init sets up its mounts meanwhile */
	_cleanup_free_ char *segs = NULL;
	if (c->exe_lazy) {
		r = selfexe_prepare(&c->exe, err);
		if (r < 0)
			return r;
		segs = selfexe_encode(&c->exe);
		if (!segs)
			return berth_error_set(err, ENOMEM, "protect the runtime binary");
	}
	r = sync_expect(fd, WIRE_MOUNTS_READY, NULL, NULL, "setting up its root filesystem", err);
	if (r < 0)
		return r;
	if (c->exe_lazy) {
		r = sync_send_fd(fd, WIRE_EXE, c->exe.fd, segs);
		if (r < 0)
			return berth_error_set(err, -r,
					       "protect the runtime binary: send the copy");
		closep(&c->exe.fd);
	}
	_cleanup_free_ char *hs = spec_state_json(c, "creating");
	if (!hs)
		return berth_error_set(err, ENOMEM, "state");
	r = hooks_run(&c->spec->hooks, BERTH_HOOK_PRESTART, hs, err);
	if (r >= 0)
		r = hooks_run(&c->spec->hooks, BERTH_HOOK_CREATE_RUNTIME, hs, err);
	if (r < 0)
		return r;
	if (sync_send(fd, WIRE_HOOKS_DONE, 0, hs) < 0)
		return berth_error_setx(err, EPIPE,
					"container init exited before createContainer hooks");
	if (c->spec->process.terminal) {
		r = sync_expect_fd(fd, WIRE_CONSOLE, &c->console_fd, NULL, "opening its terminal",
				   err);
		if (r < 0)
			return r;
		if (c->opts->console_socket) {
			r = terminal_send_to_socket(c->opts->console_socket, c->console_fd, err);
			closep(&c->console_fd);
			if (r < 0)
				return r;
		}
	}
	r = sync_expect(fd, WIRE_CREATED, NULL, NULL, "it was created", err);
	if (r < 0)
		return r;
	r = create_write_state(c, false, err);
	if (r < 0)
		return r;
	if (c->opts->pid_file) {
		r = write_pid_file(c->opts->pid_file, c->pid);
		if (r < 0)
			return berth_error_set(err, -r, "pid file \"%s\"", c->opts->pid_file);
	}
	if (sync_send(fd, WIRE_COMMIT, 0, NULL) < 0)
		return berth_error_setx(err, EPIPE, "container init exited before it was created");
	logf_(c->ctx, BERTH_LOG_DEBUG, "created container \"%s\" with init pid %d", c->id,
	      (int)c->pid);
	return 0;
}

static int do_create(struct berth_context *ctx, const struct berth_create_opts *opts,
		     bool relay_terminal, struct create_ctx *c, struct berth_error **err)
{
	*c = (struct create_ctx){
		.ctx = ctx,
		.opts = opts,
		.root = state_root(ctx),
		.id = opts->id,
		.state_fd = -EBADF,
		.listen_fd = -EBADF,
		.sock = { -EBADF, -EBADF },
		.pidfd = -EBADF,
		.netns_fd = -EBADF,
		.relay_terminal = relay_terminal,
		.console_fd = -EBADF,
		.notify_fd = -EBADF,
		.exe = { .fd = -EBADF },
	};
	for (int i = 0; i < _BERTH_NS_MAX; i++)
		c->ns.join_fd[i] = -EBADF;

	int r = create_container(c, err);
	if (r < 0) {
		create_rollback(c);
		berth_error_prefix(err, "create \"%s\"", opts->id ? opts->id : "");
	}
	return r;
}

int shim_create(struct berth_context *ctx, const struct berth_create_opts *opts, pid_t *ret_pid,
		int *ret_console_fd, int *ret_notify_fd, struct berth_error **err)
{
	struct create_ctx c;
	int r = do_create(ctx, opts, true, &c, err);
	if (r >= 0) {
		*ret_pid = c.pid;
		*ret_console_fd = TAKE_FD(c.console_fd);
		*ret_notify_fd = TAKE_FD(c.notify_fd);
	}
	create_ctx_done(&c);
	return r;
}

int berth_create(struct berth_context *ctx, const struct berth_create_opts *opts,
		 struct berth_error **err)
{
	/* create makes us a subreaper for a joined pid namespace: only while it runs */
	int was_subreaper = 0;
	prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper, 0, 0, 0);
	struct create_ctx c;
	int r = do_create(ctx, opts, false, &c, err);
	create_ctx_done(&c);
	if (!was_subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	return r;
}

/* ---- start ---- */

static int load_spec_copy(int dirfd, struct berth_spec **ret)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = state_read_file(dirfd, STATE_CONFIG, BERTH_SPEC_MAX_SIZE, &text, &len, NULL);
	if (r < 0)
		return r;
	struct berth_error *e = NULL;
	r = spec_parse(text, len, ret, &e);
	berth_error_free(e);
	return r;
}

static void run_hooks_warn(struct berth_context *ctx, const struct berth_spec *spec,
			   enum berth_hook_kind k, const char *json, const char *id)
{
	if (!spec || spec->hooks.n[k] == 0)
		return;
	struct berth_error *e = NULL;
	if (hooks_run(&spec->hooks, k, json, &e) < 0)
		logf_(ctx, BERTH_LOG_WARN, "container \"%s\": %s", id, e->msg);
	berth_error_free(e);
}

/* Give the seccomp notify listener the init sent us to the agent at linux.seccomp.listenerPath. */
static int start_seccomp_agent(const struct berth_spec *spec, const struct berth_state *s,
			       int notify_fd, const char *state_json, struct berth_error **err)
{
	_cleanup_(berth_seccomp_config_freep) struct berth_seccomp_config *sc = NULL;
	int r;
	if (!spec || !spec->linux_.seccomp.text || !state_json)
		return berth_error_setx(err, EINVAL,
					"start \"%s\": seccomp listener without a config", s->id);
	r = berth_seccomp_parse(spec->linux_.seccomp.text, &sc, err);
	if (r >= 0)
		r = berth_seccomp_send_to_agent(sc->listener_path, sc->listener_metadata, notify_fd,
						s->pid, state_json, err);
	if (r < 0)
		return berth_error_prefix(err, "start \"%s\"", s->id);
	return 0;
}

static int delete_locked(struct berth_context *ctx, int dirfd, struct berth_state *s, bool force,
			 struct berth_error **err);

/*
 * With the state dir locked: release the init and wait until it executed (or
 * failed to), then run the poststart hooks.
 */
static int start_locked(struct berth_context *ctx, int dirfd, struct berth_state *s,
			struct berth_error **err)
{
	const char *status = state_status(dirfd, s);
	if (!streq(status, "created"))
		return berth_error_setx(err, EINVAL, "container \"%s\" is %s, not created", s->id,
					status);

	struct sockaddr_un sa;
	if (sock_addr(dirfd, &sa) < 0)
		return berth_error_set(err, ENAMETOOLONG, "start socket");
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return berth_error_set(err, errno, "container \"%s\": connect to its init", s->id);

	_cleanup_free_ char *json = state_json(s, "created", false, NULL);
	if (!json)
		return berth_error_set(err, ENOMEM, "state");
	int r = sync_send(fd, WIRE_START, 0, json);
	if (r < 0)
		return berth_error_set(err, -r, "container \"%s\": send start", s->id);

	/* From here on the container runs its program (or has tried to). */
	s->started = true;
	unlinkat(dirfd, STATE_SOCKET, 0);
	r = state_write(dirfd, s, err);
	if (r < 0)
		return r;

	/* the init's answer: a seccomp listener first (maybe), then its error or the end */
	_cleanup_close_ int notify_fd = -EBADF;
	r = sync_expect_end(fd, "container init", WIRE_SECCOMP_FD, &notify_fd, err);
	_cleanup_(spec_freep) struct berth_spec *spec = NULL;
	_cleanup_free_ char *rjson = NULL;
	if (r >= 0) {
		load_spec_copy(dirfd, &spec);
		rjson = state_json(s, "running", false, NULL);
	}
	if (r > 0) {
		/* the init's next calls may wait for the agent: it gets the listener first */
		r = start_seccomp_agent(spec, s, notify_fd, rjson, err);
		if (r < 0)
			return r;
		r = sync_expect_end(fd, "container init", 0, NULL, err);
	}
	if (r < 0)
		return berth_error_prefix(err, "start \"%s\"", s->id);
	/*
	 * runtime-spec 1.3: a failed poststart hook is an error; the container
	 * is stopped and the lifecycle goes on with its destruction (what
	 * delete does, poststop hooks included).
	 */
	if (spec && spec->hooks.n[BERTH_HOOK_POSTSTART] > 0) {
		_cleanup_(berth_error_freep) struct berth_error *he = NULL, *de = NULL;
		r = hooks_run(&spec->hooks, BERTH_HOOK_POSTSTART, rjson ? rjson : "{}", &he);
		if (r < 0) {
			if (delete_locked(ctx, dirfd, s, true, &de) < 0)
				return berth_error_setx(err, he->code,
							"start \"%s\": %s; the container was "
							"stopped, but deleting it failed: %s",
							s->id, he->msg, de->msg);
			return berth_error_setx(err, he->code,
						"start \"%s\": %s; the container was stopped "
						"and deleted",
						s->id, he->msg);
		}
	}
	return 0;
}

int berth_start(struct berth_context *ctx, const char *id, struct berth_error **err)
{
	_cleanup_close_ int dirfd = -EBADF;
	struct berth_state *s = NULL;
	int r = state_open_read(ctx, id, &dirfd, &s, err);
	if (r < 0)
		return r;
	r = start_locked(ctx, dirfd, s, err);
	berth_state_free(s);
	return r;
}

/* ---- kill, delete ---- */

/* Signal the init through a pidfd, so that a reused PID is never hit. */
static int signal_init(const struct berth_state *s, int sig)
{
	_cleanup_close_ int pfd = proc_pidfd_open_started(s->pid, s->pid_start_time);
	if (pfd < 0)
		return pfd;
	return proc_pidfd_signal(pfd, sig);
}

/*
 * kill --all of a container without a cgroup (rootless): every process of
 * its own pid namespace, the init last. -EPERM if it shares ours.
 */
static int signal_pidns(const struct berth_state *s, int sig)
{
	_cleanup_close_ int pfd = proc_pidfd_open_started(s->pid, s->pid_start_time);
	if (pfd < 0)
		return pfd;
	_cleanup_free_ pid_t *v = NULL;
	size_t n = 0;
	int r = proc_pidns_members(s->pid, &v, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (v[i] != s->pid)
			kill(v[i], sig);
	return proc_pidfd_signal(pfd, sig);
}

int berth_kill(struct berth_context *ctx, const char *id, int sig, bool all,
	       struct berth_error **err)
{
	_cleanup_close_ int dirfd = -EBADF;
	struct berth_state *s = NULL;
	int r = state_open_read(ctx, id, &dirfd, &s, err);
	if (r < 0)
		return r;
	const char *status = state_status(dirfd, s);
	/* "container not running" are runc's words, which containerd's shim reads
	 * as "already exited": a kill that comes just after the exit is no error */
	if (streq(status, "creating") && !(all && s->cgroup)) {
		r = berth_error_setx(
			err, ESRCH,
			"kill \"%s\": container not running: its create has not finished", id);
	} else if (streq(status, "stopped") && !(all && s->cgroup)) {
		r = berth_error_setx(err, ESRCH, "kill \"%s\": container not running", id);
	} else if (all && s->cgroup) {
		r = cgroup_signal_all(s->cgroup, sig);
		if (r < 0)
			berth_error_set(err, -r, "kill \"%s\": signal processes of cgroup \"%s\"",
					id, s->cgroup);
	} else if (all) {
		r = signal_pidns(s, sig);
		if (r < 0)
			berth_error_set(err, -r,
					"kill \"%s\": signal the processes of its pid namespace "
					"(it has no cgroup)",
					id);
	} else {
		r = signal_init(s, sig);
		if (r < 0)
			berth_error_set(err, -r, "kill \"%s\": signal %d to pid %d", id, sig,
					(int)s->pid);
	}
	berth_state_free(s);
	return r;
}

/* Wait (at most ~10 s) until the init is gone; reap it if it is our child. */
static void wait_init_gone(const struct berth_state *s)
{
	_cleanup_close_ int pfd = proc_pidfd_open_started(s->pid, s->pid_start_time);
	if (pfd < 0)
		return;
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	poll(&p, 1, 10000);
	waitpid(s->pid, NULL, WNOHANG);
}

/* The init's network namespace, if the init is still the one we made. */
static int open_init_netns(const struct berth_state *s)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)s->pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && proc_start_time(s->pid) != s->pid_start_time)
		closep(&fd);
	return fd >= 0 ? fd : -EBADF;
}

static int delete_locked(struct berth_context *ctx, int dirfd, struct berth_state *s, bool force,
			 struct berth_error **err)
{
	const char *status = state_status(dirfd, s);
	if ((streq(status, "running") || streq(status, "paused")) && !force)
		return berth_error_setx(
			err, EBUSY, "delete \"%s\": container is %s: stop it first or use --force",
			s->id, status);
	/* netDevices go back to the host from the living namespace: hold it across the kill */
	_cleanup_close_ int netns = -EBADF;
	if (!streq(status, "stopped") && faccessat(dirfd, BERTH_NET_STATE_FILE, F_OK, 0) == 0)
		netns = open_init_netns(s);
	if (!streq(status, "stopped")) {
		signal_init(s, SIGKILL);
		if (s->cgroup)
			cgroup_signal_all(s->cgroup, SIGKILL);
		wait_init_gone(s);
	}
	int r = cgroup_destroy(s->cgroup, err);
	if (r < 0)
		return berth_error_prefix(err, "delete \"%s\"", s->id);
	/*
	 * Emptied and removed above, the scope stops by itself; StopUnit makes
	 * sure and waits, so nothing is left listed. A bus that fails now
	 * (systemd restarting) leaves at most a unit about to go: a warning,
	 * not a container that cannot be deleted.
	 */
	if (s->systemd_unit) {
		struct berth_error *se = NULL;
		if (systemd_scope_stop(s->systemd_unit, &se) < 0)
			logf_(ctx, BERTH_LOG_WARN, "delete \"%s\": %s", s->id, se ? se->msg : "?");
		berth_error_free(se);
	}

	/* a create that died half-way made no container: no poststop hooks for it */
	if (!s->creating) {
		_cleanup_(spec_freep) struct berth_spec *spec = NULL;
		load_spec_copy(dirfd, &spec);
		_cleanup_free_ char *json = state_json(s, "stopped", false, NULL);
		run_hooks_warn(ctx, spec, BERTH_HOOK_POSTSTOP, json ? json : "{}", s->id);
	}

	struct berth_error *ne = NULL;
	if (net_teardown(dirfd, netns, &ne) < 0)
		logf_(ctx, BERTH_LOG_WARN, "delete \"%s\": %s", s->id, ne->msg);
	berth_error_free(ne);
	r = overlay_remove(dirfd);
	if (r < 0)
		return berth_error_set(err, -r, "delete \"%s\": remove the overlay layer", s->id);
	r = state_dir_remove(state_root(ctx), s->id, dirfd);
	if (r < 0)
		return berth_error_set(err, -r, "delete \"%s\": remove state dir", s->id);
	return 0;
}

int berth_delete(struct berth_context *ctx, const char *id, bool force, struct berth_error **err)
{
	_cleanup_close_ int dirfd = -EBADF;
	struct berth_state *s = NULL;
	struct berth_error *e = NULL;
	int r = state_open_read(ctx, id, &dirfd, &s, &e);
	if (r == -ENOENT && force && berth_id_check(id, NULL) == 0) {
		/* engines delete twice, the second time with --force: that is no error */
		berth_error_free(e);
		return 0;
	}
	if (r < 0) {
		*err = e;
		return r;
	}
	r = delete_locked(ctx, dirfd, s, force, err);
	berth_state_free(s);
	return r;
}

/* ---- run ---- */

static void relay_notify(void *data)
{
	sdnotify_relay(data);
}

static int wait_and_forward(struct create_ctx *c, int sfd, int *ret_status)
{
	struct sdnotify nr = { .fd = c->notify_fd,
			       .target = c->opts->notify_socket,
			       .mainpid = c->pid };
	const struct proc_wait w = {
		.pid = c->pid,
		.pidfd = c->pidfd,
		.sigfd = sfd,
		.extra_fd = c->notify_fd,
		.on_extra = relay_notify,
		.data = &nr,
	};
	int r = proc_wait_forward(&w);
	if (r == -ECHILD) {
		/* Not our child (should not happen with the subreaper set): poll the pidfd. */
		struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
		poll(&p, 1, -1);
		r = 0;
	}
	if (r < 0)
		return r;
	*ret_status = r;
	return 0;
}

int berth_run(struct berth_context *ctx, const struct berth_create_opts *opts, bool keep,
	      int *ret_status, struct berth_error **err)
{
	sigset_t fwd, old;
	proc_forwarded_sigset(&fwd);
	/* Block before clone3 so nothing is lost; the init resets its mask. */
	sigprocmask(SIG_BLOCK, &fwd, &old);
	_cleanup_close_ int sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
	/* the init may be re-parented to us (a joined pid namespace): only for this call */
	int was_subreaper = 0;
	prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper, 0, 0, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	struct create_ctx c;
	int r = do_create(ctx, opts, true, &c, err);
	if (r < 0)
		goto out;

	struct berth_state *s = NULL;
	r = state_read(c.state_fd, c.id, &s, err);
	if (r >= 0)
		r = start_locked(ctx, c.state_fd, s, err);
	berth_state_free(s);
	if (r < 0) {
		struct berth_error *e2 = NULL;
		closep(&c.state_fd);
		waitpid(c.pid, NULL, WNOHANG);
		if (!keep)
			berth_delete(ctx, c.id, true, &e2);
		berth_error_free(e2);
		goto out;
	}
	/* Let other berth commands (kill, state) in while the container runs. */
	closep(&c.state_fd);
	if (c.pidfd < 0)
		c.pidfd = proc_pidfd_open(c.pid);
	if (c.pidfd < 0) {
		r = berth_error_set(err, -c.pidfd, "run \"%s\": open a pidfd of the init", c.id);
		struct berth_error *e2 = NULL;
		berth_delete(ctx, c.id, true, &e2);
		berth_error_free(e2);
		goto out;
	}

	if (c.console_fd >= 0) {
		/* no --console-socket: the pty is relayed to our own stdin and stdout */
		const struct berth_process *p = &c.spec->process;
		struct terminal_relay tr = {
			.master = c.console_fd,
			.in_fd = STDIN_FILENO,
			.out_fd = STDOUT_FILENO,
			.pidfd = c.pidfd,
			.sigfd = sfd,
			.pid = c.pid,
			.has_size = p->has_console_size,
			.rows = p->console_height,
			.cols = p->console_width,
		};
		struct berth_error *te = NULL;
		if (terminal_relay(&tr, &te) < 0)
			logf_(ctx, BERTH_LOG_WARN, "run \"%s\": %s", c.id, te->msg);
		berth_error_free(te);
	}

	r = wait_and_forward(&c, sfd, ret_status);
	if (r < 0) {
		berth_error_set(err, -r, "run \"%s\": wait", c.id);
		goto out;
	}
	if (!keep) {
		r = berth_delete(ctx, c.id, true, err);
		if (r < 0)
			berth_error_prefix(err, "run \"%s\"", c.id);
	}
out:
	create_ctx_done(&c);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (!was_subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	return r;
}

/* ---- state, list, ps ---- */

int berth_state_get(struct berth_context *ctx, const char *id, struct berth_state **ret,
		    struct berth_error **err)
{
	_cleanup_close_ int dirfd = -EBADF;
	struct berth_state *s = NULL;
	int r = state_open_read(ctx, id, &dirfd, &s, err);
	if (r < 0)
		return r;
	const char *status = state_status(dirfd, s);
	s->oci_version = strdup(BERTH_SPEC_VERSION);
	s->status = strdup(status);
	if (!s->oci_version || !s->status) {
		berth_state_free(s);
		berth_error_set(err, ENOMEM, "state");
		return -ENOMEM; /* explicit: callers rely on *ret being set on success */
	}
	if (streq(status, "stopped"))
		s->pid = 0;
	*ret = s;
	return 0;
}

void berth_state_list_free(struct berth_state **l, size_t n)
{
	for (size_t i = 0; l && i < n; i++)
		berth_state_free(l[i]);
	free(l);
}

static int cmp_state(const void *a, const void *b)
{
	const struct berth_state *x = *(struct berth_state *const *)a,
				 *y = *(struct berth_state *const *)b;
	return strcmp(x->id, y->id);
}

/*
 * The user owning the state directory name under rootfd, as runc's list
 * shows it: the name from /etc/passwd (read directly: berth is linked
 * statically, without NSS), else "#UID". malloc'd; NULL on ENOMEM.
 */
static char *state_owner(int rootfd, const char *name)
{
	struct stat st;
	char *r = NULL;

	if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return strdup("");
	FILE *f = fopen("/etc/passwd", "re");
	if (f) {
		struct passwd *pw;
		while ((pw = fgetpwent(f)))
			if (pw->pw_uid == st.st_uid) {
				r = strdup(pw->pw_name);
				break;
			}
		fclose(f);
		if (r)
			return r;
	}
	if (asprintf(&r, "#%u", (unsigned)st.st_uid) < 0)
		return NULL;
	return r;
}

int berth_list(struct berth_context *ctx, struct berth_state ***ret, size_t *ret_n,
	       struct berth_error **err)
{
	const char *root = state_root(ctx);
	*ret = NULL;
	*ret_n = 0;
	_cleanup_close_ int rootfd = -EBADF;
	int r = state_root_open(root, false, &rootfd, err);
	if (r < 0)
		return r;
	if (rootfd < 0)
		return 0;
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		r = berth_error_set(err, errno, "list \"%s\"", root);
		if (fd >= 0)
			close(fd);
		return r;
	}
	struct berth_state **v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || berth_id_check(de->d_name, NULL) < 0)
			continue;
		struct berth_state *st = NULL;
		if (berth_state_get(ctx, de->d_name, &st, NULL) < 0)
			continue;
		st->owner = state_owner(rootfd, de->d_name);
		struct berth_state **nv = realloc(v, (n + 1) * sizeof(struct berth_state *));
		if (!nv) {
			berth_state_free(st);
			break;
		}
		v = nv;
		v[n++] = st;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(struct berth_state *), cmp_state);
	*ret = v;
	*ret_n = n;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int berth_ps(struct berth_context *ctx, const char *id, pid_t **ret, size_t *ret_n,
	     struct berth_error **err)
{
	_cleanup_close_ int dirfd = -EBADF;
	struct berth_state *s = NULL;
	int r = state_open_read(ctx, id, &dirfd, &s, err);
	if (r < 0)
		return r;
	*ret = NULL;
	*ret_n = 0;
	if (s->cgroup) {
		r = cgroup_pids(s->cgroup, ret, ret_n);
		if (r == -ENOENT)
			r = 0;
		else if (r < 0)
			berth_error_set(err, -r, "ps \"%s\": read cgroup \"%s\"", id, s->cgroup);
		else if (*ret_n > 1)
			qsort(*ret, *ret_n, sizeof(pid_t), cmp_pid);
	} else if (!streq(state_status(dirfd, s), "stopped")) {
		/* no cgroup (rootless): the processes of its own pid namespace */
		r = proc_pidns_members(s->pid, ret, ret_n);
		if (r == -EPERM)
			r = berth_error_setx(
				err, EPERM,
				"ps \"%s\": the container has neither a cgroup nor a pid "
				"namespace of its own: its processes cannot be told apart",
				id);
		else if (r == -ESRCH)
			r = 0;
		else if (r < 0)
			berth_error_set(err, -r, "ps \"%s\": list its pid namespace", id);
		else if (*ret_n > 1)
			qsort(*ret, *ret_n, sizeof(pid_t), cmp_pid);
	}
	berth_state_free(s);
	return r;
}

/* ---- checkpoint and restore (CRIU: criu.c) ---- */

#define CRIU_DESCRIPTORS   "descriptors.json"	 /* the init's stdio, as runc names it */
#define CRIU_EXT_NETNS	   "extRootNetNS"	 /* the key of a network namespace berth makes */
#define CRIU_ROOT	   "criu-root"		 /* in the state dir: the root CRIU restores on */
#define CRIU_LAZY_SOCKET   "lazy-pages.socket"	 /* of `criu lazy-pages`, in the work dir */
#define CRIU_NET_ADDRESSES "berth-net-addresses" /* eth0's addresses, net_addresses() */

/* Open (and make, 0700, with parents) the directory path. */
static int open_dir_p(const char *path, int *ret, struct berth_error **err)
{
	_cleanup_free_ char *cwd = get_current_dir_name();
	_cleanup_free_ char *abs = cwd ? path_absolute(cwd, path) : NULL;
	if (!abs)
		return berth_error_set(err, ENOMEM, "\"%s\"", path);
	for (char *p = abs + 1;; p++) {
		bool end = *p == '\0';
		if (*p == '/' || end) {
			*p = '\0';
			if (mkdir(abs, 0700) < 0 && errno != EEXIST)
				return berth_error_set(err, errno, "make \"%s\"", abs);
			if (!end)
				*p = '/';
		}
		if (end)
			break;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berth_error_set(err, errno, "open \"%s\"", path);
	*ret = fd;
	return 0;
}

/* The init's fds 0-2 as /proc shows them ("pipe:[123]"), a JSON array in the image dir. */
static int write_descriptors(int imgfd, pid_t pid, struct berth_error **err)
{
	struct gen g;
	if (gen_init(&g, NULL) < 0)
		return berth_error_set(err, ENOMEM, "descriptors");
	gen_open(&g, true);
	for (int i = 0; i < 3; i++) {
		char p[64], link[PATH_MAX];
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, i);
		ssize_t n = readlink(p, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		gen_str(&g, n > 0 ? link : "/dev/null");
	}
	gen_close(&g, true);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (gen_finish(&g, &text, &len) < 0)
		return berth_error_set(err, ENOMEM, "descriptors");
	int r = write_file_atomic_at(imgfd, CRIU_DESCRIPTORS, text, len, 0600);
	if (r < 0)
		return berth_error_set(err, -r, "write %s", CRIU_DESCRIPTORS);
	return 0;
}

/*
 * berth.net: eth0's addresses in the image dir, for the restore to ask
 * berth-net for the same ones (CRIU keeps no address of a namespace it is
 * told is external, and a lower one may be free by then).
 */
static int write_net_addresses(int dirfd, int imgfd, pid_t pid, struct berth_error **err)
{
	if (faccessat(dirfd, BERTH_NET_STATE_FILE, F_OK, 0) < 0)
		return 0;
	_cleanup_free_ char *text = NULL;
	int r = net_addresses(pid, &text, err);
	if (r < 0)
		return r;
	r = write_file_atomic_at(imgfd, CRIU_NET_ADDRESSES, text, strlen(text), 0600);
	if (r < 0)
		return berth_error_set(err, -r, "write %s", CRIU_NET_ADDRESSES);
	return 0;
}

/*
 * A CRIU request failed: add the cause from CRIU's log (its last error,
 * when the answer did not carry it) and where the log is.
 */
static int criu_failed(struct berth_error **err, int logfd, const char *logdir, const char *log)
{
	char why[512];
	criu_log_error(logfd, log, why, sizeof(why));
	_cleanup_(berth_error_freep) struct berth_error *e = TAKE_PTR(*err);
	int code = e ? e->code : EIO;
	const char *msg = e ? e->msg : "criu failed";
	if (*why && !strstr(msg, why))
		return berth_error_setx(err, code, "%s: %s (log: %s/%s)", msg, why, logdir, log);
	return berth_error_setx(err, code, "%s (log: %s/%s)", msg, logdir, log);
}

/*
 * A network namespace berth does not leave to CRIU: one joined by path, or
 * one berth-net set up (CRIU would make its veth again, without the host end's
 * bridge and lease); restore provides it again under CRIU_EXT_NETNS.
 */
static bool netns_is_external(int dirfd, const struct berth_spec *spec)
{
	const struct berth_namespace *ns = spec ? spec_find_ns(spec, BERTH_NS_NET) : NULL;
	return (ns && ns->path) || faccessat(dirfd, BERTH_NET_STATE_FILE, F_OK, 0) == 0;
}

/* "10.0.0.1:27" -> address and port (the string is cut). */
static int split_page_server(char *s, const char **ret_addr, int *ret_port)
{
	char *colon = strrchr(s, ':');
	char *end = NULL;
	if (!colon || colon == s)
		return -EINVAL;
	long port = strtol(colon + 1, &end, 10);
	if (!*(colon + 1) || *end || port <= 0 || port > 65535)
		return -EINVAL;
	*colon = '\0';
	*ret_addr = s;
	*ret_port = (int)port;
	return 0;
}

/*
 * --status-fd: CRIU opens it through /proc/<pid>/fd of berth, so it must be
 * one of berth's fds, open for writing; -1: none. Checked before the dump,
 * which CRIU would otherwise refuse half-way with a message about /proc.
 */
static int status_fd_check(int fd, struct berth_error **err)
{
	if (fd < 0)
		return 0;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return berth_error_set(err, errno, "--status-fd: %d is not an open file descriptor",
				       fd);
	if ((fl & O_ACCMODE) == O_RDONLY)
		return berth_error_setx(err, EBADF, "--status-fd: %d is not open for writing", fd);
	return 0;
}

struct checkpoint_notify {
	int state_fd, images_fd;
};

/*
 * CRIU's notifications during a dump. At post-dump the tree is still frozen
 * (killed or let run after our answer): the moment to copy an ephemeral
 * overlay layer into the images. If the copy fails, the answer makes CRIU
 * fail the dump and let the container run on.
 */
static int checkpoint_notify(void *data, const char *script, pid_t pid, int fd,
			     struct berth_error **err)
{
	const struct checkpoint_notify *cn = data;
	(void)pid;
	if (fd >= 0) /* a dump's notifications carry none; one is not ours to keep */
		close(fd);
	if (streq(script, "post-dump"))
		return overlay_save_upper(cn->state_fd, cn->images_fd, err);
	return 0;
}

static int checkpoint_locked(struct berth_context *ctx, int dirfd, const struct berth_state *s,
			     const struct berth_checkpoint_opts *o, struct berth_error **err)
{
	const char *status = state_status(dirfd, s);
	if (!streq(status, "running"))
		return berth_error_setx(err, EINVAL, "container is %s, not running", status);
	struct criu_opts co = {
		.type = o->pre_dump ? CRIU_REQ_PRE_DUMP : CRIU_REQ_DUMP,
		.images_fd = -EBADF,
		.work_fd = -EBADF,
		.pid = s->pid,
		.root = s->rootfs,
		.log_file = o->pre_dump ? "pre-dump.log" : "dump.log",
		.parent_img = o->parent_path,
		.leave_running = o->leave_running || o->pre_dump,
		.ext_unix_sk = o->ext_unix_sk,
		.tcp_established = o->tcp_established,
		.shell_job = o->shell_job,
		.file_locks = o->file_locks,
		.track_mem = o->pre_dump || o->parent_path,
		.auto_dedup = o->auto_dedup,
		.lazy_pages = o->lazy_pages,
		.cg_mode = CRIU_CG_SOFT,
		.status_fd = o->status_fd >= 0 ? o->status_fd : -EBADF,
		/* frozen as a whole, nothing forks while CRIU seizes it task by task */
		.freeze_cgroup = s->cgroup,
	};
	int r = criu_opts_set_modes(&co, o->manage_cgroups_mode, o->empty_ns, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *ps = o->page_server ? strdup(o->page_server) : NULL;
	if (o->page_server && (!ps || split_page_server(ps, &co.ps_address, &co.ps_port) < 0))
		return berth_error_setx(err, EINVAL, "--page-server: \"%s\" is not ADDRESS:PORT",
					o->page_server);
	if (o->lazy_pages && !o->page_server && o->status_fd < 0)
		return berth_error_setx(err, EINVAL,
					"--lazy-pages needs --page-server or --status-fd (where "
					"CRIU says that the pages are ready)");
	r = status_fd_check(o->status_fd, err);
	if (r >= 0 && o->lazy_pages)
		r = criu_check_lazy_pages(err);
	if (r < 0)
		return r;

	_cleanup_(spec_freep) struct berth_spec *spec = NULL;
	r = load_spec_copy(dirfd, &spec);
	if (r < 0)
		return berth_error_set(err, -r, "read the saved config.json");
	/* the terminal's master is the engine's (conmon's), never the container's: CRIU
	 * dumps the slave alone, and restore hands a new master to --console-socket */
	co.orphan_pts_master = spec->process.terminal;
	const char *img = o->image_path ? o->image_path : "checkpoint";
	_cleanup_close_ int imgfd = -EBADF, workfd = -EBADF;
	r = open_dir_p(img, &imgfd, err);
	if (r >= 0 && o->work_path)
		r = open_dir_p(o->work_path, &workfd, err);
	if (r < 0)
		return berth_error_prefix(err, "image path");
	co.images_fd = imgfd;
	co.work_fd = workfd;

	struct criu_pair *mnts = NULL;
	size_t n_mnts = 0;
	if (criu_bind_mounts(spec, s->bundle, false, &mnts, &n_mnts) < 0)
		return berth_error_set(err, ENOMEM, "mounts");
	co.ext_mnt = mnts;
	co.n_ext_mnt = n_mnts;
	char ext[64];
	const char *externals[1];
	if (netns_is_external(dirfd, spec)) {
		char p[64];
		struct stat st;
		snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)s->pid);
		if (stat(p, &st) < 0) {
			criu_pairs_free(mnts, n_mnts);
			return berth_error_set(err, errno, "its network namespace");
		}
		snprintf(ext, sizeof(ext), "net[%llu]:%s", (unsigned long long)st.st_ino,
			 CRIU_EXT_NETNS);
		externals[0] = ext;
		co.external = externals;
		co.n_external = 1;
	}
	r = write_descriptors(imgfd, s->pid, err);
	struct checkpoint_notify cn = { .state_fd = dirfd, .images_fd = imgfd };
	if (r >= 0)
		r = write_net_addresses(dirfd, imgfd, s->pid, err);
	if (r >= 0)
		r = criu_call(&co, NULL, o->pre_dump ? NULL : checkpoint_notify, &cn, NULL, err);
	criu_pairs_free(mnts, n_mnts);
	if (r < 0)
		return criu_failed(err, workfd >= 0 ? workfd : imgfd,
				   o->work_path ? o->work_path : img, co.log_file);
	if (!co.leave_running)
		wait_init_gone(s);
	logf_(ctx, BERTH_LOG_DEBUG, "checkpoint \"%s\": images in \"%s\"", s->id, img);
	return 0;
}

int berth_checkpoint(struct berth_context *ctx, const struct berth_checkpoint_opts *o,
		     struct berth_error **err)
{
	_cleanup_close_ int dirfd = -EBADF;
	struct berth_state *s = NULL;
	int r = state_open_read(ctx, o->id, &dirfd, &s, err);
	if (r < 0)
		return r;
	r = checkpoint_locked(ctx, dirfd, s, o, err);
	berth_state_free(s);
	if (r < 0)
		return berth_error_prefix(err, "checkpoint \"%s\"", o->id);
	return 0;
}

/* What restore adds to a create. */
struct restore_ctx {
	struct create_ctx c;
	const struct berth_restore_opts *o;
	int imgfd, workfd;
	char *stdio[3]; /* descriptors.json */
	pid_t holder;	/* holds the fresh network namespace of berth.net until CRIU has it */
	bool hooks_ran;
	char *criu_root; /* <state>/criu-root */
};

static void restore_root_dir_remove(struct restore_ctx *rc);

static void restore_ctx_done(struct restore_ctx *rc)
{
	restore_root_dir_remove(rc);
	free(rc->criu_root);
	closep(&rc->imgfd);
	closep(&rc->workfd);
	for (int i = 0; i < 3; i++)
		free(rc->stdio[i]);
	if (rc->holder > 0) {
		kill(rc->holder, SIGKILL);
		waitpid(rc->holder, NULL, 0);
	}
	create_ctx_done(&rc->c);
}

/*
 * A file of berth's (or runc's) in the image dir, which is not trusted: a
 * regular file only, never a symlink out of it or a FIFO that blocks. 0 when
 * there is none.
 */
static int read_image_file(int imgfd, const char *name, size_t max, char **ret,
			   struct berth_error **err)
{
	char why[128];
	size_t len = 0;
	int r = read_regular_file_at(imgfd, name, max, ret, &len, why, sizeof(why));
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return berth_error_setx(err, -r, "%s %s", name, why);
	return 1;
}

/* descriptors.json of the checkpoint, when there is one (runc's, or berth's). */
static int read_descriptors(struct restore_ctx *rc, struct berth_error **err)
{
	_cleanup_free_ char *text = NULL;
	int r = read_image_file(rc->imgfd, CRIU_DESCRIPTORS, 1 << 20, &text, err);
	if (r <= 0)
		return r;
	char ebuf[128];
	yajl_val v = yajl_tree_parse(text, ebuf, sizeof(ebuf));
	if (!YAJL_IS_ARRAY(v)) {
		yajl_tree_free(v);
		return berth_error_setx(err, EBADMSG, "%s: not an array of strings",
					CRIU_DESCRIPTORS);
	}
	for (size_t i = 0; i < v->u.array.len && i < 3; i++)
		if (YAJL_IS_STRING(v->u.array.values[i]) &&
		    !(rc->stdio[i] = strdup(v->u.array.values[i]->u.string))) {
			yajl_tree_free(v);
			return berth_error_set(err, ENOMEM, "descriptors");
		}
	yajl_tree_free(v);
	return 0;
}

/* The addresses the checkpoint kept (CRIU_NET_ADDRESSES), for berth-net to give again. */
static int read_net_addresses(struct restore_ctx *rc, struct berth_error **err)
{
	_cleanup_free_ char *text = NULL;
	int r = read_image_file(rc->imgfd, CRIU_NET_ADDRESSES, 4096, &text, err);
	if (r <= 0)
		return r; /* 0: a checkpoint without berth.net, or runc's */
	return net_keep_addresses(rc->c.net, text, CRIU_NET_ADDRESSES, err);
}

/*
 * berth.net: a fresh network namespace, held by a child of ours, with the
 * veth and the addresses berth-net gives (those of the checkpoint, see
 * read_net_addresses). CRIU puts the container in it (CRIU_EXT_NETNS).
 */
static int restore_netns(struct restore_ctx *rc, struct berth_error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return berth_error_set(err, errno, "pipe");
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		/* a berth killed mid-restore must not leave it holding the namespace */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		char ok = unshare(CLONE_NEWNET) == 0 && ns_loopback_up(NULL) == 0;
		if (write(p[1], &ok, 1) != 1 || !ok)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return berth_error_set(err, errno, "fork");
	}
	rc->holder = pid;
	char ok = 0;
	ssize_t n = read(p[0], &ok, 1);
	close(p[0]);
	if (n != 1 || !ok)
		return berth_error_setx(err, EIO, "make a network namespace");
	return net_setup(rc->c.net, pid, rc->c.state_fd, &rc->c.netns_fd, err);
}

/* In the restored init's mount namespace: make "/" read-only again (CRIU leaves it writable). */
static int restore_root_readonly(pid_t pid, struct berth_error **err)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_error_set(err, errno, "open its mount namespace");
	pid_t child = fork();
	if (child < 0)
		return berth_error_set(err, errno, "fork");
	if (child == 0) {
		struct statvfs sv;
		if (setns(fd, CLONE_NEWNS) < 0 || statvfs("/", &sv) < 0)
			_exit(1);
		unsigned long keep = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME |
						  ST_NODIRATIME | ST_RELATIME);
		_exit(mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL) < 0);
	}
	int st = 0;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return berth_error_setx(err, EPERM, "make its root read-only again");
	return 0;
}

/*
 * CRIU restores onto a root of its own, <state>/criu-root: the rootfs (or
 * its overlay) is mounted there in the criu swrk child's own mount namespace
 * (restore_mount_root), which dies with it. So nothing of it is ever in
 * ours, even when berth is killed mid-way; only the empty directory is, and
 * delete removes it with the state dir.
 */
static int restore_root_dir(struct restore_ctx *rc, struct berth_error **err)
{
	struct create_ctx *c = &rc->c;
	if (mkdirat(c->state_fd, CRIU_ROOT, 0700) < 0 && errno != EEXIST)
		return berth_error_set(err, errno, "make %s", CRIU_ROOT);
	_cleanup_free_ char *dir = path_join(c->root, c->id);
	rc->criu_root = dir ? path_join(dir, CRIU_ROOT) : NULL;
	if (!rc->criu_root)
		return berth_error_set(err, ENOMEM, "%s", CRIU_ROOT);
	return 0;
}

static void restore_root_dir_remove(struct restore_ctx *rc)
{
	if (rc->c.state_fd >= 0)
		unlinkat(rc->c.state_fd, CRIU_ROOT, AT_REMOVEDIR);
}

/*
 * In the criu swrk child, in its new mount namespace ("/" already a slave):
 * the container's root on criu-root as create makes it (the overlay of
 * berth.rootfs.lower, else a bind of root.path), with the targets
 * of the bind mounts made in it (a fresh rootfs lacks those create made).
 */
static int restore_mount_root(void *data, struct berth_error **err)
{
	struct restore_ctx *rc = data;
	struct create_ctx *c = &rc->c;
	int r = 0;
	if (c->overlay)
		r = overlay_mount(c->overlay, rc->criu_root, err);
	else if (mount(c->rootfs, rc->criu_root, NULL, MS_BIND | MS_REC, NULL) < 0)
		r = berth_error_set(err, errno, "bind the root filesystem on \"%s\"",
				    rc->criu_root);
	if (r < 0)
		return r;
	/* a slave, not private: CRIU copies criu-root's master to the restored root,
	 * which had the host's peer group as its master where "/" is shared (systemd) */
	if (mount(NULL, rc->criu_root, NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return berth_error_set(err, errno, "make \"%s\" a slave", rc->criu_root);
	_cleanup_close_ int root_fd = open(rc->criu_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return berth_error_set(err, errno, "root filesystem \"%s\"", rc->criu_root);
	return rootfs_make_bind_targets(c->spec, c->bundle, root_fd, err);
}

/* CRIU's notifications during a restore: what create does at the same points. */
static int restore_notify(void *data, const char *script, pid_t pid, int fd,
			  struct berth_error **err)
{
	struct restore_ctx *rc = data;
	struct create_ctx *c = &rc->c;
	_cleanup_close_ int owned = fd;
	if (streq(script, "setup-namespaces") && pid > 0) {
		/* the spec's create: prestart and createRuntime once the namespaces exist */
		c->pid = pid;
		_cleanup_free_ char *hs = spec_state_json(c, "creating");
		if (!hs)
			return berth_error_set(err, ENOMEM, "state");
		int r = hooks_run(&c->spec->hooks, BERTH_HOOK_PRESTART, hs, err);
		if (r >= 0)
			r = hooks_run(&c->spec->hooks, BERTH_HOOK_CREATE_RUNTIME, hs, err);
		rc->hooks_ran = r >= 0;
		return r;
	}
	if (streq(script, "orphan-pts-master")) {
		if (owned < 0)
			return berth_error_setx(err, EBADMSG, "criu sent no terminal");
		if (rc->o->console_socket)
			return terminal_send_to_socket(rc->o->console_socket, owned, err);
		if (c->relay_terminal) /* berth-shim serves it */
			c->console_fd = TAKE_FD(owned);
		return 0;
	}
	if (streq(script, "post-restore") && pid > 0) {
		c->pid = pid;
		if (c->spec->root_readonly)
			return restore_root_readonly(pid, err);
	}
	return 0;
}

/* The cgroup's path below its hierarchy, as CRIU's cg_root takes it. */
static const char *cgroup_rel(const char *path)
{
	static const char *const mnt[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup/freezer",
					   "/sys/fs/cgroup" };
	for (size_t i = 0; path && i < ELEMENTSOF(mnt); i++) {
		size_t n = strlen(mnt[i]);
		if (strncmp(path, mnt[i], n) == 0 && path[n] == '/')
			return path + n;
	}
	return NULL;
}

static int restore_container(struct restore_ctx *rc, struct berth_error **err)
{
	struct create_ctx *c = &rc->c;
	const struct berth_restore_opts *o = rc->o;
	int r;

	struct criu_opts co = {
		.type = CRIU_REQ_RESTORE,
		.images_fd = -EBADF,
		.work_fd = -EBADF,
		.log_file = "restore.log",
		.ext_unix_sk = o->ext_unix_sk,
		.tcp_established = o->tcp_established,
		.shell_job = o->shell_job,
		.file_locks = o->file_locks,
		.auto_dedup = o->auto_dedup,
		.lazy_pages = o->lazy_pages,
		.rst_sibling = true,
		.cg_mode = CRIU_CG_SOFT,
		.status_fd = -EBADF,
	};
	r = criu_opts_set_modes(&co, o->manage_cgroups_mode, o->empty_ns, err);
	if (r < 0)
		return r;
	/* strict makes CRIU refuse cgroups that exist, and berth has made the container's
	 * (with the limits of config.json) before CRIU runs: soft, as runc does */
	if (co.cg_mode == CRIU_CG_STRICT)
		co.cg_mode = CRIU_CG_SOFT;
	_cleanup_free_ char *criu = NULL;
	r = criu_find(&criu, err);
	if (r >= 0 && o->lazy_pages)
		r = criu_check_lazy_pages(err);
	if (r < 0)
		return r;

	/* the checkpoint first: without one nothing is made */
	const char *img = o->image_path ? o->image_path : "checkpoint";
	rc->imgfd = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rc->imgfd < 0)
		return berth_error_set(err, errno, "image path \"%s\"", img);
	if (faccessat(rc->imgfd, "inventory.img", F_OK, 0) < 0)
		return berth_error_setx(err, ENOENT, "image path \"%s\": no checkpoint there (%s)",
					img, "no inventory.img");
	if (o->work_path) {
		r = open_dir_p(o->work_path, &rc->workfd, err);
		if (r < 0)
			return berth_error_prefix(err, "work path");
	}
	/* CRIU fetches the pages from `criu lazy-pages`, over its socket in the work dir */
	if (o->lazy_pages &&
	    faccessat(rc->workfd >= 0 ? rc->workfd : rc->imgfd, CRIU_LAZY_SOCKET, F_OK, 0) < 0)
		return berth_error_setx(err, ENOENT,
					"--lazy-pages: no %s in \"%s\" (start `criu lazy-pages` "
					"on these images first)",
					CRIU_LAZY_SOCKET, o->work_path ? o->work_path : img);
	r = read_descriptors(rc, err);
	if (r < 0)
		return r;

	r = berth_id_check(c->id, err);
	if (r >= 0)
		r = state_root_check(c->root, err);
	if (r >= 0)
		r = create_prepare(c, err);
	if (r < 0)
		return r;
	r = create_state_dir(c, err);
	if (r >= 0)
		r = overlay_make_dirs(c->overlay, c->state_fd, err);
	if (r >= 0)
		r = overlay_load_upper(c->overlay, c->state_fd, rc->imgfd, err);
	if (r < 0)
		return r;
	_cleanup_(resources_freep) struct berth_resources *res = NULL;
	const char *rtext = c->spec->linux_.resources.text;
	r = resources_parse(rtext, rtext ? strlen(rtext) : 0, "config.json: linux.resources", &res,
			    err);
	if (r >= 0)
		r = create_cgroup(c, res, err);
	if (r < 0)
		return r;

	struct criu_inherit inherit[4];
	size_t n_inherit = 0;
	for (int i = 0; i < 3; i++)
		if (rc->stdio[i] && strncmp(rc->stdio[i], "pipe:", 5) == 0)
			inherit[n_inherit++] = (struct criu_inherit){ rc->stdio[i], i };
	if (c->net) {
		r = read_net_addresses(rc, err);
		if (r >= 0)
			r = restore_netns(rc, err);
		if (r < 0)
			return r;
		inherit[n_inherit++] = (struct criu_inherit){ CRIU_EXT_NETNS, c->netns_fd };
	} else if (c->ns.join_fd[BERTH_NS_NET] >= 0) {
		inherit[n_inherit++] =
			(struct criu_inherit){ CRIU_EXT_NETNS, c->ns.join_fd[BERTH_NS_NET] };
	}
	struct criu_pair *mnts = NULL;
	size_t n_mnts = 0;
	if (criu_bind_mounts(c->spec, c->bundle, true, &mnts, &n_mnts) < 0)
		return berth_error_set(err, ENOMEM, "mounts");
	co.images_fd = rc->imgfd;
	co.work_fd = rc->workfd;
	co.cg_root = cgroup_rel(c->cg_path);
	co.ext_mnt = mnts;
	co.n_ext_mnt = n_mnts;
	co.inherit = inherit;
	co.n_inherit = n_inherit;
	co.orphan_pts_master = c->spec->process.terminal;
	struct criu_spawn sp = {
		.cgroup = c->cg_path,
		.no_new_privs = c->spec->process.no_new_privileges,
		.mntns_setup = restore_mount_root,
		.mntns_data = rc,
	};
	pid_t pid = 0;
	r = restore_root_dir(rc, err);
	if (r >= 0) {
		co.root = rc->criu_root;
		r = criu_call(&co, &sp, restore_notify, rc, &pid, err);
	}
	restore_root_dir_remove(rc);
	criu_pairs_free(mnts, n_mnts);
	if (rc->holder > 0) {
		kill(rc->holder, SIGKILL);
		waitpid(rc->holder, NULL, 0);
		rc->holder = 0;
	}
	if (r < 0)
		return criu_failed(err, rc->workfd >= 0 ? rc->workfd : rc->imgfd,
				   o->work_path ? o->work_path : img, co.log_file);
	c->child = c->pid = pid;
	r = create_write_state(c, false, err);
	if (r < 0)
		return r;
	struct berth_state *s = NULL;
	r = state_read(c->state_fd, c->id, &s, err);
	if (r < 0)
		return r;
	s->started = true;
	r = state_write(c->state_fd, s, err);
	berth_state_free(s);
	if (r < 0)
		return r;
	if (o->pid_file) {
		r = write_pid_file(o->pid_file, c->pid);
		if (r < 0)
			return berth_error_set(err, -r, "pid file \"%s\"", o->pid_file);
	}
	logf_(c->ctx, BERTH_LOG_DEBUG, "restored container \"%s\" with init pid %d", c->id,
	      (int)c->pid);
	return 0;
}

/* Set up rc and restore the container: relay for berth-shim (it serves the terminal). */
static int do_restore(struct berth_context *ctx, const struct berth_restore_opts *o,
		      const struct berth_create_opts *co, bool relay, struct restore_ctx *rc,
		      struct berth_error **err)
{
	*rc = (struct restore_ctx){
		.c = {
			.ctx = ctx,
			.opts = co,
			.root = state_root(ctx),
			.id = o->id,
			.state_fd = -EBADF,
			.listen_fd = -EBADF,
			.sock = { -EBADF, -EBADF },
			.pidfd = -EBADF,
			.netns_fd = -EBADF,
			.relay_terminal = relay,
			.restoring = true,
			.console_fd = -EBADF,
			.notify_fd = -EBADF,
			.exe = { .fd = -EBADF },
		},
		.o = o,
		.imgfd = -EBADF,
		.workfd = -EBADF,
	};
	for (int i = 0; i < _BERTH_NS_MAX; i++)
		rc->c.ns.join_fd[i] = -EBADF;
	int r = restore_container(rc, err);
	if (r < 0) {
		restore_root_dir_remove(rc);
		create_rollback(&rc->c);
		berth_error_prefix(err, "restore \"%s\"", o->id ? o->id : "");
	}
	return r;
}

static struct berth_create_opts restore_create_opts(const struct berth_restore_opts *o)
{
	return (struct berth_create_opts){
		.id = o->id,
		.bundle = o->bundle,
		.pid_file = o->pid_file,
		.console_socket = o->console_socket,
		.no_pivot = o->no_pivot,
	};
}

int shim_restore(struct berth_context *ctx, const struct berth_restore_opts *o, pid_t *ret_pid,
		 int *ret_console_fd, struct berth_error **err)
{
	const struct berth_create_opts co = restore_create_opts(o);
	struct restore_ctx rc;
	int r = do_restore(ctx, o, &co, true, &rc, err);
	if (r >= 0) {
		*ret_pid = rc.c.pid;
		*ret_console_fd = TAKE_FD(rc.c.console_fd);
	}
	restore_ctx_done(&rc);
	return r;
}

int berth_restore(struct berth_context *ctx, const struct berth_restore_opts *o, int *ret_status,
		  struct berth_error **err)
{
	*ret_status = 0;
	if (o->shim)
		return berth_restore_shim(ctx, o, err);
	const struct berth_create_opts co = restore_create_opts(o);
	sigset_t fwd, old;
	proc_forwarded_sigset(&fwd);
	sigprocmask(SIG_BLOCK, &fwd, &old);
	_cleanup_close_ int sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
	struct restore_ctx rc;
	int r = do_restore(ctx, o, &co, false, &rc, err);
	if (r < 0 || o->detach)
		goto out;
	/* in the foreground, as berth run: wait with signals passed on, then delete */
	closep(&rc.c.state_fd);
	rc.c.pidfd = proc_pidfd_open(rc.c.pid);
	struct proc_wait w = {
		.pid = rc.c.pid,
		.pidfd = rc.c.pidfd,
		.sigfd = sfd,
		.extra_fd = -EBADF,
	};
	r = rc.c.pidfd < 0 ? rc.c.pidfd : proc_wait_forward(&w);
	if (r < 0) {
		berth_error_set(err, -r, "restore \"%s\": wait", o->id);
		goto out;
	}
	*ret_status = r;
	r = berth_delete(ctx, o->id, true, err);
	if (r < 0)
		berth_error_prefix(err, "restore \"%s\"", o->id);
out:
	restore_ctx_done(&rc);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
