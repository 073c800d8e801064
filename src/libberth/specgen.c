/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The default config.json that `berth spec` writes: a small, locked-down
 * container running sh from rootfs/, with a rootless variant. Runs in the CLI
 * process; only builds text, touches nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/berth.h"
#include "seccomp-default.h" /* generated from config/seccomp-default.json */
#include "json.h"
#include "util/macro.h"

enum variant {
	BOTH,
	ROOTFUL_ONLY,
	ROOTLESS_ONLY,
};

struct default_mount {
	const char *destination, *type, *source;
	const char *options[8];
	enum variant variant;
};

/*
 * Rootless differs: devpts without gid=5 (no such group mapped), /sys bound
 * from the host (sysfs needs a netns owned by the user ns), no cgroup mount.
 */
static const struct default_mount default_mounts[] = {
	{ "/proc", "proc", "proc", { NULL }, BOTH },
	{ "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" }, BOTH },
	{ "/dev/pts",
	  "devpts",
	  "devpts",
	  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" },
	  ROOTFUL_ONLY },
	{ "/dev/pts",
	  "devpts",
	  "devpts",
	  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620" },
	  ROOTLESS_ONLY },
	{ "/dev/shm",
	  "tmpfs",
	  "shm",
	  { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" },
	  BOTH },
	{ "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" }, BOTH },
	{ "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro" }, ROOTFUL_ONLY },
	{ "/sys", "none", "/sys", { "rbind", "nosuid", "noexec", "nodev", "ro" }, ROOTLESS_ONLY },
	{ "/sys/fs/cgroup",
	  "cgroup",
	  "cgroup",
	  { "nosuid", "noexec", "nodev", "relatime", "ro" },
	  ROOTFUL_ONLY },
};

static void gen_process(struct gen *j)
{
	static const char *const args[] = { "sh", NULL };
	static const char *const env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"TERM=xterm",
		NULL,
	};
	static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
					    NULL };

	gen_str(j, "process");
	gen_open(j, false);
	/* No terminal: berth run must work from a pipe; ask for one explicitly. */
	gen_key_bool(j, "terminal", false);
	gen_str(j, "user");
	gen_open(j, false);
	gen_key_int(j, "uid", 0);
	gen_key_int(j, "gid", 0);
	gen_close(j, false);
	gen_key_strv(j, "args", args);
	gen_key_strv(j, "env", env);
	gen_key_str(j, "cwd", "/");
	gen_str(j, "capabilities");
	gen_open(j, false);
	gen_key_strv(j, "bounding", caps);
	gen_key_strv(j, "effective", caps);
	gen_key_strv(j, "permitted", caps);
	gen_close(j, false);
	gen_str(j, "rlimits");
	gen_open(j, true);
	gen_open(j, false);
	gen_key_str(j, "type", "RLIMIT_NOFILE");
	gen_key_int(j, "hard", 1024);
	gen_key_int(j, "soft", 1024);
	gen_close(j, false);
	gen_close(j, true);
	gen_key_bool(j, "noNewPrivileges", true);
	gen_close(j, false);
}

static void gen_mounts(struct gen *j, bool rootless)
{
	gen_str(j, "mounts");
	gen_open(j, true);
	for (size_t i = 0; i < ELEMENTSOF(default_mounts); i++) {
		const struct default_mount *m = &default_mounts[i];

		if (m->variant == (rootless ? ROOTFUL_ONLY : ROOTLESS_ONLY))
			continue;
		gen_open(j, false);
		gen_key_str(j, "destination", m->destination);
		gen_key_str(j, "type", m->type);
		gen_key_str(j, "source", m->source);
		if (m->options[0])
			gen_key_strv(j, "options", m->options);
		gen_close(j, false);
	}
	gen_close(j, true);
}

static void gen_id_mapping(struct gen *j, const char *key, unsigned host_id)
{
	gen_str(j, key);
	gen_open(j, true);
	gen_open(j, false);
	gen_key_int(j, "containerID", 0);
	gen_key_int(j, "hostID", host_id);
	gen_key_int(j, "size", 1);
	gen_close(j, false);
	gen_close(j, true);
}

/* "seccomp": the default profile (config/seccomp-default.json, embedded at build time). */
static void gen_seccomp(struct gen *j)
{
	yajl_val v = yajl_tree_parse(berth_seccomp_default_json, NULL, 0);
	if (!v) {
		/* the build checked the JSON: only memory can run out here */
		j->st = yajl_gen_generation_complete;
		return;
	}
	gen_str(j, "seccomp");
	gen_tree(j, v);
	yajl_tree_free(v);
}

static void gen_linux(struct gen *j, bool rootless)
{
	static const char *const masked[] = {
		"/proc/acpi",
		"/proc/asound",
		"/proc/kcore",
		"/proc/keys",
		"/proc/latency_stats",
		"/proc/timer_list",
		"/proc/timer_stats",
		"/proc/sched_debug",
		"/sys/firmware",
		"/proc/scsi",
		NULL,
	};
	static const char *const readonly[] = {
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
	};
	static const char *const rootful_ns[] = { "pid",   "network", "ipc", "uts",
						  "mount", "cgroup",  NULL };
	/* Rootless keeps the host network (no one to configure a new one) and adds a user ns. */
	static const char *const rootless_ns[] = { "pid",    "ipc",  "uts", "mount",
						   "cgroup", "user", NULL };

	gen_str(j, "linux");
	gen_open(j, false);
	if (rootless) {
		gen_id_mapping(j, "uidMappings", geteuid());
		gen_id_mapping(j, "gidMappings", getegid());
	}
	gen_str(j, "namespaces");
	gen_open(j, true);
	for (const char *const *ns = rootless ? rootless_ns : rootful_ns; *ns; ns++) {
		gen_open(j, false);
		gen_key_str(j, "type", *ns);
		gen_close(j, false);
	}
	gen_close(j, true);
	gen_key_strv(j, "maskedPaths", masked);
	gen_key_strv(j, "readonlyPaths", readonly);
	gen_seccomp(j);
	gen_close(j, false);
}

int berth_spec_generate(bool rootless, char **ret_json, struct berth_error **err)
{
	struct gen j;

	if (gen_init(&j, "\t") < 0)
		return berth_error_set(err, ENOMEM, "spec: allocate json generator");

	gen_open(&j, false);
	gen_key_str(&j, "ociVersion", BERTH_SPEC_VERSION);
	gen_str(&j, "root");
	gen_open(&j, false);
	gen_key_str(&j, "path", "rootfs");
	gen_key_bool(&j, "readonly", true);
	gen_close(&j, false);
	gen_process(&j);
	gen_key_str(&j, "hostname", "berth");
	gen_mounts(&j, rootless);
	gen_linux(&j, rootless);
	gen_close(&j, false);

	int r = gen_finish(&j, ret_json, NULL);
	if (r == -ENOMEM)
		return berth_error_set(err, ENOMEM, "spec: generate config.json");
	if (r < 0)
		return berth_error_setx(
			err, EIO, "spec: generate config.json: json generator error %d", (int)j.st);
	return 0;
}
