/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The TLS 1.3 handshake both ends of a USB/IP session will run before
 * handing the socket to the kernel's record layer (tls_ktls.h), so that
 * vhci_hcd and the worker keep reading and writing plain USB/IP.
 *
 * What is negotiated, and nothing else:
 *   - TLS 1.3 only; no session tickets (GNUTLS_NO_TICKETS), no 0-RTT, no
 *     post-handshake authentication, no resumption: after the handshake
 *     nothing but application data is on the wire, which the kernel's
 *     record layer needs (it cannot take a ticket or a KeyUpdate);
 *   - the AEAD suites kTLS implements: TLS_AES_128_GCM_SHA256 (first),
 *     TLS_CHACHA20_POLY1305_SHA256, TLS_AES_256_GCM_SHA384;
 *   - key exchange X25519 or secp256r1;
 *   - both ends authenticated with raw public keys (RFC 7250), Ed25519
 *     only, each verified by its pin (tls_pin.h) and nothing else.
 *
 * The private key need not be in this process: the identity carries the
 * public key and a signing callback, called exactly once per handshake
 * with the CertificateVerify content (the worker will forward it to the
 * broker; tls_key_sign() is what the broker runs). A second request in
 * one handshake is refused.
 *
 * The socket may be blocking or not: the handshake switches it to
 * non-blocking, keeps one deadline for the whole exchange and puts the
 * flags back. It reads exactly the handshake's records, so whatever the
 * peer sends after its Finished stays in the socket for the kernel.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tls_key.h"
#include "tls_pin.h"
#include "tls_transcript.h"

/* The cipher suites, as a mask for struct tls_config.suites. */
enum tls_suite {
	TLS_SUITE_AES_128_GCM = 1 << 0,
	TLS_SUITE_CHACHA20_POLY1305 = 1 << 1,
	TLS_SUITE_AES_256_GCM = 1 << 2,
	TLS_SUITES_ALL = (1 << 3) - 1,
};

/* Signs the TLS 1.3 CertificateVerify content tbs for role; returns 0
 * with the signature in sig (at most cap bytes) or a negative errno. */
typedef int (*tls_sign_fn)(void *ctx, enum tls_role role, const uint8_t *tbs,
			   size_t tbs_len, uint8_t *sig, size_t cap,
			   size_t *sig_len);

struct tls_identity {
	uint8_t spki[TLS_SPKI_MAX]; /* DER SubjectPublicKeyInfo, Ed25519 */
	size_t spki_len;
	tls_sign_fn sign;
	void *sign_ctx;
};

struct tls_config {
	enum tls_role role;
	const struct tls_identity *me;
	const struct tls_pins *allowed; /* the peer's key must be one */
	int timeout_ms;			/* for the whole handshake, > 0 */
	unsigned suites;		/* enum tls_suite mask; 0: all */
	/* read()/write() on the socket instead of recv()/send() with
	 * MSG_NOSIGNAL: for a caller that ignores SIGPIPE and whose seccomp
	 * allowlist has read and write only (the worker's). */
	bool use_read_write;
	/* Server only, both optional: the ServerHello's random (the
	 * broker's, TLS_SERVER_RANDOM_LEN bytes), and where to record the
	 * handshake's messages for the broker to check (tls_transcript.h).
	 * With a transcript, a handshake that needs a HelloRetryRequest or
	 * more than TLS_TRANSCRIPT_MAX bytes fails (-EPROTO, -EMSGSIZE). */
	const uint8_t *server_random;
	struct tls_transcript *transcript;
};

/* What was negotiated, for the log line and for the caller's limits. */
struct tls_result {
	char version[16];   /* "TLS1.3" */
	char cipher[32];    /* "AES-128-GCM" */
	char group[32];	    /* "X25519" */
	char signature[32]; /* "EdDSA-Ed25519" */
	struct tls_pin peer;
	unsigned signatures; /* made by this end: 1 */
	/* Records one direction may carry before the AEAD's usage limit
	 * (RFC 8446 5.5; kTLS on 6.1 cannot update keys, so the session
	 * has to end before it); 0: no limit that matters. */
	uint64_t record_limit;
};

/* --tls-record-limit (usbip-brokerd, passed to its TLS workers): records
 * per direction a session may carry, which can only lower the AEAD's
 * record_limit, never raise it. For tests of the session end at the
 * limit, and as hardening (shorter-lived keys). Below the minimum a
 * session would not get past a device's enumeration; the maximum is
 * only a bound on nonsense (ChaCha20-Poly1305 has no limit that matters,
 * AES-GCM's is 2^24.5). */
#define TLS_RECORD_LIMIT_MIN 256ULL
#define TLS_RECORD_LIMIT_MAX (1ULL << 48)

struct tls_session;

/*
 * Runs the handshake on a connected stream socket. 0 with *out set (the
 * session holds the traffic keys for tls_ktls_install), or a negative
 * errno and one line in msg: -ETIMEDOUT (deadline), -EACCES (the peer's
 * key is not pinned, or it has none), -EPROTO (not TLS 1.3 with what
 * we accept, plain USB/IP, a refusal by the peer), -EMSGSIZE (more than
 * 32 KiB of handshake from the peer), -ECONNRESET (the peer went away),
 * the signer's own error, or the socket's.
 */
int tls_handshake(int fd, const struct tls_config *cfg,
		  struct tls_session **out, struct tls_result *result,
		  char *msg, size_t msg_len);

/* One line describing result, for the log: "TLS1.3 AES-128-GCM X25519
 * EdDSA-Ed25519 peer SHA256:...". */
void tls_result_format(const struct tls_result *result, char *buf, size_t len);

/*
 * 0 when the library holds no record the peer sent after the handshake
 * (which the kernel would then never see), else -EPROTO with msg. It
 * reads nothing from the socket. tls_ktls_install() calls it.
 */
int tls_session_drained(struct tls_session *session, char *msg, size_t msg_len);

/* Frees the session without sending anything (no close_notify: once the
 * kernel has the keys, a record from here would break its sequence). */
void tls_session_free(struct tls_session *session);

/* The GnuTLS session, for tls_ktls.c and for tests. */
struct gnutls_session_int;
struct gnutls_session_int *tls_session_gnutls(struct tls_session *session);
