/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Cleanup attributes, ownership transfer and small helpers shared by every
 * layer. libc only; usable in any process (parent, container init, shim).
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "berth/cleanup.h"

#define _cleanup_(fn)  __attribute__((cleanup(fn)))
#define _unused_       __attribute__((unused))
#define _noreturn_     __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _must_check_   __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/*
 * freep() and closep() (which marks the fd closed, so that a second call cannot
 * hit a reused number) are berth/cleanup.h's: public, for the CLI and engines too.
 */
#define freep		berth_freep
#define closep		berth_closep
#define _cleanup_free_	_cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Free a NULL-terminated array of strings and the array itself. */
static inline void strv_free(char **v)
{
	if (!v)
		return;
	for (char **s = v; *s; s++)
		free(*s);
	free(v);
}
static inline void strv_freep(char ***v)
{
	strv_free(*v);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Hand ownership on: returns the value and leaves the variable empty. */
#define TAKE_PTR(p)                     \
	({                              \
		__typeof__(p) _p = (p); \
		(p) = NULL;             \
		_p;                     \
	})
#define TAKE_FD(fd)             \
	({                      \
		int _fd = (fd); \
		(fd) = -EBADF;  \
		_fd;            \
	})

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define streq(a, b) (strcmp((a), (b)) == 0)
