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
#include "json.h"
#include "util/fd.h"
#include "util/macro.h"

static int log_fd = -EBADF;
static enum cli_log_format log_format = CLI_LOG_TEXT;
static bool log_debug;

int cli_log_open(const char *path, enum cli_log_format format, bool debug)
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

/*
 * Write s quoted for the text format: JSON's escapes for quotes, backslashes
 * and control bytes, bytes >= 0x80 passed through.
 */
static void put_quoted(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *level_name(enum berth_log_level level)
{
	switch (level) {
	case BERTH_LOG_ERROR:
		return "error";
	case BERTH_LOG_WARN:
		return "warning";
	case BERTH_LOG_INFO:
		return "info";
	case BERTH_LOG_DEBUG:
		return "debug";
	}
	return "info";
}

/* Append one line to the --log file, written with a single write(2). */
static void log_file_line(enum berth_log_level level, const char *msg)
{
	char now[sizeof("YYYY-MM-DDTHH:MM:SSZ") + 8];
	time_t t = time(NULL);
	struct tm tm;
	_cleanup_free_ char *line = NULL;
	size_t len = 0;

	if (log_fd < 0)
		return;
	if (!gmtime_r(&t, &tm) || strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strcpy(now, "1970-01-01T00:00:00Z");

	if (log_format == CLI_LOG_JSON) {
		/* the one generator of berth's JSON (invalid UTF-8 becomes U+FFFD) */
		struct gen j;
		if (gen_init(&j, NULL) < 0)
			return;
		gen_open(&j, false);
		gen_key_str(&j, "level", level_name(level));
		gen_key_str(&j, "msg", msg);
		gen_key_str(&j, "time", now);
		gen_close(&j, false);
		_cleanup_free_ char *doc = NULL;
		if (gen_finish(&j, &doc, NULL) < 0 || asprintf(&line, "%s\n", doc) < 0)
			return;
		len = strlen(line);
	} else {
		FILE *f = open_memstream(&line, &len);
		if (!f)
			return;
		fprintf(f, "time=\"%s\" level=%s msg=", now, level_name(level));
		put_quoted(f, msg);
		fputc('\n', f);
		if (fclose(f) != 0 || !line)
			return;
	}
	/* Best effort: a log we cannot write must not change the command's outcome. */
	if (write(log_fd, line, len) < 0)
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
	if (f && fclose(f) == 0 && line)
		(void)write_all(STDERR_FILENO, line, len);
	else
		(void)write_all(STDERR_FILENO, oom, sizeof(oom) - 1);
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

_printf_(2, 0) static int verror(const char *suffix, const char *fmt, va_list ap)
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
