/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every container gets when berth runs under systemd (or another
 * service manager): its own sd_notify socket, bound in the state dir and
 * bind-mounted into the container (berth, or berth-shim, passes READY=1 and
 * the rest on), and LISTEN_FDS/LISTEN_PID for socket activation. Runs in the
 * berth parent (notify_prepare) and in the container init (notify_listen_env).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"
#include "util/env.h"
#include "util/macro.h"

int notify_listen_env(struct berth_process *p, int n)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "LISTEN_FDS=%d", n);
	if (env_set(&p->env, &p->n_env, buf) < 0)
		return -ENOMEM;
	/* the pid the program will have: ours, as seen in the container's pid namespace */
	snprintf(buf, sizeof(buf), "LISTEN_PID=%d", (int)getpid());
	if (env_set(&p->env, &p->n_env, buf) < 0)
		return -ENOMEM;
	const char *names = getenv("LISTEN_FDNAMES");
	if (names) {
		_cleanup_free_ char *kv = NULL;
		if (asprintf(&kv, "LISTEN_FDNAMES=%s", names) < 0 ||
		    env_set(&p->env, &p->n_env, kv) < 0)
			return -ENOMEM;
	}
	return 0;
}

int notify_prepare(struct berth_spec *spec, const struct berth_create_opts *opts, const char *root,
		   const char *id, int state_fd, int *ret_fd, struct berth_error **err)
{
	if (!opts->notify_socket)
		return 0;
	if (mkdirat(state_fd, NOTIFY_DIR, 0755) < 0 && errno != EEXIST)
		return berth_error_set(err, errno, "notify socket: create directory");
	fchmodat(state_fd, NOTIFY_DIR, 0755, 0);

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" NOTIFY_DIR "/notify.sock",
		 state_fd);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return berth_error_set(err, errno, "notify socket: bind");
	/* any user of the container may say READY=1 */
	if (fchmodat(state_fd, NOTIFY_DIR "/notify.sock", 0777, 0) < 0)
		return berth_error_set(err, errno, "notify socket: chmod");

	struct berth_mount *m = realloc(spec->mounts, (spec->n_mounts + 1) * sizeof(*m));
	if (!m)
		return berth_error_set(err, ENOMEM, "notify socket");
	spec->mounts = m;
	m = &spec->mounts[spec->n_mounts];
	*m = (struct berth_mount){};
	m->options = calloc(5, sizeof(char *));
	if (asprintf(&m->source, "%s/%s/" NOTIFY_DIR, root, id) < 0)
		m->source = NULL;
	m->destination = strdup(NOTIFY_MOUNT);
	m->type = strdup("bind");
	if (m->options) {
		const char *o[] = { "bind", "nosuid", "nodev", "noexec" };
		for (size_t i = 0; i < ELEMENTSOF(o); i++)
			m->options[m->n_options++] = strdup(o[i]);
	}
	spec->n_mounts++;
	if (!m->source || !m->destination || !m->type || !m->options || !m->options[3])
		return berth_error_set(err, ENOMEM, "notify socket");
	if (env_set(&spec->process.env, &spec->process.n_env, "NOTIFY_SOCKET=" NOTIFY_PATH) < 0)
		return berth_error_set(err, ENOMEM, "notify socket");
	*ret_fd = TAKE_FD(fd);
	return 0;
}
