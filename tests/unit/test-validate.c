/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for validate.c: good configs pass (including every engine config
 * recorded under shared/engines), each rule's error names the JSON path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/berth.h"
#include "spec.h"
#include "util/macro.h"
#include "tests.h"

#define BASE "\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"}"
#define PROC "\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"]}"
/* a base with a process, plus more top-level fields */
#define CFG(...) "{" BASE "," PROC "," __VA_ARGS__ "}"
/* a base with a process holding more fields */
#define CFG_PROC(...) "{" BASE ",\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"]," __VA_ARGS__ "}}"

static struct berth_spec *parse(const char *json)
{
	struct berth_spec *s = NULL;
	struct berth_error *e = NULL;
	if (spec_parse(json, strlen(json), &s, &e) < 0) {
		fprintf(stderr, "parse failed for %s\n  %s\n", json, e->msg);
		exit(1);
	}
	return s;
}

static void valid(const char *json, bool need_process)
{
	_cleanup_(spec_freep) struct berth_spec *s = parse(json);
	struct berth_error *e = NULL;
	int r = spec_validate(s, need_process, &e);
	if (r < 0) {
		fprintf(stderr, "validate failed for %s\n  %s\n", json, e->msg);
		exit(1);
	}
	check(!e);
}

static void invalid(const char *json, bool need_process, const char *msg)
{
	_cleanup_(spec_freep) struct berth_spec *s = parse(json);
	struct berth_error *e = NULL;
	int r = spec_validate(s, need_process, &e);
	if (r >= 0 || !e || !streq(e->msg, msg)) {
		fprintf(stderr, "input:    %s\nexpected: %s\ngot:      r=%d %s\n", json, msg, r,
			e ? e->msg : "(no error)");
		exit(1);
	}
	check(r == -EINVAL && e->code == EINVAL);
	berth_error_free(e);
}

static void test_good(void)
{
	valid("{" BASE "," PROC "}", true);
	valid("{" BASE "}", false); /* no process needed (e.g. delete) */
	valid("{\"ociVersion\":\"1\",\"root\":{\"path\":\"/r\"}}", false);
	valid("{\"ociVersion\":\"1.3.0-rc.1\",\"root\":{\"path\":\"/r\"}}", false);
	valid(CFG("\"mounts\":[{\"destination\":\"relative/ok\"}]"), true);
	valid(CFG("\"hostname\":\"h\",\"linux\":{\"namespaces\":[{\"type\":\"uts\","
		  "\"path\":\"/proc/1/ns/uts\"}]}"),
	      true);
	valid(CFG("\"hostname\":\"\""), true); /* empty hostname: not set */
	valid(CFG("\"linux\":{\"namespaces\":[{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"}]}"),
	      true);
	valid(CFG("\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":[{"
		  "\"containerID\":0,\"hostID\":1000,\"size\":1}],\"gidMappings\":[{"
		  "\"containerID\":0,\"hostID\":1000,\"size\":1}]}"),
	      true);
	valid(CFG("\"linux\":{\"namespaces\":[{\"type\":\"network\"},{\"type\":\"ipc\"},"
		  "{\"type\":\"uts\"}],\"sysctl\":{\"net.ipv4.ip_forward\":\"1\",\"net/core/"
		  "somaxconn\":"
		  "\"1\",\"kernel.shmmax\":\"1\",\"kernel.msgmax\":\"1\",\"kernel.sem\":\"1 2 3 "
		  "4\","
		  "\"fs.mqueue.msg_max\":\"1\",\"kernel.hostname\":\"x\",\"kernel.domainname\":"
		  "\"y\"}}"),
	      true);
	valid(CFG_PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":5,\"hard\":5},"
		       "{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":18446744073709551615}],"
		       "\"oomScoreAdj\":1000,\"env\":[\"A=\",\"B=c=d\"],"
		       "\"user\":{\"uid\":1,\"gid\":1,\"additionalGids\":[1,2,3]}"),
	      true);
	valid(CFG_PROC("\"capabilities\":{\"permitted\":[\"CAP_KILL\",\"CAP_CHOWN\"],"
		       "\"ambient\":[\"CAP_KILL\"]}"),
	      true);
	valid(CFG_PROC("\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":1,\"deadline\":2,"
		       "\"period\":2}"),
	      true);
	/* no period, or 0: the kernel takes the deadline */
	valid(CFG_PROC(
		      "\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":1,\"deadline\":2}"),
	      true);
	valid(CFG_PROC("\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":1,\"deadline\":2,"
		       "\"period\":0}"),
	      true);
	valid(CFG("\"hostname\":\"h\",\"linux\":{\"namespaces\":[{\"type\":\"uts\"}],"
		  "\"sysctl\":{\"kernel.hostname\":\"h\"}}"),
	      true);
	valid(CFG_PROC("\"scheduler\":{\"policy\":\"SCHED_BATCH\",\"nice\":19}"), true);
	valid(CFG("\"hooks\":{\"poststop\":[{\"path\":\"/bin/x\",\"timeout\":1}]}"), true);
	valid(CFG("\"linux\":{\"devices\":[{\"type\":\"p\",\"path\":\"/dev/fifo\"}],"
		  "\"rootfsPropagation\":\"private\",\"namespaces\":[{\"type\":\"time\"}],"
		  "\"timeOffsets\":{\"boottime\":{\"secs\":-1,\"nanosecs\":999999999}}}"),
	      true);
	/* process is not looked at when not needed */
	valid("{" BASE ",\"process\":{\"args\":[]}}", false);
}

/* (uid_t)-1 means "unchanged" to the kernel: as a uid it would leave the process root. */
#define USERNS	     "\"namespaces\":[{\"type\":\"user\"}]"
#define MAP(c, h, n) "{\"containerID\":" #c ",\"hostID\":" #h ",\"size\":" #n "}"
#define MAPS(u, g)   "\"linux\":{" USERNS ",\"uidMappings\":[" u "],\"gidMappings\":[" g "]}"

static void test_ids(void)
{
	valid(CFG_PROC("\"user\":{\"uid\":4294967294,\"gid\":4294967294,"
		       "\"additionalGids\":[0,4294967294]}"),
	      true);
	invalid(CFG_PROC("\"user\":{\"uid\":4294967295}"), true,
		"config.json: process.user.uid: 4294967295 is not a valid uid");
	invalid(CFG_PROC("\"user\":{\"uid\":0,\"gid\":4294967295}"), true,
		"config.json: process.user.gid: 4294967295 is not a valid gid");
	invalid(CFG_PROC("\"user\":{\"additionalGids\":[1,4294967295]}"), true,
		"config.json: process.user.additionalGids[1]: 4294967295 is not a valid gid");

	valid(CFG(MAPS(MAP(0, 100000, 65536) "," MAP(65536, 0, 4294901759),
		       MAP(4294967294, 4294967294, 1))),
	      true);
	invalid(CFG(MAPS(MAP(0, 1, 1) "," MAP(4294967295, 2, 1), MAP(0, 1, 1))), true,
		"config.json: linux.uidMappings[1]: containerID 4294967295 and size 1 reach "
		"4294967295, which is not a valid uid");
	invalid(CFG(MAPS(MAP(0, 1, 1), MAP(0, 4294967295, 1))), true,
		"config.json: linux.gidMappings[0]: hostID 4294967295 and size 1 reach "
		"4294967295, which is not a valid gid");
	/* a range that ends there, or beyond (the sum overflows 32 bits) */
	invalid(CFG(MAPS(MAP(0, 1, 4294967295), MAP(0, 1, 1))), true,
		"config.json: linux.uidMappings[0]: hostID 1 and size 4294967295 reach "
		"4294967295, which is not a valid uid");
	invalid(CFG(MAPS(MAP(0, 1, 1), MAP(4294967200, 1, 4294967200))), true,
		"config.json: linux.gidMappings[0]: containerID 4294967200 and size 4294967200 "
		"reach 8589934399, which is not a valid gid");
	invalid(CFG("\"mounts\":[{\"destination\":\"/m\",\"type\":\"bind\",\"source\":\"/\","
		    "\"uidMappings\":[" MAP(0, 4294967294, 2) "]}]"),
		true,
		"config.json: mounts[0].uidMappings[0]: hostID 4294967294 and size 2 reach "
		"4294967295, which is not a valid uid");
}

static void test_bad(void)
{
	invalid("{\"root\":{\"path\":\"r\"}}", false, "config.json: ociVersion: is required");
	invalid("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", false,
		"config.json: ociVersion: unsupported version \"2.0.0\" (need 1.x)");
	invalid("{\"ociVersion\":\"10.0\",\"root\":{\"path\":\"r\"}}", false,
		"config.json: ociVersion: unsupported version \"10.0\" (need 1.x)");
	invalid("{\"ociVersion\":\"1.0.0\"}", false, "config.json: root.path: is required");
	invalid("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"\"}}", false,
		"config.json: root.path: is required");
	invalid("{" BASE "}", true, "config.json: process: is required");
	invalid("{" BASE ",\"process\":{\"cwd\":\"/\"}}", true,
		"config.json: process.args: must be a non-empty array of strings");
	invalid("{" BASE ",\"process\":{\"cwd\":\"/\",\"args\":[]}}", true,
		"config.json: process.args: must be a non-empty array of strings");
	invalid("{" BASE ",\"process\":{\"args\":[\"sh\"]}}", true,
		"config.json: process.cwd: is required");
	invalid("{" BASE ",\"process\":{\"args\":[\"sh\"],\"cwd\":\"tmp\"}}", true,
		"config.json: process.cwd: \"tmp\" must be an absolute path");
	invalid(CFG_PROC("\"env\":[\"A=1\",\"B\"]"), true,
		"config.json: process.env[1]: \"B\" must have the form KEY=VALUE");
	invalid(CFG_PROC("\"env\":[\"=1\"]"), true,
		"config.json: process.env[0]: \"=1\" must have the form KEY=VALUE");
	invalid(CFG_PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":5,\"hard\":5},"
			 "{\"type\":\"RLIMIT_CPU\",\"soft\":1,\"hard\":1},"
			 "{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1}]"),
		true, "config.json: process.rlimits[2].type: duplicate \"RLIMIT_NOFILE\"");
	invalid(CFG_PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":18446744073709551615,"
			 "\"hard\":1024}]"),
		true,
		"config.json: process.rlimits[0]: soft limit 18446744073709551615 is above hard "
		"limit 1024");
	invalid(CFG_PROC("\"oomScoreAdj\":1001"), true,
		"config.json: process.oomScoreAdj: 1001 is outside [-1000, 1000]");
	invalid(CFG_PROC("\"oomScoreAdj\":-1001"), true,
		"config.json: process.oomScoreAdj: -1001 is outside [-1000, 1000]");
	invalid(CFG_PROC("\"capabilities\":{\"permitted\":[\"CAP_CHOWN\"],\"ambient\":"
			 "[\"CAP_CHOWN\",\"CAP_KILL\"]}"),
		true,
		"config.json: process.capabilities.ambient: must be a subset of "
		"process.capabilities.permitted");
	invalid(CFG_PROC("\"scheduler\":{\"nice\":1}"), true,
		"config.json: process.scheduler.policy: is required");
	invalid(CFG_PROC("\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"deadline\":1,\"period\":"
			 "1}"),
		true, "config.json: process.scheduler.runtime: is required for SCHED_DEADLINE");
	invalid(CFG_PROC(
			"\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":1,\"period\":1}"),
		true, "config.json: process.scheduler.deadline: is required for SCHED_DEADLINE");
	/* hostname/domainname sysctls: a new uts namespace, agreeing with the fields */
	invalid(CFG("\"hostname\":\"h\",\"linux\":{\"namespaces\":[{\"type\":\"uts\"}],"
		    "\"sysctl\":{\"kernel.hostname\":\"x\"}}"),
		true,
		"config.json: linux.sysctl: \"kernel.hostname\" conflicts with hostname \"h\"");
	invalid(CFG("\"linux\":{\"namespaces\":[{\"type\":\"uts\",\"path\":\"/proc/1/ns/uts\"}],"
		    "\"sysctl\":{\"kernel.domainname\":\"x\"}}"),
		true,
		"config.json: linux.sysctl: \"kernel.domainname\" requires a new uts namespace");
	invalid(CFG_PROC(
			"\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":3,\"deadline\":2,"
			"\"period\":5}"),
		true,
		"config.json: process.scheduler: SCHED_DEADLINE needs runtime <= deadline <= "
		"period");
	invalid(CFG_PROC("\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"nice\":20}"), true,
		"config.json: process.scheduler.nice: 20 is outside [-20, 19]");
	invalid(CFG_PROC("\"ioPriority\":{\"priority\":1}"), true,
		"config.json: process.ioPriority.class: is required");
	invalid(CFG_PROC("\"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":8}"), true,
		"config.json: process.ioPriority.priority: 8 is outside [0, 7]");

	invalid(CFG("\"mounts\":[{\"destination\":\"/a\"},{\"destination\":\"\"}]"), true,
		"config.json: mounts[1].destination: is required");
	invalid(CFG("\"mounts\":[{\"source\":\"/a\"}]"), true,
		"config.json: mounts[0].destination: is required");

	invalid(CFG("\"hostname\":\"h\""), true, "config.json: hostname: requires a uts namespace");
	invalid(CFG("\"hostname\":\"h\",\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]}"), true,
		"config.json: hostname: requires a uts namespace");
	invalid(CFG("\"domainname\":\"d\""), true,
		"config.json: domainname: requires a uts namespace");

	invalid(CFG("\"hooks\":{\"prestart\":[{\"args\":[\"x\"]}]}"), true,
		"config.json: hooks.prestart[0].path: is required");
	invalid(CFG("\"hooks\":{\"poststart\":[{\"path\":\"/ok\"},{\"path\":\"rel\"}]}"), true,
		"config.json: hooks.poststart[1].path: \"rel\" must be an absolute path");
	invalid(CFG("\"hooks\":{\"createContainer\":[{\"path\":\"/x\",\"timeout\":0}]}"), true,
		"config.json: hooks.createContainer[0].timeout: must be greater than zero");
	invalid(CFG("\"hooks\":{\"startContainer\":[{\"path\":\"/x\",\"timeout\":-3}]}"), true,
		"config.json: hooks.startContainer[0].timeout: must be greater than zero");

	invalid(CFG("\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},"
		    "{\"type\":\"pid\",\"path\":\"/proc/1/ns/pid\"}]}"),
		true, "config.json: linux.namespaces[2].type: duplicate namespace \"pid\"");
	invalid(CFG("\"linux\":{\"namespaces\":[{\"type\":\"ipc\",\"path\":\"proc/1/ns/ipc\"}]}"),
		true,
		"config.json: linux.namespaces[0].path: \"proc/1/ns/ipc\" must be an absolute "
		"path");
	invalid(CFG("\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}"),
		true, "config.json: linux.uidMappings: requires a user namespace");
	invalid(CFG("\"linux\":{\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}"),
		true, "config.json: linux.gidMappings: requires a user namespace");
	invalid(CFG("\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}"), true,
		"config.json: linux.uidMappings: required when creating a user namespace");
	invalid(CFG("\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":[{"
		    "\"containerID\":0,\"hostID\":1,\"size\":1}]}"),
		true, "config.json: linux.gidMappings: required when creating a user namespace");
	invalid(CFG("\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":[{"
		    "\"containerID\":0,\"hostID\":1,\"size\":1}],\"gidMappings\":[{"
		    "\"containerID\":0,\"hostID\":1,\"size\":0}]}"),
		true, "config.json: linux.gidMappings[0].size: must be greater than zero");
	invalid(CFG("\"linux\":{\"timeOffsets\":{\"monotonic\":{\"secs\":1}}}"), true,
		"config.json: linux.timeOffsets: requires a time namespace");
	invalid(CFG("\"linux\":{\"namespaces\":[{\"type\":\"time\"}],\"timeOffsets\":{"
		    "\"monotonic\":"
		    "{\"nanosecs\":1000000000}}}"),
		true,
		"config.json: linux.timeOffsets.monotonic.nanosecs: must be below 1000000000");
	invalid(CFG("\"linux\":{\"devices\":[{\"type\":\"c\",\"major\":1,\"minor\":3}]}"), true,
		"config.json: linux.devices[0].path: is required");
	invalid(CFG("\"linux\":{\"devices\":[{\"type\":\"c\",\"path\":\"dev/null\",\"major\":1,"
		    "\"minor\":3}]}"),
		true, "config.json: linux.devices[0].path: \"dev/null\" must be an absolute path");
	invalid(CFG("\"linux\":{\"rootfsPropagation\":\"recursive\"}"), true,
		"config.json: linux.rootfsPropagation: unknown propagation \"recursive\"");
	invalid(CFG("\"linux\":{\"maskedPaths\":[\"/proc/kcore\",\"proc/keys\"]}"), true,
		"config.json: linux.maskedPaths[1]: \"proc/keys\" must be an absolute path");
	invalid(CFG("\"linux\":{\"readonlyPaths\":[\"sys\"]}"), true,
		"config.json: linux.readonlyPaths[0]: \"sys\" must be an absolute path");

	invalid(CFG("\"linux\":{\"namespaces\":[{\"type\":\"network\"}],\"sysctl\":{"
		    "\"net.ipv4.ip_forward\":\"1\",\"vm.swappiness\":\"10\"}}"),
		true,
		"config.json: linux.sysctl: \"vm.swappiness\" is not namespaced and cannot be set "
		"for a container");
	invalid(CFG("\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}}"), true,
		"config.json: linux.sysctl: \"net.ipv4.ip_forward\" requires a network namespace");
	invalid(CFG("\"linux\":{\"sysctl\":{\"kernel.hostname\":\"x\"}}"), true,
		"config.json: linux.sysctl: \"kernel.hostname\" requires a new uts namespace");
	invalid(CFG("\"linux\":{\"sysctl\":{\"kernel/shmmax\":\"1\"}}"), true,
		"config.json: linux.sysctl: \"kernel/shmmax\" requires an ipc namespace");
	invalid(CFG("\"linux\":{\"namespaces\":[{\"type\":\"uts\"}],\"sysctl\":{"
		    "\"kernel.hostnamex\":\"1\"}}"),
		true,
		"config.json: linux.sysctl: \"kernel.hostnamex\" is not namespaced and cannot be "
		"set for a container");
	invalid(CFG("\"linux\":{\"sysctl\":{\"fs.mqueue.queues_max\":\"1\"}}"), true,
		"config.json: linux.sysctl: \"fs.mqueue.queues_max\" requires an ipc namespace");

	test_ids();

	/* first error wins */
	invalid("{\"root\":{\"path\":\"\"},\"hostname\":\"x\"}", true,
		"config.json: ociVersion: is required");

	struct berth_error *e = NULL;
	check(spec_validate(NULL, true, &e) == -EINVAL);
	berth_error_free(e);
	/* err may be NULL */
	_cleanup_(spec_freep) struct berth_spec *s = parse("{}");
	check(spec_validate(s, false, NULL) == -EINVAL);
}

/* Parse and validate every config an engine (docker, podman, ...) really sent. */
static void test_engine_configs(void)
{
	const char *dir = SRCDIR "/../shared/engines";
	DIR *d = opendir(dir);
	size_t n = 0;

	if (!d) {
		printf("skipping engine configs: cannot open %s: %s\n", dir, strerror(errno));
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		DIR *sd = opendir(sub);
		if (!sd)
			continue;
		struct dirent *f;
		while ((f = readdir(sd))) {
			size_t l = strlen(f->d_name);
			const char *suffix = ".create.config.json";
			if (l < strlen(suffix) || !streq(f->d_name + l - strlen(suffix), suffix))
				continue;
			char path[8192];
			snprintf(path, sizeof(path), "%s/%s", sub, f->d_name);
			struct berth_spec *s = NULL;
			struct berth_error *e = NULL;
			if (spec_load(path, &s, &e) < 0 || spec_validate(s, true, &e) < 0) {
				fprintf(stderr, "%s: %s\n", path, e ? e->msg : "?");
				exit(1);
			}
			check(s->has_process && s->process.n_args > 0);
			check(s->linux_.n_namespaces > 0 && spec_find_ns(s, BERTH_NS_MNT));
			spec_free(s);
			n++;
		}
		closedir(sd);
	}
	closedir(d);
	printf("%zu engine configs parsed and validated\n", n);
	check(n > 0);
}

/* What "berth spec" writes must be accepted by "berth create". */
static void test_generated(void)
{
	for (int rootless = 0; rootless < 2; rootless++) {
		_cleanup_free_ char *json = NULL;
		struct berth_error *e = NULL;
		if (berth_spec_generate(rootless, &json, &e) < 0) {
			fprintf(stderr, "berth_spec_generate(%d): %s\n", rootless,
				e ? e->msg : "?");
			exit(1);
		}
		_cleanup_(spec_freep) struct berth_spec *s = parse(json);
		if (spec_validate(s, true, &e) < 0) {
			fprintf(stderr, "generated spec (rootless=%d): %s\n", rootless, e->msg);
			exit(1);
		}
		check(rootless == !!spec_find_ns(s, BERTH_NS_USER));
	}
}

#define MPOL(x) "{" BASE ",\"linux\":{\"memoryPolicy\":{" x "}}}"

static void test_memory_policy(void)
{
	valid(MPOL("\"mode\":\"MPOL_BIND\",\"nodes\":\"0-1\",\"flags\":[\"MPOL_F_NUMA_"
		   "BALANCING\"]"),
	      false);
	valid(MPOL("\"mode\":\"MPOL_PREFERRED\",\"nodes\":\"\""), false);
	valid(MPOL("\"mode\":\"MPOL_LOCAL\""), false);
	valid(MPOL("\"mode\":\"MPOL_PREFERRED_MANY\",\"nodes\":\"0\",\"flags\":"
		   "[\"MPOL_F_NUMA_BALANCING\",\"MPOL_F_STATIC_NODES\"]"),
	      false);
	invalid(MPOL("\"mode\":\"MPOL_DEFAULT\",\"nodes\":\"0\""), false,
		"config.json: linux.memoryPolicy.nodes: must be empty for MPOL_DEFAULT");
	invalid(MPOL("\"mode\":\"MPOL_LOCAL\",\"flags\":[\"MPOL_F_STATIC_NODES\"]"), false,
		"config.json: linux.memoryPolicy.flags: MPOL_LOCAL takes no flags");
	invalid(MPOL("\"mode\":\"MPOL_WEIGHTED_INTERLEAVE\""), false,
		"config.json: linux.memoryPolicy.nodes: MPOL_WEIGHTED_INTERLEAVE needs at least "
		"one node");
	invalid(MPOL("\"mode\":\"MPOL_PREFERRED\",\"nodes\":\"0\",\"flags\":"
		     "[\"MPOL_F_NUMA_BALANCING\"]"),
		false,
		"config.json: linux.memoryPolicy.flags: MPOL_F_NUMA_BALANCING needs MPOL_BIND or "
		"MPOL_PREFERRED_MANY, not MPOL_PREFERRED");
	invalid(MPOL("\"mode\":\"MPOL_BIND\",\"nodes\":\"0\",\"flags\":"
		     "[\"MPOL_F_RELATIVE_NODES\",\"MPOL_F_STATIC_NODES\"]"),
		false,
		"config.json: linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and "
		"MPOL_F_RELATIVE_NODES exclude each other");
}

int main(void)
{
	test_good();
	test_bad();
	test_memory_policy();
	test_engine_configs();
	test_generated();
	return 0;
}
