/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker's reply queue. Each reply is a header, the transfer's own
 * buffer (not a copy) and the iso descriptors; flushing writes many replies
 * with one writev and frees each buffer once it has fully left. A slow
 * reader makes the queue grow, and the session stops reading requests
 * past a high-water mark.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct outq_item {
	uint8_t head[USBIP_URB_HEADER_LEN];
	const uint8_t *data;
	size_t data_len;
	void *owned;  /* freed once the item is sent, may be NULL */
	uint8_t *iso; /* packed descriptors, owned, may be NULL */
	size_t iso_len;
};

struct outq {
	/* How an item's owned buffer is given back (free() if NULL). */
	void (*release)(void *ctx, void *buf);
	void *release_ctx;
	struct outq_item *items; /* ring */
	size_t first, count, cap;
	size_t sent;  /* bytes of the first item already written */
	size_t bytes; /* unsent bytes in all */
};

/* Queues one reply; takes ownership of owned and iso even on failure. */
int outq_push(struct outq *q, const uint8_t head[USBIP_URB_HEADER_LEN],
	      const uint8_t *data, size_t data_len, void *owned, uint8_t *iso,
	      size_t iso_len);
/* Writes what the socket takes: 0 when empty, -EAGAIN when some is left,
 * another negative errno when the peer is gone. */
int outq_flush(struct outq *q, int fd);
/* Frees every item; the release hook stays. */
void outq_clear(struct outq *q);

static inline bool outq_empty(const struct outq *q)
{
	return q->count == 0;
}
