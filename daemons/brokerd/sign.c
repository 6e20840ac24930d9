// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Signing for the workers' TLS handshakes, with GnuTLS (common/tls_key.c):
 * the suite's TLS library already, so the broker links no second one and
 * the check of what it signs (tls_certificate_verify_check) is the one
 * the unit tests cover.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sign.h"
#include "tls_key.h"
#ifdef HAVE_GNUTLS
#include "tls_module.h"
#endif

#ifndef HAVE_GNUTLS
/* Built without GnuTLS: no key, and every tls: session is refused. */
int tls_key_load(const char *path, struct tls_key **out, char *msg,
		 size_t msg_len)
{
	(void)out;
	return log_fail(-EOPNOTSUPP, msg, msg_len,
			"%s: built without GnuTLS, no TLS", path);
}
#endif

static struct tls_key *key;
static struct tls_pin pin;
static char spki_hex[2 * TLS_SPKI_MAX + 1];

int sign_init(const char *key_path, char *msg, size_t msg_len)
{
	uint8_t spki[TLS_SPKI_MAX];
	size_t spki_len = 0;
	int r;

	msg[0] = '\0';
	r = tls_key_load(key_path, &key, msg, msg_len);
	if (r < 0)
		return r;
#ifdef HAVE_GNUTLS
	r = tls_key_spki(key, spki, sizeof(spki), &spki_len);
	if (r == 0)
		r = tls_key_pin(key, &pin);
	if (r < 0) {
		sign_free();
		return log_fail(r, msg, msg_len, "%s: %s", key_path,
				strerror(-r));
	}
	for (size_t i = 0; i < spki_len; i++)
		snprintf(spki_hex + 2 * i, 3, "%02x", spki[i]);
#endif
#ifdef HAVE_GNUTLS
	/* Only at start, before the loop runs (modprobe is waited for);
	 * not fatal: the message says TLS sessions fail until it is. */
	(void)tls_module_load_default(msg, msg_len);
#endif
	return 0;
}

bool sign_ready(void)
{
	return key != NULL;
}

const char *sign_spki_hex(void)
{
	return spki_hex;
}

const struct tls_pin *sign_pin(void)
{
	return &pin;
}

int sign_certificate_verify(const struct ipc_sign_request *req,
			    struct ipc_sign_answer *a)
{
	size_t len = 0;
	int r;

	memset(a, 0, sizeof(*a));
	if (!key)
		return a->status = -ENOKEY;
#ifndef HAVE_GNUTLS
	(void)len;
	(void)r;
	return a->status = -EOPNOTSUPP;
#else
	/* A server's, never a client's: the exporting side is always the
	 * TLS server, so a client CertificateVerify from a worker could
	 * only serve to impersonate the broker to another server. */
	r = tls_certificate_verify_check(TLS_ROLE_SERVER, req->tbs,
					 req->length);
	if (r < 0)
		return a->status = -EINVAL;
	r = tls_key_sign(key, TLS_ROLE_SERVER, req->tbs, req->length,
			 a->signature, sizeof(a->signature), &len);
	if (r < 0)
		return a->status = r;
	a->length = (uint32_t)len;
	return 0;
#endif
}

void sign_free(void)
{
#ifdef HAVE_GNUTLS
	tls_key_free(key);
#endif
	key = NULL;
}
