/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Peer pins: a peer is known by the SHA-256 of its public key's DER
 * SubjectPublicKeyInfo, the way ssh's known_hosts and WireGuard's peer
 * lists know theirs; no certificate authority is involved.
 *
 * Text form: "SHA256:" followed by the 32 bytes in standard base64
 * (RFC 4648 section 4 alphabet) without padding: exactly 43 characters,
 * 50 in all, e.g.
 *
 *   SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU
 *
 * It reads like an OpenSSH fingerprint but hashes a different encoding
 * (SPKI DER, not ssh's key blob), so the two never match by accident for
 * the same key. Parsing is strict: the prefix exactly, the alphabet
 * exactly, the canonical last character (its two unused bits zero), no
 * padding, no whitespace, nothing after.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_PIN_PREFIX "SHA256:"
#define TLS_PIN_BYTES 32
/* The text form's length without and with its terminating NUL. */
#define TLS_PIN_TEXT_LEN (sizeof(TLS_PIN_PREFIX) - 1 + 43)
#define TLS_PIN_TEXT_SIZE (TLS_PIN_TEXT_LEN + 1)
/* Peers one endpoint may accept: a bound on what a pin list costs. */
#define TLS_PINS_MAX 64

struct tls_pin {
	uint8_t sha256[TLS_PIN_BYTES];
};

struct tls_pins {
	size_t count; /* <= TLS_PINS_MAX */
	struct tls_pin pin[TLS_PINS_MAX];
};

/* The pin of a DER SubjectPublicKeyInfo. 0 or a negative errno. In the
 * TLS library (tls_key.c): the rest of this file needs no GnuTLS. */
int tls_pin_of_spki(const uint8_t *spki, size_t len, struct tls_pin *out);

/* Writes the text form (TLS_PIN_TEXT_SIZE bytes with the NUL). */
void tls_pin_format(const struct tls_pin *pin, char out[TLS_PIN_TEXT_SIZE]);

/* Parses the text form, all of s and nothing else: 0 or -EINVAL. */
int tls_pin_parse(const char *s, struct tls_pin *out);

bool tls_pin_equal(const struct tls_pin *a, const struct tls_pin *b);

/* Adds a pin in text form: 0, -EINVAL (not a pin), -ENOSPC (full);
 * a pin already present is not added twice. */
int tls_pins_add(struct tls_pins *pins, const char *text);
bool tls_pins_contain(const struct tls_pins *pins, const struct tls_pin *pin);
