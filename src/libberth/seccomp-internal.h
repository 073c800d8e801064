/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared only by the seccomp-*.c files, never included elsewhere (callers use
 * seccomp-filter.h): what one step of linux.seccomp hands to the next.
 */
#pragma once

#include "seccomp-filter.h"

/* Append a copy of msg to f->warnings (kept NULL-terminated); -ENOMEM. */
int berth_seccomp_add_warning(struct berth_seccomp *f, const char *msg);
