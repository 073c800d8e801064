/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth update`: change the resource limits of a live container, from
 * --resources JSON (a file or stdin, as engines pass it) or from flags.
 * Runs in the CLI process.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "util/fd.h"
#include "util/macro.h"

enum {
	OPT_MEMORY = 0x100,
	OPT_MEMORY_SWAP,
	OPT_MEMORY_RESERVATION,
	OPT_CPU_SHARES,
	OPT_CPU_QUOTA,
	OPT_CPU_PERIOD,
	OPT_CPUSET_CPUS,
	OPT_CPUSET_MEMS,
	OPT_PIDS_LIMIT,
	OPT_BLKIO_WEIGHT,
};

/* "128m", "1G", "4096", "-1" (only if allow_unlimited) -> bytes. */
static int parse_size(const char *s, bool allow_unlimited, int64_t *ret)
{
	if (allow_unlimited && streq(s, "-1")) {
		*ret = -1;
		return 0;
	}
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	unsigned shift = 0;
	switch (tolower((unsigned char)*end)) {
	case 0:
	case 'b':
		break;
	case 'k':
		shift = 10;
		break;
	case 'm':
		shift = 20;
		break;
	case 'g':
		shift = 30;
		break;
	case 't':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		if (shift && (*end == 'b' || *end == 'B'))
			end++;
		if (*end)
			return -EINVAL;
	}
	if (v > (unsigned long long)INT64_MAX >> shift)
		return -ERANGE;
	*ret = (int64_t)(v << shift);
	return 0;
}

static int parse_int(const char *s, bool is_signed, int64_t *ret)
{
	char *end;
	errno = 0;
	if (!*s || (!is_signed && s[0] == '-'))
		return -EINVAL;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static bool cpu_list_ok(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != ',' && *s != '-')
			return false;
	return true;
}

struct flags {
	bool set[OPT_BLKIO_WEIGHT - OPT_MEMORY + 1];
	int64_t v[OPT_BLKIO_WEIGHT - OPT_MEMORY + 1];
	const char *cpus, *mems;
};

#define F(o) (f->v[(o)-OPT_MEMORY])
#define S(o) (f->set[(o)-OPT_MEMORY])

/* The flags as linux.resources JSON (NULL on ENOMEM). */
static char *flags_json(const struct flags *f)
{
	struct gen j;
	if (gen_init(&j, NULL) < 0)
		return NULL;
	gen_open(&j, false);
	if (S(OPT_MEMORY) || S(OPT_MEMORY_SWAP) || S(OPT_MEMORY_RESERVATION)) {
		gen_str(&j, "memory");
		gen_open(&j, false);
		if (S(OPT_MEMORY))
			gen_key_int(&j, "limit", F(OPT_MEMORY));
		if (S(OPT_MEMORY_SWAP))
			gen_key_int(&j, "swap", F(OPT_MEMORY_SWAP));
		if (S(OPT_MEMORY_RESERVATION))
			gen_key_int(&j, "reservation", F(OPT_MEMORY_RESERVATION));
		gen_close(&j, false);
	}
	if (S(OPT_CPU_SHARES) || S(OPT_CPU_QUOTA) || S(OPT_CPU_PERIOD) || f->cpus || f->mems) {
		gen_str(&j, "cpu");
		gen_open(&j, false);
		if (S(OPT_CPU_SHARES))
			gen_key_int(&j, "shares", F(OPT_CPU_SHARES));
		if (S(OPT_CPU_QUOTA))
			gen_key_int(&j, "quota", F(OPT_CPU_QUOTA));
		if (S(OPT_CPU_PERIOD))
			gen_key_int(&j, "period", F(OPT_CPU_PERIOD));
		if (f->cpus)
			gen_key_str(&j, "cpus", f->cpus);
		if (f->mems)
			gen_key_str(&j, "mems", f->mems);
		gen_close(&j, false);
	}
	if (S(OPT_PIDS_LIMIT)) {
		gen_str(&j, "pids");
		gen_open(&j, false);
		gen_key_int(&j, "limit", F(OPT_PIDS_LIMIT));
		gen_close(&j, false);
	}
	if (S(OPT_BLKIO_WEIGHT)) {
		gen_str(&j, "blockIO");
		gen_open(&j, false);
		gen_key_int(&j, "weight", F(OPT_BLKIO_WEIGHT));
		gen_close(&j, false);
	}
	gen_close(&j, false);
	char *out = NULL;
	return gen_finish(&j, &out, NULL) < 0 ? NULL : out;
}

static int cmd_update(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "resources", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
		{ "memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION },
		{ "cpu-shares", required_argument, NULL, OPT_CPU_SHARES },
		{ "cpu-quota", required_argument, NULL, OPT_CPU_QUOTA },
		{ "cpu-period", required_argument, NULL, OPT_CPU_PERIOD },
		{ "cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS },
		{ "cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS },
		{ "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
		{ "blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_error *err = NULL;
	struct flags fl = { 0 }, *f = &fl;
	const char *arg_resources = NULL;
	bool any_flag = false;
	int c, r;

	while ((c = cli_getopt("update", argc, argv, "r:h", options)) != -1) {
		const char *name = NULL;
		switch (c) {
		case 'r':
			arg_resources = optarg;
			continue;
		case 'h':
			return cli_print_help(&cli_cmd_update);
		case OPT_MEMORY:
		case OPT_MEMORY_RESERVATION:
		case OPT_MEMORY_SWAP:
			name = c == OPT_MEMORY	      ? "--memory"
			       : c == OPT_MEMORY_SWAP ? "--memory-swap"
						      : "--memory-reservation";
			if (parse_size(optarg, true, &F(c)) < 0)
				return cli_usage_error("update", "%s: invalid size '%s'", name,
						       optarg);
			break;
		case OPT_CPU_SHARES:
		case OPT_CPU_PERIOD:
		case OPT_CPU_QUOTA:
		case OPT_PIDS_LIMIT:
		case OPT_BLKIO_WEIGHT:
			name = c == OPT_CPU_SHARES   ? "--cpu-shares"
			       : c == OPT_CPU_PERIOD ? "--cpu-period"
			       : c == OPT_CPU_QUOTA  ? "--cpu-quota"
			       : c == OPT_PIDS_LIMIT ? "--pids-limit"
						     : "--blkio-weight";
			if (parse_int(optarg, c == OPT_CPU_QUOTA || c == OPT_PIDS_LIMIT, &F(c)) < 0)
				return cli_usage_error("update", "%s: invalid number '%s'", name,
						       optarg);
			break;
		case OPT_CPUSET_CPUS:
		case OPT_CPUSET_MEMS:
			if (!cpu_list_ok(optarg))
				return cli_usage_error("update", "%s: invalid list '%s'",
						       c == OPT_CPUSET_CPUS ? "--cpuset-cpus"
									    : "--cpuset-mems",
						       optarg);
			if (c == OPT_CPUSET_CPUS)
				f->cpus = optarg;
			else
				f->mems = optarg;
			break;
		default:
			return CLI_EXIT_USAGE;
		}
		if (c >= OPT_MEMORY && c <= OPT_BLKIO_WEIGHT)
			S(c) = true;
		any_flag = true;
	}
	r = cli_check_args("update", argc - optind, 1, 1);
	if (r != 0)
		return r;
	if (arg_resources && any_flag)
		return cli_usage_error("update",
				       "--resources and the limit options cannot be combined");
	if (!arg_resources && !any_flag)
		return cli_usage_error("update",
				       "nothing to update: give --resources or a limit option");

	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	if (arg_resources) {
		if (streq(arg_resources, "-"))
			r = read_fd_all(STDIN_FILENO, 1 << 24, &json, &len);
		else
			r = read_file_at(AT_FDCWD, arg_resources, 1 << 24, &json, &len);
		if (r < 0)
			return cli_error("--resources: read \"%s\": %s",
					 streq(arg_resources, "-") ? "stdin" : arg_resources,
					 strerror(-r));
	} else {
		json = flags_json(f);
		if (!json)
			return cli_error("out of memory");
		len = strlen(json);
	}
	if (berth_update(&cli_ctx, argv[optind], json, len, &err) < 0)
		return cli_fail(err);
	return 0;
}

const struct cli_command cli_cmd_update = {
	.name = "update",
	.summary = "change the resource limits of a running container",
	.help = "Usage: berth update [OPTIONS] ID\n"
		"\n"
		"Change the resource limits of the container ID while it runs. Either give\n"
		"--resources with linux.resources JSON of the runtime spec (what engines\n"
		"send), or the options below. Fields left out (or 0) are not changed; device\n"
		"rules cannot be updated.\n"
		"\n"
		"Options:\n"
		"  -r, --resources FILE       read the resources JSON from FILE ('-': stdin)\n"
		"      --memory SIZE          memory limit (bytes, or with k, m, g, t; -1: none)\n"
		"      --memory-swap SIZE     memory plus swap limit (-1: unlimited swap)\n"
		"      --memory-reservation SIZE  soft memory limit\n"
		"      --cpu-shares N         relative CPU weight (v1 shares; v2: cpu.weight)\n"
		"      --cpu-quota N          CPU time per period in microseconds (-1: none)\n"
		"      --cpu-period N         CPU period in microseconds\n"
		"      --cpuset-cpus LIST     CPUs to run on (0-3,5)\n"
		"      --cpuset-mems LIST     memory nodes to use\n"
		"      --pids-limit N         maximum number of processes (-1: none)\n"
		"      --blkio-weight N       block I/O weight (10-1000)\n"
		"  -h, --help                 show this help\n",
	.run = cmd_update,
};
