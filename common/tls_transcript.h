/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plaintext transcript of a TLS 1.3 server handshake with client
 * authentication, from the ClientHello through the client's
 * CertificateVerify, and its check (docs/tls.md, "What a compromised
 * worker gets").
 *
 * The worker records it as its handshake runs (tls_config.transcript)
 * and sends it to the broker with the peer's key; the broker's verifier
 * process (daemons/brokerd/verify.c) checks it with tls_transcript_verify
 * against what only the broker knows of the session: the server random
 * it chose, the CertificateVerify content it had signed and the
 * signature it got back. A key passes only if its holder signed this
 * session's handshake: the worker's word no longer makes a pin.
 *
 * The form is the handshake messages as the transcript hash takes them
 * (RFC 8446 4.4.1): each with its 4-byte header (type, 24-bit length),
 * back to back, exactly these nine in this order:
 *
 *   ClientHello ServerHello EncryptedExtensions CertificateRequest
 *   Certificate CertificateVerify Finished          (the server's)
 *   Certificate CertificateVerify                   (the client's)
 *
 * A HelloRetryRequest is refused, not handled: our clients (usbip-attach,
 * GnuTLS with the same groups) send an X25519 key share in the first
 * ClientHello, so no session of ours needs one, and its synthetic
 * message_hash would be one more form to check.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_pin.h"

/* Ours take about 1.2 KiB (raw public keys, no certificate chains). */
#define TLS_TRANSCRIPT_MAX 16384
#define TLS_SERVER_RANDOM_LEN 32

struct tls_transcript {
	size_t len;
	uint8_t data[TLS_TRANSCRIPT_MAX];
	/* The recorder's state (tls_handshake.c). */
	unsigned messages;
	bool complete; /* the client's CertificateVerify is in */
	bool overflow; /* more than TLS_TRANSCRIPT_MAX: refused */
	bool retry;    /* a HelloRetryRequest: refused */
};

/* What the broker knows of the session, and the worker's transcript. */
struct tls_transcript_check {
	const uint8_t *transcript;
	size_t transcript_len;
	/* The ServerHello's random the broker gave the worker. */
	const uint8_t *server_random; /* TLS_SERVER_RANDOM_LEN bytes */
	/* The broker's own public key (DER SubjectPublicKeyInfo). */
	const uint8_t *server_spki;
	size_t server_spki_len;
	/* The server CertificateVerify content the broker had signed in
	 * this session, and the signature it got. */
	const uint8_t *signed_content;
	size_t signed_content_len;
	const uint8_t *signature;
	size_t signature_len;
};

/*
 * 0 with the pin of the client's key when the transcript is a whole TLS
 * 1.3 handshake of this session whose client signed it; else a negative
 * errno and one line in msg (no byte of the transcript in it):
 * -EMSGSIZE (over TLS_TRANSCRIPT_MAX), -EBADMSG (framing: a length, the
 * order of the messages, something trailing), -EPROTO (a
 * HelloRetryRequest, a suite or signature scheme we never negotiate),
 * -ESTALE (not this session's: another server random, another hash than
 * the one the broker signed, another signature or key of the server),
 * -EKEYREJECTED (the client's signature does not verify with the key in
 * its Certificate), -EINVAL (the broker's own inputs are not what it
 * signs).
 */
int tls_transcript_verify(const struct tls_transcript_check *check,
			  struct tls_pin *client, char *msg, size_t msg_len);
