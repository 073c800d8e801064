/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IPAM of berth-net: the lease file of a bridge (<leases>/<bridge>.leases,
 * read and written under the flock of <leases>/lock) and the choice of
 * subnet, gateway and address of each family. Failures are recorded with
 * errmsg_set(); they return -errno.
 */
#pragma once

#include <arpa/inet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"
#include "netlink.h"

#define ID_MAX 1024

/* One line of a lease file: address a is held by container id, host end host_if. */
struct lease {
	char addr[INET6_ADDRSTRLEN];
	char id[ID_MAX + 1];
	char host_if[IFNAMSIZ];
};

/* The lease file of one bridge, read whole, and the fds of its dir and lock. */
struct leases {
	int dirfd, rootfd, lockfd;
	const char *dir;
	char name[IFNAMSIZ + 16];
	struct lease *v;
	size_t n;
};

#define LEASES_INIT                                     \
	{                                               \
		.dirfd = -1, .rootfd = -1, .lockfd = -1 \
	}

/* What one family (IPv4, IPv6) of a request asks for, and what IPAM chose. */
struct family_plan {
	const char *key; /* "address" or "address6": for messages */
	const char *address, *subnet, *gateway;
	struct cidr net, gw, addr;
	bool on;
};

/* Is s a container id berth could have made (and a lease file may hold)? */
bool ipam_id_is_valid(const char *s);

/*
 * Lock <dir>/lock and read <dir>/<bridge>.leases into *l (made if missing;
 * refused unless this uid owns it and nobody else can write it). The lock is
 * held until exit; ipam_leases_free() frees what was read.
 */
int ipam_leases_open(const char *dir, const char *bridge, struct leases *l);
void ipam_leases_free(struct leases *l);
/* Replace the file with l->v (remove it when empty). */
int ipam_leases_save(struct leases *l);
/* Drop the lines of id, of host_if and of address a (each when not NULL). */
void ipam_leases_drop(struct leases *l, const char *id, const char *host_if, const char *a);
/* Take address a for id and host_if: its line replaces any other of a. */
int ipam_lease_take(struct leases *l, const char *id, const char *host_if, const char *a);
/* Is the holder of e alive: its state dir is there, or its host end? */
bool ipam_lease_live(struct nl *n, const struct leases *l, const struct lease *e);

/*
 * Subnet and gateway of p's family: p's annotations, else the address of the
 * bridge (bridge_index > 0), else defaults. *ret_add_gw: the bridge has no
 * address of the family yet and should get the gateway's.
 */
int ipam_family_resolve(struct nl *n, int family, int bridge_index, struct family_plan *p,
			bool *ret_add_gw);
/*
 * p->addr: the address asked for (checked against the subnet, the gateway and
 * the live leases of others than id and host_if), or the lowest free one.
 */
int ipam_pick_address(struct nl *n, const struct leases *l, const char *id, const char *host_if,
		      struct family_plan *p);
