/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The systemd cgroup driver (systemd-scope.h): names (slice, unit, cgroup
 * directory), the transient scope's properties, StartTransientUnit and
 * StopUnit on org.freedesktop.systemd1 and the wait for their jobs. Runs in
 * the berth process; only a container made with --systemd-cgroup gets here.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup-devices.h"
#include "cgroup-fs.h"
#include "dbus.h"
#include "systemd-scope.h"
#include "util/macro.h"
#include "util/path.h"
#include "util/proc.h"

#define SD_DEST		   "org.freedesktop.systemd1"
#define SD_PATH		   "/org/freedesktop/systemd1"
#define SD_MANAGER	   "org.freedesktop.systemd1.Manager"
#define SD_INFINITY	   UINT64_MAX
#define SD_CPU_WEIGHT_IDLE 0
#define SD_JOB_TIMEOUT_MS  30000
#define ANNOTATION_PREFIX  "org.systemd.property."

/*
 * Rootless, the scope is the user's systemd's (user@UID.service), asked for
 * on the user's bus, and its default slice is that manager's user.slice.
 */
static const char *default_slice(void)
{
	return proc_rootless() ? "user.slice" : "system.slice";
}

static int bus_open(struct dbus **ret, struct berth_error **err);
static int user_manager_root(const char *root, char **ret, struct berth_error **err);

/* ---- names ---- */

static bool unit_chars_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && !strchr(":-_.\\@", s[i]))
			return false;
	return true;
}

int systemd_slice_path(const char *slice, char **ret)
{
	size_t n = strlen(slice);
	if (n < 6 || !streq(slice + n - 6, ".slice") || !unit_chars_ok(slice, n))
		return -EINVAL;
	if (streq(slice, "-.slice")) {
		*ret = strdup("");
		return *ret ? 0 : -ENOMEM;
	}
	size_t base = n - 6;
	/* every '-' ends the name of a parent; none may be empty */
	if (slice[0] == '-' || slice[base - 1] == '-' || strstr(slice, "--"))
		return -EINVAL;
	size_t cap = n * (n + 1) + 1, len = 0;
	char *p = malloc(cap);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i <= base; i++) {
		if (i < base && slice[i] != '-')
			continue;
		len += (size_t)snprintf(p + len, cap - len, "%s%.*s.slice", len ? "/" : "", (int)i,
					slice);
	}
	p[len] = 0;
	*ret = p;
	return 0;
}

int systemd_scope_resolve(const char *cgroups_path, const char *id, char **ret_unit,
			  char **ret_slice, char **ret_path, struct berth_error **err)
{
	const char *root = cgroup_unified_root();
	if (!root)
		return berth_error_setx(err, ENOTSUP,
					"--systemd-cgroup: no cgroup2 hierarchy is mounted");
	_cleanup_free_ char *slice = NULL, *prefix = NULL, *name = NULL;
	if (!cgroups_path || !*cgroups_path) {
		slice = strdup(default_slice());
		prefix = strdup("berth");
		name = strdup(id);
	} else {
		const char *c1 = strchr(cgroups_path, ':');
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || strchr(c2 + 1, ':'))
			return berth_error_setx(
				err, EINVAL,
				"config.json: linux.cgroupsPath: \"%s\" is not "
				"\"slice:prefix:name\" (the systemd cgroup driver's form)",
				cgroups_path);
		slice = c1 == cgroups_path ? strdup(default_slice())
					   : strndup(cgroups_path, (size_t)(c1 - cgroups_path));
		prefix = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
		name = strdup(c2[1] ? c2 + 1 : id);
	}
	if (!slice || !prefix || !name)
		return berth_error_set(err, ENOMEM, "cgroup");

	char *unit;
	size_t nl = strlen(name);
	bool has_suffix = nl > 6 && streq(name + nl - 6, ".scope");
	int n = asprintf(&unit, "%s%s%s%s", prefix, *prefix ? "-" : "", name,
			 has_suffix ? "" : ".scope");
	if (n < 0)
		return berth_error_set(err, ENOMEM, "cgroup");
	_cleanup_free_ char *unit_owned = unit;
	if (nl > 6 && streq(name + nl - 6, ".slice"))
		return berth_error_setx(err, ENOTSUP,
					"config.json: linux.cgroupsPath: \"%s\": a container in a "
					"slice unit of its own is not supported, only a scope",
					cgroups_path);
	if (!unit_chars_ok(unit, strlen(unit)) || strlen(unit) > 255)
		return berth_error_setx(
			err, EINVAL,
			"config.json: linux.cgroupsPath: \"%s\" is not a valid unit name", unit);

	_cleanup_free_ char *spath = NULL;
	int r = systemd_slice_path(slice, &spath);
	if (r == -ENOMEM)
		return berth_error_set(err, ENOMEM, "cgroup");
	if (r < 0)
		return berth_error_setx(err, EINVAL,
					"config.json: linux.cgroupsPath: \"%s\" is not a slice "
					"(\"NAME.slice\", parents joined by '-')",
					slice);
	_cleanup_free_ char *user_root = NULL;
	if (proc_rootless()) {
		r = user_manager_root(root, &user_root, err);
		if (r < 0)
			return r;
		root = user_root;
	}
	_cleanup_free_ char *dir = path_join(root, spath);
	char *full = dir ? path_join(dir, unit) : NULL;
	if (!full)
		return berth_error_set(err, ENOMEM, "cgroup");
	*ret_unit = TAKE_PTR(unit_owned);
	*ret_slice = TAKE_PTR(slice);
	*ret_path = full;
	return 0;
}

/* ---- properties ---- */

static void prop_open(struct dbus_writer *w, const char *name, const char *sig)
{
	dbus_struct_open(w);
	dbus_put_str(w, name);
	dbus_variant_open(w, sig);
}

static void prop_u64(struct dbus_writer *w, const char *name, uint64_t v)
{
	prop_open(w, name, "t");
	dbus_put_u64(w, v);
}

static void prop_str(struct dbus_writer *w, const char *name, const char *v)
{
	prop_open(w, name, "s");
	dbus_put_str(w, v);
}

static void prop_bool(struct dbus_writer *w, const char *name, bool v)
{
	prop_open(w, name, "b");
	dbus_put_bool(w, v);
}

static uint64_t limit_or_infinity(int64_t v)
{
	return v < 0 ? SD_INFINITY : (uint64_t)v;
}

/*
 * A cpuset list ("0-3,8") as systemd's bitmask (ay: bit n is bit n%8 of
 * byte n/8); false for a list berth cannot read (the cgroup file then says why).
 */
static bool prop_cpuset(struct dbus_writer *w, const char *name, const char *list)
{
	uint8_t mask[1024] = { 0 };
	size_t used = 0;
	for (const char *s = list; *s;) {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;
		if (end == s)
			return false;
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s)
				return false;
		}
		if (b < a || b >= sizeof(mask) * 8)
			return false;
		for (unsigned long i = a; i <= b; i++)
			mask[i / 8] |= (uint8_t)(1u << (i % 8));
		if (b / 8 + 1 > used)
			used = b / 8 + 1;
		s = end;
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return false;
		else if (*s)
			break;
	}
	prop_open(w, name, "ay");
	size_t arr = dbus_array_open(w, 1);
	for (size_t i = 0; i < used; i++)
		dbus_put_byte(w, mask[i]);
	dbus_array_close(w, arr);
	return true;
}

/*
 * A cpu quota (microseconds per period, < 0: none) and its period (0: not
 * given, 100 ms for the quota) as CPUQuotaPerSecUSec and CPUQuotaPeriodUSec.
 */
static void prop_quota(struct dbus_writer *w, int64_t quota, uint64_t period)
{
	uint64_t p = period ? period : 100000;
	if (quota < 0) {
		prop_u64(w, "CPUQuotaPerSecUSec", SD_INFINITY);
	} else if (quota > 0) {
		/*
		 * systemd keeps the quota as a whole percentage of one CPU:
		 * round up to 10 ms a second, so that the exact cpu.max
		 * berth writes is within what systemd allows.
		 */
		uint64_t us = ((uint64_t)quota * 1000000 + p - 1) / p;
		us = (us + 9999) / 10000 * 10000;
		prop_u64(w, "CPUQuotaPerSecUSec", us);
	}
	if (period)
		prop_u64(w, "CPUQuotaPeriodUSec", period);
}

static bool parse_u64(const char *s, uint64_t *v);

/* A cgroup file's "max" or number as a property value (false: neither). */
static bool parse_max(const char *s, uint64_t *v)
{
	if (streq(s, "max")) {
		*v = SD_INFINITY;
		return true;
	}
	return !streq(s, "infinity") && parse_u64(s, v);
}

/*
 * The linux.resources.unified keys systemd has a property for, so that a
 * daemon-reload (systemd writing its properties back) undoes none of them;
 * a value berth cannot read is left to the file write, which says why.
 */
static void unified_props(struct dbus_writer *w, const struct berth_resources *res)
{
	static const struct {
		const char *key, *prop;
	} plain[] = {
		{ "memory.min", "MemoryMin" },		{ "memory.low", "MemoryLow" },
		{ "memory.high", "MemoryHigh" },	{ "memory.max", "MemoryMax" },
		{ "memory.swap.max", "MemorySwapMax" }, { "pids.max", "TasksMax" },
	};
	for (size_t i = 0; i < res->n_unified; i++) {
		const char *k = res->unified[i].key, *v = res->unified[i].value;
		_cleanup_free_ char *val = strndup(v, strcspn(v, "\n"));
		if (!val)
			return;
		uint64_t u;
		for (size_t j = 0; j < ELEMENTSOF(plain); j++)
			if (streq(k, plain[j].key) && parse_max(val, &u))
				prop_u64(w, plain[j].prop, u);
		if (streq(k, "cpu.idle") && streq(val, "1"))
			prop_u64(w, "CPUWeight", SD_CPU_WEIGHT_IDLE);
		else if (streq(k, "cpu.weight") && parse_u64(val, &u) && u >= 1 && u <= 10000)
			prop_u64(w, "CPUWeight", u);
		else if (streq(k, "io.weight") &&
			 parse_u64(val + (strncmp(val, "default ", 8) == 0 ? 8 : 0), &u) &&
			 u >= 1 && u <= 10000)
			prop_u64(w, "IOWeight", u);
		else if (streq(k, "cpuset.cpus"))
			(void)prop_cpuset(w, "AllowedCPUs", val);
		else if (streq(k, "cpuset.mems"))
			(void)prop_cpuset(w, "AllowedMemoryNodes", val);
		else if (streq(k, "cpu.max")) {
			char q[32];
			unsigned long long per = 0;
			int got = sscanf(val, "%31s %llu", q, &per);
			if (got >= 1 && parse_max(q, &u) && (got == 1 || per > 0))
				prop_quota(w,
					   u == SD_INFINITY ? -1
							    : (int64_t)MIN(u, (uint64_t)INT64_MAX),
					   per);
		}
	}
}

void systemd_resource_props(struct dbus_writer *w, const struct berth_resources *res)
{
	const __typeof__(res->memory) *m = &res->memory;
	if (m->has_limit)
		prop_u64(w, "MemoryMax", limit_or_infinity(m->limit));
	if (m->has_reservation)
		prop_u64(w, "MemoryLow", limit_or_infinity(m->reservation));
	/* OCI's swap is memory+swap; systemd's (and cgroup v2's) is swap alone */
	if (m->has_swap && m->swap < 0)
		prop_u64(w, "MemorySwapMax", SD_INFINITY);
	else if (m->has_swap && m->has_limit && m->limit >= 0 && m->swap >= m->limit)
		prop_u64(w, "MemorySwapMax", (uint64_t)(m->swap - m->limit));

	const __typeof__(res->cpu) *c = &res->cpu;
	if (c->has_shares && c->shares)
		prop_u64(w, "CPUWeight", cpu_shares_to_weight(c->shares));
	/* systemd's CPUWeight=idle (0) is cpu.idle 1; without it a reload writes 0 */
	if (c->has_idle && c->idle == 1)
		prop_u64(w, "CPUWeight", SD_CPU_WEIGHT_IDLE);
	if (c->has_quota)
		prop_quota(w, c->quota, c->has_period ? c->period : 0);
	else if (c->has_period && c->period)
		prop_u64(w, "CPUQuotaPeriodUSec", c->period);

	if (c->cpus)
		(void)prop_cpuset(w, "AllowedCPUs", c->cpus);
	if (c->mems)
		(void)prop_cpuset(w, "AllowedMemoryNodes", c->mems);

	if (res->pids.has_limit)
		prop_u64(w, "TasksMax", limit_or_infinity(res->pids.limit));
	if (res->block_io.has_weight && res->block_io.weight)
		prop_u64(w, "IOWeight", blkio_to_io_weight(res->block_io.weight));
	/* after the fields above, as cgroup_apply() writes unified last: it wins in both */
	unified_props(w, res);
}

/* ---- device rules ---- */

/*
 * The name /proc/devices gives major in its "Character devices:" (type 'c')
 * or "Block devices:" section, in buf; false if it has none systemd could
 * take as "char-NAME" (none, or one with characters of a glob or a path).
 */
static bool device_major_name(char type, int64_t major, char *buf, size_t size)
{
	FILE *f = fopen("/proc/devices", "re");
	if (!f)
		return false;
	const char *want = type == 'c' ? "Character devices:" : "Block devices:";
	bool in = false, found = false;
	char line[256], name[128];
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		long long m;
		if (strstr(line, "devices:"))
			in = streq(line, want);
		else if (in && sscanf(line, " %lld %127s", &m, name) == 2 && m == major)
			found = true;
	}
	fclose(f);
	if (!found)
		return false;
	for (const char *c = name; *c; c++)
		if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') &&
		    !(*c >= '0' && *c <= '9') && !strchr("_-.", *c))
			return false;
	snprintf(buf, size, "%s", name);
	return true;
}

struct dev_allow {
	char path[160];
	bool read, write, mknod;
};

/* Add (path, access) to v, merging the access of an entry for the same path. */
static void dev_allow_add(struct dev_allow *v, size_t *n, const char *path,
			  const struct berth_res_device *d)
{
	size_t i = 0;
	while (i < *n && !streq(v[i].path, path))
		i++;
	if (i == *n) {
		v[i] = (struct dev_allow){ 0 };
		snprintf(v[i].path, sizeof(v[i].path), "%s", path);
		(*n)++;
	}
	v[i].read |= d->read;
	v[i].write |= d->write;
	v[i].mknod |= d->mknod;
}

int systemd_device_props(struct dbus_writer *w, const struct berth_resources *res)
{
	_cleanup_free_ struct berth_res_device *rules = NULL;
	size_t n = 0;
	if (cgroup_devices_rules(res->devices, res->n_devices, &rules, &n) < 0)
		return -ENOMEM;
	/* what a deny of everything ends has no say any more */
	size_t start = 0;
	for (size_t i = 0; i < n; i++)
		if (!rules[i].allow && rules[i].type == 'a' && rules[i].major < 0 &&
		    rules[i].minor < 0 && rules[i].read && rules[i].write && rules[i].mknod)
			start = i + 1;
	_cleanup_free_ struct dev_allow *v = calloc(2 * n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t nv = 0;
	for (size_t i = start; i < n; i++) {
		const struct berth_res_device *d = &rules[i];
		if (!d->allow || !(d->read || d->write || d->mknod))
			continue;
		for (int k = 0; k < 2; k++) {
			char t = k ? 'b' : 'c';
			if (d->type != 'a' && d->type != t)
				continue;
			const char *kind = t == 'c' ? "char" : "block";
			char path[160], name[128];
			/*
			 * A rule systemd cannot name (any major with one
			 * minor, a major without a usable name) allows the
			 * whole type there: berth's own program keeps the
			 * exact rule, systemd's must not refuse what it allows.
			 */
			if (d->major >= 0 && d->minor >= 0)
				snprintf(path, sizeof(path), "/dev/%s/%lld:%lld", kind,
					 (long long)d->major, (long long)d->minor);
			else if (d->major >= 0 &&
				 device_major_name(t, d->major, name, sizeof(name)))
				snprintf(path, sizeof(path), "%s-%s", kind, name);
			else
				snprintf(path, sizeof(path), "%s-*", kind);
			dev_allow_add(v, &nv, path, d);
		}
	}
	prop_str(w, "DevicePolicy", "strict");
	prop_open(w, "DeviceAllow", "a(ss)");
	size_t arr = dbus_array_open(w, 8);
	for (size_t i = 0; i < nv; i++) {
		char acc[4];
		size_t a = 0;
		if (v[i].read)
			acc[a++] = 'r';
		if (v[i].write)
			acc[a++] = 'w';
		if (v[i].mknod)
			acc[a++] = 'm';
		acc[a] = 0;
		dbus_struct_open(w);
		dbus_put_str(w, v[i].path);
		dbus_put_str(w, acc);
	}
	dbus_array_close(w, arr);
	return 0;
}

/* The properties whose type berth knows; any other takes its type from the value. */
static const struct {
	const char *name;
	char type;
} known_props[] = {
	{ "TasksMax", 't' },
	{ "MemoryMax", 't' },
	{ "MemoryHigh", 't' },
	{ "MemoryLow", 't' },
	{ "MemoryMin", 't' },
	{ "MemorySwapMax", 't' },
	{ "CPUWeight", 't' },
	{ "StartupCPUWeight", 't' },
	{ "CPUQuotaPerSecUSec", 't' },
	{ "CPUQuotaPeriodUSec", 't' },
	{ "IOWeight", 't' },
	{ "StartupIOWeight", 't' },
	{ "TimeoutStopUSec", 't' },
	{ "RuntimeMaxUSec", 't' },
	{ "CPUAccounting", 'b' },
	{ "MemoryAccounting", 'b' },
	{ "TasksAccounting", 'b' },
	{ "IOAccounting", 'b' },
	{ "DefaultDependencies", 'b' },
	{ "SendSIGKILL", 'b' },
	{ "CollectMode", 's' },
	{ "KillMode", 's' },
	{ "DevicePolicy", 's' },
	{ "Description", 's' },
};

static bool parse_u64(const char *s, uint64_t *v)
{
	if (streq(s, "infinity")) {
		*v = SD_INFINITY;
		return true;
	}
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

static bool parse_bool(const char *s, bool *v)
{
	if (streq(s, "true") || streq(s, "yes") || streq(s, "1"))
		*v = true;
	else if (streq(s, "false") || streq(s, "no") || streq(s, "0"))
		*v = false;
	else
		return false;
	return true;
}

int systemd_annotation_prop(struct dbus_writer *w, const char *name, const char *value,
			    struct berth_error **err)
{
	static const char *const reserved[] = { "PIDs", "Slice", "Delegate" };
	for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
		if (streq(name, reserved[i]))
			return berth_error_setx(err, EINVAL,
						"annotation " ANNOTATION_PREFIX "%s: berth sets "
						"this property itself",
						name);
	if (!*name || !unit_chars_ok(name, strlen(name)))
		return berth_error_setx(err, EINVAL,
					"annotation " ANNOTATION_PREFIX "%s: not a property name",
					name);
	char type = 0;
	for (size_t i = 0; i < ELEMENTSOF(known_props); i++)
		if (streq(name, known_props[i].name))
			type = known_props[i].type;

	const char *v = value;
	size_t vl = strlen(v);
	bool quoted = vl >= 2 && (v[0] == '\'' || v[0] == '"') && v[vl - 1] == v[0];
	if (strncmp(v, "uint64 ", 7) == 0 && type != 's') {
		v += 7;
		type = 't';
	}
	uint64_t u;
	bool b;
	if ((type == 't' || !type) && parse_u64(v, &u)) {
		prop_u64(w, name, u);
	} else if ((type == 'b' || !type) && parse_bool(v, &b)) {
		prop_bool(w, name, b);
	} else if (type == 's' && !quoted) {
		prop_str(w, name, v);
	} else if ((type == 's' || !type) && quoted) {
		_cleanup_free_ char *s = strndup(v + 1, vl - 2);
		if (!s)
			return berth_error_set(err, ENOMEM, "annotation");
		prop_str(w, name, s);
	} else {
		return berth_error_setx(err, EINVAL,
					"annotation " ANNOTATION_PREFIX "%s: cannot encode \"%s\" "
					"as a %s",
					name, value,
					type == 't'   ? "uint64 (a number or \"infinity\")"
					: type == 'b' ? "bool (true or false)"
						      : "property value (uint64 N, a number, "
							"true/false or a 'quoted' string)");
	}
	return 0;
}

/* ---- the bus ---- */

static int bus_open(struct dbus **ret, struct berth_error **err)
{
	_cleanup_(berth_error_freep) struct berth_error *e = NULL;
	bool user = proc_rootless();
	int r = user ? dbus_open_user(ret, &e) : dbus_open_system(ret, &e);
	if (r < 0 && user && (r == -ENOENT || r == -ECONNREFUSED))
		return berth_error_setx(err, -r,
					"--systemd-cgroup: %s (is the user's systemd running? "
					"loginctl enable-linger)",
					e ? e->msg : "user bus");
	if (r < 0)
		return berth_error_setx(err, -r, "--systemd-cgroup: %s",
					e      ? e->msg
					: user ? "user bus"
					       : "system bus");
	return 0;
}

/*
 * The cgroup directory of the user's systemd (its Manager's ControlGroup,
 * "/user.slice/user-UID.slice/user@UID.service") under the cgroup2 root: its
 * slices are there, not at the root.
 */
static int user_manager_root(const char *root, char **ret, struct berth_error **err)
{
	_cleanup_(dbus_closep) struct dbus *b = NULL;
	int r = bus_open(&b, err);
	if (r < 0)
		return r;
	static const char what[] = "systemd: the user manager's ControlGroup";
	struct dbus_writer w = { 0 };
	dbus_put_str(&w, SD_MANAGER);
	dbus_put_str(&w, "ControlGroup");
	struct dbus_message reply;
	r = dbus_call(b, SD_DEST, SD_PATH, "org.freedesktop.DBus.Properties", "Get", "ss", &w,
		      &reply, what, err);
	dbus_writer_done(&w);
	if (r < 0)
		return r;
	struct dbus_reader rd;
	const char *type, *cg;
	char *dir = NULL;
	dbus_reader_init(&rd, &reply);
	if (!streq(reply.sig, "v") || !dbus_get_sig(&rd, &type) || !streq(type, "s") ||
	    !dbus_get_str(&rd, &cg) || cg[0] != '/')
		r = berth_error_setx(err, EBADMSG, "%s: not a cgroup path in the reply", what);
	else if (!(dir = path_join(root, cg)))
		r = berth_error_set(err, ENOMEM, "%s", what);
	else
		*ret = dir;
	dbus_message_done(&reply);
	return r;
}

/* Ask for JobRemoved before the job exists, or it may end unseen. */
static int subscribe(struct dbus *b, struct berth_error **err)
{
	struct dbus_writer w = { 0 };
	dbus_put_str(&w, "type='signal',sender='" SD_DEST "',path='" SD_PATH
			 "',interface='" SD_MANAGER "',member='JobRemoved'");
	int r = dbus_call(b, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			  "org.freedesktop.DBus", "AddMatch", "s", &w, NULL,
			  "systemd: AddMatch JobRemoved", err);
	dbus_writer_done(&w);
	if (r < 0)
		return r;
	return dbus_call(b, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL, NULL,
			 "systemd: Subscribe", err);
}

/* The job path of reply (signature "o"), then its JobRemoved; result "done" is success. */
static int wait_job(struct dbus *b, struct dbus_message *reply, const char *what,
		    struct berth_error **err)
{
	struct dbus_reader rd;
	const char *job;
	dbus_reader_init(&rd, reply);
	if (!streq(reply->sig, "o") || !dbus_get_str(&rd, &job))
		return berth_error_setx(err, EBADMSG, "%s: the reply names no job", what);
	struct dbus_message m;
	int r = dbus_wait_signal(b, SD_MANAGER, "JobRemoved", 1, job, SD_JOB_TIMEOUT_MS, &m, err);
	if (r < 0)
		return r;
	/* uoss: id, job, unit, result */
	const char *unit = NULL, *result = NULL;
	uint32_t id;
	dbus_reader_init(&rd, &m);
	if (!dbus_get_u32(&rd, &id) || !dbus_get_str(&rd, &job) || !dbus_get_str(&rd, &unit) ||
	    !dbus_get_str(&rd, &result))
		r = berth_error_setx(err, EBADMSG, "%s: a JobRemoved signal berth cannot read",
				     what);
	else if (!streq(result, "done"))
		r = berth_error_setx(err, EIO, "%s: the job ended \"%s\"", what, result);
	dbus_message_done(&m);
	return r;
}

void systemd_holder_release(pid_t holder)
{
	if (holder <= 0)
		return;
	kill(holder, SIGKILL);
	while (waitpid(holder, NULL, 0) < 0 && errno == EINTR)
		;
}

/* A child that only waits in the scope until the init is in it; dies with us. */
static pid_t holder_fork(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
	return pid;
}

int systemd_scope_start(const char *unit, const char *slice, const char *id,
			const struct berth_resources *res, const struct berth_kv *annotations,
			size_t n_annotations, pid_t *ret_holder, struct berth_error **err)
{
	_cleanup_(dbus_closep) struct dbus *b = NULL;
	int r = bus_open(&b, err);
	if (r < 0)
		return r;
	const char *root = cgroup_unified_root();
	if (!root || !streq(root, "/sys/fs/cgroup"))
		return berth_error_setx(err, ENOTSUP,
					"--systemd-cgroup: berth's systemd cgroup driver needs a "
					"cgroup v2 host (/sys/fs/cgroup is not cgroup2)");
	r = subscribe(b, err);
	if (r < 0)
		return r;

	_cleanup_free_ char *desc = NULL;
	if (asprintf(&desc, "berth container %s", id) < 0)
		return berth_error_set(err, ENOMEM, "systemd");
	struct dbus_writer w = { 0 };
	dbus_put_str(&w, unit);
	dbus_put_str(&w, "fail");
	size_t props = dbus_array_open(&w, 8);
	prop_str(&w, "Description", desc);
	prop_str(&w, "Slice", slice);
	prop_bool(&w, "Delegate", true);
	systemd_resource_props(&w, res);
	/* rootless, berth sets no device rules (cgroup_apply()): nor does systemd then */
	if (!proc_rootless() && systemd_device_props(&w, res) < 0) {
		dbus_writer_done(&w);
		return berth_error_set(err, ENOMEM, "systemd");
	}
	for (size_t i = 0; i < n_annotations; i++) {
		const char *k = annotations[i].key;
		if (strncmp(k, ANNOTATION_PREFIX, strlen(ANNOTATION_PREFIX)) != 0)
			continue;
		r = systemd_annotation_prop(&w, k + strlen(ANNOTATION_PREFIX), annotations[i].value,
					    err);
		if (r < 0) {
			dbus_writer_done(&w);
			return r;
		}
	}
	pid_t holder = holder_fork();
	if (holder < 0) {
		dbus_writer_done(&w);
		return berth_error_set(err, errno, "systemd: fork the scope's first process");
	}
	prop_open(&w, "PIDs", "au");
	size_t pids = dbus_array_open(&w, 4);
	dbus_put_u32(&w, (uint32_t)holder);
	dbus_array_close(&w, pids);
	dbus_array_close(&w, props);
	size_t aux = dbus_array_open(&w, 8);
	dbus_array_close(&w, aux);

	_cleanup_free_ char *what = NULL;
	if (asprintf(&what, "systemd: start unit \"%s\"", unit) < 0)
		what = NULL;
	struct dbus_message reply;
	r = dbus_call(b, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit", "ssa(sv)a(sa(sv))", &w,
		      &reply, what ? what : "systemd: StartTransientUnit", err);
	dbus_writer_done(&w);
	if (r >= 0) {
		r = wait_job(b, &reply, what ? what : "systemd: StartTransientUnit", err);
		dbus_message_done(&reply);
		if (r < 0)
			(void)systemd_scope_stop(unit, NULL);
	}
	if (r < 0) {
		systemd_holder_release(holder);
		return r;
	}
	*ret_holder = holder;
	return 0;
}

int systemd_scope_attach(const char *unit, pid_t pid, const char *sub, struct berth_error **err)
{
	_cleanup_(dbus_closep) struct dbus *b = NULL;
	int r = bus_open(&b, err);
	if (r < 0)
		return r;
	/* "": the scope's own cgroup; systemd wants a cgroup below it as "/SUB" */
	_cleanup_free_ char *subpath = NULL;
	if (sub && *sub && asprintf(&subpath, "%s%s", *sub == '/' ? "" : "/", sub) < 0)
		return berth_error_set(err, ENOMEM, "systemd");
	struct dbus_writer w = { 0 };
	dbus_put_str(&w, unit);
	dbus_put_str(&w, subpath ? subpath : "");
	size_t pids = dbus_array_open(&w, 4);
	dbus_put_u32(&w, (uint32_t)pid);
	dbus_array_close(&w, pids);
	_cleanup_free_ char *what = NULL;
	if (asprintf(&what, "systemd: move pid %d into unit \"%s\"", (int)pid, unit) < 0)
		what = NULL;
	r = dbus_call(b, SD_DEST, SD_PATH, SD_MANAGER, "AttachProcessesToUnit", "ssau", &w, NULL,
		      what ? what : "systemd: AttachProcessesToUnit", err);
	dbus_writer_done(&w);
	return r;
}

static int call_unit(struct dbus *b, const char *member, const char *unit, bool mode,
		     struct dbus_message *reply, const char *what, struct berth_error **err)
{
	struct dbus_writer w = { 0 };
	dbus_put_str(&w, unit);
	if (mode)
		dbus_put_str(&w, "replace");
	int r = dbus_call(b, SD_DEST, SD_PATH, SD_MANAGER, member, mode ? "ss" : "s", &w, reply,
			  what, err);
	dbus_writer_done(&w);
	return r;
}

int systemd_scope_update(const char *unit, const struct berth_resources *res,
			 struct berth_error **err)
{
	struct dbus_writer w = { 0 };
	dbus_put_str(&w, unit);
	dbus_put_bool(&w, true); /* runtime: a transient unit has nothing else */
	size_t props = dbus_array_open(&w, 8);
	size_t empty = w.len;
	systemd_resource_props(&w, res);
	bool any = w.len > empty;
	dbus_array_close(&w, props);
	_cleanup_(dbus_closep) struct dbus *b = NULL;
	int r = 0;
	if (any)
		r = bus_open(&b, err);
	if (any && r >= 0) {
		_cleanup_free_ char *what = NULL;
		if (asprintf(&what, "systemd: set properties of unit \"%s\"", unit) < 0)
			what = NULL;
		r = dbus_call(b, SD_DEST, SD_PATH, SD_MANAGER, "SetUnitProperties", "sba(sv)", &w,
			      NULL, what ? what : "systemd: SetUnitProperties", err);
	}
	dbus_writer_done(&w);
	return r;
}

int systemd_scope_stop(const char *unit, struct berth_error **err)
{
	_cleanup_(dbus_closep) struct dbus *b = NULL;
	int r = bus_open(&b, err);
	if (r < 0)
		return r;
	r = subscribe(b, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *what = NULL;
	if (asprintf(&what, "systemd: stop unit \"%s\"", unit) < 0)
		return berth_error_set(err, ENOMEM, "systemd");
	_cleanup_(berth_error_freep) struct berth_error *e = NULL;
	struct dbus_message reply;
	r = call_unit(b, "StopUnit", unit, true, &reply, what, &e);
	if (r == -ENOENT)
		return 0; /* NoSuchUnit: it stopped once empty and was collected */
	if (r < 0) {
		if (err)
			*err = TAKE_PTR(e);
		return r;
	}
	r = wait_job(b, &reply, what, err);
	dbus_message_done(&reply);
	if (r < 0)
		return r;
	(void)call_unit(b, "ResetFailedUnit", unit, false, NULL, what, NULL);
	return 0;
}
