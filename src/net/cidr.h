/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Addresses and subnets of IPv4 and IPv6 as berth-net handles them: parsing
 * "a/len", masking, containment, the n-th address of a subnet. No I/O.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct cidr {
	int family; /* 0: unset */
	unsigned char addr[16];
	int prefix; /* -1: none given */
};

/*
 * Parse "a" or "a/len" of family (AF_INET, AF_INET6) into *ret; len is decimal
 * digits only. 0, or -EINVAL (also when need_prefix and there is no len).
 */
int cidr_parse(const char *s, int family, bool need_prefix, struct cidr *ret);
/* The bytes of an address of family: 4 or 16. */
int cidr_addr_len(int family);
/* Clear the bits of c's address beyond prefix. */
void cidr_mask(struct cidr *c, int prefix);
/* Is a in the subnet net (net's own host bits do not matter)? */
bool cidr_contains(const struct cidr *net, const struct cidr *a);
/* The address of c as text in buf (INET6_ADDRSTRLEN bytes); buf, or NULL. */
const char *cidr_format(const struct cidr *c, char *buf);
/* net + n, n counted in the host part (low bits); false if it leaves the subnet. */
bool cidr_nth(const struct cidr *net, uint64_t n, struct cidr *ret);
