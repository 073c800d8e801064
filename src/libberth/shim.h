/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The files of the state dir that berth-shim owns (shim.c: handing a
 * container to berth-shim, and the wait, logs and attach clients).
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
