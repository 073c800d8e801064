/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device rules (cgroup-devices.c), for the cgroup driver (cgroup.c)
 * only: an eBPF program on v2, devices.deny/allow on v1.
 */
#pragma once

#include <stddef.h>

#include "berth/error.h"
#include "resources.h"

/* Attach an eBPF device program for rules (n entries, last match wins) to the cgroup dir fd. */
int cgroup_devices_bpf(int dirfd, const struct berth_res_device *rules, size_t n,
		       struct berth_error **err);
/* Write the rules to devices.deny/devices.allow of the v1 dir. */
int cgroup_devices_v1(const char *dir, const struct berth_res_device *rules, size_t n,
		      struct berth_error **err);
/*
 * The spec's rules, then the devices every container needs (/dev/null, ...,
 * as runc allows them). linux.devices adds none: as in runc, a node the spec
 * makes is usable only if linux.resources.devices allows it. malloc'd.
 */
int cgroup_devices_rules(const struct berth_res_device *spec, size_t n,
			 struct berth_res_device **ret, size_t *ret_n);
