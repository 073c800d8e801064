/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one error message of a berth-net run: the innermost failure says what
 * failed, and main() sends it to berth in WIRE_ERROR.
 */
#pragma once

/* Record the message (the first one wins) with ": strerror(-r)" appended; returns r (< 0). */
int errmsg_set(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same without strerror: the message says it all. */
int errmsg_setx(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message recorded, or strerror(-r) when there is none. */
const char *errmsg_get(int r);
