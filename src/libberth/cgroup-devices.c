/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * linux.resources.devices: on cgroup v2 an eBPF BPF_PROG_TYPE_CGROUP_DEVICE
 * program assembled here (default deny, the rules evaluated so that the last
 * matching rule wins, per access bit) and attached to the container's cgroup;
 * on v1 the same rules written to devices.deny/devices.allow. Runs in the
 * berth process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "cgroup-devices.h"
#include "cgroup-fs.h"
#include "util/macro.h"

/* What every container gets after the spec's rules, as runc allows them. */
static const struct berth_res_device default_rules[] = {
	{ .allow = true, .type = 'c', .major = -1, .minor = -1, .mknod = true },
	{ .allow = true, .type = 'b', .major = -1, .minor = -1, .mknod = true },
	{ .allow = true,
	  .type = 'c',
	  .major = 1,
	  .minor = 3,
	  .read = true,
	  .write = true,
	  .mknod = true },
	{ .allow = true,
	  .type = 'c',
	  .major = 1,
	  .minor = 5,
	  .read = true,
	  .write = true,
	  .mknod = true },
	{ .allow = true,
	  .type = 'c',
	  .major = 1,
	  .minor = 7,
	  .read = true,
	  .write = true,
	  .mknod = true },
	{ .allow = true,
	  .type = 'c',
	  .major = 1,
	  .minor = 8,
	  .read = true,
	  .write = true,
	  .mknod = true },
	{ .allow = true,
	  .type = 'c',
	  .major = 1,
	  .minor = 9,
	  .read = true,
	  .write = true,
	  .mknod = true },
	{ .allow = true,
	  .type = 'c',
	  .major = 5,
	  .minor = 0,
	  .read = true,
	  .write = true,
	  .mknod = true },
	{ .allow = true,
	  .type = 'c',
	  .major = 5,
	  .minor = 2,
	  .read = true,
	  .write = true,
	  .mknod = true },
	{ .allow = true,
	  .type = 'c',
	  .major = 136,
	  .minor = -1,
	  .read = true,
	  .write = true,
	  .mknod = true },
};

int cgroup_devices_rules(const struct berth_res_device *spec, size_t n,
			 struct berth_res_device **ret, size_t *ret_n)
{
	size_t total = n + ELEMENTSOF(default_rules);
	struct berth_res_device *v = calloc(total, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		v[k++] = spec[i];
	for (size_t i = 0; i < ELEMENTSOF(default_rules); i++)
		v[k++] = default_rules[i];
	*ret = v;
	*ret_n = k;
	return 0;
}

/* ---- v1 ---- */

int cgroup_devices_v1(const char *dir, const struct berth_res_device *rules, size_t n,
		      struct berth_error **err)
{
	int r = cgroup_write(dir, "devices.deny", "a", err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct berth_res_device *d = &rules[i];
		char buf[64], maj[24], min[24], acc[4];
		size_t a = 0;
		if (d->read)
			acc[a++] = 'r';
		if (d->write)
			acc[a++] = 'w';
		if (d->mknod)
			acc[a++] = 'm';
		acc[a] = 0;
		if (a == 0)
			continue;
		if (d->major < 0)
			snprintf(maj, sizeof(maj), "*");
		else
			snprintf(maj, sizeof(maj), "%lld", (long long)d->major);
		if (d->minor < 0)
			snprintf(min, sizeof(min), "*");
		else
			snprintf(min, sizeof(min), "%lld", (long long)d->minor);
		if (d->type == 'a')
			snprintf(buf, sizeof(buf), "a");
		else
			snprintf(buf, sizeof(buf), "%c %s:%s %s", d->type, maj, min, acc);
		r = cgroup_write(dir, d->allow ? "devices.allow" : "devices.deny", buf, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- v2: the eBPF program ---- */

struct prog {
	struct bpf_insn *insn;
	size_t n, cap;
	int oom;
};

static size_t emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct bpf_insn *v = realloc(p->insn, cap * sizeof(*v));
		if (!v) {
			p->oom = 1;
			return p->n;
		}
		p->insn = v;
		p->cap = cap;
	}
	p->insn[p->n] = (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
	};
	return p->n++;
}

#define R0 BPF_REG_0
#define R1 BPF_REG_1
#define R2 BPF_REG_2
#define R3 BPF_REG_3
#define R4 BPF_REG_4
#define R5 BPF_REG_5

static void ret_imm(struct prog *p, int v)
{
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, v);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/*
 * The program: load the request (r2 device type, r3 access bits, r4 major,
 * r5 minor); for each access bit requested, walk the rules that cover the
 * bit from the last to the first: the first one matching decides (allow:
 * next bit; deny: return 0). No rule: deny. Every bit allowed: return 1.
 */
static int build(struct prog *p, const struct berth_res_device *rules, size_t n)
{
	static const int bits[] = { BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE };

	emit(p, BPF_LDX | BPF_W | BPF_MEM, R2, R1, 0, 0);
	emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R3, R2, 0, 0);
	emit(p, BPF_ALU64 | BPF_AND | BPF_K, R2, 0, 0, 0xffff);
	emit(p, BPF_ALU64 | BPF_RSH | BPF_K, R3, 0, 0, 16);
	emit(p, BPF_LDX | BPF_W | BPF_MEM, R4, R1, 4, 0);
	emit(p, BPF_LDX | BPF_W | BPF_MEM, R5, R1, 8, 0);

	_cleanup_free_ size_t *fix = calloc(n + 1, sizeof(size_t));
	if (!fix)
		return -ENOMEM;
	for (size_t b = 0; b < ELEMENTSOF(bits); b++) {
		size_t nfix = 0;
		bool decided = false;
		emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R1, R3, 0, 0);
		emit(p, BPF_ALU64 | BPF_AND | BPF_K, R1, 0, 0, bits[b]);
		fix[nfix++] = emit(p, BPF_JMP | BPF_JEQ | BPF_K, R1, 0, 0, 0);
		for (size_t i = n; i-- > 0;) {
			const struct berth_res_device *d = &rules[i];
			bool covers = (bits[b] == BPF_DEVCG_ACC_MKNOD && d->mknod) ||
				      (bits[b] == BPF_DEVCG_ACC_READ && d->read) ||
				      (bits[b] == BPF_DEVCG_ACC_WRITE && d->write);
			if (!covers)
				continue;
			int checks = (d->type != 'a') + (d->type != 'a' && d->major >= 0) +
				     (d->type != 'a' && d->minor >= 0);
			int body = d->allow ? 1 : 2;
			int left = checks;
			if (d->type != 'a') {
				left--;
				emit(p, BPF_JMP | BPF_JNE | BPF_K, R2, 0, (int16_t)(left + body),
				     d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
				if (d->major >= 0) {
					left--;
					emit(p, BPF_JMP | BPF_JNE | BPF_K, R4, 0,
					     (int16_t)(left + body), (int32_t)d->major);
				}
				if (d->minor >= 0) {
					left--;
					emit(p, BPF_JMP | BPF_JNE | BPF_K, R5, 0,
					     (int16_t)(left + body), (int32_t)d->minor);
				}
			}
			if (d->allow)
				fix[nfix++] = emit(p, BPF_JMP | BPF_JA, 0, 0, 0, 0);
			else
				ret_imm(p, 0);
			/* A rule matching every device decides: what follows would be unreachable. */
			if (checks == 0) {
				decided = true;
				break;
			}
		}
		if (!decided)
			ret_imm(p, 0);
		for (size_t k = 0; k < nfix && !p->oom; k++)
			p->insn[fix[k]].off = (int16_t)(p->n - fix[k] - 1);
	}
	ret_imm(p, 1);
	if (p->oom)
		return -ENOMEM;
	if (p->n > 32767)
		return -E2BIG;
	return 0;
}

int cgroup_devices_bpf(int dirfd, const struct berth_res_device *rules, size_t n,
		       struct berth_error **err)
{
	for (size_t i = 0; i < n; i++)
		if (rules[i].major > INT32_MAX || rules[i].minor > INT32_MAX)
			return berth_error_setx(
				err, EINVAL, "cgroup: device rule %lld:%lld is out of range",
				(long long)rules[i].major, (long long)rules[i].minor);
	struct prog p = { 0 };
	int r = build(&p, rules, n);
	if (r < 0) {
		free(p.insn);
		return berth_error_set(err, -r, "cgroup: device program");
	}
	static char log[4096];
	union bpf_attr load = { 0 };
	load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	load.insns = (uint64_t)(uintptr_t)p.insn;
	load.insn_cnt = (uint32_t)p.n;
	load.license = (uint64_t)(uintptr_t) "GPL";
	load.log_buf = (uint64_t)(uintptr_t)log;
	load.log_size = sizeof(log);
	load.log_level = 1;
	log[0] = 0;
	int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
	if (fd < 0 && errno == ENOSPC) {
		/* the verifier log did not fit; load again without it */
		load.log_buf = 0;
		load.log_size = 0;
		load.log_level = 0;
		fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
	}
	free(p.insn);
	if (fd < 0) {
		char *nl = strchr(log, '\n');
		if (nl)
			*nl = 0;
		return berth_error_set(err, errno, "cgroup: load the device eBPF program%s%s",
				       *log ? ": " : "", log);
	}
	union bpf_attr att = { 0 };
	att.target_fd = (uint32_t)dirfd;
	att.attach_bpf_fd = (uint32_t)fd;
	att.attach_type = BPF_CGROUP_DEVICE;
	att.attach_flags = BPF_F_ALLOW_MULTI;
	r = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &att, sizeof(att));
	int saved = errno;
	close(fd);
	if (r < 0)
		return berth_error_set(err, saved, "cgroup: attach the device eBPF program");
	return 0;
}
