// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The broker's check of a worker's handshake transcript
 * (common/tls_transcript.h), on transcripts of real TLS 1.3 handshakes
 * over loopback: the server end records its transcript with the random
 * and the signer a broker would give it. A genuine one gives the
 * client's pin; forged ones are refused: another session's, a client
 * signature with a bit flipped, another key in the client's Certificate,
 * every truncation, a byte more, wrong lengths, garbage, a
 * HelloRetryRequest, an oversize one.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "check-main.h"
#include "tcp-pair.h"
#include "tls_handshake.h"
#include "tls_key.h"
#include "tls_pin.h"
#include "tls_transcript.h"

#define TIMEOUT_MS 5000

/* One handshake's worth of what the broker and the worker hold. */
struct session_record {
	struct tls_key *server_key, *client_key;
	uint8_t server_spki[TLS_SPKI_MAX];
	size_t server_spki_len;
	uint8_t random[TLS_SERVER_RANDOM_LEN];
	uint8_t signed_content[256];
	size_t signed_len;
	uint8_t signature[TLS_SIGNATURE_MAX];
	size_t signature_len;
	struct tls_transcript transcript;
	struct tls_pin client_pin;
};

struct end {
	struct tls_identity id;
	struct tls_pins pins;
	struct tls_config cfg;
	struct tls_key *key;
	struct session_record *rec; /* the server's: what it signed */
	int fd, rc;
	char msg[256];
	struct tls_session *session;
};

static int sign_and_keep(void *ctx, enum tls_role role, const uint8_t *tbs,
			 size_t tbs_len, uint8_t *sig, size_t cap,
			 size_t *sig_len)
{
	struct end *e = ctx;
	int r = tls_key_sign(e->key, role, tbs, tbs_len, sig, cap, sig_len);

	if (r == 0 && e->rec) {
		ck_assert_uint_le(tbs_len, sizeof(e->rec->signed_content));
		memcpy(e->rec->signed_content, tbs, tbs_len);
		e->rec->signed_len = tbs_len;
		memcpy(e->rec->signature, sig, *sig_len);
		e->rec->signature_len = *sig_len;
	}
	return r;
}

static void end_init(struct end *e, enum tls_role role, struct tls_key *key,
		     struct tls_key *peer)
{
	memset(e, 0, sizeof(*e));
	e->key = key;
	ck_assert_int_eq(tls_key_spki(key, e->id.spki, sizeof(e->id.spki),
				      &e->id.spki_len),
			 0);
	e->id.sign = sign_and_keep;
	e->id.sign_ctx = e;
	ck_assert_int_eq(tls_key_pin(peer, &e->pins.pin[0]), 0);
	e->pins.count = 1;
	e->cfg.role = role;
	e->cfg.me = &e->id;
	e->cfg.allowed = &e->pins;
	e->cfg.timeout_ms = TIMEOUT_MS;
	e->fd = -1;
}

static void *handshake_thread(void *arg)
{
	struct end *e = arg;

	e->rc = tls_handshake(e->fd, &e->cfg, &e->session, NULL, e->msg,
			      sizeof(e->msg));
	if (e->rc < 0)
		shutdown(e->fd, SHUT_RDWR);
	return NULL;
}

/* With TRANSCRIPT_SEEDS=DIR, each transcript goes to DIR as a seed for
 * tests/fuzz/fuzz-transcript (a byte for the hash, then the transcript). */
static void seed(const struct session_record *rec)
{
	const char *dir = getenv("TRANSCRIPT_SEEDS");
	static unsigned n;
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/real-%u-%u", dir, (unsigned)getpid(),
		 n++);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputc(rec->signed_len > 64 + 34 + 32 ? 1 : 0, f);
	fwrite(rec->transcript.data, 1, rec->transcript.len, f);
	fclose(f);
}

/* A real handshake whose server records its transcript. The keys are
 * rec's (made here unless given). */
static void record_session(struct session_record *rec, unsigned suites)
{
	struct end server, client;
	pthread_t t;

	if (!rec->server_key)
		ck_assert_int_eq(tls_key_generate(&rec->server_key), 0);
	if (!rec->client_key)
		ck_assert_int_eq(tls_key_generate(&rec->client_key), 0);
	ck_assert_int_eq(tls_key_spki(rec->server_key, rec->server_spki,
				      sizeof(rec->server_spki),
				      &rec->server_spki_len),
			 0);
	ck_assert_int_eq(tls_key_pin(rec->client_key, &rec->client_pin), 0);
	ck_assert_int_eq(
		gnutls_rnd(GNUTLS_RND_NONCE, rec->random, sizeof(rec->random)),
		0);
	end_init(&server, TLS_ROLE_SERVER, rec->server_key, rec->client_key);
	end_init(&client, TLS_ROLE_CLIENT, rec->client_key, rec->server_key);
	server.rec = rec;
	server.cfg.server_random = rec->random;
	server.cfg.transcript = &rec->transcript;
	server.cfg.suites = client.cfg.suites = suites;
	tcp_pair(&client.fd, &server.fd);
	ck_assert_int_eq(pthread_create(&t, NULL, handshake_thread, &server),
			 0);
	handshake_thread(&client);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(server.rc == 0, "server: %s", server.msg);
	ck_assert_msg(client.rc == 0, "client: %s", client.msg);
	ck_assert(rec->transcript.complete);
	ck_assert_uint_eq(rec->transcript.messages, 9);
	seed(rec);
	tls_session_free(server.session);
	tls_session_free(client.session);
	close(server.fd);
	close(client.fd);
}

static void record_free(struct session_record *rec)
{
	tls_key_free(rec->server_key);
	tls_key_free(rec->client_key);
}

static struct tls_transcript_check check_of(const struct session_record *rec)
{
	return (struct tls_transcript_check){
		.transcript = rec->transcript.data,
		.transcript_len = rec->transcript.len,
		.server_random = rec->random,
		.server_spki = rec->server_spki,
		.server_spki_len = rec->server_spki_len,
		.signed_content = rec->signed_content,
		.signed_content_len = rec->signed_len,
		.signature = rec->signature,
		.signature_len = rec->signature_len,
	};
}

static int verify(const struct tls_transcript_check *c, struct tls_pin *pin,
		  const char *needle)
{
	char msg[256];
	int r = tls_transcript_verify(c, pin, msg, sizeof(msg));

	if (r < 0) {
		fprintf(stderr, "refused: %s\n", msg);
		ck_assert_msg(msg[0] && !strchr(msg, '\n'), "not one line");
		if (needle)
			ck_assert_msg(strstr(msg, needle),
				      "'%s' does not say '%s'", msg, needle);
	}
	return r;
}

/* Offset of the header of handshake message i (0-based). */
static size_t message_at(const struct tls_transcript *t, unsigned i)
{
	size_t pos = 0;

	for (unsigned n = 0; n < i; n++) {
		ck_assert_uint_le(pos + 4, t->len);
		pos += 4 + ((size_t)t->data[pos + 1] << 16 |
			    (size_t)t->data[pos + 2] << 8 | t->data[pos + 3]);
	}
	return pos;
}

static size_t message_len(const struct tls_transcript *t, unsigned i)
{
	size_t pos = message_at(t, i);

	return (size_t)t->data[pos + 1] << 16 | (size_t)t->data[pos + 2] << 8 |
	       t->data[pos + 3];
}

START_TEST(test_genuine_gives_the_clients_pin)
{
	static const unsigned suites[] = {TLS_SUITE_AES_128_GCM,
					  TLS_SUITE_CHACHA20_POLY1305,
					  TLS_SUITE_AES_256_GCM};
	static struct session_record rec;
	struct tls_transcript_check c;
	struct tls_pin pin;

	memset(&rec, 0, sizeof(rec));
	record_session(&rec, suites[_i]);
	fprintf(stderr, "transcript: %zu bytes, %u messages, hash %zu\n",
		rec.transcript.len, rec.transcript.messages,
		rec.signed_len - 98);
	/* The form: ClientHello first, the ServerHello carries our random. */
	ck_assert_uint_eq(rec.transcript.data[0], 1);
	ck_assert_uint_eq(rec.transcript.data[message_at(&rec.transcript, 1)],
			  2);
	ck_assert_mem_eq(rec.transcript.data + message_at(&rec.transcript, 1) +
				 4 + 2,
			 rec.random, sizeof(rec.random));
	c = check_of(&rec);
	memset(&pin, 0, sizeof(pin));
	ck_assert_int_eq(verify(&c, &pin, NULL), 0);
	ck_assert(tls_pin_equal(&pin, &rec.client_pin));
	record_free(&rec);
}
END_TEST

/* A real transcript of another session, and this session's signature:
 * the worker may ask the broker to sign anything, but not with the
 * random of another session. */
START_TEST(test_another_sessions_transcript)
{
	static struct session_record a, b;
	struct tls_transcript_check c;
	struct tls_pin pin;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	record_session(&a, 0);
	b.server_key = a.server_key;
	b.client_key = a.client_key;
	record_session(&b, 0);
	/* a's transcript shown in session b */
	c = check_of(&b);
	c.transcript = a.transcript.data;
	c.transcript_len = a.transcript.len;
	ck_assert_int_eq(verify(&c, &pin, "random"), -ESTALE);
	/* ... even with a's random: b's signature is over b's hash */
	c.server_random = a.random;
	ck_assert_int_eq(verify(&c, &pin, "not what the broker signed"),
			 -ESTALE);
	/* ... and a's hash signed again in b (the worker chose what b
	 * signed) but b's random: refused for the random */
	c = check_of(&a);
	c.server_random = b.random;
	ck_assert_int_eq(verify(&c, &pin, "random"), -ESTALE);
	/* a's transcript, a's random, but a signature the broker did not
	 * make in this session */
	c = check_of(&a);
	c.signature = b.signature;
	ck_assert_int_eq(verify(&c, &pin, "not the broker's signature"),
			 -ESTALE);
	/* a server key that is not the broker's */
	c = check_of(&a);
	c.server_spki = a.server_spki;
	uint8_t other[TLS_SPKI_MAX];
	memcpy(other, a.server_spki, a.server_spki_len);
	other[a.server_spki_len - 1] ^= 1;
	c.server_spki = other;
	ck_assert_int_eq(verify(&c, &pin, "not the broker's key"), -ESTALE);
	/* nothing signed in this session */
	c = check_of(&a);
	c.signed_content_len = 0;
	ck_assert_int_eq(verify(&c, &pin, NULL), -EINVAL);
	record_free(&a);
	b.server_key = b.client_key = NULL;
}
END_TEST

START_TEST(test_client_signature_bit_flipped)
{
	static struct session_record rec;
	struct tls_transcript_check c;
	struct tls_pin pin;

	memset(&rec, 0, sizeof(rec));
	record_session(&rec, 0);
	size_t cv = message_at(&rec.transcript, 8);
	/* header 4, scheme 2, length 2: then the 64-byte signature */
	for (size_t bit = 0; bit < 64 * 8; bit += 37) {
		rec.transcript.data[cv + 8 + bit / 8] ^=
			(uint8_t)(1 << bit % 8);
		c = check_of(&rec);
		ck_assert_int_eq(verify(&c, &pin, "does not verify"),
				 -EKEYREJECTED);
		rec.transcript.data[cv + 8 + bit / 8] ^=
			(uint8_t)(1 << bit % 8);
	}
	c = check_of(&rec);
	ck_assert_int_eq(verify(&c, &pin, NULL), 0);
	record_free(&rec);
}
END_TEST

/* The client's Certificate swapped for another key of the same size: the
 * claimed key did not sign this handshake. */
START_TEST(test_client_certificate_of_another_key)
{
	static struct session_record rec;
	struct tls_transcript_check c;
	struct tls_key *other;
	uint8_t spki[TLS_SPKI_MAX], mine[TLS_SPKI_MAX];
	size_t spki_len, mine_len;
	struct tls_pin pin;

	memset(&rec, 0, sizeof(rec));
	record_session(&rec, 0);
	ck_assert_int_eq(tls_key_generate(&other), 0);
	ck_assert_int_eq(tls_key_spki(other, spki, sizeof(spki), &spki_len), 0);
	ck_assert_int_eq(
		tls_key_spki(rec.client_key, mine, sizeof(mine), &mine_len), 0);
	ck_assert_uint_eq(spki_len, mine_len);
	uint8_t *at =
		memmem(rec.transcript.data + message_at(&rec.transcript, 7),
		       message_len(&rec.transcript, 7) + 4, mine, mine_len);
	ck_assert_ptr_nonnull(at);
	memcpy(at, spki, spki_len);
	c = check_of(&rec);
	ck_assert_int_eq(verify(&c, &pin, "does not verify"), -EKEYREJECTED);
	/* and a key that is no key at all */
	at[spki_len / 2] ^= 0xff;
	at[0] ^= 0xff;
	c = check_of(&rec);
	ck_assert_int_lt(verify(&c, &pin, NULL), 0);
	tls_key_free(other);
	record_free(&rec);
}
END_TEST

START_TEST(test_framing)
{
	static struct session_record rec;
	static uint8_t buf[TLS_TRANSCRIPT_MAX + 64];
	struct tls_transcript_check c;
	struct tls_pin pin;
	size_t len;
	int r;

	memset(&rec, 0, sizeof(rec));
	record_session(&rec, 0);
	len = rec.transcript.len;
	memcpy(buf, rec.transcript.data, len);
	c = check_of(&rec);
	c.transcript = buf;
	/* every truncation */
	for (size_t n = 0; n < len; n++) {
		c.transcript_len = n;
		r = tls_transcript_verify(&c, &pin, (char[256]){0}, 256);
		ck_assert_msg(r == -EBADMSG, "%zu of %zu bytes: %d", n, len, r);
	}
	/* a byte more, a message more */
	buf[len] = 0;
	c.transcript_len = len + 1;
	ck_assert_int_eq(verify(&c, &pin, "after the client's"), -EBADMSG);
	memcpy(buf + len, "\x14\x00\x00\x20", 4);
	memset(buf + len + 4, 0x55, 32);
	c.transcript_len = len + 36;
	ck_assert_int_eq(verify(&c, &pin, "after the client's"), -EBADMSG);
	c.transcript_len = len;
	ck_assert_int_eq(verify(&c, &pin, NULL), 0);
	/* each message's length one more and one less, each type another */
	for (unsigned i = 0; i < 9; i++) {
		size_t at = message_at(&rec.transcript, i);
		for (int d = -1; d <= 1; d += 2) {
			memcpy(buf, rec.transcript.data, len);
			buf[at + 3] = (uint8_t)(buf[at + 3] + d);
			r = tls_transcript_verify(&c, &pin, (char[256]){0},
						  256);
			ck_assert_msg(r == -EBADMSG,
				      "message %u length %+d: %d", i, d, r);
		}
		memcpy(buf, rec.transcript.data, len);
		buf[at] = 4; /* NewSessionTicket */
		ck_assert_int_eq(verify(&c, &pin, "type 4"), -EBADMSG);
		memcpy(buf, rec.transcript.data, len);
		buf[at + 1] = 0xff; /* 16 MiB */
		ck_assert_int_eq(verify(&c, &pin, "bytes"), -EBADMSG);
	}
	/* two messages swapped: order */
	memcpy(buf, rec.transcript.data, len);
	buf[message_at(&rec.transcript, 2)] = 13;
	ck_assert_int_eq(verify(&c, &pin, "type 13, not 8"), -EBADMSG);
	/* garbage of every size up to a few KiB */
	for (size_t n = 1; n < 4096; n = n * 3 + 1) {
		ck_assert_int_eq(gnutls_rnd(GNUTLS_RND_NONCE, buf, n), 0);
		c.transcript_len = n;
		ck_assert_int_lt(
			tls_transcript_verify(&c, &pin, (char[256]){0}, 256),
			0);
	}
	memset(buf, 0, sizeof(buf));
	c.transcript_len = 4;
	ck_assert_int_eq(verify(&c, &pin, NULL), -EBADMSG);
	record_free(&rec);
}
END_TEST

START_TEST(test_oversize_and_retry)
{
	static struct session_record rec;
	static uint8_t buf[TLS_TRANSCRIPT_MAX + 1];
	struct tls_transcript_check c;
	struct tls_pin pin;
	size_t sh;

	memset(&rec, 0, sizeof(rec));
	record_session(&rec, 0);
	c = check_of(&rec);
	memcpy(buf, rec.transcript.data, rec.transcript.len);
	c.transcript = buf;
	c.transcript_len = TLS_TRANSCRIPT_MAX + 1;
	ck_assert_int_eq(verify(&c, &pin, "16384"), -EMSGSIZE);
	/* A ServerHello with the HelloRetryRequest's random. */
	static const uint8_t retry[32] = {
		0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
		0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
		0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
		0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
	sh = message_at(&rec.transcript, 1);
	memcpy(buf + sh + 4 + 2, retry, sizeof(retry));
	c.transcript_len = rec.transcript.len;
	ck_assert_int_eq(verify(&c, &pin, "HelloRetryRequest"), -EPROTO);
	record_free(&rec);
}
END_TEST

/* What ours take: far below the bound the IPC message carries. */
START_TEST(test_transcript_size)
{
	static struct session_record rec;

	memset(&rec, 0, sizeof(rec));
	record_session(&rec, 0);
	ck_assert_uint_lt(rec.transcript.len, TLS_TRANSCRIPT_MAX / 4);
	record_free(&rec);
}
END_TEST

/* A TLS 1.3 client whose one key share is for a group the server does
 * not take (P-384) while it also lists one the server does (P-256): the
 * server would answer with a HelloRetryRequest. */
static void *retry_client(void *arg)
{
	int fd = *(int *)arg;
	gnutls_certificate_credentials_t cred;
	gnutls_session_t g;

	gnutls_certificate_allocate_credentials(&cred);
	gnutls_init(&g, GNUTLS_CLIENT | GNUTLS_ENABLE_RAWPK);
	ck_assert_int_eq(
		gnutls_priority_set_direct(
			g,
			"NONE:+VERS-TLS1.3:+AEAD:+AES-128-GCM:+COMP-NULL:"
			"+GROUP-SECP384R1:+GROUP-SECP256R1:+SIGN-EDDSA-ED25519:"
			"+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK",
			NULL),
		0);
	gnutls_credentials_set(g, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(g, fd);
	gnutls_handshake_set_timeout(g, TIMEOUT_MS);
	int r = gnutls_handshake(g);
	gnutls_deinit(g);
	gnutls_certificate_free_credentials(cred);
	return (void *)(intptr_t)r;
}

/* The recorder refuses a handshake that needs a HelloRetryRequest: its
 * transcript would start with a synthetic message_hash, a form the
 * verifier does not take. */
START_TEST(test_recorder_refuses_retry)
{
	static struct session_record rec;
	struct tls_key *client_key;
	struct end server;
	int client_fd;
	pthread_t t;
	void *client_rc;

	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(tls_key_generate(&rec.server_key), 0);
	ck_assert_int_eq(tls_key_generate(&client_key), 0);
	end_init(&server, TLS_ROLE_SERVER, rec.server_key, client_key);
	server.rec = &rec;
	server.cfg.server_random = rec.random;
	server.cfg.transcript = &rec.transcript;
	tcp_pair(&client_fd, &server.fd);
	ck_assert_int_eq(pthread_create(&t, NULL, retry_client, &client_fd), 0);
	handshake_thread(&server);
	pthread_join(t, &client_rc);
	fprintf(stderr, "server: %s\n", server.msg);
	ck_assert_int_eq(server.rc, -EPROTO);
	ck_assert_msg(strstr(server.msg, "HelloRetryRequest"), "%s",
		      server.msg);
	ck_assert(rec.transcript.retry);
	ck_assert(!rec.transcript.complete);
	ck_assert_uint_eq(rec.signed_len, 0); /* nothing was signed */
	ck_assert_int_lt((intptr_t)client_rc, 0);
	close(client_fd);
	close(server.fd);
	tls_key_free(client_key);
	record_free(&rec);
}
END_TEST

static Suite *transcript_suite(void)
{
	Suite *s = suite_create("transcript");
	TCase *tc = tcase_create("verify");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_genuine_gives_the_clients_pin, 0, 3);
	tcase_add_test(tc, test_another_sessions_transcript);
	tcase_add_test(tc, test_client_signature_bit_flipped);
	tcase_add_test(tc, test_client_certificate_of_another_key);
	tcase_add_test(tc, test_framing);
	tcase_add_test(tc, test_oversize_and_retry);
	tcase_add_test(tc, test_transcript_size);
	tcase_add_test(tc, test_recorder_refuses_retry);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(transcript_suite());
}
