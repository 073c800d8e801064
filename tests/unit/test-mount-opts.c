/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mount_opts_parse(): mount(8) option names sorted into mount(2)
 * flags, propagation, mount_setattr(2) attributes and filesystem data.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "berth/error.h"
#include "mount.h"
#include "util/macro.h"
#include "tests.h"

static struct berth_mount_opts parse_v(const char *const *opts, size_t n)
{
	struct berth_mount_opts o;
	struct berth_error *err = NULL;
	check(mount_opts_parse((char *const *)opts, n, &o, &err) == 0);
	check(!err);
	return o;
}
#define parse(...)                                    \
	parse_v((const char *const[]){ __VA_ARGS__ }, \
		ELEMENTSOF(((const char *const[]){ __VA_ARGS__ })))

static void test_flags(void)
{
	static const struct {
		const char *name;
		unsigned long set, clear;
	} cases[] = {
		{ "async", 0, MS_SYNCHRONOUS },
		{ "atime", 0, MS_NOATIME },
		{ "bind", MS_BIND, 0 },
		{ "defaults", 0, 0 },
		{ "dev", 0, MS_NODEV },
		{ "diratime", 0, MS_NODIRATIME },
		{ "dirsync", MS_DIRSYNC, 0 },
		{ "exec", 0, MS_NOEXEC },
		{ "iversion", MS_I_VERSION, 0 },
		{ "lazytime", MS_LAZYTIME, 0 },
		{ "loud", 0, MS_SILENT },
		{ "mand", MS_MANDLOCK, 0 },
		{ "noatime", MS_NOATIME, 0 },
		{ "nodev", MS_NODEV, 0 },
		{ "nodiratime", MS_NODIRATIME, 0 },
		{ "noexec", MS_NOEXEC, 0 },
		{ "noiversion", 0, MS_I_VERSION },
		{ "nolazytime", 0, MS_LAZYTIME },
		{ "nomand", 0, MS_MANDLOCK },
		{ "norelatime", 0, MS_RELATIME },
		{ "nostrictatime", 0, MS_STRICTATIME },
		{ "nosuid", MS_NOSUID, 0 },
		{ "nosymfollow", MS_NOSYMFOLLOW, 0 },
		{ "rbind", MS_BIND | MS_REC, 0 },
		{ "relatime", MS_RELATIME, 0 },
		{ "remount", MS_REMOUNT, 0 },
		{ "ro", MS_RDONLY, 0 },
		{ "rw", 0, MS_RDONLY },
		{ "silent", MS_SILENT, 0 },
		{ "strictatime", MS_STRICTATIME, 0 },
		{ "suid", 0, MS_NOSUID },
		{ "sync", MS_SYNCHRONOUS, 0 },
		{ "symfollow", 0, MS_NOSYMFOLLOW },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct berth_mount_opts o = parse(cases[i].name);
		if (o.flags != cases[i].set || o.clear != cases[i].clear || o.data ||
		    o.propagation || o.attr_set || o.attr_clr) {
			fprintf(stderr, "%s: flags %#lx clear %#lx data %s\n", cases[i].name,
				o.flags, o.clear, o.data ?: "(null)");
			check(!"wrong flags");
		}
		mount_opts_done(&o);
	}

	/* combined, and a later option wins */
	struct berth_mount_opts o = parse("nosuid", "noexec", "nodev", "ro");
	check(o.flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY) && o.clear == 0);
	mount_opts_done(&o);

	o = parse("ro", "rw");
	check(!(o.flags & MS_RDONLY) && (o.clear & MS_RDONLY));
	mount_opts_done(&o);

	o = parse("rw", "ro");
	check((o.flags & MS_RDONLY) && !(o.clear & MS_RDONLY));
	mount_opts_done(&o);

	o = parse("bind", "rbind");
	check(o.flags == (MS_BIND | MS_REC));
	mount_opts_done(&o);
}

static void test_propagation(void)
{
	static const struct {
		const char *name;
		unsigned long p;
	} cases[] = {
		{ "private", MS_PRIVATE },	 { "rprivate", MS_PRIVATE | MS_REC },
		{ "shared", MS_SHARED },	 { "rshared", MS_SHARED | MS_REC },
		{ "slave", MS_SLAVE },		 { "rslave", MS_SLAVE | MS_REC },
		{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct berth_mount_opts o = parse(cases[i].name);
		check(o.propagation == cases[i].p);
		/* propagation is never mixed into the mount flags */
		check(o.flags == 0 && !o.data);
		mount_opts_done(&o);
	}
	struct berth_mount_opts o = parse("rbind", "rprivate", "ro");
	check(o.flags == (MS_BIND | MS_REC | MS_RDONLY) && o.propagation == (MS_PRIVATE | MS_REC));
	mount_opts_done(&o);
}

static void test_attrs(void)
{
	static const struct {
		const char *name;
		uint64_t set, clr;
	} cases[] = {
		{ "rro", MOUNT_ATTR_RDONLY, 0 },
		{ "rrw", 0, MOUNT_ATTR_RDONLY },
		{ "rnosuid", MOUNT_ATTR_NOSUID, 0 },
		{ "rsuid", 0, MOUNT_ATTR_NOSUID },
		{ "rnodev", MOUNT_ATTR_NODEV, 0 },
		{ "rdev", 0, MOUNT_ATTR_NODEV },
		{ "rnoexec", MOUNT_ATTR_NOEXEC, 0 },
		{ "rexec", 0, MOUNT_ATTR_NOEXEC },
		{ "rnodiratime", MOUNT_ATTR_NODIRATIME, 0 },
		{ "rdiratime", 0, MOUNT_ATTR_NODIRATIME },
		{ "rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0 },
		{ "rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW },
		/* atime modes are an enum: the whole mask goes to attr_clr */
		{ "rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
		{ "rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME },
		{ "rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
		{ "ratime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
		{ "rnorelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
		{ "rnostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct berth_mount_opts o = parse(cases[i].name);
		if (o.attr_set != cases[i].set || o.attr_clr != cases[i].clr || o.flags ||
		    o.clear || o.data) {
			fprintf(stderr, "%s: set %#llx clr %#llx\n", cases[i].name,
				(unsigned long long)o.attr_set, (unsigned long long)o.attr_clr);
			check(!"wrong attrs");
		}
		mount_opts_done(&o);
	}

	struct berth_mount_opts o = parse("rro", "rrw");
	check(o.attr_set == 0 && o.attr_clr == MOUNT_ATTR_RDONLY);
	mount_opts_done(&o);

	o = parse("rnoatime", "rstrictatime", "rnosuid", "rro");
	check(o.attr_set == (MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_NOSUID | MOUNT_ATTR_RDONLY));
	check(o.attr_clr == MOUNT_ATTR__ATIME);
	mount_opts_done(&o);
}

static void test_data_and_specials(void)
{
	struct berth_mount_opts o = parse("nosuid", "mode=755", "strictatime", "size=65536k");
	check(o.flags == (MS_NOSUID | MS_STRICTATIME));
	check(o.data && streq(o.data, "mode=755,size=65536k"));
	mount_opts_done(&o);
	check(!o.data);

	o = parse("newinstance", "ptmxmode=0666", "mode=0620", "gid=5");
	check(o.flags == 0 && streq(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5"));
	mount_opts_done(&o);

	o = parse("tmpcopyup", "mode=1777");
	check(o.tmpcopyup && streq(o.data, "mode=1777"));
	mount_opts_done(&o);

	o = parse("idmap");
	check(o.idmap && !o.ridmap && !o.data);
	mount_opts_done(&o);

	o = parse("ridmap");
	check(o.ridmap && !o.data);
	mount_opts_done(&o);

	/* no options at all */
	struct berth_error *err = NULL;
	check(mount_opts_parse(NULL, 0, &o, &err) == 0 && !err);
	check(o.flags == 0 && o.clear == 0 && !o.data && !o.tmpcopyup);
	mount_opts_done(&o);

	/* unknown options are never an error: they are the filesystem's business */
	o = parse("lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "x-foo");
	check(streq(o.data, "lowerdir=/a:/b,upperdir=/u,workdir=/w,x-foo"));
	mount_opts_done(&o);
}

int main(void)
{
	test_flags();
	test_propagation();
	test_attrs();
	test_data_and_specials();
	return 0;
}
