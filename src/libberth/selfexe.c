/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CVE-2019-5736: make a berth process independent of its executable file,
 * so that nothing inside a container can reach the host's binary through
 * /proc/<pid>/exe. No re-exec: the running image is remapped in place from
 * a sealed copy. prepare() (the copy; in the berth parent) and apply() (the
 * remap; in the parent, or in a container init before it runs anything of
 * the container's) may run in different processes of one image.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
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

#define MAX_SEGMENTS BERTH_SELFEXE_MAX_SEGMENTS

/* "start-end perms offset maj:min inode" of a smaps mapping line; false for other lines. */
static bool parse_mapping(const char *line, struct berth_selfexe_segment *ret, dev_t *ret_dev,
			  unsigned long long *ret_ino)
{
	uintptr_t start, end;
	char perms[8];
	uint64_t off;
	unsigned int maj, min;
	unsigned long long inode;
	if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %" SCNx64 " %x:%x %llu", &start, &end,
		   perms, &off, &maj, &min, &inode) != 7)
		return false;
	*ret = (struct berth_selfexe_segment){
		.start = start,
		.end = end,
		.offset = off,
		.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			(perms[2] == 'x' ? PROT_EXEC : 0),
		/* writable private mappings may be written at any moment */
		.written = perms[1] == 'w',
	};
	*ret_dev = makedev(maj, min);
	*ret_ino = inode;
	return true;
}

/*
 * The mappings of the running executable, with whether any page was written.
 * They are found as the file mapped at the program's entry point (AT_ENTRY:
 * the executable's, also when this code is in libberth.so): the dev:ino that
 * /proc/self/smaps shows need not be what fstat(/proc/self/exe) says (a
 * btrfs subvolume, overlayfs on older kernels). -ENOENT if the entry point is
 * not in a file mapping.
 */
static int find_segments(struct berth_selfexe_segment *seg, size_t *ret_n)
{
	_cleanup_free_ char *smaps = NULL;
	int r = read_file_at(AT_FDCWD, "/proc/self/smaps", 1 << 24, &smaps, NULL);
	if (r < 0)
		return r;

	uintptr_t here = (uintptr_t)getauxval(AT_ENTRY);
	struct berth_selfexe_segment s;
	dev_t dev = 0, d;
	unsigned long long ino = 0, i;
	for (const char *line = smaps; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (parse_mapping(line, &s, &d, &i) && s.start <= here && here < s.end) {
			dev = d;
			ino = i;
			break;
		}
	if (ino == 0)
		return -ENOENT;

	size_t n = 0;
	struct berth_selfexe_segment *cur = NULL;
	for (char *line = smaps, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (parse_mapping(line, &s, &d, &i)) {
			cur = NULL;
			if (i != ino || d != dev)
				continue;
			if (n == MAX_SEGMENTS)
				return -E2BIG;
			cur = &seg[n++];
			*cur = s;
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
 * memcpy() of whole pages of berth's own image, word by word. In a sanitizer
 * build those pages also hold the redzones ASan puts between globals: they are
 * copied as they are, a read ASan must not check (nor its memcpy).
 */
__attribute__((no_sanitize("address"))) static void copy_image(void *dst, const void *src,
							       size_t len)
{
	volatile uintptr_t *d = dst;
	const volatile uintptr_t *s = src;
	for (size_t i = 0; i < len / sizeof(*d); i++)
		d[i] = s[i];
}

/*
 * Replace [start, end) with an anonymous copy of itself in one mremap(2):
 * the code running this may live in it, so there must be no moment where the
 * range is unmapped. Only stack variables are used between copy and move.
 */
static int remap_anonymous(const struct berth_selfexe_segment *s)
{
	size_t len = s->end - s->start;
	void *tmp = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tmp == MAP_FAILED)
		return -errno;
	copy_image(tmp, (const void *)s->start, len);
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

static bool detached;

int selfexe_prepare(struct berth_selfexe *x, struct berth_error **err)
{
	x->fd = -EBADF;
	x->n = 0;
	/* companion programs are looked up next to the real executable later on */
	(void)path_self_exe();

	_cleanup_close_ int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (exe < 0 || fstat(exe, &st) < 0)
		return berth_error_set(err, errno,
				       "protect the runtime binary: open /proc/self/exe");

	int r = find_segments(x->seg, &x->n);
	if (r == -ENOENT)
		return berth_error_setx(err, ENOENT,
					"protect the runtime binary: its entry point is not mapped "
					"from a file (/proc/self/smaps)");
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
	for (size_t i = 0; i < x->n; i++) {
		if (x->seg[i].written)
			continue;
		off_t off = (off_t)x->seg[i].offset;
		size_t want =
			MIN(x->seg[i].end - x->seg[i].start, (size_t)MAX(0, st.st_size - off));
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
	x->fd = TAKE_FD(mfd);
	return 0;
}

int selfexe_apply(const struct berth_selfexe *x, struct berth_error **err)
{
	int r;
	if (detached)
		return 0;
	for (size_t i = 0; i < x->n; i++) {
		const struct berth_selfexe_segment *s = &x->seg[i];
		if (s->written) {
			r = remap_anonymous(s);
		} else {
			void *p = mmap((void *)s->start, s->end - s->start, s->prot,
				       MAP_PRIVATE | MAP_FIXED, x->fd, (off_t)s->offset);
			r = p == MAP_FAILED ? -errno : 0;
		}
		if (r < 0)
			return berth_error_set(
				err, -r, "protect the runtime binary: remap %#" PRIxPTR, s->start);
	}

	struct prctl_mm_map m = { .exe_fd = (uint32_t)x->fd };
	r = read_mm_layout(&m);
	if (r < 0)
		return berth_error_set(err, -r, "protect the runtime binary: read /proc/self/stat");
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&m, sizeof(m), 0) < 0)
		return berth_error_set(
			err, errno,
			"protect the runtime binary: point /proc/self/exe at a sealed copy");
	detached = true;
	return 0;
}

bool selfexe_detached(void)
{
	return detached;
}

char *selfexe_encode(const struct berth_selfexe *x)
{
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	if (!f)
		return NULL;
	for (size_t i = 0; i < x->n; i++) {
		const struct berth_selfexe_segment *s = &x->seg[i];
		fprintf(f, "%" PRIxPTR " %" PRIxPTR " %" PRIx64 " %d %d\n", s->start, s->end,
			s->offset, s->prot, s->written ? 1 : 0);
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int selfexe_decode(const char *text, struct berth_selfexe *x)
{
	x->n = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		struct berth_selfexe_segment s;
		int written = 0;
		if (x->n == MAX_SEGMENTS)
			return -E2BIG;
		int used = 0;
		/* exactly encode()'s line: no blank line (sscanf would skip it), no junk after */
		if (*p == '\n' ||
		    sscanf(p, "%" SCNxPTR " %" SCNxPTR " %" SCNx64 " %d %d%n", &s.start, &s.end,
			   &s.offset, &s.prot, &written, &used) != 5 ||
		    (p[used] != '\n' && p[used] != 0) || s.end <= s.start)
			return -EBADMSG;
		s.written = written != 0;
		x->seg[x->n++] = s;
	}
	return x->n > 0 ? 0 : -EBADMSG;
}

int selfexe_detach(struct berth_error **err)
{
	if (detached)
		return 0;
	struct berth_selfexe x;
	int r = selfexe_prepare(&x, err);
	if (r >= 0)
		r = selfexe_apply(&x, err);
	closep(&x.fd);
	return r;
}
