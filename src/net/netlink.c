/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rtnetlink for berth-net (libmnl): owns the links, addresses and routes the
 * helper makes (bridges, veths, netDevices moved between namespaces). Runs in
 * the berth-net process, in whichever network namespace it has entered.
 */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "errmsg.h"
#include "netlink.h"

int nl_open(struct nl *n)
{
	n->s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!n->s)
		return -errno;
	if (mnl_socket_bind(n->s, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	n->portid = mnl_socket_get_portid(n->s);
	n->seq = (unsigned int)time(NULL);
	return 0;
}

/*
 * For __attribute__((cleanup)): the process ends after its one request, but
 * what a request held is freed (LeakSanitizer counts what exit finds).
 */
void nl_close(struct nl *n)
{
	if (n->s)
		mnl_socket_close(n->s);
	n->s = NULL;
}

static struct nlmsghdr *nl_msg(struct nl *n, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(n->buf);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++n->seq;
	return h;
}

/* Send h and read replies until the ack (or NLMSG_DONE of a dump); -errno of the kernel. */
static int nl_talk(struct nl *n, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
	/* NLM_F_EXCL shares its bit with NLM_F_MATCH: only a GET can be a dump */
	bool dump = h->nlmsg_type % 4 == 2 && (h->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	if (!dump)
		h->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(n->s, h, h->nlmsg_len) < 0)
		return -errno;
	char rbuf[NL_BUF];
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(n->s, rbuf, sizeof(rbuf));
		if (len < 0)
			return -errno;
		int r = mnl_cb_run(rbuf, (size_t)len, h->nlmsg_seq, n->portid, cb, data);
		if (r < 0)
			return -errno;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static struct ifinfomsg *put_ifi(struct nlmsghdr *h, int index, unsigned flags, unsigned change)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	return ifi;
}

struct link_attrs {
	int index;
	uint32_t group;
};

static int link_info_cb(const struct nlmsghdr *h, void *data)
{
	struct link_attrs *la = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	const struct nlattr *a;
	la->index = ifi->ifi_index;
	mnl_attr_for_each(a, h, sizeof(*ifi))
	{
		if (mnl_attr_get_type(a) == IFLA_GROUP &&
		    mnl_attr_get_payload_len(a) == sizeof(uint32_t))
			la->group = mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

int nl_link_info(struct nl *n, const char *name, uint32_t *ret_group)
{
	struct nlmsghdr *h = nl_msg(n, RTM_GETLINK, 0);
	put_ifi(h, 0, 0, 0);
	mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	struct link_attrs la = { 0 };
	int r = nl_talk(n, h, link_info_cb, &la);
	if (r < 0)
		return r;
	if (la.index <= 0)
		return -ENODEV;
	*ret_group = la.group;
	return la.index;
}

int nl_link_index(struct nl *n, const char *name)
{
	uint32_t group;
	return nl_link_info(n, name, &group);
}

static int ports_cb(const struct nlmsghdr *h, void *data)
{
	int *d = data; /* d[0]: the bridge's ifindex, d[1]: the count */
	const struct nlattr *a;
	mnl_attr_for_each(a, h, sizeof(struct ifinfomsg))
	{
		if (mnl_attr_get_type(a) == IFLA_MASTER &&
		    mnl_attr_get_payload_len(a) == sizeof(uint32_t) &&
		    (int)mnl_attr_get_u32(a) == d[0])
			d[1]++;
	}
	return MNL_CB_OK;
}

int nl_bridge_ports(struct nl *n, int bridge_index)
{
	struct nlmsghdr *h = nl_msg(n, RTM_GETLINK, NLM_F_DUMP);
	put_ifi(h, 0, 0, 0);
	mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	int d[2] = { bridge_index, 0 };
	int r = nl_talk(n, h, ports_cb, d);
	return r < 0 ? r : d[1];
}

int nl_link_set_up(struct nl *n, int index)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWLINK, 0);
	put_ifi(h, index, IFF_UP, IFF_UP);
	return nl_talk(n, h, NULL, NULL);
}

int nl_link_del(struct nl *n, const char *name)
{
	struct nlmsghdr *h = nl_msg(n, RTM_DELLINK, 0);
	put_ifi(h, 0, 0, 0);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	return nl_talk(n, h, NULL, NULL);
}

int nl_addr_add(struct nl *n, int index, const struct cidr *a)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)a->family;
	ifa->ifa_prefixlen = (unsigned char)a->prefix;
	ifa->ifa_index = (unsigned)index;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put(h, IFA_LOCAL, (size_t)cidr_addr_len(a->family), a->addr);
	mnl_attr_put(h, IFA_ADDRESS, (size_t)cidr_addr_len(a->family), a->addr);
	if (a->family == AF_INET6)
		mnl_attr_put_u32(h, IFA_FLAGS, IFA_F_NODAD);
	else
		ifa->ifa_flags = 0;
	return nl_talk(n, h, NULL, NULL);
}

struct addr_dump {
	int index, family;
	struct cidr found;
};

static int addr_dump_cb(const struct nlmsghdr *h, void *data)
{
	struct addr_dump *d = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
	if ((int)ifa->ifa_index != d->index || ifa->ifa_family != d->family || d->found.family)
		return MNL_CB_OK;
	if (d->family == AF_INET6 && ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return MNL_CB_OK;
	const struct nlattr *a;
	mnl_attr_for_each(a, h, sizeof(*ifa))
	{
		if (mnl_attr_get_type(a) == IFA_ADDRESS &&
		    mnl_attr_get_payload_len(a) == (uint16_t)cidr_addr_len(d->family)) {
			d->found.family = d->family;
			d->found.prefix = ifa->ifa_prefixlen;
			memcpy(d->found.addr, mnl_attr_get_payload(a),
			       (size_t)cidr_addr_len(d->family));
		}
	}
	return MNL_CB_OK;
}

int nl_addr_first(struct nl *n, int index, int family, struct cidr *ret)
{
	struct nlmsghdr *h = nl_msg(n, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	struct addr_dump d = { .index = index, .family = family };
	int r = nl_talk(n, h, addr_dump_cb, &d);
	if (r < 0)
		return r;
	*ret = d.found;
	return 0;
}

int nl_route_add_default(struct nl *n, int index, const struct cidr *gw)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
	rt->rtm_family = (unsigned char)gw->family;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put(h, RTA_GATEWAY, (size_t)cidr_addr_len(gw->family), gw->addr);
	mnl_attr_put_u32(h, RTA_OIF, (uint32_t)index);
	return nl_talk(n, h, NULL, NULL);
}

int nl_bridge_create(struct nl *n, const char *name, unsigned mtu)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	put_ifi(h, 0, IFF_UP, IFF_UP);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(h, IFLA_MTU, mtu);
	/* the group marks berth's bridges for the isolation rule (see nft_isolate) */
	mnl_attr_put_u32(h, IFLA_GROUP, BRIDGE_GROUP);
	struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(h, li);
	return nl_talk(n, h, NULL, NULL);
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned v[6];
	char end;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (unsigned char)v[i];
	if (mac[0] & 1)
		return -EINVAL; /* multicast */
	return 0;
}

/*
 * One message makes both ends: the host end on the bridge and up, the peer
 * created right in the container's namespace (by fd) under its final name.
 */
int nl_veth_create(struct nl *n, const char *host_if, const char *ifname, unsigned mtu,
		   const char *mac_text, int bridge_index, int nsfd)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	put_ifi(h, 0, IFF_UP, IFF_UP);
	mnl_attr_put_strz(h, IFLA_IFNAME, host_if);
	if (bridge_index > 0)
		mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)bridge_index);
	if (mtu)
		mnl_attr_put_u32(h, IFLA_MTU, mtu);
	struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
	struct ifinfomsg *pi = mnl_nlmsg_put_extra_header(h, sizeof(struct ifinfomsg));
	pi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, ifname);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)nsfd);
	if (mtu)
		mnl_attr_put_u32(h, IFLA_MTU, mtu);
	if (mac_text) {
		unsigned char mac[6];
		if (parse_mac(mac_text, mac) < 0)
			return errmsg_setx(-EINVAL, "mac \"%s\" is not a unicast MAC address",
					   mac_text);
		mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
	}
	mnl_attr_nest_end(h, peer);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, li);
	return nl_talk(n, h, NULL, NULL);
}

int nl_link_move(struct nl *n, int index, int nsfd, const char *newname)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWLINK, 0);
	put_ifi(h, index, 0, 0);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)nsfd);
	mnl_attr_put_strz(h, IFLA_IFNAME, newname);
	return nl_talk(n, h, NULL, NULL);
}

int nl_link_rename(struct nl *n, int index, const char *newname)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWLINK, 0);
	put_ifi(h, index, 0, 0);
	mnl_attr_put_strz(h, IFLA_IFNAME, newname);
	return nl_talk(n, h, NULL, NULL);
}

/* Wait (~1 s at most) for a device that left a dead namespace to show up on the host. */
int nl_link_wait(struct nl *n, const char *name)
{
	for (int i = 0; i < 100; i++) {
		int idx = nl_link_index(n, name);
		if (idx != -ENODEV)
			return idx;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -ENODEV;
}
