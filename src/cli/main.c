/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The berth command: global options, the table of commands, help and
 * version, and the option-parsing helpers every command shares. Runs as the
 * CLI process; each verb lives in its own cmd-*.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seccomp.h>
#include <sys/capability.h>
#include <yajl/yajl_version.h>

#include "cli.h"

#ifndef BERTH_LIBMNL_VERSION
#define BERTH_LIBMNL_VERSION "unknown"
#endif

struct berth_context cli_ctx = {
	.root = NULL,
	.log = cli_log_lib,
};

static const struct cli_command *const commands[] = {
	&cli_cmd_create, &cli_cmd_start, &cli_cmd_run,	  &cli_cmd_state,      &cli_cmd_kill,
	&cli_cmd_delete, &cli_cmd_list,	 &cli_cmd_ps,	  &cli_cmd_spec,       &cli_cmd_features,
	&cli_cmd_update, &cli_cmd_pause, &cli_cmd_resume, &cli_cmd_events,     &cli_cmd_exec,
	&cli_cmd_wait,	 &cli_cmd_logs,	 &cli_cmd_attach, &cli_cmd_checkpoint, &cli_cmd_restore,
};

static const char global_usage[] =
	"Usage: berth [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]\n"
	"\n"
	"berth runs OCI containers: it creates a container from a bundle (a directory\n"
	"holding config.json and a root filesystem) and manages its lifecycle.\n";

static const char global_options_help[] =
	"Global options (before COMMAND):\n"
	"      --root DIR         directory of container state (default: " BERTH_DEFAULT_ROOT ",\n"
	"                         $XDG_RUNTIME_DIR/berth when rootless)\n"
	"      --log FILE         also append errors and warnings to FILE\n"
	"      --log-format FMT   format of the --log lines: text (default) or json\n"
	"      --debug            also show debug messages\n"
	"      --systemd-cgroup   create: the container's cgroup is a transient systemd scope\n"
	"                         (linux.cgroupsPath \"slice:prefix:name\", default\n"
	"                         \"system.slice:berth:ID\"), made over the system bus\n"
	"  -v, --version          show the version of berth and its libraries\n"
	"  -h, --help             show this help\n"
	"\n"
	"Run 'berth COMMAND --help' for the options of a command.\n"
	"Exit status: 0 on success, 1 when the operation failed, 2 for a wrong command\n"
	"line; 'berth run' exits with the container's status.\n";

static void print_global_help(void)
{
	fputs(global_usage, stdout);
	fputs("\nCommands:\n", stdout);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-10s %s\n", commands[i]->name, commands[i]->summary);
	printf("  %-10s %s\n", "help", "show the help of berth or of a command");
	fputs("\n", stdout);
	fputs(global_options_help, stdout);
}

static void print_version(void)
{
	const struct scmp_version *sv = seccomp_version();
	int yv = yajl_version();

	printf("berth version %s\n", BERTH_VERSION);
	printf("spec: %s\n", BERTH_SPEC_VERSION);
	if (sv)
		printf("libseccomp: %u.%u.%u\n", sv->major, sv->minor, sv->micro);
	printf("yajl: %d.%d.%d\n", yv / 10000, (yv / 100) % 100, yv % 100);
	printf("libcap: %d.%d\n", LIBCAP_MAJOR, LIBCAP_MINOR);
	printf("libmnl: %s\n", BERTH_LIBMNL_VERSION);
}

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

int cli_print_help(const struct cli_command *c)
{
	fputs(c->help, stdout);
	return 0;
}

/* Name of the option in argv[optind - 1], without any "=value". */
static char *bad_option_name(int argc, char *argv[])
{
	const char *a = optind - 1 < argc && optind >= 1 ? argv[optind - 1] : "";
	return strndup(a, strcspn(a, "="));
}

int cli_getopt(const char *cmd, int argc, char *argv[], const char *shortopts,
	       const struct option *longopts)
{
	_cleanup_free_ char *optstring = NULL, *name = NULL;

	/*
	 * Global options stop at the command; a command's options may follow its
	 * arguments unless shortopts starts with '+' (exec: options stop at the ID).
	 */
	bool stop = !cmd || shortopts[0] == '+';
	if (shortopts[0] == '+')
		shortopts++;
	if (asprintf(&optstring, "%s:%s", stop ? "+" : "", shortopts) < 0) {
		cli_error("out of memory");
		return '?';
	}

	opterr = 0;
	int c = getopt_long(argc, argv, optstring, longopts, NULL);
	if (c != '?' && c != ':')
		return c;

	name = bad_option_name(argc, argv);
	bool is_long = name && strncmp(name, "--", 2) == 0;
	if (c == ':')
		cli_usage_error(cmd, "option '%s' needs an argument",
				is_long ? name : (char[]){ '-', (char)optopt, 0 });
	else if (is_long && optopt != 0)
		cli_usage_error(cmd, "option '%s' takes no argument", name);
	else if (optopt != 0)
		cli_usage_error(cmd, "unknown option '-%c'", optopt);
	else
		cli_usage_error(cmd, "unknown option '%s'", name ? name : "?");
	return '?';
}

int cli_check_args(const char *cmd, int n, int min, int max)
{
	if (n < min)
		return cli_usage_error(cmd, "missing argument");
	if (n > max)
		return cli_usage_error(cmd, "too many arguments");
	return 0;
}

int cli_parse_plain(const struct cli_command *cmd, int argc, char *argv[], int min, int max)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	while ((c = cli_getopt(cmd->name, argc, argv, "h", options)) != -1) {
		if (c == 'h')
			return cli_print_help(cmd);
		return CLI_EXIT_USAGE;
	}
	int r = cli_check_args(cmd->name, argc - optind, min, max);
	return r != 0 ? r : CLI_CONTINUE;
}

int cli_run_on_id(const struct cli_command *cmd, int argc, char *argv[],
		  int (*fn)(struct berth_context *ctx, const char *id, struct berth_error **err))
{
	struct berth_error *err = NULL;
	int r = cli_parse_plain(cmd, argc, argv, 1, 1);
	if (r != CLI_CONTINUE)
		return r;
	if (fn(&cli_ctx, argv[optind], &err) < 0)
		return cli_fail(err);
	return 0;
}

char *cli_absolute(const char *path)
{
	_cleanup_free_ char *cwd = NULL;
	char *r = NULL;

	if (path[0] == '/')
		return strdup(path);
	if (strcmp(path, ".") == 0)
		return getcwd(NULL, 0);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	if (asprintf(&r, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path) < 0)
		return NULL;
	return r;
}

int cli_parse_uint(const char *cmd, const char *opt, const char *s, int *ret)
{
	char *end = NULL;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end || v < 0 || v > 0x7fffffff || s[0] == '-' || s[0] == '+')
		return cli_usage_error(cmd, "%s: invalid number '%s'", opt, s);
	*ret = (int)v;
	return 0;
}

/* `berth help [COMMAND]` */
static int run_help(int argc, char *argv[])
{
	if (argc > 2)
		return cli_usage_error("help", "too many arguments");
	if (argc < 2) {
		print_global_help();
		return 0;
	}
	const struct cli_command *c = find_command(argv[1]);
	if (!c) {
		if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0) {
			fputs("Usage: berth help [COMMAND]\n\nShow the help of berth or of "
			      "COMMAND.\n",
			      stdout);
			return 0;
		}
		return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	}
	return cli_print_help(c);
}

enum {
	OPT_ROOT = 0x100,
	OPT_LOG,
	OPT_LOG_FORMAT,
	OPT_DEBUG,
	OPT_SYSTEMD_CGROUP,
};

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_free_ char *arg_root = NULL, *arg_log = NULL;
	enum berth_log_format arg_log_format = BERTH_LOG_FORMAT_TEXT;
	bool arg_debug = false, arg_systemd_cgroup = false;
	int c;

	while ((c = cli_getopt(NULL, argc, argv, "hv", options)) != -1) {
		switch (c) {
		case OPT_ROOT:
			free(arg_root);
			arg_root = cli_absolute(optarg);
			if (!arg_root)
				return cli_error("--root: %s", strerror(errno));
			break;
		case OPT_LOG:
			free(arg_log);
			arg_log = strdup(optarg);
			if (!arg_log)
				return cli_error("out of memory");
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "text") == 0)
				arg_log_format = BERTH_LOG_FORMAT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				arg_log_format = BERTH_LOG_FORMAT_JSON;
			else
				return cli_usage_error(NULL, "--log-format: unknown format '%s'",
						       optarg);
			break;
		case OPT_DEBUG:
			arg_debug = true;
			break;
		case OPT_SYSTEMD_CGROUP:
			arg_systemd_cgroup = true;
			break;
		case 'v':
			print_version();
			return 0;
		case 'h':
			print_global_help();
			return 0;
		default:
			return CLI_EXIT_USAGE;
		}
	}

	/* From here on errors also go to the --log file. */
	int r = cli_log_open(arg_log, arg_log_format, arg_debug);
	if (r < 0)
		return cli_error("--log: open \"%s\": %s", arg_log, strerror(-r));

	cli_ctx.root = arg_root;
	cli_ctx.debug = arg_debug;
	cli_ctx.systemd_cgroup = arg_systemd_cgroup;

	if (optind >= argc)
		return cli_usage_error(NULL, "missing command");

	int cmd_argc = argc - optind;
	char **cmd_argv = argv + optind;
	if (strcmp(cmd_argv[0], "help") == 0)
		return run_help(cmd_argc, cmd_argv);

	const struct cli_command *cmd = find_command(cmd_argv[0]);
	if (!cmd)
		return cli_usage_error(NULL, "unknown command '%s'", cmd_argv[0]);

	/* optind = 0 makes getopt start over on the command's own argv. */
	optind = 0;
	return cmd->run(cmd_argc, cmd_argv);
}
