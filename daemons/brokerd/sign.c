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

/* modprobe, waited for: only at start, before the loop runs. */
static int modprobe_tls(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		/* tls, and the AEADs kTLS instantiates on TLS_TX/TLS_RX
		 * (gcm(aes) needs ctr and ghash): loaded on demand they would
		 * be loaded by a worker's setsockopt, slowly, in the middle of
		 * its session's start (seen under a loaded TCG guest: ENOENT
		 * from TLS_TX). Where one is built in or absent, the others
		 * still load; tls.ko alone is checked. */
		execlp("modprobe", "modprobe", "-q", "-a", "tls", "gcm", "ctr",
		       "ghash", "chacha20poly1305", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static bool tls_module_loaded(void)
{
	return !access("/sys/module/tls", F_OK) ||
	       !access("/proc/net/tls_stat", F_OK);
}

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
	if (!tls_module_loaded()) {
		r = modprobe_tls();
		if (!tls_module_loaded())
			snprintf(msg, msg_len,
				 "kernel TLS: the module tls (tls.ko) is not "
				 "loaded and 'modprobe tls' %s: TLS sessions "
				 "will fail until it is (install it for this "
				 "kernel or build it in, CONFIG_TLS)",
				 r == 127 ? "could not run" : "failed");
	}
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
