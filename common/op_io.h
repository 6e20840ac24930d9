/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Op messages over a connected socket, for the handshakes on both sides:
 * read exactly one message (never a byte past it: what follows belongs to
 * the URB stream), or send one whole.
 *
 * A server gives the whole handshake one deadline, for its reads and its
 * writes alike (op_io_read_by, op_io_send_by on a non-blocking socket): a
 * peer that trickles its requests or never reads the answers is gone when
 * the deadline passes, however many messages it got through.
 */
#pragma once

#include <signal.h>
#include <stddef.h>

#include "wire.h"

/* How long a peer may take over one handshake message, by default. */
#define OP_IO_TIMEOUT_MS 10000

struct op_io_deadline {
	long long at_ms; /* CLOCK_MONOTONIC, as op_io_now_ms() */
	/* The signal mask while waiting (ppoll), NULL for the current one.
	 * A program that blocks its stop signal everywhere else gets it
	 * delivered only inside a wait, with no window between checking
	 * *stop and going to sleep. */
	const sigset_t *wait_mask;
	/* Set by the program's signal handler; NULL if it has none. A wait
	 * that finds it set returns -EINTR. */
	volatile sig_atomic_t *stop;
};

long long op_io_now_ms(void);

/* Waits until fd has one of events: 0, -ETIMEDOUT once the deadline has
 * passed, -EINTR once *stop is set, or another negative errno. */
int op_io_wait(int fd, short events, const struct op_io_deadline *d);

/* Reads one op message by the deadline: 0, -ETIMEDOUT, -EINTR (stopped),
 * -ECONNRESET (the peer closed), -EBADMSG and the like (malformed). msg
 * says in words what went wrong. */
int op_io_read_by(int fd, const struct op_io_deadline *d,
		  struct usbip_op_message *m, char *msg, size_t msg_len);
/* Encodes and writes one op message by the deadline; fd must be
 * non-blocking, or a peer that does not read holds the write. Returns as
 * op_io_read_by, or -EPIPE and the like for a peer that has gone. */
int op_io_send_by(int fd, const struct op_io_deadline *d,
		  const struct usbip_op_message *m, char *msg, size_t msg_len);

/* Reads one op message, waiting at most timeout_ms in all; signals do not
 * interrupt it. */
int op_io_read(int fd, int timeout_ms, struct usbip_op_message *m, char *msg,
	       size_t msg_len);
/* Encodes and writes one op message, waiting as long as the socket does. */
int op_io_send(int fd, const struct usbip_op_message *m);
