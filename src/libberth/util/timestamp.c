/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RFC 3339 timestamps. libc only; runs in the berth process and berth-shim.
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
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
	return buf;
}
