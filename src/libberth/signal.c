/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Signal names and numbers as the kill command and engines spell them
 * ("TERM", "SIGTERM", "15", "RTMIN+3"). Pure parsing; runs in the CLI process.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "berth/berth.h"
#include "util/macro.h"

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
	{ "HUP", SIGHUP },	 { "INT", SIGINT },	  { "QUIT", SIGQUIT },
	{ "ILL", SIGILL },	 { "TRAP", SIGTRAP },	  { "ABRT", SIGABRT },
	{ "IOT", SIGIOT },	 { "BUS", SIGBUS },	  { "FPE", SIGFPE },
	{ "KILL", SIGKILL },	 { "USR1", SIGUSR1 },	  { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },	 { "PIPE", SIGPIPE },	  { "ALRM", SIGALRM },
	{ "TERM", SIGTERM },	 { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },
	{ "CLD", SIGCHLD },	 { "CONT", SIGCONT },	  { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },	 { "TTIN", SIGTTIN },	  { "TTOU", SIGTTOU },
	{ "URG", SIGURG },	 { "XCPU", SIGXCPU },	  { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },	  { "WINCH", SIGWINCH },
	{ "IO", SIGIO },	 { "POLL", SIGPOLL },	  { "PWR", SIGPWR },
	{ "SYS", SIGSYS },
};

/* Parse a decimal number made of digits only into *ret; false on anything else or overflow. */
static bool parse_digits(const char *s, int *ret)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 4)
		return false;
	*ret = atoi(s);
	return true;
}

/* RTMIN, RTMIN+N, RTMAX, RTMAX-N (already stripped of "SIG"); -EINVAL when out of range. */
static int parse_realtime(const char *s, int *ret_sig)
{
	int base, off = 0, dir;

	if (strncasecmp(s, "RTMIN", 5) == 0) {
		base = SIGRTMIN;
		dir = 1;
	} else if (strncasecmp(s, "RTMAX", 5) == 0) {
		base = SIGRTMAX;
		dir = -1;
	} else
		return -EINVAL;

	s += 5;
	if (*s) {
		if (*s != (dir > 0 ? '+' : '-') || !parse_digits(s + 1, &off))
			return -EINVAL;
	}

	int sig = base + dir * off;
	if (sig < SIGRTMIN || sig > SIGRTMAX)
		return -EINVAL;
	*ret_sig = sig;
	return 0;
}

int berth_signal_parse(const char *s, int *ret_sig)
{
	int n;

	if (!s)
		return -EINVAL;

	if (parse_digits(s, &n)) {
		if (n < 1 || n >= _NSIG)
			return -EINVAL;
		*ret_sig = n;
		return 0;
	}

	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;

	for (size_t i = 0; i < ELEMENTSOF(signal_names); i++)
		if (strcasecmp(s, signal_names[i].name) == 0) {
			*ret_sig = signal_names[i].sig;
			return 0;
		}

	return parse_realtime(s, ret_sig);
}
