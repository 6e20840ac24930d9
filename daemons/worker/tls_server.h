/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The exporting side's TLS (docs/tls.md): on a session the broker started
 * for a tls: listener or destination, the worker runs the TLS 1.3 server
 * handshake itself, under its sandbox, because parsing the peer's
 * handshake is the riskiest thing a session does and belongs in the most
 * confined process. It holds no private key: the one signature comes from
 * the broker (IPC_SIGN_REQUEST). Then it reports the peer's key to the
 * broker (IPC_TLS_PEER), which judges it against the policy before it
 * grants a device, hands the record layer to the kernel (kTLS) and goes
 * on with plain USB/IP on the same socket.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tls_pin.h"
#include "tls_transcript.h"

struct broker_client;
struct session_guard;

struct worker_tls {
	const char *spki_hex;  /* --tls-spki: the broker's public key */
	struct tls_pins peers; /* --tls-peer: the keys the policy names */
	/* --tls-record-limit: lower than the AEAD's limit; 0: the AEAD's */
	uint64_t record_limit;
	/* --tls-random: the ServerHello's random, the broker's for this
	 * session, which binds the transcript it checks to the session. */
	uint8_t random[TLS_SERVER_RANDOM_LEN];
	bool has_random;
};

/*
 * The record limit of a kTLS session. kTLS on Debian's 6.1 kernel cannot
 * update keys, so a session has to end before its AEAD's usage limit
 * (RFC 8446 5.5: 2^24.5 full-size records per AES-GCM key), and only the
 * worker can end it (vhci_hcd's side is all kernel). The kernel counts
 * every record it seals or opens, and tells us: the worker asks it
 * (getsockopt TLS_TX and TLS_RX) as often as the bytes it moved could
 * have brought either direction to the end, and ends the session (one
 * notice line) when one has come within a margin of the limit. The
 * importer's reconnect machinery (usbip-attach --reconnect, the broker's
 * redial of an export --to) then starts a new session with new keys.
 */
struct worker_tls_records {
	int fd;
	const char *peer;
	/* TLS_CIPHER_*: the size of the kernel's answer */
	uint16_t cipher_type;
	uint64_t limit;	 /* per direction: the AEAD's, or lower */
	uint64_t end_at; /* the session ends once one direction is here */
	uint64_t sent, received; /* at the last look */
	uint64_t looks, look_ns; /* how often the kernel was asked, how long */
	bool lowered;		 /* by --tls-record-limit */
	bool failed;		 /* a look failed: the session was ended */
};

/* The records either direction may carry, from the AEAD's limit
 * (aead_limit, 0: none that matters) and --tls-record-limit (configured,
 * 0: none): the lower of the two, so the option can only lower it. 0: no
 * limit to keep. */
uint64_t worker_tls_record_limit(uint64_t aead_limit, uint64_t configured);

/* Where a session with that limit ends: the limit less a margin of a
 * sixteenth for what is still in flight when the worker notices (replies
 * to URBs already submitted, and what one turn of the loop moved). */
uint64_t worker_tls_end_at(uint64_t limit);

/* The bytes that may cross the socket before the next look, with sent and
 * received records so far: each record carries at least one byte (vhci_hcd
 * and the worker never send an empty one), so no direction can get past
 * end_at before that many have moved. 0: the session ends now. */
uint64_t worker_tls_budget(uint64_t end_at, uint64_t sent, uint64_t received);

/* The record sequence number in a crypto_info as getsockopt(SOL_TLS,
 * TLS_TX or TLS_RX) returns it (len bytes, cipher from its header): 0 and
 * *seq, or -EPROTO for an answer of another shape. */
int worker_tls_rec_seq(const void *info, size_t len, uint64_t *seq);

/* --tls-record-limit's text: 0 and *limit, or -EINVAL outside
 * TLS_RECORD_LIMIT_MIN..TLS_RECORD_LIMIT_MAX or not a plain number. */
int worker_tls_parse_record_limit(const char *text, uint64_t *limit);

/* The guard session_serve() asks (session.h), for records set up by
 * worker_tls_accept(); false when there is no limit to keep. */
bool worker_tls_guard(struct worker_tls_records *records,
		      struct session_guard *guard);

/* One line at the session's end: the records each way, against the limit,
 * and what looking at them cost. */
void worker_tls_records_report(struct worker_tls_records *records);


/* Parses --tls-random's hex into t: 0 or -EINVAL. */
int worker_tls_set_random(struct worker_tls *t, const char *hex);

/* Parses --tls-spki's hex into what the handshake shows as our key:
 * 0 or -EINVAL. */
int worker_tls_check_spki(const char *hex);

/*
 * The whole hand-over on the connected socket fd: handshake (server,
 * timeout_ms for all of it), the broker's signature, kTLS TX and RX, the
 * peer's key and the handshake's transcript reported to the broker, and
 * *records set up for the record limit (worker_tls_guard). 0, or a
 * negative errno after one log line naming peer and the cause; the
 * connection is then useless.
 */
int worker_tls_accept(int fd, struct broker_client *bc,
		      const struct worker_tls *t, const char *peer,
		      int timeout_ms, struct worker_tls_records *records);
