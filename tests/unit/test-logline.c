/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of berth_log_line(): the --log lines in runc's text and JSON
 * formats, with quotes, control bytes and invalid UTF-8 in the message.
 */
#include <stdlib.h>
#include <string.h>

#include "berth/berth.h"
#include "util/macro.h"
#include "tests.h"

static void test_text(void)
{
	_cleanup_free_ char *l = berth_log_line(BERTH_LOG_FORMAT_TEXT, BERTH_LOG_ERROR,
						"a \"q\"\n\x01\\ \xc3\xa9", 0);
	check(l && streq(l, "time=\"1970-01-01T00:00:00Z\" level=error "
			    "msg=\"a \\\"q\\\"\\n\\x01\\\\ \xc3\xa9\"\n"));
	_cleanup_free_ char *w = berth_log_line(BERTH_LOG_FORMAT_TEXT, BERTH_LOG_WARN, "", 86399);
	check(w && streq(w, "time=\"1970-01-01T23:59:59Z\" level=warning msg=\"\"\n"));
}

static void test_json(void)
{
	/* invalid UTF-8 becomes U+FFFD: the line stays JSON */
	_cleanup_free_ char *l =
		berth_log_line(BERTH_LOG_FORMAT_JSON, BERTH_LOG_INFO, "x\xff\"\n", 86400);
	check(l && streq(l, "{\"level\":\"info\",\"msg\":\"x\xef\xbf\xbd\\\"\\n\","
			    "\"time\":\"1970-01-02T00:00:00Z\"}\n"));
	_cleanup_free_ char *d = berth_log_line(BERTH_LOG_FORMAT_JSON, BERTH_LOG_DEBUG, "d", 0);
	check(d && strstr(d, "\"level\":\"debug\""));
}

int main(void)
{
	test_text();
	test_json();
	return 0;
}
