// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tls-pair: both ends of a pinned TLS 1.3 session over loopback TCP, then
 * the record layer in the kernel (kTLS) and plain read()/write() of a
 * pattern both ways, checked bit for bit. With --tamper a relay between
 * the two flips one byte on the wire and the receiver must fail with
 * EBADMSG. The guest scenario tls-ktls runs it on Debian's kernel.
 *
 *   tls-pair [--bytes N] [--cipher aes128|aes256|chacha20]
 *            [--mode ktls|userspace|plain] [--tamper OFFSET]
 *            [--server-key FILE] [--client-key FILE] [--server-delay MS]
 *            [--worker-filter]
 *
 *   --bytes N        bytes each way (default 32 MiB; suffixes K and M)
 *   --cipher C       the only suite offered (default: all, AES-128-GCM
 *                    is chosen)
 *   --mode M         ktls (default): the kernel's record layer;
 *                    userspace: GnuTLS's records, for comparison;
 *                    plain: no TLS at all, the baseline
 *   --tamper OFFSET  relay the connection and flip one bit of the byte
 *                    at OFFSET (counted from the client's first byte)
 *                    on its way to the server; the tool succeeds only
 *                    if the server's read() fails with EBADMSG
 *   --server-key F, --client-key F
 *                    identity.key files (usbip-brokerctl keygen) instead
 *                    of fresh keys
 *   --server-delay MS
 *                    the server waits this long between its handshake and
 *                    kTLS, so the client's first records are already
 *                    queued in the socket when the kernel takes over
 *   --worker-filter  the server end loads usbip-worker's seccomp
 *                    allowlist (seccomp/worker-filter.c) before its
 *                    handshake and kTLS, as the worker will, and uses
 *                    read()/write() for the handshake (use_read_write);
 *                    a syscall the filter lacks kills it (SIGSYS; the
 *                    audit line in dmesg names the syscall)
 *
 * Prints per end the negotiated parameters (version, cipher, group,
 * signature scheme, the peer's pin, signatures made) and MB/s each way.
 * Exit status: 0 success, 1 failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#ifdef HAVE_WORKER_FILTER
#include "worker-filter.h"
#endif
#include "tls_handshake.h"
#include "tls_key.h"
#include "tls_ktls.h"

#define PROGRAM "tls-pair"
#define HANDSHAKE_MS 20000
#define CHUNK (256 * 1024)

enum mode { MODE_KTLS, MODE_USERSPACE, MODE_PLAIN };

static size_t total = 32u << 20;
static unsigned suites;
static enum mode mode = MODE_KTLS;
static long long tamper_at = -1;
static unsigned server_delay_ms;
static bool worker_filter;

struct end {
	const char *name;
	enum tls_role role;
	struct tls_key *key;
	struct tls_identity id;
	struct tls_pins pins;
	struct tls_session *session;
	int fd;
};

static void die(const char *what)
{
	fprintf(stderr, PROGRAM ": %s\n", what);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int local_sign(void *ctx, enum tls_role role, const uint8_t *tbs,
		      size_t tbs_len, uint8_t *sig, size_t cap, size_t *sig_len)
{
	return tls_key_sign(ctx, role, tbs, tbs_len, sig, cap, sig_len);
}

/* The pattern of direction d: 64-bit word w is a hash of (w, d), so any
 * stretch can be regenerated from its offset alone. */
static uint64_t pattern_word(uint64_t w, unsigned d)
{
	uint64_t z = w + 0x9e3779b97f4a7c15ULL * (d + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void pattern_fill(uint8_t *buf, size_t offset, size_t len, unsigned d)
{
	for (size_t i = 0; i < len;) {
		size_t pos = offset + i, in_word = pos & 7;
		uint64_t v = pattern_word(pos >> 3, d);
		size_t n = 8 - in_word < len - i ? 8 - in_word : len - i;
		for (size_t k = 0; k < n; k++)
			buf[i + k] = (uint8_t)(v >> ((in_word + k) * 8));
		i += n;
	}
}

static ssize_t xfer_send(struct end *e, const void *buf, size_t len)
{
	if (mode == MODE_USERSPACE) {
		ssize_t n = gnutls_record_send(tls_session_gnutls(e->session),
					       buf, len);
		if (n < 0) {
			errno = EIO;
			fprintf(stderr, PROGRAM ": %s: %s\n", e->name,
				gnutls_strerror((int)n));
			return -1;
		}
		return n;
	}
	return write(e->fd, buf, len);
}

static ssize_t xfer_recv(struct end *e, void *buf, size_t len)
{
	if (mode == MODE_USERSPACE) {
		ssize_t n = gnutls_record_recv(tls_session_gnutls(e->session),
					       buf, len);
		if (n == GNUTLS_E_DECRYPTION_FAILED) {
			errno = EBADMSG;
			return -1;
		}
		if (n < 0) {
			errno = EIO;
			return -1;
		}
		return n;
	}
	return read(e->fd, buf, len);
}

static int send_pattern(struct end *e, unsigned d)
{
	static uint8_t buf[CHUNK];
	double t0 = now_s();

	for (size_t done = 0; done < total;) {
		size_t n = total - done < CHUNK ? total - done : CHUNK;
		pattern_fill(buf, done, n, d);
		for (size_t off = 0; off < n;) {
			ssize_t w = xfer_send(e, buf + off, n - off);
			if (w <= 0) {
				fprintf(stderr, PROGRAM ": %s: write: %s\n",
					e->name, strerror(errno));
				return -1;
			}
			off += (size_t)w;
		}
		done += n;
	}
	printf("%s: sent %zu bytes in %.2f s\n", e->name, total, now_s() - t0);
	return 0;
}

/* 0 bit-exact, -1 with errno from a failed read, -2 a mismatch. */
static int recv_pattern(struct end *e, unsigned d)
{
	static uint8_t buf[CHUNK], expected[CHUNK];
	double t0 = now_s();

	for (size_t done = 0; done < total;) {
		size_t want = total - done < CHUNK ? total - done : CHUNK;
		ssize_t n = xfer_recv(e, buf, want);
		if (n <= 0) {
			int err = n < 0 ? errno : ECONNRESET;
			fprintf(stderr, PROGRAM ": %s: read at %zu: %s\n",
				e->name, done, strerror(err));
			errno = err;
			return -1;
		}
		pattern_fill(expected, done, (size_t)n, d);
		if (memcmp(buf, expected, (size_t)n)) {
			size_t i = 0;
			while (buf[i] == expected[i])
				i++;
			fprintf(stderr, PROGRAM ": %s: byte %zu differs\n",
				e->name, done + i);
			return -2;
		}
		done += (size_t)n;
	}
	double dt = now_s() - t0;
	printf("%s: received %zu bytes bit-exact in %.2f s, %.1f MB/s\n",
	       e->name, total, dt, (double)total / dt / 1e6);
	return 0;
}

static void end_init(struct end *e, const char *name, enum tls_role role,
		     const char *key_file)
{
	char msg[512];

	memset(e, 0, sizeof(*e));
	e->name = name;
	e->role = role;
	e->fd = -1;
	if (key_file ? tls_key_load(key_file, &e->key, msg, sizeof(msg)) < 0
		     : tls_key_generate(&e->key) < 0)
		die(key_file ? msg : "cannot generate a key");
	if (tls_key_spki(e->key, e->id.spki, sizeof(e->id.spki),
			 &e->id.spki_len) < 0)
		die("cannot export a public key");
	e->id.sign = local_sign;
	e->id.sign_ctx = e->key;
}

static void pin(struct end *e, const struct end *peer)
{
	if (tls_key_pin(peer->key, &e->pins.pin[0]) < 0)
		die("cannot compute a pin");
	e->pins.count = 1;
}

static int handshake(struct end *e)
{
	struct tls_config cfg = {
		.role = e->role,
		.me = &e->id,
		.allowed = &e->pins,
		.timeout_ms = HANDSHAKE_MS,
		.suites = suites,
		.use_read_write = e->role == TLS_ROLE_SERVER && worker_filter,
	};
	struct tls_result res;
	char msg[512], line[256];
	double t0 = now_s();

	if (tls_handshake(e->fd, &cfg, &e->session, &res, msg, sizeof(msg)) <
	    0) {
		fprintf(stderr, PROGRAM ": %s: %s\n", e->name, msg);
		return -1;
	}
	tls_result_format(&res, line, sizeof(line));
	printf("%s: %s signatures %u (%.0f ms)\n", e->name, line,
	       res.signatures, (now_s() - t0) * 1000);
	if (e->role == TLS_ROLE_SERVER && server_delay_ms) {
		struct timespec ts = {server_delay_ms / 1000,
				      (long)(server_delay_ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
	if (mode == MODE_KTLS) {
		if (tls_ktls_install(e->fd, e->session, msg, sizeof(msg)) < 0) {
			fprintf(stderr, PROGRAM ": %s: %s\n", e->name, msg);
			return -1;
		}
		printf("%s: kTLS installed (TX and RX)\n", e->name);
	}
	return 0;
}

static int listener(uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &len) < 0)
		die("cannot listen on loopback");
	*port = ntohs(sa.sin_port);
	return l;
}

static int dial(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("cannot connect on loopback");
	return fd;
}

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = 60};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Forwards between a and b; flips a bit of the byte at tamper_at in
 * the a -> b direction. Runs until either side ends. */
static void relay(int a, int b)
{
	static uint8_t buf[65536];
	long long offset = 0;
	struct pollfd p[2] = {{.fd = a, .events = POLLIN},
			      {.fd = b, .events = POLLIN}};

	for (;;) {
		if (poll(p, 2, 60000) <= 0)
			return;
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0)
				return;
			if (i == 0 && tamper_at >= offset &&
			    tamper_at < offset + n) {
				buf[tamper_at - offset] ^= 0x01;
				fprintf(stderr,
					PROGRAM ": relay: flipped a bit of "
						"byte %lld\n",
					tamper_at);
			}
			if (i == 0)
				offset += n;
			for (ssize_t off = 0; off < n;) {
				ssize_t w = write(p[!i].fd, buf + off,
						  (size_t)(n - off));
				if (w <= 0)
					return;
				off += w;
			}
		}
	}
}

static void print_tls_stat(void)
{
	char line[128];
	FILE *f = fopen("/proc/net/tls_stat", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("  tls_stat %s", line);
	fclose(f);
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end == 'K')
		v <<= 10, end++;
	else if (*end == 'M')
		v <<= 20, end++;
	if (*end || end == s || v == 0 || v > (1ULL << 34)) {
		fprintf(stderr, PROGRAM ": bad size '%s'\n", s);
		exit(2);
	}
	return (size_t)v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROGRAM " [--bytes N] [--cipher aes128|aes256|"
		"chacha20] [--mode ktls|userspace|plain]\n"
		"       [--tamper OFFSET] [--server-key FILE] "
		"[--client-key FILE] [--server-delay MS]\n"
		"       [--worker-filter]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"bytes", required_argument, NULL, 'b'},
		{"cipher", required_argument, NULL, 'c'},
		{"mode", required_argument, NULL, 'm'},
		{"tamper", required_argument, NULL, 't'},
		{"server-key", required_argument, NULL, 's'},
		{"client-key", required_argument, NULL, 'k'},
		{"server-delay", required_argument, NULL, 'd'},
		{"worker-filter", no_argument, NULL, 'w'},
		{0},
	};
	const char *server_key = NULL, *client_key = NULL;
	struct end server, client;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'b':
			total = parse_size(optarg);
			break;
		case 'c':
			if (!strcmp(optarg, "aes128"))
				suites = TLS_SUITE_AES_128_GCM;
			else if (!strcmp(optarg, "aes256"))
				suites = TLS_SUITE_AES_256_GCM;
			else if (!strcmp(optarg, "chacha20"))
				suites = TLS_SUITE_CHACHA20_POLY1305;
			else
				usage();
			break;
		case 'm':
			if (!strcmp(optarg, "ktls"))
				mode = MODE_KTLS;
			else if (!strcmp(optarg, "userspace"))
				mode = MODE_USERSPACE;
			else if (!strcmp(optarg, "plain"))
				mode = MODE_PLAIN;
			else
				usage();
			break;
		case 't':
			tamper_at = (long long)parse_size(optarg);
			break;
		case 's':
			server_key = optarg;
			break;
		case 'k':
			client_key = optarg;
			break;
		case 'd':
			server_delay_ms = (unsigned)parse_size(optarg);
			break;
		case 'w':
#ifndef HAVE_WORKER_FILTER
			fprintf(stderr, PROGRAM ": built without libseccomp\n");
			return 2;
#endif
			worker_filter = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (tamper_at >= 0 && mode == MODE_PLAIN))
		usage();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	end_init(&server, "server", TLS_ROLE_SERVER, server_key);
	end_init(&client, "client", TLS_ROLE_CLIENT, client_key);
	pin(&server, &client);
	pin(&client, &server);

	uint16_t port, relay_port;
	int l = listener(&port);
	pid_t relay_pid = -1;
	if (tamper_at >= 0) {
		int rl = listener(&relay_port);
		relay_pid = fork();
		if (relay_pid == 0) {
			int a = accept4(rl, NULL, NULL, SOCK_CLOEXEC);
			int b = dial(port);
			relay(a, b);
			_exit(0);
		}
		close(rl);
		port = relay_port;
	}
	pid_t server_pid = fork();
	if (server_pid < 0)
		die("fork");
	if (server_pid == 0) {
		server.fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (server.fd < 0)
			die("accept");
		set_timeouts(server.fd);
#ifdef HAVE_WORKER_FILTER
		if (worker_filter) {
			/* The worker ignores SIGPIPE and runs no threads. */
			int r = worker_seccomp_load(-1);
			if (r < 0) {
				fprintf(stderr, PROGRAM ": seccomp: %s\n",
					strerror(-r));
				_exit(1);
			}
			printf("server: the worker's seccomp filter is "
			       "loaded\n");
		}
#endif
		if (mode != MODE_PLAIN && handshake(&server) < 0)
			_exit(1);
		int r = recv_pattern(&server, 0);
		if (tamper_at >= 0) {
			if (r == -1 && errno == EBADMSG) {
				printf("server: the tampered record was "
				       "refused: %s\n",
				       strerror(EBADMSG));
				_exit(0);
			}
			fprintf(stderr, PROGRAM ": server: the tampered "
						"record was not refused\n");
			_exit(1);
		}
		/* Both ends still open: the kernel counts two of each. */
		if (r == 0 && mode == MODE_KTLS && !worker_filter)
			print_tls_stat(); /* openat: not in the filter */
		if (r < 0 || send_pattern(&server, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(l);
	client.fd = dial(port);
	set_timeouts(client.fd);
	int failed = mode != MODE_PLAIN && handshake(&client) < 0;
	if (!failed)
		failed = send_pattern(&client, 0) < 0 && tamper_at < 0;
	if (!failed && tamper_at < 0)
		failed = recv_pattern(&client, 1) < 0;
	close(client.fd);

	int status;
	if (waitpid(server_pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		failed = 1;
	if (WIFSIGNALED(status))
		fprintf(stderr, PROGRAM ": server: killed by signal %d%s\n",
			WTERMSIG(status),
			WTERMSIG(status) == SIGSYS
				? " (SIGSYS: a syscall outside the seccomp "
				  "filter; dmesg has its number)"
				: "");
	if (relay_pid > 0) {
		kill(relay_pid, SIGTERM);
		waitpid(relay_pid, NULL, 0);
	}
	tls_session_free(client.session);
	tls_key_free(client.key);
	tls_key_free(server.key);
	printf("%s\n", failed ? "FAIL" : "OK");
	return failed;
}
