/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nftables for berth-net (nfnetlink batches with libmnl): owns table ip
 * "berth", its NAT and published-port rules tagged by host end and the rules
 * that keep berth's bridges apart. Runs in the berth-net process, in the
 * host's network namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>

#include "util/macro.h"
#include "errmsg.h"
#include "nft.h"

#define NFT_TABLE "berth"
/* how often a commit that lost a race over a rule is tried again from a new dump */
#define NFT_RACE_TRIES 4

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

/* The flock of <leases>/nft.lock (ipam_leases_open checked the dir); the fd, or -errno. */
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
/* One dump and one commit of nft_isolate; -ENOENT when a rule went in between. */
static int isolate_once(struct nl *n, const char *bridge, const char *tag)
{
	static struct dump_ctx d;
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
	return r;
}

/*
 * Containers on different bridges of berth must not reach each other even
 * when the host forwards. Per bridge B one rule in the forward chain:
 * "iifname B oifgroup G oifname != B drop", tagged berth:isolate:B. (With
 * br_netfilter, traffic switched inside B shows up there as B to B: hence
 * the name check rather than one group-to-group rule.) Rules of bridges that
 * are gone are dropped on the way; one that a delete (which takes no lock)
 * removed first makes the batch fail with ENOENT, and it is built again.
 */
int nft_isolate(struct nl *n, const struct leases *l, const char *bridge)
{
	char tag[64];
	snprintf(tag, sizeof(tag), "berth:isolate:%s", bridge);
	int lfd = nft_lock(l);
	if (lfd < 0)
		return lfd;
	int r = -ENOENT;
	for (int attempt = 0; r == -ENOENT && attempt < NFT_RACE_TRIES; attempt++)
		r = isolate_once(n, bridge, tag);
	close(lfd);
	return r < 0 ? errmsg_set(r, "nftables: add the isolation rule of bridge \"%s\"", bridge)
		     : 0;
}

/* "8080:80/tcp,53:53/udp": checked by berth; parsed again here. */
int nft_add_rules(const struct leases *l, const char *id, const char *host_if, const char *bridge,
		  bool nat, const char *ports, const struct cidr *a)
{
	struct nft t = { 0 };
	char tag[256];
	snprintf(tag, sizeof(tag), "berth:%s", host_if);
	static struct dump_ctx d;
	/* host ports are global: one check-and-add at a time, whatever the bridge */
	_cleanup_close_ int lfd = nft_lock(l);
	if (lfd < 0)
		return lfd;
	d.n = 0;
	int r = nft_dump(&d);
	if (r < 0)
		return r;
	r = nft_begin(&t);
	if (r < 0) {
		nft_end(&t);
		return errmsg_set(r, "nftables");
	}
	nft_base(&t);
	if (nat)
		rule_masq(&t, a->addr, bridge, tag);
	if (ports) {
		char list[1024];
		snprintf(list, sizeof(list), "%s", ports);
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
				if (m && !tag_of(d.found[i].tag, host_if)) {
					nft_end(&t);
					return errmsg_setx(
						-EADDRINUSE,
						"port %u/%s is already published by container "
						"\"%s\"",
						hp, proto, m + strlen(port));
				}
			}
			snprintf(tag, sizeof(tag), "berth:%s%s%.200s", host_if, port, id);
			rule_dnat(&t, "prerouting", pr, (uint16_t)hp, a->addr, (uint16_t)cp, tag);
			rule_dnat(&t, "output", pr, (uint16_t)hp, a->addr, (uint16_t)cp, tag);
		}
	}
	r = nft_commit(&t);
	nft_end(&t);
	return r < 0 ? errmsg_set(r, "nftables: add the rules of \"%s\"", host_if) : 0;
}

/* One dump and the commit of what it found; -ENOENT when a rule went in between. */
static int del_rules_once(const char *host_if, const char *bridge)
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
	return r;
}

/*
 * Another berth-net may delete one of these rules between our dump and our
 * commit (nft_isolate drops the rules of bridges that are gone, and a bridge
 * goes before its rule), and the kernel then refuses the whole batch with
 * ENOENT: dump again, the rule is simply no longer there.
 */
int nft_del_rules(const char *host_if, const char *bridge)
{
	int r = -ENOENT;
	for (int attempt = 0; r == -ENOENT && attempt < NFT_RACE_TRIES; attempt++)
		r = del_rules_once(host_if, bridge);
	return r < 0 ? errmsg_set(r, "nftables: delete the rules of \"%s\"",
				  host_if ? host_if : bridge)
		     : 0;
}
