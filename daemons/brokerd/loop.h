/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The loop (loop.c): the top layer below main. */
#pragma once

#include <stddef.h>

/* Every socket and the signal, udev and timer fds, watched. 0 or a
 * negative errno (logged). */
int loop_setup(char **listen_addrs, size_t num_listen);

/* Until SIGTERM and every session over: 0, or a negative errno. */
int loop_run(void);
