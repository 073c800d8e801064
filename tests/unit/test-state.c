/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the state dir (create, lock, write/read, status), container
 * ID checks, signal names and the sync message channel.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/berth.h"
#include "state.h"
#include "util/proc.h"
#include "sync.h"
#include "util/fd.h"
#include "util/macro.h"
#include "tests.h"

static void test_id_check(void)
{
	check(berth_id_check("web", NULL) == 0);
	check(berth_id_check("a_b.c+d-e", NULL) == 0);
	check(berth_id_check("0", NULL) == 0);
	check(berth_id_check("", NULL) == -EINVAL);
	check(berth_id_check(NULL, NULL) == -EINVAL);
	check(berth_id_check("../x", NULL) == -EINVAL);
	check(berth_id_check("a/b", NULL) == -EINVAL);
	check(berth_id_check(".hidden", NULL) == -EINVAL);
	check(berth_id_check("-x", NULL) == -EINVAL);
	check(berth_id_check("a b", NULL) == -EINVAL);

	char *longid = malloc(1026);
	memset(longid, 'a', 1025);
	longid[1025] = 0;
	struct berth_error *e = NULL;
	check(berth_id_check(longid, &e) == -EINVAL);
	check(strstr(e->msg, "1024"));
	berth_error_free(e);
	longid[1024] = 0;
	check(berth_id_check(longid, NULL) == 0);
	free(longid);
}

static void test_signal_parse(void)
{
	int sig = 0;
	check(berth_signal_parse("TERM", &sig) == 0 && sig == SIGTERM);
	check(berth_signal_parse("SIGKILL", &sig) == 0 && sig == SIGKILL);
	check(berth_signal_parse("9", &sig) == 0 && sig == 9);
	check(berth_signal_parse("hup", &sig) == 0 && sig == SIGHUP);
	check(berth_signal_parse("NOPE", &sig) < 0);
	check(berth_signal_parse("0", &sig) < 0);
	check(berth_signal_parse("65", &sig) < 0);
}

static void test_state_roundtrip(void)
{
	char root[] = "/tmp/berth-test-state-XXXXXX";
	check(mkdtemp(root));
	struct berth_error *e = NULL;
	int dirfd = -1;

	check(state_dir_open(root, "c1", true, &dirfd, &e) == 0);
	struct stat st;
	check(fstat(dirfd, &st) == 0 && (st.st_mode & 0777) == 0700);

	/* a second create of the same ID is refused */
	int fd2 = -1;
	check(state_dir_open(root, "c1", true, &fd2, &e) == -EEXIST);
	check(strcmp(e->msg, "container \"c1\" already exists") == 0);
	berth_error_free(e);
	e = NULL;

	char *keys[] = { "a", "k2", NULL }, *values[] = { "1", "v \"quoted\"", NULL };
	struct berth_state s = {
		.id = "c1",
		.bundle = "/b",
		.rootfs = "/b/rootfs",
		.created = "2026-01-01T00:00:00Z",
		.cgroup = "/sys/fs/cgroup/x",
		.pid = getpid(),
		.pid_start_time = proc_start_time(getpid()),
		.annotation_keys = keys,
		.annotation_values = values,
		.n_annotations = 2,
	};
	check(s.pid_start_time > 0);
	check(state_write(dirfd, &s, &e) == 0);

	struct berth_state *r = NULL;
	check(state_read(dirfd, "c1", &r, &e) == 0);
	check(strcmp(r->bundle, "/b") == 0 && strcmp(r->cgroup, "/sys/fs/cgroup/x") == 0);
	check(r->pid == getpid() && r->pid_start_time == s.pid_start_time);
	check(r->n_annotations == 2 && strcmp(r->annotation_values[1], "v \"quoted\"") == 0);
	/* our own process is alive and not started: created; started: running */
	check(strcmp(state_status(dirfd, r), "created") == 0);
	r->started = true;
	check(strcmp(state_status(dirfd, r), "running") == 0);
	/* a different start time means the PID was reused: stopped */
	r->pid_start_time++;
	check(strcmp(state_status(dirfd, r), "stopped") == 0);
	berth_state_free(r);

	/* a zombie is stopped */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	siginfo_t si;
	check(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT) == 0); /* exited, not reaped */
	check(proc_start_time(child) == 0);
	waitpid(child, NULL, 0);

	check(state_dir_remove(root, "c1", dirfd) == 0);
	close(dirfd);
	check(access(root, F_OK) == 0);
	char p[256];
	snprintf(p, sizeof(p), "%s/c1", root);
	check(access(p, F_OK) < 0 && errno == ENOENT);

	check(state_dir_open(root, "c1", false, &dirfd, &e) == -ENOENT);
	check(strcmp(e->msg, "container \"c1\" does not exist") == 0);
	berth_error_free(e);
	rmdir(root);
}

static void test_sync(void)
{
	int sv[2];
	check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	check(sync_send(sv[0], WIRE_PID, 42, NULL) == 0);
	check(sync_send(sv[0], WIRE_ERROR, EACCES, "mount \"proc\": denied") == 0);

	int32_t v = 0;
	struct berth_error *e = NULL;
	check(sync_expect(sv[1], WIRE_PID, &v, NULL, "pid", &e) == 0 && v == 42);
	check(sync_expect(sv[1], WIRE_CREATED, NULL, NULL, "created", &e) == -EACCES);
	check(strcmp(e->msg, "mount \"proc\": denied") == 0);
	berth_error_free(e);
	e = NULL;

	close(sv[0]);
	check(sync_expect(sv[1], WIRE_CREATED, NULL, NULL, "it was created", &e) == -EPIPE);
	check(strcmp(e->msg, "container init exited before it was created") == 0);
	berth_error_free(e);
	close(sv[1]);
}

static void test_error_prefix(void)
{
	struct berth_error *e = NULL;
	check(berth_error_set(&e, ENOENT, "open \"%s\"", "x") == -ENOENT);
	/* the first cause wins */
	check(berth_error_set(&e, EPERM, "other") == -ENOENT);
	berth_error_prefix(&e, "create \"%s\"", "web");
	check(strcmp(e->msg, "create \"web\": open \"x\": No such file or directory") == 0);
	berth_error_free(e);
}

/* Only what the effective user alone could have written is read back from a state root. */
static void test_untrusted_root(void)
{
	char tmpl[] = "/tmp/berth-test-trust-XXXXXX";
	char *base = mkdtemp(tmpl);
	check(base);
	char root[256], path[512];
	snprintf(root, sizeof(root), "%s/root", base);
	struct berth_error *e = NULL;
	int fd = -EBADF;

	/* a missing root is made 0700, whatever the umask */
	mode_t old = umask(0);
	check(state_dir_open(root, "c1", true, &fd, &e) == 0 && !e);
	umask(old);
	struct stat st;
	check(stat(root, &st) == 0 && (st.st_mode & 07777) == 0700);
	snprintf(path, sizeof(path), "%s/c1", root);
	check(stat(path, &st) == 0 && (st.st_mode & 07777) == 0700);
	close(fd);

	/* a state dir others can enter: not ours */
	check(chmod(path, 0755) == 0);
	check(state_dir_open(root, "c1", false, &fd, &e) == -EPERM && e);
	check(strstr(e->msg, "c1\" is accessible by group or others (mode 0755)"));
	berth_error_free(e);
	e = NULL;
	check(chmod(path, 0700) == 0);

	/* a state.json others can write: not ours */
	check(state_dir_open(root, "c1", false, &fd, &e) == 0);
	struct berth_state s = { .id = (char *)"c1", .bundle = (char *)"/b" };
	check(state_write(fd, &s, NULL) == 0);
	check(fchmodat(fd, STATE_FILE, 0622, 0) == 0);
	struct berth_state *got = NULL;
	check(state_read(fd, "c1", &got, &e) == -EPERM && !got);
	check(streq(e->msg,
		    "state of \"c1\": state.json is writable by group or others (mode 0622)"));
	berth_error_free(e);
	e = NULL;
	check(fchmodat(fd, STATE_FILE, 0644, 0) == 0);
	check(state_read(fd, "c1", &got, NULL) == 0 && got);
	berth_state_free(got);
	check(state_dir_remove(root, "c1", fd) == 0);
	close(fd);

	/* a root others can write: refused, with or without create */
	check(chmod(root, 0777) == 0);
	for (int create = 0; create < 2; create++) {
		check(state_dir_open(root, "c2", create, &fd, &e) == -EPERM && e);
		char want[512];
		snprintf(want, sizeof(want),
			 "state root \"%s\" is writable by group or others (mode 0777)", root);
		check(streq(e->msg, want));
		berth_error_free(e);
		e = NULL;
	}
	snprintf(path, sizeof(path), "%s/c2", root);
	check(access(path, F_OK) < 0);
	/* a missing root without create: no container, not an error of the root */
	check(rmdir(root) == 0);
	check(state_dir_open(root, "c3", false, &fd, &e) == -ENOENT);
	check(streq(e->msg, "container \"c3\" does not exist"));
	berth_error_free(e);
	check(rmdir(base) == 0);
}

/*
 * The exit record as berth-shim writes it (read, set, write), the state
 * document in its two forms, and a state.json berth did not write as such.
 */
static void test_state_document(void)
{
	char root[] = "/tmp/berth-test-doc-XXXXXX";
	check(mkdtemp(root));
	struct berth_error *e = NULL;
	int dirfd = -1;
	check(state_dir_open(root, "d1", true, &dirfd, &e) == 0);
	char *keys[] = { "a", NULL }, *values[] = { "1", NULL };
	struct berth_state s = {
		.id = "d1",
		.bundle = "/b",
		.rootfs = "/b/rootfs",
		.created = "2026-01-01T00:00:00Z",
		.pid = 42,
		.pid_start_time = UINT64_MAX,
		.started = true,
		.annotation_keys = keys,
		.annotation_values = values,
		.n_annotations = 1,
	};
	check(state_write(dirfd, &s, &e) == 0);
	struct berth_state *r = NULL;
	check(state_read(dirfd, "d1", &r, &e) == 0 && !r->has_exit_code);
	check(r->pid_start_time == UINT64_MAX && r->started && !r->creating);
	r->has_exit_code = true;
	r->exit_code = 137;
	r->exited_at = strdup("2026-01-01T00:00:01Z");
	check(state_write(dirfd, r, &e) == 0);
	berth_state_free(r);
	check(state_read(dirfd, "d1", &r, &e) == 0);
	check(r->has_exit_code && r->exit_code == 137 &&
	      streq(r->exited_at, "2026-01-01T00:00:01Z"));
	check(streq(r->rootfs, "/b/rootfs") && r->n_annotations == 1);

	char *full = state_json(r, "stopped", true, NULL);
	check(full && streq(full, "{\"ociVersion\":\"" BERTH_SPEC_VERSION "\",\"id\":\"d1\","
				  "\"status\":\"stopped\",\"pid\":0,\"bundle\":\"/b\","
				  "\"rootfs\":\"/b/rootfs\",\"created\":\"2026-01-01T00:00:00Z\","
				  "\"annotations\":{\"a\":\"1\",\"berth.exitCode\":\"137\","
				  "\"berth.exitedAt\":\"2026-01-01T00:00:01Z\"}}"));
	free(full);
	char *hook = state_json(r, "running", false, NULL);
	check(hook && streq(hook, "{\"ociVersion\":\"" BERTH_SPEC_VERSION "\",\"id\":\"d1\","
				  "\"status\":\"running\",\"pid\":42,\"bundle\":\"/b\","
				  "\"annotations\":{\"a\":\"1\"}}"));
	free(hook);
	berth_state_free(r);

	/* a field of the wrong type: corrupt, and where */
	static const char bad[] = "{\"id\":\"d1\",\"bundle\":\"/b\",\"pid\":\"42\"}";
	check(write_file_atomic_at(dirfd, STATE_FILE, bad, sizeof(bad) - 1, 0600) == 0);
	r = NULL;
	check(state_read(dirfd, "d1", &r, &e) == -EBADMSG && !r);
	check(streq(e->msg,
		    "state of \"d1\" is corrupt: state.json: pid: must be a 32-bit integer"));
	berth_error_free(e);
	e = NULL;
	static const char nobundle[] = "{\"id\":\"d1\"}";
	check(write_file_atomic_at(dirfd, STATE_FILE, nobundle, sizeof(nobundle) - 1, 0600) == 0);
	check(state_read(dirfd, "d1", &r, &e) == -EBADMSG && !r);
	check(streq(e->msg, "state of \"d1\" is corrupt: state.json: bundle: is required"));
	berth_error_free(e);
	check(state_dir_remove(root, "d1", dirfd) == 0);
	close(dirfd);
	rmdir(root);
}

/* list --format json: the berth_state_to_json() objects of the list, in an array */
static void test_state_list_json(void)
{
	struct berth_state a = {
		.id = "a", .status = "created", .pid = 7, .bundle = "/a", .owner = "root"
	};
	struct berth_state b = { .id = "b", .status = "stopped", .pid = 8, .bundle = "/b" };
	struct berth_state *l[] = { &a, &b };
	_cleanup_free_ char *none = berth_state_list_to_json(l, 0);
	check(none && streq(none, "[]"));
	_cleanup_free_ char *two = berth_state_list_to_json(l, 2);
	_cleanup_free_ char *ja = berth_state_to_json(&a, false);
	_cleanup_free_ char *jb = berth_state_to_json(&b, false);
	_cleanup_free_ char *want = NULL;
	check(ja && jb && asprintf(&want, "[%s,%s]", ja, jb) > 0);
	check(two && streq(two, want));
	check(strstr(two, "\"owner\":\"root\"") && strstr(two, "\"pid\":0"));
}

int main(void)
{
	test_state_document();
	test_state_list_json();
	test_id_check();
	test_signal_parse();
	test_state_roundtrip();
	test_sync();
	test_error_prefix();
	test_untrusted_root();
	printf("test-state: ok\n");
	return 0;
}
