// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The compiled-program cache: <root>/.seccomp-cache/<sha256>.bpf, keyed by
 * the linux.seccomp text and what the program depends on, written and read
 * back only by the effective user. berth_seccomp_prepare goes through it to
 * the parser and compiler. Runs in the parent (berth create/exec).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <seccomp.h>

#include "berth/berth.h"
#include "seccomp-internal.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/sha256.h"

#define CACHE_MAGIC	   "BRTHSC01"
#define STR_(x)		   #x
#define STR(x)		   STR_(x)
#define LIBSECCOMP_VERSION STR(SCMP_VER_MAJOR) "." STR(SCMP_VER_MINOR) "." STR(SCMP_VER_MICRO)

/*
 * Everything the compiled program depends on: the section, berth's own
 * version (the preamble, the file format), libseccomp's version (linked
 * statically, so its header's), the kernel (actions and flags it accepted)
 * and the machine (the native architecture).
 */
void berth_seccomp_cache_key(const char *json, uint8_t ret[32])
{
	struct utsname u;
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	struct sha256 s;
	sha256_init(&s);
	const char *parts[] = { CACHE_MAGIC, BERTH_VERSION, LIBSECCOMP_VERSION,
				u.release,   u.machine,	    json };
	for (size_t i = 0; i < ELEMENTSOF(parts); i++)
		sha256_update(&s, parts[i], strlen(parts[i]) + 1); /* with the NUL: no ambiguity */
	sha256_final(&s, ret);
}

struct cache_header {
	char magic[8];
	uint8_t key[32];
	uint32_t flags, notify, n_insns, warn_len;
};

static void hex(const uint8_t *h, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

/* Layout: header, warnings ("\n"-separated), instructions, SHA-256 of all that. */
static int cache_store(int dfd, const char *name, const uint8_t key[32],
		       const struct berth_seccomp *f)
{
	size_t wlen = 0;
	for (size_t i = 0; i < f->n_warnings; i++)
		wlen += strlen(f->warnings[i]) + 1;
	size_t ilen = f->n_insns * sizeof(struct sock_filter);
	size_t total = sizeof(struct cache_header) + wlen + ilen + 32;
	_cleanup_free_ uint8_t *buf = calloc(1, total);
	if (!buf)
		return -ENOMEM;
	struct cache_header h = { .flags = (uint32_t)f->flags,
				  .notify = f->notify,
				  .n_insns = (uint32_t)f->n_insns,
				  .warn_len = (uint32_t)wlen };
	memcpy(h.magic, CACHE_MAGIC, 8);
	memcpy(h.key, key, 32);
	memcpy(buf, &h, sizeof(h));
	uint8_t *p = buf + sizeof(h);
	for (size_t i = 0; i < f->n_warnings; i++) {
		size_t l = strlen(f->warnings[i]);
		memcpy(p, f->warnings[i], l);
		p[l] = '\n';
		p += l + 1;
	}
	memcpy(p, f->insns, ilen);
	p += ilen;
	sha256(buf, (size_t)(p - buf), p);
	return write_file_atomic_at(dfd, name, buf, total, 0600);
}

/* Returns 1 and the filter on a valid hit, 0 on a miss or any doubt. */
static int cache_lookup(int dfd, const char *name, const uint8_t key[32],
			struct berth_seccomp **ret)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	char why[128];
	/* the checksum only catches damage: who wrote the file is what makes it ours */
	if (read_trusted_file_at(dfd, name,
				 (BPF_MAXINSNS + 1) * sizeof(struct sock_filter) + (1u << 20),
				 &data, &len, why, sizeof(why)) < 0)
		return 0;
	struct cache_header h;
	if (len < sizeof(h) + 32)
		return 0;
	memcpy(&h, data, sizeof(h));
	if (memcmp(h.magic, CACHE_MAGIC, 8) != 0 || memcmp(h.key, key, 32) != 0 || h.n_insns == 0 ||
	    h.n_insns > BPF_MAXINSNS || h.warn_len > len ||
	    len != sizeof(h) + h.warn_len + h.n_insns * sizeof(struct sock_filter) + 32)
		return 0;
	uint8_t sum[32];
	sha256(data, len - 32, sum);
	if (memcmp(sum, data + len - 32, 32) != 0)
		return 0;

	_cleanup_(berth_seccomp_freep) struct berth_seccomp *f = calloc(1, sizeof(*f));
	if (!f)
		return 0;
	f->flags = h.flags;
	f->notify = h.notify;
	f->from_cache = true;
	f->n_insns = h.n_insns;
	f->insns = malloc(h.n_insns * sizeof(struct sock_filter));
	if (!f->insns)
		return 0;
	memcpy(f->insns, data + sizeof(h) + h.warn_len, h.n_insns * sizeof(struct sock_filter));
	char *w = data + sizeof(h), *wend = w + h.warn_len;
	while (w < wend) {
		char *nl = memchr(w, '\n', (size_t)(wend - w));
		if (!nl)
			return 0;
		*nl = 0;
		if (berth_seccomp_add_warning(f, w) < 0)
			return 0;
		w = nl + 1;
	}
	*ret = TAKE_PTR(f);
	return 1;
}

/*
 * An O_PATH fd of the cache dir, made 0700 (and its parent, the state root,
 * too) with create; -1 when it is missing or could hold a program someone
 * else wrote: the dir and its parent must be owned by the effective user and
 * not writable by group or others. Such a cache is not used at all.
 */
static int open_cache_dir(const char *dir, bool create)
{
	_cleanup_free_ char *parent = strdup(dir);
	char *slash = parent ? strrchr(parent, '/') : NULL;
	if (!slash || slash == parent || !slash[1])
		return -1;
	*slash = 0;
	const char *base = slash + 1;
	char why[128];

	_cleanup_close_ int pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0 && errno == ENOENT && create && mkdir(parent, 0700) == 0)
		pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0 || fd_check_trusted(pfd, S_IWGRP | S_IWOTH, why, sizeof(why)) < 0)
		return -1;
	_cleanup_close_ int fd = openat(pfd, base, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create && mkdirat(pfd, base, 0700) == 0)
		fd = openat(pfd, base, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fd_check_trusted(fd, S_IWGRP | S_IWOTH, why, sizeof(why)) < 0)
		return -1;
	return TAKE_FD(fd);
}

int berth_seccomp_prepare(const char *json, const char *cache_dir, struct berth_seccomp **ret,
			  struct berth_error **err)
{
	const char *env = getenv("BERTH_SECCOMP_CACHE");
	if (env && streq(env, "0"))
		cache_dir = NULL;

	uint8_t key[32];
	char name[2 * 32 + 8] = "";
	_cleanup_close_ int dfd = -EBADF;
	if (cache_dir) {
		berth_seccomp_cache_key(json, key);
		hex(key, 32, name);
		strcat(name, ".bpf");
		dfd = open_cache_dir(cache_dir, false);
		if (dfd >= 0 && cache_lookup(dfd, name, key, ret) == 1)
			return 0;
	}

	_cleanup_(berth_seccomp_config_freep) struct berth_seccomp_config *c = NULL;
	int r = berth_seccomp_parse(json, &c, err);
	if (r < 0)
		return r;
	_cleanup_(berth_seccomp_freep) struct berth_seccomp *f = NULL;
	r = berth_seccomp_compile(c, &f, err);
	if (r < 0)
		return r;
	if (cache_dir) {
		if (dfd < 0)
			dfd = open_cache_dir(cache_dir, true);
		if (dfd >= 0)
			(void)cache_store(dfd, name, key,
					  f); /* a cache we cannot write only costs time */
	}
	*ret = TAKE_PTR(f);
	return 0;
}
