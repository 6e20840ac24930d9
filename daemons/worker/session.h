/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One USB/IP session after the handshake: client requests in, validated,
 * submitted asynchronously through libusb with many URBs in flight, replies
 * out in completion order, batched, except that the replies of one endpoint
 * (ep0 IN and OUT counting as one) leave in the order their requests came,
 * as host controllers complete them and the importing drivers expect. A
 * request the validator refuses ends the session with one log line naming
 * the peer, the field and the value.
 */
#pragma once

#include <signal.h>
#include <stdint.h>

#include "device.h"
#include "validate.h"

struct session_stats {
	uint64_t urbs;
	uint64_t bytes_in;  /* device to client */
	uint64_t bytes_out; /* client to device */
	uint64_t errors;
	uint64_t mapped_buffers; /* transfer buffers in usbfs memory */
	uint64_t heap_buffers;	 /* the rest */
	/* Why the client's socket failed (negative errno), 0 when it was
	 * closed, reset or never failed: kTLS's EBADMSG (a record that did
	 * not authenticate) must not read as a client that left. */
	int client_error;
};

/*
 * The stop signal. session_stop_setup() installs the handler and blocks
 * SIGTERM; every wait in the worker (ppoll with session_wait_mask) lets it
 * through, so a stop cannot slip in between a check of session_stop and a
 * wait that would then sleep through it. A stop ends a session as if the
 * client had left, except that nothing more is sent to it.
 */
extern volatile sig_atomic_t session_stop;
extern sigset_t session_wait_mask;
int session_stop_setup(void);

/*
 * Busy-poll budget in microseconds, 0 for none (usbip-worker
 * --busy-poll): before a wait blocks while a URB is in flight or just
 * after a reply left, the session polls without sleeping for up to this
 * long (session.c, session_wait). At most SESSION_BUSY_POLL_MAX_US.
 */
#define SESSION_BUSY_POLL_MAX_US 10000
extern unsigned session_busy_poll_us;

/* Called with the counters at most once a second while they change (for
 * the broker's status), and once at the end. */
typedef void (*session_progress_fn)(const struct session_stats *stats,
				    void *ctx);

/*
 * A client that half-closes (end of stream, the socket still writable)
 * has made its last request: nothing more is read, the URBs in flight get
 * SESSION_HALF_CLOSE_LINGER_MS to complete and their replies to leave;
 * then what is still pending is cancelled, its replies (status
 * -ECONNRESET) get SESSION_FINAL_FLUSH_MS more, and the session ends. So
 * every request gets its one reply while the client reads, and a client
 * that stops reading cannot keep the worker. vhci_hcd never half-closes,
 * but over TCP its detach (shutdown, close) looks the same until a write
 * fails: with interrupt URBs pending, it ends the session after the
 * linger time, hence a short one. Over a unix socket a close is a hangup
 * and ends the session at once.
 */
#define SESSION_HALF_CLOSE_LINGER_MS 1000
#define SESSION_FINAL_FLUSH_MS 1000

/*
 * A limit on what crosses the client socket, kept by whoever can count it
 * exactly (the TLS record limit: tls_server.h). Once `bytes` have crossed
 * the socket (both ways together) since the last question, the session
 * calls check(), which answers the bytes that may cross before the next
 * one, or 0: then the session takes no more requests and ends as after a
 * half-close (what is in flight is answered and sent, within
 * SESSION_HALF_CLOSE_LINGER_MS), returning -EKEYEXPIRED.
 */
struct session_guard {
	uint64_t (*check)(void *ctx);
	void *ctx;
	uint64_t bytes; /* before the first question */
};

/*
 * Serves URBs on client (a connected socket, made non-blocking here) until
 * the client leaves, the device goes, a request is refused or a stop
 * comes. Every URB is cancelled and every interface released before it
 * returns. Returns 0 for a client that left (or a stop), -ENODEV for a
 * device that went, -EBADMSG for a refused request, -EKEYEXPIRED for an
 * end the guard asked for (may be NULL), another negative errno for a
 * failure.
 */
int session_serve(struct worker_device *dev, int client, const char *peer,
		  const struct urb_limits *limits, struct session_stats *stats,
		  session_progress_fn progress, void *progress_ctx,
		  const struct session_guard *guard);
