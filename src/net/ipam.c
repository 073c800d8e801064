/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IPAM of berth-net: owns the lease files, the subnet and gateway of each
 * family and which address a container gets on a bridge. Runs in the
 * berth-net process, in the host's network namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "ipam.h"

/*
 * <leases>/<bridge>.leases holds one "<address> <id> <host_if>" line per
 * address; this helper is its only writer. Every read and write happens under
 * the flock of <leases>/lock, and a write replaces the file whole (a temporary
 * file renamed over it), so a crash of this helper leaves the old file or the
 * new one. A lease is held from create to delete: while its container's state
 * dir <leases>/../<id> exists or its host end does (a namespace someone still
 * holds), whatever became of the init. The dir and the file are read only if
 * this uid could have written them and nobody else could have.
 */
#define LEASE_FILE_MAX (1u << 20)

/* For __attribute__((cleanup)): what a request held is freed (LeakSanitizer counts it). */
void ipam_leases_free(struct leases *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool trusted(const struct stat *st)
{
	return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

bool ipam_id_is_valid(const char *s)
{
	for (const char *p = s; *p; p++) {
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9');
		if (!alnum && (p == s || !strchr("_.+-", *p)))
			return false;
	}
	return *s && strlen(s) <= ID_MAX;
}

/* One line into e; false if it is not one berth-net could have written. */
static bool lease_parse(const char *line, struct lease *e)
{
	char rest;
	unsigned char a[16];
	if (sscanf(line, "%45s %1024s %15s %c", e->addr, e->id, e->host_if, &rest) != 3)
		return false;
	return (inet_pton(AF_INET, e->addr, a) == 1 || inet_pton(AF_INET6, e->addr, a) == 1) &&
	       ipam_id_is_valid(e->id) && !strncmp(e->host_if, "bv", 2);
}

static int leases_read(struct leases *l)
{
	int fd = openat(l->dirfd, l->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 && errno == ELOOP)
		return errmsg_setx(-EPERM, "lease file \"%s/%s\" is a symbolic link: refusing it",
				   l->dir, l->name);
	if (fd < 0)
		return errmsg_set(-errno, "lease file \"%s/%s\"", l->dir, l->name);
	/* fds stay open until exit: this process does one request */
	struct stat st;
	if (fstat(fd, &st) < 0)
		return errmsg_set(-errno, "lease file \"%s/%s\"", l->dir, l->name);
	if (!S_ISREG(st.st_mode) || !trusted(&st) || st.st_size > LEASE_FILE_MAX)
		return errmsg_setx(
			-EPERM,
			"lease file \"%s/%s\" is not a regular file of uid %u that only it "
			"can write: refusing it",
			l->dir, l->name, (unsigned)geteuid());
	char *text = calloc(1, (size_t)st.st_size + 1);
	if (!text)
		return -ENOMEM;
	if (st.st_size && pread(fd, text, (size_t)st.st_size, 0) != st.st_size) {
		free(text);
		return errmsg_set(-EIO, "read \"%s/%s\"", l->dir, l->name);
	}
	size_t lines = 1;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	l->v = calloc(lines, sizeof(*l->v));
	if (!l->v) {
		free(text);
		return -ENOMEM;
	}
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line && l->n < lines;
	     line = strtok_r(NULL, "\n", &save))
		if (lease_parse(line, &l->v[l->n]))
			l->n++;
	free(text);
	return 0;
}

int ipam_leases_open(const char *dir, const char *bridge, struct leases *l)
{
	struct stat st;
	*l = (struct leases){ .dirfd = -1, .rootfd = -1, .lockfd = -1, .dir = dir };
	snprintf(l->name, sizeof(l->name), "%s.leases", bridge);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return errmsg_set(-errno, "lease dir \"%s\"", dir);
	l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (l->dirfd < 0)
		return errmsg_set(-errno, "lease dir \"%s\"", dir);
	if (fstat(l->dirfd, &st) < 0)
		return errmsg_set(-errno, "lease dir \"%s\"", dir);
	if (!trusted(&st))
		return errmsg_setx(
			-EPERM,
			"lease dir \"%s\" is not owned by uid %u or is writable by others: "
			"refusing it",
			dir, (unsigned)geteuid());
	l->rootfd = openat(l->dirfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	l->lockfd = openat(l->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (l->rootfd < 0 || l->lockfd < 0)
		return errmsg_set(-errno, "lease dir \"%s\"", dir);
	if (flock(l->lockfd, LOCK_EX) < 0)
		return errmsg_set(-errno, "lock \"%s/lock\"", dir);
	return leases_read(l);
}

int ipam_leases_save(struct leases *l)
{
	char tmp[sizeof(l->name) + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", l->name);
	if (l->n == 0) {
		if (unlinkat(l->dirfd, l->name, 0) < 0 && errno != ENOENT)
			return errmsg_set(-errno, "remove \"%s/%s\"", l->dir, l->name);
		return 0;
	}
	size_t o = 0;
	char *out = NULL;
	FILE *f = open_memstream(&out, &o);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%s %s %s\n", l->v[i].addr, l->v[i].id, l->v[i].host_if);
	if (fclose(f) != 0 || !out) {
		free(out);
		return -ENOMEM;
	}
	(void)unlinkat(l->dirfd, tmp, 0); /* left by a crash: we hold the lock */
	int fd = openat(l->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r = fd < 0 ? -errno : 0;
	if (r == 0 && write(fd, out, o) != (ssize_t)o)
		r = errno ? -errno : -EIO;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(l->dirfd, tmp, l->dirfd, l->name) < 0)
		r = -errno;
	free(out);
	if (r < 0) {
		(void)unlinkat(l->dirfd, tmp, 0);
		return errmsg_set(r, "write \"%s/%s\"", l->dir, l->name);
	}
	return 0;
}

bool ipam_lease_live(struct nl *n, const struct leases *l, const struct lease *e)
{
	struct stat st;
	if (fstatat(l->rootfd, e->id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		return true;
	return nl_link_index(n, e->host_if) > 0;
}

/* The live holder of address a other than container id (host end host_if), or NULL. */
static const char *lease_holder(struct nl *n, const struct leases *l, const char *id,
				const char *host_if, const char *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].addr, a) && strcmp(l->v[i].id, id) != 0 &&
		    strcmp(l->v[i].host_if, host_if) != 0 && ipam_lease_live(n, l, &l->v[i]))
			return l->v[i].id;
	return NULL;
}

void ipam_leases_drop(struct leases *l, const char *id, const char *host_if, const char *a)
{
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct lease *e = &l->v[i];
		if ((id && !strcmp(e->id, id)) || (host_if && !strcmp(e->host_if, host_if)) ||
		    (a && !strcmp(e->addr, a)))
			continue;
		l->v[k++] = *e;
	}
	l->n = k;
}

/* Any other line of a goes: ipam_pick_address found its holder dead. */
int ipam_lease_take(struct leases *l, const char *id, const char *host_if, const char *a)
{
	ipam_leases_drop(l, NULL, NULL, a);
	struct lease *v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	struct lease *e = &v[l->n++];
	snprintf(e->addr, sizeof(e->addr), "%s", a);
	snprintf(e->id, sizeof(e->id), "%s", id);
	snprintf(e->host_if, sizeof(e->host_if), "%s", host_if);
	return 0;
}

int ipam_pick_address(struct nl *n, const struct leases *l, const char *id, const char *host_if,
		      struct family_plan *p)
{
	const char *key = p->key, *asked = p->address;
	const struct cidr *net = &p->net, *gw = &p->gw;
	struct cidr *ret = &p->addr;
	char buf[INET6_ADDRSTRLEN];
	const char *holder;
	if (asked) {
		struct cidr a;
		if (cidr_parse(asked, net->family, false, &a) < 0)
			return errmsg_setx(-EINVAL, "%s \"%s\" is not a valid address", key, asked);
		if (a.prefix < 0)
			a.prefix = net->prefix;
		if (!cidr_contains(net, &a))
			return errmsg_setx(-EINVAL, "%s \"%s\" is outside the bridge's subnet", key,
					   asked);
		if (!memcmp(a.addr, gw->addr, 16))
			return errmsg_setx(-EADDRINUSE, "%s \"%s\" is the gateway's", key, asked);
		cidr_format(&a, buf);
		if ((holder = lease_holder(n, l, id, host_if, buf)))
			return errmsg_setx(-EADDRINUSE,
					   "%s \"%s\" is already in use by container \"%s\"", key,
					   buf, holder);
		*ret = a;
		return 0;
	}
	int hostbits = (net->family == AF_INET ? 32 : 128) - net->prefix;
	uint64_t last = hostbits >= 24 ? (1u << 24) : ((uint64_t)1 << hostbits) - 1;
	for (uint64_t i = 1; i < last; i++) {
		struct cidr c;
		if (!cidr_nth(net, i, &c))
			break;
		if (!memcmp(c.addr, gw->addr, 16))
			continue;
		cidr_format(&c, buf);
		if (lease_holder(n, l, id, host_if, buf))
			continue;
		*ret = c;
		return 0;
	}
	return errmsg_setx(-ENOSPC, "no free address left in the bridge's subnet");
}

int ipam_family_resolve(struct nl *n, int family, int bridge_index, struct family_plan *p,
			bool *ret_add_gw)
{
	struct cidr have = { 0 };
	int r;
	*ret_add_gw = false;
	if (bridge_index > 0) {
		r = nl_addr_first(n, bridge_index, family, &have);
		if (r < 0)
			return errmsg_set(r, "read the bridge's addresses");
	}
	const char *k6 = family == AF_INET6 ? "6" : "";
	if (p->subnet) {
		if (cidr_parse(p->subnet, family, true, &p->net) < 0)
			return errmsg_setx(-EINVAL, "subnet%s \"%s\" is not a valid CIDR", k6,
					   p->subnet);
		cidr_mask(&p->net, p->net.prefix);
	} else if (have.family) {
		p->net = have;
		cidr_mask(&p->net, p->net.prefix);
	} else if (family == AF_INET) {
		cidr_parse("10.88.0.0/16", AF_INET, true, &p->net);
	} else if (p->address) {
		if (cidr_parse(p->address, family, true, &p->net) < 0)
			return errmsg_setx(-EINVAL,
					   "address6 \"%s\" needs a prefix length or subnet6",
					   p->address);
		cidr_mask(&p->net, p->net.prefix);
	}
	if (p->gateway) {
		if (cidr_parse(p->gateway, family, false, &p->gw) < 0)
			return errmsg_setx(-EINVAL, "gateway%s \"%s\" is not a valid address", k6,
					   p->gateway);
		p->gw.prefix = p->net.prefix;
	} else if (have.family) {
		p->gw = have;
	} else {
		cidr_nth(&p->net, 1, &p->gw);
	}
	p->gw.prefix = p->net.prefix;
	if (!cidr_contains(&p->net, &p->gw))
		return errmsg_setx(-EINVAL, "gateway%s is outside the subnet", k6);
	*ret_add_gw = !have.family;
	return 0;
}
