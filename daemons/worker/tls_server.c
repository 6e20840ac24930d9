// SPDX-License-Identifier: GPL-2.0-or-later
#include "tls_server.h"

#include <errno.h>
#include <linux/tls.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "broker_client.h"
#include "log.h"
#include "session.h"
#include "tls_handshake.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

uint64_t worker_tls_record_limit(uint64_t aead_limit, uint64_t configured)
{
	if (!aead_limit)
		return configured;
	if (!configured)
		return aead_limit;
	return configured < aead_limit ? configured : aead_limit;
}

uint64_t worker_tls_end_at(uint64_t limit)
{
	return limit - limit / 16;
}

uint64_t worker_tls_budget(uint64_t end_at, uint64_t sent, uint64_t received)
{
	uint64_t most = sent > received ? sent : received;

	return most >= end_at ? 0 : end_at - most;
}

int worker_tls_parse_record_limit(const char *text, uint64_t *limit)
{
	char *end;
	unsigned long long v;

	/* strtoull would take leading blanks and a minus sign. */
	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v < TLS_RECORD_LIMIT_MIN ||
	    v > TLS_RECORD_LIMIT_MAX)
		return -EINVAL;
	*limit = v;
	return 0;
}

union crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 aes128;
	struct tls12_crypto_info_aes_gcm_256 aes256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

/* The kernel's answer for a cipher: its size and where rec_seq is in it
 * (8 bytes, big-endian); 0 for a cipher the worker does not install. */
static size_t crypto_info_size(uint16_t cipher, size_t *rec_seq_at)
{
	switch (cipher) {
	case TLS_CIPHER_AES_GCM_128:
		*rec_seq_at =
			offsetof(struct tls12_crypto_info_aes_gcm_128, rec_seq);
		return sizeof(struct tls12_crypto_info_aes_gcm_128);
	case TLS_CIPHER_AES_GCM_256:
		*rec_seq_at =
			offsetof(struct tls12_crypto_info_aes_gcm_256, rec_seq);
		return sizeof(struct tls12_crypto_info_aes_gcm_256);
	case TLS_CIPHER_CHACHA20_POLY1305:
		*rec_seq_at = offsetof(
			struct tls12_crypto_info_chacha20_poly1305, rec_seq);
		return sizeof(struct tls12_crypto_info_chacha20_poly1305);
	}
	return 0;
}

int worker_tls_rec_seq(const void *info, size_t len, uint64_t *seq)
{
	struct tls_crypto_info head;
	const uint8_t *p = info;
	size_t at, want;

	if (len < sizeof(head))
		return -EPROTO;
	memcpy(&head, info, sizeof(head));
	want = crypto_info_size(head.cipher_type, &at);
	if (!want || len != want || head.version != TLS_1_3_VERSION)
		return -EPROTO;
	*seq = 0;
	for (size_t i = 0; i < 8; i++)
		*seq = *seq << 8 | p[at + i];
	return 0;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The records the kernel has sealed (TLS_TX) and opened (TLS_RX) on the
 * socket, exactly. Linux 6.1's do_tls_getsockopt_conf()
 * (net/tls/tls_main.c) copies the direction's crypto_info, with rec_seq
 * taken from its cipher context, under the socket's lock; net/tls/tls_sw.c
 * advances that rec_seq by one per record with tls_advance_record_sn(), in
 * tls_push_record() for each record sent and tls_rx_one_record() for each
 * one opened (so a record still unread in the socket is not counted yet).
 * The answer carries the keys too, which this process installed itself;
 * they are wiped at once.
 */
static int look(struct worker_tls_records *r)
{
	static const int direction[2] = {TLS_TX, TLS_RX};
	uint64_t *count[2] = {&r->sent, &r->received};
	uint64_t start = monotonic_ns();
	union crypto_info ci;
	size_t at, size = crypto_info_size(r->cipher_type, &at);
	int e = 0;

	for (size_t i = 0; i < 2 && e == 0; i++) {
		socklen_t len = (socklen_t)size;
		if (getsockopt(r->fd, SOL_TLS, direction[i], &ci, &len) < 0)
			e = -errno;
		else
			e = worker_tls_rec_seq(&ci, len, count[i]);
	}
	explicit_bzero(&ci, sizeof(ci));
	r->looks++;
	r->look_ns += monotonic_ns() - start;
	return e;
}

static uint64_t check_records(void *ctx)
{
	struct worker_tls_records *r = ctx;
	uint64_t budget;
	int e = look(r);

	if (e < 0) {
		log_warning("%s: TLS: the kernel's record counts cannot be "
			    "read (%s): ending the session",
			    r->peer, strerror(-e));
		r->failed = true;
		return 0;
	}
	budget = worker_tls_budget(r->end_at, r->sent, r->received);
	if (budget == 0)
		log_notice("%s: TLS: %llu records sent, %llu received, of "
			   "%llu each way %s: ending the session before the "
			   "limit (kTLS cannot update keys; a new session has "
			   "new ones)",
			   r->peer, (unsigned long long)r->sent,
			   (unsigned long long)r->received,
			   (unsigned long long)r->limit,
			   r->lowered ? "(--tls-record-limit)"
				      : "(the AEAD's limit, RFC 8446 5.5)");
	return budget;
}

bool worker_tls_guard(struct worker_tls_records *r, struct session_guard *g)
{
	if (!r->end_at)
		return false;
	*g = (struct session_guard){
		.check = check_records,
		.ctx = r,
		.bytes = worker_tls_budget(r->end_at, r->sent, r->received),
	};
	return true;
}

void worker_tls_records_report(struct worker_tls_records *r)
{
	if (!r->end_at || r->failed || look(r) < 0)
		return;
	log_line("%s: TLS: %llu records sent, %llu received (the session "
		 "ends at %llu of %llu each way); counted by the kernel, "
		 "asked %llu times, %llu us in all",
		 r->peer, (unsigned long long)r->sent,
		 (unsigned long long)r->received, (unsigned long long)r->end_at,
		 (unsigned long long)r->limit, (unsigned long long)r->looks,
		 (unsigned long long)(r->look_ns / 1000));
}

/* After kTLS is installed: which cipher the kernel holds (the header
 * alone, no key), the limit and the counts so far. */
static int records_setup(struct worker_tls_records *r, int fd, const char *peer,
			 uint64_t aead_limit, uint64_t configured)
{
	struct tls_crypto_info head;
	socklen_t len = sizeof(head);
	size_t at;

	*r = (struct worker_tls_records){.fd = fd, .peer = peer};
	r->limit = worker_tls_record_limit(aead_limit, configured);
	r->lowered = configured && r->limit == configured;
	if (!r->limit)
		return 0;
	r->end_at = worker_tls_end_at(r->limit);
	if (getsockopt(fd, SOL_TLS, TLS_TX, &head, &len) < 0)
		return -errno;
	if (len != sizeof(head) || !crypto_info_size(head.cipher_type, &at))
		return -EPROTO;
	r->cipher_type = head.cipher_type;
	return look(r);
}

#ifdef HAVE_GNUTLS
#include "tls_ktls.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int spki_of_hex(const char *hex, uint8_t *spki, size_t cap, size_t *len)
{
	size_t n = strnlen(hex, 2 * cap + 1);

	if (n == 0 || n % 2 || n > 2 * cap)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		spki[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

int worker_tls_check_spki(const char *hex)
{
	uint8_t spki[TLS_SPKI_MAX];
	size_t len;

	return spki_of_hex(hex, spki, sizeof(spki), &len);
}

int worker_tls_set_random(struct worker_tls *t, const char *hex)
{
	size_t len = 0;

	if (spki_of_hex(hex, t->random, sizeof(t->random), &len) < 0 ||
	    len != sizeof(t->random))
		return -EINVAL;
	t->has_random = true;
	return 0;
}

struct broker_signer {
	struct broker_client *bc;
	struct op_io_deadline deadline;
};

/* The handshake's one signature, from the broker, which checks that it is
 * a server CertificateVerify and signs once per session. */
static int sign_by_broker(void *ctx, enum tls_role role, const uint8_t *tbs,
			  size_t tbs_len, uint8_t *sig, size_t cap,
			  size_t *sig_len)
{
	struct broker_signer *b = ctx;
	char msg[256];
	int r;

	if (role != TLS_ROLE_SERVER)
		return -EINVAL;
	r = broker_client_sign(b->bc, &b->deadline, tbs, tbs_len, sig, cap,
			       sig_len, msg, sizeof(msg));
	if (r < 0)
		log_line("broker channel: %s", msg);
	return r;
}

int worker_tls_accept(int fd, struct broker_client *bc,
		      const struct worker_tls *t, const char *peer,
		      int timeout_ms, struct worker_tls_records *records)
{
	struct broker_signer signer = {
		.bc = bc, .deadline = {.at_ms = op_io_now_ms() + timeout_ms}};
	struct tls_identity me = {.sign = sign_by_broker, .sign_ctx = &signer};
	static struct tls_transcript transcript;
	struct tls_config cfg = {
		.role = TLS_ROLE_SERVER,
		.me = &me,
		.allowed = &t->peers,
		.timeout_ms = timeout_ms,
		/* The filter has read and write, not recvfrom and sendto;
		 * SIGPIPE is ignored. */
		.use_read_write = true,
		/* The broker checks the transcript against this random. */
		.server_random = t->has_random ? t->random : NULL,
		.transcript = &transcript,
	};
	struct tls_session *session = NULL;
	struct tls_result result;
	char msg[256], line[256], params[IPC_TLS_PARAMS_MAX];
	int r;

	if (spki_of_hex(t->spki_hex, me.spki, sizeof(me.spki), &me.spki_len) <
	    0) {
		log_line("%s: TLS: --tls-spki is not a key", peer);
		return -EINVAL;
	}
	r = tls_handshake(fd, &cfg, &session, &result, msg, sizeof(msg));
	if (r == 0)
		r = tls_ktls_install(fd, session, msg, sizeof(msg));
	tls_session_free(session);
	if (r < 0) {
		log_line("%s: TLS refused: %s", peer, msg);
		return r;
	}
	tls_result_format(&result, line, sizeof(line));
	log_line("%s: TLS: %s", peer, line);
	r = records_setup(records, fd, peer, result.record_limit,
			  t->record_limit);
	if (r < 0) {
		log_line("%s: TLS refused: the kernel's record counts cannot "
			 "be read: %s",
			 peer, strerror(-r));
		return r;
	}
	if (records->lowered)
		log_line("%s: TLS: at most %llu records each way "
			 "(--tls-record-limit)",
			 peer, (unsigned long long)records->limit);
	snprintf(params, sizeof(params), "%s %s %s %s", result.version,
		 result.cipher, result.group, result.signature);
	r = broker_client_tls_peer(
		bc, result.peer.sha256, sizeof(result.peer.sha256), params,
		transcript.data, transcript.len, msg, sizeof(msg));
	if (r < 0)
		log_line("broker channel: %s", msg);
	return r;
}
#else
int worker_tls_check_spki(const char *hex)
{
	(void)hex;
	return -EOPNOTSUPP;
}

int worker_tls_set_random(struct worker_tls *t, const char *hex)
{
	(void)t, (void)hex;
	return -EOPNOTSUPP;
}

int worker_tls_accept(int fd, struct broker_client *bc,
		      const struct worker_tls *t, const char *peer,
		      int timeout_ms, struct worker_tls_records *records)
{
	(void)fd, (void)bc, (void)t, (void)timeout_ms, (void)records;
	(void)records_setup;
	log_line("%s: TLS refused: this worker was built without GnuTLS", peer);
	return -EOPNOTSUPP;
}
#endif
