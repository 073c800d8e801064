/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Protection of the runtime binary against CVE-2019-5736: a berth process
 * that is or becomes visible inside a container (the container init, every
 * hook runner it forks, an exec helper, berth itself without a new pid
 * namespace) stops being backed by its executable file before anything of
 * the container can see or execute through it. prepare() runs in the berth
 * parent; apply() in the parent or in the container init.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "berth/error.h"

#define BERTH_SELFEXE_MAX_SEGMENTS 16

struct berth_selfexe_segment {
	uintptr_t start, end;
	uint64_t offset;
	int prot;
	bool written; /* has anonymous (copied-on-write) pages: copy from memory */
};

/* A sealed copy of berth's executable and where the image maps it. */
struct berth_selfexe {
	int fd; /* sealed memfd, O_CLOEXEC; the caller closes it */
	size_t n;
	struct berth_selfexe_segment seg[BERTH_SELFEXE_MAX_SEGMENTS];
};

/*
 * Read where this process maps its executable and make a sealed memfd copy of
 * the file's mapped ranges. Changes nothing of the process. A process cloned
 * from this one (same image) may apply() it.
 */
int selfexe_prepare(struct berth_selfexe *x, struct berth_error **err);

/*
 * Remap every mapping of the executable from the sealed copy (text and other
 * untouched pages) or from anonymous copies (pages already written, such as
 * relocated data), then make the copy the process's /proc/self/exe with
 * PR_SET_MM_MAP. Afterwards nothing of this process, or of the processes it
 * clones or forks, refers to the file on the host: a container process that
 * opens /proc/<pid>/exe, or executes /proc/self/exe, gets the sealed copy.
 * A no-op in a process that already did it (or was cloned from one).
 */
int selfexe_apply(const struct berth_selfexe *x, struct berth_error **err);

/* prepare() and apply() in this process, once. */
int selfexe_detach(struct berth_error **err);

/* This process (or the one it was cloned from) has applied a copy. */
bool selfexe_detached(void);

/* The segments as text for the sync channel ("start end offset prot written" lines); malloc'd. */
char *selfexe_encode(const struct berth_selfexe *x);
/* Parse encode()'s text into x->seg and x->n; x->fd is left alone. -EBADMSG, -E2BIG. */
int selfexe_decode(const char *text, struct berth_selfexe *x);
