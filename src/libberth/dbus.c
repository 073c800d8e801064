/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A D-Bus client of berth's own (dbus.h): marshalling after the D-Bus
 * specification's wire format, and a blocking connection to the system bus
 * or the user's.
 * Runs in the berth process, only for --systemd-cgroup: nothing else calls
 * it, so a container without the driver pays nothing for it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dbus.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/proc.h"
#include "util/timestamp.h"

/* The spec's limit is 128 MiB; what systemd sends us is a few hundred bytes. */
#define DBUS_MESSAGE_MAX     (1u << 24)
#define DBUS_CALL_TIMEOUT_MS 25000

enum {
	FIELD_PATH = 1,
	FIELD_INTERFACE = 2,
	FIELD_MEMBER = 3,
	FIELD_ERROR_NAME = 4,
	FIELD_REPLY_SERIAL = 5,
	FIELD_DESTINATION = 6,
	FIELD_SENDER = 7,
	FIELD_SIGNATURE = 8,
};

/* ---- writing ---- */

void dbus_writer_done(struct dbus_writer *w)
{
	free(w->buf);
	*w = (struct dbus_writer){ 0 };
}

static uint8_t *reserve(struct dbus_writer *w, size_t n)
{
	if (w->oom || n == 0) /* nothing to reserve: no pointer into a buffer not made yet */
		return NULL;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *nb = realloc(w->buf, cap);
		if (!nb) {
			w->oom = true;
			return NULL;
		}
		w->buf = nb;
		w->cap = cap;
	}
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

static void put_bytes(struct dbus_writer *w, const void *v, size_t n)
{
	uint8_t *p = reserve(w, n);
	if (p)
		memcpy(p, v, n);
}

/* Pad with zeros to a multiple of a (the spec requires zero padding). */
static void pad(struct dbus_writer *w, size_t a)
{
	size_t n = (a - w->len % a) % a;
	uint8_t *p = reserve(w, n);
	if (p)
		memset(p, 0, n);
}

void dbus_put_byte(struct dbus_writer *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

void dbus_put_u32(struct dbus_writer *w, uint32_t v)
{
	pad(w, 4);
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };
	put_bytes(w, b, 4);
}

void dbus_put_u64(struct dbus_writer *w, uint64_t v)
{
	pad(w, 8);
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put_bytes(w, b, 8);
}

void dbus_put_bool(struct dbus_writer *w, bool v)
{
	dbus_put_u32(w, v ? 1 : 0);
}

void dbus_put_str(struct dbus_writer *w, const char *s)
{
	size_t n = strlen(s);
	dbus_put_u32(w, (uint32_t)n);
	put_bytes(w, s, n + 1);
}

void dbus_put_sig(struct dbus_writer *w, const char *s)
{
	size_t n = strlen(s);
	dbus_put_byte(w, (uint8_t)n);
	put_bytes(w, s, n + 1);
}

/*
 * The length comes first, then the padding to the first element, which the
 * length does not count. The token packs where the length field is (times
 * 16) and how far after it the elements start (4 or 8).
 */
size_t dbus_array_open(struct dbus_writer *w, size_t elem_align)
{
	pad(w, 4);
	size_t at = w->len;
	dbus_put_u32(w, 0);
	pad(w, elem_align);
	return at * 16 + (w->len - at);
}

void dbus_array_close(struct dbus_writer *w, size_t token)
{
	if (w->oom)
		return;
	size_t at = token / 16, start = at + token % 16;
	uint32_t n = (uint32_t)(w->len - start);
	uint8_t b[4] = { n, n >> 8, n >> 16, n >> 24 };
	memcpy(w->buf + at, b, 4);
}

void dbus_struct_open(struct dbus_writer *w)
{
	pad(w, 8);
}

void dbus_variant_open(struct dbus_writer *w, const char *sig)
{
	dbus_put_sig(w, sig);
}

static void header_field(struct dbus_writer *w, uint8_t code, const char *sig, const char *value)
{
	dbus_struct_open(w);
	dbus_put_byte(w, code);
	dbus_variant_open(w, sig);
	if (streq(sig, "g"))
		dbus_put_sig(w, value);
	else
		dbus_put_str(w, value);
}

int dbus_message_call(uint32_t serial, const char *dest, const char *path, const char *iface,
		      const char *member, const char *sig, const struct dbus_writer *body,
		      struct dbus_writer *ret)
{
	size_t body_len = body ? body->len : 0;
	if (body && body->oom)
		return -ENOMEM;
	if (body_len > DBUS_MESSAGE_MAX)
		return -E2BIG;
	struct dbus_writer w = { 0 };
	uint8_t fixed[4] = { 'l', DBUS_METHOD_CALL, 0, 1 };
	put_bytes(&w, fixed, 4);
	dbus_put_u32(&w, (uint32_t)body_len);
	dbus_put_u32(&w, serial);
	size_t a = dbus_array_open(&w, 8);
	header_field(&w, FIELD_PATH, "o", path);
	if (iface)
		header_field(&w, FIELD_INTERFACE, "s", iface);
	header_field(&w, FIELD_MEMBER, "s", member);
	if (dest)
		header_field(&w, FIELD_DESTINATION, "s", dest);
	if (sig && *sig)
		header_field(&w, FIELD_SIGNATURE, "g", sig);
	dbus_array_close(&w, a);
	pad(&w, 8);
	if (body_len)
		put_bytes(&w, body->buf, body_len);
	if (w.oom) {
		dbus_writer_done(&w);
		return -ENOMEM;
	}
	*ret = w;
	return 0;
}

/* ---- reading ---- */

static uint32_t get32(const uint8_t *p, bool big)
{
	return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		   : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static bool r_align(struct dbus_reader *r, size_t a)
{
	size_t n = (a - r->pos % a) % a;
	if (r->len - r->pos < n)
		return false;
	r->pos += n;
	return true;
}

bool dbus_get_u32(struct dbus_reader *r, uint32_t *v)
{
	if (!r_align(r, 4) || r->len - r->pos < 4)
		return false;
	*v = get32(r->buf + r->pos, r->big_endian);
	r->pos += 4;
	return true;
}

/* len bytes and a nul at r->pos, with no nul inside */
static bool r_text(struct dbus_reader *r, size_t n, const char **v)
{
	if (r->len - r->pos < n + 1 || r->buf[r->pos + n] != 0 || memchr(r->buf + r->pos, 0, n))
		return false;
	*v = (const char *)r->buf + r->pos;
	r->pos += n + 1;
	return true;
}

bool dbus_get_str(struct dbus_reader *r, const char **v)
{
	uint32_t n;
	return dbus_get_u32(r, &n) && r_text(r, n, v);
}

bool dbus_get_sig(struct dbus_reader *r, const char **v)
{
	if (r->pos >= r->len)
		return false;
	size_t n = r->buf[r->pos++];
	return r_text(r, n, v);
}

void dbus_reader_init(struct dbus_reader *r, const struct dbus_message *m)
{
	*r = (struct dbus_reader){ .buf = m->body,
				   .len = m->body_len,
				   .big_endian = m->big_endian };
}

int dbus_message_size(const uint8_t head[16], size_t *ret)
{
	if (head[0] != 'l' && head[0] != 'B')
		return -EBADMSG;
	bool big = head[0] == 'B';
	uint64_t body = get32(head + 4, big), fields = get32(head + 12, big);
	uint64_t n = 16 + fields;
	n = (n + 7) & ~(uint64_t)7;
	n += body;
	if (n > DBUS_MESSAGE_MAX)
		return -E2BIG;
	*ret = (size_t)n;
	return 0;
}

void dbus_message_done(struct dbus_message *m)
{
	free(m->raw);
	*m = (struct dbus_message){ 0 };
}

int dbus_message_parse(uint8_t *buf, size_t len, struct dbus_message *ret)
{
	struct dbus_message m = { .raw = buf, .len = len };
	size_t want;
	if (len < 16 || dbus_message_size(buf, &want) < 0 || want != len || buf[3] != 1 ||
	    buf[1] < DBUS_METHOD_CALL || buf[1] > DBUS_SIGNAL)
		goto bad;
	m.type = buf[1];
	m.big_endian = buf[0] == 'B';
	m.body_len = get32(buf + 4, m.big_endian);
	m.serial = get32(buf + 8, m.big_endian);
	size_t fields_end = 16 + get32(buf + 12, m.big_endian);
	struct dbus_reader r = {
		.buf = buf, .len = fields_end, .pos = 16, .big_endian = m.big_endian
	};
	while (r.pos < fields_end) {
		if (!r_align(&r, 8) || r.pos >= fields_end)
			goto bad;
		uint8_t code = buf[r.pos++];
		const char *sig, *s = NULL;
		uint32_t u = 0;
		if (!dbus_get_sig(&r, &sig))
			goto bad;
		if (streq(sig, "s") || streq(sig, "o")) {
			if (!dbus_get_str(&r, &s))
				goto bad;
		} else if (streq(sig, "g")) {
			if (!dbus_get_sig(&r, &s))
				goto bad;
		} else if (streq(sig, "u")) {
			if (!dbus_get_u32(&r, &u))
				goto bad;
		} else {
			goto bad; /* no field of the spec has another type */
		}
		switch (code) {
		case FIELD_PATH:
			m.path = s;
			break;
		case FIELD_INTERFACE:
			m.iface = s;
			break;
		case FIELD_MEMBER:
			m.member = s;
			break;
		case FIELD_ERROR_NAME:
			m.error_name = s;
			break;
		case FIELD_REPLY_SERIAL:
			m.reply_serial = u;
			break;
		case FIELD_SENDER:
			m.sender = s;
			break;
		case FIELD_SIGNATURE:
			m.sig = s;
			break;
		default:
			break;
		}
	}
	m.body = buf + len - m.body_len;
	if ((m.type == DBUS_ERROR && (!m.error_name || !m.reply_serial)) ||
	    (m.type == DBUS_METHOD_RETURN && !m.reply_serial) ||
	    (m.type == DBUS_SIGNAL && (!m.iface || !m.member || !m.path)))
		goto bad;
	if (!m.sig)
		m.sig = "";
	*ret = m;
	return 0;
bad:
	free(buf);
	return -EBADMSG;
}

static const struct {
	const char *name;
	int errnum;
} error_map[] = {
	{ "org.freedesktop.systemd1.NoSuchUnit", ENOENT },
	{ "org.freedesktop.systemd1.UnitExists", EEXIST },
	{ "org.freedesktop.DBus.Error.AccessDenied", EACCES },
	{ "org.freedesktop.DBus.Error.ServiceUnknown", ENOENT },
	{ "org.freedesktop.DBus.Error.InvalidArgs", EINVAL },
	{ "org.freedesktop.DBus.Error.PropertyReadOnly", EINVAL },
	{ "org.freedesktop.DBus.Error.NoReply", ETIMEDOUT },
	{ "org.freedesktop.DBus.Error.Timeout", ETIMEDOUT },
};

int dbus_error_from_message(const struct dbus_message *m, const char *what,
			    struct berth_error **err)
{
	struct dbus_reader r;
	const char *text = NULL;
	dbus_reader_init(&r, m);
	if (!m->sig || m->sig[0] != 's' || !dbus_get_str(&r, &text))
		text = NULL;
	int errnum = EIO;
	for (size_t i = 0; i < ELEMENTSOF(error_map); i++)
		if (m->error_name && streq(m->error_name, error_map[i].name))
			errnum = error_map[i].errnum;
	if (text && *text)
		return berth_error_setx(err, errnum, "%s: %s: %s", what, m->error_name, text);
	return berth_error_setx(err, errnum, "%s: %s", what, m->error_name);
}

/* ---- the connection ---- */

struct dbus {
	int fd;
	uint32_t serial;
	const char *address;
	struct dbus_message *signals;
	size_t n_signals;
};

void dbus_close(struct dbus *b)
{
	closep(&b->fd);
	for (size_t i = 0; i < b->n_signals; i++)
		dbus_message_done(&b->signals[i]);
	free(b->signals);
	free(b);
}

/* Read exactly n bytes before deadline (ms of CLOCK_MONOTONIC). */
static int read_exact(int fd, void *buf, size_t n, int64_t deadline)
{
	uint8_t *p = buf;
	while (n > 0) {
		int64_t left = deadline - monotonic_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		ssize_t k = read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ECONNRESET;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* write_all() of util/fd.h, but a bus that hung up must not SIGPIPE berth */
static int bus_send(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int read_message(struct dbus *b, int64_t deadline, struct dbus_message *ret)
{
	uint8_t head[16] = { 0 };
	int r = read_exact(b->fd, head, sizeof(head), deadline);
	if (r < 0)
		return r;
	size_t n;
	r = dbus_message_size(head, &n);
	if (r < 0)
		return r;
	if (n < sizeof(head))
		return -EBADMSG;
	uint8_t *buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, head, sizeof(head));
	r = read_exact(b->fd, buf + sizeof(head), n - sizeof(head), deadline);
	if (r < 0) {
		free(buf);
		return r;
	}
	return dbus_message_parse(buf, n, ret);
}

/* One line of the SASL exchange, "\r\n" stripped; byte by byte not to read past it. */
static int read_line(int fd, char *buf, size_t size, int64_t deadline)
{
	size_t n = 0;
	for (;;) {
		if (n + 1 >= size)
			return -EBADMSG;
		int r = read_exact(fd, buf + n, 1, deadline);
		if (r < 0)
			return r;
		if (buf[n] == '\n' && n > 0 && buf[n - 1] == '\r') {
			buf[n - 1] = 0;
			return 0;
		}
		n++;
	}
}

/* The socket of a "unix:path=..." address (the first of a ';' list that is one). */
static int bus_path(const char *address, char *ret, size_t size)
{
	for (const char *a = address; a && *a;) {
		const char *end = strchr(a, ';');
		size_t alen = end ? (size_t)(end - a) : strlen(a);
		if (alen > 5 && strncmp(a, "unix:", 5) == 0) {
			for (const char *kv = a + 5; kv < a + alen;) {
				const char *c = memchr(kv, ',', (size_t)(a + alen - kv));
				size_t kl = c ? (size_t)(c - kv) : (size_t)(a + alen - kv);
				if (kl > 5 && strncmp(kv, "path=", 5) == 0) {
					if (kl - 5 >= size)
						return -ENAMETOOLONG;
					memcpy(ret, kv + 5, kl - 5);
					ret[kl - 5] = 0;
					return 0;
				}
				kv += kl + (c ? 1 : 0);
			}
		}
		a = end ? end + 1 : NULL;
	}
	return -EAFNOSUPPORT;
}

/*
 * Connect to the bus whose socket is sa (called name in errors),
 * authenticate with SASL EXTERNAL as uid and say Hello.
 */
static int bus_connect(const struct sockaddr_un *sa, const char *name, uid_t uid, struct dbus **ret,
		       struct berth_error **err)
{
	const char *where = sa->sun_path;
	struct dbus *b = calloc(1, sizeof(*b));
	if (!b)
		return berth_error_set(err, ENOMEM, "%s", name);
	_cleanup_(dbus_closep) struct dbus *bus = b;
	b->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->fd < 0 || connect(b->fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		return berth_error_set(err, errno, "connect to the %s at \"%s\"", name, where);

	/* SASL EXTERNAL: the uid as decimal text, hex-encoded */
	char text[16], hex[40], line[256];
	snprintf(text, sizeof(text), "%u", (unsigned)uid);
	for (size_t i = 0; text[i]; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)text[i]);
	char auth[96];
	int n = snprintf(auth, sizeof(auth), "%cAUTH EXTERNAL %s\r\n", 0, hex);
	int64_t deadline = monotonic_ms() + DBUS_CALL_TIMEOUT_MS;
	int r = bus_send(b->fd, auth, (size_t)n);
	if (r >= 0)
		r = read_line(b->fd, line, sizeof(line), deadline);
	if (r < 0)
		return berth_error_set(err, -r, "%s at \"%s\": authenticate", name, where);
	if (strncmp(line, "OK ", 3) != 0)
		return berth_error_setx(err, EACCES,
					"%s at \"%s\": authentication refused (\"%s\")", name,
					where, line);
	r = bus_send(b->fd, "BEGIN\r\n", 7);
	if (r < 0)
		return berth_error_set(err, -r, "%s at \"%s\": authenticate", name, where);

	char what[64];
	snprintf(what, sizeof(what), "%s: Hello", name);
	r = dbus_call(b, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
		      "Hello", NULL, NULL, NULL, what, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(bus);
	return 0;
}

int dbus_open_system(struct dbus **ret, struct berth_error **err)
{
	const char *env = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	const char *address = env && *env ? env : "unix:path=" DBUS_SYSTEM_BUS_DEFAULT;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r = bus_path(address, sa.sun_path, sizeof(sa.sun_path));
	if (r < 0)
		return berth_error_setx(
			err, -r, "system bus: address \"%s\" has no unix:path= berth can use",
			address);
	return bus_connect(&sa, "system bus", geteuid(), ret, err);
}

int dbus_open_user(struct dbus **ret, struct berth_error **err)
{
	const char *env = getenv("DBUS_SESSION_BUS_ADDRESS");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!env || bus_path(env, sa.sun_path, sizeof(sa.sun_path)) < 0) {
		/* no address, or one berth cannot use (unix:abstract=): the bus where systemd puts it */
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		if (!xdg || *xdg != '/')
			return berth_error_setx(err, EDESTADDRREQ,
						"user bus: neither $DBUS_SESSION_BUS_ADDRESS "
						"(unix:path=) nor $XDG_RUNTIME_DIR is set");
		if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/bus", xdg) >=
		    sizeof(sa.sun_path))
			return berth_error_setx(err, ENAMETOOLONG,
						"user bus: \"%s/bus\" is too long for a socket",
						xdg);
	}
	/* in a user namespace (rootless podman) the bus sees our uid outside it */
	return bus_connect(&sa, "user bus", proc_uid_outside(geteuid()), ret, err);
}

/* Keep a signal for dbus_wait_signal(); others are dropped. */
static int keep_signal(struct dbus *b, struct dbus_message *m)
{
	struct dbus_message *v = realloc(b->signals, (b->n_signals + 1) * sizeof(*v));
	if (!v) {
		dbus_message_done(m);
		return -ENOMEM;
	}
	b->signals = v;
	b->signals[b->n_signals++] = *m;
	*m = (struct dbus_message){ 0 };
	return 0;
}

int dbus_call(struct dbus *b, const char *dest, const char *path, const char *iface,
	      const char *member, const char *sig, const struct dbus_writer *body,
	      struct dbus_message *ret, const char *what, struct berth_error **err)
{
	struct dbus_writer w;
	uint32_t serial = ++b->serial;
	int r = dbus_message_call(serial, dest, path, iface, member, sig, body, &w);
	if (r < 0)
		return berth_error_set(err, -r, "%s", what);
	r = bus_send(b->fd, w.buf, w.len);
	dbus_writer_done(&w);
	if (r < 0)
		return berth_error_set(err, -r, "%s: send", what);

	int64_t deadline = monotonic_ms() + DBUS_CALL_TIMEOUT_MS;
	for (;;) {
		struct dbus_message m;
		r = read_message(b, deadline, &m);
		if (r < 0)
			return berth_error_set(err, -r, "%s: read the reply", what);
		if (m.type == DBUS_SIGNAL) {
			r = keep_signal(b, &m);
			if (r < 0)
				return berth_error_set(err, -r, "%s", what);
			continue;
		}
		if ((m.type != DBUS_METHOD_RETURN && m.type != DBUS_ERROR) ||
		    m.reply_serial != serial) {
			dbus_message_done(&m);
			continue;
		}
		if (m.type == DBUS_ERROR) {
			r = dbus_error_from_message(&m, what, err);
			dbus_message_done(&m);
			return r;
		}
		if (ret)
			*ret = m;
		else
			dbus_message_done(&m);
		return 0;
	}
}

static bool signal_matches(const struct dbus_message *m, const char *iface, const char *member,
			   int skip_u32, const char *first)
{
	if (!streq(m->iface, iface) || !streq(m->member, member))
		return false;
	struct dbus_reader r;
	dbus_reader_init(&r, m);
	uint32_t u;
	const char *s;
	for (int i = 0; i < skip_u32; i++)
		if (!dbus_get_u32(&r, &u))
			return false;
	return dbus_get_str(&r, &s) && streq(s, first);
}

int dbus_wait_signal(struct dbus *b, const char *iface, const char *member, int skip_u32,
		     const char *first, int timeout_ms, struct dbus_message *ret,
		     struct berth_error **err)
{
	for (size_t i = 0; i < b->n_signals; i++)
		if (signal_matches(&b->signals[i], iface, member, skip_u32, first)) {
			*ret = b->signals[i];
			memmove(b->signals + i, b->signals + i + 1,
				(b->n_signals - i - 1) * sizeof(*b->signals));
			b->n_signals--;
			return 0;
		}
	int64_t deadline = monotonic_ms() + timeout_ms;
	for (;;) {
		struct dbus_message m;
		int r = read_message(b, deadline, &m);
		if (r < 0)
			return berth_error_set(err, -r, "wait for the %s signal of \"%s\"", member,
					       first);
		if (m.type == DBUS_SIGNAL && signal_matches(&m, iface, member, skip_u32, first)) {
			*ret = m;
			return 0;
		}
		dbus_message_done(&m);
	}
}
