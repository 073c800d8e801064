/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where the berth command's errors, warnings and debug lines go: one line on
 * stderr ("berth: ...") and, with --log FILE, one line appended to FILE in
 * logrus-like text or JSON, which engines read back. Runs in the CLI process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static int log_fd = -EBADF;
static enum berth_log_format log_format = BERTH_LOG_FORMAT_TEXT;
static bool log_debug;

int cli_log_open(const char *path, enum berth_log_format format, bool debug)
{
	log_format = format;
	log_debug = debug;
	if (!path)
		return 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return -errno;
	log_fd = fd;
	return 0;
}

/* Append one line to the --log file, written with a single write(2). */
static void log_file_line(enum berth_log_level level, const char *msg)
{
	if (log_fd < 0)
		return;
	_cleanup_free_ char *line = berth_log_line(log_format, level, msg, time(NULL));
	/* Best effort: a log we cannot write must not change the command's outcome. */
	if (!line || write(log_fd, line, strlen(line)) < 0)
		return;
}

/*
 * One line on stderr, built in memory and written with one write(2): stderr is
 * unbuffered, and parallel berths sharing it would interleave mid-word.
 */
static void emit(enum berth_log_level level, const char *msg)
{
	static const char *const prefix[] = {
		[BERTH_LOG_ERROR] = "",
		[BERTH_LOG_WARN] = "warning: ",
		[BERTH_LOG_INFO] = "info: ",
		[BERTH_LOG_DEBUG] = "debug: ",
	};
	_cleanup_free_ char *line = NULL;
	size_t len = 0;

	fflush(stdout);
	FILE *f = open_memstream(&line, &len);
	if (f) {
		fprintf(f, "berth: %s", prefix[level]);
		/* One line, whatever the message holds: escape line breaks and other controls. */
		for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
			if (*p == '\n')
				fputs("\\n", f);
			else if (*p < 0x20 && *p != '\t')
				fprintf(f, "\\x%02x", *p);
			else
				fputc(*p, f);
		}
		fputc('\n', f);
	}
	static const char oom[] = "berth: out of memory\n";
	/* stderr is unbuffered: one fwrite() is one write(2), retried if short */
	if (f && fclose(f) == 0 && line)
		fwrite(line, 1, len, stderr);
	else
		fputs(oom, stderr);
	log_file_line(level, msg);
}

void cli_log_lib(void *data, enum berth_log_level level, const char *msg)
{
	if ((level == BERTH_LOG_INFO || level == BERTH_LOG_DEBUG) && !log_debug)
		return;
	if (level > BERTH_LOG_DEBUG)
		return;
	emit(level, msg);
}

static int verror(const char *suffix, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static int verror(const char *suffix, const char *fmt, va_list ap)
{
	_cleanup_free_ char *msg = NULL, *full = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg && suffix && asprintf(&full, "%s%s", msg, suffix) < 0)
		full = NULL;
	emit(BERTH_LOG_ERROR, full ? full : msg ? msg : "out of memory");
	return CLI_EXIT_FAILURE;
}

int cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = verror(NULL, fmt, ap);
	va_end(ap);
	return r;
}

int cli_fail(struct berth_error *e)
{
	cli_error("%s", e && e->msg ? e->msg : "unknown error");
	berth_error_free(e);
	return CLI_EXIT_FAILURE;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	_cleanup_free_ char *hint = NULL;
	va_list ap;

	if (asprintf(&hint, " (see 'berth %s%s--help')", cmd ? cmd : "", cmd ? " " : "") < 0)
		hint = NULL;
	va_start(ap, fmt);
	verror(hint, fmt, ap);
	va_end(ap);
	return CLI_EXIT_USAGE;
}
