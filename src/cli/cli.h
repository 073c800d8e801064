/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the berth command's files share: the command table entry, the global
 * options, error and log output (log.c), and small parsing helpers (main.c).
 */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "berth/berth.h"
#include "berth/cleanup.h"

/*
 * The CLI sees only the public headers of libberth (include/berth/; meson
 * gives it no other include path): these are the house's short names for
 * berth/cleanup.h's helpers, as libberth's util/macro.h has them.
 */
#define _cleanup_(fn)	__attribute__((cleanup(fn)))
#define _cleanup_free_	_cleanup_(berth_freep)
#define _cleanup_close_ _cleanup_(berth_closep)

/* Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong. */
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE	 2

struct cli_command {
	const char *name;
	const char *summary; /* one line for `berth --help` */
	const char *help;    /* full `berth NAME --help` text, starting with "Usage: " */
	/* argv[0] is the command name; returns the process exit code. */
	int (*run)(int argc, char *argv[]);
};

extern const struct cli_command cli_cmd_create, cli_cmd_start, cli_cmd_run, cli_cmd_state,
	cli_cmd_kill, cli_cmd_delete, cli_cmd_list, cli_cmd_ps, cli_cmd_spec, cli_cmd_features;
extern const struct cli_command cli_cmd_update, cli_cmd_pause, cli_cmd_resume, cli_cmd_events;
extern const struct cli_command cli_cmd_exec;
extern const struct cli_command cli_cmd_wait, cli_cmd_logs, cli_cmd_attach;
extern const struct cli_command cli_cmd_checkpoint, cli_cmd_restore;

/* Global options, set by main.c before a command runs. */
extern struct berth_context cli_ctx;

/* log.c: open --log FILE (append) for error/warning lines; returns 0 or -errno. */
int cli_log_open(const char *path, enum berth_log_format format, bool debug);
/* The library's ctx->log callback: warnings (and debug lines with --debug) to stderr and the log. */
void cli_log_lib(void *data, enum berth_log_level level, const char *msg);
/* Report one error line "berth: MSG" on stderr and in the log file; returns CLI_EXIT_FAILURE. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a library error (and free it); returns CLI_EXIT_FAILURE. */
int cli_fail(struct berth_error *e);
/* A command-line mistake: "berth: MSG (see 'berth [CMD] --help')"; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * main.c: getopt_long() for a command, with berth's error messages. Returns
 * the option, -1 at the end, or '?' after reporting a usage error (the
 * caller returns CLI_EXIT_USAGE). --help is handled by the caller: include
 * { "help", no_argument, NULL, 'h' } and call cli_print_help().
 */
int cli_getopt(const char *cmd, int argc, char *argv[], const char *shortopts,
	       const struct option *longopts);
int cli_print_help(const struct cli_command *c);

/*
 * Check the positional arguments left after options: between min and max
 * (each a name for the usage message). Returns 0 or CLI_EXIT_USAGE after
 * reporting.
 */
int cli_check_args(const char *cmd, int n, int min, int max);

/* Returned by a command's argument parser when the command should go on (exit codes are >= 0). */
#define CLI_CONTINUE (-1)

/*
 * The argument parsing of a command whose only option is --help: then
 * between min and max positional arguments (from argv[optind]). Returns
 * CLI_CONTINUE, or the exit code (0 after --help).
 */
int cli_parse_plain(const struct cli_command *cmd, int argc, char *argv[], int min, int max);
/* A command "NAME ID" with no option but --help that only calls fn(&cli_ctx, ID). */
int cli_run_on_id(const struct cli_command *cmd, int argc, char *argv[],
		  int (*fn)(struct berth_context *ctx, const char *id, struct berth_error **err));

/* An absolute version of path (relative to the cwd); malloc'd, NULL on ENOMEM. */
char *cli_absolute(const char *path);
/* A non-negative int option value, or a usage error (returns CLI_EXIT_USAGE). */
int cli_parse_uint(const char *cmd, const char *opt, const char *s, int *ret);

/* The arguments of create and run (cmd-create.c). */
struct cli_create_args {
	struct berth_create_opts opts;
	bool keep;				  /* run only */
	bool detach;				  /* run only */
	bool shim;				  /* create --shim (run -d implies it) */
	char *bundle, *pid_file, *console_socket; /* absolute, malloc'd; opts point at them */
};

/*
 * Parse `create` or `run` arguments (run also takes --keep and --detach).
 * Returns CLI_CONTINUE with *a filled in, or an exit code (0 after --help).
 */
int cli_create_parse(const struct cli_command *cmd, bool is_run, int argc, char *argv[],
		     struct cli_create_args *a);
void cli_create_args_done(struct cli_create_args *a);
