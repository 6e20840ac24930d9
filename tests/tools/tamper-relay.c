// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test tool: an attacker on the path of a TLS session. A TCP relay that
 * forwards both ways and, once, flips one bit of the bytes going in one
 * direction, for a record that must then fail its authentication at the
 * receiving end (kTLS's receive fails with EBADMSG) and end the session.
 *
 *   tamper-relay --listen ADDR --to ADDR --direction up|down --after N
 *                [--record] [--bit B] [--arm-on-usr1] [--sessions S]
 *
 *   --listen ADDR   where the client connects (tcp:HOST:PORT, unix:PATH...)
 *   --to ADDR       where the relay connects for each client (the server)
 *   --direction D   up: the bytes the client sends to the server; down:
 *                   the server's replies to the client
 *   --after N       flip a bit of byte N (counted from 0) of that direction
 *   --record        instead, flip a bit in the middle of the payload of the
 *                   first TLS record that starts at byte N or later (the
 *                   relay follows the 5-byte record headers from the first
 *                   byte): the header stays intact, so the receiver takes
 *                   the record whole and its authentication fails, rather
 *                   than the framing
 *   --bit B         which bit of the byte (0-7, default 0)
 *   --arm-on-usr1   count N from the moment the relay gets SIGUSR1 (bytes
 *                   of that direction relayed by then do not count), so a
 *                   scenario can aim at a read it has started; nothing is
 *                   flipped before the signal
 *   --sessions S    relay S connections one after another (default 1);
 *                   only the first is tampered with
 *
 * stdout: "listening on ADDR" once it listens; stderr: one line when it
 * flips ("flipped bit B of byte N up (record at byte R, L bytes)") and
 * one per connection at its end (bytes each way). Exit status: 0 when it
 * flipped the bit, 1 when a session ended before that byte came (or on a
 * failure), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport.h"

#define PROGRAM "tamper-relay"
#define TLS_RECORD_HEADER 5

enum { UP = 0, DOWN = 1 };

static volatile sig_atomic_t armed_signal;

struct tamper {
	int direction;
	uint64_t after;
	unsigned bit;
	bool record;
	bool arm_on_usr1;
	bool armed;	 /* counting toward the target */
	uint64_t target; /* the byte (or the first record start) to hit */
	bool flipped;
	/* --record: the framing of the tampered direction. */
	uint8_t header[TLS_RECORD_HEADER];
	size_t header_len;
	uint64_t record_start; /* stream offset of the current record */
	size_t body_len, body_seen;
};

static void on_usr1(int sig)
{
	(void)sig;
	armed_signal = 1;
}

static const char *direction_name(int d)
{
	return d == UP ? "up" : "down";
}

static void flip(struct tamper *t, uint8_t *byte, uint64_t offset)
{
	*byte ^= (uint8_t)(1u << t->bit);
	t->flipped = true;
	if (t->record)
		fprintf(stderr,
			PROGRAM ": flipped bit %u of byte %llu %s (record at "
				"byte %llu, %zu bytes)\n",
			t->bit, (unsigned long long)offset,
			direction_name(t->direction),
			(unsigned long long)t->record_start, t->body_len);
	else
		fprintf(stderr, PROGRAM ": flipped bit %u of byte %llu %s\n",
			t->bit, (unsigned long long)offset,
			direction_name(t->direction));
}

/* Looks at buf, the bytes at stream offset..offset+n of the tampered
 * direction, and flips the chosen bit if it is among them. */
static void tamper_bytes(struct tamper *t, uint8_t *buf, size_t n,
			 uint64_t offset)
{
	if (t->arm_on_usr1 && !t->armed && armed_signal) {
		t->armed = true;
		t->target = offset + t->after;
		fprintf(stderr, PROGRAM ": armed at byte %llu %s\n",
			(unsigned long long)offset,
			direction_name(t->direction));
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t at = offset + i;

		if (!t->record) {
			if (t->armed && !t->flipped && at == t->target)
				flip(t, &buf[i], at);
			continue;
		}
		if (t->header_len < TLS_RECORD_HEADER) {
			if (t->header_len == 0)
				t->record_start = at;
			t->header[t->header_len++] = buf[i];
			if (t->header_len == TLS_RECORD_HEADER) {
				t->body_len = (size_t)t->header[3] << 8 |
					      t->header[4];
				t->body_seen = 0;
				if (t->body_len == 0)
					t->header_len = 0;
			}
			continue;
		}
		if (t->armed && !t->flipped && t->record_start >= t->target &&
		    t->body_seen == t->body_len / 2)
			flip(t, &buf[i], at);
		if (++t->body_seen == t->body_len)
			t->header_len = 0;
	}
}

static int write_all(int fd, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Forwards between client and server until either side ends. */
static void relay(int client, int server, struct tamper *t)
{
	static uint8_t buf[65536];
	uint64_t moved[2] = {0, 0};
	struct pollfd p[2] = {{.fd = client, .events = POLLIN},
			      {.fd = server, .events = POLLIN}};

	for (;;) {
		int r = poll(p, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		bool ended = false;
		for (int d = UP; d <= DOWN && !ended; d++) {
			if (!(p[d].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[d].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ended = true;
				break;
			}
			if (t && d == t->direction)
				tamper_bytes(t, buf, (size_t)n, moved[d]);
			moved[d] += (uint64_t)n;
			if (write_all(p[!d].fd, buf, (size_t)n) < 0)
				ended = true;
		}
		if (ended)
			break;
	}
	fprintf(stderr,
		PROGRAM ": connection ended: %llu bytes up, %llu "
			"bytes down\n",
		(unsigned long long)moved[UP], (unsigned long long)moved[DOWN]);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROGRAM
		" --listen ADDR --to ADDR --direction up|down "
		"--after N\n"
		"       [--record] [--bit B] [--arm-on-usr1] [--sessions S]\n");
	exit(2);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"listen", required_argument, NULL, 'l'},
		{"to", required_argument, NULL, 't'},
		{"direction", required_argument, NULL, 'd'},
		{"after", required_argument, NULL, 'a'},
		{"record", no_argument, NULL, 'r'},
		{"bit", required_argument, NULL, 'b'},
		{"arm-on-usr1", no_argument, NULL, 'u'},
		{"sessions", required_argument, NULL, 's'},
		{0},
	};
	const char *listen_at = NULL, *to = NULL;
	struct tamper t = {.direction = -1, .armed = true};
	uint64_t after = UINT64_MAX, bit = 0, sessions = 1;
	struct transport_addr la, ta;
	char msg[256];
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_at = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'd':
			if (!strcmp(optarg, "up"))
				t.direction = UP;
			else if (!strcmp(optarg, "down"))
				t.direction = DOWN;
			else
				usage();
			break;
		case 'a':
			if (!parse_u64(optarg, UINT64_MAX - 1, &after))
				usage();
			break;
		case 'r':
			t.record = true;
			break;
		case 'b':
			if (!parse_u64(optarg, 7, &bit))
				usage();
			break;
		case 'u':
			t.arm_on_usr1 = true;
			t.armed = false;
			break;
		case 's':
			if (!parse_u64(optarg, 1000000, &sessions) ||
			    sessions == 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !listen_at || !to || t.direction < 0 ||
	    after == UINT64_MAX)
		usage();
	t.after = t.target = after;
	t.bit = (unsigned)bit;

	if (transport_parse(listen_at, &la, msg, sizeof(msg)) < 0 ||
	    transport_parse(to, &ta, msg, sizeof(msg)) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", msg);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* No SA_RESTART: the signal wakes the relay's poll. */
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);

	int l = transport_listen(&la, 4, msg, sizeof(msg));
	if (l < 0) {
		fprintf(stderr, PROGRAM ": %s\n", msg);
		return 1;
	}
	printf("listening on %s\n", listen_at);
	fflush(stdout);
	for (uint64_t i = 0; i < sessions; i++) {
		int client;
		do
			client = transport_accept(l, NULL, 0);
		while (client == -EINTR);
		if (client < 0) {
			fprintf(stderr, PROGRAM ": accept: %s\n",
				strerror(-client));
			return 1;
		}
		int server = transport_connect(&ta, msg, sizeof(msg));
		if (server < 0) {
			fprintf(stderr, PROGRAM ": %s\n", msg);
			close(client);
			return 1;
		}
		relay(client, server, i == 0 ? &t : NULL);
		close(client);
		close(server);
	}
	close(l);
	if (!t.flipped)
		fprintf(stderr,
			PROGRAM ": the session ended before the byte to "
				"flip\n");
	return t.flipped ? 0 : 1;
}
