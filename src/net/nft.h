/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nftables rules of berth-net, in table ip "berth" (made on first use,
 * never removed): each batch is all or nothing in the kernel, and the rules
 * of a container are tagged "berth:<host_if>..." so that del finds them.
 * Failures are recorded with errmsg_set(); they return -errno.
 */
#pragma once

#include <stdbool.h>

#include "cidr.h"
#include "ipam.h"
#include "netlink.h"

/*
 * Containers on different bridges of berth must not reach each other: the
 * drop rule of bridge (again, if a crash lost it); rules of bridges that are
 * gone go. Under the flock of <l->dir>/nft.lock.
 */
int nft_isolate(struct nl *n, const struct leases *l, const char *bridge);
/*
 * The rules of container id, host end host_if, address a: masquerade out of
 * bridge when nat, and the DNAT of each of ports ("8080:80/tcp,53:53/udp").
 * -EADDRINUSE when another container published a host port already.
 */
int nft_add_rules(const struct leases *l, const char *id, const char *host_if, const char *bridge,
		  bool nat, const char *ports, const struct cidr *a);
/* Remove every rule tagged with host_if, or the isolation rule of bridge (each when not NULL). */
int nft_del_rules(const char *host_if, const char *bridge);
