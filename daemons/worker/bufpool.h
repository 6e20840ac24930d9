/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A session's transfer buffers, taken and given back per URB without
 * touching the allocator.
 *
 * Slots of three sizes (4 KiB, 128 KiB, and 1 MiB for USB 3 storage's
 * largest transfers), each size one region, made once per session. A
 * region is memory usbfs maps for the device (libusb_dev_mem_alloc) where
 * it can: OUT data read into it from the socket goes to the device with
 * no copy_from_user, IN data lands where the reply is written from. Where
 * usbfs cannot map (a simulated device; a host controller that cannot
 * give that much contiguous memory) the region comes from the heap,
 * still pooled.
 *
 * A request no slot takes (too large, or its size all in use) gets heap
 * memory, and freed ones are kept as spares for the next, so that glibc
 * does not hand memory back to the kernel only to fetch it again on the
 * next URB (per-URB brk and page faults cost 9x the CPU in bulk OUT
 * runs).
 *
 * Limits: the regions take at most map_max bytes, which count against
 * the host's usbfs quota for as long as the session lasts when mapped,
 * so map_max comes from the session's share of it (a quarter); the
 * spares hold at most BUFPOOL_SPARE_FACTOR times as much (the rest of the
 * share: what the session may hold in flight at its peak anyway).
 */
#pragma once

#include <libusb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUFPOOL_SMALL 4096
#define BUFPOOL_SMALL_SLOTS 256
#define BUFPOOL_LARGE (128 * 1024)
#define BUFPOOL_LARGE_SLOTS 24
#define BUFPOOL_HUGE (1024 * 1024)
#define BUFPOOL_HUGE_SLOTS 2
#define BUFPOOL_CLASSES 3
/* Heap buffers kept for reuse, at most, and their bytes at most, in
 * map_max. */
#define BUFPOOL_SPARES 16
#define BUFPOOL_SPARE_FACTOR 3

struct bufpool_region {
	uint8_t *base; /* NULL: no slots of this size */
	size_t slot_size;
	unsigned count;
	bool mapped;				 /* usbfs memory, else heap */
	uint64_t used[BUFPOOL_SMALL_SLOTS / 64]; /* 1: taken */
};

struct bufpool {
	libusb_device_handle *handle;
	struct bufpool_region region[BUFPOOL_CLASSES]; /* by slot size */
	size_t size;	  /* bytes mapped, counted against usbfs */
	size_t heap_size; /* bytes of regions on the heap */
	void *spare[BUFPOOL_SPARES];
	unsigned spares;
	size_t spare_bytes, spare_max;
	/* Allocation counts, for the log: from mapped slots, from heap
	 * slots, and the rest (of which reused spares). */
	uint64_t mapped, pooled, fallback, reused;
};

/* Regions of at most map_max bytes, mapped where handle allows (NULL: a
 * device without usbfs). */
void bufpool_init(struct bufpool *p, libusb_device_handle *handle,
		  size_t map_max);
void bufpool_destroy(struct bufpool *p);
/* NULL only when the heap is out of memory. */
void *bufpool_alloc(struct bufpool *p, size_t len);
/* Only buffers from bufpool_alloc; NULL is fine. */
void bufpool_free(struct bufpool *p, void *buf);
/* Whether buf lies in usbfs-mapped memory (usbfs uses it in place). */
bool bufpool_is_mapped(const struct bufpool *p, const void *buf);
