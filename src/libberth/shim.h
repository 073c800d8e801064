/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The files of the state dir that berth-shim owns, as its clients
 * (shim-client.c: wait, logs, attach) find them.
 */
#pragma once

#include <sys/types.h>

#include "berth/berth.h"
#include "spec.h"
#include "util/sdnotify.h"

/* Files of the state dir that berth-shim owns. */
#define SHIM_LOG_FILE	 "container.log"
#define SHIM_ATTACH_SOCK "attach.sock"
#define SHIM_PID_FILE	 "shim.pid"
