/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libberth-example ROOT BUNDLE ID: the smallest engine that links the installed
 * libberth. Runs the container of BUNDLE as ID with berth_run(), state under
 * ROOT, and prints its exit status (128+N when signal N killed it).
 * Build: cc example.c $(pkg-config --cflags --libs libberth)
 */
#include <stdio.h>

#include <berth/berth.h>

/* libberth never prints: its warnings and debug lines come here. */
static void log_line(void *data, enum berth_log_level level, const char *msg)
{
	(void)data;
	if (level <= BERTH_LOG_WARN)
		fprintf(stderr, "libberth-example: %s\n", msg);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s ROOT BUNDLE ID\n", argv[0]);
		return 2;
	}
	struct berth_context ctx = { .root = argv[1], .log = log_line };
	struct berth_create_opts opts = { .bundle = argv[2], .id = argv[3] };
	struct berth_error *err = NULL;
	int status = -1;

	/* create + start, wait for the container's process, delete (keep = false) */
	if (berth_run(&ctx, &opts, false, &status, &err) < 0) {
		fprintf(stderr, "libberth-example: %s\n", err->msg);
		berth_error_free(err);
		return 1;
	}
	printf("libberth %s: container '%s' exited with status %d\n", BERTH_VERSION, argv[3],
	       status);
	return 0;
}
