// SPDX-License-Identifier: GPL-2.0-or-later
/* The worker's transfer buffer pool (issue 14 item 6): per-URB buffers
 * come from slots made once, not from malloc and free per URB, also for a
 * device without usbfs mappings; and the pool stays within its bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bufpool.h"
#include "check-main.h"

/* 1 MiB transfers one at a time, as USB 3 storage makes them: every one
 * from the pool once it is made, none from the heap. */
START_TEST(large_transfers_reuse_slots)
{
	struct bufpool p;

	bufpool_init(&p, NULL, 2u << 20);
	for (int i = 0; i < 1000; i++) {
		uint8_t *b = bufpool_alloc(&p, 1u << 20);
		ck_assert_ptr_nonnull(b);
		b[0] = b[(1u << 20) - 1] = (uint8_t)i;
		bufpool_free(&p, b);
	}
	ck_assert_uint_eq(p.fallback, 0);
	ck_assert_uint_eq(p.pooled, 1000);
	bufpool_destroy(&p);
}
END_TEST

/* A small share (the broker's default: 240 KiB mapped) still has one slot
 * for high-speed storage's 120 KiB transfers, and small ones besides. */
START_TEST(small_share_keeps_a_large_slot)
{
	struct bufpool p;

	bufpool_init(&p, NULL, 240u << 10);
	for (int i = 0; i < 10; i++) {
		void *cbw = bufpool_alloc(&p, 31),
		     *data = bufpool_alloc(&p, 120u << 10);
		bufpool_free(&p, data);
		bufpool_free(&p, cbw);
	}
	ck_assert_uint_eq(p.pooled, 20);
	ck_assert_uint_eq(p.fallback, 0);
	ck_assert_uint_le(p.heap_size + p.size, 240u << 10);
	bufpool_destroy(&p);
}
END_TEST

/* Many small buffers held at once: slots up to the bound, each handed out
 * once, the rest from the heap; all of them given back. */
START_TEST(slots_bounded_and_distinct)
{
	enum { N = 1000 };
	static uint8_t *b[N];
	struct bufpool p;
	size_t in_slots = 0;

	bufpool_init(&p, NULL, 2u << 20);
	for (int i = 0; i < N; i++) {
		b[i] = bufpool_alloc(&p, 4096);
		ck_assert_ptr_nonnull(b[i]);
		memset(b[i], i & 0xff, 4096);
	}
	for (int i = 0; i < N; i++)
		for (int k = 0; k < 4096; k += 511)
			ck_assert_uint_eq(b[i][k], (unsigned)(i & 0xff));
	in_slots = p.pooled;
	ck_assert_uint_gt(in_slots, 0);
	ck_assert_uint_le(in_slots * 4096, 2u << 20);
	ck_assert_uint_eq(in_slots + p.fallback, N);
	for (int i = 0; i < N; i++)
		bufpool_free(&p, b[i]);
	/* All free again: as many slots as before. */
	for (int i = 0; i < N; i++)
		b[i] = bufpool_alloc(&p, 4096);
	ck_assert_uint_eq(p.pooled, 2 * in_slots);
	for (int i = 0; i < N; i++)
		bufpool_free(&p, b[i]);
	bufpool_destroy(&p);
}
END_TEST

/* Larger than any slot: heap buffers, reused rather than freed, within the
 * bound on spares. */
START_TEST(oversized_reuses_spares)
{
	struct bufpool p;
	uint8_t *b[4];

	bufpool_init(&p, NULL, 2u << 20);
	for (int i = 0; i < 100; i++) {
		uint8_t *x = bufpool_alloc(&p, 3u << 20);
		ck_assert_ptr_nonnull(x);
		x[(3u << 20) - 1] = 1;
		bufpool_free(&p, x);
	}
	ck_assert_uint_eq(p.fallback, 100);
	ck_assert_uint_ge(p.reused, 99);
	/* Spares past 3 x 2 MiB are freed, not kept. */
	for (int i = 0; i < 4; i++)
		b[i] = bufpool_alloc(&p, 3u << 20);
	for (int i = 0; i < 4; i++)
		bufpool_free(&p, b[i]);
	ck_assert_uint_le(p.spare_bytes, 3 * (2u << 20));
	bufpool_destroy(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bufpool");
	TCase *tc = tcase_create("pool");

	tcase_add_test(tc, large_transfers_reuse_slots);
	tcase_add_test(tc, slots_bounded_and_distinct);
	tcase_add_test(tc, small_share_keeps_a_large_slot);
	tcase_add_test(tc, oversized_reuses_spares);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
