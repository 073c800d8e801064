/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth exec`: run a new process in a created or running container. Runs in the CLI
 * process, which berth_exec() keeps as the parent that waits (unless
 * --detach) and forwards signals.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	OPT_CONSOLE_SOCKET = 0x100,
	OPT_PID_FILE,
	OPT_CWD,
	OPT_NO_NEW_PRIVS,
	OPT_PRESERVE_FDS,
	OPT_IGNORE_PAUSED,
	OPT_CGROUP,
};

#define PROCESS_MAX (16u * 1024 * 1024)

struct exec_args {
	struct berth_exec_params p;
	char *process_file, *pid_file, *console_socket, *process_json;
	char **env, **caps, **cgroups;
	size_t n_env, n_caps, n_cgroups;
	uint32_t *gids;
	size_t n_gids;
};

static void exec_args_done(struct exec_args *a)
{
	free(a->process_file);
	free(a->pid_file);
	free(a->console_socket);
	free(a->process_json);
	free(a->env); /* the strings belong to argv */
	free(a->caps);
	free(a->cgroups);
	free(a->gids);
}

/* Append s to a NULL-terminated vector of borrowed strings. */
static int strv_push(char ***v, size_t *n, char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

static int parse_id(const char *opt, const char *s, uint32_t *ret)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v > UINT32_MAX - 1)
		return cli_usage_error("exec", "%s: invalid id '%s'", opt, s);
	*ret = (uint32_t)v;
	return 0;
}

/* "UID" or "UID:GID" (numbers: names would need the container's /etc/passwd) */
static int parse_user(const char *s, struct berth_exec_params *p)
{
	_cleanup_free_ char *u = strdup(s);
	if (!u)
		return cli_error("out of memory");
	char *colon = strchr(u, ':');
	if (colon)
		*colon = 0;
	int r = parse_id("--user", u, &p->uid);
	if (r != 0)
		return r;
	p->has_uid = true;
	if (colon) {
		r = parse_id("--user", colon + 1, &p->gid);
		if (r != 0)
			return r;
		p->has_gid = true;
	}
	return 0;
}

static int set_path(const char *opt, const char *value, char **slot)
{
	free(*slot);
	*slot = cli_absolute(value);
	if (!*slot)
		return cli_error("exec %s: %s", opt, strerror(errno ? errno : ENOMEM));
	return 0;
}

static int read_process_file(struct exec_args *a)
{
	size_t len = 0;
	int r = berth_read_file(a->process_file, PROCESS_MAX, &a->process_json, &len);
	if (r == -EFBIG)
		return cli_error("exec: process file \"%s\" is larger than 16 MiB",
				 a->process_file);
	if (r < 0)
		return cli_error("exec: read process file \"%s\": %s", a->process_file,
				 strerror(-r));
	a->p.process_json = a->process_json;
	a->p.process_json_len = len;
	a->p.process_name = a->process_file;
	return 0;
}

static int parse(int argc, char *argv[], struct exec_args *a)
{
	static const struct option options[] = {
		{ "process", required_argument, NULL, 'p' },
		{ "tty", no_argument, NULL, 't' },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
		{ "detach", no_argument, NULL, 'd' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "env", required_argument, NULL, 'e' },
		{ "cwd", required_argument, NULL, OPT_CWD },
		{ "user", required_argument, NULL, 'u' },
		{ "additional-gids", required_argument, NULL, 'g' },
		{ "cap", required_argument, NULL, 'c' },
		{ "no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
		{ "ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct berth_exec_params *p = &a->p;
	int c, r = 0;

	/* "+": options stop at the container ID, the rest is the command and its arguments */
	while ((c = cli_getopt("exec", argc, argv, "+p:tde:u:g:c:h", options)) != -1) {
		switch (c) {
		case 'p':
			r = set_path("--process", optarg, &a->process_file);
			break;
		case 't':
			p->tty = true;
			break;
		case OPT_CONSOLE_SOCKET:
			r = set_path("--console-socket", optarg, &a->console_socket);
			break;
		case 'd':
			p->detach = true;
			break;
		case OPT_PID_FILE:
			r = set_path("--pid-file", optarg, &a->pid_file);
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return cli_usage_error("exec", "--env: '%s' is not KEY=VALUE",
						       optarg);
			r = strv_push(&a->env, &a->n_env, optarg) < 0 ? cli_error("out of memory")
								      : 0;
			break;
		case OPT_CWD:
			if (optarg[0] != '/')
				return cli_usage_error(
					"exec", "--cwd: '%s' is not an absolute path", optarg);
			p->cwd = optarg;
			break;
		case 'u':
			r = parse_user(optarg, p);
			break;
		case 'g': {
			uint32_t g = 0;
			r = parse_id("--additional-gids", optarg, &g);
			if (r != 0)
				break;
			uint32_t *ng = realloc(a->gids, (a->n_gids + 1) * sizeof(uint32_t));
			if (!ng)
				return cli_error("out of memory");
			ng[a->n_gids++] = g;
			a->gids = ng;
			break;
		}
		case 'c':
			r = strv_push(&a->caps, &a->n_caps, optarg) < 0 ? cli_error("out of memory")
									: 0;
			break;
		case OPT_NO_NEW_PRIVS:
			p->no_new_privs = true;
			break;
		case OPT_PRESERVE_FDS:
			r = cli_parse_uint("exec", "--preserve-fds", optarg, &p->preserve_fds);
			break;
		case OPT_IGNORE_PAUSED:
			p->ignore_paused = true;
			break;
		case OPT_CGROUP:
			r = strv_push(&a->cgroups, &a->n_cgroups, optarg) < 0
				    ? cli_error("out of memory")
				    : 0;
			break;
		case 'h':
			cli_print_help(&cli_cmd_exec);
			return 0;
		default:
			return CLI_EXIT_USAGE;
		}
		if (r != 0)
			return r;
	}

	if (optind >= argc)
		return cli_usage_error("exec", "missing container ID");
	p->id = argv[optind];
	p->args = optind + 1 < argc ? argv + optind + 1 : NULL;
	if (!a->process_file && !p->args)
		return cli_usage_error("exec", "missing command (or --process FILE)");
	if (a->process_file) {
		r = read_process_file(a);
		if (r != 0)
			return r;
	}
	p->env = a->env;
	p->caps = a->caps;
	p->sub_cgroups = a->cgroups;
	p->additional_gids = a->gids;
	p->n_additional_gids = a->n_gids;
	p->pid_file = a->pid_file;
	p->console_socket = a->console_socket;
	return CLI_CONTINUE;
}

static int cmd_exec(int argc, char *argv[])
{
	_cleanup_(exec_args_done) struct exec_args a = {};
	struct berth_error *err = NULL;
	int status = 0;

	int r = parse(argc, argv, &a);
	if (r != CLI_CONTINUE)
		return r;
	if (berth_exec(&cli_ctx, &a.p, &status, &err) < 0)
		return cli_fail(err);
	return a.p.detach ? 0 : status;
}

const struct cli_command cli_cmd_exec = {
	.name = "exec",
	.summary = "run a new process in a created or running container",
	.help = "Usage: berth exec [OPTIONS] ID [COMMAND [ARG...]]\n"
		"\n"
		"Run COMMAND (or the process of --process FILE) in the created or running\n"
		"container ID: in all of its namespaces, its cgroup and its root, with the\n"
		"container's process settings (env, user, capabilities, rlimits) as the\n"
		"base, and its seccomp filter. Without --detach berth forwards signals, waits and "
		"exits\n"
		"with the process's status (128+N when signal N killed it).\n"
		"\n"
		"Options:\n"
		"  -p, --process FILE        a runtime-spec process JSON (as engines pass it)\n"
		"  -t, --tty                 allocate a pty in the container (relayed to this\n"
		"                            terminal without --console-socket)\n"
		"      --console-socket SOCK send the pty master to the unix socket SOCK\n"
		"  -d, --detach              return once the process runs\n"
		"      --pid-file FILE       write the PID of the process to FILE\n"
		"  -e, --env KEY=VALUE       set an environment variable (repeatable)\n"
		"      --cwd DIR             working directory inside the container\n"
		"  -u, --user UID[:GID]      run as this user (numeric)\n"
		"  -g, --additional-gids GID add a supplementary group (repeatable)\n"
		"  -c, --cap CAP             add a capability (bounding, effective, permitted;\n"
		"                            repeatable)\n"
		"      --no-new-privs        set no_new_privs\n"
		"      --preserve-fds N      pass file descriptors 3 to 3+N-1 to the process\n"
		"      --ignore-paused       exec into a paused container too (the process\n"
		"                            starts when it is resumed)\n"
		"      --cgroup [CTL[,CTL]:]SUB  run the process in the existing sub-cgroup\n"
		"                            SUB of the container's cgroup (alone: also in\n"
		"                            the v1 hierarchies that have it; CTL: in that v1\n"
		"                            controller's hierarchy; repeatable with CTL:)\n"
		"  -h, --help                show this help\n",
	.run = cmd_exec,
};
