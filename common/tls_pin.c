// SPDX-License-Identifier: GPL-2.0-or-later
/* Pins: the "SHA256:base64" text form of a public key's SHA-256. No
 * cryptography here (tls_pin_of_spki, GnuTLS's hash, is in tls_key.c), so
 * that the policy parser can read pins without linking GnuTLS. */
#include <errno.h>
#include <string.h>

#include "tls_pin.h"

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of a base64 character, -1 for anything else. Spelled
 * out rather than strchr(), which would also match the NUL. */
static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void tls_pin_format(const struct tls_pin *pin, char out[TLS_PIN_TEXT_SIZE])
{
	const uint8_t *p = pin->sha256;
	char *o = out + sizeof(TLS_PIN_PREFIX) - 1;
	size_t i;

	memcpy(out, TLS_PIN_PREFIX, sizeof(TLS_PIN_PREFIX) - 1);
	/* 30 bytes in groups of three, then the last two as three chars. */
	for (i = 0; i + 3 <= TLS_PIN_BYTES; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];
		*o++ = base64_alphabet[v >> 18 & 63];
		*o++ = base64_alphabet[v >> 12 & 63];
		*o++ = base64_alphabet[v >> 6 & 63];
		*o++ = base64_alphabet[v & 63];
	}
	uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
	*o++ = base64_alphabet[v >> 18 & 63];
	*o++ = base64_alphabet[v >> 12 & 63];
	*o++ = base64_alphabet[v >> 6 & 63];
	*o = '\0';
}

int tls_pin_parse(const char *s, struct tls_pin *out)
{
	const size_t prefix = sizeof(TLS_PIN_PREFIX) - 1;
	struct tls_pin pin;
	int vals[43];

	if (!s || strncmp(s, TLS_PIN_PREFIX, prefix))
		return -EINVAL;
	s += prefix;
	/* strnlen: a hostile string need not end anywhere near. */
	if (strnlen(s, 44) != 43)
		return -EINVAL;
	for (size_t i = 0; i < 43; i++) {
		vals[i] = base64_value((unsigned char)s[i]);
		if (vals[i] < 0)
			return -EINVAL;
	}
	/* 43 characters carry 258 bits: the last two must be zero, or the
	 * same key would have four spellings. */
	if (vals[42] & 3)
		return -EINVAL;
	size_t o = 0, i;
	for (i = 0; i + 4 <= 40; i += 4) {
		uint32_t v = (uint32_t)vals[i] << 18 |
			     (uint32_t)vals[i + 1] << 12 |
			     (uint32_t)vals[i + 2] << 6 | (uint32_t)vals[i + 3];
		pin.sha256[o++] = (uint8_t)(v >> 16);
		pin.sha256[o++] = (uint8_t)(v >> 8);
		pin.sha256[o++] = (uint8_t)v;
	}
	uint32_t v = (uint32_t)vals[i] << 18 | (uint32_t)vals[i + 1] << 12 |
		     (uint32_t)vals[i + 2] << 6;
	pin.sha256[o++] = (uint8_t)(v >> 16);
	pin.sha256[o] = (uint8_t)(v >> 8);
	*out = pin;
	return 0;
}

/* Pins are public values: no constant-time comparison is needed. */
bool tls_pin_equal(const struct tls_pin *a, const struct tls_pin *b)
{
	return !memcmp(a->sha256, b->sha256, TLS_PIN_BYTES);
}

bool tls_pins_contain(const struct tls_pins *pins, const struct tls_pin *pin)
{
	for (size_t i = 0; i < pins->count && i < TLS_PINS_MAX; i++)
		if (tls_pin_equal(&pins->pin[i], pin))
			return true;
	return false;
}

int tls_pins_add(struct tls_pins *pins, const char *text)
{
	struct tls_pin pin;

	if (tls_pin_parse(text, &pin) < 0)
		return -EINVAL;
	if (tls_pins_contain(pins, &pin))
		return 0;
	if (pins->count >= TLS_PINS_MAX)
		return -ENOSPC;
	pins->pin[pins->count++] = pin;
	return 0;
}
