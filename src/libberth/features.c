/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What berth implements, as the runtime-spec features document
 * (`berth features`). The one place to update when a feature lands.
 * Runs in the CLI process; reads only /proc/sys/kernel/cap_last_cap.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/capability.h>

#include "berth/berth.h"
#include "criu.h"
#include "json.h"
#include "mount.h"
#include "seccomp-filter.h"
#include "spec.h"
#include "util/macro.h"

#define BERTH_OCI_VERSION_MIN "1.0.0"

static const char *const feature_hooks[] = {
	"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
	NULL,
};

static const char *const feature_namespaces[] = {
	"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts", NULL,
};

/* linux.* features that are a plain {"enabled": bool}. */
static const struct {
	const char *name;
	bool enabled;
} feature_linux_switches[] = {
	{ "apparmor", true },
	{ "selinux", true },
	{ "netDevices", true },
};

static const struct {
	const char *name;
	bool supported;
} feature_cgroup[] = {
	{ "v1", true },		  { "v2", true },   { "systemd", true },
	{ "systemdUser", false }, { "rdma", true },
};

/* "key": {"enabled": v} */
static void gen_key_enabled(struct gen *j, const char *key, bool v)
{
	gen_str(j, key);
	gen_open(j, false);
	gen_str(j, "enabled");
	gen_bool(j, v);
	gen_close(j, false);
}

/* The running kernel's highest capability number, or libcap's if /proc does not say. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cap_last(void)
{
	int last = CAP_LAST_CAP;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");

	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last < 0)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

/* Every capability the kernel has and libcap can name, as "CAP_CHOWN", ... */
static void gen_capabilities(struct gen *j)
{
	int last = cap_last();

	gen_str(j, "capabilities");
	gen_open(j, true);
	for (int c = 0; c <= last; c++) {
		char *name = cap_to_name((cap_value_t)c);

		if (!name)
			continue;
		/* libcap spells caps it does not know as a bare number: leave those out. */
		if (strncmp(name, "cap_", 4) == 0) {
			for (char *p = name; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			gen_str(j, name);
		}
		cap_free(name);
	}
	gen_close(j, true);
}

/* "seccomp": what linux.seccomp may say, and the flags this kernel accepts. */
static void gen_seccomp(struct gen *j)
{
	gen_str(j, "seccomp");
	gen_open(j, false);
	gen_str(j, "enabled");
	gen_bool(j, true);
	gen_key_strv(j, "actions", berth_seccomp_action_names);
	gen_key_strv(j, "operators", berth_seccomp_operator_names);
	gen_key_strv(j, "archs", berth_seccomp_arch_names);
	gen_key_strv(j, "knownFlags", berth_seccomp_flag_names);
	gen_str(j, "supportedFlags");
	gen_open(j, true);
	for (const char *const *f = berth_seccomp_flag_names; *f; f++)
		if (berth_seccomp_flag_supported(*f))
			gen_str(j, *f);
	gen_close(j, true);
	gen_close(j, false);
}

static void gen_linux(struct gen *j)
{
	gen_str(j, "linux");
	gen_open(j, false);
	gen_key_strv(j, "namespaces", feature_namespaces);
	gen_capabilities(j);

	gen_str(j, "cgroup");
	gen_open(j, false);
	for (size_t i = 0; i < ELEMENTSOF(feature_cgroup); i++) {
		gen_str(j, feature_cgroup[i].name);
		gen_bool(j, feature_cgroup[i].supported);
	}
	gen_close(j, false);

	for (size_t i = 0; i < ELEMENTSOF(feature_linux_switches); i++)
		gen_key_enabled(j, feature_linux_switches[i].name,
				feature_linux_switches[i].enabled);

	/* linux.intelRdt is refused (rdt.c): none of its parts is supported */
	gen_str(j, "intelRdt");
	gen_open(j, false);
	gen_str(j, "enabled");
	gen_bool(j, false);
	gen_str(j, "schemata");
	gen_bool(j, false);
	gen_str(j, "enableMonitoring");
	gen_bool(j, false);
	gen_close(j, false);

	gen_seccomp(j);

	/* from the parser's own tables, so that the lists cannot drift */
	const char *names[16];
	gen_str(j, "memoryPolicy");
	gen_open(j, false);
	for (int flags = 0; flags <= 1; flags++) {
		size_t n = memory_policy_names(flags, names, ELEMENTSOF(names) - 1);
		names[n] = NULL;
		gen_key_strv(j, flags ? "flags" : "modes", names);
	}
	gen_close(j, false);

	gen_str(j, "mountExtensions");
	gen_open(j, false);
	gen_key_enabled(j, "idmap", true);
	gen_close(j, false);

	gen_close(j, false);
}

int berth_features_json(char **ret_json, struct berth_error **err)
{
	struct gen j;

	if (gen_init(&j, "\t") < 0)
		return berth_error_set(err, ENOMEM, "features: allocate json generator");

	gen_open(&j, false);
	gen_str(&j, "ociVersionMin");
	gen_str(&j, BERTH_OCI_VERSION_MIN);
	gen_str(&j, "ociVersionMax");
	gen_str(&j, BERTH_SPEC_VERSION);
	gen_key_strv(&j, "hooks", feature_hooks);
	/* from the mount option parser itself, so that the list cannot drift */
	const char *opts[128];
	size_t n_opts = MIN(mount_option_names(opts, ELEMENTSOF(opts) - 1), ELEMENTSOF(opts) - 1);
	qsort(opts, n_opts, sizeof(opts[0]), cmp_str);
	opts[n_opts] = NULL;
	gen_key_strv(&j, "mountOptions", opts);
	gen_linux(&j);
	gen_str(&j, "annotations");
	gen_open(&j, false);
	gen_str(&j, "io.github.berth.version");
	gen_str(&j, BERTH_VERSION);
	/* checkpoint and restore work where the criu program is installed (as runc's key) */
	_cleanup_free_ char *criu = NULL;
	gen_str(&j, "io.github.berth.checkpoint.enabled");
	gen_str(&j, criu_find(&criu, NULL) == 0 ? "true" : "false");
	gen_close(&j, false);
	gen_close(&j, false);

	int r = gen_finish(&j, ret_json, NULL);
	if (r == -ENOMEM)
		return berth_error_set(err, ENOMEM, "features");
	if (r < 0)
		return berth_error_setx(err, EIO, "features: json generator error %d", (int)j.st);
	return 0;
}
