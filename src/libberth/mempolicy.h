/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * linux.memoryPolicy: checked against the host's NUMA nodes in the parent,
 * applied with set_mempolicy(2) in the container init (and in exec'd
 * processes), where it is inherited across fork and execve.
 */
#pragma once

#include "spec.h"

/*
 * Parent side, before anything is made: every node of mp->nodes must be a
 * node with memory on this host (/sys/devices/system/node/has_memory),
 * unless MPOL_F_RELATIVE_NODES makes them indexes into the allowed set.
 * No-op when linux.memoryPolicy is absent.
 */
int mempolicy_check_host(const struct berth_memory_policy *mp, struct berth_error **err);

/* set_mempolicy(2) with mode | flags and the node mask; no-op when absent. */
int mempolicy_apply(const struct berth_memory_policy *mp, struct berth_error **err);
