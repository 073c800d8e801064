/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CVE-2019-5736: make berth independent of its executable file before it
 * clones a container init, so that nothing inside a container can reach the
 * host's binary through /proc/<pid>/exe. No re-exec: the running image is
 * remapped in place. Runs in the berth parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/prctl.h>

#include "selfexe.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define MAX_SEGMENTS 16

struct segment {
	uintptr_t start, end;
	uint64_t offset;
	int prot;
	bool written; /* has anonymous (copied-on-write) pages: copy from memory */
};

/* The mappings of the executable (dev, ino), with whether any page was written. */
static int find_segments(dev_t dev, ino_t ino, struct segment *seg, size_t *ret_n)
{
	_cleanup_free_ char *smaps = NULL;
	int r = read_file_at(AT_FDCWD, "/proc/self/smaps", 1 << 24, &smaps, NULL);
	if (r < 0)
		return r;

	size_t n = 0;
	struct segment *cur = NULL;
	for (char *line = smaps, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;

		uintptr_t start, end;
		char perms[8];
		uint64_t off;
		unsigned int maj, min;
		unsigned long long inode;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %" SCNx64 " %x:%x %llu", &start,
			   &end, perms, &off, &maj, &min, &inode) == 7) {
			cur = NULL;
			if (inode != (unsigned long long)ino || makedev(maj, min) != dev)
				continue;
			if (n == MAX_SEGMENTS)
				return -E2BIG;
			cur = &seg[n++];
			*cur = (struct segment){
				.start = start,
				.end = end,
				.offset = off,
				.prot = (perms[0] == 'r' ? PROT_READ : 0) |
					(perms[1] == 'w' ? PROT_WRITE : 0) |
					(perms[2] == 'x' ? PROT_EXEC : 0),
				/* writable private mappings may be written at any moment */
				.written = perms[1] == 'w',
			};
			continue;
		}
		unsigned long kb;
		if (cur && sscanf(line, "Anonymous: %lu kB", &kb) == 1 && kb > 0)
			cur->written = true;
	}
	*ret_n = n;
	return 0;
}

/*
 * Replace [start, end) with an anonymous copy of itself in one mremap(2):
 * the code running this may live in it, so there must be no moment where the
 * range is unmapped. Only stack variables are used between copy and move.
 */
static int remap_anonymous(const struct segment *s)
{
	size_t len = s->end - s->start;
	void *tmp = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tmp == MAP_FAILED)
		return -errno;
	memcpy(tmp, (const void *)s->start, len);
	if (mprotect(tmp, len, s->prot) < 0 ||
	    mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)s->start) == MAP_FAILED) {
		int e = errno;
		munmap(tmp, len);
		return -e;
	}
	return 0;
}

/* /proc/self/stat fields 26-28 and 45-51: the layout PR_SET_MM_MAP must be given back. */
static int read_mm_layout(struct prctl_mm_map *m)
{
	char buf[4096];
	_cleanup_close_ int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t k = read(fd, buf, sizeof(buf) - 1);
	if (k <= 0)
		return -EIO;
	buf[k] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p += 2; /* field 3 */
	uint64_t f[53] = { 0 };
	for (int i = 3; i <= 52 && p && *p; i++) {
		f[i] = strtoull(p, NULL, 10);
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	m->start_code = f[26];
	m->end_code = f[27];
	m->start_stack = f[28];
	m->start_data = f[45];
	m->end_data = f[46];
	m->start_brk = f[47];
	m->arg_start = f[48];
	m->arg_end = f[49];
	m->env_start = f[50];
	m->env_end = f[51];
	m->brk = (uint64_t)syscall(SYS_brk, 0);
	if (!m->start_code || !m->end_code || !m->start_stack)
		return -EIO;
	return 0;
}

int berth_selfexe_detach(struct berth_error **err)
{
	static bool done;
	if (done)
		return 0;
	/* companion programs are looked up next to the real executable later on */
	(void)path_self_exe();

	_cleanup_close_ int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (exe < 0 || fstat(exe, &st) < 0)
		return berth_error_set(err, errno,
				       "protect the runtime binary: open /proc/self/exe");

	struct segment seg[MAX_SEGMENTS];
	size_t n = 0;
	int r = find_segments(st.st_dev, st.st_ino, seg, &n);
	if (r < 0)
		return berth_error_set(err, -r,
				       "protect the runtime binary: read /proc/self/smaps");

	/* A sparse copy: only the ranges that are mapped, at their file offsets. */
	_cleanup_close_ int mfd =
		(int)syscall(SYS_memfd_create, "berth", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (mfd < 0 && errno == EINVAL)
		mfd = (int)syscall(SYS_memfd_create, "berth", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return berth_error_set(err, errno, "protect the runtime binary: memfd_create");
	if (ftruncate(mfd, st.st_size) < 0)
		return berth_error_set(err, errno, "protect the runtime binary: size the copy");
	for (size_t i = 0; i < n; i++) {
		if (seg[i].written)
			continue;
		off_t off = (off_t)seg[i].offset;
		size_t want = MIN(seg[i].end - seg[i].start, (size_t)MAX(0, st.st_size - off));
		if (lseek(mfd, off, SEEK_SET) < 0)
			return berth_error_set(err, errno, "protect the runtime binary: copy");
		while (want > 0) {
			ssize_t k = sendfile(mfd, exe, &off, want);
			if (k <= 0)
				return berth_error_set(err, k < 0 ? errno : EIO,
						       "protect the runtime binary: copy");
			want -= (size_t)k;
		}
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return berth_error_set(err, errno, "protect the runtime binary: seal the copy");

	for (size_t i = 0; i < n; i++) {
		const struct segment *s = &seg[i];
		if (s->written) {
			r = remap_anonymous(s);
		} else {
			void *p = mmap((void *)s->start, s->end - s->start, s->prot,
				       MAP_PRIVATE | MAP_FIXED, mfd, (off_t)s->offset);
			r = p == MAP_FAILED ? -errno : 0;
		}
		if (r < 0)
			return berth_error_set(
				err, -r, "protect the runtime binary: remap %#" PRIxPTR, s->start);
	}

	struct prctl_mm_map m = { .exe_fd = (uint32_t)mfd };
	r = read_mm_layout(&m);
	if (r < 0)
		return berth_error_set(err, -r, "protect the runtime binary: read /proc/self/stat");
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&m, sizeof(m), 0) < 0)
		return berth_error_set(
			err, errno,
			"protect the runtime binary: point /proc/self/exe at a sealed copy");
	done = true;
	return 0;
}
