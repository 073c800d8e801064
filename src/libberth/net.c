/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * berth.net.* annotations and linux.netDevices: checked in the parent during
 * create, then carried out by the berth-net helper (src/net/berth-net.c),
 * which berth runs with the container's network namespace as fd 3.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "json.h"
#include "net.h"
#include "sync.h"
#include "util/fd.h"
#include "util/macro.h"
#include "util/path.h"
#include "util/proc.h"

#define ANN_PREFIX "berth.net."

extern char **environ;

void net_free(struct berth_net *n)
{
	if (!n)
		return;
	free(n->request);
	free(n);
}

/* A growing key=value text. */
struct buf {
	char *s;
	size_t len;
	bool oom;
};

static void buf_add(struct buf *b, const char *key, const char *value)
{
	size_t n = strlen(key) + strlen(value) + 2;
	char *ns = realloc(b->s, b->len + n + 1);
	if (!ns) {
		b->oom = true;
		return;
	}
	b->s = ns;
	b->len += (size_t)sprintf(b->s + b->len, "%s=%s\n", key, value);
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= 16 || streq(s, ".") || streq(s, ".."))
		return false;
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == ':' || *p == ' ' || *p == '\n' || *p == '\t' || *p == '=')
			return false;
	return true;
}

static int ifname_check(const char *what, const char *name, struct berth_error **err)
{
	if (strlen(name) >= 16)
		return berth_error_setx(
			err, EINVAL,
			"config.json: %s: interface name \"%s\" is longer than 15 bytes", what,
			name);
	if (!valid_ifname(name))
		return berth_error_setx(err, EINVAL,
					"config.json: %s: \"%s\" is not a valid interface name",
					what, name);
	return 0;
}

/* family AF_INET/AF_INET6; prefix: 0 none allowed, 1 optional, 2 required. */
static bool valid_addr(const char *s, int family, int prefix)
{
	char buf[64];
	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	char *slash = strchr(buf, '/');
	if (slash) {
		if (prefix == 0)
			return false;
		*slash = 0;
		char *end;
		errno = 0;
		long p = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || p < 1 || p > (family == AF_INET ? 30 : 126))
			return false;
	} else if (prefix == 2) {
		return false;
	}
	unsigned char a[16];
	return inet_pton(family, buf, a) == 1;
}

static bool valid_mac(const char *s)
{
	unsigned v[6];
	char end;
	return strlen(s) == 17 &&
	       sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		      &end) == 6 &&
	       !(v[0] & 1);
}

/* berth.net.ports: "<host port>:<container port>[/tcp|/udp]", comma-separated. */
static int ports_check(const char *k, const char *v, struct berth_error **err)
{
	_cleanup_free_ char *list = strdup(v);
	if (!list)
		return berth_error_set(err, ENOMEM, "network");
	char *save = NULL;
	int n = 0;
	for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save), n++) {
		unsigned long hp = 0, cp = 0;
		char *end = NULL;
		bool ok = *p >= '0' && *p <= '9';
		if (ok) {
			hp = strtoul(p, &end, 10);
			ok = *end == ':' && end[1] >= '0' && end[1] <= '9';
		}
		if (ok) {
			cp = strtoul(end + 1, &end, 10);
			ok = (!*end || streq(end, "/tcp") || streq(end, "/udp")) && hp >= 1 &&
			     hp <= 65535 && cp >= 1 && cp <= 65535;
		}
		if (!ok)
			return berth_error_setx(err, EINVAL,
						"config.json: annotations[\"%s\"]: \"%s\" is not "
						"HOSTPORT:PORT[/tcp|/udp]",
						k, p);
	}
	if (n == 0 || n > 64)
		return berth_error_setx(
			err, EINVAL, "config.json: annotations[\"%s\"]: give 1 to 64 mappings", k);
	return 0;
}

/* linux.netDevices: {"<host name>": {"name": "<container name>"}, ...} */
static int add_net_devices(struct buf *b, const char *json, struct berth_error **err)
{
	struct json_parser p;
	yajl_val root = NULL;
	json_parser_init(&p, "config.json", "linux.netDevices", err);
	int r = json_parse(&p, json, strlen(json), &root);
	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(root))
		r = json_fail(&p, "must be an object");
	for (size_t i = 0; r >= 0 && i < root->u.object.len; i++) {
		const char *host = root->u.object.keys[i];
		yajl_val v = root->u.object.values[i];
		_cleanup_free_ char *name = NULL, *pair = NULL;
		size_t old = json_push_name(&p, host);
		if (!YAJL_IS_OBJECT(v))
			r = json_fail(&p, "must be an object");
		else if ((r = json_field_string(&p, v, "name", &name)) >= 0 &&
			 (r = ifname_check(p.path, host, err)) >= 0 &&
			 (r = ifname_check(p.path, name ? name : host, err)) >= 0) {
			if (asprintf(&pair, "%s %s", host, name ? name : host) < 0)
				r = berth_error_set(err, ENOMEM, "linux.netDevices");
			else
				buf_add(b, "netdev", pair);
		}
		json_pop(&p, old);
	}
	yajl_tree_free(root);
	return r;
}

/* The host end's name: stable for (root, id), so delete can always find it. */
static void host_if_name(const char *root, const char *id, char ret[16])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const char *p = root; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	h = (h ^ '/') * 0x100000001b3ULL;
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	snprintf(ret, 16, "bv%012llx", (unsigned long long)(h & 0xffffffffffffULL));
}

int net_prepare(const struct berth_spec *s, const char *root, const char *id,
		struct berth_net **ret, struct berth_error **err)
{
	static const struct {
		const char *key;
		int family, prefix; /* family 0: not an address */
	} keys[] = {
		{ "bridge" },
		{ "address", AF_INET, 1 },
		{ "subnet", AF_INET, 2 },
		{ "gateway", AF_INET, 0 },
		{ "address6", AF_INET6, 1 },
		{ "subnet6", AF_INET6, 2 },
		{ "gateway6", AF_INET6, 0 },
		{ "mac" },
		{ "mtu" },
		{ "nat" },
		{ "ports" },
	};
	const char *bridge = spec_annotation(s, ANN_PREFIX "bridge");
	int r;

	*ret = NULL;
	for (size_t i = 0; i < s->n_annotations; i++) {
		const char *k = s->annotations[i].key, *v = s->annotations[i].value;
		if (strncmp(k, ANN_PREFIX, strlen(ANN_PREFIX)) != 0)
			continue;
		const char *name = k + strlen(ANN_PREFIX);
		size_t j;
		for (j = 0; j < ELEMENTSOF(keys); j++)
			if (streq(name, keys[j].key))
				break;
		if (j == ELEMENTSOF(keys))
			return berth_error_setx(
				err, EINVAL,
				"config.json: annotations[\"%s\"]: unknown berth.net "
				"setting",
				k);
		if (!bridge)
			return berth_error_setx(err, EINVAL,
						"config.json: annotations[\"%s\"]: needs "
						"\"" ANN_PREFIX "bridge\"",
						k);
		bool ok = true;
		if (keys[j].family)
			ok = valid_addr(v, keys[j].family, keys[j].prefix);
		else if (streq(name, "mac"))
			ok = valid_mac(v);
		else if (streq(name, "mtu")) {
			char *end;
			errno = 0;
			unsigned long m = strtoul(v, &end, 10);
			ok = *v && !*end && !errno && m >= 68 && m <= 65535;
		} else if (streq(name, "nat")) {
			ok = streq(v, "true") || streq(v, "false");
		} else if (streq(name, "ports")) {
			r = ports_check(k, v, err);
			if (r < 0)
				return r;
		} else if (streq(name, "bridge")) {
			r = ifname_check("annotations[\"" ANN_PREFIX "bridge\"]", v, err);
			if (r < 0)
				return r;
		}
		if (!ok) {
			const char *what = keys[j].prefix == 2 ? "a CIDR (address/prefix)"
					   : keys[j].prefix == 1
						   ? "an address with an optional /prefix"
					   : keys[j].family	? "an address"
					   : streq(name, "mac") ? "a unicast MAC address"
					   : streq(name, "mtu") ? "an MTU from 68 to 65535"
								: "true or false";
			return berth_error_setx(
				err, EINVAL, "config.json: annotations[\"%s\"]: \"%s\" is not %s",
				k, v, what);
		}
	}
	const char *devs = s->linux_.net_devices.text;
	if (devs && (streq(devs, "{}") || streq(devs, "null")))
		devs = NULL;
	if (!bridge && !devs)
		return 0;

	/* bridges, veths, leases and nftables rules of the host are root's */
	if (proc_rootless())
		return berth_error_setx(err, EPERM,
					"config.json: %s: needs root (rootless, the host's network "
					"is not berth's to change: use slirp4netns or pasta)",
					bridge ? "annotations[\"" ANN_PREFIX "bridge\"]"
					       : "linux.netDevices");
	const struct berth_namespace *ns = spec_find_ns(s, BERTH_NS_NET);
	if (!ns || ns->path)
		return berth_error_setx(err, EINVAL,
					"config.json: %s: needs a new network namespace "
					"(linux.namespaces)",
					bridge ? "annotations[\"" ANN_PREFIX "bridge\"]"
					       : "linux.netDevices");

	struct buf b = { 0 };
	char hif[16];
	_cleanup_free_ char *leases = NULL;
	if (asprintf(&leases, "%s/%s", root, BERTH_NET_LEASE_DIR) < 0)
		return berth_error_set(err, ENOMEM, "network");
	host_if_name(root, id, hif);
	buf_add(&b, "id", id);
	buf_add(&b, "leases", leases);
	if (bridge) {
		buf_add(&b, "host_if", hif);
		for (size_t j = 0; j < ELEMENTSOF(keys); j++) {
			char k[64];
			snprintf(k, sizeof(k), ANN_PREFIX "%s", keys[j].key);
			const char *v = spec_annotation(s, k);
			if (v && *v)
				buf_add(&b, keys[j].key, v);
		}
	}
	if (devs) {
		r = add_net_devices(&b, devs, err);
		if (r < 0) {
			free(b.s);
			return r;
		}
	}
	struct berth_net *n = calloc(1, sizeof(*n));
	if (!n || b.oom) {
		free(n);
		free(b.s);
		return berth_error_set(err, ENOMEM, "network");
	}
	n->request = b.s;
	*ret = n;
	return 0;
}

/* berth-net: $BERTH_NET_HELPER, next to berth, the installed one (never a build tree's). */
static int find_helper(char **ret)
{
	static const char *const fixed[] = { BERTH_NET_HELPER_PATH };
	return path_find_program("BERTH_NET_HELPER", fixed, ELEMENTSOF(fixed), "berth-net", ret);
}

/*
 * Run berth-net with a socket on fd 0, nsfd (or none) as fd 3 and the locked
 * state dir as fd 4; send it op (WIRE_NET_ADD with req, or WIRE_NET_DEL) and
 * wait for its WIRE_NET_DONE or WIRE_ERROR and its exit. berth-net keeps its record
 * in the state dir (BERTH_NET_STATE_FILE) and holds the container's lock
 * while it lives, so that should berth die, a delete waits for the helper to
 * finish before it tears down what it made.
 */
static int run_helper(int op, const char *req, int nsfd, int lock_fd, struct berth_error **err)
{
	_cleanup_free_ char *path = NULL;
	int r = find_helper(&path);
	if (r < 0)
		return berth_error_setx(
			err, -r, "network: helper berth-net not found (set BERTH_NET_HELPER)");
	int sp[2] = { -EBADF, -EBADF };
	_cleanup_close_ int ns3 = -EBADF, lock4 = -EBADF, out = -EBADF;
	int status = 0;
	pid_t pid;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return berth_error_set(err, errno, "network: socketpair");
	/* fd 3 in the helper: dup2 from a number that is surely not 3 clears CLOEXEC */
	if ((nsfd >= 0 && (ns3 = fcntl(nsfd, F_DUPFD_CLOEXEC, 10)) < 0) ||
	    (lock_fd >= 0 && (lock4 = fcntl(lock_fd, F_DUPFD_CLOEXEC, 10)) < 0)) {
		r = berth_error_set(err, errno, "network: dup");
		goto out;
	}
	/*
	 * berth-net says all it has to say on the socket; its stdout and stderr
	 * go to a memfd, read only if it ends without a word (a crash, a
	 * sanitizer report, a broken install), so that the error can say why
	 */
	out = memfd_create("berth-net-output", MFD_CLOEXEC);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sp[1], 0);
	if (out > 2)
		posix_spawn_file_actions_adddup2(&fa, out, 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (ns3 >= 0)
		posix_spawn_file_actions_adddup2(&fa, ns3, 3);
	if (lock4 >= 0)
		posix_spawn_file_actions_adddup2(&fa, lock4, 4);
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	char *argv[] = { (char *)"berth-net", NULL };
	r = posix_spawn(&pid, path, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r != 0) {
		r = berth_error_set(err, r, "network: run \"%s\"", path);
		goto out;
	}
	closep(&sp[1]);
	struct wire_msg m = WIRE_MSG_INIT;
	r = sync_send(sp[0], WIRE_NET_REQUEST, op, req);
	if (r >= 0)
		r = wire_recv(sp[0], &m);
	closep(&sp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	bool exited_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (r >= 0 && m.type == WIRE_NET_DONE && m.n_fds == 0 && exited_ok) {
		r = 0;
	} else if (r >= 0 && m.type == WIRE_ERROR && m.text) {
		r = berth_error_setx(err, m.value > 0 ? m.value : EIO, "network: %s", m.text);
	} else {
		/* killed, or gone without a word: how it ended and its last line */
		char how[64], line[256] = "";
		if (WIFSIGNALED(status))
			snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
		else if (!exited_ok)
			snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
		else
			snprintf(how, sizeof(how), "exited without an answer");
		if (out > 2)
			fd_last_line(out, line, sizeof(line));
		r = berth_error_setx(err, EIO, "network: berth-net %s%s%s", how,
				     line[0] ? ": " : "", line);
	}
	wire_msg_done(&m);
out:
	for (int i = 0; i < 2; i++)
		closep(&sp[i]);
	return r;
}

int net_setup(const struct berth_net *n, pid_t pid, int state_fd, int *ret_netns,
	      struct berth_error **err)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
	_cleanup_close_ int nsfd = open(p, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return berth_error_set(err, errno, "network: open \"%s\"", p);
	int r = run_helper(WIRE_NET_ADD, n->request, nsfd, state_fd, err);
	if (r < 0)
		return r;
	*ret_netns = TAKE_FD(nsfd);
	return 0;
}

int net_teardown(int state_fd, int netns_fd, struct berth_error **err)
{
	/* no record, nothing made: no need to run the helper */
	if (faccessat(state_fd, BERTH_NET_STATE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno == ENOENT)
		return 0;
	return run_helper(WIRE_NET_DEL, NULL, netns_fd, state_fd, err);
}

/* eth0's first global IPv6 address in our namespace, "addr/prefix" in ret (or ""). */
static int eth0_address6(char ret[64])
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	ret[0] = '\0';
	int r = read_file_at(AT_FDCWD, "/proc/self/net/if_inet6", 1 << 20, &text, &len);
	if (r == -ENOENT)
		return 0; /* no IPv6 in this kernel */
	if (r < 0)
		return r;
	/* "fd000000000000000000000000000003 02 40 00 80 eth0": address, index, prefix, scope */
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char hex[33], name[IF_NAMESIZE];
		unsigned idx, prefix, scope, flags;
		unsigned char a[16];
		if (sscanf(line, "%32s %x %x %x %x %15s", hex, &idx, &prefix, &scope, &flags,
			   name) != 6 ||
		    !streq(name, "eth0") || scope != 0 || strlen(hex) != 32)
			continue;
		for (int i = 0; i < 16; i++) {
			unsigned byte;
			if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
				return -EBADMSG;
			a[i] = (unsigned char)byte;
		}
		char s[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, a, s, sizeof(s));
		snprintf(ret, 64, "%s/%u", s, prefix);
		return 0;
	}
	return 0;
}

/* eth0's IPv4 address in our namespace, "addr/prefix" in ret (or ""). */
static int eth0_address4(char ret[64])
{
	ret[0] = '\0';
	_cleanup_close_ int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth0");
	if (ioctl(sock, SIOCGIFADDR, &ifr) < 0)
		return errno == ENODEV || errno == EADDRNOTAVAIL ? 0 : -errno;
	struct in_addr a = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
	if (ioctl(sock, SIOCGIFNETMASK, &ifr) < 0)
		return -errno;
	uint32_t mask = ntohl(((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr.s_addr);
	char s[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &a, s, sizeof(s));
	snprintf(ret, 64, "%s/%d", s, __builtin_popcount(mask));
	return 0;
}

int net_addresses(pid_t pid, char **ret, struct berth_error **err)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
	_cleanup_close_ int nsfd = open(p, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return berth_error_set(err, errno, "network: open \"%s\"", p);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return berth_error_set(err, errno, "network: pipe");
	_cleanup_close_ int rd = pfd[0], wr = pfd[1];
	/* a child enters the namespace: berth itself never leaves its own */
	pid_t child = fork();
	if (child < 0)
		return berth_error_set(err, errno, "network: fork");
	if (child == 0) {
		char v4[64] = "", v6[64] = "", out[160];
		int r = setns(nsfd, CLONE_NEWNET) < 0 ? -errno : eth0_address4(v4);
		if (r >= 0)
			r = eth0_address6(v6);
		if (r < 0)
			_exit(-r);
		int n = snprintf(out, sizeof(out), "%s%s%s%s%s%s", *v4 ? "address=" : "", v4,
				 *v4 ? "\n" : "", *v6 ? "address6=" : "", v6, *v6 ? "\n" : "");
		_exit(write_all(wr, out, (size_t)n) < 0 ? EIO : 0);
	}
	closep(&wr);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_fd_all(rd, 4096, &text, &len);
	int st = 0;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return berth_error_set(err, WIFEXITED(st) ? WEXITSTATUS(st) : EIO,
				       "network: read eth0's addresses");
	if (r < 0)
		return berth_error_set(err, -r, "network: read eth0's addresses");
	*ret = TAKE_PTR(text);
	return 0;
}

/* Does the request have a key= line? */
static bool request_has(const char *req, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = req; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == '=')
			return true;
	return false;
}

int net_keep_addresses(struct berth_net *n, const char *text, const char *source,
		       struct berth_error **err)
{
	_cleanup_free_ char *copy = strdup(text);
	if (!copy)
		return berth_error_set(err, ENOMEM, "network");
	struct buf b = { .s = n->request, .len = strlen(n->request) };
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		int family = 0;
		if (eq) {
			*eq = '\0';
			family = streq(line, "address")	   ? AF_INET
				 : streq(line, "address6") ? AF_INET6
							   : 0;
		}
		if (!family || !valid_addr(eq + 1, family, 1)) {
			if (eq)
				*eq = '=';
			n->request = b.s;
			return berth_error_setx(err, EBADMSG, "%s: \"%s\" is not an address line",
						source, line);
		}
		if (!request_has(b.s, line))
			buf_add(&b, line, eq + 1);
	}
	n->request = b.s;
	if (b.oom)
		return berth_error_set(err, ENOMEM, "network");
	return 0;
}
