// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * berth-test-hookprobe: report the privileges a process runs with, for the
 * hook integration tests. Linked statically so it runs in a busybox rootfs
 * (as a startContainer hook or as the container's program) and on the host.
 * usage: berth-test-hookprobe OUTFILE
 * Writes to OUTFILE (created 0644, "-" for stdout):
 *   open_by_handle_at=ok|<errno number>   (reading "/" through a file handle)
 *   the Uid, Gid, Groups, CapInh, CapPrm, CapEff, CapBnd, CapAmb, NoNewPrivs,
 *   Seccomp and Seccomp_filters lines of /proc/self/status
 *   fds=<open fds but the one used to list them, sorted, comma separated>
 * Exits 0 when it could report, 1 otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const status_keys[] = {
	"Uid:",	   "Gid:",    "Groups:",     "CapInh:",	 "CapPrm:",	     "CapEff:",
	"CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:", "Seccomp_filters:",
};

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void by_handle(FILE *out)
{
	struct {
		struct file_handle fh;
		unsigned char space[MAX_HANDLE_SZ];
	} h = { .fh.handle_bytes = MAX_HANDLE_SZ };
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, "/", &h.fh, &mount_id, 0) < 0) {
		fprintf(out, "name_to_handle_at=%d\n", errno);
		return;
	}
	int fd = open_by_handle_at(AT_FDCWD, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(out, "open_by_handle_at=%d\n", errno);
		return;
	}
	close(fd);
	fprintf(out, "open_by_handle_at=ok\n");
}

static void status(FILE *out)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[1024];

	if (!f) {
		fprintf(out, "status=%d\n", errno);
		return;
	}
	while (fgets(line, sizeof(line), f))
		for (size_t i = 0; i < sizeof(status_keys) / sizeof(status_keys[0]); i++)
			if (strncmp(line, status_keys[i], strlen(status_keys[i])) == 0)
				fputs(line, out);
	fclose(f);
}

static void fds(FILE *out, int out_fd)
{
	DIR *d = opendir("/proc/self/fd");
	int list[1024];
	size_t n = 0;
	struct dirent *de;

	if (!d) {
		fprintf(out, "fds=error %d\n", errno);
		return;
	}
	while ((de = readdir(d)) && n < sizeof(list) / sizeof(list[0])) {
		if (de->d_name[0] == '.')
			continue;
		int fd = atoi(de->d_name);
		if (fd != dirfd(d) && fd != out_fd)
			list[n++] = fd;
	}
	closedir(d);
	qsort(list, n, sizeof(int), cmp_int);
	fprintf(out, "fds=");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%d", i ? "," : "", list[i]);
	fprintf(out, "\n");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTFILE\n", argv[0]);
		return 1;
	}
	int out_fd = STDOUT_FILENO;
	FILE *out = stdout;
	if (strcmp(argv[1], "-") != 0) {
		out_fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out_fd < 0 || !(out = fdopen(out_fd, "w"))) {
			perror(argv[1]);
			return 1;
		}
	}
	/* before anything else is opened: what the process was given */
	fds(out, out == stdout ? -1 : out_fd);
	by_handle(out);
	status(out);
	return fclose(out) == 0 ? 0 : 1;
}
