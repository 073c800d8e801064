/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Processes: pidfds, /proc/<pid>/stat start times, signal dispositions, the
 * exit status as a shell reports it, and waiting for a child while passing
 * signals on to it. libc and kernel only; used in the berth process, the
 * container's processes before exec and berth-shim.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* /proc/<pid>/stat start time (field 22), or 0 if the process is gone or a zombie. */
uint64_t proc_start_time(pid_t pid);

/* pidfd_open(2): a pidfd (close-on-exec) of pid, or -errno (-ENOSYS before Linux 5.3). */
int proc_pidfd_open(pid_t pid);
/*
 * A pidfd of pid only if pid is still the process that started at start
 * (proc_start_time()), so that a reused PID is never taken for it: -ESRCH
 * otherwise, or -errno.
 */
int proc_pidfd_open_started(pid_t pid, uint64_t start);
/* pidfd_send_signal(2) without siginfo: 0 or -errno (sig 0 only checks that it is alive). */
int proc_pidfd_signal(int pidfd, int sig);

/*
 * For a process about to exec a program: every signal back to its default
 * disposition, then an empty signal mask (in this order, so that a signal
 * pending meanwhile never runs an inherited handler). 0 or -errno.
 */
int proc_signals_reset(void);

/*
 * The signals berth (run, exec) and berth-shim pass on to the process they
 * wait for, as runc does: *ret is emptied first.
 */
void proc_forwarded_sigset(sigset_t *ret);

/*
 * Is this process without real privileges: euid != 0, or uid 0 in a user
 * namespace that is not the initial one (what rootless podman gives its
 * runtime)? The initial namespace maps all 2^32-1 ids from 0 to 0. The
 * user namespace is looked at once per process (a later unshare is not seen).
 */
bool proc_rootless(void);

/*
 * uid as the parent user namespace knows it, through /proc/self/uid_map
 * (what a peer outside, such as the user's bus, sees of us); uid itself
 * when no line maps it or the map cannot be read.
 */
uid_t proc_uid_outside(uid_t uid);

/*
 * The processes that live in the pid namespace of init (a pidfd-checked
 * container init, see proc_pidfd_open_started()), as this process's
 * /proc shows them: what a container without a cgroup is made of.
 * -EPERM if init's pid namespace is ours (nothing tells its processes
 * apart from the host's). *ret malloc'd (may be NULL when *ret_n is 0).
 */
int proc_pidns_members(pid_t init, pid_t **ret, size_t *ret_n);

/* The exit code a shell shows for a wait(2) status: the code, 128+signal, else 255. */
int proc_exit_code(int status);

/* What proc_wait_forward() waits for and what it does meanwhile. */
struct proc_wait {
	pid_t pid;	 /* our child */
	int pidfd;	 /* a pidfd of pid: readable once it exited */
	int sigfd;	 /* a signalfd: each signal read is sent on to pid; -EBADF: none */
	bool keep_winch; /* SIGWINCH is not sent on (a terminal relay has it) */
	int extra_fd;	 /* another fd to watch, or -EBADF */
	void (*on_extra)(void *data); /* called when extra_fd is readable */
	void *data;
};

/*
 * Reap w->pid and return its exit code (proc_exit_code()), passing on the
 * signals of w->sigfd until then. Returns -errno if waitpid(2) or poll(2)
 * fail (-ECHILD: pid is not our child).
 */
int proc_wait_forward(const struct proc_wait *w);
