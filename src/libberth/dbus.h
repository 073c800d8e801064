/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small D-Bus client of berth's own, enough for the systemd cgroup driver:
 * a connection to the system bus or the user's (unix socket, SASL EXTERNAL,
 * Hello), method calls marshalled little-endian, their replies and errors,
 * and the signals a caller waits for. Runs in the berth process, only when
 * --systemd-cgroup asks for it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "berth/error.h"

#define DBUS_SYSTEM_BUS_DEFAULT "/run/dbus/system_bus_socket"

enum {
	DBUS_METHOD_CALL = 1,
	DBUS_METHOD_RETURN = 2,
	DBUS_ERROR = 3,
	DBUS_SIGNAL = 4,
};

/*
 * A growing buffer of marshalled values. Offsets count from the start of
 * the buffer, which the message places at an 8-aligned position, so the
 * alignment of a value in the buffer is its alignment in the message. A
 * failed allocation sticks in oom and is reported once by the caller.
 */
struct dbus_writer {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};

void dbus_writer_done(struct dbus_writer *w);
void dbus_put_byte(struct dbus_writer *w, uint8_t v);
void dbus_put_bool(struct dbus_writer *w, bool v);
void dbus_put_u32(struct dbus_writer *w, uint32_t v);
void dbus_put_u64(struct dbus_writer *w, uint64_t v);
void dbus_put_str(struct dbus_writer *w, const char *s); /* s (and o) */
void dbus_put_sig(struct dbus_writer *w, const char *s); /* g */
/* An array of elements aligned to elem_align: open returns what close takes. */
size_t dbus_array_open(struct dbus_writer *w, size_t elem_align);
void dbus_array_close(struct dbus_writer *w, size_t token);
/* A struct (or dict entry) starts on 8 bytes. */
void dbus_struct_open(struct dbus_writer *w);
/* A variant: its signature; the caller then puts one value of that type. */
void dbus_variant_open(struct dbus_writer *w, const char *sig);

/*
 * The whole method call (header, fields, padding and body; body may be
 * NULL for none) in ret (caller frees). -ENOMEM, -E2BIG.
 */
int dbus_message_call(uint32_t serial, const char *dest, const char *path, const char *iface,
		      const char *member, const char *sig, const struct dbus_writer *body,
		      struct dbus_writer *ret);

/* A received message; the strings point into raw. */
struct dbus_message {
	uint8_t *raw;
	size_t len;
	uint8_t type;
	bool big_endian;
	uint32_t serial, reply_serial;
	const char *path, *iface, *member, *error_name, *sender, *sig;
	const uint8_t *body;
	size_t body_len;
};

void dbus_message_done(struct dbus_message *m);

/*
 * Parse the complete message buf[0..len) (taking buf); -EBADMSG when it is
 * not one. The size of a message from its first 16 bytes: dbus_message_size().
 */
int dbus_message_parse(uint8_t *buf, size_t len, struct dbus_message *ret);
int dbus_message_size(const uint8_t head[16], size_t *ret);

/* Reading a body: each get fails (returns false) past the end or on a bad value. */
struct dbus_reader {
	const uint8_t *buf;
	size_t len, pos;
	bool big_endian;
};

void dbus_reader_init(struct dbus_reader *r, const struct dbus_message *m);
bool dbus_get_u32(struct dbus_reader *r, uint32_t *v);
bool dbus_get_str(struct dbus_reader *r, const char **v); /* s and o */
bool dbus_get_sig(struct dbus_reader *r, const char **v); /* g, and a variant's type */

/*
 * The error reply m as a berth error: "NAME: MESSAGE", errno from the
 * name (NoSuchUnit ENOENT, AccessDenied EACCES, ... else EIO).
 */
int dbus_error_from_message(const struct dbus_message *m, const char *what,
			    struct berth_error **err);

/* ---- the connection ---- */

struct dbus;

/*
 * Connect to the system bus ($DBUS_SYSTEM_BUS_ADDRESS unix:path=..., or
 * DBUS_SYSTEM_BUS_DEFAULT), authenticate as our uid, say Hello.
 */
int dbus_open_system(struct dbus **ret, struct berth_error **err);

/*
 * Connect to the user's bus: $DBUS_SESSION_BUS_ADDRESS when it has a
 * unix:path=, else $XDG_RUNTIME_DIR/bus (where systemd's dbus.socket is),
 * authenticate as our uid outside any user namespace (the uid the bus sees
 * of us), say Hello.
 */
int dbus_open_user(struct dbus **ret, struct berth_error **err);
void dbus_close(struct dbus *b);
static inline void dbus_closep(struct dbus **b)
{
	if (*b)
		dbus_close(*b);
}

/*
 * Call member and wait for its reply (in ret, when not NULL); an error
 * reply becomes err ("what: NAME: MESSAGE"). Signals read meanwhile are
 * kept for dbus_wait_signal().
 */
int dbus_call(struct dbus *b, const char *dest, const char *path, const char *iface,
	      const char *member, const char *sig, const struct dbus_writer *body,
	      struct dbus_message *ret, const char *what, struct berth_error **err);

/*
 * Wait up to timeout_ms for a signal member of iface whose body's first
 * string/object path after skip_u32 leading u32s equals first; ret gets it.
 */
int dbus_wait_signal(struct dbus *b, const char *iface, const char *member, int skip_u32,
		     const char *first, int timeout_ms, struct dbus_message *ret,
		     struct berth_error **err);
