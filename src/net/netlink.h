/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rtnetlink requests of berth-net: links, addresses, routes, and moving a
 * device between network namespaces. Each works in the namespace the process
 * is in when the nl was opened; -errno of the kernel on failure.
 */
#pragma once

#include <stdint.h>

#include "cidr.h"

#define NL_BUF	     32768
#define BRIDGE_GROUP 0x6274 /* "bt": the interface group of the bridges berth makes */

/* One rtnetlink socket and the buffer of the message being built. */
struct nl {
	struct mnl_socket *s;
	unsigned int seq, portid;
	char buf[NL_BUF];
};

int nl_open(struct nl *n);
void nl_close(struct nl *n);

/* ifindex of name (or -ENODEV) and its interface group in *ret_group. */
int nl_link_info(struct nl *n, const char *name, uint32_t *ret_group);
/* ifindex of name, or -ENODEV. */
int nl_link_index(struct nl *n, const char *name);
/* Wait (~1 s at most) for name to show up; its ifindex, or -ENODEV. */
int nl_link_wait(struct nl *n, const char *name);
int nl_link_set_up(struct nl *n, int index);
int nl_link_del(struct nl *n, const char *name);
int nl_link_rename(struct nl *n, int index, const char *newname);
/* Move (and rename) a link into the namespace of nsfd. */
int nl_link_move(struct nl *n, int index, int nsfd, const char *newname);

/* A bridge, up, in group BRIDGE_GROUP; mtu 0: the kernel's default. */
int nl_bridge_create(struct nl *n, const char *name, unsigned mtu);
/* How many interfaces are enslaved to bridge_index. */
int nl_bridge_ports(struct nl *n, int bridge_index);
/*
 * A veth: host_if up (on the bridge when bridge_index > 0), its peer created
 * in the namespace of nsfd as ifname; mac_text (NULL: the kernel's) is checked
 * here. mtu 0: the kernel's default.
 */
int nl_veth_create(struct nl *n, const char *host_if, const char *ifname, unsigned mtu,
		   const char *mac_text, int bridge_index, int nsfd);

int nl_addr_add(struct nl *n, int index, const struct cidr *a);
/* The first (global) address of family on index into *ret (family 0: none). */
int nl_addr_first(struct nl *n, int index, int family, struct cidr *ret);
/* The default route via gw out of index. */
int nl_route_add_default(struct nl *n, int index, const struct cidr *gw);
