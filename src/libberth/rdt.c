/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * linux.intelRdt, refused clearly: runs in the parent during create and
 * reads only /proc/self/mountinfo (the runtime mount namespace, where the
 * spec looks for resctrl).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdt.h"
#include "util/macro.h"

/* Where resctrl is mounted in our mount namespace (malloc'd), or NULL. */
static char *resctrl_mount_point(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *found = NULL;
	size_t size = 0;

	if (!f)
		return NULL;
	while (!found && getline(&line, &size, f) > 0) {
		/* "id parent maj:min root mountpoint options [optional...] - fstype source ..." */
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "resctrl ", 8) != 0)
			continue;
		char *mp = line;
		for (int i = 0; i < 4 && mp; i++) {
			mp = strchr(mp, ' ');
			if (mp)
				mp++;
		}
		if (mp) {
			mp[strcspn(mp, " ")] = 0;
			found = strdup(mp);
		}
	}
	free(line);
	fclose(f);
	return found;
}

int rdt_check(const struct berth_spec *s, struct berth_error **err)
{
	if (!s->linux_.intel_rdt.text)
		return 0;
	_cleanup_free_ char *mp = resctrl_mount_point();
	if (!mp)
		return berth_error_setx(err, ENOTSUP,
					"config.json: linux.intelRdt: no resctrl filesystem is "
					"mounted, and Intel RDT needs one");
	return berth_error_setx(err, ENOTSUP,
				"config.json: linux.intelRdt: resctrl is mounted at \"%s\", but "
				"berth does not support Intel RDT yet",
				mp);
}
