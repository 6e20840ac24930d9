/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The check of a TLS worker's word (docs/tls.md): a worker reports the
 * key its peer showed with the handshake's transcript, and the broker
 * believes the key only if a verifier process finds that the key's
 * holder signed this session's handshake (common/tls_transcript.h).
 *
 * The transcript is peer bytes, and the broker never parses those: the
 * verifier is a child forked at start, like the signer, that holds no
 * key, runs as nobody (root mode), undumpable, with its channel and
 * stdio only and a seccomp allowlist of its own. The broker gives it the
 * transcript and what only the broker knows of the session (the
 * ServerHello random it chose, the content it had signed, the signature
 * it got) and takes back a pin or a refusal. A dead or stalled verifier
 * refuses every TLS session from then on, logged once; the loop waits
 * for it no longer than for the signer. Layer: beside sign.c;
 * sessions.c calls it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#include "ipc.h"
#include "tls_pin.h"

#define VERIFY_RANDOM_LEN 32

/* What the broker itself knows of one TLS session's handshake. */
struct verify_session {
	uint8_t random[VERIFY_RANDOM_LEN]; /* the ServerHello's, ours */
	uint32_t signed_len;		   /* 0: nothing signed yet */
	uint8_t signed_content[IPC_SIGN_TBS_MAX];
	uint32_t signature_len;
	uint8_t signature[IPC_SIGNATURE_MAX];
};

/* Forks the verifier (after sign_init: it needs the broker's public
 * key). 0, or a negative errno with msg. */
int verify_init(char *msg, size_t msg_len);
bool verify_ready(void);

/* A fresh random for a session's ServerHello, and its hex for the
 * worker's --tls-random (hex holds 2 * VERIFY_RANDOM_LEN + 1). */
int verify_new_random(uint8_t random[VERIFY_RANDOM_LEN], char *hex,
		      size_t hex_len);

enum verify_verdict {
	VERIFY_OK,	    /* *client is the key that signed */
	VERIFY_REFUSED,	    /* the transcript fails: the worker lied */
	VERIFY_UNAVAILABLE, /* no verifier (logged once): refuse, no blame */
};

/* Checks the worker's report against what the broker knows of its
 * session; why says why not (text of the verifier's: log it escaped). */
enum verify_verdict verify_transcript(const struct verify_session *session,
				      const struct ipc_tls_peer *report,
				      struct tls_pin *client, char *why,
				      size_t why_len);

/* The same for the verifier (sign_child_reaped). */
bool verify_child_reaped(pid_t pid);

void verify_free(void);
