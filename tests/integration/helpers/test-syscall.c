// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * berth-test-syscall: make one raw system call and print its result, for the
 * seccomp integration tests. Linked statically so it runs in a busybox rootfs.
 * usage: berth-test-syscall [--catch-sigsys] NAME|NUMBER [ARG...]
 * An ARG is a number (strtoull, base 0) or "s:TEXT" (a pointer to TEXT).
 * Prints "ret=<return value> errno=<errno or 0>" and exits 0. With
 * --catch-sigsys a SIGSYS prints "SIGSYS syscall=<nr>" and exits 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
	const char *name;
	long nr;
} names[] = {
	{ "getpid", SYS_getpid },
	{ "mkdir", SYS_mkdir },
	{ "mkdirat", SYS_mkdirat },
	{ "personality", SYS_personality },
	{ "kill", SYS_kill },
	{ "unshare", SYS_unshare },
	{ "mount", SYS_mount },
	{ "keyctl", SYS_keyctl },
	{ "kexec_load", SYS_kexec_load },
	{ "getcpu", SYS_getcpu },
	{ "close_range", SYS_close_range },
	{ "openat2", SYS_openat2 },
	{ "faccessat2", SYS_faccessat2 },
	{ "clone3", SYS_clone3 },
	{ "sync", SYS_sync },
	{ "uname", SYS_uname },
	{ "getppid", SYS_getppid },
	{ "chdir", SYS_chdir },
};

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "SIGSYS syscall=%d\n", si->si_syscall);
	(void)!write(1, buf, (size_t)n);
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--catch-sigsys") == 0) {
		struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
		sigaction(SIGSYS, &sa, NULL);
		argv++;
		argc--;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2 || argc > 8) {
		fprintf(stderr, "usage: %s NAME|NUMBER [ARG...]\n", argv[0]);
		return 2;
	}
	long nr = -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].name, argv[1]) == 0)
			nr = names[i].nr;
	if (nr < 0) {
		char *end;
		nr = strtol(argv[1], &end, 0);
		if (*end) {
			fprintf(stderr, "unknown syscall %s\n", argv[1]);
			return 2;
		}
	}
	unsigned long a[6] = { 0 };
	for (int i = 2; i < argc; i++)
		a[i - 2] = strncmp(argv[i], "s:", 2) == 0 ? (unsigned long)(argv[i] + 2)
							  : strtoull(argv[i], NULL, 0);
	errno = 0;
	long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	printf("ret=%ld errno=%d\n", r, r < 0 ? errno : 0);
	return 0;
}
