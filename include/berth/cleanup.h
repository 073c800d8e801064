/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Optional helpers for C callers that free with the cleanup attribute of GCC
 * and clang, as berth itself does:
 *	__attribute__((cleanup(berth_freep))) char *json = berth_state_to_json(s, false);
 * frees the string when json goes out of scope. Header only: none of these
 * is a symbol of libberth.so. berth_error_freep() is in berth/error.h.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* free(*p): for what libberth returns malloc'd (strings, arrays) and the caller's own memory. */
static inline void berth_freep(void *p)
{
	free(*(void **)p);
}

/*
 * Close *fd if open (the fd of berth_attach_connect(), ...) and mark it closed
 * (-EBADF), so that a second call cannot hit a reused number; errno is kept.
 */
static inline void berth_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
		*fd = -EBADF;
	}
}
