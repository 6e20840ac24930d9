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

/* Unexports d, whose granted export session is running: dials its
 * destination again so that the worker can send OP_REQ_UNEXPORT there
 * (the export series' usbip unexport does so on a connection of its
 * own), bounded by UNEXPORT_DIAL_S; the session ends either way and the
 * device goes back to its drivers. */
void dial_unexport(struct exported *d);
