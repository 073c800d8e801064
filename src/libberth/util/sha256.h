/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SHA-256 (FIPS 180-4), one-shot and incremental. libc only; berth uses it
 * for the seccomp cache's key and checksum, in the berth process.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32

struct sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	size_t n;
	uint64_t total;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Writes the digest; s must be initialised again before another use. */
void sha256_final(struct sha256 *s, uint8_t ret[SHA256_DIGEST_SIZE]);

/* The digest of len bytes of data. */
void sha256(const void *data, size_t len, uint8_t ret[SHA256_DIGEST_SIZE]);
