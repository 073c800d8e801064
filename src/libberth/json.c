/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The JSON layer: the syntax pass (positions, depth, NUL and surrogate
 * checks), the path-tracking converters every parser of berth uses
 * (config.json, linux.resources, linux.seccomp, linux.netDevices,
 * state.json) and the generator of every document berth writes. Memory
 * only; runs in any process of berth (the CLI, berth-shim).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "json.h"
#include "util/macro.h"

#define JSON_MAX_DEPTH BERTH_JSON_MAX_DEPTH
#define PATH_MAX_LEN   JSON_PATH_MAX

/* ---- syntax pass: positions for errors, depth, NUL and surrogate checks ---- */

struct scan_frame {
	bool array;
	size_t index; /* of the next element of an array */
	size_t base;  /* length of the path up to the container */
};

struct scan {
	yajl_handle h;
	const char *text;
	size_t text_len;
	unsigned depth;
	struct scan_frame frames[JSON_MAX_DEPTH + 1];
	char path[PATH_MAX_LEN];
	size_t len;
	const char *why;
	char why_buf[64];
	bool string_error; /* why is about the string at at, under path */
	size_t at;
};

_printf_(2, 3) static void scan_path_set(struct scan *s, const char *fmt, ...)
{
	va_list ap;
	s->len = MIN(s->frames[s->depth].base, sizeof(s->path) - 1);
	va_start(ap, fmt);
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	int k = vsnprintf(s->path + s->len, sizeof(s->path) - s->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		s->len = MIN(s->len + (size_t)k, sizeof(s->path) - 1);
	s->path[s->len] = 0;
}

/* A value starts: as an element of an array, it is the next index. */
static void scan_value(struct scan *s)
{
	struct scan_frame *f = &s->frames[s->depth];
	if (s->depth > 0 && f->array)
		scan_path_set(s, "[%zu]", f->index++);
}

static int hex4(const char *t, unsigned *ret)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = t[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v * 16 + (unsigned)d;
	}
	*ret = v;
	return 0;
}

/*
 * The string token that ends just before offset end (its closing quote is at
 * end - 1), as written: yajl decodes a lone surrogate escape to "?" (or to
 * bytes that are no UTF-8), so it is checked here, in the text. Sets why and
 * at on a lone surrogate.
 */
static bool scan_raw_string(struct scan *s, size_t end)
{
	const char *t = s->text;
	if (end < 2 || end > s->text_len || t[end - 1] != '"')
		return true; /* not where we expect it: yajl's own checks stand */
	size_t close = end - 1, open = close;
	for (;;) {
		if (open == 0)
			return true;
		open--;
		if (t[open] != '"')
			continue;
		size_t bs = 0;
		while (open > bs && t[open - 1 - bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			break;
	}
	for (size_t i = open + 1; i < close; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == 0xed && i + 1 < close && (unsigned char)t[i + 1] >= 0xa0) {
			s->why = "UTF-8 encoded UTF-16 surrogate";
			s->at = i;
			return false;
		}
		if (c != '\\')
			continue;
		unsigned cp, lo;
		if (i + 5 < close && t[i + 1] == 'u' && hex4(t + i + 2, &cp) == 0 && cp >= 0xd800 &&
		    cp <= 0xdfff) {
			if (cp <= 0xdbff && i + 11 < close && t[i + 6] == '\\' && t[i + 7] == 'u' &&
			    hex4(t + i + 8, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
				i += 11;
				continue;
			}
			snprintf(s->why_buf, sizeof(s->why_buf), "lone UTF-16 surrogate %.6s",
				 t + i);
			s->why = s->why_buf;
			s->at = i;
			return false;
		}
		i++; /* the escaped character */
	}
	return true;
}

static int scan_check_string(struct scan *s, const unsigned char *str, size_t len)
{
	/* yajl's tree hands out C strings: "\u0000" would silently cut a path short */
	if (memchr(str, 0, len)) {
		s->why = "string contains a NUL character";
		return 0;
	}
	if (!scan_raw_string(s, yajl_get_bytes_consumed(s->h))) {
		s->string_error = true;
		return 0;
	}
	return 1;
}

static int scan_string(void *ctx, const unsigned char *str, size_t len)
{
	struct scan *s = ctx;
	scan_value(s);
	return scan_check_string(s, str, len);
}

static int scan_key(void *ctx, const unsigned char *key, size_t len)
{
	struct scan *s = ctx;
	/* a bad key is reported at the object holding it */
	scan_path_set(s, "%s", "");
	if (!scan_check_string(s, key, len))
		return 0;
	scan_path_set(s, s->frames[s->depth].base == 0 ? "%.*s" : ".%.*s", (int)MIN(len, 256),
		      (const char *)key);
	return 1;
}

static int scan_scalar(void *ctx)
{
	scan_value(ctx);
	return 1;
}

static int scan_bool(void *ctx, int v)
{
	return scan_scalar(ctx);
}

static int scan_number(void *ctx, const char *n, size_t len)
{
	return scan_scalar(ctx);
}

static int scan_open(struct scan *s, bool array)
{
	scan_value(s);
	if (s->depth >= JSON_MAX_DEPTH) {
		snprintf(s->why_buf, sizeof(s->why_buf), "nesting is deeper than %d levels",
			 JSON_MAX_DEPTH);
		s->why = s->why_buf;
		return 0;
	}
	s->depth++;
	s->frames[s->depth] = (struct scan_frame){ .array = array, .base = s->len };
	return 1;
}

static int scan_open_map(void *ctx)
{
	return scan_open(ctx, false);
}

static int scan_open_array(void *ctx)
{
	return scan_open(ctx, true);
}

static int scan_close(void *ctx)
{
	struct scan *s = ctx;
	s->depth--;
	return 1;
}

static const yajl_callbacks scan_callbacks = {
	.yajl_null = scan_scalar,
	.yajl_boolean = scan_bool,
	.yajl_number = scan_number,
	.yajl_string = scan_string,
	.yajl_start_map = scan_open_map,
	.yajl_map_key = scan_key,
	.yajl_end_map = scan_close,
	.yajl_start_array = scan_open_array,
	.yajl_end_array = scan_close,
};

static void line_col(const char *text, size_t at, unsigned *ret_line, unsigned *ret_col)
{
	unsigned line = 1, col = 1;
	for (size_t i = 0; i < at; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	*ret_line = line;
	*ret_col = col;
}

int json_check(const char *text, size_t len, const char *what, const char *prefix,
	       struct berth_error **err)
{
	_cleanup_free_ struct scan *s = calloc(1, sizeof(struct scan));
	char msg[256] = "syntax error";
	unsigned line, col;
	if (!s)
		return berth_error_set(err, ENOMEM, "%s", what);
	yajl_handle h = yajl_alloc(&scan_callbacks, NULL, s);
	if (!h)
		return berth_error_set(err, ENOMEM, "%s", what);
	yajl_config(h, yajl_allow_comments, 1);
	s->h = h;
	s->text = text;
	s->text_len = len;
	if (prefix)
		snprintf(s->path, sizeof(s->path), "%s", prefix);
	s->len = strlen(s->path);
	s->frames[0].base = s->len;

	yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
	bool at_end = false;
	size_t off = yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(h);
		at_end = true; /* e.g. premature EOF: point just past the text */
	}
	if (st == yajl_status_ok) {
		yajl_free(h);
		return 0;
	}

	if (st == yajl_status_client_canceled && s->string_error) {
		yajl_free(h);
		line_col(text, s->at, &line, &col);
		if (s->path[0])
			return berth_error_setx(
				err, EINVAL,
				"%s: %s: invalid JSON string at line %u, column %u: %s", what,
				s->path, line, col, s->why);
		return berth_error_setx(err, EINVAL,
					"%s: invalid JSON string at line %u, column %u: %s", what,
					line, col, s->why);
	}
	if (st == yajl_status_client_canceled && s->why) {
		snprintf(msg, sizeof(msg), "%s", s->why);
	} else {
		unsigned char *e = yajl_get_error(h, 0, (const unsigned char *)text, len);
		if (e) {
			snprintf(msg, sizeof(msg), "%s", (const char *)e);
			yajl_free_error(h, e);
		}
	}
	yajl_free(h);

	/* yajl's short text ends in ".\n"; our messages end bare */
	size_t n = strlen(msg);
	while (n > 0 && strchr(" \t\r\n.", msg[n - 1]))
		msg[--n] = 0;

	/*
	 * Where the offending byte is: yajl's lexer backs up to it for most lexical
	 * errors, but has consumed it for "invalid char" and for parse errors.
	 */
	bool consumed =
		strncmp(msg, "lexical error", 13) != 0 || strstr(msg, "invalid char in json");
	size_t at;
	if (at_end)
		at = len;
	else if (consumed)
		at = off > 0 ? MIN(off, len) - 1 : 0;
	else
		at = MIN(off, len);
	line_col(text, at, &line, &col);
	return berth_error_setx(err, EINVAL, "%s: invalid JSON at line %u, column %u: %s", what,
				line, col, msg);
}

/* ---- the path and errors ---- */

void json_parser_init(struct json_parser *p, const char *file, const char *prefix,
		      struct berth_error **err)
{
	*p = (struct json_parser){ .file = file, .err = err };
	if (prefix) {
		snprintf(p->path, sizeof(p->path), "%s", prefix);
		p->len = strlen(p->path);
	}
}

_printf_(2, 3) static size_t push(struct json_parser *p, const char *fmt, ...)
{
	size_t old = p->len;
	va_list ap;

	va_start(ap, fmt);
	/* the analyzer loses track of va_start through the format attribute */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	int k = vsnprintf(p->path + p->len, sizeof(p->path) - p->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		p->len = MIN(p->len + (size_t)k, sizeof(p->path) - 1);
	return old;
}

size_t json_push_key(struct json_parser *p, const char *key)
{
	return p->len == 0 ? push(p, "%s", key) : push(p, ".%s", key);
}

size_t json_push_index(struct json_parser *p, size_t i)
{
	return push(p, "[%zu]", i);
}

size_t json_push_name(struct json_parser *p, const char *name)
{
	return push(p, "[\"%s\"]", name);
}

void json_pop(struct json_parser *p, size_t old)
{
	p->len = old;
	p->path[old] = 0;
}

/* What leads every message: the file, else the path. */
static const char *lead(const struct json_parser *p)
{
	return p->file ? p->file : p->path;
}

int json_oom(struct json_parser *p)
{
	int r = berth_error_set(p->err, ENOMEM, "%s", lead(p));
	return r < 0 ? r : -ENOMEM;
}

int json_fail(struct json_parser *p, const char *fmt, ...)
{
	_cleanup_free_ char *m = NULL;
	va_list ap;

	va_start(ap, fmt);
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	int k = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (k < 0)
		return json_oom(p);
	if (p->file && p->len > 0)
		k = berth_error_setx(p->err, EINVAL, "%s: %s: %s", p->file, p->path, m);
	else
		k = berth_error_setx(p->err, EINVAL, "%s: %s", lead(p), m);
	return k < 0 ? k : -EINVAL; /* callers rely on < 0 */
}

int json_parse(struct json_parser *p, const char *text, size_t len, yajl_val *ret_root)
{
	char errbuf[256] = "";

	if (!text)
		return berth_error_setx(p->err, EINVAL, "%s: no text", lead(p));
	int r = json_check(text, len, lead(p), p->file && p->len ? p->path : NULL, p->err);
	if (r < 0)
		return r;
	_cleanup_free_ char *copy = strndup(text, len);
	if (!copy)
		return json_oom(p);
	yajl_val root = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
	if (!root) {
		/* the syntax pass let it through: only memory is left to fail */
		size_t n = strlen(errbuf);
		while (n > 0 && strchr(" \t\r\n.", errbuf[n - 1]))
			errbuf[--n] = 0;
		return berth_error_setx(p->err, EINVAL, "%s: invalid JSON: %s", lead(p),
					errbuf[0] ? errbuf : "out of memory");
	}
	*ret_root = root;
	return 0;
}

yajl_val json_member(yajl_val obj, const char *key)
{
	yajl_val found = NULL;

	for (size_t i = 0; i < obj->u.object.len; i++)
		if (streq(obj->u.object.keys[i], key))
			found = obj->u.object.values[i]; /* the last duplicate wins */
	if (found && YAJL_IS_NULL(found))
		return NULL;
	return found;
}

/* ---- scalar conversions of the value at the current path ---- */

int json_conv_string(struct json_parser *p, yajl_val v, char **ret)
{
	if (!YAJL_IS_STRING(v))
		return json_fail(p, "must be a string");
	char *s = strdup(v->u.string);
	if (!s)
		return json_oom(p);
	free(*ret);
	*ret = s;
	return 1;
}

int json_conv_bool(struct json_parser *p, yajl_val v, const char *what, bool *ret)
{
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
		return json_fail(p, "must be %s", what ? what : "a boolean");
	*ret = YAJL_IS_TRUE(v);
	return 1;
}

const struct json_int json_u32 = { 0, UINT32_MAX, "an unsigned 32-bit integer", JSON_RANGE_WHAT };
const struct json_int json_i32 = { INT32_MIN, INT32_MAX, "a 32-bit integer", JSON_RANGE_WHAT };
const struct json_int json_u64 = { 0, UINT64_MAX, "an unsigned 64-bit integer", JSON_RANGE_WHAT };
const struct json_int json_i64 = { INT64_MIN, INT64_MAX, "a 64-bit integer", JSON_RANGE_WHAT };

/* Text from the input, cut for a message: the first 32 bytes and "...", and how many there were. */
#define SHORT_MAX 32

static int out_of_range(struct json_parser *p, const struct json_int *t, const char *text)
{
	size_t n = strlen(text);
	switch (t->range) {
	case JSON_RANGE_TEXT:
		if (n <= SHORT_MAX)
			return json_fail(p, "%s is out of range", text);
		return json_fail(p, "%.*s... (%zu digits) is out of range", SHORT_MAX, text,
				 n - (text[0] == '-'));
	case JSON_RANGE_AT_MOST:
		return json_fail(p, "must be at most %" PRIu64, t->max);
	default:
		return json_fail(p, "must be %s", t->what);
	}
}

/* The number's own text, if it is written as an integer (no fraction, no exponent). */
static const char *integer_text(yajl_val v)
{
	if (!YAJL_IS_NUMBER(v) || !v->u.number.r || !v->u.number.r[0])
		return NULL;
	const char *t = v->u.number.r;
	if (strpbrk(t, ".eE"))
		return NULL;
	return t;
}

int json_conv_u64(struct json_parser *p, yajl_val v, const struct json_int *t, uint64_t *ret)
{
	const char *s = integer_text(v);
	if (!s || s[0] == '-')
		return json_fail(p, "must be %s", t->what);
	char *end = NULL;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (!end || *end != 0 || end == s)
		return json_fail(p, "must be %s", t->what);
	if (errno != 0 || x > t->max)
		return out_of_range(p, t, s);
	*ret = x;
	return 1;
}

int json_conv_i64(struct json_parser *p, yajl_val v, const struct json_int *t, int64_t *ret)
{
	const char *s = integer_text(v);
	if (!s)
		return json_fail(p, "must be %s", t->what);
	char *end = NULL;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (!end || *end != 0 || end == s)
		return json_fail(p, "must be %s", t->what);
	if (errno != 0 || x < t->min || (x > 0 && (uint64_t)x > t->max))
		return out_of_range(p, t, s);
	*ret = x;
	return 1;
}

int json_conv_u32(struct json_parser *p, yajl_val v, uint32_t *ret)
{
	uint64_t x = 0;
	int r = json_conv_u64(p, v, &json_u32, &x);
	if (r > 0)
		*ret = (uint32_t)x;
	return r;
}

int json_conv_i32(struct json_parser *p, yajl_val v, int32_t *ret)
{
	int64_t x = 0;
	int r = json_conv_i64(p, v, &json_i32, &x);
	if (r > 0)
		*ret = (int32_t)x;
	return r;
}

int json_conv_strv(struct json_parser *p, yajl_val v, char ***ret, size_t *ret_n)
{
	if (!YAJL_IS_ARRAY(v))
		return json_fail(p, "must be an array of strings");
	size_t n = v->u.array.len;
	for (size_t i = 0; i < n; i++)
		if (!YAJL_IS_STRING(v->u.array.values[i]))
			return json_fail(p, "must be an array of strings");

	char **l = calloc(n + 1, sizeof(char *));
	if (!l)
		return json_oom(p);
	for (size_t i = 0; i < n; i++) {
		l[i] = strdup(v->u.array.values[i]->u.string);
		if (!l[i]) {
			strv_free(l);
			return json_oom(p);
		}
	}
	strv_free(*ret);
	*ret = l;
	*ret_n = n;
	return 1;
}

int json_conv_array(struct json_parser *p, yajl_val v, size_t size, json_elem_fn fn, void **ret,
		    size_t *ret_n)
{
	if (!YAJL_IS_ARRAY(v))
		return json_fail(p, "must be an array");
	size_t n = v->u.array.len;
	char *arr = calloc(n ? n : 1, size);
	if (!arr)
		return json_oom(p);
	*ret = arr;
	*ret_n = 0;
	for (size_t i = 0; i < n; i++) {
		size_t old = json_push_index(p, i);
		*ret_n = i + 1;
		int r = fn(p, v->u.array.values[i], arr + i * size);
		json_pop(p, old);
		if (r < 0)
			return r;
	}
	return 1;
}

int json_conv_kv(struct json_parser *p, yajl_val v, struct berth_kv **ret, size_t *ret_n)
{
	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	size_t n = v->u.object.len;
	struct berth_kv *kv = calloc(n ? n : 1, sizeof(*kv));
	if (!kv)
		return json_oom(p);
	*ret = kv;
	*ret_n = 0;
	for (size_t i = 0; i < n; i++) {
		yajl_val val = v->u.object.values[i];
		if (!YAJL_IS_STRING(val)) {
			size_t old = json_push_name(p, v->u.object.keys[i]);
			int r = json_fail(p, "must be a string");
			json_pop(p, old);
			return r;
		}
		*ret_n = i + 1;
		kv[i].key = strdup(v->u.object.keys[i]);
		kv[i].value = strdup(val->u.string);
		if (!kv[i].key || !kv[i].value)
			return json_oom(p);
	}
	return 1;
}

void kv_free(struct berth_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

int json_conv_object(struct json_parser *p, yajl_val v, json_object_fn fn, void *data)
{
	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	int r = fn(p, v, data);
	return r < 0 ? r : 1;
}

/* ---- re-serialising opaque sections ---- */

/*
 * Our own writer, not yajl_gen: that refuses anything nested deeper than 128
 * levels, and the syntax pass already allows JSON_MAX_DEPTH, bounding the recursion.
 */
static void put_string(FILE *f, const char *str)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)str; *c; c++) {
		switch (*c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*c < 0x20)
				fprintf(f, "\\u%04x", *c);
			else
				fputc(*c, f);
		}
	}
	fputc('"', f);
}

static bool put_value(FILE *f, yajl_val v)
{
	bool ok = true;

	switch (v->type) {
	case yajl_t_string:
		put_string(f, v->u.string);
		return true;
	case yajl_t_number:
		/* the original text, so that values beyond int64 stay exact */
		fputs(v->u.number.r, f);
		return true;
	case yajl_t_true:
		fputs("true", f);
		return true;
	case yajl_t_false:
		fputs("false", f);
		return true;
	case yajl_t_null:
		fputs("null", f);
		return true;
	case yajl_t_object:
		fputc('{', f);
		for (size_t i = 0; ok && i < v->u.object.len; i++) {
			if (i > 0)
				fputc(',', f);
			put_string(f, v->u.object.keys[i]);
			fputc(':', f);
			ok = put_value(f, v->u.object.values[i]);
		}
		fputc('}', f);
		return ok;
	case yajl_t_array:
		fputc('[', f);
		for (size_t i = 0; ok && i < v->u.array.len; i++) {
			if (i > 0)
				fputc(',', f);
			ok = put_value(f, v->u.array.values[i]);
		}
		fputc(']', f);
		return ok;
	default:
		return false;
	}
}

int json_conv_raw_object(struct json_parser *p, yajl_val v, char **ret)
{
	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");

	char *t = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&t, &len);
	if (!f)
		return json_oom(p);
	bool ok = put_value(f, v);
	/* a failed allocation inside the stream only shows in its error flag */
	bool written = !ferror(f);
	if (fclose(f) != 0 || !written || !t) {
		free(t);
		return json_oom(p);
	}
	if (!ok) {
		free(t);
		return json_fail(p, "cannot be re-serialised");
	}
	free(*ret);
	*ret = t;
	return 1;
}

/* ---- field helpers ---- */

int json_field_string(struct json_parser *p, yajl_val obj, const char *key, char **ret)
{
	return JSON_FIELD(p, obj, key, json_conv_string(p, v, ret));
}

int json_field_bool(struct json_parser *p, yajl_val obj, const char *key, bool *ret)
{
	return JSON_FIELD(p, obj, key, json_conv_bool(p, v, NULL, ret));
}

int json_field_u32(struct json_parser *p, yajl_val obj, const char *key, uint32_t *ret)
{
	return JSON_FIELD(p, obj, key, json_conv_u32(p, v, ret));
}

int json_field_i32(struct json_parser *p, yajl_val obj, const char *key, int32_t *ret)
{
	return JSON_FIELD(p, obj, key, json_conv_i32(p, v, ret));
}

int json_field_u64(struct json_parser *p, yajl_val obj, const char *key, uint64_t *ret)
{
	return JSON_FIELD(p, obj, key, json_conv_u64(p, v, &json_u64, ret));
}

int json_field_i64(struct json_parser *p, yajl_val obj, const char *key, int64_t *ret)
{
	return JSON_FIELD(p, obj, key, json_conv_i64(p, v, &json_i64, ret));
}

int json_field_strv(struct json_parser *p, yajl_val obj, const char *key, char ***ret,
		    size_t *ret_n)
{
	return JSON_FIELD(p, obj, key, json_conv_strv(p, v, ret, ret_n));
}

int json_field_array(struct json_parser *p, yajl_val obj, const char *key, size_t size,
		     json_elem_fn fn, void **ret, size_t *ret_n)
{
	return JSON_FIELD(p, obj, key, json_conv_array(p, v, size, fn, ret, ret_n));
}

int json_field_kv(struct json_parser *p, yajl_val obj, const char *key, struct berth_kv **ret,
		  size_t *ret_n)
{
	return JSON_FIELD(p, obj, key, json_conv_kv(p, v, ret, ret_n));
}

int json_field_raw(struct json_parser *p, yajl_val obj, const char *key, char **ret)
{
	return JSON_FIELD(p, obj, key, json_conv_raw_object(p, v, ret));
}

int json_field_object(struct json_parser *p, yajl_val obj, const char *key, json_object_fn fn,
		      void *data)
{
	return JSON_FIELD(p, obj, key, json_conv_object(p, v, fn, data));
}

int json_require(struct json_parser *p, int r, const char *key)
{
	if (r != 0)
		return r;
	size_t old = json_push_key(p, key);
	r = json_fail(p, "is required");
	json_pop(p, old);
	return r;
}

/* ---- the generator ---- */

int gen_init(struct gen *j, const char *indent)
{
	*j = (struct gen){ .st = yajl_gen_status_ok, .g = yajl_gen_alloc(NULL) };
	if (!j->g)
		return -ENOMEM;
	if (indent) {
		yajl_gen_config(j->g, yajl_gen_beautify, 1);
		yajl_gen_config(j->g, yajl_gen_indent_string, indent);
	}
	return 0;
}

void gen_done(struct gen *j)
{
	if (j->g)
		yajl_gen_free(j->g);
	j->g = NULL;
}

int gen_finish(struct gen *j, char **ret, size_t *ret_len)
{
	const unsigned char *buf = NULL;
	size_t len = 0;

	if (j->st == yajl_gen_status_ok)
		j->st = yajl_gen_get_buf(j->g, &buf, &len);
	int r = j->st == yajl_gen_status_ok ? 0 : -EINVAL;
	char *out = r == 0 ? strndup((const char *)buf, len) : NULL;
	gen_done(j);
	if (r < 0)
		return r;
	if (!out)
		return -ENOMEM;
	*ret = out;
	if (ret_len)
		*ret_len = len;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not valid. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void gen_str(struct gen *j, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;

	if (j->st != yajl_gen_status_ok)
		return;
	while (i < len && (n = utf8_len(u + i)) > 0)
		i += n;
	if (i == len) {
		j->st = yajl_gen_string(j->g, u, len);
		return;
	}
	/* JSON text is UTF-8: a byte that starts no valid sequence becomes U+FFFD */
	_cleanup_free_ char *t = malloc(len * 3 + 1);
	if (!t) {
		j->st = yajl_gen_generation_complete; /* any failure: the document is lost */
		return;
	}
	size_t k = 0;
	for (i = 0; i < len; i += n) {
		n = utf8_len(u + i);
		if (n == 0) {
			t[k++] = (char)0xef;
			t[k++] = (char)0xbf;
			t[k++] = (char)0xbd;
			n = 1;
		} else {
			memcpy(t + k, u + i, n);
			k += n;
		}
	}
	j->st = yajl_gen_string(j->g, (const unsigned char *)t, k);
}

void gen_int(struct gen *j, long long v)
{
	if (j->st == yajl_gen_status_ok)
		j->st = yajl_gen_integer(j->g, v);
}

void gen_u64(struct gen *j, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);
	if (j->st == yajl_gen_status_ok)
		j->st = yajl_gen_number(j->g, num, (size_t)n);
}

void gen_bool(struct gen *j, bool v)
{
	if (j->st == yajl_gen_status_ok)
		j->st = yajl_gen_bool(j->g, v);
}

void gen_null(struct gen *j)
{
	if (j->st == yajl_gen_status_ok)
		j->st = yajl_gen_null(j->g);
}

void gen_open(struct gen *j, bool array)
{
	if (j->st == yajl_gen_status_ok)
		j->st = array ? yajl_gen_array_open(j->g) : yajl_gen_map_open(j->g);
}

void gen_close(struct gen *j, bool array)
{
	if (j->st == yajl_gen_status_ok)
		j->st = array ? yajl_gen_array_close(j->g) : yajl_gen_map_close(j->g);
}

void gen_raw(struct gen *j, const char *json)
{
	/* yajl_gen_number copies its text as is, with the separators a value needs */
	if (j->st == yajl_gen_status_ok)
		j->st = yajl_gen_number(j->g, json, strlen(json));
}

void gen_tree(struct gen *j, yajl_val v)
{
	if (j->st != yajl_gen_status_ok)
		return;
	switch (v->type) {
	case yajl_t_string:
		gen_str(j, v->u.string);
		break;
	case yajl_t_number:
		j->st = yajl_gen_number(j->g, v->u.number.r, strlen(v->u.number.r));
		break;
	case yajl_t_object:
		gen_open(j, false);
		for (size_t i = 0; i < v->u.object.len; i++) {
			gen_str(j, v->u.object.keys[i]);
			gen_tree(j, v->u.object.values[i]);
		}
		gen_close(j, false);
		break;
	case yajl_t_array:
		gen_open(j, true);
		for (size_t i = 0; i < v->u.array.len; i++)
			gen_tree(j, v->u.array.values[i]);
		gen_close(j, true);
		break;
	case yajl_t_true:
	case yajl_t_false:
		gen_bool(j, YAJL_IS_TRUE(v));
		break;
	default:
		gen_null(j);
	}
}

void gen_key_str(struct gen *j, const char *key, const char *val)
{
	gen_str(j, key);
	if (val)
		gen_str(j, val);
	else
		gen_null(j);
}

void gen_key_int(struct gen *j, const char *key, long long val)
{
	gen_str(j, key);
	gen_int(j, val);
}

void gen_key_u64(struct gen *j, const char *key, uint64_t val)
{
	gen_str(j, key);
	gen_u64(j, val);
}

void gen_key_bool(struct gen *j, const char *key, bool val)
{
	gen_str(j, key);
	gen_bool(j, val);
}

void gen_key_strv(struct gen *j, const char *key, const char *const *v)
{
	gen_str(j, key);
	gen_open(j, true);
	for (; *v; v++)
		gen_str(j, *v);
	gen_close(j, true);
}
