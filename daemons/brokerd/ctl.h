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

/* A stop began: the exports waiting for a give-back are refused now. */
void control_stopping(void);

/* The loop is over: every request still waiting is answered (an export
 * refused, an unexport done, its give-back perhaps still under way). */
void control_stopped(void);
