/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The outgoing connector (dial.c). Layer: above sessions and devices,
 * below the loop.
 */
#pragma once

#include "state.h"

/* The dialling helper of d has answered (or gone). */
void dial_done(struct exported *d);

/* Once a second: dial every --to destination whose backoff is over. */
void retry_exports(void);
