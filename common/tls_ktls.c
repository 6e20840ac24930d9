// SPDX-License-Identifier: GPL-2.0-or-later
/* kTLS installation: the record state GnuTLS exports, in the kernel's
 * struct layouts (linux/tls.h). No cryptography here, only key copying. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <linux/tls.h>

#include "tls_ktls.h"
#include "log.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* TLS 1.3's per-record nonce base: 12 bytes, split by the kernel into a
 * 4-byte salt and an 8-byte iv for AES-GCM, whole for ChaCha20. */
#define TLS13_IV_LEN 12

union crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 aes128;
	struct tls12_crypto_info_aes_gcm_256 aes256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

/* Fills ci for one direction (read: 1 receive, 0 send); returns its
 * size, or -EPROTO when GnuTLS's state does not have the expected shape. */
static int crypto_info_for(gnutls_session_t g, unsigned read,
			   union crypto_info *ci)
{
	gnutls_datum_t mac = {0}, iv = {0}, key = {0};
	unsigned char seq[8];

	if (gnutls_record_get_state(g, read, &mac, &iv, &key, seq) < 0 ||
	    iv.size != TLS13_IV_LEN)
		return -EPROTO;
	memset(ci, 0, sizeof(*ci));
	ci->info.version = TLS_1_3_VERSION;
	switch (gnutls_cipher_get(g)) {
	case GNUTLS_CIPHER_AES_128_GCM:
		if (key.size != sizeof(ci->aes128.key))
			return -EPROTO;
		ci->info.cipher_type = TLS_CIPHER_AES_GCM_128;
		memcpy(ci->aes128.salt, iv.data, sizeof(ci->aes128.salt));
		memcpy(ci->aes128.iv, iv.data + sizeof(ci->aes128.salt),
		       sizeof(ci->aes128.iv));
		memcpy(ci->aes128.key, key.data, key.size);
		memcpy(ci->aes128.rec_seq, seq, sizeof(ci->aes128.rec_seq));
		return sizeof(ci->aes128);
	case GNUTLS_CIPHER_AES_256_GCM:
		if (key.size != sizeof(ci->aes256.key))
			return -EPROTO;
		ci->info.cipher_type = TLS_CIPHER_AES_GCM_256;
		memcpy(ci->aes256.salt, iv.data, sizeof(ci->aes256.salt));
		memcpy(ci->aes256.iv, iv.data + sizeof(ci->aes256.salt),
		       sizeof(ci->aes256.iv));
		memcpy(ci->aes256.key, key.data, key.size);
		memcpy(ci->aes256.rec_seq, seq, sizeof(ci->aes256.rec_seq));
		return sizeof(ci->aes256);
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		if (key.size != sizeof(ci->chacha.key))
			return -EPROTO;
		ci->info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		memcpy(ci->chacha.iv, iv.data, sizeof(ci->chacha.iv));
		memcpy(ci->chacha.key, key.data, key.size);
		memcpy(ci->chacha.rec_seq, seq, sizeof(ci->chacha.rec_seq));
		return sizeof(ci->chacha);
	default:
		return -EPROTO;
	}
}

int tls_ktls_install(int fd, struct tls_session *session, char *msg,
		     size_t msg_len)
{
	gnutls_session_t g = tls_session_gnutls(session);
	union crypto_info tx, rx;
	int r = tls_session_drained(session, msg, msg_len);

	if (r < 0)
		return r;
	int tx_len = crypto_info_for(g, 0, &tx);
	int rx_len = crypto_info_for(g, 1, &rx);
	if (tx_len < 0 || rx_len < 0) {
		log_fail(0, msg, msg_len, "kernel TLS: no record state for %s",
			 gnutls_cipher_get_name(gnutls_cipher_get(g)));
		r = -EPROTO;
		goto out;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) < 0) {
		r = -errno;
		if (r == -ENOENT)
			log_fail(0, msg, msg_len,
				 "kernel TLS: the kernel has no \"tls\" upper "
				 "layer protocol: load tls.ko (modprobe tls)");
		else
			log_fail(0, msg, msg_len, "kernel TLS: TCP_ULP tls: %s",
				 strerror(-r));
		goto out;
	}
	if (setsockopt(fd, SOL_TLS, TLS_TX, &tx, (socklen_t)tx_len) < 0) {
		r = -errno;
		log_fail(0, msg, msg_len, "kernel TLS: TLS_TX with %s: %s",
			 gnutls_cipher_get_name(gnutls_cipher_get(g)),
			 strerror(-r));
		goto out;
	}
	if (setsockopt(fd, SOL_TLS, TLS_RX, &rx, (socklen_t)rx_len) < 0) {
		r = -errno;
		log_fail(0, msg, msg_len, "kernel TLS: TLS_RX with %s: %s",
			 gnutls_cipher_get_name(gnutls_cipher_get(g)),
			 strerror(-r));
		goto out;
	}
out:
	gnutls_memset(&tx, 0, sizeof(tx));
	gnutls_memset(&rx, 0, sizeof(rx));
	return r;
}
