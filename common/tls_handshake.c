// SPDX-License-Identifier: GPL-2.0-or-later
/* The TLS 1.3 handshake with pinned raw Ed25519 keys and an external
 * signer (tls_handshake.h). The protocol and its cryptography are
 * GnuTLS's; this file chooses what it may negotiate and checks what it
 * did. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "macros.h"
#include "tls_handshake.h"
#include "log.h"

/* A TLS record header's first byte for a handshake message. */
#define TLS_CONTENT_HANDSHAKE 0x16
#define TLS_RECORD_HEADER_LEN 5
#define TLS_HANDSHAKE_MESSAGE_MAX 16384
/* What one handshake may read from the peer. Ours takes about 1 KiB;
 * GnuTLS would buffer a partial message of any announced length. */
#define TLS_HANDSHAKE_READ_MAX (32 * 1024)
/* RFC 8446 5.5: 2^24.5 full-size records per AES-GCM key. */
#define AES_GCM_RECORD_LIMIT 23726566ULL

struct tls_session {
	gnutls_session_t gnutls;
	gnutls_certificate_credentials_t cred;
	gnutls_pcert_st pcert;
	gnutls_pubkey_t own_pub; /* checks the signer's answer */
	const struct tls_config *cfg;
	int fd;
	bool use_read_write;
	/* The pull function: what it saw and whether it may read. */
	uint8_t first_bytes[8];
	size_t first_len;
	bool in_handshake; /* count reads against the cap */
	size_t handshake_read;
	bool handshake_too_long;
	bool drained_probe;	    /* read nothing, answer EAGAIN */
	size_t probe_first_request; /* the length asked for first */
	/* Outcomes the callbacks record for the error message. */
	unsigned signatures;
	int sign_error;
	bool second_signature;
	bool peer_checked;
	bool peer_refused;
	bool peer_without_key;
	struct tls_pin peer;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct tls_session *s = ptr;

	if (s->drained_probe) {
		if (!s->probe_first_request)
			s->probe_first_request = len;
		gnutls_transport_set_errno(s->gnutls, EAGAIN);
		return -1;
	}
	if (s->in_handshake) {
		if (s->handshake_read >= TLS_HANDSHAKE_READ_MAX) {
			s->handshake_too_long = true;
			gnutls_transport_set_errno(s->gnutls, EMSGSIZE);
			return -1;
		}
		if (len > TLS_HANDSHAKE_READ_MAX - s->handshake_read)
			len = TLS_HANDSHAKE_READ_MAX - s->handshake_read;
	}
	ssize_t n = s->use_read_write ? read(s->fd, buf, len)
				      : recv(s->fd, buf, len, 0);
	if (n < 0) {
		gnutls_transport_set_errno(s->gnutls, errno);
		return -1;
	}
	if (s->in_handshake)
		s->handshake_read += (size_t)n;
	size_t keep = sizeof(s->first_bytes) - s->first_len;
	if (keep > (size_t)n)
		keep = (size_t)n;
	memcpy(s->first_bytes + s->first_len, buf, keep);
	s->first_len += keep;
	return n;
}

static ssize_t push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
	struct tls_session *s = ptr;
	ssize_t n = s->use_read_write ? write(s->fd, buf, len)
				      : send(s->fd, buf, len, MSG_NOSIGNAL);

	if (n < 0)
		gnutls_transport_set_errno(s->gnutls, errno);
	return n;
}

/* Only used by GnuTLS paths this module does not take (it never asks
 * for a receive timeout); present because GnuTLS wants one with a
 * custom pull function. Waits nothing: the caller's loop polls. */
static int pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct tls_session *s = ptr;
	struct pollfd p = {.fd = s->fd, .events = POLLIN};

	(void)ms;
	return poll(&p, 1, 0);
}

/* Appends each handshake message, as the transcript hash takes it, until
 * the client's CertificateVerify (tls_transcript.h). GnuTLS hands the
 * hook the body alone (lib/handshake.c: _gnutls_send_handshake2 and
 * _gnutls_recv_handshake pass the data after the header), so the 4-byte
 * header is rebuilt from the type and the length. */
static int record_message(gnutls_session_t g, unsigned htype, unsigned when,
			  unsigned incoming, const gnutls_datum_t *body)
{
	struct tls_session *s = gnutls_session_get_ptr(g);
	struct tls_transcript *t = s->cfg ? s->cfg->transcript : NULL;

	(void)when;
	if (!t || t->complete)
		return 0;
	if (htype == GNUTLS_HANDSHAKE_HELLO_RETRY_REQUEST) {
		t->retry = true;
		return GNUTLS_E_UNEXPECTED_HANDSHAKE_PACKET;
	}
	if (htype > 0xff || body->size > TLS_TRANSCRIPT_MAX ||
	    TLS_TRANSCRIPT_MAX - t->len < 4 + (size_t)body->size) {
		t->overflow = true;
		return GNUTLS_E_HANDSHAKE_TOO_LARGE;
	}
	t->data[t->len++] = (uint8_t)htype;
	t->data[t->len++] = (uint8_t)(body->size >> 16);
	t->data[t->len++] = (uint8_t)(body->size >> 8);
	t->data[t->len++] = (uint8_t)body->size;
	if (body->size)
		memcpy(t->data + t->len, body->data, body->size);
	t->len += body->size;
	t->messages++;
	if (htype == GNUTLS_HANDSHAKE_CERTIFICATE_VERIFY && incoming)
		t->complete = true;
	return 0;
}

static int ext_info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
	(void)key;
	(void)userdata;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return GNUTLS_FLAGS_TO_SIGN_ALGO(flags) ==
		       GNUTLS_SIGN_EDDSA_ED25519;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return GNUTLS_PK_EDDSA_ED25519;
	if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
		return GNUTLS_SIGN_EDDSA_ED25519;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return 255;
	return -1;
}

static int ext_sign(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
		    void *userdata, unsigned int flags,
		    const gnutls_datum_t *data, gnutls_datum_t *signature)
{
	struct tls_session *s = userdata;
	uint8_t sig[TLS_SIGNATURE_MAX];
	size_t sig_len = 0;

	(void)key;
	(void)flags;
	if (algo != GNUTLS_SIGN_EDDSA_ED25519)
		return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
	/* One CertificateVerify per handshake: anything more is a bug or
	 * an attempt to use the signer as an oracle. */
	if (s->signatures || !s->cfg) {
		s->second_signature = true;
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	s->signatures++;
	const struct tls_identity *me = s->cfg->me;
	int r = me->sign(me->sign_ctx, s->cfg->role, data->data, data->size,
			 sig, sizeof(sig), &sig_len);
	if (r < 0 || sig_len == 0 || sig_len > sizeof(sig)) {
		s->sign_error = r < 0 ? r : -EIO;
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	/* A signer holding another key than the one we present would
	 * only show as the peer's refusal; say it here. */
	gnutls_datum_t got = {sig, (unsigned)sig_len};
	if (gnutls_pubkey_verify_data2(s->own_pub, GNUTLS_SIGN_EDDSA_ED25519, 0,
				       data, &got) < 0) {
		s->sign_error = -EKEYREJECTED;
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	signature->data = gnutls_malloc(sig_len);
	if (!signature->data)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(signature->data, sig, sig_len);
	signature->size = (unsigned)sig_len;
	return 0;
}

/* The peer's key: exactly one raw public key, whose pin is allowed. */
static int check_peer(struct tls_session *s)
{
	unsigned int n = 0;
	const gnutls_datum_t *peers;

	if (gnutls_certificate_type_get2(s->gnutls, GNUTLS_CTYPE_PEERS) !=
	    GNUTLS_CRT_RAWPK) {
		s->peer_without_key = true;
		return -1;
	}
	peers = gnutls_certificate_get_peers(s->gnutls, &n);
	if (!peers || n != 1 || !peers[0].size) {
		s->peer_without_key = true;
		return -1;
	}
	if (tls_pin_of_spki(peers[0].data, peers[0].size, &s->peer) < 0)
		return -1;
	if (!tls_pins_contain(s->cfg->allowed, &s->peer)) {
		s->peer_refused = true;
		return -1;
	}
	s->peer_checked = true;
	return 0;
}

static int verify_callback(gnutls_session_t session)
{
	return check_peer(gnutls_session_get_ptr(session)) < 0 ? -1 : 0;
}

/* The priority string for a suite mask: nothing but TLS 1.3, the suites
 * kTLS has, Ed25519 and raw public keys. */
static int priority_string(unsigned suites, char *buf, size_t len)
{
	int n = snprintf(
		buf, len,
		"NONE:+VERS-TLS1.3:+AEAD:+COMP-NULL:+GROUP-X25519:"
		"+GROUP-SECP256R1:+SIGN-EDDSA-ED25519:+CTYPE-CLI-RAWPK:"
		"+CTYPE-SRV-RAWPK%s%s%s",
		suites & TLS_SUITE_AES_128_GCM ? ":+AES-128-GCM" : "",
		suites & TLS_SUITE_CHACHA20_POLY1305 ? ":+CHACHA20-POLY1305"
						     : "",
		suites & TLS_SUITE_AES_256_GCM ? ":+AES-256-GCM" : "");
	return n > 0 && (size_t)n < len ? 0 : -EINVAL;
}

void tls_session_free(struct tls_session *s)
{
	if (!s)
		return;
	if (s->gnutls)
		gnutls_deinit(s->gnutls);
	/* The credentials own the pcert and the external key. */
	if (s->cred)
		gnutls_certificate_free_credentials(s->cred);
	if (s->own_pub)
		gnutls_pubkey_deinit(s->own_pub);
	free(s);
}

struct gnutls_session_int *tls_session_gnutls(struct tls_session *s)
{
	return s->gnutls;
}

static int session_setup(struct tls_session *s, char *msg, size_t msg_len)
{
	const struct tls_config *cfg = s->cfg;
	gnutls_datum_t spki = {(unsigned char *)cfg->me->spki,
			       (unsigned)cfg->me->spki_len};
	gnutls_privkey_t ext = NULL;
	char priority[256];
	const char *err_pos = NULL;
	unsigned flags =
		(cfg->role == TLS_ROLE_SERVER ? GNUTLS_SERVER : GNUTLS_CLIENT) |
		GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS |
		GNUTLS_ENABLE_RAWPK;

	if (gnutls_pubkey_init(&s->own_pub) < 0 ||
	    gnutls_pubkey_import(s->own_pub, &spki, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_pubkey_get_pk_algorithm(s->own_pub, NULL) !=
		    GNUTLS_PK_EDDSA_ED25519) {
		log_fail(0, msg, msg_len,
			 "our public key is not an Ed25519 SPKI");
		return -EINVAL;
	}
	if (gnutls_certificate_allocate_credentials(&s->cred) < 0 ||
	    gnutls_privkey_init(&ext) < 0)
		return -ENOMEM;
	if (gnutls_privkey_import_ext4(ext, s, ext_sign, NULL, NULL, NULL,
				       ext_info, 0) < 0 ||
	    gnutls_pcert_import_rawpk_raw(&s->pcert, &spki, GNUTLS_X509_FMT_DER,
					  0, 0) < 0) {
		gnutls_privkey_deinit(ext);
		log_fail(0, msg, msg_len, "cannot set up our raw public key");
		return -EINVAL;
	}
	if (gnutls_certificate_set_key(s->cred, NULL, 0, &s->pcert, 1, ext) <
	    0) {
		gnutls_pcert_deinit(&s->pcert);
		gnutls_privkey_deinit(ext);
		log_fail(0, msg, msg_len, "cannot set up our raw public key");
		return -EINVAL;
	}
	if (gnutls_init(&s->gnutls, flags) < 0)
		return -ENOMEM;
	gnutls_session_set_ptr(s->gnutls, s);
	/* Our peers' messages are a few hundred bytes (raw keys, no
	 * certificate chains): no reason to buffer GnuTLS's default 128 KiB
	 * of a hostile one. */
	gnutls_handshake_set_max_packet_length(s->gnutls,
					       TLS_HANDSHAKE_MESSAGE_MAX);
	if (priority_string(cfg->suites ? cfg->suites : TLS_SUITES_ALL,
			    priority, sizeof(priority)) < 0 ||
	    gnutls_priority_set_direct(s->gnutls, priority, &err_pos) < 0) {
		log_fail(0, msg, msg_len,
			 "GnuTLS refuses the priority string at "
			 "'%.20s'",
			 err_pos ? err_pos : "?");
		return -EINVAL;
	}
	if (gnutls_credentials_set(s->gnutls, GNUTLS_CRD_CERTIFICATE, s->cred) <
	    0)
		return -EINVAL;
	if (cfg->role == TLS_ROLE_SERVER)
		gnutls_certificate_server_set_request(s->gnutls,
						      GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_function(s->gnutls, verify_callback);
	if (cfg->role == TLS_ROLE_SERVER && cfg->server_random) {
		gnutls_datum_t random = {(unsigned char *)cfg->server_random,
					 TLS_SERVER_RANDOM_LEN};
		if (gnutls_handshake_set_random(s->gnutls, &random) < 0)
			return -EINVAL;
	}
	if (cfg->role == TLS_ROLE_SERVER && cfg->transcript)
		gnutls_handshake_set_hook_function(
			s->gnutls, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_POST,
			record_message);
	gnutls_transport_set_ptr(s->gnutls, s);
	gnutls_transport_set_pull_function(s->gnutls, pull);
	gnutls_transport_set_pull_timeout_function(s->gnutls, pull_timeout);
	gnutls_transport_set_push_function(s->gnutls, push);
	return 0;
}

/* One line for a failed handshake, from the most specific cause known. */
static int handshake_error(struct tls_session *s, int gr, int sys_errno,
			   char *msg, size_t msg_len)
{
	char pin[TLS_PIN_TEXT_SIZE];

	if (s->second_signature) {
		log_fail(0, msg, msg_len,
			 "a second signature was asked for in "
			 "one handshake; refused");
		return -EPROTO;
	}
	if (s->sign_error) {
		log_fail(0, msg, msg_len,
			 s->sign_error == -EKEYREJECTED
				 ? "the signer's signature does not match our "
				   "public key"
				 : "signing the handshake failed: %s",
			 strerror(-s->sign_error));
		return s->sign_error;
	}
	if (s->cfg && s->cfg->transcript && s->cfg->transcript->retry) {
		log_fail(0, msg, msg_len,
			 "the peer's ClientHello needs a HelloRetryRequest "
			 "(no X25519 key share?), which this server refuses");
		return -EPROTO;
	}
	if (s->cfg && s->cfg->transcript && s->cfg->transcript->overflow) {
		log_fail(0, msg, msg_len,
			 "a handshake of more than %d KiB cannot be shown to "
			 "the broker",
			 TLS_TRANSCRIPT_MAX / 1024);
		return -EMSGSIZE;
	}
	if (s->handshake_too_long) {
		log_fail(0, msg, msg_len,
			 "the peer sent more than %d KiB of handshake",
			 TLS_HANDSHAKE_READ_MAX / 1024);
		return -EMSGSIZE;
	}
	if (s->peer_refused) {
		tls_pin_format(&s->peer, pin);
		log_fail(0, msg, msg_len, "the peer's key %s is not pinned",
			 pin);
		return -EACCES;
	}
	if (s->peer_without_key || gr == GNUTLS_E_CERTIFICATE_REQUIRED ||
	    gr == GNUTLS_E_NO_CERTIFICATE_FOUND) {
		log_fail(0, msg, msg_len,
			 "the peer presented no raw public key");
		return -EACCES;
	}
	if (s->first_len >= 2 && s->first_bytes[0] != TLS_CONTENT_HANDSHAKE &&
	    gr != GNUTLS_E_FATAL_ALERT_RECEIVED) {
		/* USB/IP's header starts with its version, 0x0111. */
		bool usbip =
			s->first_bytes[0] == 0x01 && s->first_bytes[1] == 0x11;
		log_fail(
			0, msg, msg_len,
			"the peer does not speak TLS (first bytes %02x %02x%s)",
			s->first_bytes[0], s->first_bytes[1],
			usbip ? ": plain USB/IP" : "");
		return -EPROTO;
	}
	switch (gr) {
	case GNUTLS_E_PUSH_ERROR:
	case GNUTLS_E_PULL_ERROR:
		log_fail(0, msg, msg_len, "TLS handshake: %s",
			 strerror(sys_errno ? sys_errno : EIO));
		return sys_errno ? -sys_errno : -EIO;
	case GNUTLS_E_PREMATURE_TERMINATION:
		log_fail(0, msg, msg_len,
			 "the peer closed the connection during the TLS "
			 "handshake (%s)",
			 s->first_len ? "it refused us"
				      : "not a TLS endpoint?");
		return -ECONNRESET;
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		log_fail(0, msg, msg_len, "the peer refused the handshake: %s",
			 gnutls_alert_get_name(gnutls_alert_get(s->gnutls)));
		return -EPROTO;
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
	case GNUTLS_E_INSUFFICIENT_SECURITY:
	case GNUTLS_E_NO_CIPHER_SUITES:
	case GNUTLS_E_UNKNOWN_CIPHER_SUITE:
	case GNUTLS_E_NO_COMMON_KEY_SHARE:
		log_fail(0, msg, msg_len,
			 "the peer offers no TLS 1.3 with a kTLS cipher and "
			 "Ed25519 raw keys: %s",
			 gnutls_strerror(gr));
		return -EPROTO;
	default:
		log_fail(0, msg, msg_len, "TLS handshake failed: %s",
			 gnutls_strerror(gr));
		return -EPROTO;
	}
}

/* What a finished handshake must show, checked again rather than trusted
 * to the callbacks. */
static int check_outcome(struct tls_session *s, char *msg, size_t msg_len)
{
	gnutls_session_t g = s->gnutls;
	unsigned want = s->cfg->suites ? s->cfg->suites : TLS_SUITES_ALL;
	unsigned suite;

	switch (gnutls_cipher_get(g)) {
	case GNUTLS_CIPHER_AES_128_GCM:
		suite = TLS_SUITE_AES_128_GCM;
		break;
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		suite = TLS_SUITE_CHACHA20_POLY1305;
		break;
	case GNUTLS_CIPHER_AES_256_GCM:
		suite = TLS_SUITE_AES_256_GCM;
		break;
	default:
		suite = 0;
	}
	if (gnutls_protocol_get_version(g) != GNUTLS_TLS1_3 ||
	    !(suite & want)) {
		log_fail(0, msg, msg_len,
			 "negotiated %s %s, not what was asked",
			 gnutls_protocol_get_name(
				 gnutls_protocol_get_version(g)),
			 gnutls_cipher_get_name(gnutls_cipher_get(g)));
		return -EPROTO;
	}
	if (gnutls_session_get_flags(g) &
	    (GNUTLS_SFLAGS_SESSION_TICKET | GNUTLS_SFLAGS_EARLY_DATA |
	     GNUTLS_SFLAGS_POST_HANDSHAKE_AUTH)) {
		log_fail(0, msg, msg_len,
			 "the session allows tickets, early data "
			 "or post-handshake authentication");
		return -EPROTO;
	}
	if (gnutls_session_is_resumed(g)) {
		log_fail(0, msg, msg_len, "a resumed session");
		return -EPROTO;
	}
	if (!s->peer_checked || check_peer(s) < 0)
		return handshake_error(s, GNUTLS_E_CERTIFICATE_ERROR, 0, msg,
				       msg_len);
	if (s->signatures != 1) {
		log_fail(0, msg, msg_len, "%u signatures in one handshake",
			 s->signatures);
		return -EPROTO;
	}
	if (s->cfg->role == TLS_ROLE_SERVER && s->cfg->transcript &&
	    !s->cfg->transcript->complete) {
		log_fail(0, msg, msg_len,
			 "the transcript ends after %u handshake messages, "
			 "before the client's CertificateVerify",
			 s->cfg->transcript->messages);
		return -EPROTO;
	}
	return 0;
}

static void fill_result(struct tls_session *s, struct tls_result *res)
{
	gnutls_session_t g = s->gnutls;
	const char *name;

	memset(res, 0, sizeof(*res));
	name = gnutls_protocol_get_name(gnutls_protocol_get_version(g));
	snprintf(res->version, sizeof(res->version), "%s", name ? name : "?");
	name = gnutls_cipher_get_name(gnutls_cipher_get(g));
	snprintf(res->cipher, sizeof(res->cipher), "%s", name ? name : "?");
	name = gnutls_group_get_name(gnutls_group_get(g));
	snprintf(res->group, sizeof(res->group), "%s", name ? name : "?");
	name = gnutls_sign_get_name(gnutls_sign_algorithm_get(g));
	snprintf(res->signature, sizeof(res->signature), "%s",
		 name ? name : "?");
	res->peer = s->peer;
	res->signatures = s->signatures;
	res->record_limit =
		gnutls_cipher_get(g) == GNUTLS_CIPHER_CHACHA20_POLY1305
			? 0
			: AES_GCM_RECORD_LIMIT;
}

void tls_result_format(const struct tls_result *res, char *buf, size_t len)
{
	char pin[TLS_PIN_TEXT_SIZE];

	tls_pin_format(&res->peer, pin);
	snprintf(buf, len, "%s %s %s %s peer %s", res->version, res->cipher,
		 res->group, res->signature, pin);
}

/* Tells a TLS peer why, so that its log says more than "closed". Best
 * effort on the non-blocking socket; nothing for a peer that does not
 * speak TLS or a transport that failed. */
static void send_alert(struct tls_session *s, int gr)
{
	if (gr == GNUTLS_E_PUSH_ERROR || gr == GNUTLS_E_PULL_ERROR ||
	    gr == GNUTLS_E_PREMATURE_TERMINATION ||
	    gr == GNUTLS_E_FATAL_ALERT_RECEIVED ||
	    (s->first_len && s->first_bytes[0] != TLS_CONTENT_HANDSHAKE))
		return;
	if (s->peer_refused || s->peer_without_key)
		gnutls_alert_send(s->gnutls, GNUTLS_AL_FATAL,
				  GNUTLS_A_BAD_CERTIFICATE);
	else
		gnutls_alert_send_appropriate(s->gnutls, gr);
}

static int run_handshake(struct tls_session *s, int fd, int timeout_ms,
			 char *msg, size_t msg_len)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		errno = 0;
		int gr = gnutls_handshake(s->gnutls);
		int saved = errno;
		if (gr == 0)
			return 0;
		if (gr != GNUTLS_E_AGAIN && gr != GNUTLS_E_INTERRUPTED) {
			send_alert(s, gr);
			return handshake_error(s, gr, saved, msg, msg_len);
		}
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			log_fail(0, msg, msg_len,
				 "TLS handshake timed out after %d ms",
				 timeout_ms);
			return -ETIMEDOUT;
		}
		struct pollfd p = {
			.fd = fd,
			.events = gnutls_record_get_direction(s->gnutls)
					  ? POLLOUT
					  : POLLIN,
		};
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
			int r = -errno;
			log_fail(0, msg, msg_len, "poll: %s", strerror(-r));
			return r;
		}
	}
}

int tls_handshake(int fd, const struct tls_config *cfg,
		  struct tls_session **out, struct tls_result *result,
		  char *msg, size_t msg_len)
{
	int r;

	*out = NULL;
	if (!cfg || !cfg->me || !cfg->me->sign || !cfg->allowed ||
	    cfg->allowed->count > TLS_PINS_MAX || cfg->timeout_ms <= 0 ||
	    cfg->me->spki_len == 0 || cfg->me->spki_len > TLS_SPKI_MAX ||
	    (cfg->suites & ~(unsigned)TLS_SUITES_ALL)) {
		log_fail(0, msg, msg_len, "tls_handshake: bad arguments");
		return -EINVAL;
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		r = -errno;
		log_fail(0, msg, msg_len, "fcntl: %s", strerror(-r));
		return r;
	}
	struct tls_session *s = calloc(1, sizeof(*s));
	if (!s) {
		r = -ENOMEM;
		log_fail(0, msg, msg_len, "out of memory");
		goto out;
	}
	s->cfg = cfg;
	s->fd = fd;
	if (cfg->transcript) {
		cfg->transcript->len = 0;
		cfg->transcript->messages = 0;
		cfg->transcript->complete = false;
		cfg->transcript->overflow = false;
		cfg->transcript->retry = false;
	}
	s->use_read_write = cfg->use_read_write;
	r = session_setup(s, msg, msg_len);
	if (r == -ENOMEM)
		log_fail(0, msg, msg_len, "out of memory");
	if (r == 0) {
		s->in_handshake = true;
		r = run_handshake(s, fd, cfg->timeout_ms, msg, msg_len);
		s->in_handshake = false;
	}
	if (r == 0)
		r = check_outcome(s, msg, msg_len);
	if (r == 0 && result)
		fill_result(s, result);
	/* The config is the caller's and may go away: callbacks are done. */
	s->cfg = NULL;
out:
	if (fcntl(fd, F_SETFL, flags) < 0 && r == 0) {
		r = -errno;
		log_fail(0, msg, msg_len, "fcntl: %s", strerror(-r));
	}
	if (r < 0)
		tls_session_free(s);
	else
		*out = s;
	return r;
}

int tls_session_drained(struct tls_session *s, char *msg, size_t msg_len)
{
	uint8_t byte;

	if (gnutls_record_check_pending(s->gnutls) ||
	    gnutls_record_check_corked(s->gnutls)) {
		log_fail(0, msg, msg_len,
			 "records are buffered in the TLS "
			 "library after the handshake");
		return -EPROTO;
	}
	/* Let GnuTLS look for a record: with the pull function closed it
	 * can only find one it already holds. Asking for a fresh record
	 * header first means it held nothing. */
	s->drained_probe = true;
	s->probe_first_request = 0;
	ssize_t n = gnutls_record_recv(s->gnutls, &byte, 1);
	bool clean = n == GNUTLS_E_AGAIN &&
		     s->probe_first_request == TLS_RECORD_HEADER_LEN;
	s->drained_probe = false;
	if (!clean) {
		log_fail(0, msg, msg_len,
			 "the peer sent %s before the kernel took over",
			 n > 0 ? "application data" : "a record");
		return -EPROTO;
	}
	return 0;
}
