/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Transfer buffers from memory usbfs maps for the device (libusb's
 * libusb_dev_mem_alloc): IN data then lands where the reply is written
 * from, with no copy_to_user on completion. One mapping per session, cut
 * into 4 KiB and 128 KiB slots; a request that does not fit, or a device
 * whose usbfs cannot map, gets plain malloc'd memory.
 *
 * The mapping counts against the host's usbfs quota for as long as the
 * session lasts, so its size comes from the session's share of it.
 */
#pragma once

#include <libusb.h>
#include <stddef.h>
#include <stdint.h>

#define BUFPOOL_SMALL 4096
#define BUFPOOL_SMALL_SLOTS 256
#define BUFPOOL_LARGE (128 * 1024)
#define BUFPOOL_LARGE_SLOTS 24

struct bufpool {
	libusb_device_handle *handle;
	uint8_t *base; /* NULL: every buffer comes from malloc */
	size_t size;
	size_t small_bytes; /* the small slots come first */
	uint64_t small_used[BUFPOOL_SMALL_SLOTS / 64]; /* 1: taken or absent */
	uint32_t large_used;			       /* likewise */
	uint64_t pooled, fallback; /* allocation counts, for the log */
};

/* A mapping of at most max_bytes (p->size says how much it got; 0 when
 * every buffer will come from malloc). */
void bufpool_init(struct bufpool *p, libusb_device_handle *handle,
		  size_t max_bytes);
void bufpool_destroy(struct bufpool *p);
void *bufpool_alloc(struct bufpool *p, size_t len);
/* Takes pooled and malloc'd buffers alike; NULL is fine. */
void bufpool_free(struct bufpool *p, void *buf);
