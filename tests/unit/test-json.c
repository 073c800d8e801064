/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the JSON layer (json.c): the path in errors (members, indices,
 * names, a prefix, with and without a file), type and range errors in each
 * wording, null and duplicates, and the generator (exact u64, U+FFFD for
 * invalid UTF-8, splicing, first failure kept).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tests.h"

/* A parser over text, with its tree; the caller frees the tree and the error. */
static yajl_val parse(struct json_parser *p, const char *file, const char *prefix, const char *text,
		      struct berth_error **err)
{
	yajl_val root = NULL;
	json_parser_init(p, file, prefix, err);
	check(json_parse(p, text, strlen(text), &root) == 0 && root);
	return root;
}

/* *e must be an EINVAL error saying want; frees it and clears *e. */
static void expect_msg(struct berth_error **e, const char *want)
{
	if (!*e || !streq((*e)->msg, want)) {
		fprintf(stderr, "want \"%s\", got \"%s\"\n", want, *e ? (*e)->msg : "no error");
		exit(1);
	}
	check((*e)->code == EINVAL);
	berth_error_free(*e);
	*e = NULL;
}

struct pair {
	char *name;
	uint32_t n;
};

static int conv_pair(struct json_parser *p, yajl_val v, void *elem)
{
	struct pair *x = elem;
	int r;
	if (!YAJL_IS_OBJECT(v))
		return json_fail(p, "must be an object");
	if ((r = json_require(p, json_field_string(p, v, "name", &x->name), "name")) < 0 ||
	    (r = json_field_u32(p, v, "n", &x->n)) < 0)
		return r;
	return 0;
}

static void free_pairs(struct pair *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* The path of a failing value, from the top and under a prefix. */
static void test_paths(void)
{
	const char *text = "{\"a\":{\"list\":[{\"name\":\"x\"},{\"name\":\"y\",\"n\":-1}]}}";
	struct berth_error *e = NULL;
	struct json_parser p;
	yajl_val root = parse(&p, "config.json", NULL, text, &e);
	yajl_val a = json_member(root, "a");
	check(a && YAJL_IS_OBJECT(a));
	struct pair *pairs = NULL;
	size_t n = 0;
	size_t old = json_push_key(&p, "a");
	check(streq(p.path, "a"));
	int r = json_field_array(&p, a, "list", sizeof(*pairs), conv_pair, (void **)&pairs, &n);
	check(r == -EINVAL && n == 2);
	expect_msg(&e, "config.json: a.list[1].n: must be an unsigned 32-bit integer");
	json_pop(&p, old);
	check(p.len == 0 && p.path[0] == 0);
	free_pairs(pairs, n);

	/* a missing member */
	check(json_require(&p, json_field_string(&p, root, "b", &(char *){ NULL }), "b") ==
	      -EINVAL);
	expect_msg(&e, "config.json: b: is required");
	yajl_tree_free(root);

	/* under a prefix, without a file: the path leads */
	root = parse(&p, NULL, "resources", "{\"m\":{\"k\":true}}", &e);
	yajl_val m = json_member(root, "m");
	old = json_push_key(&p, "m");
	json_push_name(&p, "odd key");
	check(json_fail(&p, "bad %d", 7) == -EINVAL);
	expect_msg(&e, "resources.m[\"odd key\"]: bad 7");
	json_pop(&p, old);
	uint64_t x;
	check(JSON_FIELD(&p, m, "k", json_conv_u64(&p, v, &json_u64, &x)) == -EINVAL);
	expect_msg(&e, "resources.k: must be an unsigned 64-bit integer");
	yajl_tree_free(root);
}

/* Integers: exact over the whole range, each wording of a range error. */
static void test_integers(void)
{
	static const struct {
		const char *num;
		const struct json_int *t;
		int64_t i;
		uint64_t u;
		const char *err;
	} cases[] = {
		{ "18446744073709551615", &json_u64, 0, UINT64_MAX, NULL },
		{ "18446744073709551616", &json_u64, 0, 0, "must be an unsigned 64-bit integer" },
		{ "-1", &json_u64, 0, 0, "must be an unsigned 64-bit integer" },
		{ "-9223372036854775808", &json_i64, INT64_MIN, 0, NULL },
		{ "1.0", &json_i64, 0, 0, "must be a 64-bit integer" },
		{ "1e3", &json_i32, 0, 0, "must be a 32-bit integer" },
		{ "\"7\"", &json_i32, 0, 0, "must be a 32-bit integer" },
		{ "2147483648", &json_i32, 0, 0, "must be a 32-bit integer" },
		{ "4294967295", &json_u32, 0, UINT32_MAX, NULL },
		{ "4294967296", &json_u32, 0, 0, "must be an unsigned 32-bit integer" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[64];
		snprintf(text, sizeof(text), "{\"v\":%s}", cases[i].num);
		struct berth_error *e = NULL;
		struct json_parser p;
		yajl_val root = parse(&p, "f.json", NULL, text, &e);
		int64_t si = 0;
		uint64_t su = 0;
		int r = cases[i].t->min < 0
				? JSON_FIELD(&p, root, "v", json_conv_i64(&p, v, cases[i].t, &si))
				: JSON_FIELD(&p, root, "v", json_conv_u64(&p, v, cases[i].t, &su));
		if (cases[i].err) {
			char want[128];
			snprintf(want, sizeof(want), "f.json: v: %s", cases[i].err);
			check(r == -EINVAL);
			expect_msg(&e, want);
		} else {
			check(r == 1 && !e && si == cases[i].i && su == cases[i].u);
		}
		berth_error_free(e);
		yajl_tree_free(root);
	}

	/* the other wordings: the number as written (cut when long), the maximum */
	const struct json_int text = { 0, UINT16_MAX, "a non-negative integer", JSON_RANGE_TEXT };
	const struct json_int most = { 0, 4095, "a non-negative integer", JSON_RANGE_AT_MOST };
	struct berth_error *e = NULL;
	struct json_parser p;
	uint64_t x = 0;
	yajl_val root = parse(&p, NULL, "r",
			      "{\"a\":65536,\"b\":4096,\"c\":-3,"
			      "\"d\":123456789012345678901234567890123456789}",
			      &e);
	check(JSON_FIELD(&p, root, "a", json_conv_u64(&p, v, &text, &x)) == -EINVAL);
	expect_msg(&e, "r.a: 65536 is out of range");
	check(JSON_FIELD(&p, root, "b", json_conv_u64(&p, v, &most, &x)) == -EINVAL);
	expect_msg(&e, "r.b: must be at most 4095");
	check(JSON_FIELD(&p, root, "c", json_conv_u64(&p, v, &most, &x)) == -EINVAL);
	expect_msg(&e, "r.c: must be a non-negative integer");
	check(JSON_FIELD(&p, root, "d", json_conv_u64(&p, v, &text, &x)) == -EINVAL);
	expect_msg(&e, "r.d: 12345678901234567890123456789012... (39 digits) is out of range");
	check(x == 0);
	yajl_tree_free(root);
}

/* Types of the other getters; null is absent; the last duplicate wins. */
static void test_types(void)
{
	struct berth_error *e = NULL;
	struct json_parser p;
	yajl_val root = parse(&p, "c.json", NULL,
			      "{\"s\":1,\"b\":\"yes\",\"l\":[1],\"o\":[],\"n\":null,"
			      "\"d\":1,\"d\":2,\"k\":{\"a\":\"1\",\"b\":2}}",
			      &e);
	char *s = NULL, **l = NULL;
	size_t nl = 0;
	bool b = false;
	struct berth_kv *kv = NULL;
	size_t nkv = 0;
	int32_t d = 0;

	check(json_field_string(&p, root, "s", &s) == -EINVAL);
	expect_msg(&e, "c.json: s: must be a string");
	check(json_field_bool(&p, root, "b", &b) == -EINVAL);
	expect_msg(&e, "c.json: b: must be a boolean");
	check(JSON_FIELD(&p, root, "b", json_conv_bool(&p, v, "true or false", &b)) == -EINVAL);
	expect_msg(&e, "c.json: b: must be true or false");
	check(json_field_strv(&p, root, "l", &l, &nl) == -EINVAL && !l);
	expect_msg(&e, "c.json: l: must be an array of strings");
	check(json_field_raw(&p, root, "o", &s) == -EINVAL && !s);
	expect_msg(&e, "c.json: o: must be an object");
	check(json_field_kv(&p, root, "k", &kv, &nkv) == -EINVAL && nkv == 1);
	expect_msg(&e, "c.json: k[\"b\"]: must be a string");
	kv_free(kv, nkv);

	check(json_field_string(&p, root, "n", &s) == 0 && !s && !e);
	check(json_field_string(&p, root, "absent", &s) == 0 && !s && !e);
	check(json_field_i32(&p, root, "d", &d) == 1 && d == 2 && !e);
	check(p.len == 0);
	yajl_tree_free(root);

	/* a syntax error names the file, a line and a column */
	yajl_val bad = NULL;
	json_parser_init(&p, "c.json", NULL, &e);
	check(json_parse(&p, "{\n \"a\": tru }", 13, &bad) == -EINVAL && !bad);
	check(e && strncmp(e->msg, "c.json: invalid JSON at line 2, column ", 39) == 0);
	berth_error_free(e);
}

/* A re-serialised object keeps numbers as written and escapes what it must. */
static void test_raw(void)
{
	struct berth_error *e = NULL;
	struct json_parser p;
	yajl_val root = parse(&p, "c.json", NULL,
			      "{\"o\": {\"big\": 18446744073709551615, \"s\": \"a\\\"\\n\", "
			      "\"a\": [true, null, 1.5]}}",
			      &e);
	char *t = NULL;
	check(json_field_raw(&p, root, "o", &t) == 1 && t);
	check(streq(t, "{\"big\":18446744073709551615,\"s\":\"a\\\"\\n\",\"a\":[true,null,1.5]}"));
	free(t);
	yajl_tree_free(root);
}

static void test_gen(void)
{
	struct gen j;
	char *out = NULL;
	size_t len = 0;
	const char *const list[] = { "x", NULL };

	check(gen_init(&j, NULL) == 0);
	gen_open(&j, false);
	gen_key_u64(&j, "u", UINT64_MAX);
	gen_key_int(&j, "i", -5);
	gen_key_str(&j, "null", NULL);
	gen_key_str(&j, "bad",
		    "a\xff"
		    "b\xc3\xa9");
	gen_key_bool(&j, "t", true);
	gen_key_strv(&j, "l", list);
	gen_str(&j, "raw");
	gen_raw(&j, "{\"k\":[1]}");
	gen_close(&j, false);
	check(gen_finish(&j, &out, &len) == 0 && out && len == strlen(out));
	check(streq(out, "{\"u\":18446744073709551615,\"i\":-5,\"null\":null,"
			 "\"bad\":\"a\xef\xbf\xbd"
			 "b\xc3\xa9\",\"t\":true,\"l\":[\"x\"],\"raw\":{\"k\":[1]}}"));
	free(out);

	/* the first failure is kept: a value where a key must be */
	check(gen_init(&j, "  ") == 0);
	gen_open(&j, false);
	gen_int(&j, 1);
	gen_close(&j, false);
	out = NULL;
	check(gen_finish(&j, &out, NULL) == -EINVAL && !out && !j.g);
}

int main(void)
{
	test_paths();
	test_integers();
	test_types();
	test_raw();
	test_gen();
	return 0;
}
