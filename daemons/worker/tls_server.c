// SPDX-License-Identifier: GPL-2.0-or-later
#include "tls_server.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "broker_client.h"
#include "log.h"

#ifdef HAVE_GNUTLS
#include "tls_handshake.h"
#include "tls_ktls.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int spki_of_hex(const char *hex, uint8_t *spki, size_t cap, size_t *len)
{
	size_t n = strnlen(hex, 2 * cap + 1);

	if (n == 0 || n % 2 || n > 2 * cap)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		spki[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

int worker_tls_check_spki(const char *hex)
{
	uint8_t spki[TLS_SPKI_MAX];
	size_t len;

	return spki_of_hex(hex, spki, sizeof(spki), &len);
}

struct broker_signer {
	struct broker_client *bc;
	struct op_io_deadline deadline;
};

/* The handshake's one signature, from the broker, which checks that it is
 * a server CertificateVerify and signs once per session. */
static int sign_by_broker(void *ctx, enum tls_role role, const uint8_t *tbs,
			  size_t tbs_len, uint8_t *sig, size_t cap,
			  size_t *sig_len)
{
	struct broker_signer *b = ctx;
	char msg[256];
	int r;

	if (role != TLS_ROLE_SERVER)
		return -EINVAL;
	r = broker_client_sign(b->bc, &b->deadline, tbs, tbs_len, sig, cap,
			       sig_len, msg, sizeof(msg));
	if (r < 0)
		log_line("broker channel: %s", msg);
	return r;
}

int worker_tls_accept(int fd, struct broker_client *bc,
		      const struct worker_tls *t, const char *peer,
		      int timeout_ms)
{
	struct broker_signer signer = {
		.bc = bc, .deadline = {.at_ms = op_io_now_ms() + timeout_ms}};
	struct tls_identity me = {.sign = sign_by_broker, .sign_ctx = &signer};
	struct tls_config cfg = {
		.role = TLS_ROLE_SERVER,
		.me = &me,
		.allowed = &t->peers,
		.timeout_ms = timeout_ms,
		/* The filter has read and write, not recvfrom and sendto;
		 * SIGPIPE is ignored. */
		.use_read_write = true,
	};
	struct tls_session *session = NULL;
	struct tls_result result;
	char msg[256], line[256], params[IPC_TLS_PARAMS_MAX];
	int r;

	if (spki_of_hex(t->spki_hex, me.spki, sizeof(me.spki), &me.spki_len) <
	    0) {
		log_line("%s: TLS: --tls-spki is not a key", peer);
		return -EINVAL;
	}
	r = tls_handshake(fd, &cfg, &session, &result, msg, sizeof(msg));
	if (r == 0)
		r = tls_ktls_install(fd, session, msg, sizeof(msg));
	tls_session_free(session);
	if (r < 0) {
		log_line("%s: TLS refused: %s", peer, msg);
		return r;
	}
	tls_result_format(&result, line, sizeof(line));
	log_line("%s: TLS: %s", peer, line);
	snprintf(params, sizeof(params), "%s %s %s %s", result.version,
		 result.cipher, result.group, result.signature);
	r = broker_client_tls_peer(bc, result.peer.sha256,
				   sizeof(result.peer.sha256), params, msg,
				   sizeof(msg));
	if (r < 0)
		log_line("broker channel: %s", msg);
	return r;
}
#else
int worker_tls_check_spki(const char *hex)
{
	(void)hex;
	return -EOPNOTSUPP;
}

int worker_tls_accept(int fd, struct broker_client *bc,
		      const struct worker_tls *t, const char *peer,
		      int timeout_ms)
{
	(void)fd, (void)bc, (void)t, (void)timeout_ms;
	log_line("%s: TLS refused: this worker was built without GnuTLS", peer);
	return -EOPNOTSUPP;
}
#endif
