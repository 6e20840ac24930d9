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

#include "tls_pin.h"

struct broker_client;

struct worker_tls {
	const char *spki_hex;  /* --tls-spki: the broker's public key */
	struct tls_pins peers; /* --tls-peer: the keys the policy names */
};

/* Parses --tls-spki's hex into what the handshake shows as our key:
 * 0 or -EINVAL. */
int worker_tls_check_spki(const char *hex);

/*
 * The whole hand-over on the connected socket fd: handshake (server,
 * timeout_ms for all of it), the broker's signature, kTLS TX and RX, the
 * peer's key reported to the broker. 0, or a negative errno after one
 * log line naming peer and the cause; the connection is then useless.
 */
int worker_tls_accept(int fd, struct broker_client *bc,
		      const struct worker_tls *t, const char *peer, int timeout_ms);
