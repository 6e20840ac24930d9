// SPDX-License-Identifier: GPL-2.0-or-later
/* The check of a worker's handshake transcript (tls_transcript.h). The
 * framing is read here, by lengths only; the hashes, the client's key
 * (DER) and its signature are GnuTLS's. Runs in the broker's verifier
 * process, never in the broker. */
#include <errno.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "log.h"
#include "tls_key.h"
#include "tls_transcript.h"

/* RFC 8446 4: handshake types, and 4.2.3: Ed25519's scheme. */
enum {
	HS_CLIENT_HELLO = 1,
	HS_SERVER_HELLO = 2,
	HS_ENCRYPTED_EXTENSIONS = 8,
	HS_CERTIFICATE = 11,
	HS_CERTIFICATE_REQUEST = 13,
	HS_CERTIFICATE_VERIFY = 15,
	HS_FINISHED = 20,
};
#define SCHEME_ED25519 0x0807
#define HEADER_LEN 4
#define CV_PAD_LEN 64
#define CLIENT_CV_CONTEXT "TLS 1.3, client CertificateVerify"
#define HASH_MAX 48

static const uint8_t expected_order[] = {
	HS_CLIENT_HELLO,
	HS_SERVER_HELLO,
	HS_ENCRYPTED_EXTENSIONS,
	HS_CERTIFICATE_REQUEST,
	HS_CERTIFICATE,
	HS_CERTIFICATE_VERIFY,
	HS_FINISHED,
	HS_CERTIFICATE,
	HS_CERTIFICATE_VERIFY,
};
#define MESSAGES sizeof(expected_order)
enum {
	M_SERVER_HELLO = 1,
	M_CERTIFICATE_REQUEST = 3,
	M_SERVER_CERTIFICATE = 4,
	M_SERVER_CERTIFICATE_VERIFY = 5,
	M_SERVER_FINISHED = 6,
	M_CLIENT_CERTIFICATE = 7,
	M_CLIENT_CERTIFICATE_VERIFY = 8,
};

/* RFC 8446 4.1.3: a ServerHello with this random is a HelloRetryRequest. */
static const uint8_t retry_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

struct message {
	size_t start; /* of the header, in the transcript */
	const uint8_t *body;
	size_t len;
};

/* A bounded reader over one message's body. */
struct reader {
	const uint8_t *p;
	size_t left;
};

static bool take(struct reader *r, size_t n, const uint8_t **out)
{
	if (n > r->left)
		return false;
	if (out)
		*out = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

static bool take_uint(struct reader *r, size_t bytes, size_t *out)
{
	const uint8_t *p;

	if (!take(r, bytes, &p))
		return false;
	*out = 0;
	for (size_t i = 0; i < bytes; i++)
		*out = *out << 8 | p[i];
	return true;
}

/* A vector with a length prefix of prefix bytes. */
static bool take_vector(struct reader *r, size_t prefix, const uint8_t **data,
			size_t *len)
{
	return take_uint(r, prefix, len) && take(r, *len, data);
}

static int split(const uint8_t *t, size_t len, struct message *m, char *msg,
		 size_t msg_len)
{
	size_t pos = 0;

	for (size_t i = 0; i < MESSAGES; i++) {
		if (len - pos < HEADER_LEN)
			return log_fail(-EBADMSG, msg, msg_len,
					"the transcript ends after %zu of %zu "
					"handshake messages",
					i, MESSAGES);
		size_t body = (size_t)t[pos + 1] << 16 |
			      (size_t)t[pos + 2] << 8 | t[pos + 3];
		if (t[pos] != expected_order[i])
			return log_fail(-EBADMSG, msg, msg_len,
					"handshake message %zu is of type %u, "
					"not %u",
					i + 1, t[pos], expected_order[i]);
		if (body > len - pos - HEADER_LEN)
			return log_fail(-EBADMSG, msg, msg_len,
					"handshake message %zu says %zu bytes, "
					"%zu are left",
					i + 1, body, len - pos - HEADER_LEN);
		m[i] = (struct message){.start = pos,
					.body = t + pos + HEADER_LEN,
					.len = body};
		pos += HEADER_LEN + body;
	}
	if (pos != len)
		return log_fail(-EBADMSG, msg, msg_len,
				"%zu bytes after the client's "
				"CertificateVerify",
				len - pos);
	return 0;
}

/* The ServerHello's random and suite: the hash the transcript uses. */
static int server_hello(const struct message *m,
			const struct tls_transcript_check *c,
			gnutls_digest_algorithm_t *dig, size_t *hash_len,
			char *msg, size_t msg_len)
{
	struct reader r = {m->body, m->len};
	const uint8_t *random, *sid, *ext;
	size_t version, sid_len, suite, compression, ext_len;

	if (!take_uint(&r, 2, &version) || !take(&r, 32, &random) ||
	    !take_vector(&r, 1, &sid, &sid_len) || sid_len > 32 ||
	    !take_uint(&r, 2, &suite) || !take_uint(&r, 1, &compression) ||
	    !take_vector(&r, 2, &ext, &ext_len) || r.left)
		return log_fail(-EBADMSG, msg, msg_len,
				"the ServerHello's framing is wrong");
	if (!memcmp(random, retry_random, sizeof(retry_random)))
		return log_fail(-EPROTO, msg, msg_len,
				"a HelloRetryRequest: not supported");
	if (memcmp(random, c->server_random, TLS_SERVER_RANDOM_LEN))
		return log_fail(-ESTALE, msg, msg_len,
				"the ServerHello's random is not this "
				"session's");
	switch (suite) {
	case 0x1301: /* TLS_AES_128_GCM_SHA256 */
	case 0x1303: /* TLS_CHACHA20_POLY1305_SHA256 */
		*dig = GNUTLS_DIG_SHA256;
		*hash_len = 32;
		return 0;
	case 0x1302: /* TLS_AES_256_GCM_SHA384 */
		*dig = GNUTLS_DIG_SHA384;
		*hash_len = 48;
		return 0;
	}
	return log_fail(-EPROTO, msg, msg_len, "cipher suite 0x%04zx", suite);
}

/* A Certificate with its context and exactly one entry: the entry's
 * data, which for a raw public key (RFC 7250) is the SPKI. */
static int one_certificate(const struct message *m, const uint8_t *want_ctx,
			   size_t want_ctx_len, const uint8_t **data,
			   size_t *len, const char *whose, char *msg,
			   size_t msg_len)
{
	struct reader r = {m->body, m->len};
	const uint8_t *ctx, *list, *ext;
	size_t ctx_len, list_len, ext_len;

	if (!take_vector(&r, 1, &ctx, &ctx_len) ||
	    !take_vector(&r, 3, &list, &list_len) || r.left)
		return log_fail(-EBADMSG, msg, msg_len,
				"the %s Certificate's framing is wrong", whose);
	if (ctx_len != want_ctx_len ||
	    (ctx_len && memcmp(ctx, want_ctx, ctx_len)))
		return log_fail(-EBADMSG, msg, msg_len,
				"the %s Certificate's context is not the "
				"request's",
				whose);
	r = (struct reader){list, list_len};
	if (!take_vector(&r, 3, data, len) || *len == 0 ||
	    !take_vector(&r, 2, &ext, &ext_len) || r.left)
		return log_fail(-EBADMSG, msg, msg_len,
				"the %s Certificate holds not exactly one "
				"key",
				whose);
	return 0;
}

static int certificate_verify(const struct message *m, const uint8_t **sig,
			      size_t *sig_len, const char *whose, char *msg,
			      size_t msg_len)
{
	struct reader r = {m->body, m->len};
	size_t scheme;

	if (!take_uint(&r, 2, &scheme) || !take_vector(&r, 2, sig, sig_len) ||
	    r.left)
		return log_fail(-EBADMSG, msg, msg_len,
				"the %s CertificateVerify's framing is wrong",
				whose);
	if (scheme != SCHEME_ED25519)
		return log_fail(-EPROTO, msg, msg_len,
				"the %s CertificateVerify's scheme is 0x%04zx, "
				"not Ed25519",
				whose, scheme);
	return 0;
}

/* The client's signature over the transcript through its Certificate. */
static int client_signature(const uint8_t *spki, size_t spki_len,
			    const uint8_t *hash, size_t hash_len,
			    const uint8_t *sig, size_t sig_len, char *msg,
			    size_t msg_len)
{
	uint8_t content[CV_PAD_LEN + sizeof(CLIENT_CV_CONTEXT) + HASH_MAX];
	size_t n = 0;
	gnutls_pubkey_t key;
	gnutls_datum_t der = {(unsigned char *)spki, (unsigned)spki_len};
	gnutls_datum_t data = {content, 0};
	gnutls_datum_t signature = {(unsigned char *)sig, (unsigned)sig_len};
	int r;

	memset(content, 0x20, CV_PAD_LEN);
	n = CV_PAD_LEN;
	memcpy(content + n, CLIENT_CV_CONTEXT, sizeof(CLIENT_CV_CONTEXT));
	n += sizeof(CLIENT_CV_CONTEXT); /* with its zero byte */
	memcpy(content + n, hash, hash_len);
	data.size = (unsigned)(n + hash_len);

	if (gnutls_pubkey_init(&key) < 0)
		return log_fail(-ENOMEM, msg, msg_len, "out of memory");
	if (gnutls_pubkey_import(key, &der, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_pubkey_get_pk_algorithm(key, NULL) !=
		    GNUTLS_PK_EDDSA_ED25519) {
		gnutls_pubkey_deinit(key);
		return log_fail(-EPROTO, msg, msg_len,
				"the client's Certificate holds no Ed25519 "
				"public key");
	}
	r = gnutls_pubkey_verify_data2(key, GNUTLS_SIGN_EDDSA_ED25519, 0, &data,
				       &signature);
	gnutls_pubkey_deinit(key);
	if (r < 0)
		return log_fail(-EKEYREJECTED, msg, msg_len,
				"the client's CertificateVerify does not "
				"verify with the key in its Certificate");
	return 0;
}

int tls_transcript_verify(const struct tls_transcript_check *c,
			  struct tls_pin *client, char *msg, size_t msg_len)
{
	struct message m[MESSAGES];
	gnutls_digest_algorithm_t dig = GNUTLS_DIG_UNKNOWN;
	uint8_t hash[HASH_MAX];
	size_t hash_len = 0, len, ctx_len, sig_len;
	const uint8_t *data, *ctx, *sig, *signed_hash;
	int r;

	msg[0] = '\0';
	if (!c->server_random || !c->server_spki || !c->signature ||
	    tls_certificate_verify_check(TLS_ROLE_SERVER, c->signed_content,
					 c->signed_content_len) < 0)
		return log_fail(-EINVAL, msg, msg_len,
				"no server CertificateVerify was signed in "
				"this session");
	if (c->transcript_len > TLS_TRANSCRIPT_MAX)
		return log_fail(-EMSGSIZE, msg, msg_len,
				"a transcript of %zu bytes (at most %d)",
				c->transcript_len, TLS_TRANSCRIPT_MAX);
	r = split(c->transcript, c->transcript_len, m, msg, msg_len);
	if (r == 0)
		r = server_hello(&m[M_SERVER_HELLO], c, &dig, &hash_len, msg,
				 msg_len);
	if (r < 0)
		return r;

	/* The server's part is what the broker signed in this session:
	 * the hash through the server's Certificate is the one in the
	 * content it signed, and its CertificateVerify carries that
	 * signature under its key. */
	if (c->signed_content_len != CV_PAD_LEN +
					     sizeof("TLS 1.3, server "
						    "CertificateVerify") +
					     hash_len)
		return log_fail(-ESTALE, msg, msg_len,
				"the suite's hash is not the signed one's");
	signed_hash = c->signed_content + c->signed_content_len - hash_len;
	len = m[M_SERVER_CERTIFICATE_VERIFY].start;
	if (gnutls_hash_fast(dig, c->transcript, len, hash) < 0)
		return log_fail(-ENOMEM, msg, msg_len, "hashing failed");
	if (memcmp(hash, signed_hash, hash_len))
		return log_fail(-ESTALE, msg, msg_len,
				"the server's part is not what the broker "
				"signed in this session");
	{
		struct reader cr = {m[M_CERTIFICATE_REQUEST].body,
				    m[M_CERTIFICATE_REQUEST].len};
		const uint8_t *ext;
		size_t ext_len;
		if (!take_vector(&cr, 1, &ctx, &ctx_len) ||
		    !take_vector(&cr, 2, &ext, &ext_len) || cr.left)
			return log_fail(-EBADMSG, msg, msg_len,
					"the CertificateRequest's framing is "
					"wrong");
	}
	r = one_certificate(&m[M_SERVER_CERTIFICATE], NULL, 0, &data, &len,
			    "server's", msg, msg_len);
	if (r < 0)
		return r;
	if (len != c->server_spki_len || memcmp(data, c->server_spki, len))
		return log_fail(-ESTALE, msg, msg_len,
				"the server's Certificate is not the broker's "
				"key");
	r = certificate_verify(&m[M_SERVER_CERTIFICATE_VERIFY], &sig, &sig_len,
			       "server's", msg, msg_len);
	if (r < 0)
		return r;
	if (sig_len != c->signature_len || memcmp(sig, c->signature, sig_len))
		return log_fail(-ESTALE, msg, msg_len,
				"the server's CertificateVerify is not the "
				"broker's signature");
	if (m[M_SERVER_FINISHED].len != hash_len)
		return log_fail(-EBADMSG, msg, msg_len,
				"the server's Finished is %zu bytes",
				m[M_SERVER_FINISHED].len);

	/* The client's: its key, and its signature over everything
	 * before its CertificateVerify. */
	r = one_certificate(&m[M_CLIENT_CERTIFICATE], ctx, ctx_len, &data, &len,
			    "client's", msg, msg_len);
	if (r == 0)
		r = certificate_verify(&m[M_CLIENT_CERTIFICATE_VERIFY], &sig,
				       &sig_len, "client's", msg, msg_len);
	if (r < 0)
		return r;
	if (gnutls_hash_fast(dig, c->transcript,
			     m[M_CLIENT_CERTIFICATE_VERIFY].start, hash) < 0)
		return log_fail(-ENOMEM, msg, msg_len, "hashing failed");
	r = client_signature(data, len, hash, hash_len, sig, sig_len, msg,
			     msg_len);
	if (r < 0)
		return r;
	r = tls_pin_of_spki(data, len, client);
	if (r < 0)
		return log_fail(r, msg, msg_len, "no pin of the client's key");
	return 0;
}
