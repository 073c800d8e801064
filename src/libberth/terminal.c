/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * process.terminal. terminal_open() and terminal_attach() run in
 * the process about to become the container's program (the init after
 * pivot_root, or an exec child after it entered the container's root);
 * sending the master to --console-socket and the raw-mode relay run in berth.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "terminal.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* The major number of ptys (and of /dev/ptmx, 5:2) */
#define PTY_MASTER_MAJOR 5
#define PTMX_MINOR	 2

int terminal_open(const struct berth_process *p, bool relayed, int *ret_master, int *ret_slave,
		  struct berth_error **err)
{
	_cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return berth_error_set(err, errno, "terminal: open \"/dev/ptmx\"");

	/* whatever the container put at /dev/ptmx, it must be a pty multiplexer */
	struct stat st;
	if (fstat(master, &st) < 0)
		return berth_error_set(err, errno, "terminal: stat \"/dev/ptmx\"");
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != PTY_MASTER_MAJOR ||
	    minor(st.st_rdev) != PTMX_MINOR)
		return berth_error_setx(err, EINVAL,
					"terminal: \"/dev/ptmx\" is not the pty multiplexer");

	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return berth_error_set(err, errno, "terminal: unlock pty");

	/* the peer of this very master, not a path someone could swap */
	_cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		unsigned n = 0;
		char path[64];
		if (ioctl(master, TIOCGPTN, &n) < 0)
			return berth_error_set(err, errno, "terminal: pty number");
		snprintf(path, sizeof(path), "/dev/pts/%u", n);
		slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (slave < 0)
			return berth_error_set(err, errno, "terminal: open \"%s\"", path);
	}

	if (p && p->has_console_size) {
		struct winsize ws = { .ws_row = (unsigned short)p->console_height,
				      .ws_col = (unsigned short)p->console_width };
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			return berth_error_set(err, errno, "terminal: set size %ux%u",
					       p->console_width, p->console_height);
	}
	/* before the program runs: nothing it writes gets "\r" added */
	if (relayed) {
		struct termios t;
		if (tcgetattr(slave, &t) < 0)
			return berth_error_set(err, errno, "terminal: get attributes");
		t.c_oflag &= ~(tcflag_t)ONLCR;
		if (tcsetattr(slave, TCSANOW, &t) < 0)
			return berth_error_set(err, errno, "terminal: clear ONLCR");
	}
	*ret_master = TAKE_FD(master);
	*ret_slave = TAKE_FD(slave);
	return 0;
}

/*
 * Bind the pty slave onto /dev/console of the current root (after
 * pivot_root), which the mount code made a file or a device. Nothing is
 * looked up by path at mount time: /dev is opened inside the root (as the
 * mount code found it), console in it without following a symlink
 * (something may have put one there since), and the pty is attached to that
 * very file with the new mount API, which needs no /proc either.
 */
static int mount_console(int slave, struct berth_error **err)
{
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return berth_error_set(err, errno, "terminal: open \"/\"");
	_cleanup_close_ int dev = path_open_in_root(root, "/dev", O_PATH | O_DIRECTORY, 0);
	if (dev < 0)
		return berth_error_set(err, dev, "terminal: open \"/dev\"");
	_cleanup_close_ int target = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return berth_error_set(err, errno, "terminal: open \"/dev/console\"");
	struct stat st;
	if (fstat(target, &st) < 0)
		return berth_error_set(err, errno, "terminal: stat \"/dev/console\"");
	if (S_ISLNK(st.st_mode))
		return berth_error_setx(err, ELOOP,
					"terminal: \"/dev/console\" is a symlink: the pty is not "
					"mounted through it");
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return berth_error_setx(
			err, EINVAL, "terminal: \"/dev/console\" is neither a file nor a device");

	_cleanup_close_ int tree =
		open_tree(slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return berth_error_set(err, errno, "terminal: clone the pty for \"/dev/console\"");
	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return berth_error_set(err, errno, "terminal: bind it onto \"/dev/console\"");
	return 0;
}

int terminal_attach(int slave, uid_t uid, bool console, struct berth_error **err)
{
	if (setsid() < 0)
		return berth_error_set(err, errno, "terminal: setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return berth_error_set(err, errno, "terminal: make it the controlling terminal");
	/* the user must be able to reopen it (tty(1), /proc/self/fd/0) */
	if (fchown(slave, uid, (gid_t)-1) < 0 && errno != EPERM)
		return berth_error_set(err, errno, "terminal: chown to %u", (unsigned)uid);

	if (console) {
		int r = mount_console(slave, err);
		if (r < 0)
			return r;
	}

	for (int fd = 0; fd <= 2; fd++)
		if (slave != fd && dup2(slave, fd) < 0)
			return berth_error_set(err, errno, "terminal: dup to fd %d", fd);
	if (slave > 2)
		close(slave);
	else
		fd_set_cloexec(slave, false);
	return 0;
}

int terminal_send_to_socket(const char *path, int master, struct berth_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int dfd = -EBADF;

	if (strlen(path) < sizeof(sa.sun_path)) {
		memcpy(sa.sun_path, path, strlen(path) + 1);
	} else {
		/* too long for sun_path: go through an fd of its directory */
		const char *slash = strrchr(path, '/');
		_cleanup_free_ char *dir = slash ? strndup(path, (size_t)(slash - path)) : NULL;
		if (slash && !dir)
			return berth_error_set(err, ENOMEM, "console socket");
		dfd = open(dir && *dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return berth_error_set(err, errno, "console socket \"%s\"", path);
		int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd,
				 slash ? slash + 1 : path);
		if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
			return berth_error_setx(err, ENAMETOOLONG,
						"console socket \"%s\": name too long", path);
	}

	_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return berth_error_set(err, errno, "console socket \"%s\"", path);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return berth_error_set(err, errno, "console socket \"%s\": connect", path);

	static const char name[] = "/dev/ptmx";
	ssize_t k = fd_send(s, master, name, sizeof(name) - 1);
	if (k < 0)
		return berth_error_set(err, (int)-k, "console socket \"%s\": send the pty", path);
	return 0;
}

void terminal_size_from_caller(struct berth_process *p)
{
	struct winsize ws;
	if (p->has_console_size)
		return;
	for (int fd = STDIN_FILENO; fd <= STDOUT_FILENO; fd++)
		if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
		    ws.ws_col > 0) {
			p->has_console_size = true;
			p->console_height = ws.ws_row;
			p->console_width = ws.ws_col;
			return;
		}
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;
	if (from >= 0 && ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		(void)ioctl(to, TIOCSWINSZ, &ws);
}

/* Read what the pty has (non-blocking) and write it out. 0, or -EIO once nobody holds the slave. */
static int pump_master(int master, int out_fd)
{
	char buf[8192];
	for (;;) {
		ssize_t k = read(master, buf, sizeof(buf));
		if (k > 0) {
			(void)write_all(out_fd, buf, (size_t)k);
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return 0;
		return -EIO; /* 0 or EIO: every slave fd is closed */
	}
}

static int relay_loop(const struct terminal_relay *r, int tty_fd)
{
	char in[4096];
	size_t in_len = 0, in_off = 0;
	bool in_open = r->in_fd >= 0, master_open = true, eof_pending = false;

	for (;;) {
		struct pollfd p[4] = {
			{ .fd = in_open && in_len == 0 && !eof_pending ? r->in_fd : -1,
			  .events = POLLIN },
			{ .fd = master_open ? r->master : -1,
			  .events = (short)(POLLIN | (in_len > 0 || eof_pending ? POLLOUT : 0)) },
			{ .fd = r->pidfd, .events = POLLIN },
			{ .fd = r->sigfd, .events = POLLIN },
		};
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}

		if (p[3].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(r->sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGWINCH)
					copy_winsize(tty_fd, r->master);
				else if (r->pid > 0)
					kill(r->pid, (int)si.ssi_signo);
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (pump_master(r->master, r->out_fd) < 0)
				master_open = false;
		}
		if (master_open && (p[1].revents & POLLOUT)) {
			if (in_len > 0) {
				ssize_t k = write(r->master, in + in_off, in_len);
				if (k > 0) {
					in_off += (size_t)k;
					in_len -= (size_t)k;
				} else if (k < 0 && errno != EAGAIN && errno != EINTR) {
					in_len = 0;
				}
			} else if (eof_pending) {
				/* the slave is in canonical mode unless the program changed it */
				char eof = 4;
				if (write(r->master, &eof, 1) == 1 || errno != EAGAIN)
					eof_pending = false;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t k = read(r->in_fd, in, sizeof(in));
			if (k > 0) {
				in_off = 0;
				in_len = (size_t)k;
			} else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
				in_open = false;
				eof_pending = tty_fd != r->in_fd;
			}
		}
		if (p[2].revents & POLLIN) {
			/* gone: what it wrote last is already in the pty */
			if (master_open)
				pump_master(r->master, r->out_fd);
			return 0;
		}
	}
}

int terminal_relay(const struct terminal_relay *r, struct berth_error **err)
{
	int tty_fd = -1;
	if (r->in_fd >= 0 && isatty(r->in_fd))
		tty_fd = r->in_fd;
	else if (r->out_fd >= 0 && isatty(r->out_fd))
		tty_fd = r->out_fd;

	if (r->has_size) {
		struct winsize ws = { .ws_row = (unsigned short)r->rows,
				      .ws_col = (unsigned short)r->cols };
		(void)ioctl(r->master, TIOCSWINSZ, &ws);
	} else {
		copy_winsize(tty_fd, r->master);
	}

	int fl = fcntl(r->master, F_GETFL);
	if (fl < 0 || fcntl(r->master, F_SETFL, fl | O_NONBLOCK) < 0)
		return berth_error_set(err, errno, "terminal relay");

	struct termios saved;
	bool raw = false;
	if (tty_fd == r->in_fd && tty_fd >= 0 && tcgetattr(tty_fd, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		if (tcsetattr(tty_fd, TCSANOW, &t) < 0)
			return berth_error_set(err, errno, "terminal relay: raw mode");
		raw = true;
	}

	int r2 = relay_loop(r, tty_fd);

	if (raw)
		(void)tcsetattr(tty_fd, TCSANOW, &saved);
	if (r2 < 0)
		return berth_error_set(err, -r2, "terminal relay");
	return 0;
}

/*
 * fd (the host's /dev/null) becomes the container's /dev/null, with the same
 * access mode. The container may have put anything at that path, also while
 * we look (exec): what is opened is checked, not the path, and opening never
 * blocks (a FIFO) nor follows a symlink. Anything but the null device: the
 * host's stays.
 */
static void reopen_dev_null(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return;
	_cleanup_close_ int nfd = open("/dev/null", (fl & O_ACCMODE) | O_NOCTTY | O_NOFOLLOW |
							    O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (nfd < 0 || fstat(nfd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3) ||
	    fcntl(nfd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return;
	dup2(nfd, fd);
}

int terminal_own_stdio(uid_t uid, struct berth_error **err)
{
	for (int fd = 0; fd <= 2; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			if (errno == EBADF)
				continue;
			return berth_error_set(err, errno, "stdio: stat fd %d", fd);
		}
		/*
		 * Only pipes and sockets: they have no node anywhere. A device,
		 * a file or a pty (the caller's own terminal, for all berth can
		 * tell) stays the host's.
		 */
		if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) {
			/*
			 * The host's /dev/null is a file of a mount the container
			 * cannot see (CRIU refuses to dump it): the container's own
			 * /dev/null instead, as runc's init reopens it.
			 */
			reopen_dev_null(fd);
			continue;
		}
		if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
			continue;
		if (st.st_uid == uid)
			continue;
		/* EINVAL: uid unmapped in a user namespace; EPERM: the owner is: leave it */
		if (fchown(fd, uid, (gid_t)-1) < 0 && errno != EINVAL && errno != EPERM)
			return berth_error_set(err, errno, "stdio: chown fd %d to %u", fd,
					       (unsigned)uid);
	}
	return 0;
}
