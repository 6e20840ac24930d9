/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One USB/IP session after the handshake: client requests in, validated,
 * submitted asynchronously through libusb with many URBs in flight, replies
 * out in completion order, batched. A request the validator refuses ends
 * the session with one log line naming the peer, the field and the value.
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
};

/*
 * Serves URBs on client (a connected socket, made non-blocking here) until
 * the client leaves, the device goes, or a request is refused. Every URB
 * is cancelled and every interface released before it returns. Returns 0
 * for a client that left, -ENODEV for a device that went, -EBADMSG for a
 * refused request, another negative errno for a failure.
 */
/* Set from a SIGTERM handler: the session ends as if the client had left
 * (everything cancelled and released). */
extern volatile sig_atomic_t session_stop;

/* Called with the counters at most once a second while they change (for
 * the broker's status), and once at the end. */
typedef void (*session_progress_fn)(const struct session_stats *stats,
				    void *ctx);

int session_serve(struct worker_device *dev, int client, const char *peer,
		  const struct urb_limits *limits, struct session_stats *stats,
		  session_progress_fn progress, void *progress_ctx);
