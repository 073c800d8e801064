/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pod sandbox ("pause") process of berth's CRI tests, built statically by
 * tests/cri/cri.sh into the sandbox image: it holds the pod's namespaces, reaps the
 * children the pod's PID namespace hands it, and exits 0 on SIGTERM or SIGINT.
 * Runs as the init of the sandbox container.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_child(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	struct sigaction quit = { .sa_handler = on_stop };
	struct sigaction child = { .sa_handler = on_child, .sa_flags = SA_NOCLDSTOP };
	sigset_t block, wait_mask;

	/* blocked until sigsuspend: a signal between the test of stop and the wait
	 * would otherwise be missed */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &block, &wait_mask) < 0 || sigaction(SIGTERM, &quit, NULL) < 0 ||
	    sigaction(SIGINT, &quit, NULL) < 0 || sigaction(SIGCHLD, &child, NULL) < 0) {
		perror("pause: signals");
		return 1;
	}
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGCHLD);
	while (!stop)
		sigsuspend(&wait_mask);
	return 0;
}
