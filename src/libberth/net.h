/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * veth networking and linux.netDevices, configured by the berth.net.*
 * annotations. berth itself only checks the request (create_prepare) and runs
 * the berth-net helper (libmnl, rtnetlink) with the container's network
 * namespace; containers that ask for no networking pay nothing. Parent side.
 */
#pragma once

#include <sys/types.h>

#include "spec.h"

#define BERTH_NET_STATE_FILE "network" /* in the state dir: berth-net's record of what it made */
#define BERTH_NET_LEASE_DIR  ".net"    /* in the state root: <bridge>.leases */

struct berth_net {
	char *request; /* key=value lines for berth-net, without the op */
};

/*
 * Check berth.net.* and linux.netDevices (syntax only: berth-net checks the
 * rest against the host). *ret is NULL when no networking is asked for.
 * Errors name the annotation or JSON path.
 */
int net_prepare(const struct berth_spec *s, const char *root, const char *id,
		struct berth_net **ret, struct berth_error **err);

/*
 * Run berth-net for the container whose init is pid: veth, addresses, routes,
 * netDevices. berth-net records the request in <state>/network before, and
 * what it made after, so that teardown can undo it even when berth-net or
 * berth died in between; only berth-net reads or writes that record. On
 * failure berth-net undoes its own work; the record stays for teardown.
 * Returns the network namespace fd in *ret_netns (the caller closes it).
 */
int net_setup(const struct berth_net *n, pid_t pid, int state_fd, int *ret_netns,
	      struct berth_error **err);

/*
 * Have berth-net undo net_setup from <state>/network alone (0 if there
 * is none, without running it), with
 * or without a live init or namespace: nftables rules, host veth end, lease,
 * the bridge berth made once nothing uses it, netDevices back to the host
 * (through netns_fd when the namespace is still there, else by waiting for the
 * kernel to return them). The record goes only when all of that worked.
 */
int net_teardown(int state_fd, int netns_fd, struct berth_error **err);

/*
 * The addresses of eth0 in the network namespace of pid (the container's
 * init), as key=value lines for net_keep_addresses() ("address=10.88.0.3/16",
 * "address6=fd00::3/64"; "" without eth0 or an address), asked by a child
 * of the caller in that namespace.
 */
int net_addresses(pid_t pid, char **ret, struct berth_error **err);

/*
 * Have berth-net give the addresses of text (net_addresses' lines, what a
 * checkpoint kept) again where the berth.net annotations name none: a
 * restored container keeps the address its listeners and connections are
 * bound to, whatever the lowest free one is now. source names text in errors.
 */
int net_keep_addresses(struct berth_net *n, const char *text, const char *source,
		       struct berth_error **err);

void net_free(struct berth_net *n);
