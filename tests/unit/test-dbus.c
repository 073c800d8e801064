/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of berth's D-Bus marshalling (dbus.c) and of the systemd
 * driver's names and annotation properties (systemd-scope.c): byte-exact
 * messages after the D-Bus specification's wire format, replies parsed back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbus.h"
#include "resources.h"
#include "systemd-scope.h"
#include "util/macro.h"
#include "tests.h"

/* "0a 1b ..." -> bytes; returns the count */
static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;
	unsigned v;
	int k;
	while (sscanf(s, " %2x%n", &v, &k) == 1) {
		out[n++] = (uint8_t)v;
		s += k;
	}
	return n;
}

static void check_bytes(const struct dbus_writer *w, const char *hex)
{
	uint8_t want[512];
	size_t n = unhex(hex, want);
	if (w->len != n || memcmp(w->buf, want, n) != 0) {
		fprintf(stderr, "got %zu bytes:", w->len);
		for (size_t i = 0; i < w->len; i++)
			fprintf(stderr, "%s%02x", i % 8 ? " " : "\n  ", w->buf[i]);
		fprintf(stderr, "\nwant %zu\n", n);
	}
	check(w->len == n && memcmp(w->buf, want, n) == 0);
}

/* A method call with an a(sv) body: header fields, padding, variant, u64. */
static void test_call_bytes(void)
{
	struct dbus_writer body = { 0 };
	size_t a = dbus_array_open(&body, 8);
	dbus_struct_open(&body);
	dbus_put_str(&body, "A");
	dbus_variant_open(&body, "t");
	dbus_put_u64(&body, 5);
	dbus_array_close(&body, a);
	check(!body.oom);
	check_bytes(&body, "18 00 00 00 00 00 00 00"   /* length 24, pad to 8 */
			   "01 00 00 00 41 00 01 74"   /* "A", signature "t" */
			   "00 00 00 00 00 00 00 00"   /* nul, pad to 8 */
			   "05 00 00 00 00 00 00 00"); /* uint64 5 */

	struct dbus_writer m;
	check(dbus_message_call(1, "d", "/p", "i", "M", "a(sv)", &body, &m) == 0);
	check_bytes(&m, "6c 01 00 01 20 00 00 00 01 00 00 00 4b 00 00 00"
			"01 01 6f 00 02 00 00 00 2f 70 00 00 00 00 00 00" /* PATH o "/p" */
			"02 01 73 00 01 00 00 00 69 00 00 00 00 00 00 00" /* INTERFACE s "i" */
			"03 01 73 00 01 00 00 00 4d 00 00 00 00 00 00 00" /* MEMBER s "M" */
			"06 01 73 00 01 00 00 00 64 00 00 00 00 00 00 00" /* DESTINATION s "d" */
			"08 01 67 00 05 61 28 73 76 29 00 00 00 00 00 00" /* SIGNATURE g */
			"18 00 00 00 00 00 00 00 01 00 00 00 41 00 01 74"
			"00 00 00 00 00 00 00 00 05 00 00 00 00 00 00 00");
	dbus_writer_done(&m);

	/* an empty array of 8-aligned elements after a string: the length counts no padding */
	struct dbus_writer w = { 0 };
	dbus_put_str(&w, "x");
	size_t e = dbus_array_open(&w, 8);
	dbus_array_close(&w, e);
	dbus_put_u32(&w, 7);
	check_bytes(&w, "01 00 00 00 78 00 00 00 00 00 00 00 00 00 00 00 07 00 00 00");
	dbus_writer_done(&w);
	dbus_writer_done(&body);
}

/* An error reply as systemd sends it: its name and text become the berth error. */
static void test_error_reply(void)
{
	struct dbus_writer w = { 0 };
	const char *name = "org.freedesktop.systemd1.NoSuchUnit";
	uint8_t fixed[4] = { 'l', DBUS_ERROR, 1, 1 };
	for (int i = 0; i < 4; i++)
		dbus_put_byte(&w, fixed[i]);
	dbus_put_u32(&w, 0); /* body length, set below */
	dbus_put_u32(&w, 9);
	size_t a = dbus_array_open(&w, 8);
	dbus_struct_open(&w);
	dbus_put_byte(&w, 4);
	dbus_variant_open(&w, "s");
	dbus_put_str(&w, name);
	dbus_struct_open(&w);
	dbus_put_byte(&w, 5);
	dbus_variant_open(&w, "u");
	dbus_put_u32(&w, 3);
	dbus_struct_open(&w);
	dbus_put_byte(&w, 8);
	dbus_variant_open(&w, "g");
	dbus_put_sig(&w, "s");
	dbus_array_close(&w, a);
	dbus_struct_open(&w);
	size_t body = w.len;
	dbus_put_str(&w, "Unit x.scope not loaded.");
	uint32_t bl = (uint32_t)(w.len - body);
	memcpy(w.buf + 4, &bl, 4); /* little-endian host */
	check(!w.oom);

	size_t size;
	check(dbus_message_size(w.buf, &size) == 0 && size == w.len);
	uint8_t *copy = malloc(w.len);
	check(copy);
	memcpy(copy, w.buf, w.len);
	struct dbus_message m;
	check(dbus_message_parse(copy, w.len, &m) == 0);
	check(m.type == DBUS_ERROR && m.serial == 9 && m.reply_serial == 3);
	check(streq(m.error_name, name) && streq(m.sig, "s"));
	struct berth_error *err = NULL;
	check(dbus_error_from_message(&m, "stop", &err) == -ENOENT);
	check(err && streq(err->msg, "stop: org.freedesktop.systemd1.NoSuchUnit: "
				     "Unit x.scope not loaded."));
	berth_error_free(err);
	dbus_message_done(&m);

	/* cut short, or with a length that does not add up: not a message */
	copy = malloc(w.len);
	check(copy);
	memcpy(copy, w.buf, w.len);
	check(dbus_message_parse(copy, w.len - 1, &m) == -EBADMSG);
	/* an error without its name */
	copy = malloc(w.len);
	check(copy);
	memcpy(copy, w.buf, w.len);
	copy[16] = 99; /* the ERROR_NAME field becomes an unknown one */
	check(dbus_message_parse(copy, w.len, &m) == -EBADMSG);
	dbus_writer_done(&w);
}

static void test_slice_path(void)
{
	char *p = NULL;
	check(systemd_slice_path("system.slice", &p) == 0 && streq(p, "system.slice"));
	free(p);
	check(systemd_slice_path("a-b-c.slice", &p) == 0 &&
	      streq(p, "a.slice/a-b.slice/a-b-c.slice"));
	free(p);
	check(systemd_slice_path("-.slice", &p) == 0 && streq(p, ""));
	free(p);
	check(systemd_slice_path("a--b.slice", &p) == -EINVAL);
	check(systemd_slice_path("-a.slice", &p) == -EINVAL);
	check(systemd_slice_path("a.scope", &p) == -EINVAL);
	check(systemd_slice_path("a/b.slice", &p) == -EINVAL);
}

static void test_resolve(void)
{
	char *unit, *slice, *path;
	struct berth_error *err = NULL;
	if (systemd_scope_resolve(NULL, "web", &unit, &slice, &path, &err) == -ENOTSUP) {
		berth_error_free(err); /* no cgroup2 here: nothing to resolve against */
		return;
	}
	check(streq(unit, "berth-web.scope") && streq(slice, "system.slice"));
	check(strstr(path, "/system.slice/berth-web.scope"));
	free(unit), free(slice), free(path);
	check(systemd_scope_resolve("a-b.slice:pre:c1", "web", &unit, &slice, &path, &err) == 0);
	check(streq(unit, "pre-c1.scope") && streq(slice, "a-b.slice"));
	check(strstr(path, "/a.slice/a-b.slice/pre-c1.scope"));
	free(unit), free(slice), free(path);
	check(systemd_scope_resolve("/berth/web", "web", &unit, &slice, &path, &err) == -EINVAL);
	check(strstr(err->msg, "slice:prefix:name"));
	berth_error_free(err);
	err = NULL;
	check(systemd_scope_resolve("nope:berth:x", "web", &unit, &slice, &path, &err) == -EINVAL);
	berth_error_free(err);
}

static void test_annotations(void)
{
	struct dbus_writer w = { 0 };
	struct berth_error *err = NULL;
	check(systemd_annotation_prop(&w, "TasksMax", "42", &err) == 0);
	check_bytes(&w, "08 00 00 00 54 61 73 6b 73 4d 61 78 00 01 74 00"
			"2a 00 00 00 00 00 00 00");
	dbus_writer_done(&w);
	check(systemd_annotation_prop(&w, "CPUAccounting", "true", &err) == 0);
	check(systemd_annotation_prop(&w, "Foo", "'bar'", &err) == 0);
	check(systemd_annotation_prop(&w, "Bar", "uint64 7", &err) == 0);
	check(systemd_annotation_prop(&w, "MemoryMax", "infinity", &err) == 0);
	dbus_writer_done(&w);

	check(systemd_annotation_prop(&w, "TasksMax", "lots", &err) == -EINVAL);
	check(strstr(err->msg, "org.systemd.property.TasksMax") && strstr(err->msg, "uint64"));
	berth_error_free(err);
	err = NULL;
	check(systemd_annotation_prop(&w, "Foo", "[1, 2]", &err) == -EINVAL);
	berth_error_free(err);
	err = NULL;
	check(systemd_annotation_prop(&w, "PIDs", "1", &err) == -EINVAL);
	berth_error_free(err);
	dbus_writer_done(&w);
}

/* The u64 of property name in an a(sv) body w, or ~0 when it is not there. */
static uint64_t prop_u64_of(const struct dbus_writer *w, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i + 4 + n + 4 <= w->len; i++) {
		if (i % 8 || memcmp(w->buf + i + 4, name, n + 1) != 0 ||
		    memcmp(w->buf + i + 4 + n + 1, "\x01t", 3) != 0)
			continue;
		size_t at = (i + 4 + n + 1 + 3 + 7) / 8 * 8;
		uint64_t v = 0;
		for (int k = 7; k >= 0; k--)
			v = v << 8 | w->buf[at + (size_t)k];
		return v;
	}
	return ~(uint64_t)0 - 1;
}

/* linux.resources JSON as parsed; the test fails if it does not parse. */
static struct berth_resources *parse(const char *json)
{
	struct berth_resources *res = NULL;
	struct berth_error *err = NULL;
	check(resources_parse(json, strlen(json), "r", &res, &err) == 0);
	return res;
}

static void test_resource_props(void)
{
	static const char json[] = "{\"cpu\": {\"shares\": 1024, \"quota\": 12345, "
				   "\"period\": 100000}, \"memory\": {\"limit\": 1048576, "
				   "\"swap\": 3145728}, \"pids\": {\"limit\": -1}, "
				   "\"blockIO\": {\"weight\": 500}}";
	struct berth_resources *res = NULL;
	struct berth_error *err = NULL;
	check(resources_parse(json, strlen(json), "r", &res, &err) == 0);
	struct dbus_writer w = { 0 };
	systemd_resource_props(&w, res);
	check(!w.oom);
	check(prop_u64_of(&w, "MemoryMax") == 1048576);
	check(prop_u64_of(&w, "MemorySwapMax") == 2097152); /* OCI's swap counts memory */
	check(prop_u64_of(&w, "CPUWeight") == 39);
	/* 12.345 % of a CPU: systemd keeps whole percents, rounded up */
	check(prop_u64_of(&w, "CPUQuotaPerSecUSec") == 130000);
	check(prop_u64_of(&w, "CPUQuotaPeriodUSec") == 100000);
	check(prop_u64_of(&w, "TasksMax") == UINT64_MAX);
	check(prop_u64_of(&w, "IOWeight") == 4950);
	dbus_writer_done(&w);
	resources_free(res);

	static const char cpus[] = "{\"cpu\": {\"cpus\": \"0-2,9\"}}";
	res = NULL;
	check(resources_parse(cpus, strlen(cpus), "r", &res, &err) == 0);
	systemd_resource_props(&w, res);
	check_bytes(&w, "0b 00 00 00 41 6c 6c 6f 77 65 64 43 50 55 73 00" /* "AllowedCPUs" */
			"02 61 79 00 02 00 00 00 07 02");		  /* ay: 0-2, 9 */
	dbus_writer_done(&w);
	resources_free(res);
}

/* The unified keys systemd has a property for become it; other keys are left out. */
static void test_unified_props(void)
{
	static const char json[] = "{\"unified\": {\"memory.high\": \"50331648\", "
				   "\"memory.min\": \"max\", \"pids.max\": \"9\", "
				   "\"cpu.weight\": \"77\", \"cpu.max\": \"25000 50000\", "
				   "\"io.weight\": \"default 300\", \"cpu.max.burst\": \"5\", "
				   "\"memory.max\": \"lots\"}}";
	struct berth_resources *res = parse(json);
	struct dbus_writer w = { 0 };
	systemd_resource_props(&w, res);
	check(!w.oom);
	check(prop_u64_of(&w, "MemoryHigh") == 50331648);
	check(prop_u64_of(&w, "MemoryMin") == UINT64_MAX);
	check(prop_u64_of(&w, "TasksMax") == 9);
	check(prop_u64_of(&w, "CPUWeight") == 77);
	check(prop_u64_of(&w, "CPUQuotaPerSecUSec") == 500000);
	check(prop_u64_of(&w, "CPUQuotaPeriodUSec") == 50000);
	check(prop_u64_of(&w, "IOWeight") == 300);
	/* a value berth cannot read is the file write's to refuse */
	check(prop_u64_of(&w, "MemoryMax") == ~(uint64_t)0 - 1);
	dbus_writer_done(&w);
	resources_free(res);
}

/* The D-Bus string s (length, bytes, NUL) followed by the string t is in w. */
static bool has_pair(const struct dbus_writer *w, const char *s, const char *t)
{
	size_t n = strlen(s), m = strlen(t);
	for (size_t i = 0; i + 4 + n + 1 <= w->len; i += 4) {
		uint32_t len = (uint32_t)w->buf[i] | (uint32_t)w->buf[i + 1] << 8 |
			       (uint32_t)w->buf[i + 2] << 16 | (uint32_t)w->buf[i + 3] << 24;
		if (len != n || memcmp(w->buf + i + 4, s, n + 1) != 0)
			continue;
		size_t j = (i + 4 + n + 1 + 3) / 4 * 4;
		if (j + 4 + m + 1 <= w->len && w->buf[j] == m &&
		    memcmp(w->buf + j + 4, t, m + 1) == 0)
			return true;
	}
	return false;
}

static void test_device_props(void)
{
	/* before the deny of everything: no say; c 10:* by its name; any major: the whole type */
	static const char json[] =
		"{\"devices\": [{\"allow\": true, \"type\": \"c\", \"major\": 4, "
		"\"minor\": 1}, {\"allow\": false, \"access\": \"rwm\"}, "
		"{\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 11, "
		"\"access\": \"w\"}, {\"allow\": true, \"type\": \"c\", \"major\": 10, "
		"\"access\": \"rw\"}, {\"allow\": true, \"type\": \"b\", \"minor\": 5, "
		"\"access\": \"r\"}]}";
	struct berth_resources *res = parse(json);
	struct dbus_writer w = { 0 };
	check(systemd_device_props(&w, res) == 0 && !w.oom);
	check(memmem(w.buf, w.len, "DevicePolicy\0\001s", 16) != NULL);
	check(memmem(w.buf, w.len, "strict", 7) != NULL);
	check(has_pair(&w, "/dev/char/1:11", "w"));
	check(has_pair(&w, "char-misc", "rw"));
	check(has_pair(&w, "block-*", "rm")); /* with the default b *:* m */
	check(has_pair(&w, "char-*", "m"));
	check(has_pair(&w, "/dev/char/1:3", "rwm"));
	check(has_pair(&w, "char-pts", "rwm"));
	check(memmem(w.buf, w.len, "/dev/char/4:1", 14) == NULL);
	dbus_writer_done(&w);
	resources_free(res);
}

int main(void)
{
	test_call_bytes();
	test_error_reply();
	test_slice_path();
	test_resolve();
	test_annotations();
	test_resource_props();
	test_unified_props();
	test_device_props();
	return 0;
}
