/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * linux.intelRdt: berth does not manage resctrl groups. A config that asks
 * for Intel RDT is refused in the parent before anything is made, saying
 * whether resctrl is mounted at all (runtime-spec: then it is an error too).
 */
#pragma once

#include "spec.h"

/* 0 without linux.intelRdt; otherwise an error naming linux.intelRdt. */
int rdt_check(const struct berth_spec *s, struct berth_error **err);
