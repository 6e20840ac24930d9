// SPDX-License-Identifier: GPL-2.0-or-later
/* The broker's verifier on arbitrary transcripts, as a compromised
 * worker would send them. To get past the session checks to the client's
 * part, the broker's side is made to agree with the input wherever the
 * input allows: its ServerHello's random, the SHA-256 or SHA-384 of its
 * first five messages as the signed hash, its server Certificate's first
 * key and its server CertificateVerify's signature. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "tls_key.h"
#include "tls_transcript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Offset and body length of message i by the headers alone, or false. */
static bool message(const uint8_t *t, size_t len, unsigned i, size_t *at,
		    size_t *body)
{
	size_t pos = 0;

	for (unsigned n = 0;; n++) {
		if (len - pos < 4)
			return false;
		size_t b = (size_t)t[pos + 1] << 16 | (size_t)t[pos + 2] << 8 |
			   t[pos + 3];
		if (b > len - pos - 4)
			return false;
		if (n == i) {
			*at = pos;
			*body = b;
			return true;
		}
		pos += 4 + b;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char ctx[] = "TLS 1.3, server CertificateVerify";
	uint8_t random[TLS_SERVER_RANDOM_LEN] = {0};
	uint8_t content[64 + sizeof(ctx) + 48];
	uint8_t spki[TLS_SPKI_MAX] = {0x30};
	uint8_t sig[64] = {0};
	size_t at, body, hash_len = 32, spki_len = 1;
	struct tls_pin pin;
	char msg[256];

	if (size < 1 || size > TLS_TRANSCRIPT_MAX + 16)
		return 0;
	/* byte 0: the hash; the rest is the transcript */
	if (data[0] & 1)
		hash_len = 48;
	data++;
	size--;
	if (message(data, size, 1, &at, &body) && body >= 34)
		memcpy(random, data + at + 6, sizeof(random));
	memset(content, 0x20, 64);
	memcpy(content + 64, ctx, sizeof(ctx));
	memset(content + 64 + sizeof(ctx), 0, hash_len);
	if (message(data, size, 5, &at, &body))
		gnutls_hash_fast(hash_len == 48 ? GNUTLS_DIG_SHA384
						: GNUTLS_DIG_SHA256,
				 data, at, content + 64 + sizeof(ctx));
	/* Certificate: context<1>, list<3>, first entry's data<3> */
	if (message(data, size, 4, &at, &body) && body >= 7) {
		const uint8_t *p = data + at + 4;
		size_t skip = 1 + (size_t)p[0] + 3;
		if (skip + 3 <= body) {
			size_t n = (size_t)p[skip] << 16 |
				   (size_t)p[skip + 1] << 8 | p[skip + 2];
			if (n && n <= sizeof(spki) && skip + 3 + n <= body) {
				memcpy(spki, p + skip + 3, n);
				spki_len = n;
			}
		}
	}
	/* CertificateVerify: scheme<2>, signature<2> */
	if (message(data, size, 5, &at, &body) && body >= 4 + sizeof(sig))
		memcpy(sig, data + at + 8, sizeof(sig));
	struct tls_transcript_check c = {
		.transcript = data,
		.transcript_len = size,
		.server_random = random,
		.server_spki = spki,
		.server_spki_len = spki_len,
		.signed_content = content,
		.signed_content_len = 64 + sizeof(ctx) + hash_len,
		.signature = sig,
		.signature_len = sizeof(sig),
	};
	int r = tls_transcript_verify(&c, &pin, msg, sizeof(msg));
	assert(r == 0 || (r < 0 && msg[0] && !memchr(msg, '\n', strlen(msg))));
	return 0;
}
