/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The listening sockets (listen.c). Layer: above sessions, below the
 * loop.
 */
#pragma once

#include <stddef.h>

/* Listens on each address, watched by the loop. 0 or a negative errno
 * (logged). */
int listen_open(char **listen_addrs, size_t num_listen);

/* A connection on listening socket i: refused, or given to a worker. */
void accept_client(size_t i);
