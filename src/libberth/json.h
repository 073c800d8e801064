/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one JSON layer of berth (yajl underneath): a parser core that tracks
 * the JSON path of the value it converts, so that every error names it
 * ("config.json: process.args: must be an array of strings"), and a
 * generator that remembers its first failure. Memory only; any process.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "berth/error.h"
#include "util/macro.h"

/* Deeper JSON is refused up front: yajl frees trees recursively, and so do we. */
#define BERTH_JSON_MAX_DEPTH 256
#define JSON_PATH_MAX	     512

/*
 * The syntax pass every JSON text berth parses goes through first (yajl's
 * tree API has no positions, no depth limit and decodes a lone UTF-16
 * surrogate to "?"). Errors start with what ("config.json") and give a line
 * and column: syntax, nesting deeper than BERTH_JSON_MAX_DEPTH, a NUL in a
 * string; a lone surrogate also gives the JSON path (under prefix if not NULL).
 */
int json_check(const char *text, size_t len, const char *what, const char *prefix,
	       struct berth_error **err);

/* ---- parsing ---- */

/*
 * Where a conversion is: messages read "<file>: <path>: <message>", or
 * "<path>: <message>" without a file. Errors go to *err, always EINVAL
 * (ENOMEM for memory).
 */
struct json_parser {
	const char *file;
	char path[JSON_PATH_MAX];
	size_t len;
	struct berth_error **err;
};

/* file may be NULL; prefix (may be NULL) is the path of the text's top value. */
void json_parser_init(struct json_parser *p, const char *file, const char *prefix,
		      struct berth_error **err);

/*
 * json_check() with p's file and path, then the yajl tree of text
 * (*ret_root, yajl_tree_free() it). An error names p's file (or path).
 */
int json_parse(struct json_parser *p, const char *text, size_t len, yajl_val *ret_root);

/* Path steps: each returns the old length for json_pop(). */
size_t json_push_key(struct json_parser *p, const char *key);	/* ".key", "key" at the top */
size_t json_push_index(struct json_parser *p, size_t i);	/* "[i]" */
size_t json_push_name(struct json_parser *p, const char *name); /* "[\"name\"]": data as keys */
void json_pop(struct json_parser *p, size_t old);

/* "<file>: <path>: <message>" into *err; returns -EINVAL. */
_printf_(2, 3) int json_fail(struct json_parser *p, const char *fmt, ...);
int json_oom(struct json_parser *p);

/* The value of key in obj; NULL when absent or JSON null. The last duplicate wins, as in Go. */
yajl_val json_member(yajl_val obj, const char *key);

/*
 * Converters of the value at the current path: 1 on success, < 0 on error.
 * A string replaces (frees) what *ret held.
 */
int json_conv_string(struct json_parser *p, yajl_val v, char **ret);
/* what: what a boolean must be in the message, NULL for "a boolean" */
int json_conv_bool(struct json_parser *p, yajl_val v, const char *what, bool *ret);

/*
 * An integer is taken from the number's own text (yajl clamps values beyond
 * int64), without fraction or exponent, within [min, max]: "-" is refused
 * when min is 0. A value that is no such integer fails "must be <what>";
 * one out of range as range says.
 */
enum json_range_msg {
	JSON_RANGE_WHAT,   /* "must be <what>" */
	JSON_RANGE_TEXT,   /* "<the number> is out of range" */
	JSON_RANGE_AT_MOST /* "must be at most <max>" */
};
struct json_int {
	int64_t min;
	uint64_t max;
	const char *what;
	enum json_range_msg range;
};
extern const struct json_int json_u32, json_i32, json_u64, json_i64;
int json_conv_u64(struct json_parser *p, yajl_val v, const struct json_int *t, uint64_t *ret);
int json_conv_i64(struct json_parser *p, yajl_val v, const struct json_int *t, int64_t *ret);
int json_conv_u32(struct json_parser *p, yajl_val v, uint32_t *ret);
int json_conv_i32(struct json_parser *p, yajl_val v, int32_t *ret);

/* A NULL-terminated copy of an array of strings (replacing *ret); *ret_n is its length. */
int json_conv_strv(struct json_parser *p, yajl_val v, char ***ret, size_t *ret_n);

/*
 * An array of structs: calloc()s the array (*ret, the caller's even on
 * failure), then fills it element by element under "[i]". *ret_n counts every
 * element touched so far, so that a failure in the middle of an element still
 * lets the caller's destructor free what that element holds.
 */
typedef int (*json_elem_fn)(struct json_parser *p, yajl_val v, void *elem);
int json_conv_array(struct json_parser *p, yajl_val v, size_t size, json_elem_fn fn, void **ret,
		    size_t *ret_n);

/* A JSON object of strings -> array of key/value pairs (the caller's even on failure). */
struct berth_kv {
	char *key;
	char *value;
};
int json_conv_kv(struct json_parser *p, yajl_val v, struct berth_kv **ret, size_t *ret_n);
void kv_free(struct berth_kv *kv, size_t n);

/* An object, re-serialised as compact JSON text (replacing *ret); numbers keep their text. */
int json_conv_raw_object(struct json_parser *p, yajl_val v, char **ret);

/* An object, handed to fn (which converts its members). */
typedef int (*json_object_fn)(struct json_parser *p, yajl_val obj, void *data);
int json_conv_object(struct json_parser *p, yajl_val v, json_object_fn fn, void *data);

/*
 * Field helpers: look up key in obj and convert it under "<path>.<key>".
 * 1 if key was present and converted, 0 if absent (or null), < 0 on error.
 */
#define JSON_FIELD(p, obj, key, call)                            \
	({                                                       \
		yajl_val _v = json_member((obj), (key));         \
		int _r = 0;                                      \
		if (_v) {                                        \
			size_t _old = json_push_key((p), (key)); \
			yajl_val v = _v;                         \
			_r = (call);                             \
			json_pop((p), _old);                     \
		}                                                \
		_r;                                              \
	})

int json_field_string(struct json_parser *p, yajl_val obj, const char *key, char **ret);
int json_field_bool(struct json_parser *p, yajl_val obj, const char *key, bool *ret);
int json_field_u32(struct json_parser *p, yajl_val obj, const char *key, uint32_t *ret);
int json_field_i32(struct json_parser *p, yajl_val obj, const char *key, int32_t *ret);
int json_field_u64(struct json_parser *p, yajl_val obj, const char *key, uint64_t *ret);
int json_field_i64(struct json_parser *p, yajl_val obj, const char *key, int64_t *ret);
int json_field_strv(struct json_parser *p, yajl_val obj, const char *key, char ***ret,
		    size_t *ret_n);
int json_field_array(struct json_parser *p, yajl_val obj, const char *key, size_t size,
		     json_elem_fn fn, void **ret, size_t *ret_n);
int json_field_kv(struct json_parser *p, yajl_val obj, const char *key, struct berth_kv **ret,
		  size_t *ret_n);
int json_field_raw(struct json_parser *p, yajl_val obj, const char *key, char **ret);
int json_field_object(struct json_parser *p, yajl_val obj, const char *key, json_object_fn fn,
		      void *data);
/* r from a field helper; 0 (absent) becomes "<path>.<key>: is required". */
int json_require(struct json_parser *p, int r, const char *key);

/* ---- generating ---- */

/* A yajl generator that remembers its first failure: a whole document checks once, at the end. */
struct gen {
	yajl_gen g;
	yajl_gen_status st;
};

/* indent: NULL for compact output. -ENOMEM. */
int gen_init(struct gen *j, const char *indent);
/* The document (malloc'd, NUL-terminated; *ret_len may be NULL); frees j's generator. -ENOMEM, -EINVAL. */
int gen_finish(struct gen *j, char **ret, size_t *ret_len);
/* Frees j's generator (after a failure); j may be zeroed. */
void gen_done(struct gen *j);

void gen_str(struct gen *j, const char *s);
void gen_int(struct gen *j, long long v);
void gen_u64(struct gen *j, uint64_t v); /* exact beyond INT64_MAX */
void gen_bool(struct gen *j, bool v);
void gen_null(struct gen *j);
void gen_open(struct gen *j, bool array);
void gen_close(struct gen *j, bool array);
/* A value from a yajl tree, numbers as written. */
void gen_tree(struct gen *j, yajl_val v);
/* Compact JSON text, spliced in as one value (it must be valid JSON). */
void gen_raw(struct gen *j, const char *json);

void gen_key_str(struct gen *j, const char *key, const char *val); /* val NULL: null */
void gen_key_int(struct gen *j, const char *key, long long val);
void gen_key_u64(struct gen *j, const char *key, uint64_t val);
void gen_key_bool(struct gen *j, const char *key, bool val);
/* "key": [ "a", "b", ... ] for a NULL-terminated list. */
void gen_key_strv(struct gen *j, const char *key, const char *const *v);
