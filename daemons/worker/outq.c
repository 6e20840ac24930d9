// SPDX-License-Identifier: GPL-2.0-or-later
#include "outq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/* Replies per writev: three iovecs each, well under IOV_MAX. */
#define FLUSH_BATCH 128

static size_t item_len(const struct outq_item *it)
{
	return USBIP_URB_HEADER_LEN + it->data_len + it->iso_len;
}

static void release(struct outq *q, void *buf)
{
	if (q->release)
		q->release(q->release_ctx, buf);
	else
		free(buf);
}

static void item_free(struct outq *q, struct outq_item *it)
{
	release(q, it->owned);
	free(it->iso);
}

int outq_push(struct outq *q, const uint8_t head[USBIP_URB_HEADER_LEN],
	      const uint8_t *data, size_t data_len, void *owned, uint8_t *iso,
	      size_t iso_len)
{
	if (q->count == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 256;
		struct outq_item *n = malloc(cap * sizeof(*n));
		if (!n) {
			release(q, owned);
			free(iso);
			return -ENOMEM;
		}
		/* Unroll the ring into the new array. */
		for (size_t i = 0; i < q->count; i++)
			n[i] = q->items[(q->first + i) % q->cap];
		free(q->items);
		q->items = n;
		q->first = 0;
		q->cap = cap;
	}
	struct outq_item *it = &q->items[(q->first + q->count) % q->cap];
	memcpy(it->head, head, USBIP_URB_HEADER_LEN);
	it->data = data;
	it->data_len = data_len;
	it->owned = owned;
	it->iso = iso;
	it->iso_len = iso_len;
	q->count++;
	q->bytes += item_len(it);
	return 0;
}

/* The unsent part of item i as up to three iovecs. */
static int item_iov(const struct outq_item *it, size_t skip, struct iovec *v)
{
	const struct {
		const void *p;
		size_t n;
	} parts[3] = {
		{it->head, USBIP_URB_HEADER_LEN},
		{it->data, it->data_len},
		{it->iso, it->iso_len},
	};
	int n = 0;

	for (int i = 0; i < 3; i++) {
		if (skip >= parts[i].n) {
			skip -= parts[i].n;
			continue;
		}
		v[n].iov_base = (uint8_t *)parts[i].p + skip;
		v[n].iov_len = parts[i].n - skip;
		skip = 0;
		n++;
	}
	return n;
}

int outq_flush(struct outq *q, int fd)
{
	while (q->count) {
		struct iovec v[FLUSH_BATCH * 3];
		int n = 0;
		size_t items = q->count < FLUSH_BATCH ? q->count : FLUSH_BATCH;

		for (size_t i = 0; i < items; i++)
			n += item_iov(&q->items[(q->first + i) % q->cap],
				      i == 0 ? q->sent : 0, v + n);
		ssize_t w = writev(fd, v, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN ? -EAGAIN : -errno;
		q->bytes -= (size_t)w;
		size_t left = (size_t)w;
		while (left) {
			struct outq_item *it = &q->items[q->first];
			size_t rest = item_len(it) - q->sent;
			if (left < rest) {
				q->sent += left;
				break;
			}
			left -= rest;
			item_free(q, it);
			q->sent = 0;
			q->first = (q->first + 1) % q->cap;
			q->count--;
		}
	}
	return 0;
}

void outq_clear(struct outq *q)
{
	for (size_t i = 0; i < q->count; i++)
		item_free(q, &q->items[(q->first + i) % q->cap]);
	free(q->items);
	q->items = NULL;
	q->first = q->count = q->cap = q->sent = q->bytes = 0;
}
