/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libberth's side of the wire (util/wire.h): send a message, or wait for the
 * one expected and turn a WIRE_ERROR {errno, message} into a berth_error.
 * A forked child sends its errors up as WIRE_ERROR instead of printing.
 */
#pragma once

#include <stdint.h>

#include "berth/error.h"
#include "util/wire.h"

int sync_send(int fd, enum wire_type type, int32_t value, const char *text);
/* Send a message carrying passfd (SCM_RIGHTS) and text (may be NULL). */
int sync_send_fd(int fd, enum wire_type type, int passfd, const char *text);
/* Send an error up (child side); never fails loudly. */
void sync_send_error(int fd, const struct berth_error *e);

/*
 * Receive one message from peer (a name for errors: "container init") and
 * expect type. A WIRE_ERROR becomes *err with its errno and message as is;
 * a closed socket "<peer> exited before <what>"; another type, or fds where
 * none were due, EPROTO. On success *ret gets the message (wire_msg_done()).
 */
int sync_expect_msg(int fd, enum wire_type type, const char *peer, const char *what,
		    struct wire_msg *ret, struct berth_error **err);
/* The same from the container init; ret_value and ret_text (malloc'd or NULL) may be NULL. */
int sync_expect(int fd, enum wire_type type, int32_t *ret_value, char **ret_text, const char *what,
		struct berth_error **err);
/*
 * Like sync_expect() for a message sent with sync_send_fd(): *ret_fd gets the
 * passed fd (O_CLOEXEC); the call fails with EPROTO if no fd came.
 */
int sync_expect_fd(int fd, enum wire_type type, int *ret_fd, char **ret_text, const char *what,
		   struct berth_error **err);
/*
 * After the last message: wait until peer closes its end (it executed its
 * program: the socket was O_CLOEXEC); 0 then. With ret_fd, a message of
 * fd_type carrying an fd may come first: 1, and *ret_fd gets the fd. A
 * WIRE_ERROR becomes *err as sync_expect_msg() makes it, anything else EPROTO.
 */
int sync_expect_end(int fd, const char *peer, enum wire_type fd_type, int *ret_fd,
		    struct berth_error **err);
