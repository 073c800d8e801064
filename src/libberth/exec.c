/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth exec`: a new process in a created or running container. The berth parent
 * builds the process and clones a helper into the container's cgroup; the
 * helper joins the init's namespaces and root and forks the process, which
 * is born in the container's pid namespace and executes the program.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#include "berth/berth.h"
#include "cgroup.h"
#include "mempolicy.h"
#include "process.h"
#include "seccomp-filter.h"
#include "selfexe.h"
#include "spec.h"
#include "state.h"
#include "sync.h"
#include "systemd-scope.h"
#include "terminal.h"
#include "util/env.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"
#include "util/proc.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The namespaces of a container, in the order they are joined without pidfd support. */
static const struct {
	const char *name;
	int flag;
} ns_files[] = {
	{ "user", CLONE_NEWUSER }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
	{ "net", CLONE_NEWNET },   { "pid", CLONE_NEWPID }, { "cgroup", CLONE_NEWCGROUP },
	{ "time", CLONE_NEWTIME }, { "mnt", CLONE_NEWNS },
};

/* Everything the exec helper needs; the clone3 child gets a copy. */
struct exec_ctx {
	struct berth_context *ctx;
	const struct berth_exec_params *p;
	const char *root;
	int dirfd; /* state dir, locked until the process runs */
	struct berth_state *st;
	struct berth_spec *spec;  /* the container's saved config.json */
	struct berth_spec *pspec; /* the process file, when given */
	struct berth_process *proc;
	struct berth_seccomp *seccomp;
	pid_t init_pid;
	int init_pidfd;
	int ns_flags;	       /* namespaces of the init that are not ours */
	bool detach_in_userns; /* rootless: detach from our exe once in its user namespace */
	const char *sub_all;   /* --cgroup SUB without a controller */
	bool wait_attach;      /* rootless --systemd-cgroup: systemd moves the helper in first */
	int sock[2];
	pid_t helper, pid;
	int pidfd;
	int console_fd;
	int sigfd; /* berth's signalfd (borrowed) */
};

static void exec_ctx_done(struct exec_ctx *c)
{
	closep(&c->dirfd);
	berth_state_free(c->st);
	spec_free(c->spec);
	spec_free(c->pspec);
	berth_seccomp_free(c->seccomp);
	closep(&c->init_pidfd);
	closep(&c->sock[0]);
	closep(&c->sock[1]);
	closep(&c->pidfd);
	closep(&c->console_fd);
}

/* ---- the process to run ---- */

static int strv_len(char *const *v)
{
	int n = 0;
	while (v && v[n])
		n++;
	return n;
}

static int set_args(struct berth_process *proc, char *const *args)
{
	int n = strv_len(args);
	char **v = calloc((size_t)n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		if (!(v[i] = strdup(args[i]))) {
			strv_free(v);
			return -ENOMEM;
		}
	strv_free(proc->args);
	proc->args = v;
	proc->n_args = (size_t)n;
	return 0;
}

static int apply_overrides(struct exec_ctx *c, struct berth_error **err)
{
	const struct berth_exec_params *p = c->p;
	struct berth_process *proc = c->proc;

	if (p->args && p->args[0] && set_args(proc, p->args) < 0)
		return berth_error_set(err, ENOMEM, "exec");
	if (p->tty)
		proc->terminal = true;
	for (char *const *e = p->env; e && *e; e++) {
		if (!strchr(*e, '=') || **e == '=')
			return berth_error_setx(err, EINVAL, "exec: env \"%s\": must be KEY=VALUE",
						*e);
		if (env_set(&proc->env, &proc->n_env, *e) < 0)
			return berth_error_set(err, ENOMEM, "exec");
	}
	if (p->cwd) {
		char *d = strdup(p->cwd);
		if (!d)
			return berth_error_set(err, ENOMEM, "exec");
		free(proc->cwd);
		proc->cwd = d;
	}
	if (p->has_uid)
		proc->user.uid = p->uid;
	if (p->has_gid)
		proc->user.gid = p->gid;
	if (p->n_additional_gids > 0) {
		size_t n = proc->user.n_additional_gids + p->n_additional_gids;
		uint32_t *g = realloc(proc->user.additional_gids, n * sizeof(uint32_t));
		if (!g)
			return berth_error_set(err, ENOMEM, "exec");
		memcpy(g + proc->user.n_additional_gids, p->additional_gids,
		       p->n_additional_gids * sizeof(uint32_t));
		proc->user.additional_gids = g;
		proc->user.n_additional_gids = n;
	}
	for (char *const *cap = p->caps; cap && *cap; cap++) {
		cap_value_t v;
		if (cap_from_name(*cap, &v) < 0)
			return berth_error_setx(err, EINVAL, "exec: unknown capability \"%s\"",
						*cap);
		uint64_t bit = UINT64_C(1) << v;
		struct berth_caps *k = &proc->caps;
		/* never inheritable (CVE-2022-29162), hence never ambient */
		k->bounding |= bit;
		k->effective |= bit;
		k->permitted |= bit;
		k->has_bounding = k->has_effective = k->has_permitted = true;
	}
	if (p->no_new_privs)
		proc->no_new_privileges = true;
	return 0;
}

/* Replace a "config.json: " prefix by the name of the process file. */
static void rename_source(struct berth_error **err, const char *name)
{
	static const char pfx[] = "config.json: ";
	if (!err || !*err || strncmp((*err)->msg, pfx, sizeof(pfx) - 1) != 0)
		return;
	char *m = NULL;
	if (asprintf(&m, "process file \"%s\": %s", name, (*err)->msg + sizeof(pfx) - 1) < 0)
		return;
	free((*err)->msg);
	(*err)->msg = m;
}

static int build_process(struct exec_ctx *c, struct berth_error **err)
{
	const struct berth_exec_params *p = c->p;
	const char *name = p->process_name ? p->process_name : "process.json";
	int r;

	if (p->process_json) {
		r = spec_parse_process(p->process_json, p->process_json_len, &c->pspec, err);
		if (r < 0) {
			rename_source(err, name);
			return r;
		}
		c->proc = &c->pspec->process;
	} else {
		if (!p->args || !p->args[0])
			return berth_error_setx(err, EINVAL,
						"exec: no command given (and no --process)");
		/* the container's process is the base, as runc does: env, user, caps, rlimits */
		c->proc = &c->spec->process;
		c->proc->terminal = false;
		c->proc->has_console_size = false;
	}
	r = apply_overrides(c, err);
	if (r < 0)
		return r;
	r = spec_validate_process(c->proc, err);
	if (r < 0) {
		if (p->process_json)
			rename_source(err, name);
		return r;
	}

	const struct berth_process *proc = c->proc;
	r = process_lsm_check(proc, err);
	if (r < 0)
		return berth_error_prefix(err, "exec");
	if (proc->terminal && p->detach && !p->console_socket)
		return berth_error_setx(err, EINVAL,
					"exec: a terminal with --detach needs --console-socket");
	if (proc->terminal && !p->console_socket)
		terminal_size_from_caller(c->proc);
	if (!proc->terminal && p->console_socket)
		return berth_error_setx(err, EINVAL,
					"exec: --console-socket needs a terminal (--tty or "
					"process.terminal)");
	return 0;
}

/* ---- the helper (clone3 child, in the container's cgroup) and the process ---- */

static _noreturn_ void child_fail(int fd, struct berth_error *e, int code)
{
	sync_send_error(fd, e);
	_exit(code);
}

/* Join the init's namespaces: all at once through its pidfd, else one by one through /proc. */
static int join_namespaces(const struct exec_ctx *c, struct berth_error **err)
{
	if (c->ns_flags == 0)
		return 0;
	if (setns(c->init_pidfd, c->ns_flags) == 0)
		return 0;
	if (errno != EINVAL && errno != EBADF)
		return berth_error_set(err, errno, "join the namespaces of pid %d",
				       (int)c->init_pid);

	/* before 5.8: open them all first, the user namespace may hide the others */
	int fds[ELEMENTSOF(ns_files)];
	int r = 0;
	for (size_t i = 0; i < ELEMENTSOF(ns_files); i++) {
		fds[i] = -EBADF;
		if (!(c->ns_flags & ns_files[i].flag))
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)c->init_pid, ns_files[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0 && r == 0)
			r = berth_error_set(err, errno, "open \"%s\"", path);
	}
	for (size_t i = 0; i < ELEMENTSOF(ns_files) && r == 0; i++)
		if (fds[i] >= 0 && setns(fds[i], ns_files[i].flag) < 0)
			r = berth_error_set(err, errno, "join %s namespace", ns_files[i].name);
	for (size_t i = 0; i < ELEMENTSOF(ns_files); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

struct exec_seccomp {
	const struct berth_seccomp *filter;
	int sock;
};

/* before_exec: load the container's filter; a notify listener goes up to berth. */
static int exec_load_seccomp(void *data, struct berth_error **err)
{
	const struct exec_seccomp *d = data;
	_cleanup_close_ int nfd = -EBADF;
	int r = berth_seccomp_load(d->filter, &nfd, err);
	if (r < 0 || nfd < 0)
		return r;
	r = sync_send_fd(d->sock, WIRE_SECCOMP_FD, nfd, NULL);
	if (r < 0)
		return berth_error_set(err, -r, "seccomp: send the listener");
	return 0;
}

/* The process itself: in every namespace of the container, under its root. */
static _noreturn_ void process_main(struct exec_ctx *c)
{
	struct berth_error *e = NULL;
	const struct berth_process *proc = c->proc;
	int fd = c->sock[1];

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* a session of its own, as runc gives every process (a terminal's is made below) */
	if (!proc->terminal && setsid() < 0) {
		berth_error_set(&e, errno, "setsid");
		child_fail(fd, e, 1);
	}
	if (proc->terminal) {
		_cleanup_close_ int master = -EBADF, slave = -EBADF;
		if (terminal_open(proc, !c->p->console_socket, &master, &slave, &e) < 0)
			child_fail(fd, e, 1);
		if (sync_send_fd(fd, WIRE_CONSOLE, master, NULL) < 0)
			_exit(1);
		if (terminal_attach(TAKE_FD(slave), proc->user.uid, false, &e) < 0)
			child_fail(fd, e, 1);
	} else if (terminal_own_stdio(proc->user.uid, &e) < 0) {
		child_fail(fd, e, 1);
	}

	_cleanup_free_ char *exe = NULL;
	if (process_find_exec(proc, &exe, &e) < 0 || process_setup(proc, &e) < 0 ||
	    personality_apply(&c->spec->linux_.personality, &e) < 0 ||
	    mempolicy_apply(&c->spec->linux_.memory_policy, &e) < 0)
		child_fail(fd, e, 1);

	struct exec_seccomp sc = { .filter = c->seccomp, .sock = fd };
	struct berth_exec_opts xo = {
		.process = proc,
		.path = exe,
		.preserve_fds = c->p->preserve_fds,
		.keep_fds = &fd,
		.n_keep_fds = 1,
		.before_exec = c->seccomp ? exec_load_seccomp : NULL,
		.before_exec_data = &sc,
	};
	process_exec(&xo, &e);
	child_fail(fd, e, 127);
}

static _noreturn_ void helper_main(struct exec_ctx *c)
{
	struct berth_error *e = NULL;
	int fd = c->sock[1];

	/* until execve this is a copy of berth (CVE-2019-5736) */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	closep(&c->sock[0]);
	closep(&c->dirfd);
	closep(&c->console_fd);
	if (c->sigfd >= 0)
		close(c->sigfd);
	int rs = proc_signals_reset();
	if (rs < 0) {
		berth_error_set(&e, -rs, "reset signal mask");
		child_fail(fd, e, 1);
	}
	if (c->wait_attach &&
	    sync_expect(fd, WIRE_ATTACHED, NULL, NULL, "moving into the container's scope", &e) < 0)
		_exit(1);

	/* the init's root, to enter after its mount namespace (it may have chrooted, --no-pivot) */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root", (int)c->init_pid);
	_cleanup_close_ int root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		berth_error_set(&e, errno, "open \"%s\"", path);
		child_fail(fd, e, 1);
	}
	/* still the init the pidfd pins, so the PID was not reused for the open */
	if (proc_pidfd_signal(c->init_pidfd, 0) < 0) {
		berth_error_setx(&e, ESRCH, "container \"%s\" is not running", c->st->id);
		child_fail(fd, e, 1);
	}
	/* nothing of berth's may reach the container: no fd to resolve a cwd from (CVE-2024-21626) */
	int keep[] = { fd, c->init_pidfd, root_fd };
	int r = close_fds_from(3 + c->p->preserve_fds, keep, ELEMENTSOF(keep));
	if (r < 0) {
		berth_error_set(&e, -r, "close fds");
		child_fail(fd, e, 1);
	}

	/*
	 * Rootless, berth may point /proc/self/exe elsewhere only with the
	 * capabilities the container's user namespace gives it: join that
	 * first and detach there, before anything of the container can see us.
	 */
	if (c->detach_in_userns) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)c->init_pid);
		_cleanup_close_ int ufd = open(path, O_RDONLY | O_CLOEXEC);
		if (ufd < 0 || setns(ufd, CLONE_NEWUSER) < 0) {
			berth_error_set(&e, errno, "join the user namespace of pid %d",
					(int)c->init_pid);
			child_fail(fd, e, 1);
		}
		c->ns_flags &= ~CLONE_NEWUSER;
		if (selfexe_detach(&e) < 0)
			child_fail(fd, e, 1);
	}
	if (join_namespaces(c, &e) < 0)
		child_fail(fd, e, 1);
	closep(&c->init_pidfd);
	if (fchdir(root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		berth_error_set(&e, errno, "enter the container's root");
		child_fail(fd, e, 1);
	}
	closep(&root_fd);

	/* the process speaks on the socket only after our WIRE_PID: it waits for our exit */
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0) {
		berth_error_set(&e, errno, "pipe");
		child_fail(fd, e, 1);
	}
	/* a joined pid namespace applies to children only */
	pid_t pid = fork();
	if (pid < 0) {
		berth_error_set(&e, errno, "fork into the container");
		child_fail(fd, e, 1);
	}
	if (pid == 0) {
		char b;
		close(go[1]);
		while (read(go[0], &b, 1) < 0 && errno == EINTR)
			;
		close(go[0]);
		process_main(c);
	}
	sync_send(fd, WIRE_PID, pid, NULL);
	_exit(0);
}

/* ---- parent ---- */

static int ns_differ(pid_t pid, const char *name)
{
	char path[64];
	struct stat a, b;
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
	if (stat(path, &a) < 0)
		return errno == ENOENT ? 0 : -errno; /* no such namespace type in this kernel */
	snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	if (stat(path, &b) < 0)
		return -errno;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

/* Open the init through a pidfd (never a reused PID) and see which namespaces it does not share. */
static int open_init(struct exec_ctx *c, struct berth_error **err)
{
	c->init_pid = c->st->pid;
	c->init_pidfd = proc_pidfd_open_started(c->init_pid, c->st->pid_start_time);
	if (c->init_pidfd < 0)
		return berth_error_setx(err, ESRCH, "container \"%s\" is not running", c->st->id);
	for (size_t i = 0; i < ELEMENTSOF(ns_files); i++) {
		int r = ns_differ(c->init_pid, ns_files[i].name);
		if (r < 0)
			return berth_error_set(err, -r, "%s namespace of pid %d", ns_files[i].name,
					       (int)c->init_pid);
		if (r > 0)
			c->ns_flags |= ns_files[i].flag;
	}
	/* a container in berth's own mount namespace is entered by its root alone */
	return 0;
}

static int load_config(struct exec_ctx *c, struct berth_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = state_read_file(c->dirfd, STATE_CONFIG, BERTH_SPEC_MAX_SIZE, &text, &len, err);
	if (r < 0)
		return berth_error_prefix(err, "read the container's config");
	r = spec_parse(text, len, &c->spec, err);
	if (r < 0)
		return r;
	if (!c->spec->linux_.seccomp.text)
		return 0;
	_cleanup_free_ char *cache = path_join(c->root, ".seccomp-cache");
	if (!cache)
		return berth_error_set(err, ENOMEM, "seccomp");
	return berth_seccomp_prepare(c->spec->linux_.seccomp.text, cache, &c->seccomp, err);
}

/* Hand a seccomp notify listener to the agent at linux.seccomp.listenerPath. */
static int seccomp_agent(struct exec_ctx *c, int nfd, struct berth_error **err)
{
	_cleanup_(berth_seccomp_config_freep) struct berth_seccomp_config *sc = NULL;
	int r = berth_seccomp_parse(c->spec->linux_.seccomp.text, &sc, err);
	if (r < 0)
		return r;
	/* the state document as `berth state` prints it, from the state exec holds */
	_cleanup_free_ char *json = state_json(c->st, state_status(c->dirfd, c->st), true, NULL);
	if (!json)
		return berth_error_set(err, ENOMEM, "state");
	return berth_seccomp_send_to_agent(sc->listener_path, sc->listener_metadata, nfd, c->pid,
					   json, err);
}

/* A --cgroup SUB: below the container's cgroup, never out of it. */
static bool is_sub_path(const char *sub)
{
	for (const char *s = sub; *s;) {
		size_t n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return false;
		s += n;
		s += strspn(s, "/");
	}
	return true;
}

/*
 * Check the --cgroup arguments as runc does: "SUB" only alone, else
 * "CONTROLLER[,CONTROLLER]:SUB" (one colon). Sets c->sub_all for the former.
 */
static int check_sub_cgroups(struct exec_ctx *c, struct berth_error **err)
{
	char *const *v = c->p->sub_cgroups;
	int n = strv_len(v);
	if (n > 0 && !c->st->cgroup)
		return berth_error_setx(err, EINVAL, "--cgroup: container \"%s\" has no cgroup",
					c->st->id);
	for (int i = 0; i < n; i++) {
		const char *colon = strchr(v[i], ':');
		if (colon && strchr(colon + 1, ':'))
			return berth_error_setx(err, EINVAL, "invalid --cgroup argument \"%s\"",
						v[i]);
		if (!colon && n > 1)
			return berth_error_setx(
				err, EINVAL,
				"invalid --cgroup argument \"%s\" (missing CONTROLLER: prefix)",
				v[i]);
		if (!is_sub_path(colon ? colon + 1 : v[i]))
			return berth_error_setx(err, EINVAL,
						"--cgroup \"%s\": not a sub-cgroup path", v[i]);
		if (!colon)
			c->sub_all = v[i];
	}
	return 0;
}

/* Clone the helper, learn the process's pid and wait until it executed (or failed to). */
static int spawn(struct exec_ctx *c, struct berth_error **err)
{
	/* an ordinary user can do it only inside the container's user namespace */
	c->detach_in_userns = geteuid() != 0 && (c->ns_flags & CLONE_NEWUSER);
	int r = c->detach_in_userns ? 0 : selfexe_detach(err);
	if (r < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->sock) < 0)
		return berth_error_set(err, errno, "socketpair");

	struct clone_args ca = { .exit_signal = SIGCHLD };
	/* the process is re-parented to us when the helper exits */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	_cleanup_(berth_error_freep) struct berth_error *ce = NULL;
	long pid = c->st->cgroup
			   ? cgroup_clone3(&ca, c->st->cgroup, c->sub_all, c->p->sub_cgroups, &ce)
			   : syscall(SYS_clone3, &ca, sizeof(ca));
	/*
	 * Rootless berth outside the user manager's tree may not move a process
	 * into the container's scope (as at create): the helper starts where
	 * berth is and waits until the user's systemd has moved it there.
	 */
	if (pid == -EACCES && c->st->systemd_unit) {
		c->wait_attach = true;
		ca.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
		ca.cgroup = 0;
		pid = syscall(SYS_clone3, &ca, sizeof(ca));
	} else if (pid < 0 && c->st->cgroup) {
		if (err)
			*err = TAKE_PTR(ce);
		return (int)pid;
	}
	if (pid == 0)
		helper_main(c);
	if (pid < 0)
		return berth_error_set(err, errno, "clone3");
	c->helper = (pid_t)pid;
	closep(&c->sock[1]);
	int fd = c->sock[0];
	if (c->wait_attach) {
		r = systemd_scope_attach(c->st->systemd_unit, c->helper, c->sub_all, err);
		if (r < 0) {
			kill(c->helper, SIGKILL);
			waitpid(c->helper, NULL, 0);
			c->helper = 0;
			return r;
		}
		sync_send(fd, WIRE_ATTACHED, 0, NULL);
	}

	int32_t p = 0;
	r = sync_expect(fd, WIRE_PID, &p, NULL, "entering the container", err);
	waitpid(c->helper, NULL, 0);
	c->helper = 0;
	if (r < 0)
		return r;
	c->pid = p;
	/* the helper is reaped: the process is our child now, its PID cannot be reused */
	c->pidfd = proc_pidfd_open(c->pid);
	if (c->pidfd < 0)
		return berth_error_set(err, -c->pidfd, "open a pidfd of the process (pid %d)",
				       (int)c->pid);

	if (c->proc->terminal) {
		r = sync_expect_fd(fd, WIRE_CONSOLE, &c->console_fd, NULL, "opening its terminal",
				   err);
		if (r < 0)
			return r;
		if (c->p->console_socket) {
			r = terminal_send_to_socket(c->p->console_socket, c->console_fd, err);
			closep(&c->console_fd);
			if (r < 0)
				return r;
		}
	}
	if (c->seccomp && c->seccomp->notify) {
		_cleanup_close_ int nfd = -EBADF;
		r = sync_expect_fd(fd, WIRE_SECCOMP_FD, &nfd, NULL, "loading seccomp", err);
		if (r >= 0)
			r = seccomp_agent(c, nfd, err);
		if (r < 0)
			return r;
	}

	/* execve closes the socket: EOF means the program runs */
	return sync_expect_end(fd, "the exec'd process", 0, NULL, err);
}

static int do_exec(struct exec_ctx *c, int sfd, int *ret_status, struct berth_error **err)
{
	const struct berth_exec_params *p = c->p;
	if (p->preserve_fds < 0)
		return berth_error_setx(err, EINVAL, "preserve-fds %d: must not be negative",
					p->preserve_fds);
	int r = state_open_read(c->ctx, p->id, &c->dirfd, &c->st, err);
	if (r < 0)
		return r;
	const char *status = state_status(c->dirfd, c->st);
	if (streq(status, "paused") && !p->ignore_paused)
		return berth_error_setx(err, EBUSY,
					"container \"%s\" is paused (resume it, or use "
					"--ignore-paused)",
					p->id);
	/* as runc: a created container's init is waiting, its namespaces and root are ready */
	if (!streq(status, "running") && !streq(status, "paused") && !streq(status, "created"))
		return berth_error_setx(err, ESRCH, "container \"%s\" is not running", p->id);

	r = check_sub_cgroups(c, err);
	if (r < 0)
		return r;
	r = load_config(c, err);
	if (r < 0)
		return r;
	r = build_process(c, err);
	if (r < 0)
		return r;
	r = open_init(c, err);
	if (r < 0)
		return r;
	/*
	 * The pidfd pins the init: the lock may go. It must, for a paused
	 * container (--ignore-paused): the process only runs once `berth
	 * resume` got the lock.
	 */
	closep(&c->dirfd);
	r = spawn(c, err);
	if (r < 0)
		return r;
	if (p->pid_file) {
		r = write_pid_file(p->pid_file, c->pid);
		if (r < 0)
			return berth_error_set(err, -r, "pid file \"%s\"", p->pid_file);
	}
	if (p->detach) {
		*ret_status = c->pid;
		return 0;
	}

	if (c->console_fd >= 0) {
		struct terminal_relay tr = {
			.master = c->console_fd,
			.in_fd = STDIN_FILENO,
			.out_fd = STDOUT_FILENO,
			.pidfd = c->pidfd,
			.sigfd = sfd,
			.pid = c->pid,
			.has_size = c->proc->has_console_size,
			.rows = c->proc->console_height,
			.cols = c->proc->console_width,
		};
		r = terminal_relay(&tr, err);
		if (r < 0)
			return r;
	}
	const struct proc_wait w = {
		.pid = c->pid,
		.pidfd = c->pidfd,
		.sigfd = sfd,
		.keep_winch = c->console_fd >= 0,
		.extra_fd = -EBADF,
	};
	r = proc_wait_forward(&w);
	if (r < 0)
		return berth_error_set(err, -r, "wait for pid %d", (int)c->pid);
	*ret_status = r;
	return 0;
}

int berth_exec(struct berth_context *ctx, const struct berth_exec_params *p, int *ret_status,
	       struct berth_error **err)
{
	struct exec_ctx c = {
		.ctx = ctx,
		.p = p,
		.root = state_root(ctx),
		.dirfd = -EBADF,
		.init_pidfd = -EBADF,
		.sock = { -EBADF, -EBADF },
		.pidfd = -EBADF,
		.console_fd = -EBADF,
	};
	sigset_t fwd, old;
	_cleanup_close_ int sfd = -EBADF;

	/*
	 * Every fd of the preserved range must be the caller's: one berth opens
	 * below would land there and reach the container.
	 */
	for (int fd = 3; p->preserve_fds > 0 && fd < 3 + p->preserve_fds; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			return berth_error_setx(err, EBADF,
						"exec \"%s\": preserve-fds %d: fd %d is not open",
						p->id ? p->id : "", p->preserve_fds, fd);

	/* blocked before the clone so that nothing is lost; the process resets its mask */
	sigemptyset(&fwd);
	if (!p->detach) {
		proc_forwarded_sigset(&fwd);
		sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
	}
	sigprocmask(SIG_BLOCK, &fwd, &old);

	c.sigfd = sfd;
	/* do_exec makes us the subreaper of the process: only for this call */
	int was_subreaper = 0;
	prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper, 0, 0, 0);
	int r = do_exec(&c, sfd, ret_status, err);
	if (r < 0) {
		if (c.pid > 0) {
			/* a failed exec leaves nothing behind (the process is our child now) */
			if (c.pidfd >= 0)
				(void)proc_pidfd_signal(c.pidfd, SIGKILL);
			else
				kill(c.pid, SIGKILL); /* unreaped: still ours */
			waitpid(c.pid, NULL, 0);
		}
		berth_error_prefix(err, "exec \"%s\"", p->id ? p->id : "");
	}
	exec_ctx_done(&c);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (!was_subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	return r;
}
