/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Address arithmetic of berth-net: owns struct cidr and what is computed on
 * it (parse, mask, contains, n-th address), for the netlink, IPAM and
 * nftables code of the helper. Runs in the berth-net process; no I/O.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

int cidr_parse(const char *s, int family, bool need_prefix, struct cidr *ret)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	char *slash = strchr(buf, '/');
	int max = family == AF_INET ? 32 : 128;
	ret->prefix = -1;
	if (slash) {
		*slash = 0;
		/* digits only: strtol alone would take "+8" and " 8" */
		if (strspn(slash + 1, "0123456789") != strlen(slash + 1))
			return -EINVAL;
		char *end;
		long p = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || p < 0 || p > max)
			return -EINVAL;
		ret->prefix = (int)p;
	} else if (need_prefix) {
		return -EINVAL;
	}
	memset(ret->addr, 0, sizeof(ret->addr));
	if (inet_pton(family, buf, ret->addr) != 1)
		return -EINVAL;
	ret->family = family;
	return 0;
}

int cidr_addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

void cidr_mask(struct cidr *c, int prefix)
{
	for (int i = 0; i < cidr_addr_len(c->family); i++) {
		int bits = prefix - 8 * i;
		unsigned char m = bits >= 8   ? 0xff
				  : bits <= 0 ? 0
					      : (unsigned char)(0xff << (8 - bits));
		c->addr[i] &= m;
	}
}

bool cidr_contains(const struct cidr *net, const struct cidr *a)
{
	struct cidr x = *a;
	cidr_mask(&x, net->prefix);
	struct cidr n = *net;
	cidr_mask(&n, net->prefix);
	return memcmp(x.addr, n.addr, 16) == 0;
}

const char *cidr_format(const struct cidr *c, char *buf)
{
	return inet_ntop(c->family, c->addr, buf, INET6_ADDRSTRLEN);
}

bool cidr_nth(const struct cidr *net, uint64_t n, struct cidr *ret)
{
	*ret = *net;
	cidr_mask(ret, net->prefix);
	int hostbits = (net->family == AF_INET ? 32 : 128) - net->prefix;
	if (hostbits < 64 && n >> hostbits)
		return false;
	int len = cidr_addr_len(net->family);
	uint64_t carry = n;
	for (int i = len - 1; i >= 0 && carry; i--) {
		uint64_t v = ret->addr[i] + (carry & 0xff);
		ret->addr[i] = (unsigned char)v;
		carry = (carry >> 8) + (v >> 8);
	}
	ret->prefix = net->prefix;
	return true;
}
