/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth create`, and the option parsing it shares with `berth run`.
 * Runs in the CLI process; berth_create() does the work.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum {
	OPT_PID_FILE = 0x100,
	OPT_CONSOLE_SOCKET,
	OPT_NO_PIVOT,
	OPT_NO_NEW_KEYRING,
	OPT_PRESERVE_FDS,
	OPT_KEEP,
	OPT_SHIM,
};

/*
 * Under a systemd unit: LISTEN_FDS meant for us (LISTEN_PID unset or ours)
 * is passed through as --preserve-fds; NOTIFY_SOCKET is relayed when berth
 * run or berth-shim will listen (relay), not for a plain create.
 */
static void cli_systemd_env(struct berth_create_opts *o, bool relay)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	int n = 0;
	if (fds && (!pid || atol(pid) == (long)getpid()) &&
	    cli_parse_uint(NULL, "LISTEN_FDS", fds, &n) == 0 && n > 0) {
		o->listen_fds = n;
		if (o->preserve_fds < n)
			o->preserve_fds = n;
	}
	const char *ns = getenv("NOTIFY_SOCKET");
	if (relay && ns && *ns)
		o->notify_socket = ns;
}

static int set_path(const char *cmd, const char *opt, const char *value, char **slot)
{
	free(*slot);
	*slot = cli_absolute(value);
	if (!*slot)
		return cli_error("%s %s: %s", cmd, opt, strerror(errno ? errno : ENOMEM));
	return CLI_CONTINUE;
}

int cli_create_parse(const struct cli_command *cmd, bool is_run, int argc, char *argv[],
		     struct cli_create_args *a)
{
	static const struct option create_options[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
		{ "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
		{ "no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
		{ "shim", no_argument, NULL, OPT_SHIM },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static const struct option run_options[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
		{ "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
		{ "no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "detach", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *name = cmd->name;
	int c, r;

	*a = (struct cli_create_args){};
	while ((c = cli_getopt(name, argc, argv, is_run ? "b:dh" : "b:h",
			       is_run ? run_options : create_options)) != -1) {
		switch (c) {
		case 'b':
			r = set_path(name, "--bundle", optarg, &a->bundle);
			break;
		case OPT_PID_FILE:
			r = set_path(name, "--pid-file", optarg, &a->pid_file);
			break;
		case OPT_CONSOLE_SOCKET:
			r = set_path(name, "--console-socket", optarg, &a->console_socket);
			break;
		case OPT_NO_PIVOT:
			a->opts.no_pivot = true;
			r = CLI_CONTINUE;
			break;
		case OPT_NO_NEW_KEYRING:
			a->opts.no_new_keyring = true;
			r = CLI_CONTINUE;
			break;
		case OPT_PRESERVE_FDS:
			r = cli_parse_uint(name, "--preserve-fds", optarg, &a->opts.preserve_fds);
			if (r == 0)
				r = CLI_CONTINUE;
			break;
		case OPT_KEEP:
			a->keep = true;
			r = CLI_CONTINUE;
			break;
		case 'd':
			a->detach = true;
			r = CLI_CONTINUE;
			break;
		case OPT_SHIM:
			a->shim = true;
			r = CLI_CONTINUE;
			break;
		case 'h':
			return cli_print_help(cmd);
		default:
			return CLI_EXIT_USAGE;
		}
		if (r != CLI_CONTINUE)
			return r;
	}

	r = cli_check_args(name, argc - optind, 1, 1);
	if (r != 0)
		return r;

	a->opts.id = argv[optind];
	a->opts.bundle = a->bundle;
	a->opts.pid_file = a->pid_file;
	a->opts.console_socket = a->console_socket;
	if (is_run && a->detach)
		a->shim = true;
	cli_systemd_env(&a->opts, is_run || a->shim);
	return CLI_CONTINUE;
}

void cli_create_args_done(struct cli_create_args *a)
{
	free(a->bundle);
	free(a->pid_file);
	free(a->console_socket);
	*a = (struct cli_create_args){};
}

static int cmd_create(int argc, char *argv[])
{
	_cleanup_(cli_create_args_done) struct cli_create_args a = {};
	struct berth_error *err = NULL;

	int r = cli_create_parse(&cli_cmd_create, false, argc, argv, &a);
	if (r != CLI_CONTINUE)
		return r;

	if ((a.shim ? berth_create_shim(&cli_ctx, &a.opts, false, &err)
		    : berth_create(&cli_ctx, &a.opts, &err)) < 0)
		return cli_fail(err);
	return 0;
}

const struct cli_command cli_cmd_create = {
	.name = "create",
	.summary = "create a container from a bundle; its process waits for start",
	.help = "Usage: berth create [OPTIONS] ID\n"
		"\n"
		"Create the container ID from the bundle's config.json: namespaces, cgroup, root\n"
		"filesystem, createRuntime and createContainer hooks. Its process then waits\n"
		"for 'berth start ID' to run the program of process.args.\n"
		"\n"
		"Options:\n"
		"  -b, --bundle DIR          the bundle directory (default: the current "
		"directory)\n"
		"      --pid-file FILE       write the PID of the container's process to FILE\n"
		"      --console-socket SOCK send the terminal's master fd to the unix socket "
		"SOCK\n"
		"                            (with process.terminal)\n"
		"      --no-pivot            enter the root filesystem with MS_MOVE and chroot\n"
		"                            instead of pivot_root\n"
		"      --no-new-keyring      keep the caller's session keyring\n"
		"      --preserve-fds N      pass file descriptors 3 to 3+N-1 to the container\n"
		"      --shim                hand the container to berth-shim: it becomes the\n"
		"                            parent of its process, keeps its output (berth logs,\n"
		"                            attach) and records its exit status (berth wait);\n"
		"                            without it the process is left to the caller "
		"(engines)\n"
		"  -h, --help                show this help\n"
		"\n"
		"Under systemd: LISTEN_FDS (for this process) is passed on like --preserve-fds\n"
		"with LISTEN_FDS and LISTEN_PID set in the container; with --shim, NOTIFY_SOCKET\n"
		"is relayed (see berth-shim(8)).\n",
	.run = cmd_create,
};
