/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Environment lists (NULL-terminated arrays of malloc'd "KEY=VALUE" strings
 * with their count, as process.env). libc only; runs in the berth process.
 */
#pragma once

#include <stddef.h>

/*
 * Set KEY=VALUE (kv, copied) in *env of *n entries: it replaces the entry of
 * the same KEY, else it is added at the end and the array stays
 * NULL-terminated. 0 or -ENOMEM (*env and *n unchanged).
 */
int env_set(char ***env, size_t *n, const char *kv);
