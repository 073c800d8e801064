/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * process.terminal: the pty of a container process, allocated from the
 * container's own devpts instance (in the container init or an exec child,
 * after it entered the container's root), handing its master to an engine
 * over --console-socket (berth parent), or relaying it to berth's own
 * terminal in raw mode (berth run / exec in the foreground).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "spec.h"

/*
 * Open a new pty through /dev/ptmx of the current root (the container's
 * devpts instance, /dev/ptmx -> pts/ptmx), unlock it and apply
 * p->consoleSize. With relayed (berth itself relays the master, no
 * --console-socket) ONLCR is cleared, as runc does where it relays: the
 * program's "\n" reaches berth's stdout as written. *ret_master and
 * *ret_slave are O_CLOEXEC, O_NOCTTY.
 */
int terminal_open(const struct berth_process *p, bool relayed, int *ret_master, int *ret_slave,
		  struct berth_error **err);

/*
 * Make slave the controlling terminal of a new session (setsid, TIOCSCTTY)
 * and stdin, stdout and stderr of the calling process, owned by uid. With
 * console, also bind-mount it onto /dev/console (which the mount code made),
 * opened inside the current root and never through a symlink.
 * Closes slave when it is not one of 0, 1, 2.
 */
int terminal_attach(int slave, uid_t uid, bool console, struct berth_error **err);

/*
 * Without a terminal: give the pipes and sockets among fds 0-2 (what an
 * engine hands over) to uid, as runc and crun do, so that the process can
 * reopen them (/dev/stdout). Never chowns a device or a file of the host.
 * The host's /dev/null among them becomes the container's (reopened).
 */
int terminal_own_stdio(uid_t uid, struct berth_error **err);

/*
 * Connect to the unix stream socket at path (--console-socket) and send
 * master with SCM_RIGHTS, with the payload "/dev/ptmx" as runc does: conmon
 * and containerd's shim take the fd and ignore the name. Parent process.
 */
int terminal_send_to_socket(const char *path, int master, struct berth_error **err);

/*
 * For a pty that will be relayed: give p the size of berth's own terminal
 * (stdin's, else stdout's) as its consoleSize unless it has one, so that the
 * program sees it from its first instruction. No terminal: unchanged.
 */
void terminal_size_from_caller(struct berth_process *p);

struct terminal_relay {
	int master;	   /* the pty master */
	int in_fd, out_fd; /* berth's stdin and stdout */
	int pidfd;	   /* the process behind the pty: the relay ends when it exits */
	int sigfd;	   /* signalfd of forwarded signals (SIGWINCH included), or -1 */
	pid_t pid;	   /* where forwarded signals go */
	bool has_size;	   /* process.consoleSize: fixed, not copied from berth's terminal */
	unsigned rows, cols;
};

/*
 * Relay between berth's terminal and the pty until the process exits and
 * its output is drained. If in_fd is a terminal it is put in raw mode and
 * restored before returning (whatever happened). Window size: consoleSize
 * if given, else berth's terminal's, again on every SIGWINCH. Other
 * signals read from sigfd go to pid. At EOF of a stdin that is no terminal,
 * an end-of-file character is written to the pty. Returns 0 or -errno.
 */
int terminal_relay(const struct terminal_relay *r, struct berth_error **err);
