/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Identity keys: Ed25519 key pairs the suite generates, stores and signs
 * with. The private key lives in the process that owns it (the broker
 * on the exporting side, usbip-attach on the importing side); others
 * get only its public half and ask the owner for the one signature a
 * TLS 1.3 handshake needs (tls_handshake.h).
 *
 * Files: DIR/identity.key, the private key as PKCS#8 PEM, mode 0600;
 * DIR/identity.pub, the SubjectPublicKeyInfo as PEM, mode 0644. Both are
 * created with O_EXCL: an existing key is never overwritten.
 *
 * Only Ed25519: with it the signer is handed the whole TLS 1.3
 * CertificateVerify content and can check that it is one (the 64 spaces,
 * the context string, a transcript hash) before signing; with ECDSA the
 * signer would see a bare hash and could be made to sign anything.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tls_pin.h"

#define TLS_KEY_FILE "identity.key"
#define TLS_PUB_FILE "identity.pub"
#define TLS_KEY_DEFAULT_DIR "/etc/usbip-broker"
/* Ed25519: a 44-byte SPKI, a 64-byte signature. */
#define TLS_SPKI_MAX 128
#define TLS_SIGNATURE_MAX 64
/* Bigger than any key file this suite writes; a bound on what is read. */
#define TLS_KEY_FILE_MAX 4096

struct tls_key;

enum tls_role {
	TLS_ROLE_CLIENT,
	TLS_ROLE_SERVER,
};

/* A fresh Ed25519 key pair. 0 or a negative errno. */
int tls_key_generate(struct tls_key **out);

/* Writes DIR/identity.key (0600) and DIR/identity.pub (0644), neither
 * existing before; on failure neither is left behind. 0 or a negative
 * errno (-EEXIST: a key is already there), msg says which file. */
int tls_key_write(const struct tls_key *key, const char *dir, char *msg,
		  size_t msg_len);

/* Reads a private key file: a regular file, not a symlink, owned by this
 * user or root, readable by nobody else (as ssh insists). */
int tls_key_load(const char *path, struct tls_key **out, char *msg,
		 size_t msg_len);

/* The pin of a private key file's or a public key file's key. */
int tls_pin_of_file(const char *path, struct tls_pin *out, char *msg,
		    size_t msg_len);

/* The public half as DER SubjectPublicKeyInfo, and its pin. */
int tls_key_spki(const struct tls_key *key, uint8_t *spki, size_t cap,
		 size_t *len);
int tls_key_pin(const struct tls_key *key, struct tls_pin *out);

/*
 * The signing oracle: signs tbs only when it is the content of a TLS 1.3
 * CertificateVerify for the given role (RFC 8446 section 4.4.3: 64 bytes
 * 0x20, "TLS 1.3, server CertificateVerify" or the client's, a zero
 * byte, a SHA-256 or SHA-384 transcript hash). This is the check the
 * broker applies to a worker's request. 0, -EINVAL (not such content),
 * -ENOSPC (cap too small) or -EIO.
 */
int tls_key_sign(const struct tls_key *key, enum tls_role role,
		 const uint8_t *tbs, size_t tbs_len, uint8_t *sig, size_t cap,
		 size_t *sig_len);

/* The same check alone, for a broker that forwards the request. */
int tls_certificate_verify_check(enum tls_role role, const uint8_t *tbs,
				 size_t tbs_len);

void tls_key_free(struct tls_key *key);
