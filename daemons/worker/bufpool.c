// SPDX-License-Identifier: GPL-2.0-or-later
#include "bufpool.h"

#include <stdlib.h>
#include <string.h>

/* Half for large slots (bulk and iso), the rest small (control,
 * interrupt, short bulk), each up to its fixed count. */
void bufpool_init(struct bufpool *p, libusb_device_handle *handle,
		  size_t max_bytes)
{
	size_t large = max_bytes / 2 / BUFPOOL_LARGE, small;

	memset(p, 0, sizeof(*p));
	p->handle = handle;
	if (large > BUFPOOL_LARGE_SLOTS)
		large = BUFPOOL_LARGE_SLOTS;
	small = (max_bytes - large * BUFPOOL_LARGE) / BUFPOOL_SMALL;
	if (small > BUFPOOL_SMALL_SLOTS)
		small = BUFPOOL_SMALL_SLOTS;
	p->small_bytes = small * BUFPOOL_SMALL;
	p->size = p->small_bytes + large * BUFPOOL_LARGE;
	/* Slots past the counts are marked taken for good. */
	for (size_t i = small; i < BUFPOOL_SMALL_SLOTS; i++)
		p->small_used[i / 64] |= 1ull << (i % 64);
	for (size_t i = large; i < BUFPOOL_LARGE_SLOTS; i++)
		p->large_used |= 1u << i;
	/* Without a mapping (or without usbfs: a simulated device), malloc
	 * only. */
	p->base = handle && p->size ? libusb_dev_mem_alloc(handle, p->size)
				    : NULL;
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
		return p->base + p->small_bytes + (size_t)slot * BUFPOOL_LARGE;
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
	if (off < p->small_bytes) {
		size_t slot = off / BUFPOOL_SMALL;
		p->small_used[slot / 64] &= ~(1ull << (slot % 64));
	} else {
		size_t slot = (off - p->small_bytes) / BUFPOOL_LARGE;
		p->large_used &= ~(1u << slot);
	}
}
