/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Messages between berth and the container init over a SOCK_SEQPACKET
 * socketpair: each is a type, an integer and an optional text. The init
 * sends its errors up as SYNC_ERROR {errno, message} instead of printing.
 */
#pragma once

#include <stdint.h>

#include "berth/error.h"

enum sync_type {
	SYNC_ERROR = 1,	   /* child -> parent: value = errno, text = message */
	SYNC_USERNS_READY, /* child -> parent: a new user ns exists, write the id maps */
	SYNC_MAPS_DONE,	   /* parent -> child */
	SYNC_PID,	   /* child -> parent: value = pid of the real init (double fork) */
	SYNC_MOUNTS_READY, /* child -> parent: run prestart and createRuntime hooks */
	SYNC_HOOKS_DONE,   /* parent -> child: text = state JSON for createContainer hooks */
	SYNC_CREATED,	   /* child -> parent: waiting on the exec fifo */
	SYNC_CONSOLE,	   /* child -> parent: the pty master, passed with SCM_RIGHTS */
	SYNC_SECCOMP_FD,   /* child -> parent: a seccomp notify listener (exec), SCM_RIGHTS */
	SYNC_EXE,	   /* parent -> child: a sealed copy of berth (SCM_RIGHTS), text = its
			    * segments: the init's exe becomes it before it runs anything */
	SYNC_COMMIT,	   /* parent -> child: the state is saved; until then a closed socket
			    * means create died, and the init exits */
	SYNC_MOUNT_SOURCE, /* parent -> child: a bind source opened with the host's credentials
			    * in the init's mount namespace (SCM_RIGHTS) */
};

#define SYNC_MAX_TEXT 65536

int sync_send(int fd, enum sync_type type, int32_t value, const char *text);
/* Receive one message. Peer gone -> -EPIPE. text is malloc'd (may be NULL). */
int sync_recv(int fd, enum sync_type *ret_type, int32_t *ret_value, char **ret_text);
/*
 * Receive and expect type. A SYNC_ERROR becomes *err (its message as is), a
 * closed socket "container init exited before <what>".
 */
int sync_expect(int fd, enum sync_type type, int32_t *ret_value, char **ret_text, const char *what,
		struct berth_error **err);
/* Send a message carrying passfd (SCM_RIGHTS) and text (may be NULL). */
int sync_send_fd(int fd, enum sync_type type, int passfd, const char *text);
/*
 * Like sync_expect() for a message sent with sync_send_fd(): *ret_fd gets the
 * passed fd (O_CLOEXEC) and *ret_text (if not NULL) the text, malloc'd or
 * NULL; the call fails with EPROTO if no fd came.
 */
int sync_expect_fd(int fd, enum sync_type type, int *ret_fd, char **ret_text, const char *what,
		   struct berth_error **err);
/* Send an error up (child side); never fails loudly. */
void sync_send_error(int fd, const struct berth_error *e);
