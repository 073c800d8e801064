/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of berth-net's address arithmetic (src/net/cidr.c: CIDR parsing,
 * masking, containment, the n-th address of a subnet). cidr.c is linked in on
 * its own; nothing of the netlink side runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/net/cidr.h"
#include "tests.h"

static struct cidr parse_ok(const char *s, int family, bool need_prefix)
{
	struct cidr c;
	int r = cidr_parse(s, family, need_prefix, &c);
	if (r != 0) {
		fprintf(stderr, "cidr_parse(\"%s\"): unexpected %d\n", s, r);
		exit(1);
	}
	check(c.family == family);
	return c;
}

static void parse_bad(const char *s, int family, bool need_prefix)
{
	struct cidr c;
	int r = cidr_parse(s, family, need_prefix, &c);
	if (r != -EINVAL) {
		fprintf(stderr, "cidr_parse(\"%s\"): want -EINVAL, got %d\n", s, r);
		exit(1);
	}
}

static void check_addr(const struct cidr *c, const char *want)
{
	char buf[INET6_ADDRSTRLEN];
	const char *got = cidr_format(c, buf);
	if (!got || strcmp(got, want) != 0) {
		fprintf(stderr, "want %s, got %s\n", want, got ? got : "(null)");
		exit(1);
	}
}

static void test_parse(void)
{
	struct cidr c = parse_ok("10.88.0.0/16", AF_INET, true);
	check(c.prefix == 16);
	check(c.addr[0] == 10 && c.addr[1] == 88 && c.addr[2] == 0 && c.addr[3] == 0);
	c = parse_ok("192.168.1.7", AF_INET, false);
	check(c.prefix == -1);
	check_addr(&c, "192.168.1.7");
	c = parse_ok("0.0.0.0/0", AF_INET, true);
	check(c.prefix == 0);
	c = parse_ok("1.2.3.4/32", AF_INET, true);
	check(c.prefix == 32);
	c = parse_ok("fd00:88::/64", AF_INET6, true);
	check(c.prefix == 64 && c.addr[0] == 0xfd && c.addr[3] == 0x88 && c.addr[15] == 0);
	c = parse_ok("::1/128", AF_INET6, true);
	check(c.prefix == 128 && c.addr[15] == 1);

	parse_bad("10.88.0.0", AF_INET, true); /* a prefix is needed */
	parse_bad("10.88.0.0/", AF_INET, false);
	parse_bad("10.88.0.0/33", AF_INET, false);
	parse_bad("10.88.0.0/-1", AF_INET, false);
	parse_bad("10.88.0.0/16x", AF_INET, false);
	/* the prefix length is decimal digits only, as ip(8) writes it */
	parse_bad("10.88.0.0/+8", AF_INET, false);
	parse_bad("10.88.0.0/ 8", AF_INET, false);
	parse_bad("fd00::/+64", AF_INET6, false);
	parse_bad("10.88.0/16", AF_INET, false);
	parse_bad("10.88.0.256/16", AF_INET, false);
	parse_bad("", AF_INET, false);
	parse_bad("fd00::/16", AF_INET, false);	  /* wrong family */
	parse_bad("10.0.0.0/8", AF_INET6, false); /* wrong family */
	parse_bad("fd00::/129", AF_INET6, false);
	parse_bad("fd00::1:2:3:4:5:6:7:8:9/64", AF_INET6, false);
	/* longer than any address: refused before it is copied */
	parse_bad("1111:2222:3333:4444:5555:6666:7777:8888/128xxxxxxxxxxxxxxxxxxx", AF_INET6,
		  false);
}

static void test_mask_contains(void)
{
	struct cidr c = parse_ok("10.88.77.66/20", AF_INET, true);
	cidr_mask(&c, c.prefix);
	check_addr(&c, "10.88.64.0");
	c = parse_ok("255.255.255.255/0", AF_INET, true);
	cidr_mask(&c, c.prefix);
	check_addr(&c, "0.0.0.0");
	c = parse_ok("fd00:1:2:3:4:5:6:7/52", AF_INET6, true);
	cidr_mask(&c, c.prefix);
	check_addr(&c, "fd00:1:2::");

	struct cidr net = parse_ok("10.88.0.0/16", AF_INET, true);
	struct cidr a = parse_ok("10.88.255.254", AF_INET, false);
	check(cidr_contains(&net, &a));
	a = parse_ok("10.89.0.1", AF_INET, false);
	check(!cidr_contains(&net, &a));
	/* the network's own host bits do not matter */
	net = parse_ok("10.88.3.4/16", AF_INET, true);
	a = parse_ok("10.88.200.1", AF_INET, false);
	check(cidr_contains(&net, &a));
	net = parse_ok("fd00:88::/64", AF_INET6, true);
	a = parse_ok("fd00:88::ffff:1", AF_INET6, false);
	check(cidr_contains(&net, &a));
	a = parse_ok("fd00:89::1", AF_INET6, false);
	check(!cidr_contains(&net, &a));
}

static void test_nth(void)
{
	struct cidr net = parse_ok("10.88.0.0/16", AF_INET, true), r;
	check(cidr_nth(&net, 1, &r));
	check_addr(&r, "10.88.0.1");
	check(r.prefix == 16 && r.family == AF_INET);
	check(cidr_nth(&net, 256, &r));
	check_addr(&r, "10.88.1.0");
	check(cidr_nth(&net, 65535, &r));
	check_addr(&r, "10.88.255.255");
	check(!cidr_nth(&net, 65536, &r)); /* out of the subnet */

	/* the host bits of the network are dropped first */
	net = parse_ok("192.168.1.77/24", AF_INET, true);
	check(cidr_nth(&net, 2, &r));
	check_addr(&r, "192.168.1.2");
	check(!cidr_nth(&net, 256, &r));

	net = parse_ok("10.0.0.0/30", AF_INET, true);
	check(cidr_nth(&net, 3, &r));
	check_addr(&r, "10.0.0.3");
	check(!cidr_nth(&net, 4, &r));

	/* a carry across bytes, in IPv6, and more host bits than 64 */
	net = parse_ok("fd00::/120", AF_INET6, true);
	check(cidr_nth(&net, 255, &r));
	check_addr(&r, "fd00::ff");
	check(!cidr_nth(&net, 256, &r));
	net = parse_ok("fd00::/48", AF_INET6, true);
	check(cidr_nth(&net, UINT64_C(0x10000000000), &r));
	check_addr(&r, "fd00::100:0:0");
	check(cidr_nth(&net, UINT64_MAX, &r));
	check_addr(&r, "fd00::ffff:ffff:ffff:ffff");
}

int main(void)
{
	test_parse();
	test_mask_contains();
	test_nth();
	return 0;
}
