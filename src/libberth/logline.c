/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lines of a --log file, as runc writes them (logrus text or JSON) and
 * engines read them back: for the berth CLI and for engines that stand in
 * for runc. Memory only; any process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/berth.h"
#include "json.h"
#include "util/macro.h"

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

char *berth_log_line(enum berth_log_format format, enum berth_log_level level, const char *msg,
		     time_t t)
{
	char now[sizeof("YYYY-MM-DDTHH:MM:SSZ") + 8];
	struct tm tm;
	char *line = NULL;
	size_t len = 0;

	if (!gmtime_r(&t, &tm) || strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strcpy(now, "1970-01-01T00:00:00Z");

	if (format == BERTH_LOG_FORMAT_JSON) {
		/* the one generator of berth's JSON (invalid UTF-8 becomes U+FFFD) */
		struct gen j;
		if (gen_init(&j, NULL) < 0)
			return NULL;
		gen_open(&j, false);
		gen_key_str(&j, "level", level_name(level));
		gen_key_str(&j, "msg", msg);
		gen_key_str(&j, "time", now);
		gen_close(&j, false);
		_cleanup_free_ char *doc = NULL;
		if (gen_finish(&j, &doc, NULL) < 0 || asprintf(&line, "%s\n", doc) < 0)
			return NULL;
		return line;
	}

	FILE *f = open_memstream(&line, &len);
	if (!f)
		return NULL;
	fprintf(f, "time=\"%s\" level=%s msg=", now, level_name(level));
	put_quoted(f, msg);
	fputc('\n', f);
	if (fclose(f) != 0) {
		free(line);
		return NULL;
	}
	return line;
}
