// SPDX-License-Identifier: GPL-2.0-or-later
#include "bufpool.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* Under ASan a slot is poisoned but for the bytes asked, so that an
 * overrun is caught as it would be in a buffer of its own. */
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define poison(p, n) ((void)(p), (void)(n))
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

/* What small slots keep at least when a larger size takes its one. */
#define SMALL_RESERVE (64 * 1024)

static const size_t slot_sizes[BUFPOOL_CLASSES] = {BUFPOOL_SMALL, BUFPOOL_LARGE,
						   BUFPOOL_HUGE};
static const unsigned slot_counts[BUFPOOL_CLASSES] = {
	BUFPOOL_SMALL_SLOTS, BUFPOOL_LARGE_SLOTS, BUFPOOL_HUGE_SLOTS};

/* A heap buffer outside the regions carries its capacity in front, so
 * that a freed one can serve a later request as a spare. */
struct spare_head {
	alignas(max_align_t) size_t cap;
};

static size_t spare_cap(const void *buf)
{
	return ((const struct spare_head *)buf - 1)->cap;
}

/* count slots of the region's size: mapped when usbfs gives that much
 * (fewer slots each time it refuses), else from the heap. */
static void region_init(struct bufpool *p, struct bufpool_region *r,
			unsigned count)
{
	for (unsigned n = count; p->handle && n; n /= 2) {
		r->base = libusb_dev_mem_alloc(p->handle, n * r->slot_size);
		if (r->base) {
			r->count = n;
			r->mapped = true;
			p->size += n * r->slot_size;
			poison(r->base, n * r->slot_size);
			return;
		}
	}
	r->base = count ? malloc(count * r->slot_size) : NULL;
	if (!r->base)
		return;
	r->count = count;
	p->heap_size += count * r->slot_size;
	poison(r->base, count * r->slot_size);
}

/* Huge slots first, as many as fit in half of it, so that a share of
 * 8 MiB (2 MiB mapped) already takes a 1 MiB transfer; then half of the
 * rest in large slots, and what remains small. A size that gets none
 * that way gets one where that leaves 64 KiB for small slots: a small
 * share (963 KiB, the broker's default of 16 sessions on 16 MiB, maps
 * 240 KiB) then still takes high-speed storage's 120 KiB transfers, one
 * in flight, in usbfs memory. */
void bufpool_init(struct bufpool *p, libusb_device_handle *handle,
		  size_t map_max)
{
	unsigned counts[BUFPOOL_CLASSES];
	size_t left = map_max;

	memset(p, 0, sizeof(*p));
	p->handle = handle;
	p->spare_max = map_max * BUFPOOL_SPARE_FACTOR;
	for (int c = BUFPOOL_CLASSES - 1; c >= 0; c--) {
		size_t n = (c ? left / 2 : left) / slot_sizes[c];
		if (c && n == 0 && left >= slot_sizes[c] + SMALL_RESERVE)
			n = 1;
		counts[c] = n < slot_counts[c] ? (unsigned)n : slot_counts[c];
		left -= counts[c] * slot_sizes[c];
	}
	for (int c = 0; c < BUFPOOL_CLASSES; c++) {
		p->region[c].slot_size = slot_sizes[c];
		region_init(p, &p->region[c], counts[c]);
	}
}

void bufpool_destroy(struct bufpool *p)
{
	for (int c = 0; c < BUFPOOL_CLASSES; c++) {
		struct bufpool_region *r = &p->region[c];
		if (r->base)
			unpoison(r->base, r->count * r->slot_size);
		if (r->mapped)
			libusb_dev_mem_free(p->handle, r->base,
					    r->count * r->slot_size);
		else
			free(r->base);
		r->base = NULL;
		r->count = 0;
	}
	while (p->spares) {
		void *buf = p->spare[--p->spares];
		unpoison(buf, spare_cap(buf));
		free((struct spare_head *)buf - 1);
	}
	p->spare_bytes = 0;
}

static void *take_slot(struct bufpool_region *r)
{
	for (unsigned w = 0; w * 64 < r->count; w++) {
		uint64_t free_bits = ~r->used[w];
		if (r->count - w * 64 < 64)
			free_bits &= (1ull << (r->count - w * 64)) - 1;
		if (!free_bits)
			continue;
		unsigned bit = (unsigned)__builtin_ctzll(free_bits);
		r->used[w] |= 1ull << bit;
		return r->base + (size_t)(w * 64 + bit) * r->slot_size;
	}
	return NULL;
}

/* The smallest spare that takes len without wasting more than as much
 * again, or a new heap buffer. */
static void *heap_buffer(struct bufpool *p, size_t len)
{
	unsigned best = p->spares;

	for (unsigned i = 0; i < p->spares; i++) {
		size_t cap = spare_cap(p->spare[i]);
		if (cap >= len && cap / 2 <= len &&
		    (best == p->spares || cap < spare_cap(p->spare[best])))
			best = i;
	}
	if (best < p->spares) {
		void *buf = p->spare[best];
		p->spare[best] = p->spare[--p->spares];
		p->spare_bytes -= spare_cap(buf);
		p->reused++;
		unpoison(buf, len);
		poison((uint8_t *)buf + len, spare_cap(buf) - len);
		return buf;
	}
	struct spare_head *h = malloc(sizeof(*h) + (len ? len : 1));
	if (!h)
		return NULL;
	h->cap = len;
	return h + 1;
}

void *bufpool_alloc(struct bufpool *p, size_t len)
{
	for (int c = 0; c < BUFPOOL_CLASSES; c++) {
		struct bufpool_region *r = &p->region[c];
		if (len > r->slot_size)
			continue;
		/* Only the smallest size that fits: a small request must
		 * not take the slot a 1 MiB transfer needs. */
		void *buf = r->base ? take_slot(r) : NULL;
		if (buf) {
			unpoison(buf, len);
			if (r->mapped)
				p->mapped++;
			else
				p->pooled++;
			return buf;
		}
		break;
	}
	p->fallback++;
	return heap_buffer(p, len);
}

static struct bufpool_region *region_of(struct bufpool *p, const void *buf)
{
	const uint8_t *b = buf;

	for (int c = 0; c < BUFPOOL_CLASSES; c++) {
		struct bufpool_region *r = &p->region[c];
		if (r->base && b >= r->base &&
		    b < r->base + r->count * r->slot_size)
			return r;
	}
	return NULL;
}

bool bufpool_is_mapped(const struct bufpool *p, const void *buf)
{
	struct bufpool_region *r = region_of((struct bufpool *)p, buf);

	return r && r->mapped;
}

void bufpool_free(struct bufpool *p, void *buf)
{
	if (!buf)
		return;
	struct bufpool_region *r = region_of(p, buf);
	if (r) {
		size_t slot = (size_t)((uint8_t *)buf - r->base) / r->slot_size;
		r->used[slot / 64] &= ~(1ull << (slot % 64));
		poison(buf, r->slot_size);
		return;
	}
	size_t cap = spare_cap(buf);
	unpoison(buf, cap);
	if (p->spares < BUFPOOL_SPARES &&
	    p->spare_bytes + cap <= p->spare_max) {
		p->spare[p->spares++] = buf;
		p->spare_bytes += cap;
		poison(buf, cap);
		return;
	}
	free((struct spare_head *)buf - 1);
}
