/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The systemd cgroup driver (--systemd-cgroup): the container's cgroup is a
 * transient scope unit that systemd makes under a slice, asked for over the
 * system bus (dbus.h), rootless the user's systemd over the user's bus. Runs
 * in the berth process.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "berth/error.h"
#include "dbus.h"
#include "json.h"
#include "resources.h"

/*
 * The cgroup directory of slice ("a-b.slice" -> "a.slice/a-b.slice", "-.slice"
 * -> ""), in ret (malloc'd); -EINVAL for a name that is not a slice.
 */
int systemd_slice_path(const char *slice, char **ret);

/*
 * linux.cgroupsPath in systemd form "slice:prefix:name" (NULL or "":
 * "system.slice:berth:<id>"; rootless "user.slice:berth:<id>") -> the scope
 * unit "prefix-name.scope", its slice and the absolute cgroup directory
 * systemd will give it (the path the state records; rootless under the
 * user manager's own cgroup, which it asks on the user's bus). Makes nothing.
 */
int systemd_scope_resolve(const char *cgroups_path, const char *id, char **ret_unit,
			  char **ret_slice, char **ret_path, struct berth_error **err);

/*
 * Start unit under slice as a transient scope (mode "fail", Delegate=yes)
 * with the limits of res systemd has as properties and the
 * org.systemd.property.<Name> annotations, and wait until its job is done.
 * The scope's first process is a holder berth forks for it (*ret_holder):
 * the init is then cloned into the scope's cgroup, and
 * systemd_holder_release() ends the holder.
 */
int systemd_scope_start(const char *unit, const char *slice, const char *id,
			const struct berth_resources *res, const struct berth_kv *annotations,
			size_t n_annotations, pid_t *ret_holder, struct berth_error **err);

/*
 * The limits of res that systemd keeps as unit properties, as (sv) entries
 * in w: MemoryMax, MemoryLow, MemorySwapMax, CPUWeight (0, "idle", for
 * cpu.idle 1), CPUQuotaPerSecUSec (rounded up to 10 ms, systemd's
 * precision), CPUQuotaPeriodUSec, AllowedCPUs, AllowedMemoryNodes,
 * TasksMax, IOWeight, and from the unified keys memory.{min,low,high,max,
 * swap.max}, pids.max, cpu.weight, cpu.idle, cpu.max, cpuset.{cpus,mems}
 * and io.weight; so that systemd's view and the cgroup files (which berth
 * writes too, exactly) agree and a daemon-reload undoes nothing. The rest
 * (cpu burst, io.max, hugetlb, other unified keys) only berth writes, to
 * files systemd leaves alone.
 */
void systemd_resource_props(struct dbus_writer *w, const struct berth_resources *res);

/*
 * The device rules (res's, then the defaults every container gets) as
 * DevicePolicy=strict and a DeviceAllow list in w, so that systemd's device
 * program, which it writes again at each daemon-reload, allows what berth's
 * own does: the allow rules after the last deny of everything, as
 * /dev/char/MAJ:MIN, char-NAME (/proc/devices) or char-* (block- alike).
 * Never narrower than the rules: a deny of part of them, or a rule systemd
 * cannot name, leaves systemd allowing more there, berth's program exact.
 * -ENOMEM only.
 */
int systemd_device_props(struct dbus_writer *w, const struct berth_resources *res);

/*
 * One org.systemd.property.<name> annotation as an (sv) property in w. A
 * known name takes its type; otherwise "uint64 N" or a plain number is a
 * uint64, true/false a bool and a 'quoted' (or "quoted") text a string.
 * Anything else is an error naming the annotation.
 */
int systemd_annotation_prop(struct dbus_writer *w, const char *name, const char *value,
			    struct berth_error **err);

/*
 * Have systemd move pid into unit's cgroup, or its cgroup sub below it (NULL:
 * none), with AttachProcessesToUnit: for a process berth may not move there
 * itself, rootless berth started outside the user manager's tree (the
 * user's systemd asks PID 1, which may).
 */
int systemd_scope_attach(const char *unit, pid_t pid, const char *sub, struct berth_error **err);

/* SIGKILL and reap the holder (<= 0: none). */
void systemd_holder_release(pid_t holder);

/*
 * berth update: set the properties of res's limits on unit (SetUnitProperties,
 * runtime), so that systemd keeps what the cgroup files get; no limit that
 * systemd has as a property: nothing, not even a connection.
 */
int systemd_scope_update(const char *unit, const struct berth_resources *res,
			 struct berth_error **err);

/*
 * Stop unit and wait for its job; a unit that is gone already (it stops by
 * itself once empty) is success. The failed state is reset so nothing stays listed.
 */
int systemd_scope_stop(const char *unit, struct berth_error **err);
