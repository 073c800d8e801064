/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What berth-shim (src/shim) and its clients (shim-client.c) agree on: the
 * files it owns in a container's state dir and how its attach socket talks.
 * Macros only, so that berth-shim links nothing of libberth for them.
 */
#pragma once

#include "berth/berth.h" /* BERTH_ATTACH_DATA, BERTH_ATTACH_WINSIZE: a client's messages */

/* Files of the state dir that berth-shim owns. */
#define SHIM_LOG_FILE	 "container.log" /* k8s-file records: "TIME STREAM F|P MSG\n" */
#define SHIM_ATTACH_SOCK "attach.sock"	 /* SOCK_SEQPACKET */
#define SHIM_PID_FILE	 "shim.pid"
/* shim.pid's line: the shim's pid (int) and its start time (unsigned long long, as in /proc) */
#define SHIM_PID_FORMAT "%d %llu\n"

/* The shim's first message to an attach client: this, then 1 with a terminal, else 0. */
#define SHIM_ATTACH_HELLO "berth-shim tty="
