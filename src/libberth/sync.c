/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libberth's use of the wire: berth (create, start, exec, the shim launcher,
 * the network helper's caller) and the container init before it executes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"
#include "util/macro.h"

int sync_send(int fd, enum wire_type type, int32_t value, const char *text)
{
	return wire_send(fd, type, value, text, NULL, 0);
}

int sync_send_fd(int fd, enum wire_type type, int passfd, const char *text)
{
	return wire_send(fd, type, 0, text, &passfd, 1);
}

void sync_send_error(int fd, const struct berth_error *e)
{
	if (!e) {
		(void)sync_send(fd, WIRE_ERROR, EIO, "unknown error");
		return;
	}
	/* an error longer than a message goes cut rather than not at all */
	char *cut =
		e->msg && strlen(e->msg) > WIRE_MAX_TEXT ? strndup(e->msg, WIRE_MAX_TEXT) : NULL;
	const char *msg = cut ? cut : e->msg;
	(void)sync_send(fd, WIRE_ERROR, e->code, msg ? msg : "unknown error");
	free(cut);
}

/* What a failed wire_recv() means to the user. */
static int recv_error(int r, const char *peer, const char *what, struct berth_error **err)
{
	if (r == -EPIPE)
		return berth_error_setx(err, EPIPE, "%s exited before %s", peer, what);
	if (r == -EBADMSG || r == -EMSGSIZE)
		return berth_error_setx(err, EPROTO, "%s sent a malformed message before %s", peer,
					what);
	return berth_error_set(err, -r, "read from %s", peer);
}

/* A WIRE_ERROR as the peer sent it: its errno, its message as is. 0 for another type. */
static int msg_error(const struct wire_msg *m, const char *peer, struct berth_error **err)
{
	if (m->type != WIRE_ERROR)
		return 0;
	int code = m->value > 0 ? m->value : EIO;
	if (m->text)
		return berth_error_setx(err, code, "%s", m->text);
	return berth_error_setx(err, code, "unknown error in %s", peer);
}

int sync_expect_msg(int fd, enum wire_type type, const char *peer, const char *what,
		    struct wire_msg *ret, struct berth_error **err)
{
	struct wire_msg m = WIRE_MSG_INIT;
	int r = wire_recv(fd, &m);
	if (r < 0)
		return recv_error(r, peer, what, err);
	r = msg_error(&m, peer, err);
	if (r < 0) {
		wire_msg_done(&m);
		return r;
	}
	if (m.type != (uint32_t)type) {
		r = berth_error_setx(err, EPROTO, "unexpected message %u from %s before %s",
				     (unsigned)m.type, peer, what);
		wire_msg_done(&m);
		return r;
	}
	*ret = m;
	return 0;
}

int sync_expect(int fd, enum wire_type type, int32_t *ret_value, char **ret_text, const char *what,
		struct berth_error **err)
{
	struct wire_msg m = WIRE_MSG_INIT;
	int r = sync_expect_msg(fd, type, "container init", what, &m, err);
	if (r < 0)
		return r;
	if (m.n_fds > 0) {
		wire_msg_done(&m);
		return berth_error_setx(err, EPROTO, "unexpected fd from container init before %s",
					what);
	}
	if (ret_value)
		*ret_value = m.value;
	if (ret_text)
		*ret_text = TAKE_PTR(m.text);
	wire_msg_done(&m);
	return 0;
}

int sync_expect_fd(int fd, enum wire_type type, int *ret_fd, char **ret_text, const char *what,
		   struct berth_error **err)
{
	struct wire_msg m = WIRE_MSG_INIT;
	int r = sync_expect_msg(fd, type, "container init", what, &m, err);
	if (r < 0)
		return r;
	if (m.n_fds != 1) {
		wire_msg_done(&m);
		return berth_error_setx(err, EPROTO,
					"unexpected message %u from container init before %s",
					(unsigned)type, what);
	}
	*ret_fd = wire_msg_take_fd(&m);
	if (ret_text)
		*ret_text = TAKE_PTR(m.text);
	wire_msg_done(&m);
	return 0;
}

int sync_expect_end(int fd, const char *peer, enum wire_type fd_type, int *ret_fd,
		    struct berth_error **err)
{
	struct wire_msg m = WIRE_MSG_INIT;
	int r = wire_recv(fd, &m);
	if (r == -EPIPE)
		return 0;
	if (r < 0)
		return recv_error(r, peer, "executing", err);
	r = msg_error(&m, peer, err);
	if (r == 0 && ret_fd && m.type == (uint32_t)fd_type && m.n_fds == 1) {
		*ret_fd = wire_msg_take_fd(&m);
		r = 1;
	} else if (r == 0) {
		r = berth_error_setx(err, EPROTO, "unexpected message %u from %s", (unsigned)m.type,
				     peer);
	}
	wire_msg_done(&m);
	return r;
}
