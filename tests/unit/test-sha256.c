/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/sha256.c against the test vectors of FIPS 180-2 (appendix B), and the
 * incremental API against the one-shot one.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sha256.h"
#include "tests.h"

static void hex(const uint8_t h[SHA256_DIGEST_SIZE], char out[2 * SHA256_DIGEST_SIZE + 1])
{
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

static bool digest_is(const void *data, size_t len, const char *want)
{
	uint8_t h[SHA256_DIGEST_SIZE];
	char s[2 * SHA256_DIGEST_SIZE + 1];
	sha256(data, len, h);
	hex(h, s);
	return strcmp(s, want) == 0;
}

static void test_vectors(void)
{
	check(digest_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	check(digest_is("abc", 3,
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	check(digest_is(two, strlen(two),
			"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
	char *mil = malloc(1000000);
	check(mil);
	memset(mil, 'a', 1000000);
	check(digest_is(mil, 1000000,
			"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
	free(mil);
}

/* Every split of the input into two updates, across the 55/56/64-byte padding edges. */
static void test_incremental(void)
{
	char data[130];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	for (size_t len = 0; len <= sizeof(data); len++) {
		uint8_t one[SHA256_DIGEST_SIZE];
		sha256(data, len, one);
		for (size_t cut = 0; cut <= len; cut++) {
			struct sha256 s;
			uint8_t two[SHA256_DIGEST_SIZE];
			sha256_init(&s);
			sha256_update(&s, data, cut);
			sha256_update(&s, data + cut, len - cut);
			sha256_final(&s, two);
			check(memcmp(one, two, sizeof(one)) == 0);
		}
	}
}

int main(void)
{
	test_vectors();
	test_incremental();
	return 0;
}
