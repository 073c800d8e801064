/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RFC 3339 timestamps and the monotonic clock. libc only; runs in the berth process and berth-shim.
 */
#include <stdio.h>
#include <time.h>

#include "util/timestamp.h"

char *rfc3339_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* not strftime(): it would pull the locale code into the static berth-shim */
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
	return buf;
}

int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
