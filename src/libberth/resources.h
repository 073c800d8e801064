/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * linux.resources of config-linux.md (and the JSON `berth update --resources`
 * reads) as typed structs. Integers are converted from the number text, so
 * uint64 values are exact. Runs in the berth process.
 *
 * As runc does, a 0 in memory.limit/reservation/swap/kernel, cpu.shares/
 * quota/period and blockIO.weight means "not set": engines send zeros for the
 * fields they do not change.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "berth/error.h"

struct berth_res_device {
	bool allow;
	char type;		 /* 'a' (also when absent), 'c' or 'b' */
	int64_t major, minor;	 /* -1: any */
	bool read, write, mknod; /* access; all three when absent */
};

struct berth_res_weight_device {
	int64_t major, minor;
	bool has_weight, has_leaf_weight;
	uint16_t weight, leaf_weight;
};

struct berth_res_throttle {
	int64_t major, minor;
	uint64_t rate;
};

struct berth_res_hugepage {
	char *page_size; /* "2MB", "1GB" */
	uint64_t limit;
};

struct berth_res_netprio {
	char *name; /* interface */
	uint32_t priority;
};

struct berth_res_rdma {
	char *device;
	bool has_hca_handles, has_hca_objects;
	uint32_t hca_handles, hca_objects;
};

struct berth_res_kv {
	char *key, *value;
};

struct berth_resources {
	bool has_devices;
	struct berth_res_device *devices;
	size_t n_devices;

	struct {
		bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp;
		bool has_swappiness, has_disable_oom_killer, has_use_hierarchy,
			has_check_before_update;
		int64_t limit, reservation, swap, kernel, kernel_tcp; /* -1: unlimited */
		uint64_t swappiness;
		bool disable_oom_killer, use_hierarchy, check_before_update;
	} memory;

	struct {
		bool has_shares, has_quota, has_burst, has_period, has_realtime_runtime;
		bool has_realtime_period, has_idle;
		uint64_t shares, burst, period, realtime_period;
		int64_t quota, realtime_runtime, idle; /* quota -1: unlimited */
		char *cpus, *mems;
	} cpu;

	struct {
		bool has_limit;
		int64_t limit; /* < 0: unlimited */
	} pids;

	struct {
		bool has_weight, has_leaf_weight;
		uint16_t weight, leaf_weight;
		struct berth_res_weight_device *weight_device;
		size_t n_weight_device;
		/* read bps, write bps, read iops, write iops */
		struct berth_res_throttle *throttle[4];
		size_t n_throttle[4];
	} block_io;

	struct berth_res_hugepage *hugepages;
	size_t n_hugepages;

	struct berth_res_rdma *rdma;
	size_t n_rdma;

	struct {
		bool has_class_id;
		uint32_t class_id;
		struct berth_res_netprio *priorities;
		size_t n_priorities;
	} network;

	struct berth_res_kv *unified;
	size_t n_unified;
};

enum {
	BERTH_THROTTLE_READ_BPS,
	BERTH_THROTTLE_WRITE_BPS,
	BERTH_THROTTLE_READ_IOPS,
	BERTH_THROTTLE_WRITE_IOPS,
};

/*
 * Parse a linux.resources object (len bytes of JSON text; text NULL or empty:
 * an empty struct). what names the source in messages, e.g. "config.json:
 * linux.resources": "config.json: linux.resources.memory.limit: must be an
 * integer". Unknown fields are ignored.
 */
int resources_parse(const char *text, size_t len, const char *what, struct berth_resources **ret,
		    struct berth_error **err);

void resources_free(struct berth_resources *r);

/*
 * The JSON name (under linux.resources) of the first limit res sets, device
 * rules aside, or NULL if it sets none: what a container without a cgroup
 * (rootless, no delegated subtree) cannot honour.
 */
const char *resources_first_limit(const struct berth_resources *res);
static inline void resources_freep(struct berth_resources **r)
{
	resources_free(*r);
}

/* The standard cgroup v1 shares -> v2 weight conversion: 2..262144 -> 1..10000; 0: 0. */
uint64_t cpu_shares_to_weight(uint64_t shares);
/* blkio weight 10..1000 -> io.weight 1..10000 (clamped). */
uint64_t blkio_to_io_weight(uint64_t w);
