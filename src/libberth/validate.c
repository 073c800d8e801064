/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checks of meaning on a parsed config.json: required fields, absolute paths,
 * namespace rules, sysctls a container may set, limits. Pure: no system calls.
 * Runs in the parent, before anything is created; the first error wins.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "util/macro.h"

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

#define invalid(err, ...) berth_error_setx((err), EINVAL, "config.json: " __VA_ARGS__)

static bool path_is_absolute(const char *p)
{
	return p && p[0] == '/';
}

/* Accepts "1", "1.0.2", "1.2.0-rc.1": the major version must be 1. */
static bool oci_version_supported(const char *v)
{
	if (v[0] != '1')
		return false;
	return v[1] == 0 || v[1] == '.';
}

/*
 * (uid_t)-1 is not an ID: setresuid(2), setgroups(2) and chown(2) read it as
 * "leave unchanged", so a process "running as" 4294967295 would stay root.
 */
#define ID_INVALID UINT32_MAX

static int validate_user(const struct berth_user *u, struct berth_error **err)
{
	if (u->uid == ID_INVALID)
		return invalid(err, "process.user.uid: %" PRIu32 " is not a valid uid", u->uid);
	if (u->gid == ID_INVALID)
		return invalid(err, "process.user.gid: %" PRIu32 " is not a valid gid", u->gid);
	for (size_t i = 0; i < u->n_additional_gids; i++)
		if (u->additional_gids[i] == ID_INVALID)
			return invalid(err,
				       "process.user.additionalGids[%zu]: %" PRIu32
				       " is not a valid gid",
				       i, u->additional_gids[i]);
	return 0;
}

static int validate_process(const struct berth_process *p, struct berth_error **err)
{
	int r = validate_user(&p->user, err);
	if (r < 0)
		return r;
	if (p->n_args == 0 || !p->args || !p->args[0])
		return invalid(err, "process.args: must be a non-empty array of strings");
	if (!p->cwd)
		return invalid(err, "process.cwd: is required");
	if (!path_is_absolute(p->cwd))
		return invalid(err, "process.cwd: \"%s\" must be an absolute path", p->cwd);

	for (size_t i = 0; i < p->n_env; i++)
		if (!strchr(p->env[i], '=') || p->env[i][0] == '=')
			return invalid(err, "process.env[%zu]: \"%s\" must have the form KEY=VALUE",
				       i, p->env[i]);

	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct berth_rlimit *rl = &p->rlimits[i];
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[j].resource == rl->resource)
				return invalid(err, "process.rlimits[%zu].type: duplicate \"%s\"",
					       i, rl->type);
		if (rl->soft > rl->hard)
			return invalid(err,
				       "process.rlimits[%zu]: soft limit %" PRIu64
				       " is above hard limit %" PRIu64,
				       i, rl->soft, rl->hard);
	}

	if (p->has_oom_score_adj && (p->oom_score_adj < -1000 || p->oom_score_adj > 1000))
		return invalid(err, "process.oomScoreAdj: %d is outside [-1000, 1000]",
			       p->oom_score_adj);

	/*
	 * The kernel only keeps ambient capabilities that are also permitted and
	 * inheritable. Inheritable is not demanded here: buildah sends ambient
	 * without inheritable, so the process module adds ambient to inheritable.
	 */
	const struct berth_caps *c = &p->caps;
	if (c->has_ambient && (c->ambient & ~c->permitted) != 0)
		return invalid(err, "process.capabilities.ambient: must be a subset of "
				    "process.capabilities.permitted");

	const struct berth_scheduler *sc = &p->scheduler;
	if (sc->set) {
		if (!sc->policy)
			return invalid(err, "process.scheduler.policy: is required");
		if (sc->policy_value == SCHED_DEADLINE) {
			if (!sc->has_runtime)
				return invalid(err, "process.scheduler.runtime: is required for "
						    "SCHED_DEADLINE");
			if (!sc->has_deadline)
				return invalid(err, "process.scheduler.deadline: is required for "
						    "SCHED_DEADLINE");
			/* no period, or 0: the kernel takes the deadline as the period */
			bool period = sc->has_period && sc->period != 0;
			if (sc->runtime > sc->deadline || (period && sc->deadline > sc->period))
				return invalid(err,
					       "process.scheduler: SCHED_DEADLINE needs runtime "
					       "<= deadline <= period");
		}
		if (sc->has_nice && (sc->nice < -20 || sc->nice > 19))
			return invalid(err,
				       "process.scheduler.nice: %" PRId32 " is outside [-20, 19]",
				       sc->nice);
	}

	const struct berth_io_priority *io = &p->io_priority;
	if (io->set) {
		if (!io->class)
			return invalid(err, "process.ioPriority.class: is required");
		if (io->priority < 0 || io->priority > 7)
			return invalid(err, "process.ioPriority.priority: %d is outside [0, 7]",
				       io->priority);
	}
	return 0;
}

static bool has_ns(const struct berth_spec *s, enum berth_ns_type t)
{
	return spec_find_ns(s, t) != NULL;
}

/* Does the sysctl name start with prefix? '/' in the name counts as '.'. */
static bool sysctl_has_prefix(const char *name, const char *prefix)
{
	for (; *prefix; name++, prefix++) {
		char c = *name == '/' ? '.' : *name;
		if (c != *prefix)
			return false;
	}
	return true;
}

static bool sysctl_equal(const char *name, const char *other)
{
	return sysctl_has_prefix(name, other) && strlen(name) == strlen(other);
}

static int validate_sysctl(const struct berth_spec *s, const char *name, const char *value,
			   struct berth_error **err)
{
	if (sysctl_has_prefix(name, "net.")) {
		if (!has_ns(s, BERTH_NS_NET))
			return invalid(err, "linux.sysctl: \"%s\" requires a network namespace",
				       name);
		return 0;
	}
	bool host = sysctl_equal(name, "kernel.hostname");
	if (host || sysctl_equal(name, "kernel.domainname")) {
		/* a joined uts namespace is someone else's: its names are not ours to set */
		const struct berth_namespace *uts = spec_find_ns(s, BERTH_NS_UTS);
		if (!uts || uts->path)
			return invalid(err, "linux.sysctl: \"%s\" requires a new uts namespace",
				       name);
		/* the dedicated field and the sysctl both set the name: only if they agree */
		const char *field = host ? s->hostname : s->domainname;
		if (field && *field && strcmp(field, value) != 0)
			return invalid(err, "linux.sysctl: \"%s\" conflicts with %s \"%s\"", name,
				       host ? "hostname" : "domainname", field);
		return 0;
	}
	if (sysctl_has_prefix(name, "fs.mqueue.") || sysctl_has_prefix(name, "kernel.msg") ||
	    sysctl_has_prefix(name, "kernel.sem") || sysctl_has_prefix(name, "kernel.shm")) {
		if (!has_ns(s, BERTH_NS_IPC))
			return invalid(err, "linux.sysctl: \"%s\" requires an ipc namespace", name);
		return 0;
	}
	return invalid(err,
		       "linux.sysctl: \"%s\" is not namespaced and cannot be set for a container",
		       name);
}

/* Each range, on both sides, must end below ID_INVALID (and not wrap around 32 bits). */
static int validate_mappings(const char *what, const char *kind, const struct berth_id_mapping *m,
			     size_t n, struct berth_error **err)
{
	for (size_t i = 0; i < n; i++) {
		if (m[i].size == 0)
			return invalid(err, "%s[%zu].size: must be greater than zero", what, i);
		const char *side[] = { "containerID", "hostID" };
		uint32_t start[] = { m[i].container_id, m[i].host_id };
		for (size_t k = 0; k < ELEMENTSOF(side); k++) {
			uint64_t last = (uint64_t)start[k] + m[i].size - 1;
			if (last >= ID_INVALID)
				return invalid(err,
					       "%s[%zu]: %s %" PRIu32 " and size %" PRIu32
					       " reach %" PRIu64 ", which is not a valid %s",
					       what, i, side[k], start[k], m[i].size, last, kind);
		}
	}
	return 0;
}

/* What set_mempolicy(2) would refuse, said in terms of the config. */
static int validate_memory_policy(const struct berth_memory_policy *mp, struct berth_error **err)
{
	if (!mp->set)
		return 0;
	unsigned f = mp->flags_value;
	if ((f & BERTH_MPOL_F_STATIC_NODES) && (f & BERTH_MPOL_F_RELATIVE_NODES))
		return invalid(err, "linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and "
				    "MPOL_F_RELATIVE_NODES exclude each other");
	switch (mp->mode_value) {
	case BERTH_MPOL_DEFAULT:
	case BERTH_MPOL_LOCAL:
		if (mp->has_nodes)
			return invalid(err, "linux.memoryPolicy.nodes: must be empty for %s",
				       mp->mode);
		if (f != 0)
			return invalid(err, "linux.memoryPolicy.flags: %s takes no flags",
				       mp->mode);
		break;
	case BERTH_MPOL_PREFERRED:
		/* no nodes: local allocation, as set_mempolicy(2) reads it */
		break;
	default:
		if (!mp->has_nodes)
			return invalid(err, "linux.memoryPolicy.nodes: %s needs at least one node",
				       mp->mode);
	}
	if ((f & BERTH_MPOL_F_NUMA_BALANCING) && mp->mode_value != BERTH_MPOL_BIND &&
	    mp->mode_value != BERTH_MPOL_PREFERRED_MANY)
		return invalid(err,
			       "linux.memoryPolicy.flags: MPOL_F_NUMA_BALANCING needs MPOL_BIND or "
			       "MPOL_PREFERRED_MANY, not %s",
			       mp->mode);
	return 0;
}

static int validate_linux(const struct berth_spec *s, struct berth_error **err)
{
	const struct berth_linux *l = &s->linux_;
	int r;

	for (size_t i = 0; i < l->n_namespaces; i++) {
		const struct berth_namespace *ns = &l->namespaces[i];
		for (size_t j = 0; j < i; j++)
			if (l->namespaces[j].type == ns->type)
				return invalid(
					err,
					"linux.namespaces[%zu].type: duplicate namespace \"%s\"", i,
					ns_type_name(ns->type));
		if (ns->path && !path_is_absolute(ns->path))
			return invalid(
				err, "linux.namespaces[%zu].path: \"%s\" must be an absolute path",
				i, ns->path);
	}

	const struct berth_namespace *userns = spec_find_ns(s, BERTH_NS_USER);
	if (!userns && l->n_uid_mappings > 0)
		return invalid(err, "linux.uidMappings: requires a user namespace");
	if (!userns && l->n_gid_mappings > 0)
		return invalid(err, "linux.gidMappings: requires a user namespace");
	if (userns && !userns->path) {
		if (l->n_uid_mappings == 0)
			return invalid(
				err, "linux.uidMappings: required when creating a user namespace");
		if (l->n_gid_mappings == 0)
			return invalid(
				err, "linux.gidMappings: required when creating a user namespace");
	}
	if ((r = validate_mappings("linux.uidMappings", "uid", l->uid_mappings, l->n_uid_mappings,
				   err)) < 0 ||
	    (r = validate_mappings("linux.gidMappings", "gid", l->gid_mappings, l->n_gid_mappings,
				   err)) < 0)
		return r;

	if ((l->time_monotonic.set || l->time_boottime.set) && !has_ns(s, BERTH_NS_TIME))
		return invalid(err, "linux.timeOffsets: requires a time namespace");
	if (l->time_monotonic.nanosecs >= 1000000000)
		return invalid(err,
			       "linux.timeOffsets.monotonic.nanosecs: must be below 1000000000");
	if (l->time_boottime.nanosecs >= 1000000000)
		return invalid(err,
			       "linux.timeOffsets.boottime.nanosecs: must be below 1000000000");

	for (size_t i = 0; i < l->n_devices; i++) {
		const struct berth_device *d = &l->devices[i];
		if (!d->path)
			return invalid(err, "linux.devices[%zu].path: is required", i);
		if (!path_is_absolute(d->path))
			return invalid(err,
				       "linux.devices[%zu].path: \"%s\" must be an absolute path",
				       i, d->path);
	}

	if (l->rootfs_propagation) {
		static const char *const modes[] = {
			"shared",  "slave",  "private",	 "unbindable",
			"rshared", "rslave", "rprivate", "runbindable",
		};
		bool ok = false;
		for (size_t i = 0; i < ELEMENTSOF(modes); i++)
			ok = ok || streq(l->rootfs_propagation, modes[i]);
		if (!ok)
			return invalid(err, "linux.rootfsPropagation: unknown propagation \"%s\"",
				       l->rootfs_propagation);
	}

	for (size_t i = 0; i < l->n_masked_paths; i++)
		if (!path_is_absolute(l->masked_paths[i]))
			return invalid(err,
				       "linux.maskedPaths[%zu]: \"%s\" must be an absolute path", i,
				       l->masked_paths[i]);
	for (size_t i = 0; i < l->n_readonly_paths; i++)
		if (!path_is_absolute(l->readonly_paths[i]))
			return invalid(err,
				       "linux.readonlyPaths[%zu]: \"%s\" must be an absolute path",
				       i, l->readonly_paths[i]);

	for (size_t i = 0; i < l->n_sysctl; i++) {
		r = validate_sysctl(s, l->sysctl[i].key, l->sysctl[i].value, err);
		if (r < 0)
			return r;
	}
	return validate_memory_policy(&l->memory_policy, err);
}

int spec_validate_process(const struct berth_process *p, struct berth_error **err)
{
	return validate_process(p, err);
}

int spec_validate(const struct berth_spec *s, bool need_process, struct berth_error **err)
{
	int r;

	if (!s)
		return berth_error_setx(err, EINVAL, "config.json: no spec");

	if (!s->oci_version)
		return invalid(err, "ociVersion: is required");
	if (!oci_version_supported(s->oci_version))
		return invalid(err, "ociVersion: unsupported version \"%s\" (need 1.x)",
			       s->oci_version);

	if (!s->root_path || !s->root_path[0])
		return invalid(err, "root.path: is required");

	if (need_process) {
		if (!s->has_process)
			return invalid(err, "process: is required");
		r = validate_process(&s->process, err);
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct berth_mount *m = &s->mounts[i];
		if (!m->destination || !m->destination[0])
			return invalid(err, "mounts[%zu].destination: is required", i);
		char what[64];
		snprintf(what, sizeof(what), "mounts[%zu].uidMappings", i);
		r = validate_mappings(what, "uid", m->uid_mappings, m->n_uid_mappings, err);
		if (r < 0)
			return r;
		snprintf(what, sizeof(what), "mounts[%zu].gidMappings", i);
		r = validate_mappings(what, "gid", m->gid_mappings, m->n_gid_mappings, err);
		if (r < 0)
			return r;
	}

	/* A hostname without a uts namespace would rename the host (or a joined one's owner). */
	if (s->hostname && s->hostname[0] && !has_ns(s, BERTH_NS_UTS))
		return invalid(err, "hostname: requires a uts namespace");
	if (s->domainname && s->domainname[0] && !has_ns(s, BERTH_NS_UTS))
		return invalid(err, "domainname: requires a uts namespace");

	for (int k = 0; k < _BERTH_HOOK_MAX; k++)
		for (size_t i = 0; i < s->hooks.n[k]; i++) {
			const struct berth_hook *h = &s->hooks.list[k][i];
			const char *kind = hook_kind_name(k);
			if (!h->path)
				return invalid(err, "hooks.%s[%zu].path: is required", kind, i);
			if (!path_is_absolute(h->path))
				return invalid(
					err, "hooks.%s[%zu].path: \"%s\" must be an absolute path",
					kind, i, h->path);
			if (h->has_timeout && h->timeout <= 0)
				return invalid(err,
					       "hooks.%s[%zu].timeout: must be greater than zero",
					       kind, i);
		}

	return validate_linux(s, err);
}

int spec_validate_runtime_mntns(const struct berth_spec *s, struct berth_error **err)
{
#define NEEDS_MNTNS                                                                       \
	"needs a new mount namespace: in the runtime's own (linux.namespaces has no new " \
	"\"mount\") it would change, and stay in, the host's mount table"
	const struct berth_linux *l = &s->linux_;
	if (s->n_mounts > 0)
		return invalid(err, "mounts: " NEEDS_MNTNS);
	if (l->n_masked_paths > 0)
		return invalid(err, "linux.maskedPaths: " NEEDS_MNTNS);
	if (l->n_readonly_paths > 0)
		return invalid(err, "linux.readonlyPaths: " NEEDS_MNTNS);
	if (s->root_readonly)
		return invalid(err, "root.readonly: " NEEDS_MNTNS);
	if (l->n_devices > 0)
		return invalid(err, "linux.devices: " NEEDS_MNTNS);
	if (l->rootfs_propagation && *l->rootfs_propagation)
		return invalid(err, "linux.rootfsPropagation: " NEEDS_MNTNS);
	/* the pty would come from the image's /dev/ptmx, /dev/console is not berth's */
	if (s->process.terminal)
		return invalid(err, "process.terminal: " NEEDS_MNTNS);
	if (spec_annotation(s, "berth.rootfs.lower"))
		return invalid(err, "annotations[\"berth.rootfs.lower\"]: " NEEDS_MNTNS);
	return 0;
#undef NEEDS_MNTNS
}
