/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Namespaces of a container: which are new and which are joined, opening the
 * joined ones, user namespace id maps and time namespace offsets. The opening
 * and the maps run in the parent; ns_join runs in the container init.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "spec.h"

struct ns_plan {
	unsigned long new_flags;    /* CLONE_NEW* of every namespace to create */
	int join_fd[_BERTH_NS_MAX]; /* fd of a namespace to join, or -EBADF */
	bool any_join;
};

/* Work out new and joined namespaces; open (and type-check) the joined ones. */
int ns_plan(const struct berth_spec *s, struct ns_plan *ret, struct berth_error **err);
void ns_plan_done(struct ns_plan *p);

/* In the init: setns() into every joined namespace, the user namespace first. */
int ns_join(const struct ns_plan *p, struct berth_error **err);

/* Is fd (a namespace of type t) the one this process is in? */
bool ns_is_own(int fd, enum berth_ns_type t);

/* In the init, in its new network namespace: 'lo' up, as every runtime leaves it. */
int ns_loopback_up(struct berth_error **err);

/* Parent: write /proc/<pid>/{uid_map,gid_map} (setgroups stays allowed: we are root). */
int ns_write_id_maps(pid_t pid, const struct berth_spec *s, struct berth_error **err);
/*
 * Write one map ("uid_map" or "gid_map" of the /proc/<pid> directory dirfd):
 * the n lines in a single write(2), as the kernel wants them. 0 or -errno.
 */
int ns_write_id_map(int dirfd, const char *file, const struct berth_id_mapping *m, size_t n);

/*
 * Parent: if a new time namespace is wanted, unshare(CLONE_NEWTIME) and write
 * the offsets so that the next child is born in it; *ret_saved is an fd of
 * the parent's own time namespace for ns_time_restore(), or -EBADF.
 */
int ns_time_prepare(const struct berth_spec *s, int *ret_saved, struct berth_error **err);
void ns_time_restore(int saved);
