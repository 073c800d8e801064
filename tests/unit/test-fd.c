/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/fd.c: the pid file as engines read it back, and atomic writes that
 * never write into a file they found in place of their temporary one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fd.h"
#include "util/macro.h"
#include "tests.h"

static char dir[] = "/tmp/berth-test-fd.XXXXXX";

static char *slurp(const char *name)
{
	char path[256], *text = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	check(read_file_at(AT_FDCWD, path, 4096, &text, NULL) == 0);
	return text;
}

static void test_pid_file(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/ctr.pid", dir);
	check(write_pid_file(path, 1234) == 0);
	char *t = slurp("ctr.pid");
	check(streq(t, "1234")); /* no newline: containerd's strconv.Atoi takes none */
	free(t);
	struct stat st;
	check(stat(path, &st) == 0 && (st.st_mode & 07777) == (0644 & ~umask(022)));

	/* replaced, not appended to */
	check(write_pid_file(path, 7) == 0);
	t = slurp("ctr.pid");
	check(streq(t, "7"));
	free(t);

	/* relative to the cwd */
	char cwd[4096];
	check(getcwd(cwd, sizeof(cwd)));
	check(chdir(dir) == 0);
	check(write_pid_file("rel.pid", 42) == 0);
	check(chdir(cwd) == 0);
	t = slurp("rel.pid");
	check(streq(t, "42"));
	free(t);

	snprintf(path, sizeof(path), "%s/missing/ctr.pid", dir);
	check(write_pid_file(path, 1) == -ENOENT);
	snprintf(path, sizeof(path), "%s/", dir);
	check(write_pid_file(path, 1) < 0);
}

/*
 * A hard link planted where the temporary file goes (its name is
 * predictable: ".NAME.PID.tmp") must not be written through.
 */
static void test_planted_tmp(void)
{
	char victim[256], planted[256], path[256];
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(planted, sizeof(planted), "%s/.ctr2.pid.%d.tmp", dir, (int)getpid());
	snprintf(path, sizeof(path), "%s/ctr2.pid", dir);
	FILE *f = fopen(victim, "w");
	check(f && fputs("secret", f) >= 0 && fclose(f) == 0);
	check(link(victim, planted) == 0);

	check(write_pid_file(path, 99) == 0);
	char *t = slurp("victim");
	check(streq(t, "secret"));
	free(t);
	t = slurp("ctr2.pid");
	check(streq(t, "99"));
	free(t);
	check(access(planted, F_OK) < 0 && errno == ENOENT);
	unlink(victim);
}

int main(void)
{
	check(mkdtemp(dir));
	test_pid_file();
	test_planted_tmp();
	const char *left[] = { "ctr.pid", "rel.pid", "ctr2.pid" };
	for (size_t i = 0; i < ELEMENTSOF(left); i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/%s", dir, left[i]);
		unlink(p);
	}
	check(rmdir(dir) == 0);
	return 0;
}
