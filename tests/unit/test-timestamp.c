/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/timestamp.c: RFC 3339 UTC with nanoseconds, as state.json's created
 * and exitedAt and container.log's records carry it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/timestamp.h"
#include "tests.h"

int main(void)
{
	char buf[48];
	time_t before = time(NULL);
	check(rfc3339_now(buf, sizeof(buf)) == buf);
	time_t after = time(NULL);
	/* 2026-01-02T03:04:05.123456789Z */
	check(strlen(buf) == 30);
	int y, mo, d, h, mi, s;
	long ns;
	char z = 0;
	check(sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d.%9ld%c", &y, &mo, &d, &h, &mi, &s, &ns, &z) ==
	      8);
	check(z == 'Z' && buf[4] == '-' && buf[10] == 'T' && buf[19] == '.');
	struct tm tm = { .tm_year = y - 1900,
			 .tm_mon = mo - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi,
			 .tm_sec = s };
	time_t t = timegm(&tm);
	check(t >= before && t <= after);
	check(ns >= 0 && ns < 1000000000L);
	return 0;
}
