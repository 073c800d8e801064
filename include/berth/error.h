/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The error object every libberth function that touches the system or reads
 * user input fills in. One message, built up with context as it travels up.
 */
#pragma once

struct berth_error {
	int code;  /* positive errno */
	char *msg; /* one line, lowercase, no final period */
};

/*
 * Record an error and return -errnum (or -EIO when errnum is 0). If *err is
 * already set it is kept: the first, deepest cause wins. err may be NULL.
 * When errnum != 0 the strerror text is appended as ": <strerror>".
 */
int berth_error_set(struct berth_error **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like berth_error_set() but never appends strerror (for config errors). */
int berth_error_setx(struct berth_error **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Put context in front of an existing message: "create 'web': <old msg>".
 * Returns -(*err)->code, or -EIO if there is no error set.
 */
int berth_error_prefix(struct berth_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void berth_error_free(struct berth_error *e);
static inline void berth_error_freep(struct berth_error **e)
{
	berth_error_free(*e);
	*e = 0;
}
