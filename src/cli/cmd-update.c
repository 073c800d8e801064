/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth update`: change the resource limits of a live container, from
 * --resources JSON (a file or stdin, as engines pass it) or from flags.
 * Runs in the CLI process.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The getopt value of a limit option is OPT_LIMIT + its enum berth_limit. */
#define OPT_LIMIT 0x100

/* "128m", "1G", "4096", "-1" (only if allow_unlimited) -> bytes. */
static int parse_size(const char *s, bool allow_unlimited, int64_t *ret)
{
	if (allow_unlimited && strcmp(s, "-1") == 0) {
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

/* Set limit l in v (n of them so far, one each): given again, the last counts. */
static void set_limit(struct berth_limit_value *v, size_t *n, enum berth_limit l, int64_t value,
		      const char *list)
{
	size_t i = 0;
	while (i < *n && v[i].limit != l)
		i++;
	v[i] = (struct berth_limit_value){ .limit = l, .value = value, .list = list };
	if (i == *n)
		(*n)++;
}

/* The name of the option whose getopt value is c. */
static const char *option_name(const struct option *options, int c)
{
	for (; options->name; options++)
		if (options->val == c)
			return options->name;
	return "?";
}

static int cmd_update(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "resources", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, OPT_LIMIT + BERTH_LIMIT_MEMORY },
		{ "memory-swap", required_argument, NULL, OPT_LIMIT + BERTH_LIMIT_MEMORY_SWAP },
		{ "memory-reservation", required_argument, NULL,
		  OPT_LIMIT + BERTH_LIMIT_MEMORY_RESERVATION },
		{ "cpu-shares", required_argument, NULL, OPT_LIMIT + BERTH_LIMIT_CPU_SHARES },
		{ "cpu-quota", required_argument, NULL, OPT_LIMIT + BERTH_LIMIT_CPU_QUOTA },
		{ "cpu-period", required_argument, NULL, OPT_LIMIT + BERTH_LIMIT_CPU_PERIOD },
		{ "cpuset-cpus", required_argument, NULL, OPT_LIMIT + BERTH_LIMIT_CPUSET_CPUS },
		{ "cpuset-mems", required_argument, NULL, OPT_LIMIT + BERTH_LIMIT_CPUSET_MEMS },
		{ "pids-limit", required_argument, NULL, OPT_LIMIT + BERTH_LIMIT_PIDS },
		{ "blkio-weight", required_argument, NULL, OPT_LIMIT + BERTH_LIMIT_BLKIO_WEIGHT },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_limit_value limits[BERTH_LIMIT_BLKIO_WEIGHT + 1];
	struct berth_error *err = NULL;
	const char *arg_resources = NULL;
	size_t n_limits = 0;
	int c, r;

	while ((c = cli_getopt("update", argc, argv, "r:h", options)) != -1) {
		if (c == 'r') {
			arg_resources = optarg;
			continue;
		}
		if (c == 'h')
			return cli_print_help(&cli_cmd_update);
		if (c < OPT_LIMIT || c > OPT_LIMIT + BERTH_LIMIT_BLKIO_WEIGHT)
			return CLI_EXIT_USAGE;

		enum berth_limit l = (enum berth_limit)(c - OPT_LIMIT);
		const char *name = option_name(options, c);
		const char *list = NULL;
		int64_t value = 0;
		switch (l) {
		case BERTH_LIMIT_MEMORY:
		case BERTH_LIMIT_MEMORY_SWAP:
		case BERTH_LIMIT_MEMORY_RESERVATION:
			if (parse_size(optarg, true, &value) < 0)
				return cli_usage_error("update", "--%s: invalid size '%s'", name,
						       optarg);
			break;
		case BERTH_LIMIT_CPUSET_CPUS:
		case BERTH_LIMIT_CPUSET_MEMS:
			if (!cpu_list_ok(optarg))
				return cli_usage_error("update", "--%s: invalid list '%s'", name,
						       optarg);
			list = optarg;
			break;
		default:
			if (parse_int(optarg, l == BERTH_LIMIT_CPU_QUOTA || l == BERTH_LIMIT_PIDS,
				      &value) < 0)
				return cli_usage_error("update", "--%s: invalid number '%s'", name,
						       optarg);
		}
		set_limit(limits, &n_limits, l, value, list);
	}
	r = cli_check_args("update", argc - optind, 1, 1);
	if (r != 0)
		return r;
	if (arg_resources && n_limits > 0)
		return cli_usage_error("update",
				       "--resources and the limit options cannot be combined");
	if (!arg_resources && n_limits == 0)
		return cli_usage_error("update",
				       "nothing to update: give --resources or a limit option");

	if (!arg_resources) {
		if (berth_update_limits(&cli_ctx, argv[optind], limits, n_limits, &err) < 0)
			return cli_fail(err);
		return 0;
	}
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	bool is_stdin = strcmp(arg_resources, "-") == 0;
	if (is_stdin)
		r = berth_read_fd(STDIN_FILENO, 1 << 24, &json, &len);
	else
		r = berth_read_file(arg_resources, 1 << 24, &json, &len);
	if (r < 0)
		return cli_error("--resources: read \"%s\": %s", is_stdin ? "stdin" : arg_resources,
				 strerror(-r));
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
