/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Protection of the runtime binary against CVE-2019-5736: before berth clones
 * a process that becomes visible inside a container, it stops being backed by
 * its own executable file. Runs in the berth parent.
 */
#pragma once

#include "berth/error.h"

/*
 * Remap every mapping of berth's executable from a sealed memfd copy (text
 * and other untouched pages) or from anonymous copies (pages already
 * written, such as relocated data), then make the memfd the process's
 * /proc/self/exe with PR_SET_MM_MAP. Afterwards nothing of this process, or
 * of the processes it clones, refers to the file on the host: a container
 * process that opens /proc/<pid>/exe gets the sealed copy. Idempotent.
 */
int berth_selfexe_detach(struct berth_error **err);
