/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Timestamps as berth writes them (state.json's created and exitedAt, the
 * container.log records), and the monotonic clock for deadlines. libc only; runs in the berth process and berth-shim.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The time now, UTC, in RFC 3339 with nanoseconds ("2026-01-02T03:04:05.123456789Z") into buf (>= 40 bytes); returns buf. */
char *rfc3339_now(char *buf, size_t size);

/* CLOCK_MONOTONIC in milliseconds: deadlines and intervals. */
int64_t monotonic_ms(void);
