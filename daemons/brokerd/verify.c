// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The verifier process (verify.h): checks a TLS worker's handshake
 * transcript so that the broker never parses it. The broker's side is a
 * synchronous round trip bounded as the signer's is.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"
#include "log.h"
#include "macros.h"
#include "sign.h"
#include "state.h"
#include "tls_key.h"
#include "verify.h"
#ifdef HAVE_GNUTLS
#include "tls_transcript.h"
_Static_assert(TLS_TRANSCRIPT_MAX == IPC_TLS_TRANSCRIPT_MAX &&
		       TLS_SERVER_RANDOM_LEN == VERIFY_RANDOM_LEN,
	       "the IPC carries what the check takes");
#endif

/* Broker -> verifier: one transcript and what the broker knows. */
struct verify_request {
	struct verify_session session;
	uint32_t spki_len;
	uint8_t spki[TLS_SPKI_MAX];
	uint32_t transcript_len;
	uint8_t transcript[IPC_TLS_TRANSCRIPT_MAX];
};

/* Verifier -> broker: at start status 0 (ready); then per request the
 * client's pin, or the refusal's errno and why. */
struct verify_answer {
	int32_t status;
	uint8_t pin[TLS_PIN_BYTES];
	char msg[160];
};

/* Trusted code, but fed hostile bytes: its answer is bounded by this,
 * the signer's bound. */
#define VERIFIER_TIMEOUT_MS 2000

static struct broker_helper verifier = BROKER_HELPER_INIT("verifier");
static bool ready;

#ifdef HAVE_GNUTLS
static void verifier_serve(int fd)
{
	static struct verify_request req;
	struct verify_answer a;
	ssize_t n;

	while ((n = recv(fd, &req, sizeof(req), MSG_TRUNC)) != 0) {
		struct tls_pin pin;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		memset(&a, 0, sizeof(a));
		if ((size_t)n != sizeof(req) ||
		    req.spki_len > sizeof(req.spki) ||
		    req.session.signed_len >
			    sizeof(req.session.signed_content) ||
		    req.session.signature_len > sizeof(req.session.signature)) {
			a.status = -EINVAL;
			snprintf(a.msg, sizeof(a.msg), "a malformed request");
		} else {
			struct tls_transcript_check c = {
				.transcript = req.transcript,
				.transcript_len = req.transcript_len,
				.server_random = req.session.random,
				.server_spki = req.spki,
				.server_spki_len = req.spki_len,
				.signed_content = req.session.signed_content,
				.signed_content_len = req.session.signed_len,
				.signature = req.session.signature,
				.signature_len = req.session.signature_len,
			};
			a.status = tls_transcript_verify(&c, &pin, a.msg,
							 sizeof(a.msg));
			if (a.status == 0)
				memcpy(a.pin, pin.sha256, sizeof(a.pin));
		}
		if (send(fd, &a, sizeof(a), MSG_NOSIGNAL) != sizeof(a))
			return;
	}
}
#endif


/* Nobody, no groups, so no capability left (root mode); rootless, the
 * broker's uid, which has none. */
static int verifier_drop(void)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(0, NULL) < 0 ||
	    setresgid(WORKER_UID, WORKER_UID, WORKER_UID) < 0 ||
	    setresuid(WORKER_UID, WORKER_UID, WORKER_UID) < 0)
		return -errno;
	/* Irreversible, or it is no drop. */
	if (setresuid(0, 0, 0) == 0)
		return -EPERM;
	return 0;
}

/* The child: never returns. */
static void verifier_main(int fd, void *arg)
{
	struct verify_answer hello;
	int r;

	/* Checked alive by helper.h's start; kept to check it again. */
	pid_t broker = getppid();

	(void)arg;
	memset(&hello, 0, sizeof(hello));
	r = verifier_drop();
	/* A change of uid clears the parent-death signal: set it again, or
	 * a verifier stuck on a hostile transcript outlives the broker. */
	if (r == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
		       getppid() != broker))
		_exit(1);
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
#ifdef HAVE_LIBSECCOMP
	if (r == 0)
		r = broker_helper_confine();
#endif
#ifndef HAVE_GNUTLS
	if (r == 0)
		r = -EOPNOTSUPP;
#endif
	if (r < 0)
		snprintf(hello.msg, sizeof(hello.msg), "verifier: %s",
			 strerror(-r));
	hello.status = r;
	if (send(fd, &hello, sizeof(hello), MSG_NOSIGNAL) != sizeof(hello) ||
	    r < 0)
		_exit(1);
#ifdef HAVE_GNUTLS
	verifier_serve(fd);
#endif
	_exit(0);
}

int verify_init(char *msg, size_t msg_len)
{
	struct verify_answer hello;
	int r;

	msg[0] = '\0';
	r = broker_helper_start(&verifier, verifier_main, NULL, msg, msg_len);
	if (r < 0)
		return r;
	r = broker_helper_recv(&verifier, &hello, sizeof(hello),
			       5 * VERIFIER_TIMEOUT_MS);
	if (r == 0 && hello.status > 0)
		r = -EPROTO;
	if (r == 0 && hello.status < 0) {
		hello.msg[sizeof(hello.msg) - 1] = '\0';
		snprintf(msg, msg_len, "%s", hello.msg);
		verify_free();
		return hello.status;
	}
	if (r < 0) {
		verify_free();
		return log_fail(r, msg, msg_len, "verifier: %s", strerror(-r));
	}
	ready = true;
	return 0;
}

bool verify_ready(void)
{
	return ready;
}

int verify_new_random(uint8_t random[VERIFY_RANDOM_LEN], char *hex,
		      size_t hex_len)
{
	ssize_t n;

	if (hex_len < 2 * VERIFY_RANDOM_LEN + 1)
		return -ENOSPC;
	do
		n = getrandom(random, VERIFY_RANDOM_LEN, 0);
	while (n < 0 && errno == EINTR);
	if (n != VERIFY_RANDOM_LEN)
		return n < 0 ? -errno : -EIO;
	for (size_t i = 0; i < VERIFY_RANDOM_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", random[i]);
	return 0;
}

bool verify_child_reaped(pid_t pid)
{
	return broker_helper_reaped(&verifier, pid);
}

/* The verifier is gone or broken: every later check fails at once. */
static enum verify_verdict verifier_lost(int err, char *why, size_t why_len)
{
	broker_helper_lost(&verifier, err);
	snprintf(why, why_len, "the verifier is gone (%s)", strerror(-err));
	return VERIFY_UNAVAILABLE;
}

enum verify_verdict verify_transcript(const struct verify_session *session,
				      const struct ipc_tls_peer *report,
				      struct tls_pin *client, char *why,
				      size_t why_len)
{
	static struct verify_request req;
	struct verify_answer a;
	const uint8_t *spki;
	size_t spki_len;
	int r;

	why[0] = '\0';
	if (!ready || verifier.fd < 0) {
		snprintf(why, why_len, "no verifier");
		return VERIFY_UNAVAILABLE;
	}
	if (!session->signed_len) {
		snprintf(why, why_len, "no handshake was signed for it");
		return VERIFY_REFUSED;
	}
	spki = sign_spki(&spki_len);
	if (report->transcript_len > sizeof(req.transcript) ||
	    spki_len > sizeof(req.spki)) {
		snprintf(why, why_len, "a transcript too long");
		return VERIFY_REFUSED;
	}
	memset(&req, 0, sizeof(req));
	req.session = *session;
	req.spki_len = (uint32_t)spki_len;
	memcpy(req.spki, spki, spki_len);
	req.transcript_len = report->transcript_len;
	memcpy(req.transcript, report->transcript, report->transcript_len);
	if (send(verifier.fd, &req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    sizeof(req))
		return verifier_lost(-EPIPE, why, why_len);
	r = broker_helper_recv(&verifier, &a, sizeof(a), VERIFIER_TIMEOUT_MS);
	if (r < 0)
		return verifier_lost(r, why, why_len);
	if (a.status > 0)
		return verifier_lost(-EPROTO, why, why_len);
	a.msg[sizeof(a.msg) - 1] = '\0';
	if (a.status < 0) {
		snprintf(why, why_len, "%s", a.msg[0] ? a.msg : "refused");
		return VERIFY_REFUSED;
	}
	memcpy(client->sha256, a.pin, sizeof(client->sha256));
	return VERIFY_OK;
}

void verify_free(void)
{
	broker_helper_stop(&verifier);
	ready = false;
}
