/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Environment lists: set or replace one KEY=VALUE. libc only; runs in the
 * berth process (exec's --env, the shim's LISTEN_* and NOTIFY_SOCKET).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/env.h"

int env_set(char ***env, size_t *n, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	char *dup = strdup(kv);
	if (!dup)
		return -ENOMEM;
	for (size_t i = 0; i < *n; i++)
		if (strncmp((*env)[i], kv, klen) == 0 && (*env)[i][klen] == '=') {
			free((*env)[i]);
			(*env)[i] = dup;
			return 0;
		}
	char **v = realloc(*env, (*n + 2) * sizeof(char *));
	if (!v) {
		free(dup);
		return -ENOMEM;
	}
	v[(*n)++] = dup;
	v[*n] = NULL;
	*env = v;
	return 0;
}
