/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the linux.resources parser (exact integers, "0 is unset",
 * JSON-path errors) and the cgroup v1-to-v2 conversions.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/berth.h"
#include "resources.h"
#include "tests.h"

static struct berth_resources *parse_ok(const char *json)
{
	struct berth_resources *r = NULL;
	struct berth_error *e = NULL;
	int rc = resources_parse(json, strlen(json), "resources", &r, &e);
	if (rc < 0)
		fprintf(stderr, "unexpected error for %s: %s\n", json, e->msg);
	check(rc == 0 && r && !e);
	return r;
}

/* Parsing must fail with a message containing want. */
static void parse_err(const char *json, const char *want)
{
	struct berth_resources *r = NULL;
	struct berth_error *e = NULL;
	int rc = resources_parse(json, strlen(json), "resources", &r, &e);
	if (rc != -EINVAL || r || !e || !strstr(e->msg, want)) {
		fprintf(stderr, "%.200s: want \"%s\", got \"%s\"\n", json, want,
			e ? e->msg : "success");
		exit(1);
	}
	berth_error_free(e);
}

static void test_empty(void)
{
	struct berth_resources *r = NULL;
	check(resources_parse(NULL, 0, "x", &r, NULL) == 0 && r);
	check(!r->memory.has_limit && !r->pids.has_limit && !r->has_devices && r->n_unified == 0);
	resources_free(r);
	r = parse_ok("{}");
	check(!r->cpu.has_shares && !r->cpu.cpus);
	resources_free(r);
	resources_free(NULL);
}

static void test_full(void)
{
	struct berth_resources *r = parse_ok(
		"{\"memory\":{\"limit\":9223372036854775807,\"reservation\":-1,\"swap\":134217728,"
		"\"swappiness\":60,\"disableOOMKiller\":false},"
		"\"cpu\":{\"shares\":1024,\"quota\":-1,\"period\":100000,\"burst\":5,\"idle\":1,"
		"\"cpus\":\"0-1\",\"mems\":\"0\"},"
		"\"pids\":{\"limit\":-1},"
		"\"blockIO\":{\"weight\":500,\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":"
		"300}],"
		"\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":18446744073709551615}"
		"]},"
		"\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":18446744073709551615}],"
		"\"rdma\":{\"mlx5_0\":{\"hcaHandles\":3}},"
		"\"unified\":{\"memory.high\":\"max\"},"
		"\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
		"{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"},"
		"{\"allow\":true,\"type\":\"b\",\"major\":8}]}");
	check(r->memory.has_limit && r->memory.limit == INT64_MAX);
	check(r->memory.has_reservation && r->memory.reservation == -1);
	check(r->memory.swap == 134217728 && r->memory.swappiness == 60);
	check(r->memory.has_disable_oom_killer && !r->memory.disable_oom_killer);
	check(r->cpu.shares == 1024 && r->cpu.quota == -1 && r->cpu.period == 100000);
	check(r->cpu.has_burst && r->cpu.burst == 5 && r->cpu.has_idle && r->cpu.idle == 1);
	check(strcmp(r->cpu.cpus, "0-1") == 0 && strcmp(r->cpu.mems, "0") == 0);
	check(r->pids.has_limit && r->pids.limit == -1);
	check(r->block_io.has_weight && r->block_io.weight == 500);
	check(r->block_io.n_weight_device == 1 && r->block_io.weight_device[0].weight == 300);
	check(!r->block_io.weight_device[0].has_leaf_weight);
	check(r->block_io.n_throttle[BERTH_THROTTLE_READ_BPS] == 1);
	check(r->block_io.throttle[BERTH_THROTTLE_READ_BPS][0].rate == UINT64_MAX);
	check(r->n_hugepages == 1 && r->hugepages[0].limit == UINT64_MAX);
	check(strcmp(r->hugepages[0].page_size, "2MB") == 0);
	check(r->n_rdma == 1 && r->rdma[0].has_hca_handles && r->rdma[0].hca_handles == 3);
	check(!r->rdma[0].has_hca_objects);
	check(r->n_unified == 1 && strcmp(r->unified[0].key, "memory.high") == 0);
	check(r->has_devices && r->n_devices == 3);
	check(!r->devices[0].allow && r->devices[0].type == 'a' && r->devices[0].major == -1);
	check(r->devices[0].read && r->devices[0].write && r->devices[0].mknod);
	check(r->devices[1].type == 'c' && r->devices[1].minor == 3 && !r->devices[1].mknod);
	check(r->devices[2].type == 'b' && r->devices[2].major == 8 && r->devices[2].minor == -1);
	resources_free(r);
}

/* What docker update sends: zeros are the fields it leaves alone. */
static void test_zero_is_unset(void)
{
	struct berth_resources *r =
		parse_ok("{\"memory\":{\"limit\":134217728,\"reservation\":0,\"swap\":134217728,"
			 "\"kernel\":0},"
			 "\"cpu\":{\"shares\":256,\"quota\":0,\"period\":0},\"pids\":{\"limit\":0},"
			 "\"blockIO\":{\"weight\":0}}");
	check(r->memory.has_limit && r->memory.has_swap);
	check(!r->memory.has_reservation && !r->memory.has_kernel);
	check(r->cpu.has_shares && !r->cpu.has_quota && !r->cpu.has_period);
	check(!r->pids.has_limit && !r->block_io.has_weight);
	resources_free(r);
	r = parse_ok("{\"memory\":null,\"cpu\":{\"cpus\":\"\"}}");
	check(!r->cpu.cpus);
	resources_free(r);
}

static void test_errors(void)
{
	/* an over-long number is shortened in the message, never the reason */
	char big[1200];
	int n = snprintf(big, sizeof(big), "{\"memory\":{\"limit\":");
	memset(big + n, '9', 1000);
	strcpy(big + n + 1000, "}}");
	parse_err(big, "resources.memory.limit: 99999999999999999999999999999999... (1000 digits) "
		       "is out of range");
	char dev[1200];
	n = snprintf(dev, sizeof(dev), "{\"devices\":[{\"allow\":true,\"type\":\"");
	memset(dev + n, 'x', 1000);
	strcpy(dev + n + 1000, "\"}]}");
	parse_err(dev, "resources.devices[0].type: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" must be "
		       "\"a\", \"c\" or \"b\"");
	/* berth update --resources: the same nesting limit as config.json, with a clear message */
	char *deep = malloc(100000 * 2 + 16);
	check(deep);
	strcpy(deep, "{\"x\":");
	memset(deep + 5, '[', 100000);
	memset(deep + 5 + 100000, ']', 100000);
	strcpy(deep + 5 + 200000, "}");
	parse_err(deep, "resources: invalid JSON at line 1, column 261: nesting is deeper than 256 "
			"levels");
	free(deep);

	parse_err("[]", "resources: must be an object");
	parse_err("{\"memory\":{\"limit\":\"1g\"}}", "resources.memory.limit: must be an integer");
	parse_err("{\"memory\":{\"limit\":1.5}}", "resources.memory.limit: must be an integer");
	parse_err("{\"memory\":{\"limit\":9223372036854775808}}",
		  "resources.memory.limit: 9223372036854775808 is out of range");
	parse_err("{\"memory\":{\"swap\":-2}}", "resources.memory.swap: -2 must be -1");
	parse_err("{\"memory\":{\"swappiness\":101}}",
		  "resources.memory.swappiness: 101 must be between 0 and 100");
	parse_err("{\"memory\":{\"disableOOMKiller\":1}}",
		  "resources.memory.disableOOMKiller: must be true or false");
	parse_err("{\"memory\":3}", "resources.memory: must be an object");
	parse_err("{\"cpu\":{\"shares\":-1}}",
		  "resources.cpu.shares: must be a non-negative integer");
	parse_err("{\"cpu\":{\"quota\":-7}}", "resources.cpu.quota: -7 must be -1");
	parse_err("{\"cpu\":{\"idle\":2}}", "resources.cpu.idle: 2 must be 0 or 1");
	parse_err("{\"cpu\":{\"cpus\":3}}", "resources.cpu.cpus: must be a string");
	parse_err("{\"blockIO\":{\"weight\":65536}}",
		  "resources.blockIO.weight: 65536 is out of range");
	parse_err("{\"blockIO\":{\"weightDevice\":[{\"major\":8}]}}",
		  "resources.blockIO.weightDevice[0]: major and minor are required");
	parse_err("{\"blockIO\":{\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":0}]}}",
		  "resources.blockIO.throttleWriteIOPSDevice[0]: rate: is required");
	parse_err("{\"hugepageLimits\":[{\"pageSize\":\"../x\",\"limit\":1}]}",
		  "resources.hugepageLimits[0]: pageSize");
	parse_err("{\"devices\":[{\"allow\":true},{\"access\":\"r\"}]}",
		  "resources.devices[1]: allow: is required");
	parse_err("{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}",
		  "resources.devices[0].type: \"x\" must be");
	parse_err("{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}",
		  "resources.devices[0].access: \"rwx\"");
	parse_err("{\"devices\":[{\"allow\":true,\"major\":-2}]}",
		  "resources.devices[0]: major and minor");
	parse_err("{\"devices\":{}}", "resources.devices: must be an array");
	parse_err("{\"rdma\":{\"d\":{\"hcaHandles\":-1}}}", "resources.rdma.d.hcaHandles");
	parse_err("{\"unified\":{\"memory.high\":5}}",
		  "resources.unified.memory.high: must be a string");
	parse_err("{\"unified\":{\"../x\":\"1\"}}", "not a cgroup interface file name");
	parse_err("{\"memory\":", "resources: invalid JSON");
}

static void test_conversions(void)
{
	check(cpu_shares_to_weight(0) == 0);
	check(cpu_shares_to_weight(2) == 1);
	check(cpu_shares_to_weight(1024) == 39);
	check(cpu_shares_to_weight(262144) == 10000);
	check(cpu_shares_to_weight(UINT64_MAX) == 10000);
}

static void test_network(void)
{
	struct berth_resources *r =
		parse_ok("{\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\","
			 "\"priority\":5},{\"name\":\"lo\",\"priority\":2}]}}");
	check(r->network.has_class_id && r->network.class_id == 1048577);
	check(r->network.n_priorities == 2);
	check(strcmp(r->network.priorities[0].name, "eth0") == 0);
	check(r->network.priorities[0].priority == 5);
	check(strcmp(r->network.priorities[1].name, "lo") == 0);
	check(r->network.priorities[1].priority == 2);
	resources_free(r);
	parse_err("{\"network\":{\"priorities\":[{\"name\":\"eth0 1\",\"priority\":1}]}}",
		  "resources.network.priorities[0]: name: must be a network interface name");
	parse_err("{\"network\":{\"priorities\":[{\"name\":\"eth0\"}]}}",
		  "resources.network.priorities[0]: priority: is required");
}

/*
 * Duplicate keys and null read as in the rest of config.json (spec.c): the
 * last duplicate wins, as in Go's encoding/json, and null is absent.
 */
static void test_duplicates_and_null(void)
{
	struct berth_resources *r = parse_ok("{\"memory\":{\"limit\":1,\"limit\":2}}");
	check(r->memory.has_limit && r->memory.limit == 2);
	resources_free(r);
	r = parse_ok("{\"pids\":{\"limit\":5},\"pids\":null,\"cpu\":null}");
	check(!r->pids.has_limit && !r->cpu.has_shares);
	resources_free(r);
}

/* berth_update_limits() refuses a limit it does not know before it looks for the container */
static void test_update_limits_unknown(void)
{
	struct berth_limit_value v[] = { { .limit = BERTH_LIMIT_PIDS, .value = 3 },
					 { .limit = (enum berth_limit)99, .value = 1 } };
	struct berth_error *e = NULL;
	check(berth_update_limits(NULL, "x", v, 2, &e) == -EINVAL);
	check(e && strcmp(e->msg, "update \"x\": unknown limit 99") == 0);
	berth_error_free(e);
}

int main(void)
{
	test_update_limits_unknown();
	test_duplicates_and_null();
	test_network();
	test_empty();
	test_full();
	test_zero_is_unset();
	test_errors();
	test_conversions();
	return 0;
}
