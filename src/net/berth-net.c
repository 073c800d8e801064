/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * berth-net, the veth networking helper of berth (libmnl): owns main(), the
 * request berth sends, the record in the container's state dir and the order
 * of the work, which netlink.c, ipam.c and nft.c do in this same process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fd.h"
#include "util/wire.h"
#include "cidr.h"
#include "errmsg.h"
#include "ipam.h"
#include "netlink.h"
#include "nft.h"

/*
 * A program of its own because berth is static and libmnl has no static
 * library. berth runs it with a socket on fd 0, the container's network
 * namespace as fd 3 (always for add) and its locked state dir as fd 4. Over
 * the socket (util/wire.h) it gets one WIRE_NET_REQUEST: WIRE_NET_ADD with
 * key=value lines, or WIRE_NET_DEL, which undoes what its record in the
 * state dir says; it answers WIRE_NET_DONE (text: what it made) or
 * WIRE_ERROR {errno, message}. It leaves nothing half-made.
 *
 * Request and record keys: id, leases (dir of the lease files), bridge,
 * host_if, if (name in the container), address, subnet, gateway, mac, mtu,
 * address6, subnet6, gateway6, nat, ports,
 * netdev="<host name> <container name>" (repeated).
 */
#define MAX_NETDEVS 16
#define WIRE_FD	    0 /* the socket to berth: the request in, the answer out */
#define NS_FD	    3
#define STATE_FD    4	      /* the container's state dir, locked by berth */
#define RECORD	    "network" /* in it: what del needs (src/libberth/net.h) */
#define RECORD_MAX  65536

struct req {
	const char *op, *id, *leases, *bridge, *host_if, *ifname, *mac, *mtu;
	const char *address, *subnet, *gateway, *address6, *subnet6, *gateway6;
	const char *nat, *ports;
	const char *netdev_host[MAX_NETDEVS], *netdev_ctr[MAX_NETDEVS];
	int n_netdevs;
};

/* ---- add, del ---- */

/* The mtu asked for (checked by berth), or 0: the kernel's default. */
static unsigned req_mtu(const struct req *q)
{
	return q->mtu ? (unsigned)strtoul(q->mtu, NULL, 10) : 0;
}

/* What do_add made, as key=value lines: the answer to berth. */
static char made[4096];

static int do_add(struct req *q, int nsfd)
{
	__attribute__((cleanup(nl_close))) struct nl host = { 0 }, ctr = { 0 };
	__attribute__((cleanup(ipam_leases_free))) struct leases l = LEASES_INIT;
	int r, bridge_index = 0;
	bool bridge_made = false, veth_made = false, lease_taken = false;
	struct family_plan v4 = { .key = "address",
				  .address = q->address,
				  .subnet = q->subnet,
				  .gateway = q->gateway,
				  .on = true };
	struct family_plan v6 = { .key = "address6",
				  .address = q->address6,
				  .subnet = q->subnet6,
				  .gateway = q->gateway6,
				  .on = q->address6 || q->subnet6 };
	char *out = made;
	size_t o = (size_t)snprintf(out, sizeof(made), "id=%s\n", q->id);
	int moved = 0;
	/* fds stay open until exit: this process does one request */
	int self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if ((r = nl_open(&host)) < 0)
		return errmsg_set(r, "netlink");

	if (q->bridge) {
		r = ipam_leases_open(q->leases, q->bridge, &l);
		if (r < 0)
			goto fail;
		bridge_index = nl_link_index(&host, q->bridge);
		if (bridge_index == -ENODEV) {
			r = nl_bridge_create(&host, q->bridge, req_mtu(q));
			if (r < 0 && r != -EEXIST) {
				errmsg_set(r, "create bridge \"%s\"", q->bridge);
				goto fail;
			}
			bridge_made = r == 0;
		}
		uint32_t group = 0;
		bridge_index = nl_link_info(&host, q->bridge, &group);
		if (bridge_index < 0) {
			r = errmsg_set(bridge_index, "bridge \"%s\"", q->bridge);
			goto fail;
		}
		/* (again) for each container: a rule lost with a crash comes back */
		if (group == BRIDGE_GROUP) {
			r = nft_isolate(&host, &l, q->bridge);
			if (r < 0)
				goto fail;
		}
		for (int i = 0; i < 2; i++) {
			struct family_plan *p = i ? &v6 : &v4;
			bool add_gw;
			if (!p->on)
				continue;
			r = ipam_family_resolve(&host, i ? AF_INET6 : AF_INET, bridge_index, p,
						&add_gw);
			if (r < 0)
				goto fail;
			if (add_gw) {
				r = nl_addr_add(&host, bridge_index, &p->gw);
				if (r < 0 && r != -EEXIST) {
					errmsg_set(r, "add the gateway address to bridge \"%s\"",
						   q->bridge);
					goto fail;
				}
			}
			r = ipam_pick_address(&host, &l, q->id, q->host_if, p);
			if (r < 0)
				goto fail;
		}
		r = nl_link_set_up(&host, bridge_index);
		if (r < 0) {
			errmsg_set(r, "set bridge \"%s\" up", q->bridge);
			goto fail;
		}

		/* The lease is taken before the veth exists: stale lines of this container go. */
		char a4[INET6_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
		ipam_leases_drop(&l, q->id, q->host_if, NULL);
		r = ipam_lease_take(&l, q->id, q->host_if, cidr_format(&v4.addr, a4));
		if (r >= 0 && v6.on)
			r = ipam_lease_take(&l, q->id, q->host_if, cidr_format(&v6.addr, a6));
		if (r >= 0)
			r = ipam_leases_save(&l);
		if (r < 0)
			goto fail;
		lease_taken = true;

		r = nl_veth_create(&host, q->host_if, q->ifname, req_mtu(q), q->mac, bridge_index,
				   nsfd);
		if (r == -EEXIST && nl_link_del(&host, q->host_if) >= 0) {
			/* a namespace of an earlier container of this id is still held somewhere */
			r = nl_veth_create(&host, q->host_if, q->ifname, req_mtu(q), q->mac,
					   bridge_index, nsfd);
		}
		if (r < 0) {
			if (r == -EEXIST)
				errmsg_set(r, "host interface \"%s\"", q->host_if);
			else
				errmsg_set(r, "create veth \"%s\" (peer \"%s\")", q->host_if,
					   q->ifname);
			goto fail;
		}
		veth_made = true;
		o += (size_t)snprintf(out + o, sizeof(made) - o,
				      "bridge=%s\nhost_if=%s\nleases=%s\naddress=%s/%d\n",
				      q->bridge, q->host_if, q->leases, a4, v4.net.prefix);
		if (v6.on)
			o += (size_t)snprintf(out + o, sizeof(made) - o, "address6=%s/%d\n", a6,
					      v6.net.prefix);
	}

	/* linux.netDevices: move (and rename) into the container. */
	for (; moved < q->n_netdevs; moved++) {
		int idx = nl_link_index(&host, q->netdev_host[moved]);
		if (idx < 0) {
			r = errmsg_set(idx, "linux.netDevices: \"%s\"", q->netdev_host[moved]);
			goto fail_netdevs;
		}
		r = nl_link_move(&host, idx, nsfd, q->netdev_ctr[moved]);
		if (r < 0) {
			errmsg_set(r, "linux.netDevices: move \"%s\" into the container as \"%s\"",
				   q->netdev_host[moved], q->netdev_ctr[moved]);
			goto fail_netdevs;
		}
		o += (size_t)snprintf(out + o, sizeof(made) - o, "netdev=%s %s\n",
				      q->netdev_host[moved], q->netdev_ctr[moved]);
	}

	/* Inside: lo up, eth0 addresses, up, default routes. */
	if (self_ns < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		r = errmsg_set(-errno, "enter the container's network namespace");
		goto fail_netdevs;
	}
	r = nl_open(&ctr);
	if (r >= 0)
		r = nl_link_set_up(&ctr, 1); /* lo is always ifindex 1 in a namespace */
	if (r < 0) {
		errmsg_set(r, "set \"lo\" up");
		goto fail_inside;
	}
	if (q->bridge) {
		int idx = nl_link_index(&ctr, q->ifname);
		if (idx < 0) {
			r = errmsg_set(idx, "find \"%s\" in the container", q->ifname);
			goto fail_inside;
		}
		for (int i = 0; i < 2; i++) {
			struct family_plan *p = i ? &v6 : &v4;
			if (!p->on)
				continue;
			p->addr.prefix = p->net.prefix;
			r = nl_addr_add(&ctr, idx, &p->addr);
			if (r < 0) {
				errmsg_set(r, "add %s to \"%s\"", p->key, q->ifname);
				goto fail_inside;
			}
		}
		r = nl_link_set_up(&ctr, idx);
		if (r < 0) {
			errmsg_set(r, "set \"%s\" up", q->ifname);
			goto fail_inside;
		}
		for (int i = 0; i < 2; i++) {
			struct family_plan *p = i ? &v6 : &v4;
			if (!p->on)
				continue;
			r = nl_route_add_default(&ctr, idx, &p->gw);
			if (r < 0) {
				errmsg_set(r, "add the default route via the gateway%s",
					   i ? "6" : "");
				goto fail_inside;
			}
		}
	}
	if (setns(self_ns, CLONE_NEWNET) < 0)
		return errmsg_set(-errno, "return to the host network namespace");
	if (q->bridge && ((q->nat && !strcmp(q->nat, "true")) || (q->ports && *q->ports))) {
		r = nft_add_rules(&l, q->id, q->host_if, q->bridge,
				  q->nat && !strcmp(q->nat, "true"), q->ports, &v4.addr);
		if (r < 0) {
			/* the batch is all or nothing; this is for a half commit */
			nft_del_rules(q->host_if, NULL);
			goto fail_netdevs;
		}
		snprintf(out + o, sizeof(made) - o, "nft=1\n");
	}
	return 0;

fail_inside:
	if (setns(self_ns, CLONE_NEWNET) < 0)
		return r;
fail_netdevs:
	/* Put back what was moved: the namespace still exists (we hold its fd). */
	if (moved > 0 && setns(nsfd, CLONE_NEWNET) == 0) {
		__attribute__((cleanup(nl_close))) struct nl back = { 0 };
		if (nl_open(&back) >= 0)
			for (int i = 0; i < moved; i++) {
				int idx = nl_link_index(&back, q->netdev_ctr[i]);
				if (idx > 0)
					nl_link_move(&back, idx, self_ns, q->netdev_host[i]);
			}
		if (setns(self_ns, CLONE_NEWNET) < 0)
			return r;
	}
fail:
	if (veth_made)
		nl_link_del(&host, q->host_if);
	if (lease_taken) {
		ipam_leases_drop(&l, q->id, q->host_if, NULL);
		ipam_leases_save(&l);
	}
	if (bridge_made) {
		/* the bridge first: a bridge of berth's without its rule would not be isolated */
		nl_link_del(&host, q->bridge);
		nft_del_rules(NULL, q->bridge);
	}
	return r;
}

/*
 * Remove what add made for q->id, from the request alone (berth passes what it
 * recorded, maybe only its own request when it died before hearing back): the
 * nftables rules of the host end, the host end itself (when the namespace
 * outlives the init, or will only go later), the lease; and, once no live
 * lease and no port is left, the bridge if berth made it, with its rule.
 */
static int remove_bridged(struct nl *host, const struct req *q)
{
	__attribute__((cleanup(ipam_leases_free))) struct leases l = LEASES_INIT;
	int r = q->leases ? ipam_leases_open(q->leases, q->bridge, &l) : 0, ret = r;
	if (q->host_if) {
		int nr = nft_del_rules(q->host_if, NULL);
		if (nr < 0 && ret >= 0)
			ret = nr;
		nr = nl_link_del(host, q->host_if);
		if (nr < 0 && nr != -ENODEV && ret >= 0)
			ret = errmsg_set(nr, "delete host interface \"%s\"", q->host_if);
	}
	if (r < 0 || !q->leases)
		return ret; /* no lease file we trust: keep the bridge */
	ipam_leases_drop(&l, q->id, q->host_if, NULL);
	bool in_use = false;
	for (size_t i = 0; i < l.n && !in_use; i++)
		in_use = ipam_lease_live(host, &l, &l.v[i]);
	if (!in_use)
		l.n = 0; /* the rest are leases of containers deleted without berth */
	r = ipam_leases_save(&l);
	if (r < 0 || in_use)
		return ret < 0 ? ret : r;

	uint32_t group = 0;
	int idx = nl_link_info(host, q->bridge, &group);
	if (idx < 0 || group != BRIDGE_GROUP || nl_bridge_ports(host, idx) != 0)
		return ret; /* gone, not berth's or still serving someone */
	/* the bridge first: a bridge of berth's without its rule would not be isolated */
	r = nl_link_del(host, q->bridge);
	if (r < 0 && r != -ENODEV)
		return ret < 0 ? ret : errmsg_set(r, "delete bridge \"%s\"", q->bridge);
	r = nft_del_rules(NULL, q->bridge);
	return ret < 0 ? ret : r;
}

static int do_del(struct req *q, int nsfd)
{
	__attribute__((cleanup(nl_close))) struct nl host = { 0 };
	int r = nl_open(&host), ret = 0;
	if (r < 0)
		return errmsg_set(r, "netlink");
	if (q->bridge)
		ret = remove_bridged(&host, q);
	if (q->n_netdevs == 0)
		return ret;

	/* netDevices go home under their old names. */
	int hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (nsfd >= 0 && hostns >= 0 && setns(nsfd, CLONE_NEWNET) == 0) {
		__attribute__((cleanup(nl_close))) struct nl ctr = { 0 };
		if (nl_open(&ctr) >= 0)
			for (int i = 0; i < q->n_netdevs; i++) {
				int idx = nl_link_index(&ctr, q->netdev_ctr[i]);
				if (idx > 0)
					nl_link_move(&ctr, idx, hostns, q->netdev_host[i]);
			}
		setns(hostns, CLONE_NEWNET);
	}
	for (int i = 0; i < q->n_netdevs; i++) {
		if (nl_link_index(&host, q->netdev_host[i]) > 0)
			continue;
		/* the namespace died: the kernel brought it back under its container name */
		int idx = nl_link_wait(&host, q->netdev_ctr[i]);
		r = idx > 0 ? nl_link_rename(&host, idx, q->netdev_host[i]) : idx;
		if (r < 0 && !ret)
			ret = errmsg_set(r, "linux.netDevices: return \"%s\" to the host",
					 q->netdev_host[i]);
	}
	return ret;
}

static int parse_request(char *text, struct req *q)
{
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = 0;
		const char *k = line, *v = eq + 1;
		struct {
			const char *key;
			const char **dst;
		} map[] = {
			{ "id", &q->id },
			{ "leases", &q->leases },
			{ "bridge", &q->bridge },
			{ "host_if", &q->host_if },
			{ "if", &q->ifname },
			{ "mac", &q->mac },
			{ "mtu", &q->mtu },
			{ "address", &q->address },
			{ "subnet", &q->subnet },
			{ "gateway", &q->gateway },
			{ "address6", &q->address6 },
			{ "subnet6", &q->subnet6 },
			{ "gateway6", &q->gateway6 },
			{ "nat", &q->nat },
			{ "ports", &q->ports },
		};
		bool known = false;
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (!strcmp(k, map[i].key)) {
				*map[i].dst = v;
				known = true;
			}
		if (!known && !strcmp(k, "netdev")) {
			if (q->n_netdevs >= MAX_NETDEVS)
				return errmsg_setx(-E2BIG, "linux.netDevices: more than %d devices",
						   MAX_NETDEVS);
			char *sp = strchr(eq + 1, ' ');
			if (!sp)
				return errmsg_setx(-EINVAL, "bad netdev line");
			*sp = 0;
			q->netdev_host[q->n_netdevs] = v;
			q->netdev_ctr[q->n_netdevs++] = sp + 1;
		}
	}
	if (!q->op || !q->id || !ipam_id_is_valid(q->id))
		return errmsg_setx(-EINVAL, "request without op or a valid id");
	if (q->bridge && (!q->host_if || !q->leases || strncmp(q->host_if, "bv", 2) != 0 ||
			  strlen(q->bridge) >= IFNAMSIZ || strchr(q->bridge, '/')))
		return errmsg_setx(-EINVAL, "bad request for bridge \"%s\"", q->bridge);
	if (!q->ifname)
		q->ifname = "eth0";
	return 0;
}

/*
 * ---- the record ----
 *
 * <state dir>/network (fd 4, locked by berth while this runs) holds what a
 * later del needs: the request, written before anything is made, then what
 * was made. Only this helper reads and writes it; berth asks over the wire.
 */
static int record_save(const char *text)
{
	int r = write_file_atomic_at(STATE_FD, RECORD, text, strlen(text), 0600);
	return r < 0 ? errmsg_set(r, "save \"%s\"", RECORD) : 0;
}

/* Read the record into *ret (malloc'd); -ENOENT, quietly, when there is none. */
static int record_load(char **ret)
{
	char why[128];
	int r = read_trusted_file_at(STATE_FD, RECORD, RECORD_MAX, ret, NULL, why, sizeof(why));
	if (r == -ENOENT)
		return r;
	return r < 0 ? errmsg_setx(r, "\"%s\" %s", RECORD, why) : 0;
}

/* op=add: record the request, make it all, record what was made (or undo it). */
static int op_add(char *text, int nsfd)
{
	struct req q = { .op = "add" };
	if (nsfd < 0)
		return errmsg_setx(-EBADF, "no network namespace fd");
	int r = record_save(text);
	if (r >= 0)
		r = parse_request(text, &q);
	if (r >= 0)
		r = do_add(&q, nsfd);
	if (r < 0)
		return r; /* do_add undid its work; the record stays for teardown */
	r = record_save(made);
	if (r < 0) {
		/* undo now, while the namespace is ours: netDevices come back from it */
		static char again[sizeof(made)];
		struct req u = { .op = "del" };
		memcpy(again, made, sizeof(made));
		if (parse_request(again, &u) >= 0)
			do_del(&u, nsfd);
	}
	return r;
}

/* op=del: undo what the record says; the record goes only when all of that worked. */
static int op_del(int nsfd)
{
	char *text = NULL;
	struct req q = { .op = "del" };
	int r = record_load(&text);
	if (r == -ENOENT)
		return 0;
	if (r >= 0)
		r = parse_request(text, &q);
	if (r >= 0)
		r = do_del(&q, nsfd);
	if (r >= 0 && unlinkat(STATE_FD, RECORD, 0) < 0 && errno != ENOENT)
		r = errmsg_set(-errno, "remove \"%s\"", RECORD);
	free(text);
	return r;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct wire_msg m = WIRE_MSG_INIT;
	int r = wire_recv(WIRE_FD, &m);
	int nsfd = fcntl(NS_FD, F_GETFD) >= 0 ? NS_FD : -1;
	if (r < 0)
		r = errmsg_set(r, "read the request");
	else if (m.type != WIRE_NET_REQUEST || m.n_fds > 0)
		r = errmsg_setx(-EPROTO, "not a request");
	else if (fcntl(STATE_FD, F_GETFD) < 0)
		r = errmsg_setx(-EBADF, "no state dir fd");
	else if (m.value == WIRE_NET_ADD && m.text)
		r = op_add(m.text, nsfd);
	else if (m.value == WIRE_NET_DEL)
		r = op_del(nsfd);
	else
		r = errmsg_setx(-EINVAL, "unknown op %d", (int)m.value);
	wire_msg_done(&m);
	if (r < 0) {
		wire_send(WIRE_FD, WIRE_ERROR, -r, errmsg_get(r), NULL, 0);
		return 1;
	}
	return wire_send(WIRE_FD, WIRE_NET_DONE, 0, made, NULL, 0) < 0 ? 1 : 0;
}
