/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the unit tests: check() is an assertion that always runs (assert()
 * is a no-op under -Db_ndebug=true) and names the file, line and expression.
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#define check(x)                                                                              \
	do {                                                                                  \
		if (!(x)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
			exit(1);                                                              \
		}                                                                             \
	} while (0)
