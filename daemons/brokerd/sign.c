// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Signing for the workers' TLS handshakes, with GnuTLS (common/tls_key.c):
 * the suite's TLS library already, so the broker links no second one and
 * the check of what it signs (tls_certificate_verify_check) is the one
 * the unit tests cover.
 *
 * The private key lives in a signer process forked before the key is
 * read, never in the broker: every dialler the broker forks later (the
 * process that parses hostile DNS answers) gets a copy of the broker's
 * memory, and so no copy of the key. The signer talks only to the broker,
 * over a SOCK_SEQPACKET pair, one fixed-size message each way.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"
#include "log.h"
#include "macros.h"
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

/* The signer's one message at start: the public half, or why not. */
struct signer_hello {
	int32_t status; /* 0, or the negative errno of the load */
	uint32_t spki_len;
	uint8_t spki[TLS_SPKI_MAX];
	struct tls_pin pin;
	char msg[256];
};

/* The signer is trusted code that never talks to a peer: a synchronous
 * round trip from the loop is bounded by this, not by any peer. */
#define SIGNER_TIMEOUT_MS 2000

static struct broker_helper signer = BROKER_HELPER_INIT("signer");
static bool ready;
static struct tls_pin pin;
static char spki_hex[2 * TLS_SPKI_MAX + 1];
static uint8_t public_spki[TLS_SPKI_MAX];
static size_t public_spki_len;

#ifdef HAVE_GNUTLS
static void signer_serve(int fd, struct tls_key *key)
{
	struct ipc_sign_request req;
	struct ipc_sign_answer a;
	ssize_t n;

	while ((n = recv(fd, &req, sizeof(req), 0)) != 0) {
		size_t len = 0;
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		memset(&a, 0, sizeof(a));
		/* The broker checked it; checked again so that a broker bug
		 * cannot make the key sign anything else. */
		if ((size_t)n != sizeof(req) || req.length > sizeof(req.tbs) ||
		    tls_certificate_verify_check(TLS_ROLE_SERVER, req.tbs,
						 req.length) < 0)
			a.status = -EINVAL;
		else if ((r = tls_key_sign(key, TLS_ROLE_SERVER, req.tbs,
					   req.length, a.signature,
					   sizeof(a.signature), &len)) < 0)
			a.status = r;
		else
			a.length = (uint32_t)len;
		if (send(fd, &a, sizeof(a), MSG_NOSIGNAL) != sizeof(a))
			return;
	}
}
#endif


/* The child (helper.h: after the common start), on fd 3. */
static void signer_main(int fd, void *arg)
{
	const char *key_path = arg;
	struct signer_hello h;
	struct tls_key *key = NULL;
	size_t spki_len = 0;
	int r;

	memset(&h, 0, sizeof(h));
	r = tls_key_load(key_path, &key, h.msg, sizeof(h.msg));
#ifdef HAVE_GNUTLS
	if (r == 0)
		r = tls_key_spki(key, h.spki, sizeof(h.spki), &spki_len);
	if (r == 0)
		r = tls_key_pin(key, &h.pin);
#ifdef HAVE_LIBSECCOMP
	if (r == 0 && (r = broker_helper_confine()) < 0)
		log_fail(r, h.msg, sizeof(h.msg), "signer: seccomp: %s",
			 strerror(-r));
#endif
	if (r < 0 && !h.msg[0])
		snprintf(h.msg, sizeof(h.msg), "%s: %s", key_path,
			 strerror(-r));
#endif
	h.status = r;
	h.spki_len = (uint32_t)spki_len;
	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h) || r < 0)
		_exit(1);
#ifdef HAVE_GNUTLS
	signer_serve(fd, key);
	tls_key_free(key);
#endif
	_exit(0);
}

int sign_init(const char *key_path, char *msg, size_t msg_len)
{
	struct signer_hello h;
	int r;

	msg[0] = '\0';
	r = broker_helper_start(&signer, signer_main, (void *)key_path, msg,
				msg_len);
	if (r < 0)
		return r;
	/* The load reads one small file: generous, but bounded. */
	r = broker_helper_recv(&signer, &h, sizeof(h), 5 * SIGNER_TIMEOUT_MS);
	if (r < 0) {
		sign_free();
		return log_fail(r, msg, msg_len, "%s: signer: %s", key_path,
				strerror(-r));
	}
	if (h.status < 0 || h.spki_len > sizeof(h.spki)) {
		r = h.status < 0 ? h.status : -EPROTO;
		h.msg[sizeof(h.msg) - 1] = '\0';
		snprintf(msg, msg_len, "%s", h.msg);
		sign_free();
		return r;
	}
	pin = h.pin;
	memcpy(public_spki, h.spki, h.spki_len);
	public_spki_len = h.spki_len;
	for (size_t i = 0; i < h.spki_len; i++)
		snprintf(spki_hex + 2 * i, 3, "%02x", h.spki[i]);
	ready = true;
#ifdef HAVE_GNUTLS
	/* Only at start, before the loop runs (modprobe is waited for);
	 * not fatal: the message says TLS sessions fail until it is. */
	(void)tls_module_load_default(msg, msg_len);
#endif
	return 0;
}

bool sign_ready(void)
{
	return ready;
}

const char *sign_spki_hex(void)
{
	return spki_hex;
}

const uint8_t *sign_spki(size_t *len)
{
	*len = public_spki_len;
	return public_spki;
}

const struct tls_pin *sign_pin(void)
{
	return &pin;
}

bool sign_child_reaped(pid_t pid)
{
	return broker_helper_reaped(&signer, pid);
}

/* The signer is gone or broken: every later request fails at once. */
static int signer_lost(int err)
{
	broker_helper_lost(&signer, err);
	return err;
}

int sign_certificate_verify(const struct ipc_sign_request *req,
			    struct ipc_sign_answer *a)
{
	struct ipc_sign_answer answer;
	int r;

	memset(a, 0, sizeof(*a));
	if (!ready)
		return a->status = -ENOKEY;
#ifndef HAVE_GNUTLS
	(void)req;
	(void)answer;
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
	if (signer.fd < 0)
		return a->status = -EPIPE;
	if (send(signer.fd, req, sizeof(*req), MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    sizeof(*req))
		return a->status = signer_lost(-EPIPE);
	r = broker_helper_recv(&signer, &answer, sizeof(answer),
			       SIGNER_TIMEOUT_MS);
	if (r < 0)
		return a->status = signer_lost(r);
	if (answer.status > 0 || answer.length > sizeof(answer.signature))
		return a->status = signer_lost(-EPROTO);
	/* The signer's own refusal is not the worker's lie: not -EINVAL. */
	if (answer.status < 0)
		return a->status = answer.status == -EINVAL ? -EPROTO
							    : answer.status;
	*a = answer;
	return 0;
#endif
}

void sign_free(void)
{
	broker_helper_stop(&signer);
	ready = false;
}
