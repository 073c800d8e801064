/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A yajl generator that remembers its first failure, so that code writing a
 * whole document checks once, at the end. Used by the generated documents
 * (berth spec, berth features); any process.
 */
#pragma once

#include <stdbool.h>
#include <string.h>
#include <yajl/yajl_gen.h>

struct gen {
	yajl_gen g;
	yajl_gen_status st;
};

static inline void gen_str(struct gen *j, const char *s)
{
	if (j->st == yajl_gen_status_ok)
		j->st = yajl_gen_string(j->g, (const unsigned char *)s, strlen(s));
}

static inline void gen_int(struct gen *j, long long v)
{
	if (j->st == yajl_gen_status_ok)
		j->st = yajl_gen_integer(j->g, v);
}

static inline void gen_bool(struct gen *j, bool v)
{
	if (j->st == yajl_gen_status_ok)
		j->st = yajl_gen_bool(j->g, v);
}

static inline void gen_open(struct gen *j, bool array)
{
	if (j->st == yajl_gen_status_ok)
		j->st = array ? yajl_gen_array_open(j->g) : yajl_gen_map_open(j->g);
}

static inline void gen_close(struct gen *j, bool array)
{
	if (j->st == yajl_gen_status_ok)
		j->st = array ? yajl_gen_array_close(j->g) : yajl_gen_map_close(j->g);
}

/* "key": [ "a", "b", ... ] for a NULL-terminated list. */
static inline void gen_key_strv(struct gen *j, const char *key, const char *const *v)
{
	gen_str(j, key);
	gen_open(j, true);
	for (; *v; v++)
		gen_str(j, *v);
	gen_close(j, true);
}

static inline void gen_key_str(struct gen *j, const char *key, const char *val)
{
	gen_str(j, key);
	gen_str(j, val);
}

static inline void gen_key_int(struct gen *j, const char *key, long long val)
{
	gen_str(j, key);
	gen_int(j, val);
}

static inline void gen_key_bool(struct gen *j, const char *key, bool val)
{
	gen_str(j, key);
	gen_bool(j, val);
}
