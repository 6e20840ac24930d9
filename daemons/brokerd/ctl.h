/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket (ctl.c). Layer: above hotplug and devices, below
 * the loop.
 */
#pragma once

/* Takes the lock and opens the control socket, watched by the loop.
 * 0 or a negative errno (logged). */
int ctl_open(void);

/* One control connection: accepted, judged, answered, closed. */
void control_connection(void);

/* Answers the unexports whose give-back has finished (after a reap). */
void control_unexports_done(void);
