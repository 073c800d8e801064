/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one message format between berth's processes: berth and the container
 * init (create, exec), `berth start` and the waiting init (start.sock), the
 * child that becomes berth-shim and berth (its report), berth and berth-net.
 * Each message is one SOCK_SEQPACKET record: a header (magic, type, number of
 * fds, an integer, the text's length), then the text; fds ride along with
 * SCM_RIGHTS. libc only: berth-shim and berth-net link it too.
 */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WIRE_MAGIC    0x68747262u /* "brth" in memory order on little-endian */
#define WIRE_MAX_TEXT 65536
#define WIRE_MAX_FDS  2

enum wire_type {
	/* any peer -> the side that waits: value = errno, text = the message */
	WIRE_ERROR = 1,

	/* container init <-> berth (create, exec) */
	WIRE_USERNS_READY, /* init -> berth: a new user ns exists, write the id maps */
	WIRE_MAPS_DONE,	   /* berth -> init */
	WIRE_PID,	   /* init -> berth: value = pid of the real init (double fork) */
	WIRE_MOUNTS_READY, /* init -> berth: run prestart and createRuntime hooks */
	WIRE_HOOKS_DONE,   /* berth -> init: text = state JSON for createContainer hooks */
	WIRE_CREATED,	   /* init -> berth: waiting for start */
	WIRE_CONSOLE,	   /* init -> berth: the pty master (fd) */
	WIRE_SECCOMP_FD,   /* init -> berth (exec, start): a seccomp notify listener (fd) */
	WIRE_EXE,	   /* berth -> init: a sealed copy of berth (fd), text = its
			    * segments: the init's exe becomes it before it runs anything */
	WIRE_COMMIT,	   /* berth -> init: the state is saved; until then a closed socket
			    * means create died, and the init exits */
	WIRE_MOUNT_SOURCE, /* berth -> init: a bind source opened with the host's credentials
			    * in the init's mount namespace (fd) */

	/* berth start -> the waiting init (start.sock): text = the state JSON. The
	 * answer is WIRE_SECCOMP_FD (a listener for the agent), then WIRE_ERROR
	 * or end of file: the init executed the container's program. */
	WIRE_START,

	/* the child that becomes berth-shim -> berth create --shim / run -d */
	WIRE_LOG,	 /* value = log level, text = a message of create */
	WIRE_SHIM_READY, /* berth-shim runs and supervises the init */

	/* berth <-> berth-net */
	WIRE_NET_REQUEST, /* berth -> berth-net: value = WIRE_NET_ADD, text = the key=value
			    * request; or WIRE_NET_DEL (berth-net reads its own record) */
	WIRE_NET_DONE,	  /* berth-net -> berth: text = what it made (key=value) */

	/* berth exec -> its helper: systemd moved it into the container's scope */
	WIRE_ATTACHED,

	WIRE_TYPE_MAX,
};

enum { WIRE_NET_ADD = 1, WIRE_NET_DEL = 2 };

struct wire_msg {
	uint32_t type;
	int32_t value;
	char *text; /* malloc'd and NUL-terminated, or NULL when empty */
	size_t len;
	int fds[WIRE_MAX_FDS]; /* O_CLOEXEC; the rest are -EBADF */
	size_t n_fds;
};

#define WIRE_MSG_INIT                      \
	{                                  \
		.fds = { -EBADF, -EBADF }, \
	}

/*
 * Encode a message's bytes (not its fds) into buf of size bytes: the header
 * then text (len bytes, no NUL inside). Returns the length, or -EMSGSIZE
 * when the text is longer than WIRE_MAX_TEXT or buf too small.
 */
ssize_t wire_encode(uint32_t type, int32_t value, const char *text, size_t len, size_t n_fds,
		    void *buf, size_t size);

/*
 * Decode n bytes of one record into *m (its text malloc'd); the fds that came
 * with it are checked against the header by wire_recv. -EBADMSG for a short
 * record, a bad magic or type, a length that disagrees with the record or a
 * NUL in the text; -ENOMEM. *m is written only on success.
 */
int wire_decode(const void *buf, size_t n, struct wire_msg *m);

/* Send one message with n_fds fds (at most WIRE_MAX_FDS). Returns 0 or -errno. */
int wire_send(int sock, uint32_t type, int32_t value, const char *text, const int *fds,
	      size_t n_fds);

/*
 * Receive one message. -EPIPE: the peer is gone; -EMSGSIZE: a record longer
 * than any message; -EBADMSG: garbage, or fds that disagree with the header
 * (every fd that came is closed). *m is written only on success.
 */
int wire_recv(int sock, struct wire_msg *m);

/* Free the text and close the fds a message still holds; m stays reusable. */
void wire_msg_done(struct wire_msg *m);

/* Take the message's first fd (the caller closes it), or -EBADF. */
int wire_msg_take_fd(struct wire_msg *m);
