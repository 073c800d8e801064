/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Processes: pidfds, start times, signal dispositions, exit codes and the
 * wait that forwards signals. libc and kernel only; runs in the berth
 * process, in the container's processes before exec and in berth-shim.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/proc.h"

uint64_t proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t k = read(fd, buf, sizeof(buf) - 1);
	if (k <= 0)
		return 0;
	buf[k] = 0;
	/* comm may hold spaces and parentheses: parse after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	char state = *p;
	if (state == 'Z' || state == 'X')
		return 0;
	/* p is field 3; start time is field 22 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return 0;
		p++;
	}
	return strtoull(p, NULL, 10);
}

int proc_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : fd;
#else
	return -ENOSYS;
#endif
}

int proc_pidfd_open_started(pid_t pid, uint64_t start)
{
	int fd = proc_pidfd_open(pid);
	if (fd < 0)
		return fd;
	/* checked after the open: the pidfd pins the process the start time names */
	if (proc_start_time(pid) != start) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

int proc_pidfd_signal(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
#else
	return -ENOSYS;
#endif
}

int proc_signals_reset(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL); /* EINVAL for the ones libc keeps */
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return -errno;
	return 0;
}

void proc_forwarded_sigset(sigset_t *ret)
{
	static const int forwarded[] = { SIGHUP,  SIGINT,   SIGQUIT, SIGTERM, SIGUSR1,
					 SIGUSR2, SIGWINCH, SIGCONT, SIGALRM, SIGPWR };
	sigemptyset(ret);
	for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
		sigaddset(ret, forwarded[i]);
}

/* st_ino of /proc/<pid>/ns/pid (pid 0: ourselves), 0 if it cannot be read. */
static ino_t pidns_ino(pid_t pid)
{
	char p[64];
	struct stat st;
	if (pid > 0)
		snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)pid);
	else
		snprintf(p, sizeof(p), "/proc/self/ns/pid");
	return stat(p, &st) == 0 ? st.st_ino : 0;
}

int proc_pidns_members(pid_t init, pid_t **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	ino_t ns = init > 0 ? pidns_ino(init) : 0;
	if (ns == 0)
		return -ESRCH;
	if (ns == pidns_ino(0))
		return -EPERM;
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pidns_ino((pid_t)pid) != ns)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			pid_t *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[n++] = (pid_t)pid;
	}
	closedir(d);
	if (r < 0) {
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

bool proc_rootless(void)
{
	/* asked on every create: /proc/self/uid_map is read once per process */
	static int known = -1;
	if (geteuid() != 0)
		return true;
	if (known >= 0)
		return known;
	known = 0;
	char buf[128];
	_cleanup_close_ int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false; /* no /proc: assume what we were told, root */
	ssize_t k = read(fd, buf, sizeof(buf) - 1);
	if (k <= 0)
		return false;
	buf[k] = '\0';
	unsigned long inside = 1, outside = 1, count = 0;
	char more;
	int n = sscanf(buf, " %lu %lu %lu %c", &inside, &outside, &count, &more);
	known = !(n == 3 && inside == 0 && outside == 0 && count == 4294967295UL);
	return known;
}

uid_t proc_uid_outside(uid_t uid)
{
	char buf[16384]; /* 340 lines at most, each under 36 bytes */
	_cleanup_close_ int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	ssize_t k = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (k <= 0)
		return uid;
	buf[k] = '\0';
	for (char *line = buf; line;) {
		unsigned long inside, outside, count;
		if (sscanf(line, " %lu %lu %lu", &inside, &outside, &count) == 3 && uid >= inside &&
		    uid - inside < count)
			return (uid_t)(outside + (uid - inside));
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return uid;
}

int proc_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

int proc_wait_forward(const struct proc_wait *w)
{
	for (;;) {
		int status = 0;
		pid_t k = waitpid(w->pid, &status, WNOHANG);
		if (k == w->pid)
			return proc_exit_code(status);
		if (k < 0 && errno != EINTR)
			return -errno;
		struct pollfd p[3] = { { .fd = w->pidfd, .events = POLLIN },
				       { .fd = w->sigfd, .events = POLLIN },
				       { .fd = w->extra_fd, .events = POLLIN } };
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			return -errno;
		if ((p[2].revents & POLLIN) && w->on_extra)
			w->on_extra(w->data);
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(w->sigfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo != SIGWINCH || !w->keep_winch)
					kill(w->pid, (int)si.ssi_signo);
		}
	}
}
