/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The error message of berth-net: owns the one buffer every module of the
 * helper writes its failure into and main() answers berth with. Runs in the
 * berth-net process.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"

static char errbuf[512];

static int vfail(int r, bool with_strerror, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static int vfail(int r, bool with_strerror, const char *fmt, va_list ap)
{
	if (errbuf[0])
		return r; /* keep the first (innermost) message */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): ap comes from va_start in the callers */
	int n = vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	if (with_strerror && r < 0 && n >= 0 && (size_t)n < sizeof(errbuf))
		snprintf(errbuf + n, sizeof(errbuf) - (size_t)n, ": %s", strerror(-r));
	return r < 0 ? r : -EINVAL;
}

int errmsg_set(int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r = vfail(r, true, fmt, ap);
	va_end(ap);
	return r;
}

int errmsg_setx(int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r = vfail(r, false, fmt, ap);
	va_end(ap);
	return r;
}

const char *errmsg_get(int r)
{
	if (!errbuf[0])
		snprintf(errbuf, sizeof(errbuf), "%s", strerror(-r));
	return errbuf;
}
