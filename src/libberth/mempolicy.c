/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * linux.memoryPolicy (runtime-spec 1.3): the host check runs in the parent
 * during create; set_mempolicy(2) runs in the container init before its
 * seccomp filter (which may forbid the call) and before execve.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mempolicy.h"
#include "util/fd.h"
#include "util/macro.h"

#define NODE_SYSFS "/sys/devices/system/node"

/* The lowest node set in a but not in b, or -1. */
static int first_missing(const uint64_t *a, const uint64_t *b)
{
	for (size_t w = 0; w < BERTH_NUMA_MASK_WORDS; w++) {
		uint64_t d = a[w] & ~b[w];
		if (d)
			return (int)(w * 64 + (size_t)__builtin_ctzll(d));
	}
	return -1;
}

int mempolicy_check_host(const struct berth_memory_policy *mp, struct berth_error **err)
{
	if (!mp->set || !mp->has_nodes || (mp->flags_value & BERTH_MPOL_F_RELATIVE_NODES))
		return 0;

	/* nodes with memory; a kernel without NUMA has no such file and one node 0 */
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	uint64_t host[BERTH_NUMA_MASK_WORDS] = { 1 };
	const char *file = NODE_SYSFS "/has_memory";
	int r = read_file_at(AT_FDCWD, file, 4096, &text, &len);
	if (r == -ENOENT) {
		file = NODE_SYSFS "/online";
		r = read_file_at(AT_FDCWD, file, 4096, &text, &len);
	}
	if (r >= 0 && node_list_parse(text, host) < 0)
		return berth_error_setx(err, EINVAL, "linux.memoryPolicy: cannot read \"%s\"",
					file);
	if (r < 0 && r != -ENOENT)
		return berth_error_set(err, -r, "linux.memoryPolicy: read \"%s\"", file);

	int missing = first_missing(mp->nodemask, host);
	if (text)
		text[strcspn(text, "\n")] = 0;
	if (missing >= 0)
		return berth_error_setx(err, EINVAL,
					"config.json: linux.memoryPolicy.nodes: node %d of \"%s\" "
					"is not a memory node of this host (%s: %s)",
					missing, mp->nodes, file, text ? text : "0");
	return 0;
}

int mempolicy_apply(const struct berth_memory_policy *mp, struct berth_error **err)
{
	if (!mp->set)
		return 0;
	/* unsigned long words, as the kernel reads them */
	unsigned long mask[BERTH_NUMA_MAX_NODES / (8 * sizeof(unsigned long))] = { 0 };
	const size_t bits = 8 * sizeof(unsigned long);
	unsigned long maxnode = 0;
	for (size_t n = 0; n < BERTH_NUMA_MAX_NODES; n++)
		if (mp->nodemask[n / 64] & (UINT64_C(1) << (n % 64))) {
			mask[n / bits] |= 1UL << (n % bits);
			/* as libnuma passes it: the kernel reads maxnode - 1 bits */
			maxnode = n + 2;
		}
	int mode = mp->mode_value | (int)mp->flags_value;
	long r = maxnode ? syscall(SYS_set_mempolicy, mode, mask, maxnode)
			 : syscall(SYS_set_mempolicy, mode, NULL, 0UL);
	if (r < 0)
		return berth_error_set(err, errno, "linux.memoryPolicy: set_mempolicy %s \"%s\"",
				       mp->mode, mp->nodes ? mp->nodes : "");
	return 0;
}
