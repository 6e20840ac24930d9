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

#include "state.h"

/*
 * The limits every import connection passes, however it arrived (a
 * listener, or handed over by serve-fd): --rate and --max-per-peer for
 * who, then --max-sessions. qubes_busid: a Qubes session for that one
 * device, else NULL. tls: the worker runs the TLS server handshake
 * first. conn stays the caller's. The session, or NULL with
 * why set.
 */
struct session *admit_connection(int conn, const char *peer,
				 const struct policy_peer *who,
				 const char *qubes_busid, bool tls, char *why,
				 size_t why_len);
