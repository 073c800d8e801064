// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The notify-agent hand-off: sends a container's seccomp listener fd, with the
 * containerProcessState JSON, to the agent at linux.seccomp.listenerPath.
 * Runs in berth start (or berth exec), once the init (or the exec'd process)
 * has passed the fd up.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "berth/berth.h"
#include "json.h"
#include "seccomp-filter.h"
#include "util/fd.h"
#include "util/macro.h"

int berth_seccomp_send_to_agent(const char *listener_path, const char *metadata, int listener_fd,
				pid_t pid, const char *state_json, struct berth_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!listener_path || strlen(listener_path) >= sizeof(sa.sun_path))
		return berth_error_setx(err, EINVAL, "seccomp listener path \"%s\" is too long",
					listener_path ? listener_path : "");
	strcpy(sa.sun_path, listener_path);

	struct gen j;
	if (gen_init(&j, NULL) < 0)
		return berth_error_set(err, ENOMEM, "seccomp agent");
	gen_open(&j, false);
	gen_key_str(&j, "ociVersion", BERTH_SPEC_VERSION);
	gen_str(&j, "fds");
	gen_open(&j, true);
	gen_str(&j, "seccompFd");
	gen_close(&j, true);
	gen_key_int(&j, "pid", pid);
	gen_key_str(&j, "metadata", metadata ? metadata : "");
	gen_str(&j, "state");
	gen_raw(&j, state_json); /* the state document, made by state.c */
	gen_close(&j, false);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (gen_finish(&j, &buf, &len) < 0)
		return berth_error_set(err, ENOMEM, "seccomp agent");

	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return berth_error_set(err, errno, "connect to the seccomp agent at \"%s\"",
				       listener_path);
	ssize_t n = fd_send(fd, listener_fd, buf, len);
	if (n < 0)
		return berth_error_set(err, (int)-n, "send to the seccomp agent at \"%s\"",
				       listener_path);
	/* the fd went with the first byte; the rest of a short write is plain data */
	if ((size_t)n < len && write_all(fd, buf + n, len - (size_t)n) < 0)
		return berth_error_set(err, errno, "send to the seccomp agent at \"%s\"",
				       listener_path);
	return 0;
}
