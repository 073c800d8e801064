// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The seccomp loader: puts a compiled program into the calling thread with a
 * raw seccomp(2), no libseccomp. Runs in the container init (or an exec'd
 * process, or a startContainer hook's child) just before execve.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "seccomp-filter.h"

int berth_seccomp_load(const struct berth_seccomp *f, int *ret_listener_fd,
		       struct berth_error **err)
{
	struct sock_fprog prog = { .len = (unsigned short)f->n_insns, .filter = f->insns };
	bool listener = f->notify && ret_listener_fd;
	unsigned long flags = f->flags;
	if (listener)
		flags |= BERTH_SECCOMP_FLAG_NEW_LISTENER;
	else
		flags &= ~(BERTH_SECCOMP_FLAG_TSYNC_ESRCH | BERTH_SECCOMP_FLAG_WAIT_KILLABLE_RECV);
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (r < 0)
		return berth_error_set(err, errno, "load the seccomp filter");
	/* with TSYNC_ESRCH a thread that could not be synchronised is an error, not a tid */
	if (ret_listener_fd)
		*ret_listener_fd = listener ? (int)r : -EBADF;
	return 0;
}
