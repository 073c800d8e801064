// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The ENOSYS preamble: hand-written classic BPF put in front of libseccomp's
 * program, so that syscalls newer than the profile fail with ENOSYS (and
 * callers fall back) rather than the default errno. Pure computation, called
 * by the compiler in the parent (berth create/exec).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <linux/audit.h>
#include <linux/seccomp.h>

#include "seccomp-filter.h"
#include "util/macro.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

#define STMT(c, k)	 ((struct sock_filter)BPF_STMT((c), (k)))
#define JUMP(c, k, t, f) ((struct sock_filter)BPF_JUMP((c), (k), (t), (f)))
#define OFF_NR		 offsetof(struct seccomp_data, nr)
#define OFF_ARCH	 offsetof(struct seccomp_data, arch)

/*
 * Per architecture (in the order first seen):
 *	jeq #arch, 0, <next block>
 *	ld [nr]
 *	for x86_64 only: jset #X32_BIT, <x32 part>, 0
 *	jgt #max, 0, 1 ; ret ERRNO(ENOSYS) ; ja <end>
 *	x32 part: the same with the x32 limit (or straight to <end>)
 * The next block is entered with the arch still in A; <end> is the first
 * instruction of the program that follows, which reloads what it needs.
 * Conditional jumps are 8 bits: each block is at most 9 instructions.
 */
int berth_seccomp_enosys_preamble(const struct berth_seccomp_nr_limit *l, size_t n,
				  struct sock_filter **ret, size_t *ret_n)
{
	struct sock_filter *out = calloc(1 + n * 10, sizeof(*out));
	if (!out)
		return -ENOMEM;
	size_t k = 0;
	/* indexes of the "ja <end>" instructions, patched at the end */
	_cleanup_free_ size_t *ends = calloc(2 * n + 1, sizeof(size_t));
	if (!ends) {
		free(out);
		return -ENOMEM;
	}
	size_t n_ends = 0;
	_cleanup_free_ bool *done = calloc(n + 1, sizeof(bool));
	if (!done) {
		free(out);
		return -ENOMEM;
	}

	if (n > 0)
		out[k++] = STMT(BPF_LD | BPF_W | BPF_ABS, OFF_ARCH);
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		uint32_t arch = l[i].audit_arch;
		const struct berth_seccomp_nr_limit *main_l = NULL, *x32_l = NULL;
		for (size_t j = i; j < n; j++) {
			if (l[j].audit_arch != arch)
				continue;
			done[j] = true;
			if (l[j].x32)
				x32_l = x32_l && x32_l->max_nr > l[j].max_nr ? x32_l : &l[j];
			else
				main_l = main_l && main_l->max_nr > l[j].max_nr ? main_l : &l[j];
		}
		bool split = arch == AUDIT_ARCH_X86_64;
		size_t head = k;
		out[k++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 0); /* jf patched below */
		out[k++] = STMT(BPF_LD | BPF_W | BPF_ABS, OFF_NR);
		size_t jset = k;
		if (split)
			out[k++] = JUMP(BPF_JMP | BPF_JSET | BPF_K, __X32_SYSCALL_BIT, 0, 0);
		if (main_l) {
			out[k++] = JUMP(BPF_JMP | BPF_JGT | BPF_K, main_l->max_nr, 0, 1);
			out[k++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
		}
		ends[n_ends++] = k;
		out[k++] = STMT(BPF_JMP | BPF_JA, 0);
		if (split) {
			out[jset].jt = (uint8_t)(k - jset - 1);
			if (x32_l) {
				out[k++] = JUMP(BPF_JMP | BPF_JGT | BPF_K, x32_l->max_nr, 0, 1);
				out[k++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
			}
			ends[n_ends++] = k;
			out[k++] = STMT(BPF_JMP | BPF_JA, 0);
		}
		out[head].jf = (uint8_t)(k - head - 1);
	}
	for (size_t i = 0; i < n_ends; i++)
		out[ends[i]].k = (uint32_t)(k - ends[i] - 1);
	*ret = out;
	*ret_n = k;
	return 0;
}
