/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of hooks_run() with /bin/sh scripts in a temp dir: the
 * state on stdin, args and env, exit 0, a non-zero status, a signal, a
 * timeout (which kills the hook's process group), a missing hook, and the
 * stop at the first failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"
#include "spec.h"
#include "tests.h"

static char dir[] = "/tmp/berth-test-hooks.XXXXXX";

/* dir/name, in a static buffer per call site (the callers keep at most two) */
static const char *in_dir(const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	check(fd >= 0);
	check(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	check(close(fd) == 0);
}

/* The content of path (malloc'd), or NULL if it does not exist. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = calloc(1, 65536);
	check(buf);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void script(const char *name, const char *body)
{
	char text[4096];
	snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
	write_file(in_dir(name), text, 0755);
}

/* Run the hooks h[0..n) as createRuntime hooks; returns the result. */
static int run(struct berth_hook *h, size_t n, const char *state, struct berth_error **err)
{
	struct berth_hooks hooks = { 0 };
	hooks.list[BERTH_HOOK_CREATE_RUNTIME] = h;
	hooks.n[BERTH_HOOK_CREATE_RUNTIME] = n;
	return hooks_run(&hooks, BERTH_HOOK_CREATE_RUNTIME, state, err);
}

static void want_error(int r, struct berth_error **ep, int want_r, const char *want)
{
	struct berth_error *e = *ep; /* read after run() set it */

	*ep = NULL;
	if (r != want_r || !e || !strstr(e->msg, want)) {
		fprintf(stderr, "want %d \"%s\", got %d \"%s\"\n", want_r, want, r,
			e ? e->msg : "success");
		exit(1);
	}
	berth_error_free(e);
}

/* A hook that exits 0 gets the state on stdin, its args and its env. */
static void test_ok(void)
{
	static const char state[] =
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"creating\","
		"\"pid\":42,\"bundle\":\"/b\"}";
	char body[1024];
	snprintf(body, sizeof(body),
		 "cat > %s/stdin\necho \"$0|$#|$1|$2\" > %s/args\necho \"$FOO|$BAR\" > %s/env", dir,
		 dir, dir);
	script("ok.sh", body);
	char *args[] = { (char *)"myhook", (char *)"a b", (char *)"c", NULL };
	char *env[] = { (char *)"FOO=foo", (char *)"BAR=x=y", NULL };
	struct berth_hook h = {
		.path = (char *)in_dir("ok.sh"), .args = args, .n_args = 3, .env = env, .n_env = 2
	};
	struct berth_error *e = NULL;
	check(run(&h, 1, state, &e) == 0 && !e);

	char *got = read_file(in_dir("stdin"));
	check(got && strcmp(got, state) == 0);
	free(got);
	/* args[0] is argv[0]; the kernel gives a #! script its path as $0 */
	char want[PATH_MAX + 16];
	snprintf(want, sizeof(want), "%s|2|a b|c\n", in_dir("ok.sh"));
	got = read_file(in_dir("args"));
	check(got && strcmp(got, want) == 0);
	free(got);
	got = read_file(in_dir("env"));
	check(got && strcmp(got, "foo|x=y\n") == 0);
	free(got);

	/* no args: argv is just the path; no state: stdin is empty */
	snprintf(body, sizeof(body), "cat > %s/stdin2\necho \"$0|$#\" > %s/args2", dir, dir);
	script("ok2.sh", body);
	struct berth_hook h2 = { .path = (char *)in_dir("ok2.sh") };
	check(run(&h2, 1, NULL, &e) == 0 && !e);
	got = read_file(in_dir("stdin2"));
	check(got && strcmp(got, "") == 0);
	free(got);
	got = read_file(in_dir("args2"));
	snprintf(want, sizeof(want), "%s|0\n", in_dir("ok2.sh"));
	check(got && strcmp(got, want) == 0);
	free(got);

	/* args[0] reaches the program as argv[0] */
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "tr '\\0' '|' < /proc/$$/cmdline > %s/cmdline", dir);
	char *args3[] = { (char *)"myhook", (char *)"-c", cmd, NULL };
	struct berth_hook h3 = { .path = (char *)"/bin/sh", .args = args3, .n_args = 3 };
	check(run(&h3, 1, NULL, &e) == 0 && !e);
	got = read_file(in_dir("cmdline"));
	check(got && strncmp(got, "myhook|-c|", 10) == 0);
	free(got);

	/* no hooks at all */
	check(run(NULL, 0, "{}", &e) == 0 && !e);
}

/* A state larger than a pipe buffer reaches the hook whole. */
static void test_big_state(void)
{
	size_t n = 256 * 1024;
	char *state = malloc(n + 1);
	check(state);
	for (size_t i = 0; i < n; i++)
		state[i] = (char)('a' + i % 26);
	state[n] = 0;
	char body[512];
	snprintf(body, sizeof(body), "wc -c > %s/count", dir);
	script("count.sh", body);
	struct berth_hook h = { .path = (char *)in_dir("count.sh") };
	struct berth_error *e = NULL;
	check(run(&h, 1, state, &e) == 0 && !e);
	char *got = read_file(in_dir("count"));
	check(got && strtoul(got, NULL, 10) == n);
	free(got);
	free(state);
}

static void test_failures(void)
{
	struct berth_error *e = NULL;

	script("status.sh", "exit 3");
	struct berth_hook h = { .path = (char *)in_dir("status.sh") };
	want_error(run(&h, 1, "{}", &e), &e, -EIO, "createRuntime hook \"");
	want_error(run(&h, 1, "{}", &e), &e, -EIO, "status.sh\": exited with status 3");

	script("signal.sh", "kill -TERM $$");
	h.path = (char *)in_dir("signal.sh");
	want_error(run(&h, 1, "{}", &e), &e, -EIO, "signal.sh\": killed by signal 15");

	h.path = (char *)in_dir("missing.sh");
	want_error(run(&h, 1, "{}", &e), &e, -ENOENT, "missing.sh\"");

	write_file(in_dir("noexec.sh"), "#!/bin/sh\nexit 0\n", 0644);
	h.path = (char *)in_dir("noexec.sh");
	want_error(run(&h, 1, "{}", &e), &e, -EACCES, "noexec.sh\"");

	struct berth_hook nopath = { 0 };
	want_error(run(&nopath, 1, "{}", &e), &e, -EINVAL, "createRuntime hook: no path");
}

/* The first failure stops the list: the hook after it never runs. */
static void test_stop_at_first_failure(void)
{
	char body[512];
	snprintf(body, sizeof(body), "echo 1 >> %s/order", dir);
	script("first.sh", body);
	snprintf(body, sizeof(body), "echo 3 >> %s/order", dir);
	script("third.sh", body);
	struct berth_hook h[] = {
		{ .path = (char *)in_dir("first.sh") },
		{ .path = (char *)in_dir("status.sh") },
		{ .path = (char *)in_dir("third.sh") },
	};
	struct berth_error *e = NULL;
	want_error(run(h, 3, "{}", &e), &e, -EIO, "status.sh\": exited with status 3");
	char *got = read_file(in_dir("order"));
	check(got && strcmp(got, "1\n") == 0);
	free(got);

	/* in order when all succeed */
	h[1].path = (char *)in_dir("first.sh");
	e = NULL;
	check(run(h, 3, "{}", &e) == 0 && !e);
	got = read_file(in_dir("order"));
	check(got && strcmp(got, "1\n1\n1\n3\n") == 0);
	free(got);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A hook past its timeout fails after about that long, and its process group is killed. */
static void test_timeout(void)
{
	char body[512];
	snprintf(body, sizeof(body), "sleep 30 &\necho $! > %s/bgpid\nsleep 30", dir);
	script("slow.sh", body);
	struct berth_hook h = { .path = (char *)in_dir("slow.sh"),
				.has_timeout = true,
				.timeout = 1 };
	struct berth_error *e = NULL;
	double t0 = now();
	want_error(run(&h, 1, "{}", &e), &e, -ETIMEDOUT, "slow.sh\": timed out after 1s");
	double dt = now() - t0;
	check(dt >= 0.9 && dt < 5);

	/* the background sleep of the hook's group is gone (or a zombie on its way) */
	char *got = read_file(in_dir("bgpid"));
	check(got);
	pid_t bg = (pid_t)strtol(got, NULL, 10);
	free(got);
	check(bg > 1);
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		char p[64], st[4096] = "";
		snprintf(p, sizeof(p), "/proc/%d/stat", (int)bg);
		FILE *f = fopen(p, "re");
		if (!f) {
			gone = true;
			break;
		}
		size_t k = fread(st, 1, sizeof(st) - 1, f);
		fclose(f);
		st[k] = 0;
		const char *rp = strrchr(st, ')');
		gone = rp && rp[1] == ' ' && rp[2] == 'Z';
		if (!gone)
			usleep(10000);
	}
	check(gone);
}

int main(void)
{
	check(mkdtemp(dir));
	test_ok();
	test_big_state();
	test_failures();
	test_stop_at_first_failure();
	test_timeout();

	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	check(system(cmd) == 0);
	return 0;
}
