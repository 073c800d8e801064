/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * berth-net: veth networking for berth, over rtnetlink with libmnl. A small
 * helper of its own (berth is static and libmnl has no static library): berth
 * runs it with a socket on fd 0, the container's network namespace as fd 3
 * (always for add) and its locked state dir as fd 4. Over the socket
 * (util/wire.h) it gets one WIRE_NET_REQUEST: WIRE_NET_ADD with key=value
 * lines, or WIRE_NET_DEL, which undoes what its record in the state dir
 * says; it answers WIRE_NET_DONE (text: what it made) or WIRE_ERROR {errno,
 * message}. It leaves nothing half-made.
 *
 * Request and record keys: id, leases (dir of the lease files), bridge,
 * host_if, if (name in the container), address, subnet, gateway, mac, mtu,
 * address6, subnet6, gateway6, netdev="<host name> <container name>" (repeated).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "util/fd.h"
#include "util/wire.h"
#include "cidr.h"
#include "errmsg.h"
#include "ipam.h"
#include "netlink.h"

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

/* ---- nftables: NAT and published ports, in table ip "berth", rules tagged by host end ---- */

#define NFT_TABLE "berth"

struct nft {
	struct mnl_socket *s;
	unsigned int portid;
	uint32_t seq;
	int n_acks;
	struct mnl_nlmsg_batch *b;
	char buf[NL_BUF];
};

static struct nlmsghdr *nft_put(struct nft *t, uint16_t type, uint16_t flags, uint8_t family,
				uint16_t res_id)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(t->b));
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++t->seq;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	if (flags & NLM_F_ACK)
		t->n_acks++;
	return h;
}

static struct nlmsghdr *nft_msg(struct nft *t, uint16_t type, uint16_t flags)
{
	return nft_put(t, (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | type), flags | NLM_F_ACK,
		       NFPROTO_IPV4, 0);
}

static int nft_begin(struct nft *t)
{
	t->s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!t->s || mnl_socket_bind(t->s, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	t->portid = mnl_socket_get_portid(t->s);
	t->seq = (uint32_t)time(NULL);
	t->b = mnl_nlmsg_batch_start(t->buf, sizeof(t->buf));
	if (!t->b)
		return -ENOMEM;
	nft_put(t, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	mnl_nlmsg_batch_next(t->b);
	return 0;
}

/* Send the batch (all or nothing in the kernel) and collect every ack. */
static int nft_commit(struct nft *t)
{
	nft_put(t, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	mnl_nlmsg_batch_next(t->b);
	if (mnl_socket_sendto(t->s, mnl_nlmsg_batch_head(t->b), mnl_nlmsg_batch_size(t->b)) < 0)
		return -errno;
	char rbuf[NL_BUF];
	int err = 0;
	while (t->n_acks > 0) {
		ssize_t len = mnl_socket_recvfrom(t->s, rbuf, sizeof(rbuf));
		if (len < 0)
			return -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; mnl_nlmsg_ok(h, (int)len);
		     h = mnl_nlmsg_next(h, (int *)&len)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
			t->n_acks--;
			if (e->error && !err)
				err = e->error;
		}
		/* after an error the kernel aborts the batch: no more acks come */
		if (err)
			return err;
	}
	return 0;
}

static void nft_end(struct nft *t)
{
	if (t->b)
		mnl_nlmsg_batch_stop(t->b);
	if (t->s)
		mnl_socket_close(t->s);
}

static struct nlattr *expr_start(struct nlmsghdr *h, const char *name, struct nlattr **data)
{
	struct nlattr *e = mnl_attr_nest_start(h, NFTA_LIST_ELEM);
	mnl_attr_put_strz(h, NFTA_EXPR_NAME, name);
	*data = mnl_attr_nest_start(h, NFTA_EXPR_DATA);
	return e;
}

static void expr_end(struct nlmsghdr *h, struct nlattr *e, struct nlattr *data)
{
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, e);
}

static void e_payload(struct nlmsghdr *h, uint32_t base, uint32_t off, uint32_t len)
{
	struct nlattr *d, *e = expr_start(h, "payload", &d);
	mnl_attr_put_u32(h, NFTA_PAYLOAD_DREG, htonl(NFT_REG_1));
	mnl_attr_put_u32(h, NFTA_PAYLOAD_BASE, htonl(base));
	mnl_attr_put_u32(h, NFTA_PAYLOAD_OFFSET, htonl(off));
	mnl_attr_put_u32(h, NFTA_PAYLOAD_LEN, htonl(len));
	expr_end(h, e, d);
}

static void e_cmp(struct nlmsghdr *h, uint32_t op, const void *data, size_t len)
{
	struct nlattr *d, *e = expr_start(h, "cmp", &d);
	mnl_attr_put_u32(h, NFTA_CMP_SREG, htonl(NFT_REG_1));
	mnl_attr_put_u32(h, NFTA_CMP_OP, htonl(op));
	struct nlattr *v = mnl_attr_nest_start(h, NFTA_CMP_DATA);
	mnl_attr_put(h, NFTA_DATA_VALUE, len, data);
	mnl_attr_nest_end(h, v);
	expr_end(h, e, d);
}

static void e_meta(struct nlmsghdr *h, uint32_t key)
{
	struct nlattr *d, *e = expr_start(h, "meta", &d);
	mnl_attr_put_u32(h, NFTA_META_KEY, htonl(key));
	mnl_attr_put_u32(h, NFTA_META_DREG, htonl(NFT_REG_1));
	expr_end(h, e, d);
}

static void e_imm(struct nlmsghdr *h, uint32_t reg, const void *data, size_t len)
{
	struct nlattr *d, *e = expr_start(h, "immediate", &d);
	mnl_attr_put_u32(h, NFTA_IMMEDIATE_DREG, htonl(reg));
	struct nlattr *v = mnl_attr_nest_start(h, NFTA_IMMEDIATE_DATA);
	mnl_attr_put(h, NFTA_DATA_VALUE, len, data);
	mnl_attr_nest_end(h, v);
	expr_end(h, e, d);
}

static struct nlmsghdr *rule_start(struct nft *t, const char *chain, struct nlattr **exprs)
{
	struct nlmsghdr *h = nft_msg(t, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	mnl_attr_put_strz(h, NFTA_RULE_TABLE, NFT_TABLE);
	mnl_attr_put_strz(h, NFTA_RULE_CHAIN, chain);
	*exprs = mnl_attr_nest_start(h, NFTA_RULE_EXPRESSIONS);
	return h;
}

static void rule_end(struct nft *t, struct nlmsghdr *h, struct nlattr *exprs, const char *tag)
{
	mnl_attr_nest_end(h, exprs);
	mnl_attr_put(h, NFTA_RULE_USERDATA, strlen(tag), tag);
	mnl_nlmsg_batch_next(t->b);
}

/* ip saddr <a> oifname != <bridge> masquerade */
static void rule_masq(struct nft *t, const unsigned char a[4], const char *bridge, const char *tag)
{
	struct nlattr *x;
	struct nlmsghdr *h = rule_start(t, "postrouting", &x);
	e_payload(h, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
	e_cmp(h, NFT_CMP_EQ, a, 4);
	e_meta(h, NFT_META_OIFNAME);
	char name[IFNAMSIZ] = { 0 };
	strncpy(name, bridge, sizeof(name) - 1);
	e_cmp(h, NFT_CMP_NEQ, name, sizeof(name));
	struct nlattr *d, *e = expr_start(h, "masq", &d);
	expr_end(h, e, d);
	rule_end(t, h, x, tag);
}

/* meta l4proto <proto> th dport <port> fib daddr type local dnat to <a>:<to> */
static void rule_dnat(struct nft *t, const char *chain, uint8_t proto, uint16_t port,
		      const unsigned char a[4], uint16_t to, const char *tag)
{
	struct nlattr *x;
	struct nlmsghdr *h = rule_start(t, chain, &x);
	e_meta(h, NFT_META_L4PROTO);
	e_cmp(h, NFT_CMP_EQ, &proto, 1);
	e_payload(h, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	uint16_t be = htons(port);
	e_cmp(h, NFT_CMP_EQ, &be, 2);
	struct nlattr *d, *e = expr_start(h, "fib", &d);
	mnl_attr_put_u32(h, NFTA_FIB_DREG, htonl(NFT_REG_1));
	mnl_attr_put_u32(h, NFTA_FIB_RESULT, htonl(NFT_FIB_RESULT_ADDRTYPE));
	mnl_attr_put_u32(h, NFTA_FIB_FLAGS, htonl(NFTA_FIB_F_DADDR));
	expr_end(h, e, d);
	uint32_t local = RTN_LOCAL;
	e_cmp(h, NFT_CMP_EQ, &local, 4);
	e_imm(h, NFT_REG_1, a, 4);
	uint16_t tbe = htons(to);
	e_imm(h, NFT_REG_2, &tbe, 2);
	e = expr_start(h, "nat", &d);
	mnl_attr_put_u32(h, NFTA_NAT_TYPE, htonl(NFT_NAT_DNAT));
	mnl_attr_put_u32(h, NFTA_NAT_FAMILY, htonl(NFPROTO_IPV4));
	mnl_attr_put_u32(h, NFTA_NAT_REG_ADDR_MIN, htonl(NFT_REG_1));
	mnl_attr_put_u32(h, NFTA_NAT_REG_PROTO_MIN, htonl(NFT_REG_2));
	mnl_attr_put_u32(h, NFTA_NAT_FLAGS,
			 htonl(NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED));
	expr_end(h, e, d);
	rule_end(t, h, x, tag);
}

static void nft_base(struct nft *t)
{
	struct nlmsghdr *h = nft_msg(t, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	mnl_attr_put_strz(h, NFTA_TABLE_NAME, NFT_TABLE);
	mnl_nlmsg_batch_next(t->b);
	static const struct {
		const char *name;
		uint32_t hook;
		int32_t prio;
		const char *type;
	} chains[] = {
		{ "prerouting", NF_INET_PRE_ROUTING, -100, "nat" },
		{ "output", NF_INET_LOCAL_OUT, -100, "nat" },
		{ "postrouting", NF_INET_POST_ROUTING, 100, "nat" },
		{ "forward", NF_INET_FORWARD, 0, "filter" },
	};
	for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
		h = nft_msg(t, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
		mnl_attr_put_strz(h, NFTA_CHAIN_TABLE, NFT_TABLE);
		mnl_attr_put_strz(h, NFTA_CHAIN_NAME, chains[i].name);
		struct nlattr *hk = mnl_attr_nest_start(h, NFTA_CHAIN_HOOK);
		mnl_attr_put_u32(h, NFTA_HOOK_HOOKNUM, htonl(chains[i].hook));
		mnl_attr_put_u32(h, NFTA_HOOK_PRIORITY, htonl((uint32_t)chains[i].prio));
		mnl_attr_nest_end(h, hk);
		mnl_attr_put_strz(h, NFTA_CHAIN_TYPE, chains[i].type);
		mnl_nlmsg_batch_next(t->b);
	}
}

struct tagged {
	char chain[32];
	char tag[256];
	uint64_t handle; /* big endian, as the kernel sent it */
};

/* Every rule of table ip berth with a "berth:" tag. */
struct dump_ctx {
	struct tagged found[512];
	int n;
};

static int rule_dump_cb(const struct nlmsghdr *h, void *data)
{
	struct dump_ctx *d = data;
	const struct nlattr *a;
	const char *chain = NULL;
	uint64_t handle = 0;
	char tag[256] = "";
	mnl_attr_for_each(a, h, sizeof(struct nfgenmsg))
	{
		switch (mnl_attr_get_type(a)) {
		case NFTA_RULE_CHAIN:
			chain = mnl_attr_get_str(a);
			break;
		case NFTA_RULE_HANDLE:
			handle = mnl_attr_get_u64(a);
			break;
		case NFTA_RULE_USERDATA:
			if (mnl_attr_get_payload_len(a) < sizeof(tag)) {
				memcpy(tag, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
				tag[mnl_attr_get_payload_len(a)] = 0;
			}
			break;
		default:
			break;
		}
	}
	if (!strncmp(tag, "berth:", 6) && chain &&
	    d->n < (int)(sizeof(d->found) / sizeof(d->found[0]))) {
		snprintf(d->found[d->n].chain, sizeof(d->found[0].chain), "%s", chain);
		memcpy(d->found[d->n].tag, tag, sizeof(tag));
		d->found[d->n++].handle = handle;
	}
	return MNL_CB_OK;
}

/* Is t the tag of host_if: "berth:<host_if>" or "berth:<host_if>:..."? */
static bool tag_of(const char *t, const char *host_if)
{
	size_t n = strlen(host_if);
	return !strncmp(t + 6, host_if, n) && (t[6 + n] == 0 || t[6 + n] == ':');
}

/* Collect the tagged rules of table ip berth; 0 with none if there is no table. */
static int nft_dump(struct dump_ctx *d)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!s || mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		if (s)
			mnl_socket_close(s);
		return errmsg_set(-errno, "nftables");
	}
	char buf[NL_BUF];
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	h->nlmsg_seq = (uint32_t)time(NULL);
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->nfgen_family = NFPROTO_IPV4;
	g->version = NFNETLINK_V0;
	mnl_attr_put_strz(h, NFTA_RULE_TABLE, NFT_TABLE);
	unsigned int portid = mnl_socket_get_portid(s);
	int r = 0;
	if (mnl_socket_sendto(s, h, h->nlmsg_len) < 0)
		r = -errno;
	while (r == 0) {
		ssize_t len = mnl_socket_recvfrom(s, buf, sizeof(buf));
		if (len < 0) {
			r = -errno;
			break;
		}
		int q = mnl_cb_run(buf, (size_t)len, 0, portid, rule_dump_cb, d);
		if (q < 0)
			r = -errno;
		if (q <= 0)
			break;
	}
	mnl_socket_close(s);
	if (r == -ENOENT)
		return 0; /* no table: no rules */
	if (r < 0)
		return errmsg_set(r, "nftables: list the rules");
	return 0;
}

/* The flock of <leases>/nft.lock (the dir is checked by ipam_leases_open); the fd, or -errno. */
static int nft_lock(const struct leases *l)
{
	int fd = openat(l->dirfd, "nft.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		return errmsg_set(-errno, "lock \"%s/nft.lock\"", l->dir);
	return fd;
}

/*
 * Containers on different bridges of berth must not reach each other even
 * when the host forwards. Per bridge B one rule in the forward chain:
 * "iifname B oifgroup G oifname != B drop", tagged berth:isolate:B. (With
 * br_netfilter, traffic switched inside B shows up there as B to B: hence
 * the name check rather than one group-to-group rule.) Rules of bridges that
 * are gone are dropped on the way.
 */
static int nft_isolate(struct nl *n, const struct leases *l, const char *bridge)
{
	static struct dump_ctx d;
	char tag[64];
	snprintf(tag, sizeof(tag), "berth:isolate:%s", bridge);
	int lfd = nft_lock(l);
	if (lfd < 0)
		return lfd;
	d.n = 0;
	int r = nft_dump(&d);
	struct nft t = { 0 };
	if (r >= 0)
		r = nft_begin(&t);
	bool have = false;
	for (int i = 0; r >= 0 && i < d.n; i++) {
		const char *b = d.found[i].tag + strlen("berth:isolate:");
		/* "berth:isolate" alone: a group-to-group rule of an earlier berth-net */
		bool old = !strcmp(d.found[i].tag, "berth:isolate");
		if (!old &&
		    strncmp(d.found[i].tag, "berth:isolate:", strlen("berth:isolate:")) != 0)
			continue;
		if (!old && !strcmp(b, bridge)) {
			have = true;
		} else if (old || nl_link_index(n, b) == -ENODEV) {
			struct nlmsghdr *h = nft_msg(&t, NFT_MSG_DELRULE, 0);
			mnl_attr_put_strz(h, NFTA_RULE_TABLE, NFT_TABLE);
			mnl_attr_put_strz(h, NFTA_RULE_CHAIN, d.found[i].chain);
			mnl_attr_put(h, NFTA_RULE_HANDLE, sizeof(uint64_t), &d.found[i].handle);
			mnl_nlmsg_batch_next(t.b);
		}
	}
	if (r >= 0 && !have) {
		nft_base(&t);
		struct nlattr *x;
		struct nlmsghdr *h = rule_start(&t, "forward", &x);
		char name[IFNAMSIZ] = { 0 };
		strncpy(name, bridge, sizeof(name) - 1);
		uint32_t g = BRIDGE_GROUP;
		e_meta(h, NFT_META_IIFNAME);
		e_cmp(h, NFT_CMP_EQ, name, sizeof(name));
		e_meta(h, NFT_META_OIFGROUP);
		e_cmp(h, NFT_CMP_EQ, &g, 4);
		e_meta(h, NFT_META_OIFNAME);
		e_cmp(h, NFT_CMP_NEQ, name, sizeof(name));
		struct nlattr *d2, *e = expr_start(h, "immediate", &d2);
		mnl_attr_put_u32(h, NFTA_IMMEDIATE_DREG, htonl(NFT_REG_VERDICT));
		struct nlattr *v = mnl_attr_nest_start(h, NFTA_IMMEDIATE_DATA);
		struct nlattr *vd = mnl_attr_nest_start(h, NFTA_DATA_VERDICT);
		mnl_attr_put_u32(h, NFTA_VERDICT_CODE, htonl(NF_DROP));
		mnl_attr_nest_end(h, vd);
		mnl_attr_nest_end(h, v);
		expr_end(h, e, d2);
		rule_end(&t, h, x, tag);
	}
	if (r >= 0 && t.n_acks > 0)
		r = nft_commit(&t);
	nft_end(&t);
	close(lfd);
	return r < 0 ? errmsg_set(r, "nftables: add the isolation rule of bridge \"%s\"", bridge)
		     : 0;
}

/* "8080:80/tcp,53:53/udp": checked by berth; parsed again here. */
static int nft_add(const struct req *q, const struct leases *l, const struct cidr *a)
{
	struct nft t = { 0 };
	char tag[256];
	snprintf(tag, sizeof(tag), "berth:%s", q->host_if);
	static struct dump_ctx d;
	/* host ports are global: one check-and-add at a time, whatever the bridge */
	int lfd = nft_lock(l);
	if (lfd < 0)
		return lfd;
	int r = nft_dump(&d);
	if (r < 0)
		return r;
	r = nft_begin(&t);
	if (r < 0) {
		nft_end(&t);
		return errmsg_set(r, "nftables");
	}
	nft_base(&t);
	if (q->nat && !strcmp(q->nat, "true"))
		rule_masq(&t, a->addr, q->bridge, tag);
	if (q->ports) {
		char list[1024];
		snprintf(list, sizeof(list), "%s", q->ports);
		char *save = NULL;
		for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
			unsigned hp, cp;
			char proto[8] = "tcp";
			if (sscanf(p, "%u:%u/%7s", &hp, &cp, proto) < 2 || !hp || !cp ||
			    hp > 65535 || cp > 65535 ||
			    (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)) {
				nft_end(&t);
				return errmsg_setx(-EINVAL, "ports: bad mapping \"%s\"", p);
			}
			uint8_t pr = strcmp(proto, "udp") != 0 ? IPPROTO_TCP : IPPROTO_UDP;
			char port[16];
			snprintf(port, sizeof(port), ":%s/%u:", pr == IPPROTO_TCP ? "tcp" : "udp",
				 hp);
			for (int i = 0; i < d.n; i++) {
				const char *m = strstr(d.found[i].tag, port);
				if (m && !tag_of(d.found[i].tag, q->host_if)) {
					nft_end(&t);
					return errmsg_setx(
						-EADDRINUSE,
						"port %u/%s is already published by container "
						"\"%s\"",
						hp, proto, m + strlen(port));
				}
			}
			snprintf(tag, sizeof(tag), "berth:%s%s%.200s", q->host_if, port, q->id);
			rule_dnat(&t, "prerouting", pr, (uint16_t)hp, a->addr, (uint16_t)cp, tag);
			rule_dnat(&t, "output", pr, (uint16_t)hp, a->addr, (uint16_t)cp, tag);
		}
	}
	r = nft_commit(&t);
	nft_end(&t);
	return r < 0 ? errmsg_set(r, "nftables: add the rules of \"%s\"", q->host_if) : 0;
}

/*
 * Remove from table ip berth (which stays) every rule tagged with host_if, or
 * the isolation rule of bridge (each when not NULL).
 */
static int nft_del(const char *host_if, const char *bridge)
{
	static struct dump_ctx d;
	d.n = 0;
	int r = nft_dump(&d);
	if (r < 0)
		return r;
	struct nft t = { 0 };
	int n = 0;
	r = nft_begin(&t);
	for (int i = 0; r >= 0 && i < d.n; i++) {
		const char *tag = d.found[i].tag;
		bool mine = (host_if && tag_of(tag, host_if)) ||
			    (bridge && !strncmp(tag, "berth:isolate:", 14) &&
			     !strcmp(tag + 14, bridge));
		if (!mine)
			continue;
		n++;
		struct nlmsghdr *h = nft_msg(&t, NFT_MSG_DELRULE, 0);
		mnl_attr_put_strz(h, NFTA_RULE_TABLE, NFT_TABLE);
		mnl_attr_put_strz(h, NFTA_RULE_CHAIN, d.found[i].chain);
		mnl_attr_put(h, NFTA_RULE_HANDLE, sizeof(uint64_t), &d.found[i].handle);
		mnl_nlmsg_batch_next(t.b);
	}
	if (r >= 0 && n > 0)
		r = nft_commit(&t);
	nft_end(&t);
	return r < 0 ? errmsg_set(r, "nftables: delete the rules of \"%s\"",
				  host_if ? host_if : bridge)
		     : 0;
}

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
		r = nft_add(q, &l, &v4.addr);
		if (r < 0) {
			/* the batch is all or nothing; this is for a half commit */
			nft_del(q->host_if, NULL);
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
		nft_del(NULL, q->bridge);
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
		int nr = nft_del(q->host_if, NULL);
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
	r = nft_del(NULL, q->bridge);
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
