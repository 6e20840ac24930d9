// SPDX-License-Identifier: GPL-2.0-or-later
#include "bufpool.h"

#include <stdlib.h>
#include <string.h>

#define SMALL_BYTES ((size_t)BUFPOOL_SMALL * BUFPOOL_SMALL_SLOTS)
#define LARGE_BYTES ((size_t)BUFPOOL_LARGE * BUFPOOL_LARGE_SLOTS)

void bufpool_init(struct bufpool *p, libusb_device_handle *handle)
{
	memset(p, 0, sizeof(*p));
	p->handle = handle;
	p->size = SMALL_BYTES + LARGE_BYTES;
	/* Counted against usbfs_memory_mb; without it (or without usbfs:
	 * a simulated device), malloc only. */
	p->base = handle ? libusb_dev_mem_alloc(handle, p->size) : NULL;
	if (!p->base)
		p->size = 0;
}

void bufpool_destroy(struct bufpool *p)
{
	if (p->base)
		libusb_dev_mem_free(p->handle, p->base, p->size);
	p->base = NULL;
}

void *bufpool_alloc(struct bufpool *p, size_t len)
{
	if (p->base && len <= BUFPOOL_SMALL) {
		for (unsigned w = 0; w < BUFPOOL_SMALL_SLOTS / 64; w++) {
			if (p->small_used[w] == UINT64_MAX)
				continue;
			unsigned bit =
				(unsigned)__builtin_ctzll(~p->small_used[w]);
			p->small_used[w] |= 1ull << bit;
			p->pooled++;
			return p->base + (size_t)(w * 64 + bit) * BUFPOOL_SMALL;
		}
	}
	if (p->base && len <= BUFPOOL_LARGE &&
	    p->large_used != (1u << BUFPOOL_LARGE_SLOTS) - 1) {
		unsigned slot = (unsigned)__builtin_ctz(~p->large_used);
		p->large_used |= 1u << slot;
		p->pooled++;
		return p->base + SMALL_BYTES + (size_t)slot * BUFPOOL_LARGE;
	}
	p->fallback++;
	return malloc(len ? len : 1);
}

void bufpool_free(struct bufpool *p, void *buf)
{
	uint8_t *b = buf;

	if (!b)
		return;
	if (!p->base || b < p->base || b >= p->base + p->size) {
		free(b);
		return;
	}
	size_t off = (size_t)(b - p->base);
	if (off < SMALL_BYTES) {
		size_t slot = off / BUFPOOL_SMALL;
		p->small_used[slot / 64] &= ~(1ull << (slot % 64));
	} else {
		size_t slot = (off - SMALL_BYTES) / BUFPOOL_LARGE;
		p->large_used &= ~(1u << slot);
	}
}
