// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test tool: a hostile USB/IP client for the edges of a worker's life: the
 * handshake, a stop, a half-close, and what reaches its log.
 *
 *   hostile-peer [OPTIONS] ADDR ATTACK
 *   hostile-peer [OPTIONS] --spawn ATTACK -- WORKER ARGS...
 *
 * ADDR is a transport address (tcp:HOST:PORT, unix:PATH, vsock:CID:PORT).
 * --spawn starts WORKER ARGS... itself with the other end of a socketpair
 * as fd 3 (so ARGS say "--client fd:3" or "--export-to fd:3"), collects
 * its log (stderr), and checks how it ends (see the options).
 *
 * ATTACKS (BUSID: what to import first):
 *   devlist-flood:N        N OP_REQ_DEVLISTs on one connection, answers
 *                          read and thrown away
 *   devlist-noread:N       N OP_REQ_DEVLISTs, as fast as the socket takes
 *                          them; never reads an answer
 *   trickle                OP_REQ_DEVLISTs without end, one byte every
 *                          500 ms, answers read: every message is quick
 *                          enough for a per-message deadline
 *   stall                  half an op header, then nothing
 *   busid:TEXT             OP_REQ_IMPORT of TEXT (escapes \n \r \t \e \\
 *                          \xNN); expects a refusal
 *   idle:BUSID             import, then nothing
 *   pending:BUSID          import, one 8-byte interrupt IN on ep 1 that a
 *                          keyboard with nothing to type never completes
 *   backlog:BUSID:N        import, N 64 KiB bulk INs on ep 1 (the zero
 *                          device's source), never reads a reply
 *   half-close:BUSID:N     import, a GET_DESCRIPTOR and N 8-byte interrupt
 *                          INs on ep 1, shutdown(SHUT_WR), then reads
 *                          until the end: every request must get exactly
 *                          one reply
 *
 * OPTIONS:
 *   --shutdown             after the attack's requests, shutdown(SHUT_WR)
 *   --count C              C connections, all open at once, the attack
 *                          run on each in turn (ADDR only)
 *   --hold MS              keep the connections this long after the attack
 *                          (default 60000), less if the server closes them
 *   --expect-close-within MS   fail unless the server closed every
 *                          connection within MS of the attack (ADDR only)
 *   --sndbuf BYTES         SO_SNDBUF of the worker's end (--spawn)
 *   --namespaces           start the worker as the broker does, in fresh
 *                          namespaces as uid 65534 (--spawn; root; exits
 *                          77 where that cannot be done)
 *   --term-after MS        SIGTERM the worker MS after the attack (--spawn)
 *   --exit-within MS       fail (and kill it) unless the worker exits within
 *                          MS of the attack, or of the SIGTERM (--spawn;
 *                          default 20000)
 *   --expect-status N      its exit status (--spawn; default 0)
 *   --expect-log TEXT      its log must hold TEXT (repeatable; --spawn)
 *   --expect-cancelled C   half-close: C replies of -ECONNRESET, the rest 0
 *
 * With --spawn every log line must start with the worker's own prefix
 * ("usbip-worker: "): a line that does not was forged. The tool prints
 * what it saw, the worker's exit and its peak RSS, and exits 0 when
 * everything held, 1 when not, 2 for a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "namespace.h"
#include "op_io.h"
#include "transport.h"
#include "wire.h"

#define MAX_CONNS 64
#define MAX_EXPECT 8
#define IO_TIMEOUT_MS 5000
#define LOG_MAX (1 << 20)
#define WORKER_PREFIX "usbip-worker: "
#define BULK_LEN 65536u
#define INTERRUPT_LEN 8u

struct options {
	const char *attack;
	bool shutdown;
	int count;
	int hold_ms;
	int expect_close_ms;
	int sndbuf;
	int term_after_ms;
	int exit_within_ms;
	int expect_status;
	const char *expect_log[MAX_EXPECT];
	int num_expect_log;
	int expect_cancelled;
	bool namespaces;
};

static struct options opt = {
	.count = 1,
	.hold_ms = 60000,
	.expect_close_ms = -1,
	.term_after_ms = -1,
	.exit_within_ms = 20000,
	.expect_cancelled = -1,
};

static pid_t child = -1;
static int child_log = -1;
static char log_text[LOG_MAX];
static size_t log_len;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("hostile-peer: FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		fwrite(log_text, 1, log_len, stderr);
	}
	exit(1);
}

static long long now_ms(void)
{
	return op_io_now_ms();
}

/* ---- the worker's side (--spawn) --------------------------------------- */

static int spawn(char **argv)
{
	int sv[2], logp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(logp, O_CLOEXEC) < 0)
		fail("socketpair: %s", strerror(errno));
	if (opt.sndbuf > 0 && setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF,
					 &opt.sndbuf, sizeof(opt.sndbuf)) < 0)
		fail("SO_SNDBUF: %s", strerror(errno));
	if (opt.namespaces) {
		/* As the broker starts workers; the child keeps our fd 2. */
		char msg[256];
		int saved = dup(2);

		dup2(logp[1], 2);
		child = ns_spawn(argv[0], argv, &sv[1], 1, 65534, 65534, msg,
				 sizeof(msg));
		dup2(saved, 2);
		close(saved);
		if (child < 0) {
			printf("hostile-peer: SKIP: no namespaces here: %s\n",
			       msg);
			exit(77);
		}
	} else {
		child = fork();
		if (child < 0)
			fail("fork: %s", strerror(errno));
		if (child == 0) {
			dup2(sv[1], 3);
			dup2(logp[1], 2);
			execv(argv[0], argv);
			_exit(127);
		}
	}
	close(sv[1]);
	close(logp[1]);
	child_log = logp[0];
	fcntl(child_log, F_SETFL, O_NONBLOCK);
	return sv[0];
}

/* Whatever the worker has logged so far. */
static void collect_log(void)
{
	for (;;) {
		ssize_t r;

		if (child_log < 0 || log_len == sizeof(log_text) - 1)
			return;
		r = read(child_log, log_text + log_len,
			 sizeof(log_text) - 1 - log_len);
		if (r <= 0) {
			if (r == 0) {
				close(child_log);
				child_log = -1;
			}
			return;
		}
		log_len += (size_t)r;
		log_text[log_len] = 0;
	}
}

/* Waits for the worker to exit until `until`; false if it has not. */
static bool wait_exit(long long until, int *status, struct rusage *ru)
{
	for (;;) {
		pid_t r = wait4(child, status, WNOHANG, ru);

		collect_log();
		if (r == child) {
			child = -1;
			return true;
		}
		if (now_ms() >= until)
			return false;
		struct pollfd p = {.fd = child_log, .events = POLLIN};
		poll(&p, child_log >= 0, 10);
	}
}

/* ---- bytes to and from the server -------------------------------------- */

/* Writes all of p unless the peer stops taking it for `patience` ms;
 * returns how much went. A server that closes ends it early. */
static size_t send_some(int fd, const void *p, size_t len, int patience)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, (const char *)p + done, len - done);
		if (w > 0) {
			done += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			break;
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		if (poll(&pf, 1, patience) <= 0 ||
		    (pf.revents & (POLLERR | POLLHUP)))
			break;
	}
	return done;
}

static void send_all(int fd, const void *p, size_t len)
{
	if (send_some(fd, p, len, IO_TIMEOUT_MS) != len)
		fail("the server stopped taking requests");
}

static void send_op(int fd, uint16_t code, const char *busid)
{
	struct usbip_op_message m = {.header.code = code};
	uint8_t b[8 + USBIP_BUSID_LEN];
	long n;

	if (busid)
		memcpy(m.busid, busid, strnlen(busid, USBIP_BUSID_LEN - 1));
	n = usbip_op_encode(&m, b, sizeof(b));
	if (n < 0)
		fail("encoding %s", usbip_op_code_name(code));
	send_all(fd, b, (size_t)n);
}

/* Reads and throws away what is there; false once the server closed. */
static bool discard(int fd)
{
	static uint8_t sink[65536];

	for (;;) {
		ssize_t r = read(fd, sink, sizeof(sink));
		if (r > 0)
			continue;
		return r < 0 && (errno == EAGAIN || errno == EINTR);
	}
}

/* Has the server closed (or reset) fd? Reads nothing. */
static bool server_closed(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};

	return poll(&p, 1, 0) > 0 &&
	       (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void set_nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static uint32_t devid;

static void import(int fd, const char *busid)
{
	struct usbip_op_message rep;
	char msg[256];

	send_op(fd, USBIP_OP_REQ_IMPORT, busid);
	if (op_io_read(fd, IO_TIMEOUT_MS, &rep, msg, sizeof(msg)) < 0)
		fail("import: %s", msg);
	if (rep.header.code != USBIP_OP_REP_IMPORT || rep.header.status)
		fail("import of %s refused", busid);
	devid = rep.device.busnum << 16 | rep.device.devnum;
}

static void submit(uint8_t *b, uint32_t seqnum, uint32_t dir, uint32_t ep,
		   uint32_t len, const uint8_t setup[8])
{
	struct usbip_urb_header h = {.command = USBIP_CMD_SUBMIT,
				     .seqnum = seqnum,
				     .devid = devid,
				     .direction = dir,
				     .ep = ep};

	h.u.submit.transfer_buffer_length = len;
	if (setup)
		memcpy(h.u.submit.setup, setup, 8);
	usbip_urb_header_pack(&h, b);
}

static const uint8_t get_device_descriptor[8] = {0x80, 6, 0, 1, 0, 0, 18, 0};

/* ---- attacks ----------------------------------------------------------- */

static void devlist_flood(int fd, unsigned long n)
{
	uint8_t req[8];
	unsigned long sent = 0;
	size_t part = 0;
	struct usbip_op_message m = {.header.code = USBIP_OP_REQ_DEVLIST};

	usbip_op_encode(&m, req, sizeof(req));
	set_nonblocking(fd);
	while (sent < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
		if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
			break;
		if ((p.revents & POLLIN) && !discard(fd))
			break;
		if (!(p.revents & POLLOUT))
			continue;
		ssize_t w = write(fd, req + part, sizeof(req) - part);
		if (w < 0 && errno != EAGAIN)
			break;
		if (w > 0 && (part += (size_t)w) == sizeof(req))
			part = 0, sent++;
	}
	printf("hostile-peer: %lu device list requests sent\n", sent);
}

static void devlist_noread(int fd, unsigned long n)
{
	static uint8_t reqs[8 * 4096];
	struct usbip_op_message m = {.header.code = USBIP_OP_REQ_DEVLIST};
	unsigned long sent = 0;

	for (size_t i = 0; i < sizeof(reqs); i += 8)
		usbip_op_encode(&m, reqs + i, 8);
	set_nonblocking(fd);
	while (sent < n) {
		size_t want = (n - sent) * 8 < sizeof(reqs) ? (n - sent) * 8
							    : sizeof(reqs);
		size_t got = send_some(fd, reqs, want, 500);
		sent += got / 8;
		if (got < want)
			break;
	}
	printf("hostile-peer: %lu device list requests sent, none read\n",
	       sent);
}

static void trickle(int fd, long long until)
{
	struct usbip_op_message m = {.header.code = USBIP_OP_REQ_DEVLIST};
	uint8_t req[8];
	unsigned long bytes = 0;

	usbip_op_encode(&m, req, sizeof(req));
	set_nonblocking(fd);
	while (now_ms() < until) {
		if (write(fd, req + bytes % 8, 1) != 1)
			break;
		bytes++;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 500) > 0 && !discard(fd))
			break;
	}
	printf("hostile-peer: trickled %lu bytes\n", bytes);
}

static void stall(int fd)
{
	static const uint8_t half[4] = {0x01, 0x11, 0x80, 0x05};

	send_all(fd, half, sizeof(half));
}

/* TEXT with C escapes, as a busid (at most 31 bytes). */
static void unescape(const char *text, char out[USBIP_BUSID_LEN])
{
	size_t n = 0;

	memset(out, 0, USBIP_BUSID_LEN);
	while (*text && n < USBIP_BUSID_LEN - 1) {
		char c = *text++;
		if (c == '\\' && *text) {
			c = *text++;
			switch (c) {
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'e':
				c = 0x1b;
				break;
			case 'x': {
				char hex[3] = {text[0], text[0] ? text[1] : 0,
					       0};
				c = (char)strtoul(hex, NULL, 16);
				text += strlen(hex);
				break;
			}
			}
		}
		out[n++] = c;
	}
}

static char busid_sent[USBIP_BUSID_LEN];

static void busid_attack(int fd, const char *text)
{
	struct usbip_op_message rep;
	char msg[256];

	unescape(text, busid_sent);
	send_op(fd, USBIP_OP_REQ_IMPORT, busid_sent);
	if (op_io_read(fd, IO_TIMEOUT_MS, &rep, msg, sizeof(msg)) == 0 &&
	    rep.header.code == USBIP_OP_REP_IMPORT && rep.header.status == 0)
		fail("the import of a busid with control bytes was granted");
	printf("hostile-peer: busid refused\n");
}

static void pending(int fd, const char *busid)
{
	uint8_t b[USBIP_URB_HEADER_LEN];

	import(fd, busid);
	submit(b, 1, USBIP_DIR_IN, 1, INTERRUPT_LEN, NULL);
	send_all(fd, b, sizeof(b));
}

static void backlog(int fd, const char *busid, unsigned long n)
{
	uint8_t b[USBIP_URB_HEADER_LEN];
	unsigned long sent = 0;

	import(fd, busid);
	set_nonblocking(fd);
	for (; sent < n; sent++) {
		submit(b, (uint32_t)sent + 1, USBIP_DIR_IN, 1, BULK_LEN, NULL);
		if (send_some(fd, b, sizeof(b), 300) != sizeof(b))
			break;
	}
	printf("hostile-peer: %lu bulk INs of %u bytes sent, none read\n", sent,
	       BULK_LEN);
}

/* Every request this tool makes is IN. */
static int all_in(void *opaque, uint32_t seqnum)
{
	(void)opaque, (void)seqnum;
	return 1;
}

static void half_close(int fd, const char *busid, unsigned long n)
{
	uint8_t *b = calloc(n + 1, USBIP_URB_HEADER_LEN);
	unsigned char *seen = calloc(n + 2, 1);
	struct usbip_urb_reader reader;
	unsigned long replies = 0, ok = 0, cancelled = 0;
	long long t0;

	if (!b || !seen)
		fail("out of memory");
	import(fd, busid);
	submit(b, 1, USBIP_DIR_IN, 0, 18, get_device_descriptor);
	for (unsigned long i = 1; i <= n; i++)
		submit(b + i * USBIP_URB_HEADER_LEN, (uint32_t)i + 1,
		       USBIP_DIR_IN, 1, INTERRUPT_LEN, NULL);
	/* Requests and the end in one go: the server sees both at once. */
	send_all(fd, b, (n + 1) * USBIP_URB_HEADER_LEN);
	if (shutdown(fd, SHUT_WR) < 0)
		fail("shutdown: %s", strerror(errno));
	t0 = now_ms();
	usbip_urb_reader_init(&reader, USBIP_ROLE_CLIENT, 1 << 20, all_in,
			      NULL);
	for (;;) {
		const struct usbip_urb_frame *f;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint8_t *dst;
		size_t want;

		if (poll(&p, 1, 20000) <= 0)
			fail("no end after the half-close");
		usbip_urb_reader_next(&reader, &dst, &want);
		ssize_t got = read(fd, dst, want);
		if (got <= 0)
			break;
		int r = usbip_urb_reader_advance(&reader, (size_t)got, &f,
						 NULL);
		if (r < 0)
			fail("a malformed reply");
		if (r == 0)
			continue;
		uint32_t seq = f->header.seqnum;
		if (f->header.command != USBIP_RET_SUBMIT || seq == 0 ||
		    seq > n + 1 || seen[seq]++)
			fail("an unexpected or repeated reply, seqnum %u", seq);
		replies++;
		if (f->header.u.ret_submit.status == 0)
			ok++;
		else if (f->header.u.ret_submit.status == -ECONNRESET)
			cancelled++;
		else
			fail("seqnum %u: status %d", seq,
			     f->header.u.ret_submit.status);
	}
	usbip_urb_reader_clear(&reader);
	printf("hostile-peer: half-closed after %lu requests: %lu replies "
	       "(%lu done, %lu cancelled), the end after %lld ms\n",
	       n + 1, replies, ok, cancelled, now_ms() - t0);
	if (replies != n + 1)
		fail("%lu requests, %lu replies", n + 1, replies);
	if (opt.expect_cancelled >= 0 &&
	    cancelled != (unsigned long)opt.expect_cancelled)
		fail("expected %d cancelled", opt.expect_cancelled);
	free(b);
	free(seen);
}

/* Runs the attack on fd; returns whether it is one that leaves the
 * connection to the server (rather than reading it to the end). */
static bool attack(int fd)
{
	const char *a = opt.attack;
	unsigned long n;
	char busid[USBIP_BUSID_LEN];
	int used = 0;

	if (sscanf(a, "devlist-flood:%lu%n", &n, &used) == 1 && !a[used])
		devlist_flood(fd, n);
	else if (sscanf(a, "devlist-noread:%lu%n", &n, &used) == 1 && !a[used])
		devlist_noread(fd, n);
	else if (!strcmp(a, "trickle"))
		trickle(fd, now_ms() + (child > 0 ? opt.exit_within_ms
						  : opt.hold_ms));
	else if (!strcmp(a, "stall"))
		stall(fd);
	else if (!strncmp(a, "busid:", 6))
		busid_attack(fd, a + 6);
	else if (!strncmp(a, "idle:", 5))
		import(fd, a + 5);
	else if (!strncmp(a, "pending:", 8))
		pending(fd, a + 8);
	else if (sscanf(a, "backlog:%31[^:]:%lu", busid, &n) == 2)
		backlog(fd, busid, n);
	else if (sscanf(a, "half-close:%31[^:]:%lu", busid, &n) == 2) {
		half_close(fd, busid, n);
		return false;
	} else {
		fprintf(stderr, "hostile-peer: unknown attack '%s'\n", a);
		exit(2);
	}
	if (opt.shutdown && shutdown(fd, SHUT_WR) < 0)
		fail("shutdown: %s", strerror(errno));
	return true;
}

/* ---- checks ------------------------------------------------------------ */

static void check_log(void)
{
	char escaped[4 * USBIP_BUSID_LEN + 1];

	for (const char *line = log_text; *line;) {
		const char *end = strchr(line, '\n');
		if (strncmp(line, WORKER_PREFIX, strlen(WORKER_PREFIX)))
			fail("a log line that is not the worker's: %.*s",
			     (int)(end ? end - line : (long)strlen(line)),
			     line);
		if (!end)
			break;
		line = end + 1;
	}
	for (int i = 0; i < opt.num_expect_log; i++)
		if (!strstr(log_text, opt.expect_log[i]))
			fail("the log lacks \"%s\"", opt.expect_log[i]);
	if (busid_sent[0]) {
		log_escape(busid_sent, escaped, sizeof(escaped));
		if (!strstr(log_text, escaped))
			fail("the log lacks the busid escaped: %s", escaped);
	}
}

static int run_spawned(char **worker)
{
	struct rusage ru = {0};
	long long t0, until;
	int fd, status;
	bool leave;

	signal(SIGPIPE, SIG_IGN);
	fd = spawn(worker);
	t0 = now_ms();
	leave = attack(fd);
	if (!leave)
		close(fd);
	until = t0 + opt.exit_within_ms;
	if (opt.term_after_ms >= 0) {
		if (wait_exit(now_ms() + opt.term_after_ms, &status, &ru))
			fail("the worker exited before the SIGTERM");
		kill(child, SIGTERM);
		t0 = now_ms();
		until = t0 + opt.exit_within_ms;
	}
	if (!wait_exit(until, &status, &ru))
		fail("the worker was still there %d ms after the %s",
		     opt.exit_within_ms,
		     opt.term_after_ms >= 0 ? "SIGTERM" : "attack");
	long long took = now_ms() - t0;
	while (child_log >= 0) {
		struct pollfd p = {.fd = child_log, .events = POLLIN};
		if (poll(&p, 1, 1000) <= 0)
			break;
		collect_log();
	}
	fwrite(log_text, 1, log_len, stderr);
	if (WIFSIGNALED(status))
		fail("the worker was killed by signal %d", WTERMSIG(status));
	printf("hostile-peer: the worker exited %d %lld ms after the %s; "
	       "peak RSS %ld KiB\n",
	       WEXITSTATUS(status), took,
	       opt.term_after_ms >= 0 ? "SIGTERM" : "attack", ru.ru_maxrss);
	if (WEXITSTATUS(status) != opt.expect_status)
		fail("exit status %d, expected %d", WEXITSTATUS(status),
		     opt.expect_status);
	check_log();
	if (leave)
		close(fd);
	printf("hostile-peer: %s: as expected\n", opt.attack);
	return 0;
}

static int run_connected(const char *addr)
{
	struct transport_addr a;
	char msg[256];
	int fds[MAX_CONNS];
	long long t0, closed_at[MAX_CONNS];
	int open = 0;

	signal(SIGPIPE, SIG_IGN);
	if (transport_parse(addr, &a, msg, sizeof(msg)) < 0)
		fail("%s", msg);
	for (int i = 0; i < opt.count; i++) {
		fds[i] = transport_connect(&a, msg, sizeof(msg));
		if (fds[i] < 0)
			fail("connection %d: %s", i + 1, msg);
	}
	t0 = now_ms();
	for (int i = 0; i < opt.count; i++) {
		closed_at[i] = -1;
		if (attack(fds[i])) {
			open++;
		} else {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	while (open && now_ms() < t0 + opt.hold_ms) {
		for (int i = 0; i < opt.count; i++)
			if (fds[i] >= 0 && closed_at[i] < 0 &&
			    server_closed(fds[i])) {
				closed_at[i] = now_ms() - t0;
				open--;
			}
		if (opt.expect_close_ms >= 0 &&
		    now_ms() > t0 + opt.expect_close_ms)
			break;
		usleep(10000);
	}
	for (int i = 0; i < opt.count; i++) {
		if (fds[i] < 0)
			continue;
		if (closed_at[i] >= 0)
			printf("hostile-peer: connection %d: the server "
			       "closed it after %lld ms\n",
			       i + 1, closed_at[i]);
		else
			printf("hostile-peer: connection %d: still open "
			       "after %lld ms\n",
			       i + 1, now_ms() - t0);
		if (opt.expect_close_ms >= 0 &&
		    (closed_at[i] < 0 || closed_at[i] > opt.expect_close_ms))
			fail("connection %d was not closed within %d ms", i + 1,
			     opt.expect_close_ms);
		close(fds[i]);
	}
	printf("hostile-peer: %s: done\n", opt.attack);
	return 0;
}

static int number(const char *text, int min, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max) {
		fprintf(stderr,
			"hostile-peer: %s: not a number from %d to "
			"%d\n",
			text, min, max);
		exit(2);
	}
	return (int)v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: hostile-peer [OPTIONS] ADDR ATTACK\n"
		"       hostile-peer [OPTIONS] --spawn ATTACK -- WORKER "
		"ARGS...\n"
		"(the attacks and options are described at the top of "
		"tests/tools/hostile-peer.c)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"spawn", no_argument, NULL, 'S'},
		{"shutdown", no_argument, NULL, 'w'},
		{"count", required_argument, NULL, 'c'},
		{"hold", required_argument, NULL, 'H'},
		{"expect-close-within", required_argument, NULL, 'C'},
		{"sndbuf", required_argument, NULL, 'b'},
		{"term-after", required_argument, NULL, 't'},
		{"exit-within", required_argument, NULL, 'x'},
		{"expect-status", required_argument, NULL, 's'},
		{"expect-log", required_argument, NULL, 'l'},
		{"expect-cancelled", required_argument, NULL, 'k'},
		{"namespaces", no_argument, NULL, 'N'},
		{0},
	};
	bool spawned = false;
	int c;

	while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		switch (c) {
		case 'S':
			spawned = true;
			break;
		case 'w':
			opt.shutdown = true;
			break;
		case 'c':
			opt.count = number(optarg, 1, MAX_CONNS);
			break;
		case 'H':
			opt.hold_ms = number(optarg, 0, 3600000);
			break;
		case 'C':
			opt.expect_close_ms = number(optarg, 0, 3600000);
			break;
		case 'b':
			opt.sndbuf = number(optarg, 1, 1 << 24);
			break;
		case 't':
			opt.term_after_ms = number(optarg, 0, 3600000);
			break;
		case 'x':
			opt.exit_within_ms = number(optarg, 1, 3600000);
			break;
		case 's':
			opt.expect_status = number(optarg, 0, 255);
			break;
		case 'l':
			if (opt.num_expect_log == MAX_EXPECT)
				usage();
			opt.expect_log[opt.num_expect_log++] = optarg;
			break;
		case 'k':
			opt.expect_cancelled = number(optarg, 0, 1 << 20);
			break;
		case 'N':
			opt.namespaces = true;
			break;
		default:
			usage();
		}
	}
	if (spawned) {
		if (argc - optind < 3 || strcmp(argv[optind + 1], "--"))
			usage();
		opt.attack = argv[optind];
		return run_spawned(argv + optind + 2);
	}
	if (argc - optind != 2)
		usage();
	opt.attack = argv[optind + 1];
	return run_connected(argv[optind]);
}
