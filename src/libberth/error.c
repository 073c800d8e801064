/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * berth_error: build, prefix and free error messages. Runs in any process;
 * the container init sends the message text up the sync socket.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/error.h"

static int error_vset(struct berth_error **err, int errnum, bool with_strerror, const char *fmt,
		      va_list ap) __attribute__((format(printf, 4, 0)));

static int error_vset(struct berth_error **err, int errnum, bool with_strerror, const char *fmt,
		      va_list ap)
{
	int code = errnum > 0 ? errnum : (errnum < 0 ? -errnum : EIO);

	if (!err)
		return -code;
	if (*err)
		return -(*err)->code;

	struct berth_error *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0) {
		free(e);
		return -ENOMEM;
	}
	if (with_strerror && errnum != 0) {
		char *full = NULL;
		if (asprintf(&full, "%s: %s", m, strerror(code)) >= 0) {
			free(m);
			m = full;
		}
	}
	e->code = code;
	e->msg = m;
	*err = e;
	return -code;
}

int berth_error_set(struct berth_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = error_vset(err, errnum, true, fmt, ap);
	va_end(ap);
	return r;
}

int berth_error_setx(struct berth_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = error_vset(err, errnum, false, fmt, ap);
	va_end(ap);
	return r;
}

int berth_error_prefix(struct berth_error **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -EIO;

	char *p = NULL, *full = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r >= 0 && asprintf(&full, "%s: %s", p, (*err)->msg) >= 0) {
		free((*err)->msg);
		(*err)->msg = full;
	}
	free(p);
	return -(*err)->code;
}

void berth_error_free(struct berth_error *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e);
}
