/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth run`: create and start a container in the foreground and exit with
 * its status. Runs in the CLI process, which berth_run() keeps as the parent
 * that forwards signals and waits.
 */
#include "cli.h"

static int cmd_run(int argc, char *argv[])
{
	_cleanup_(cli_create_args_done) struct cli_create_args a = {};
	struct berth_error *err = NULL;
	int status = 0;

	int r = cli_create_parse(&cli_cmd_run, true, argc, argv, &a);
	if (r != CLI_CONTINUE)
		return r;
	if (a.detach) {
		/* berth-shim supervises it; nothing is deleted automatically */
		if (berth_create_shim(&cli_ctx, &a.opts, true, &err) < 0)
			return cli_fail(err);
		return 0;
	}

	if (berth_run(&cli_ctx, &a.opts, a.keep, &status, &err) < 0)
		return cli_fail(err);
	return status;
}

const struct cli_command cli_cmd_run = {
	.name = "run",
	.summary = "create and start a container, wait for it and exit with its status",
	.help = "Usage: berth run [OPTIONS] ID\n"
		"\n"
		"Create the container ID from the bundle's config.json, start it in the\n"
		"foreground with berth's stdin, stdout and stderr, forward signals to it and\n"
		"wait. berth exits with the container's exit status (128+N when signal N\n"
		"killed it). The container is deleted afterwards unless --keep is given.\n"
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
		"      --keep                do not delete the container after it exits\n"
		"  -d, --detach              start the container under berth-shim and return:\n"
		"                            'berth logs', 'attach', 'wait' and 'kill' reach it;\n"
		"                            'berth delete' removes it once it stopped\n"
		"  -h, --help                show this help\n"
		"\n"
		"Under systemd: NOTIFY_SOCKET is relayed (the container gets its own socket at\n"
		"/run/notify/notify.sock; READY=1 goes on with MAINPID= its process) and\n"
		"LISTEN_FDS is passed on like --preserve-fds (see berth-shim(8)).\n",
	.run = cmd_run,
};
