/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Op messages over a connected socket, for the handshakes on both sides:
 * read exactly one message within a deadline (never a byte past it: what
 * follows belongs to the URB stream), or send one whole.
 */
#pragma once

#include <stddef.h>

#include "wire.h"

/* How long a peer may take over one handshake message, by default. */
#define OP_IO_TIMEOUT_MS 10000

/* Reads one op message, waiting at most timeout_ms in all. msg says in
 * words what went wrong. */
int op_io_read(int fd, int timeout_ms, struct usbip_op_message *m, char *msg,
	       size_t msg_len);
/* Encodes and writes one op message. */
int op_io_send(int fd, const struct usbip_op_message *m);
