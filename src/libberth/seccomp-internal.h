/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared only by the seccomp-*.c files, never included elsewhere (callers use
 * seccomp-filter.h): what one step of linux.seccomp hands to the next.
 */
#pragma once

#include "seccomp-filter.h"

/* Append a copy of msg to f->warnings (kept NULL-terminated); -ENOMEM. */
int berth_seccomp_add_warning(struct berth_seccomp *f, const char *msg);

/* A name linux.seccomp may use and its value (SCMP_* or BERTH_SECCOMP_FLAG_*). */
struct berth_seccomp_name {
	const char *name;
	uint32_t value;
};

/* The entries of the architecture table (seccomp-parse.c checks the count). */
#define BERTH_SECCOMP_N_ARCHS 19
/* The filter flags linux.seccomp.flags may name, BERTH_SECCOMP_N_FLAGS of them. */
#define BERTH_SECCOMP_N_FLAGS 4
extern const struct berth_seccomp_name berth_seccomp_flags[];

/* The entry of t[0..n) called name, or NULL. */
const struct berth_seccomp_name *berth_seccomp_lookup(const struct berth_seccomp_name *t, size_t n,
						      const char *name);
/* The name of an SCMP_ACT_* value, its data ignored ("?" if unknown). */
const char *berth_seccomp_action_name(uint32_t action);
