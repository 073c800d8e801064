/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `berth checkpoint` and `berth restore`: runc's options, with runc's
 * defaults, so that engines call them unchanged. Runs in the CLI process;
 * berth_checkpoint() and berth_restore() do the work (with CRIU).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	OPT_IMAGE_PATH = 0x100,
	OPT_WORK_PATH,
	OPT_PARENT_PATH,
	OPT_LEAVE_RUNNING,
	OPT_TCP_ESTABLISHED,
	OPT_EXT_UNIX_SK,
	OPT_SHELL_JOB,
	OPT_FILE_LOCKS,
	OPT_PRE_DUMP,
	OPT_MANAGE_CGROUPS_MODE,
	OPT_EMPTY_NS,
	OPT_AUTO_DEDUP,
	OPT_LAZY_PAGES,
	OPT_PAGE_SERVER,
	OPT_STATUS_FD,
	OPT_PID_FILE,
	OPT_CONSOLE_SOCKET,
	OPT_NO_PIVOT,
	OPT_NO_SUBREAPER,
	OPT_SHIM,
};

/* The CRIU options both commands take. */
struct criu_flags {
	const char *image_path, *work_path, *manage_cgroups_mode, *empty_ns;
	bool tcp_established, ext_unix_sk, shell_job, file_locks, auto_dedup, lazy_pages;
};

/* Handle an option both commands take: CLI_CONTINUE, or 0 when c is not one. */
static int common_flag(int c, struct criu_flags *f)
{
	switch (c) {
	case OPT_IMAGE_PATH:
		f->image_path = optarg;
		break;
	case OPT_WORK_PATH:
		f->work_path = optarg;
		break;
	case OPT_MANAGE_CGROUPS_MODE:
		f->manage_cgroups_mode = optarg;
		break;
	case OPT_EMPTY_NS:
		f->empty_ns = optarg;
		break;
	case OPT_TCP_ESTABLISHED:
		f->tcp_established = true;
		break;
	case OPT_EXT_UNIX_SK:
		f->ext_unix_sk = true;
		break;
	case OPT_SHELL_JOB:
		f->shell_job = true;
		break;
	case OPT_FILE_LOCKS:
		f->file_locks = true;
		break;
	case OPT_AUTO_DEDUP:
		f->auto_dedup = true;
		break;
	case OPT_LAZY_PAGES:
		f->lazy_pages = true;
		break;
	default:
		return 0;
	}
	return CLI_CONTINUE;
}

#define COMMON_OPTIONS                                                                       \
	{ "image-path", required_argument, NULL, OPT_IMAGE_PATH },                           \
		{ "work-path", required_argument, NULL, OPT_WORK_PATH },                     \
		{ "tcp-established", no_argument, NULL, OPT_TCP_ESTABLISHED },               \
		{ "ext-unix-sk", no_argument, NULL, OPT_EXT_UNIX_SK },                       \
		{ "shell-job", no_argument, NULL, OPT_SHELL_JOB },                           \
		{ "file-locks", no_argument, NULL, OPT_FILE_LOCKS },                         \
		{ "manage-cgroups-mode", required_argument, NULL, OPT_MANAGE_CGROUPS_MODE }, \
		{ "empty-ns", required_argument, NULL, OPT_EMPTY_NS },                       \
		{ "auto-dedup", no_argument, NULL, OPT_AUTO_DEDUP },                         \
		{ "lazy-pages", no_argument, NULL, OPT_LAZY_PAGES },                         \
	{                                                                                    \
		"help", no_argument, NULL, 'h'                                               \
	}

static int cmd_checkpoint(int argc, char *argv[])
{
	static const struct option options[] = {
		COMMON_OPTIONS,
		{ "parent-path", required_argument, NULL, OPT_PARENT_PATH },
		{ "leave-running", no_argument, NULL, OPT_LEAVE_RUNNING },
		{ "pre-dump", no_argument, NULL, OPT_PRE_DUMP },
		{ "page-server", required_argument, NULL, OPT_PAGE_SERVER },
		{ "status-fd", required_argument, NULL, OPT_STATUS_FD },
		{},
	};
	struct criu_flags f = { 0 };
	struct berth_checkpoint_opts o = { .status_fd = -1 };
	int c, r;
	while ((c = cli_getopt("checkpoint", argc, argv, "h", options)) != -1) {
		r = common_flag(c, &f);
		if (r == CLI_CONTINUE)
			continue;
		switch (c) {
		case OPT_PARENT_PATH:
			o.parent_path = optarg;
			break;
		case OPT_LEAVE_RUNNING:
			o.leave_running = true;
			break;
		case OPT_PRE_DUMP:
			o.pre_dump = true;
			break;
		case OPT_PAGE_SERVER:
			o.page_server = optarg;
			break;
		case OPT_STATUS_FD:
			r = cli_parse_uint("checkpoint", "--status-fd", optarg, &o.status_fd);
			if (r != 0)
				return r;
			break;
		case 'h':
			return cli_print_help(&cli_cmd_checkpoint);
		default:
			return CLI_EXIT_USAGE;
		}
	}
	r = cli_check_args("checkpoint", argc - optind, 1, 1);
	if (r != 0)
		return r;
	o.id = argv[optind];
	o.image_path = f.image_path;
	o.work_path = f.work_path;
	o.manage_cgroups_mode = f.manage_cgroups_mode;
	o.empty_ns = f.empty_ns;
	o.tcp_established = f.tcp_established;
	o.ext_unix_sk = f.ext_unix_sk;
	o.shell_job = f.shell_job;
	o.file_locks = f.file_locks;
	o.auto_dedup = f.auto_dedup;
	o.lazy_pages = f.lazy_pages;
	struct berth_error *err = NULL;
	if (berth_checkpoint(&cli_ctx, &o, &err) < 0)
		return cli_fail(err);
	return 0;
}

static int cmd_restore(int argc, char *argv[])
{
	static const struct option options[] = {
		COMMON_OPTIONS,
		{ "bundle", required_argument, NULL, 'b' },
		{ "detach", no_argument, NULL, 'd' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
		{ "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
		{ "no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER },
		{ "shim", no_argument, NULL, OPT_SHIM },
		{},
	};
	struct criu_flags f = { 0 };
	_cleanup_free_ char *bundle = NULL, *pid_file = NULL, *console = NULL;
	struct berth_restore_opts o = { 0 };
	int c;
	while ((c = cli_getopt("restore", argc, argv, "b:dh", options)) != -1) {
		if (common_flag(c, &f) == CLI_CONTINUE)
			continue;
		char **slot = NULL;
		switch (c) {
		case 'b':
			slot = &bundle;
			break;
		case OPT_PID_FILE:
			slot = &pid_file;
			break;
		case OPT_CONSOLE_SOCKET:
			slot = &console;
			break;
		case 'd':
			o.detach = true;
			break;
		case OPT_NO_PIVOT:
			o.no_pivot = true;
			break;
		case OPT_NO_SUBREAPER:
			/* runc's: berth restore never makes itself a subreaper */
			break;
		case OPT_SHIM:
			o.shim = true;
			break;
		case 'h':
			return cli_print_help(&cli_cmd_restore);
		default:
			return CLI_EXIT_USAGE;
		}
		if (slot) {
			free(*slot);
			*slot = cli_absolute(optarg);
			if (!*slot)
				return cli_error("restore: out of memory");
		}
	}
	int r = cli_check_args("restore", argc - optind, 1, 1);
	if (r != 0)
		return r;
	o.id = argv[optind];
	o.bundle = bundle;
	o.pid_file = pid_file;
	o.console_socket = console;
	o.image_path = f.image_path;
	o.work_path = f.work_path;
	o.manage_cgroups_mode = f.manage_cgroups_mode;
	o.empty_ns = f.empty_ns;
	o.tcp_established = f.tcp_established;
	o.ext_unix_sk = f.ext_unix_sk;
	o.shell_job = f.shell_job;
	o.file_locks = f.file_locks;
	o.auto_dedup = f.auto_dedup;
	o.lazy_pages = f.lazy_pages;
	struct berth_error *err = NULL;
	int status = 0;
	if (berth_restore(&cli_ctx, &o, &status, &err) < 0)
		return cli_fail(err);
	return status;
}

#define COMMON_HELP                                                                           \
	"      --image-path DIR      where the images are (default: ./checkpoint)\n"          \
	"      --work-path DIR       where CRIU writes its log (default: the image path)\n"   \
	"      --tcp-established     open TCP connections are part of the checkpoint\n"       \
	"      --ext-unix-sk         unix sockets connected outside the container are too\n"  \
	"      --shell-job           the container's session is outside it (a terminal "      \
	"job)\n"                                                                              \
	"      --file-locks          file locks are part of the checkpoint\n"                 \
	"      --manage-cgroups-mode soft|full|strict|ignore\n"                               \
	"                            what CRIU does with cgroup properties (default: soft)\n" \
	"      --empty-ns NS         CRIU leaves namespace NS (network) to others: it\n"      \
	"                            saves and restores nothing of it\n"                      \
	"      --auto-dedup          free what the images of --parent-path repeat\n"          \
	"      --lazy-pages          memory pages are sent on demand (needs userfaultfd)\n"   \
	"  -h, --help                show this help\n"

const struct cli_command cli_cmd_checkpoint = {
	.name = "checkpoint",
	.summary = "save a running container to disk with CRIU",
	.help = "Usage: berth checkpoint [OPTIONS] ID\n"
		"\n"
		"Save the running container ID into the image directory with CRIU (criu must\n"
		"be installed). Unless --leave-running or --pre-dump, its processes are gone\n"
		"afterwards and it is stopped; 'berth restore' makes it run again.\n"
		"\n"
		"Options:\n"
		"      --leave-running       the container goes on running\n"
		"      --pre-dump            save its memory only, as a parent for a later\n"
		"                            checkpoint; the container goes on running\n"
		"      --parent-path DIR     the images of a --pre-dump, relative to the image\n"
		"                            path: only memory changed since is saved\n"
		"      --page-server ADDR:PORT  send memory pages to a CRIU page server\n"
		"      --status-fd FD        CRIU writes to FD when --lazy-pages are "
		"ready\n" COMMON_HELP,
	.run = cmd_checkpoint,
};

const struct cli_command cli_cmd_restore = {
	.name = "restore",
	.summary = "make a container run again from a checkpoint",
	.help = "Usage: berth restore [OPTIONS] ID\n"
		"\n"
		"Make the container ID from the bundle's config.json and the images of\n"
		"'berth checkpoint': its cgroup and limits, network (berth.net: a fresh veth\n"
		"with the same address), the prestart and createRuntime hooks, then CRIU puts\n"
		"its processes back; it is running. Without --detach, berth waits for it as\n"
		"'berth run' does, exits with its status and deletes it.\n"
		"\n"
		"Options:\n"
		"  -b, --bundle DIR          the bundle directory (default: the current "
		"directory)\n"
		"  -d, --detach              return once the container runs\n"
		"      --pid-file FILE       write the PID of the container's process to FILE\n"
		"      --console-socket SOCK send the terminal's master fd to the unix socket "
		"SOCK\n"
		"                            (with process.terminal)\n"
		"      --no-pivot            accepted, as runc's (CRIU sets up the root)\n"
		"      --no-subreaper        accepted, as runc's (berth never becomes "
		"one)\n"
		"      --shim                hand the container to berth-shim, as 'berth run -d':\n"
		"                            its output goes to 'berth logs', its exit status to\n"
		"                            'berth wait', a terminal to 'berth attach' (implies\n"
		"                            --detach)\n" COMMON_HELP,
	.run = cmd_restore,
};
