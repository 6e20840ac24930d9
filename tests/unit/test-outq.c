// SPDX-License-Identifier: GPL-2.0-or-later
/* The worker's reply queue: byte-exact output across partial writev()s on
 * a socket with a tiny send buffer, each owned buffer released once. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check-main.h"
#include "outq.h"

static int released;

static void count_release(void *ctx, void *buf)
{
	(void)ctx;
	released++;
	free(buf);
}

START_TEST(partial_writes_keep_order)
{
	struct outq q = {.release = count_release};
	enum { ITEMS = 300 };
	static uint8_t expect[ITEMS * (48 + 700 + 32)], got[sizeof(expect)];
	size_t elen = 0, glen = 0;
	int sv[2], small = 4096;

	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	released = 0;
	for (int i = 0; i < ITEMS; i++) {
		uint8_t head[USBIP_URB_HEADER_LEN];
		size_t dlen = (size_t)(i * 7) % 700, ilen = i % 3 ? 0 : 32;
		uint8_t *data = malloc(dlen ? dlen : 1);
		uint8_t *iso = ilen ? malloc(ilen) : NULL;
		memset(head, i & 0xff, sizeof(head));
		for (size_t j = 0; j < dlen; j++)
			data[j] = (uint8_t)(i + j);
		if (iso)
			memset(iso, 0xee, ilen);
		memcpy(expect + elen, head, 48);
		memcpy(expect + elen + 48, data, dlen);
		if (iso)
			memcpy(expect + elen + 48 + dlen, iso, ilen);
		elen += 48 + dlen + ilen;
		ck_assert_int_eq(
			outq_push(&q, head, data, dlen, data, iso, ilen), 0);
	}
	ck_assert_uint_eq(q.bytes, elen);
	while (!outq_empty(&q) || glen < elen) {
		int r = outq_flush(&q, sv[0]);
		ck_assert(r == 0 || r == -EAGAIN);
		ssize_t n = read(sv[1], got + glen, sizeof(got) - glen);
		if (n > 0)
			glen += (size_t)n;
	}
	ck_assert_uint_eq(glen, elen);
	ck_assert_mem_eq(got, expect, elen);
	ck_assert_int_eq(released, ITEMS);
	ck_assert_uint_eq(q.bytes, 0);
	outq_clear(&q);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(clear_releases_unsent)
{
	struct outq q = {.release = count_release};
	uint8_t head[USBIP_URB_HEADER_LEN] = {0};

	released = 0;
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(
			outq_push(&q, head, NULL, 0, malloc(8), malloc(16), 16),
			0);
	outq_clear(&q);
	ck_assert_int_eq(released, 10);
	ck_assert(outq_empty(&q));
	/* A peer that is gone is an error, not EAGAIN (the worker ignores
	 * SIGPIPE; so does this test). */
	signal(SIGPIPE, SIG_IGN);
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	ck_assert_int_eq(outq_push(&q, head, NULL, 0, NULL, NULL, 0), 0);
	ck_assert_int_eq(outq_flush(&q, sv[0]), -EPIPE);
	outq_clear(&q);
	close(sv[0]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("outq");
	TCase *tc = tcase_create("queue");

	tcase_add_test(tc, partial_writes_keep_order);
	tcase_add_test(tc, clear_releases_unsent);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
