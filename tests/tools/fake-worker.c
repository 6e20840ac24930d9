// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test tool: a compromised usbip-worker. usbip-brokerd starts it in the
 * real worker's place (--worker PATH), with the real worker's argv and
 * fds; it speaks common/ipc to the broker and misbehaves as scripted.
 * It ignores SIGTERM, so whatever ends it is the broker's SIGKILL.
 *
 *   fake-worker --broker-fd N (--client|--export-to) fd:M [--scenario S]
 *               [anything usbip-worker takes, ignored]
 *
 * Without --scenario, the scenario is the first line the client sends
 * (up to 63 bytes, within 5 s): a test connects to the broker, writes
 * "flood\n", and keeps the connection open. Scenarios:
 *
 *   idle               says nothing, reads nothing, never exits
 *   legit              one device list, read, then exits 0 (a control)
 *   flood              device list requests as fast as the channel takes
 *                      them, never reading an answer
 *   never-read         one device list request, then nothing, unread
 *   two-outstanding    a second request before reading the first answer
 *   devlist-loop       device list, answer, again, forever
 *   open-twice         an open request, its answer, another open request
 *   out-of-order       an open request, its answer, then a device list
 *   stats-before-grant counters before any device was granted
 *   stats-flood        counters as fast as the channel takes them
 *   granted-stats-flood  lists devices, asks for the first one, and once
 *                      it has it sends counters as fast as it can
 *   fd                 a device list request carrying a descriptor
 *   linger-fd          the client socket, SO_LINGER 1 h and a full send
 *                      queue, sent with a device list request, its own
 *                      copy closed: the broker's close must not wait
 *   oversize           a 64 KiB datagram
 *   wrong-side         a broker -> worker message (an open answer)
 *   reset              type 3, the deleted reset request
 *   close-early        closes its channel, then never exits
 *   exit               exits 0 at once
 *
 * For a session of a tls: listener (the broker passes --tls-spki); the
 * client still sends the scenario's name in clear, this worker runs no
 * handshake:
 *
 *   sign-legit         a genuine server CertificateVerify content signed,
 *                      a peer key reported, a device list: a control,
 *                      exits 0 ("fake-worker: signed 64 bytes")
 *   sign-twice         the same signature asked for twice
 *   sign-other         146 bytes that are no CertificateVerify content
 *   sign-client        a client CertificateVerify content (the broker is
 *                      the server, always)
 *   peer-unsigned      a peer key reported with no handshake signed
 *   devlist-before-tls a device list before any peer key
 *   sign-plain         (on a plain listener) a signing request
 *   peer-twice         signed, then its peer's key reported twice (the
 *                      second could change the verdict later)
 *   peer-plain         (on a plain listener) a peer key, with no signing
 *   peer-escape        signed, then a peer key whose parameters carry an
 *                      escape sequence and a forged log line: the broker
 *                      logs them escaped and goes on
 *   sign-short-hash    a server CertificateVerify with a 40-byte hash
 *   sign-overlong      a signing request whose length says 161 bytes
 *
 * Started as the broker's spare (--spare, no client yet) it waits for
 * the IPC_CLIENT the broker hands it and then goes on as above with that
 * client (or execs the real worker as --client fd:4 --peer PEER). With
 * USBIP_FAKE_WORKER_SPARE=SCENARIO it misbehaves as a spare instead:
 *
 *   speak              a device list request at once, before any client
 *   exit               exits 0 at once (a spare that died)
 *   close-early        closes its channel, then never exits
 *
 * It logs what it did on stderr (the broker's stderr), prefixed
 * "fake-worker:".
 *
 * With USBIP_FAKE_WORKER_REAL=PATH in its environment (the broker's, which
 * workers inherit) it is a compromised worker only for the clients that
 * ask for one: a client whose first byte is USB/IP's (0x01, the version's
 * high byte) gets PATH, the real worker, exec'd with the same argv, and
 * so does every export-flow session. One broker then serves healthy and
 * hostile sessions side by side, as the adversarial stage needs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"
#ifdef HAVE_GNUTLS
#include <pthread.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "tls_handshake.h"
#include "tls_transcript.h"
#endif

#define HEADER_LEN offsetof(struct ipc_message, u)

static int broker = -1;

static void say(const char *what, const char *arg)
{
	fprintf(stderr, "fake-worker: %s %s\n", what, arg);
}

static void forever(void)
{
	for (;;)
		pause();
}

/* A spare's client: SCENARIO's misbehaviour, or the socket the broker
 * hands over, moved to fd 4 (as the broker would have passed it) with
 * argv rewritten for an exec of the real worker. */
static int spare_client(int argc, char **argv, char ***real_argv)
{
	static char *out[32];
	static char peer[IPC_PEER_MAX];
	const char *scenario = getenv("USBIP_FAKE_WORKER_SPARE");
	struct ipc_message m;
	struct pollfd p = {.fd = broker, .events = POLLIN};
	char msg[256];
	size_t n = 0;
	int fd;

	if (scenario) {
		say("spare scenario", scenario);
		if (!strcmp(scenario, "speak"))
			ipc_send(broker, IPC_DEVLIST_REQUEST, NULL, 0, -1);
		else if (!strcmp(scenario, "exit"))
			exit(0);
		else if (!strcmp(scenario, "close-early"))
			close(broker);
		forever();
	}
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	if (ipc_recv(broker, IPC_WORKER_SIDE, &m, &fd, msg, sizeof(msg)) < 0 ||
	    m.type != IPC_CLIENT) {
		say("spare: no client:", msg);
		forever();
	}
	snprintf(peer, sizeof(peer), "%s", m.u.client.peer);
	say("spare: client from", peer);
	if (fd != 4 && dup2(fd, 4) < 0)
		forever();
	if (fd != 4)
		close(fd);
	fcntl(4, F_SETFD, 0);
	out[n++] = argv[0];
	out[n++] = "--client";
	out[n++] = "fd:4";
	out[n++] = "--peer";
	out[n++] = peer;
	for (int i = 1; i < argc && n + 1 < sizeof(out) / sizeof(out[0]); i++)
		if (strcmp(argv[i], "--spare"))
			out[n++] = argv[i];
	out[n] = NULL;
	*real_argv = out;
	return 4;
}

static int fd_arg(const char *s)
{
	if (!strncmp(s, "fd:", 3))
		s += 3;
	return atoi(s);
}

/* The first line the client sent, without its newline. */
static void read_scenario(int client, char *out, size_t len)
{
	size_t n = 0;
	struct pollfd p = {.fd = client, .events = POLLIN};

	while (n + 1 < len && poll(&p, 1, 5000) == 1) {
		char c;
		if (read(client, &c, 1) != 1 || c == '\n')
			break;
		/* It goes to a log: only what a scenario name holds. */
		out[n++] = (c >= 'a' && c <= 'z') || c == '-' ? c : '?';
	}
	out[n] = '\0';
}

/* Whether this session is a real one (see the top): peeks, within 5 s,
 * at the client's first byte without taking it. */
static bool real_worker_wanted(char **argv, int client)
{
	struct pollfd p = {.fd = client, .events = POLLIN};
	unsigned char first;

	if (!getenv("USBIP_FAKE_WORKER_REAL"))
		return false;
	for (char **a = argv; *a; a++)
		if (!strcmp(*a, "--export-to"))
			return true;
	/* 0x16: a TLS handshake record, on a tls: listener. */
	return poll(&p, 1, 5000) == 1 &&
	       recv(client, &first, 1, MSG_PEEK) == 1 &&
	       (first == 0x01 || first == 0x16);
}

static void request(uint32_t type, const void *payload, uint32_t len)
{
	int r = ipc_send(broker, type, payload, len, -1);
	if (r < 0) {
		say("send:", strerror(-r));
		forever(); /* the broker is to kill us, not we to leave */
	}
}

static void answer_into(struct ipc_message *m)
{
	char msg[256];
	int fd, r = ipc_recv(broker, IPC_WORKER_SIDE, m, &fd, msg, sizeof(msg));

	if (r < 0) {
		say("recv:", msg);
		forever();
	}
	if (fd >= 0)
		close(fd);
}

static void answer(void)
{
	struct ipc_message m;
	char msg[256];
	int fd, r = ipc_recv(broker, IPC_WORKER_SIDE, &m, &fd, msg,
			     sizeof(msg));

	if (r < 0) {
		say("recv:", msg);
		forever();
	}
	if (fd >= 0)
		close(fd);
}

/* A TLS 1.3 CertificateVerify content (RFC 8446 4.4.3) with a made-up
 * SHA-256 transcript hash: 64 spaces, the context, 0, the hash. */
static void certificate_verify(struct ipc_sign_request *req, const char *ctx)
{
	memset(req, 0, sizeof(*req));
	memset(req->tbs, 0x20, 64);
	memcpy(req->tbs + 64, ctx, strlen(ctx) + 1);
	memset(req->tbs + 64 + strlen(ctx) + 1, 0xab, 32);
	req->length = (uint32_t)(64 + strlen(ctx) + 1 + 32);
}

static void sign(const struct ipc_sign_request *req, struct ipc_message *m)
{
	char n[32];

	request(IPC_SIGN_REQUEST, req, sizeof(*req));
	answer_into(m);
	if (m->type != IPC_SIGN_ANSWER || m->u.sign_answer.status) {
		say("signing refused:", strerror(-m->u.sign_answer.status));
		forever();
	}
	snprintf(n, sizeof(n), "%u bytes", m->u.sign_answer.length);
	say("signed", n);
}

static void raw(const void *data, size_t len, int fd)
{
	int r = ipc_send_datagram(broker, data, len, fd);
	if (r < 0)
		say("send:", strerror(-r));
}

#ifdef HAVE_GNUTLS
/* A real TLS 1.3 handshake, both ends in this process over a socketpair:
 * the server end as the real worker runs it (the broker signs, the
 * broker's random, the transcript recorded), the client end with a key
 * of its own, as usbip-attach would. What a compromised worker can do
 * with the client's help: everything but forge the client's signature. */
struct handshake {
	const char *spki_hex;
	const uint8_t *random; /* NULL: GnuTLS's own */
	bool broker_signs;     /* else a key of our own signs */
	struct tls_key *client_key, *own_server_key;
	struct tls_transcript transcript;
	struct tls_pin client_pin;
};

static int hex_nibble(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
				      : -1;
}

static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; hex[0] && hex[1] && n < cap; hex += 2)
		out[n++] =
			(uint8_t)(hex_nibble(hex[0]) << 4 | hex_nibble(hex[1]));
	return n;
}

static int sign_by_broker(void *ctx, enum tls_role role, const uint8_t *tbs,
			  size_t tbs_len, uint8_t *sig, size_t cap,
			  size_t *sig_len)
{
	struct handshake *h = ctx;
	struct ipc_sign_request req = {.length = (uint32_t)tbs_len};
	struct ipc_message m;

	if (!h->broker_signs)
		return tls_key_sign(h->own_server_key, role, tbs, tbs_len, sig,
				    cap, sig_len);
	memcpy(req.tbs, tbs, tbs_len);
	sign(&req, &m);
	if (m.u.sign_answer.length > cap)
		return -ENOSPC;
	memcpy(sig, m.u.sign_answer.signature, m.u.sign_answer.length);
	*sig_len = m.u.sign_answer.length;
	return 0;
}

static int sign_own(void *ctx, enum tls_role role, const uint8_t *tbs,
		    size_t tbs_len, uint8_t *sig, size_t cap, size_t *sig_len)
{
	return tls_key_sign(ctx, role, tbs, tbs_len, sig, cap, sig_len);
}

struct end {
	struct tls_identity id;
	struct tls_pins pins;
	struct tls_config cfg;
	int fd, rc;
	char msg[256];
};

static void *run_end(void *arg)
{
	struct end *e = arg;
	struct tls_session *session = NULL;

	e->rc = tls_handshake(e->fd, &e->cfg, &session, NULL, e->msg,
			      sizeof(e->msg));
	tls_session_free(session);
	if (e->rc < 0)
		shutdown(e->fd, SHUT_RDWR);
	return NULL;
}

static void real_handshake(struct handshake *h)
{
	static struct end server, client;
	int pair[2];
	pthread_t t;

	memset(&server, 0, sizeof(server));
	memset(&client, 0, sizeof(client));
	if (!h->client_key && tls_key_generate(&h->client_key) < 0) {
		say("handshake:", "no client key");
		forever();
	}
	tls_key_pin(h->client_key, &h->client_pin);
	if (h->broker_signs) {
		server.id.spki_len = from_hex(h->spki_hex, server.id.spki,
					      sizeof(server.id.spki));
	} else {
		tls_key_generate(&h->own_server_key);
		tls_key_spki(h->own_server_key, server.id.spki,
			     sizeof(server.id.spki), &server.id.spki_len);
	}
	server.id.sign = sign_by_broker;
	server.id.sign_ctx = h;
	tls_key_spki(h->client_key, client.id.spki, sizeof(client.id.spki),
		     &client.id.spki_len);
	client.id.sign = sign_own;
	client.id.sign_ctx = h->client_key;
	server.pins.pin[0] = h->client_pin;
	server.pins.count = 1;
	tls_pin_of_spki(server.id.spki, server.id.spki_len,
			&client.pins.pin[0]);
	client.pins.count = 1;
	server.cfg = (struct tls_config){.role = TLS_ROLE_SERVER,
					 .me = &server.id,
					 .allowed = &server.pins,
					 .timeout_ms = 5000,
					 .server_random = h->random,
					 .transcript = &h->transcript};
	client.cfg = (struct tls_config){.role = TLS_ROLE_CLIENT,
					 .me = &client.id,
					 .allowed = &client.pins,
					 .timeout_ms = 5000};
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		say("socketpair:", strerror(errno));
		forever();
	}
	server.fd = pair[0];
	client.fd = pair[1];
	pthread_create(&t, NULL, run_end, &client);
	run_end(&server);
	pthread_join(t, NULL);
	close(pair[0]);
	close(pair[1]);
	if (server.rc < 0 || client.rc < 0) {
		say("handshake failed:",
		    server.rc < 0 ? server.msg : client.msg);
		forever();
	}
	char pin[TLS_PIN_TEXT_SIZE];
	tls_pin_format(&h->client_pin, pin);
	say("handshake done, client key", pin);
}

/* The report the real worker sends, of handshake h. */
static void report_peer(const struct handshake *h, struct ipc_tls_peer *p)
{
	memcpy(p->pin, h->client_pin.sha256, sizeof(p->pin));
	p->transcript_len = (uint32_t)h->transcript.len;
	memcpy(p->transcript, h->transcript.data, h->transcript.len);
}

/* Offset of handshake message i's header in a transcript. */
static size_t message_at(const uint8_t *t, unsigned i)
{
	size_t pos = 0;

	while (i--)
		pos += 4 + ((size_t)t[pos + 1] << 16 | (size_t)t[pos + 2] << 8 |
			    t[pos + 3]);
	return pos;
}

/* The TLS scenarios that run a real handshake; false: not one. */
static bool tls_scenario(const char *scenario, const char *spki_hex,
			 const char *random_hex)
{
	static struct handshake h;
	static struct ipc_tls_peer peer;
	uint8_t random[TLS_SERVER_RANDOM_LEN];

	memset(&peer, 0, sizeof(peer));
	snprintf(peer.params, sizeof(peer.params), "TLS1.3 fake");
	if (!spki_hex || !random_hex ||
	    from_hex(random_hex, random, sizeof(random)) != sizeof(random))
		return false;
	h.spki_hex = spki_hex;
	h.random = random;
	h.broker_signs = true;
	if (!strcmp(scenario, "sign-legit") ||
	    !strcmp(scenario, "peer-escape") ||
	    !strcmp(scenario, "peer-twice")) {
		real_handshake(&h);
		report_peer(&h, &peer);
		if (!strcmp(scenario, "peer-escape"))
			snprintf(peer.params, sizeof(peer.params),
				 "\x1b[31m\nusbip-brokerd: forged line\r");
		request(IPC_TLS_PEER, &peer, sizeof(peer));
		if (!strcmp(scenario, "peer-twice")) {
			memset(peer.pin, 0xa5, sizeof(peer.pin));
			request(IPC_TLS_PEER, &peer, sizeof(peer));
			forever();
		}
		request(IPC_DEVLIST_REQUEST, NULL, 0);
		answer();
		exit(0);
	} else if (!strcmp(scenario, "tls-claim-other")) {
		real_handshake(&h);
		report_peer(&h, &peer);
		memset(peer.pin, 0x5a, sizeof(peer.pin));
	} else if (!strcmp(scenario, "tls-own-random")) {
		/* Broker-signed, but with a random of its choosing: a
		 * transcript it could keep and show again in a later
		 * session. */
		h.random = NULL;
		real_handshake(&h);
		report_peer(&h, &peer);
	} else if (!strcmp(scenario, "tls-other-session")) {
		/* A whole real handshake with a server key of its own (a
		 * session the broker did not sign), then this session's,
		 * and the first one shown. */
		static struct handshake other;
		other.random = random;
		real_handshake(&other);
		real_handshake(&h);
		report_peer(&other, &peer);
	} else if (!strcmp(scenario, "tls-bit-flip")) {
		real_handshake(&h);
		report_peer(&h, &peer);
		/* the client's CertificateVerify: header 4, scheme 2,
		 * length 2, then its signature */
		peer.transcript[message_at(peer.transcript, 8) + 8 + 17] ^= 4;
	} else if (!strcmp(scenario, "tls-other-key")) {
		/* The client's Certificate holding another key (the one
		 * claimed), of the same size. */
		struct tls_key *other;
		uint8_t spki[TLS_SPKI_MAX], mine[TLS_SPKI_MAX];
		size_t len, mine_len;
		real_handshake(&h);
		report_peer(&h, &peer);
		tls_key_generate(&other);
		tls_key_spki(other, spki, sizeof(spki), &len);
		tls_key_spki(h.client_key, mine, sizeof(mine), &mine_len);
		uint8_t *at = memmem(peer.transcript, peer.transcript_len, mine,
				     mine_len);
		if (!at || len != mine_len) {
			say("no client key in the transcript", "");
			forever();
		}
		memcpy(at, spki, len);
		struct tls_pin pin;
		tls_key_pin(other, &pin);
		memcpy(peer.pin, pin.sha256, sizeof(peer.pin));
	} else if (!strcmp(scenario, "tls-truncated")) {
		real_handshake(&h);
		report_peer(&h, &peer);
		peer.transcript_len--;
	} else if (!strcmp(scenario, "tls-overlong")) {
		real_handshake(&h);
		report_peer(&h, &peer);
		peer.transcript[peer.transcript_len++] = 0x14;
	} else if (!strcmp(scenario, "tls-garbage")) {
		real_handshake(&h);
		report_peer(&h, &peer);
		gnutls_rnd(GNUTLS_RND_NONCE, peer.transcript, 1000);
		peer.transcript_len = 1000;
	} else if (!strcmp(scenario, "tls-oversize")) {
		real_handshake(&h);
		report_peer(&h, &peer);
		peer.transcript_len = IPC_TLS_TRANSCRIPT_MAX + 1;
	} else {
		return false;
	}
	request(IPC_TLS_PEER, &peer, sizeof(peer));
	request(IPC_DEVLIST_REQUEST, NULL, 0);
	answer();
	say("its forged peer report was taken", "");
	forever();
	return true;
}
#endif

int main(int argc, char **argv)
{
	const char *scenario = NULL, *spki_hex = NULL, *random_hex = NULL;
	char line[64];
	int client = -1;
	struct ipc_open_request open = {.busid = "1-1"};
	struct ipc_stats stats = {0};
	struct ipc_message m = {0};
	struct ipc_sign_request cv;
	struct ipc_tls_peer peer = {.params = "TLS1.3 fake"};
	static const char server_cv[] = "TLS 1.3, server CertificateVerify";

	certificate_verify(&cv, server_cv);
	memset(peer.pin, 0x5a, sizeof(peer.pin));
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--broker-fd"))
			broker = fd_arg(argv[++i]);
		else if (!strcmp(argv[i], "--client") ||
			 !strcmp(argv[i], "--export-to"))
			client = fd_arg(argv[++i]);
		else if (!strcmp(argv[i], "--scenario"))
			scenario = argv[++i];
		else if (!strcmp(argv[i], "--tls-spki"))
			spki_hex = argv[++i];
		else if (!strcmp(argv[i], "--tls-random"))
			random_hex = argv[++i];
	}
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--spare") && broker >= 0) {
			client = spare_client(argc, argv, &argv);
			break;
		}
	if (broker < 0 || (client < 0 && !scenario)) {
		fprintf(stderr, "usage: fake-worker --broker-fd N --client "
				"fd:M [--scenario NAME]\n");
		return 2;
	}
	if (!scenario && real_worker_wanted(argv, client)) {
		/* As the broker would have started it. */
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execv(getenv("USBIP_FAKE_WORKER_REAL"), argv);
		say("exec:", strerror(errno));
		return 127;
	}
	if (!scenario) {
		read_scenario(client, line, sizeof(line));
		scenario = line;
	}
	say("scenario", scenario);
#ifdef HAVE_GNUTLS
	tls_scenario(scenario, spki_hex, random_hex);
#else
	(void)spki_hex, (void)random_hex;
#endif

	if (!strcmp(scenario, "idle")) {
		forever();
	} else if (!strcmp(scenario, "legit")) {
		request(IPC_DEVLIST_REQUEST, NULL, 0);
		answer();
		return 0;
	} else if (!strcmp(scenario, "flood")) {
		for (unsigned long n = 0;; n++) {
			int r = ipc_send(broker, IPC_DEVLIST_REQUEST, NULL, 0,
					 -1);
			if (r < 0) {
				fprintf(stderr,
					"fake-worker: flood stopped after %lu: "
					"%s\n",
					n, strerror(-r));
				forever();
			}
		}
	} else if (!strcmp(scenario, "never-read")) {
		request(IPC_DEVLIST_REQUEST, NULL, 0);
		forever();
	} else if (!strcmp(scenario, "two-outstanding")) {
		request(IPC_DEVLIST_REQUEST, NULL, 0);
		usleep(200000); /* the broker has answered by now */
		request(IPC_DEVLIST_REQUEST, NULL, 0);
		forever();
	} else if (!strcmp(scenario, "devlist-loop")) {
		for (;;) {
			request(IPC_DEVLIST_REQUEST, NULL, 0);
			answer();
		}
	} else if (!strcmp(scenario, "open-twice")) {
		request(IPC_OPEN_REQUEST, &open, sizeof(open));
		answer();
		request(IPC_OPEN_REQUEST, &open, sizeof(open));
		forever();
	} else if (!strcmp(scenario, "out-of-order")) {
		request(IPC_OPEN_REQUEST, &open, sizeof(open));
		answer();
		request(IPC_DEVLIST_REQUEST, NULL, 0);
		forever();
	} else if (!strcmp(scenario, "stats-before-grant")) {
		request(IPC_STATS, &stats, sizeof(stats));
		forever();
	} else if (!strcmp(scenario, "stats-flood")) {
		for (;;)
			request(IPC_STATS, &stats, sizeof(stats));
	} else if (!strcmp(scenario, "granted-stats-flood")) {
		request(IPC_DEVLIST_REQUEST, NULL, 0);
		answer_into(&m);
		if (m.u.devlist.count == 0) {
			say("no device to ask for", "");
			forever();
		}
		memcpy(open.busid, m.u.devlist.devices[0].device.busid,
		       sizeof(open.busid));
		open.busid[sizeof(open.busid) - 1] = '\0';
		request(IPC_OPEN_REQUEST, &open, sizeof(open));
		answer_into(&m);
		if (m.u.open_answer.status) {
			say("open refused:", strerror(-m.u.open_answer.status));
			forever();
		}
		say("granted", open.busid);
		for (;;)
			request(IPC_STATS, &stats, sizeof(stats));
	} else if (!strcmp(scenario, "fd")) {
		m.type = IPC_DEVLIST_REQUEST;
		raw(&m, HEADER_LEN, STDERR_FILENO);
		forever();
	} else if (!strcmp(scenario, "linger-fd")) {
		/* The client socket with a long SO_LINGER and a full send
		 * queue (the client never reads), handed to the broker with
		 * a request, our copy closed: the broker's close of what it
		 * did not ask for would be the last, and would linger. */
		static const char junk[65536];
		struct linger l = {.l_onoff = 1, .l_linger = 3600};
		if (setsockopt(client, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) <
		    0)
			say("SO_LINGER:", strerror(errno));
		fcntl(client, F_SETFL, O_NONBLOCK);
		while (write(client, junk, sizeof(junk)) > 0)
			;
		m.type = IPC_DEVLIST_REQUEST;
		raw(&m, HEADER_LEN, client);
		close(client);
		forever();
	} else if (!strcmp(scenario, "oversize")) {
		static char big[65536];
		raw(big, sizeof(big), -1);
		forever();
	} else if (!strcmp(scenario, "wrong-side")) {
		m.type = IPC_OPEN_ANSWER;
		m.length = sizeof(struct ipc_open_answer);
		m.u.open_answer.status = -1;
		raw(&m, HEADER_LEN + m.length, -1);
		forever();
	} else if (!strcmp(scenario, "reset")) {
		m.type = 3;
		raw(&m, HEADER_LEN, -1);
		forever();
	} else if (!strcmp(scenario, "close-early")) {
		close(broker);
		forever();
	} else if (!strcmp(scenario, "exit")) {
		return 0;
	} else if (!strcmp(scenario, "sign-legit")) {
		sign(&cv, &m);
		request(IPC_TLS_PEER, &peer, sizeof(peer));
		request(IPC_DEVLIST_REQUEST, NULL, 0);
		answer();
		return 0;
	} else if (!strcmp(scenario, "sign-twice")) {
		sign(&cv, &m);
		request(IPC_SIGN_REQUEST, &cv, sizeof(cv));
		forever();
	} else if (!strcmp(scenario, "sign-other")) {
		memset(&cv, 'A', sizeof(cv));
		cv.length = 146;
		request(IPC_SIGN_REQUEST, &cv, sizeof(cv));
		forever();
	} else if (!strcmp(scenario, "sign-client")) {
		certificate_verify(&cv, "TLS 1.3, client CertificateVerify");
		request(IPC_SIGN_REQUEST, &cv, sizeof(cv));
		forever();
	} else if (!strcmp(scenario, "peer-unsigned")) {
		request(IPC_TLS_PEER, &peer, sizeof(peer));
		forever();
	} else if (!strcmp(scenario, "devlist-before-tls")) {
		request(IPC_DEVLIST_REQUEST, NULL, 0);
		forever();
	} else if (!strcmp(scenario, "sign-plain")) {
		request(IPC_SIGN_REQUEST, &cv, sizeof(cv));
		forever();
	} else if (!strcmp(scenario, "peer-twice")) {
		sign(&cv, &m);
		request(IPC_TLS_PEER, &peer, sizeof(peer));
		memset(peer.pin, 0xa5, sizeof(peer.pin));
		request(IPC_TLS_PEER, &peer, sizeof(peer));
		forever();
	} else if (!strcmp(scenario, "peer-plain")) {
		request(IPC_TLS_PEER, &peer, sizeof(peer));
		forever();
	} else if (!strcmp(scenario, "peer-escape")) {
		sign(&cv, &m);
		snprintf(peer.params, sizeof(peer.params),
			 "\x1b[31m\nusbip-brokerd: forged line\r");
		request(IPC_TLS_PEER, &peer, sizeof(peer));
		request(IPC_DEVLIST_REQUEST, NULL, 0);
		answer();
		return 0;
	} else if (!strcmp(scenario, "sign-short-hash")) {
		certificate_verify(&cv, server_cv);
		cv.length += 8; /* 64 + 34 + 40: neither SHA-256 nor SHA-384 */
		request(IPC_SIGN_REQUEST, &cv, sizeof(cv));
		forever();
	} else if (!strcmp(scenario, "sign-overlong")) {
		cv.length = IPC_SIGN_TBS_MAX + 1;
		request(IPC_SIGN_REQUEST, &cv, sizeof(cv));
		forever();
	}
	say("unknown scenario", scenario);
	return 2;
}
