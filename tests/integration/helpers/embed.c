/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * berth-test-embed ROOT BUNDLE ID: an engine that links libberth. Runs the
 * bundle with berth_run(), then a second container with berth_create(),
 * berth_exec() and berth_delete(), and prints after each call whether its
 * own process is still a child subreaper ("subreaper=0" is right: libberth
 * must not change its caller for good). Exit 0 when every call worked.
 */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "berth/berth.h"

static int subreaper(void)
{
	int v = -1;
	prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
	return v;
}

static int fail(const char *what, struct berth_error *e)
{
	fprintf(stderr, "%s: %s\n", what, e ? e->msg : "?");
	berth_error_free(e);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: berth-test-embed ROOT BUNDLE ID\n");
		return 2;
	}
	struct berth_context ctx = { .root = argv[1] };
	struct berth_create_opts o = { .id = argv[3], .bundle = argv[2] };
	struct berth_error *e = NULL;
	int status = -1;
	if (berth_run(&ctx, &o, false, &status, &e) < 0)
		return fail("run", e);
	printf("run status=%d subreaper=%d\n", status, subreaper());

	char id2[256];
	snprintf(id2, sizeof(id2), "%s-2", argv[3]);
	o.id = id2;
	if (berth_create(&ctx, &o, &e) < 0)
		return fail("create", e);
	printf("create subreaper=%d\n", subreaper());
	if (berth_start(&ctx, id2, &e) < 0)
		return fail("start", e);
	char *args[] = { (char *)"true", NULL };
	struct berth_exec_params p = { .id = id2, .args = args };
	if (berth_exec(&ctx, &p, &status, &e) < 0)
		return fail("exec", e);
	printf("exec status=%d subreaper=%d\n", status, subreaper());
	if (berth_delete(&ctx, id2, true, &e) < 0)
		return fail("delete", e);
	return 0;
}
