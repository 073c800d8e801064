/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/env.c: env_set() replaces the entry of the same key (not one whose key
 * merely starts the same) and appends otherwise, keeping the NULL at the end.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/env.h"
#include "util/macro.h"
#include "tests.h"

int main(void)
{
	char **env = NULL;
	size_t n = 0;

	check(env_set(&env, &n, "PATH=/bin") == 0);
	check(n == 1 && streq(env[0], "PATH=/bin") && env[1] == NULL);
	check(env_set(&env, &n, "PATHS=x") == 0);
	check(env_set(&env, &n, "PAT=y") == 0);
	check(n == 3 && streq(env[0], "PATH=/bin") && streq(env[1], "PATHS=x") &&
	      streq(env[2], "PAT=y") && env[3] == NULL);

	/* replaced in place, the order kept */
	check(env_set(&env, &n, "PATH=/usr/bin:/bin") == 0);
	check(n == 3 && streq(env[0], "PATH=/usr/bin:/bin") && streq(env[1], "PATHS=x"));
	/* an empty value and a value holding '=' */
	check(env_set(&env, &n, "PATHS=") == 0);
	check(env_set(&env, &n, "A=b=c") == 0);
	check(n == 4 && streq(env[1], "PATHS=") && streq(env[3], "A=b=c") && env[4] == NULL);
	check(env_set(&env, &n, "A=d") == 0);
	check(n == 4 && streq(env[3], "A=d"));

	/* the caller's string is copied */
	char kv[] = "K=1";
	check(env_set(&env, &n, kv) == 0);
	kv[2] = '2';
	check(streq(env[4], "K=1"));

	strv_free(env);
	return 0;
}
