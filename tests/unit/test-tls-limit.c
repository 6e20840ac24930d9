// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The worker's TLS record limit (daemons/worker/tls_server.h), what needs
 * no kernel TLS: the limit from the AEAD's and --tls-record-limit (which
 * can only lower it), where a session ends, the bytes between two looks,
 * the option's text, the kernel's answer's layouts, a look that fails
 * ending the session, and a session ending when its guard says so. The
 * kernel's counting itself is proven in the guest
 * (tests/vm/scenarios/tls-record-limit.sh).
 */
#include <errno.h>
#include <linux/tls.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check-main.h"
#include "session.h"
#include "simdev.h"
#include "tls_handshake.h"
#include "tls_server.h"

/* RFC 8446 5.5: 2^24.5 full-size records per AES-GCM key (what
 * tls_handshake.c puts in tls_result.record_limit). */
#define AES_GCM 23726566ULL

START_TEST(limit_only_lowered)
{
	ck_assert_uint_eq(worker_tls_record_limit(AES_GCM, 0), AES_GCM);
	ck_assert_uint_eq(worker_tls_record_limit(AES_GCM, 1000), 1000);
	/* The option cannot raise the AEAD's limit. */
	ck_assert_uint_eq(worker_tls_record_limit(AES_GCM, 1ULL << 40),
			  AES_GCM);
	ck_assert_uint_eq(worker_tls_record_limit(AES_GCM, AES_GCM + 1),
			  AES_GCM);
	/* ChaCha20-Poly1305: no limit that matters, unless asked for. */
	ck_assert_uint_eq(worker_tls_record_limit(0, 0), 0);
	ck_assert_uint_eq(worker_tls_record_limit(0, 5000), 5000);
}
END_TEST

START_TEST(end_before_limit)
{
	/* A sixteenth below: 1.48 million records of margin for AES-GCM. */
	ck_assert_uint_eq(worker_tls_end_at(AES_GCM), AES_GCM - AES_GCM / 16);
	ck_assert_uint_eq(worker_tls_end_at(AES_GCM), 22243656);
	ck_assert_uint_eq(worker_tls_end_at(1000), 938);
	ck_assert_uint_eq(worker_tls_end_at(TLS_RECORD_LIMIT_MIN), 240);
	for (uint64_t l = TLS_RECORD_LIMIT_MIN; l < 100000; l += 997) {
		ck_assert_uint_lt(worker_tls_end_at(l), l);
		ck_assert_uint_gt(worker_tls_end_at(l), l / 2);
	}
	ck_assert_uint_lt(worker_tls_end_at(TLS_RECORD_LIMIT_MAX),
			  TLS_RECORD_LIMIT_MAX);
}
END_TEST

START_TEST(budget_by_the_busier_direction)
{
	ck_assert_uint_eq(worker_tls_budget(938, 0, 0), 938);
	ck_assert_uint_eq(worker_tls_budget(938, 900, 10), 38);
	ck_assert_uint_eq(worker_tls_budget(938, 10, 900), 38);
	ck_assert_uint_eq(worker_tls_budget(938, 937, 0), 1);
	ck_assert_uint_eq(worker_tls_budget(938, 938, 0), 0);
	ck_assert_uint_eq(worker_tls_budget(938, 5, 2000), 0);
	ck_assert_uint_eq(worker_tls_budget(22243656, 0, 0), 22243656);
}
END_TEST

START_TEST(option_text)
{
	static const char *const refused[] = {
		"",
		"0",
		"255",
		"-1",
		" 300",
		"+300",
		"300x",
		"3e5",
		"0x100",
		"1 0",
		"281474976710657",
		"99999999999999999999999",
	};
	uint64_t v = 7;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		ck_assert_msg(worker_tls_parse_record_limit(refused[i], &v) ==
				      -EINVAL,
			      "'%s' taken", refused[i]);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(worker_tls_parse_record_limit("256", &v), 0);
	ck_assert_uint_eq(v, 256);
	ck_assert_int_eq(worker_tls_parse_record_limit("1500", &v), 0);
	ck_assert_uint_eq(v, 1500);
	ck_assert_int_eq(worker_tls_parse_record_limit("281474976710656", &v),
			 0);
	ck_assert_uint_eq(v, TLS_RECORD_LIMIT_MAX);
}
END_TEST

START_TEST(rec_seq_layouts)
{
	struct tls12_crypto_info_aes_gcm_128 a128 = {
		.info = {TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128},
		.rec_seq = {0, 0, 0, 0, 0, 1, 2, 3}};
	struct tls12_crypto_info_aes_gcm_256 a256 = {
		.info = {TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_256},
		.rec_seq = {1, 0, 0, 0, 0, 0, 0, 0xff}};
	struct tls12_crypto_info_chacha20_poly1305 chacha = {
		.info = {TLS_1_3_VERSION, TLS_CIPHER_CHACHA20_POLY1305},
		.rec_seq = {0, 0, 0, 0, 0x01, 0x6a, 0x09, 0xe6}};
	uint64_t seq = 0;

	/* The key bytes around rec_seq are not read as the count. */
	memset(a128.key, 0xee, sizeof(a128.key));
	memset(a128.salt, 0xdd, sizeof(a128.salt));
	ck_assert_int_eq(worker_tls_rec_seq(&a128, sizeof(a128), &seq), 0);
	ck_assert_uint_eq(seq, 0x010203);
	ck_assert_int_eq(worker_tls_rec_seq(&a256, sizeof(a256), &seq), 0);
	ck_assert_uint_eq(seq, 0x01000000000000ffULL);
	ck_assert_int_eq(worker_tls_rec_seq(&chacha, sizeof(chacha), &seq), 0);
	ck_assert_uint_eq(seq, 23726566);

	/* Another shape: refused, not guessed at. */
	ck_assert_int_eq(worker_tls_rec_seq(&a128, sizeof(a128) - 1, &seq),
			 -EPROTO);
	ck_assert_int_eq(worker_tls_rec_seq(&a128, sizeof(a256), &seq),
			 -EPROTO);
	ck_assert_int_eq(worker_tls_rec_seq(&a128, 2, &seq), -EPROTO);
	a128.info.version = TLS_1_2_VERSION;
	ck_assert_int_eq(worker_tls_rec_seq(&a128, sizeof(a128), &seq),
			 -EPROTO);
	a128.info.version = TLS_1_3_VERSION;
	/* A 256-bit header on a 128-bit answer's size. */
	a128.info.cipher_type = TLS_CIPHER_AES_GCM_256;
	ck_assert_int_eq(worker_tls_rec_seq(&a128, sizeof(a128), &seq),
			 -EPROTO);
	a128.info.cipher_type = TLS_CIPHER_AES_CCM_128;
	ck_assert_int_eq(worker_tls_rec_seq(&a128, sizeof(a128), &seq),
			 -EPROTO);
}
END_TEST

START_TEST(no_limit_no_guard)
{
	struct worker_tls_records r = {.fd = -1, .peer = "p"};
	struct session_guard g;

	ck_assert(!worker_tls_guard(&r, &g));
}
END_TEST

/* A socket whose counts cannot be read (no kTLS on it): the first look
 * ends the session rather than letting it run uncounted. */
START_TEST(unreadable_counts_end_the_session)
{
	int pair[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	struct worker_tls_records r = {
		.fd = pair[0],
		.peer = "test",
		.cipher_type = TLS_CIPHER_AES_GCM_128,
		.limit = 1000,
		.end_at = worker_tls_end_at(1000),
	};
	struct session_guard g;

	ck_assert(worker_tls_guard(&r, &g));
	ck_assert_uint_eq(g.bytes, 938);
	ck_assert_uint_eq(g.check(g.ctx), 0);
	ck_assert(r.failed);
	ck_assert_uint_eq(r.looks, 1);
	close(pair[0]);
	close(pair[1]);
}
END_TEST

/* What the guard's end does to a session, on a simulated device: the
 * session asks when the bytes it allowed have moved, stops reading at a
 * 0, answers what it read and returns -EKEYEXPIRED. */
struct guard_count {
	unsigned calls;
};

static uint64_t allow_once(void *ctx)
{
	struct guard_count *g = ctx;

	return ++g->calls == 1 ? 1000 : 0;
}

struct served {
	struct worker_device dev;
	int fd;
	struct session_guard guard;
	int result;
};

static void *serve_thread(void *arg)
{
	struct served *sv = arg;
	struct urb_limits limits;
	struct session_stats stats = {0};

	urb_limits_default(&limits);
	sv->result = session_serve(&sv->dev, sv->fd, "test", &limits, &stats,
				   NULL, NULL, &sv->guard);
	close(sv->fd);
	return NULL;
}

static bool read_all(int fd, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

START_TEST(guard_ends_the_session)
{
	struct guard_count count = {0};
	struct served sv = {
		.guard = {.check = allow_once, .ctx = &count, .bytes = 1000}};
	char msg[256];
	int pair[2];
	unsigned replies = 0;

	ck_assert_int_eq(sim_device_open(&sv.dev, "keyboard", "1-1", 1, msg,
					 sizeof(msg)),
			 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	sv.fd = pair[0];
	/* A request written after the end meets a closed socket. */
	signal(SIGPIPE, SIG_IGN);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, serve_thread, &sv), 0);
	/* GET_DESCRIPTOR(device) after GET_DESCRIPTOR, each answered (48 +
	 * 18 bytes) before the next goes (48): 114 bytes a request. */
	for (uint32_t seq = 1; seq <= 100; seq++) {
		struct usbip_urb_header h = {
			.command = USBIP_CMD_SUBMIT,
			.seqnum = seq,
			.devid = sv.dev.wire.device.busnum << 16 |
				 sv.dev.wire.device.devnum,
			.direction = USBIP_DIR_IN,
			.u.submit = {.transfer_buffer_length = 18,
				     .setup = {0x80, 6, 0, 1, 0, 0, 18, 0}}};
		uint8_t out[USBIP_URB_HEADER_LEN],
			in[USBIP_URB_HEADER_LEN + 18];
		struct usbip_fault fault;
		usbip_urb_header_pack(&h, out);
		if (write(pair[1], out, sizeof(out)) != (ssize_t)sizeof(out) ||
		    !read_all(pair[1], in, sizeof(in)))
			break;
		ck_assert_int_eq(usbip_urb_header_unpack(in, &h, &fault), 0);
		ck_assert_uint_eq(h.command, USBIP_RET_SUBMIT);
		ck_assert_uint_eq(h.seqnum, seq);
		ck_assert_int_eq(h.u.ret_submit.status, 0);
		replies++;
	}
	/* Without the guard's end, this half-close would end it. */
	shutdown(pair[1], SHUT_WR);
	pthread_join(t, NULL);
	close(pair[1]);
	worker_device_close(&sv.dev);
	ck_assert_int_eq(sv.result, -EKEYEXPIRED);
	ck_assert_uint_eq(count.calls, 2);
	/* 2000 bytes allowed: 17 or 18 requests of 114 bytes, each read
	 * one answered, none after. */
	ck_assert_msg(replies >= 17 && replies <= 19, "%u replies", replies);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tls-limit");
	TCase *tc = tcase_create("arithmetic");
	tcase_add_test(tc, limit_only_lowered);
	tcase_add_test(tc, end_before_limit);
	tcase_add_test(tc, budget_by_the_busier_direction);
	tcase_add_test(tc, option_text);
	tcase_add_test(tc, rec_seq_layouts);
	tcase_add_test(tc, no_limit_no_guard);
	tcase_add_test(tc, unreadable_counts_end_the_session);
	suite_add_tcase(s, tc);
	tc = tcase_create("session");
	tcase_add_test(tc, guard_ends_the_session);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
