// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test tool: a scripted USB/IP client for a worker serving a mass-storage
 * gadget or a simulated device. It imports BUSID from ADDR and runs one
 * script:
 *
 *   unlink-pending    a bulk IN that can never complete (no command sent),
 *                     then its unlink: exactly one RET_UNLINK -ECONNRESET
 *                     and no RET_SUBMIT for it
 *   unlink-completed  a GET_DESCRIPTOR, its RET_SUBMIT (status 0, 18
 *                     bytes), then its unlink: RET_UNLINK status 0, and
 *                     nothing more
 *   unlink-race       a GET_DESCRIPTOR and its unlink in one write, so the
 *                     unlink reaches a URB the device has answered but
 *                     the worker has not reported: the real RET_SUBMIT
 *                     (status 0, 18 bytes), then RET_UNLINK status 0, as
 *                     the kernel stub answers
 *   inflight-64       64 GET_DESCRIPTORs in one write: 64 replies, each
 *                     seqnum once, each 18 bytes
 *   hostile-NAME      one malformed request (see hostile[] below): the
 *                     worker must close the connection without replying
 *   setup-time        benchmark: milliseconds from before the connect to
 *                     OP_REP_IMPORT and to a first GET_DESCRIPTOR's answer
 *   rate-DEPTH-COUNT  benchmark: COUNT GET_DESCRIPTORs with DEPTH in
 *                     flight; prints URBs per second
 *   hold-BYTES-SECONDS  bulk INs on ep 1 that never complete, as many as
 *                     BYTES of in-flight budget take (each URB counted as
 *                     the worker counts it, URB_USBFS_OVERHEAD included),
 *                     held SECONDS: any reply (a usbfs -ENOMEM, a refusal)
 *                     fails. Prints "holding" once all are in.
 *
 * and for the simulated devices (daemons/worker/simdev.h):
 *
 *   enumerate         device, configuration and string descriptors read
 *                     and parsed like a host would
 *   type:TEXT         the keyboard's interrupt reports decode to TEXT
 *   control-64k       vendor control IN (0xc0 0x5c: the pattern i % 63)
 *                     and OUT (0x40 0x5b) of 4097 to 65535 bytes, 8 in
 *                     flight with a GET_DESCRIPTOR: all answered in full
 *   short-control     every answer asked with wLength 0 and 1: none
 *                     longer than asked (run it under ASan)
 *   iso-loopback      1 s of audio played (iso OUT) comes back (iso IN)
 *                     bit-exact
 *   bulk-DEPTH-MIB    benchmark: MIB MiB in and out of the source/sink in
 *                     64 KiB URBs, DEPTH in flight; prints MB/s
 *   order-control     ep0 requests queued behind a slow one (vendor 0xc0
 *                     0x5d, answered 200 ms late): answered, stalled and
 *                     worker-handled (SET_INTERFACE, CLEAR_HALT,
 *                     SET_CONFIGURATION) mixed; the replies come in
 *                     seqnum order with the expected statuses
 *   order-bulk        bulk INs on 0x81 behind a busy source (vendor 0x40
 *                     0x5e), good ones mixed with zero-length reads the
 *                     source refuses at submission and an unlinked one:
 *                     RET_SUBMITs of the endpoint in seqnum order, the
 *                     unlinked URB answered by its RET_UNLINK alone
 *   sandboxed         the serving worker shows Seccomp 2, NoNewPrivs 1,
 *                     CapEff 0 (needs --spawn)
 *   import-busy       (--spawn, worker with --broker-fd 4) the probe plays
 *                     the broker on fd 4 and refuses the device as in
 *                     use (-EBUSY): OP_REP_IMPORT must carry upstream
 *                     usbipd's ST_DEV_BUSY (2), "Device busy" to
 *                     upstream clients
 *   import-gone       the same with -ENODEV: ST_NODEV (4)
 *   qubes-SCRIPT      (worker with --qubes) no OP_REQ_IMPORT: the
 *                     worker's line "DEVID 480\n" (a device on bus 1,
 *                     high speed) must come first, then SCRIPT runs
 *   forbidden-syscall a test-hooks worker that makes a forbidden syscall
 *                     is killed by SIGSYS (needs --spawn)
 *   idle-cpu-PERIOD-COUNT-MAXMS  (--spawn, the keyboard, a worker with
 *                     --busy-poll) an interrupt IN the keyboard never
 *                     answers stays in flight while COUNT
 *                     GET_DESCRIPTORs come PERIOD ms apart: the worker's
 *                     CPU meanwhile (its scheduler runtime) stays below
 *                     MAXMS: a quiet session does not spin a budget per
 *                     wakeup
 *   slow-client-PERIOD-COUNT-MAXMS  the same without the interrupt IN:
 *                     nothing in flight between the requests, so the
 *                     spins that wait for the client's next request
 *                     must back off by themselves
 *   no-sleep-COUNT    (--spawn, a worker with --busy-poll) COUNT
 *                     GET_DESCRIPTORs one at a time: the worker sleeps
 *                     (voluntary context switches) for fewer than a
 *                     quarter of them, so the busy-poll does catch them
 *   trickle-cpu-PERIOD_US-COUNT-MAXPCT  (--spawn, the keyboard, a worker
 *                     with --busy-poll) an interrupt IN never answered
 *                     stays in flight while COUNT bytes of CMD_UNLINKs
 *                     (of unknown seqnums) come one at a time PERIOD_US
 *                     apart: the worker's CPU stays below MAXPCT % of the
 *                     wall time (bytes that are not what a spin awaits
 *                     must not keep it spinning)
 *   noop-unlink-cpu-PERIOD_MS-COUNT-MAXPCT  (--spawn, a worker with
 *                     --busy-poll) nothing in flight, COUNT CMD_UNLINKs of
 *                     unknown seqnums PERIOD_MS apart, each RET_UNLINK
 *                     read: the worker's CPU stays below MAXPCT % of the
 *                     wall time (the cap on spin time per window)
 *
 * Exit status 0 when the worker behaved as the script expects.
 *   usbip-probe ADDR BUSID SCRIPT
 *   usbip-probe --spawn BUSID SCRIPT -- WORKER ARGS...
 *
 * With USBIP_PROBE_GO_FILE=PATH in the environment the probe waits after
 * the import until PATH exists before it runs the script, and after it,
 * the session still open, until PATH is gone (benchmarks read the
 * server's CPU for the session before and after).
 *
 * --spawn starts the worker itself with "--client fd:3" on one end of a
 * socketpair, and afterwards requires that it exited 0 (a refused session
 * included) and, for hostile scripts, that it logged the refusal.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "op_io.h"
#include "transport.h"
#include "usb_model.h"
#include "validate.h"
#include "wire.h"

#define TIMEOUT_MS 5000
#define MAX_SEQ 256

static int fd;
static uint32_t devid;
static int sent_dir[MAX_SEQ]; /* 0 none, 1 OUT, 2 IN */

static void fail(const char *what)
{
	fprintf(stderr, "usbip-probe: FAIL: %s\n", what);
	exit(1);
}

/*
 * Requests go out through a staging buffer. Outside a batch each
 * send_all() is written at once (the scripts that test the worker's
 * parsing rely on where one write ends); inside one (batch_begin() to
 * flush()) a whole window of requests leaves in one write, so that the
 * benchmarks measure the worker and not the probe's own syscalls.
 */
static uint8_t tx_buf[1 << 20];
static size_t tx_len;
static bool batching;

static void flush(void)
{
	const uint8_t *p = tx_buf;

	while (tx_len) {
		ssize_t w = write(fd, p, tx_len);
		if (w <= 0)
			fail("write to the worker");
		p += w;
		tx_len -= (size_t)w;
	}
	batching = false;
}

static void batch_begin(void)
{
	batching = true;
}

static void send_all(const uint8_t *p, size_t len)
{
	while (len) {
		size_t n = sizeof(tx_buf) - tx_len;
		if (n == 0) {
			bool keep = batching;
			flush();
			batching = keep;
			continue;
		}
		n = n < len ? n : len;
		memcpy(tx_buf + tx_len, p, n);
		tx_len += n;
		p += n;
		len -= n;
	}
	if (!batching)
		flush();
}

static void submit(uint32_t seqnum, uint32_t dir, uint32_t ep, uint32_t len,
		   const uint8_t setup[8])
{
	struct usbip_urb_header h = {.command = USBIP_CMD_SUBMIT,
				     .seqnum = seqnum,
				     .devid = devid,
				     .direction = dir,
				     .ep = ep};
	uint8_t b[USBIP_URB_HEADER_LEN];

	h.u.submit.transfer_buffer_length = len;
	if (setup)
		memcpy(h.u.submit.setup, setup, 8);
	usbip_urb_header_pack(&h, b);
	send_all(b, sizeof(b));
	if (seqnum < MAX_SEQ)
		sent_dir[seqnum] = dir == USBIP_DIR_IN ? 2 : 1;
}

static void unlink_urb(uint32_t seqnum, uint32_t victim)
{
	struct usbip_urb_header h = {
		.command = USBIP_CMD_UNLINK, .seqnum = seqnum, .devid = devid};
	uint8_t b[USBIP_URB_HEADER_LEN];

	h.u.unlink.seqnum = victim;
	usbip_urb_header_pack(&h, b);
	send_all(b, sizeof(b));
	if (seqnum < MAX_SEQ)
		sent_dir[seqnum] = 1;
}

static int direction_of(void *opaque, uint32_t seqnum)
{
	(void)opaque;
	if (seqnum >= MAX_SEQ || !sent_dir[seqnum])
		return -ENOENT;
	return sent_dir[seqnum] == 2;
}

static struct usbip_urb_reader reader;

/*
 * Replies come in through a large read buffer: one read takes every reply
 * the worker has written so far, and the frames are cut from it without
 * further syscalls. A large data stage with nothing buffered is read
 * straight into the reader. The wait is the socket's receive timeout
 * (set only when it changes), so a read is one syscall, not a poll and a
 * read; poll stands in on a descriptor that is not a socket.
 */
static uint8_t rx_buf[1 << 20];
static size_t rx_head, rx_tail;
static int rx_timeout_ms = -1; /* the SO_RCVTIMEO in force; -1 none */
static bool rx_poll;	       /* not a socket: poll before each read */

static bool set_rx_timeout(int timeout_ms)
{
	if (timeout_ms <= 0)
		timeout_ms = 1;
	if (rx_poll)
		return false;
	if (timeout_ms == rx_timeout_ms)
		return true;
	struct timeval tv = {.tv_sec = timeout_ms / 1000,
			     .tv_usec = (timeout_ms % 1000) * 1000};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		rx_poll = true;
		return false;
	}
	rx_timeout_ms = timeout_ms;
	return true;
}

/* Bytes read but not yet handed to the reader. */
static size_t rx_buffered(void)
{
	return rx_tail - rx_head;
}

/* The next reply, 0 for one, -ETIMEDOUT, or -ECONNRESET at EOF. */
static int next_reply(const struct usbip_urb_frame **f, int timeout_ms)
{
	for (;;) {
		uint8_t *dst;
		size_t want, n;
		ssize_t got;

		usbip_urb_reader_next(&reader, &dst, &want);
		if (rx_buffered()) {
			n = rx_buffered() < want ? rx_buffered() : want;
			memcpy(dst, rx_buf + rx_head, n);
			rx_head += n;
		} else {
			if (!set_rx_timeout(timeout_ms)) {
				struct pollfd p = {.fd = fd, .events = POLLIN};
				if (poll(&p, 1, timeout_ms) == 0)
					return -ETIMEDOUT;
			}
			bool direct = want >= sizeof(rx_buf) / 4;
			rx_head = rx_tail = 0;
			got = read(fd, direct ? dst : rx_buf,
				   direct ? want : sizeof(rx_buf));
			if (got < 0 &&
			    (errno == EAGAIN || errno == EWOULDBLOCK))
				return -ETIMEDOUT;
			if (got <= 0)
				return -ECONNRESET;
			if (direct) {
				n = (size_t)got;
			} else {
				rx_tail = (size_t)got;
				n = rx_tail < want ? rx_tail : want;
				memcpy(dst, rx_buf, n);
				rx_head = n;
			}
		}
		int r = usbip_urb_reader_advance(&reader, n, f, NULL);
		if (r < 0)
			fail("malformed reply from the worker");
		if (r == 1)
			return 0;
	}
}

static const uint8_t get_device_descriptor[8] = {0x80, 6, 0, 1, 0, 0, 18, 0};

static void script_unlink_pending(void)
{
	const struct usbip_urb_frame *f;

	submit(1, USBIP_DIR_IN, 1, 512, NULL); /* no CBW: waits forever */
	if (next_reply(&f, 500) != -ETIMEDOUT)
		fail("the bulk IN completed without a command");
	unlink_urb(2, 1);
	if (next_reply(&f, TIMEOUT_MS) < 0)
		fail("no reply to the unlink");
	if (f->header.command != USBIP_RET_UNLINK || f->header.seqnum != 2 ||
	    f->header.u.ret_unlink.status != -ECONNRESET)
		fail("expected RET_UNLINK seqnum 2 status -ECONNRESET");
	if (next_reply(&f, 500) != -ETIMEDOUT)
		fail("a RET_SUBMIT followed the unlink of a pending URB");
}

static void script_unlink_completed(void)
{
	const struct usbip_urb_frame *f;

	submit(1, USBIP_DIR_IN, 0, 18, get_device_descriptor);
	if (next_reply(&f, TIMEOUT_MS) < 0 ||
	    f->header.command != USBIP_RET_SUBMIT || f->header.seqnum != 1 ||
	    f->header.u.ret_submit.status != 0 || f->data_len != 18)
		fail("no RET_SUBMIT (status 0, 18 bytes) for GET_DESCRIPTOR");
	unlink_urb(2, 1);
	if (next_reply(&f, TIMEOUT_MS) < 0 ||
	    f->header.command != USBIP_RET_UNLINK || f->header.seqnum != 2 ||
	    f->header.u.ret_unlink.status != 0)
		fail("expected RET_UNLINK seqnum 2 status 0");
	if (next_reply(&f, 300) != -ETIMEDOUT)
		fail("more replies than requests");
}

/* The unlink reaches the URB after the device answered it but before the
 * worker reported it (the simulated device completes a due transfer only
 * when the worker reaps; usbfs's DISCARDURB then says EINVAL). */
static void script_unlink_race(void)
{
	struct usbip_urb_header h = {.command = USBIP_CMD_SUBMIT,
				     .seqnum = 1,
				     .devid = devid,
				     .direction = USBIP_DIR_IN};
	const struct usbip_urb_frame *f;
	uint8_t b[2 * USBIP_URB_HEADER_LEN];

	h.u.submit.transfer_buffer_length = 18;
	memcpy(h.u.submit.setup, get_device_descriptor, 8);
	usbip_urb_header_pack(&h, b);
	h = (struct usbip_urb_header){
		.command = USBIP_CMD_UNLINK, .seqnum = 2, .devid = devid};
	h.u.unlink.seqnum = 1;
	usbip_urb_header_pack(&h, b + USBIP_URB_HEADER_LEN);
	sent_dir[1] = 2;
	sent_dir[2] = 1;
	send_all(b, sizeof(b)); /* one write: one read on the other end */
	if (next_reply(&f, TIMEOUT_MS) < 0)
		fail("no reply");
	if (f->header.command != USBIP_RET_SUBMIT || f->header.seqnum != 1 ||
	    f->header.u.ret_submit.status != 0 || f->data_len != 18 ||
	    f->data[1] != 1) {
		fprintf(stderr, "usbip-probe: got %s seqnum %u status %d\n",
			f->header.command == USBIP_RET_UNLINK ? "RET_UNLINK"
							      : "RET_SUBMIT",
			f->header.seqnum,
			f->header.command == USBIP_RET_UNLINK
				? f->header.u.ret_unlink.status
				: f->header.u.ret_submit.status);
		fail("expected the completed URB's RET_SUBMIT (status 0, 18 "
		     "bytes) first");
	}
	if (next_reply(&f, TIMEOUT_MS) < 0 ||
	    f->header.command != USBIP_RET_UNLINK || f->header.seqnum != 2 ||
	    f->header.u.ret_unlink.status != 0)
		fail("expected RET_UNLINK seqnum 2 status 0 after it");
	if (next_reply(&f, 300) != -ETIMEDOUT)
		fail("more replies than requests");
}

/* Any failure: a refusal the simulated device makes comes back as -EINVAL
 * from it, as -EPROTO through vhci_hcd and usbfs. */
#define ANY_ERROR INT32_MIN

struct expected_reply {
	uint32_t seqnum;
	uint32_t command;
	int32_t status;
	uint32_t data_len;
};

/* Reads n replies: each as expected, and every RET_SUBMIT after those
 * listed before it (all of one endpoint); RET_UNLINKs keep no order. */
static void expect_in_order(const struct expected_reply *want, size_t n)
{
	const struct usbip_urb_frame *f;
	bool seen[MAX_SEQ] = {false};

	for (size_t got = 0; got < n; got++) {
		if (next_reply(&f, TIMEOUT_MS) < 0)
			fail("fewer replies than requests");
		uint32_t seq = f->header.seqnum;
		bool is_unlink = f->header.command == USBIP_RET_UNLINK;
		int32_t status = is_unlink ? f->header.u.ret_unlink.status
					   : f->header.u.ret_submit.status;
		fprintf(stderr,
			"usbip-probe: %s seqnum %u status %d data %zu\n",
			is_unlink ? "RET_UNLINK" : "RET_SUBMIT", seq, status,
			f->data_len);
		size_t i = 0;
		while (i < n && want[i].seqnum != seq)
			i++;
		if (i == n || seq >= MAX_SEQ || seen[seq])
			fail("a reply nobody asked for, or twice");
		seen[seq] = true;
		bool status_ok = want[i].status == ANY_ERROR
					 ? status != 0
					 : status == want[i].status;
		if (f->header.command != want[i].command || !status_ok ||
		    f->data_len != want[i].data_len)
			fail("a reply with the wrong command, status or "
			     "length");
		for (size_t k = 0; !is_unlink && k < i; k++)
			if (want[k].command == USBIP_RET_SUBMIT &&
			    !seen[want[k].seqnum])
				fail("a reply overtook an earlier URB of its "
				     "endpoint");
	}
	if (next_reply(&f, 300) != -ETIMEDOUT)
		fail("more replies than requests");
}

static void script_order_control(void)
{
	static const struct {
		uint8_t setup[8];
		int32_t status;
		uint32_t data_len;
	} asks[] = {
		/* answered 200 ms late: everything below waits for it */
		{{0xc0, 0x5d, 200, 0, 0, 0, 4, 0}, 0, 4},
		{{0x80, 0x06, 0, 1, 0, 0, 18, 0}, 0, 18},      /* device */
		{{0x80, 0x06, 9, 3, 0, 0, 255, 0}, -EPIPE, 0}, /* string 9 */
		{{0x01, 0x0b, 0, 0, 0, 0, 0, 0}, 0, 0}, /* SET_INTERFACE */
		{{0x80, 0x06, 0, 0x0f, 0, 0, 5, 0}, -EPIPE, 0}, /* BOS */
		{{0x02, 0x01, 0, 0, 0x81, 0, 0, 0}, 0, 0},	/* CLEAR_HALT */
		{{0x80, 0x00, 0, 0, 0, 0, 2, 0}, 0, 2},		/* GET_STATUS */
		{{0xc0, 0x77, 0, 0, 0, 0, 1, 0}, -EPIPE, 0},	/* unknown */
		{{0x00, 0x09, 1, 0, 0, 0, 0, 0}, 0, 0}, /* SET_CONFIGURATION */
		{{0x80, 0x06, 0, 2, 0, 0, 9, 0}, 0, 9}, /* configuration */
	};
	const size_t n = sizeof(asks) / sizeof(asks[0]);
	struct expected_reply want[sizeof(asks) / sizeof(asks[0])];

	for (size_t i = 0; i < n; i++) {
		const uint8_t *st = asks[i].setup;
		bool in = st[0] & 0x80;
		uint32_t len = (uint32_t)(st[6] | st[7] << 8);
		submit((uint32_t)(i + 1), in ? USBIP_DIR_IN : USBIP_DIR_OUT, 0,
		       len, st);
		want[i] = (struct expected_reply){
			(uint32_t)(i + 1), USBIP_RET_SUBMIT, asks[i].status,
			asks[i].data_len};
	}
	expect_in_order(want, n);
}

static void script_order_bulk(void)
{
	static const uint8_t busy[8] = {0x40, 0x5e, 200, 0, 0, 0, 0, 0};
	const struct expected_reply want[] = {
		{2, USBIP_RET_SUBMIT, 0, 512},
		{3, USBIP_RET_SUBMIT, ANY_ERROR, 0},
		{4, USBIP_RET_SUBMIT, 0, 512},
		{6, USBIP_RET_UNLINK, -ECONNRESET, 0},
		{7, USBIP_RET_SUBMIT, ANY_ERROR, 0},
		{8, USBIP_RET_SUBMIT, 0, 64},
	};
	const struct usbip_urb_frame *f;

	submit(1, USBIP_DIR_OUT, 0, 0, busy);
	if (next_reply(&f, TIMEOUT_MS) < 0 || f->header.seqnum != 1 ||
	    f->header.u.ret_submit.status != 0)
		fail("the source did not take the busy request");
	submit(2, USBIP_DIR_IN, 1, 512, NULL);
	submit(3, USBIP_DIR_IN, 1, 0, NULL); /* refused at submission */
	submit(4, USBIP_DIR_IN, 1, 512, NULL);
	submit(5, USBIP_DIR_IN, 1, 512, NULL);
	unlink_urb(6, 5);
	submit(7, USBIP_DIR_IN, 1, 0, NULL);
	submit(8, USBIP_DIR_IN, 1, 64, NULL);
	expect_in_order(want, sizeof(want) / sizeof(want[0]));
}

static void script_inflight(unsigned n)
{
	const struct usbip_urb_frame *f;
	unsigned seen[MAX_SEQ] = {0};

	for (uint32_t i = 1; i <= n; i++)
		submit(i, USBIP_DIR_IN, 0, 18, get_device_descriptor);
	for (unsigned got = 0; got < n; got++) {
		if (next_reply(&f, TIMEOUT_MS) < 0)
			fail("fewer replies than requests");
		if (f->header.command != USBIP_RET_SUBMIT ||
		    f->header.seqnum == 0 || f->header.seqnum > n ||
		    seen[f->header.seqnum]++ || f->header.u.ret_submit.status ||
		    f->data_len != 18 || f->data[1] != 1)
			fail("a wrong, repeated or failed reply");
	}
	if (next_reply(&f, 300) != -ETIMEDOUT)
		fail("more replies than requests");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Keeps `depth` requests in flight until `count` have been answered: the
 * window is refilled in one write, and every reply one read brought is
 * taken before the next write, so at depth 32 the probe makes a fraction
 * of a syscall per URB and at depth 1 two (one write, one read).
 */
static void script_rate(unsigned depth, unsigned count)
{
	const struct usbip_urb_frame *f;
	unsigned sent = 0, done = 0;

	if (depth == 0 || depth > MAX_SEQ - 2 || count == 0)
		fail("rate-DEPTH-COUNT: DEPTH 1 to 254, COUNT above 0");
	double t0 = now_s();
	while (done < count) {
		batch_begin();
		while (sent < count && sent - done < depth) {
			/* seqnums cycle through 1..MAX_SEQ-1 */
			submit(1 + sent % (MAX_SEQ - 1), USBIP_DIR_IN, 0, 18,
			       get_device_descriptor);
			sent++;
		}
		flush();
		do {
			if (next_reply(&f, TIMEOUT_MS) < 0 ||
			    f->header.u.ret_submit.status || f->data_len != 18)
				fail("a request failed during the benchmark");
			done++;
		} while (done < count && rx_buffered());
	}
	double t = now_s() - t0;
	printf("usbip-probe: depth %u: %u URBs in %.3f s = %.0f URBs/s\n",
	       depth, count, t, count / t);
}

/* The server's part of session setup: from before the TCP connect to
 * OP_REP_IMPORT, and to the answer of a first GET_DESCRIPTOR. */
static void script_setup_time(double t_connect)
{
	const struct usbip_urb_frame *f;
	double t_imported = now_s();

	submit(1, USBIP_DIR_IN, 0, 18, get_device_descriptor);
	if (next_reply(&f, TIMEOUT_MS) < 0 || f->header.u.ret_submit.status ||
	    f->data_len != 18)
		fail("the first GET_DESCRIPTOR failed");
	double t_first = now_s();
	printf("usbip-probe: imported in %.1f ms, first URB answered at "
	       "%.1f ms\n",
	       (t_imported - t_connect) * 1e3, (t_first - t_connect) * 1e3);
}

/* Fills BYTES of the worker's in-flight budget with bulk INs that no
 * command will ever answer (mass storage) and holds them: the usbfs quota
 * must have room for all of them. */
static void script_hold(unsigned long long bytes, unsigned seconds)
{
	const uint64_t urb = 65536, charge = urb + URB_USBFS_OVERHEAD;
	const struct usbip_urb_frame *f = NULL;
	uint32_t seqnum = 1;
	uint64_t held = 0;

	while (bytes - held >= charge) {
		if (seqnum >= MAX_SEQ)
			fail("hold: more than 255 URBs; use a smaller BYTES");
		submit(seqnum++, USBIP_DIR_IN, 1, (uint32_t)urb, NULL);
		held += charge;
	}
	if (bytes - held > URB_USBFS_OVERHEAD) {
		uint64_t rest = bytes - held - URB_USBFS_OVERHEAD;
		submit(seqnum++, USBIP_DIR_IN, 1, (uint32_t)rest, NULL);
		held += rest + URB_USBFS_OVERHEAD;
	}
	if (next_reply(&f, 1000) != -ETIMEDOUT) {
		fprintf(stderr, "usbip-probe: seqnum %u status %d\n",
			f ? f->header.seqnum : 0,
			f ? f->header.u.ret_submit.status : 0);
		fail("hold: a reply or a closed session while filling");
	}
	printf("usbip-probe: holding %llu bytes in %u URBs\n",
	       (unsigned long long)held, seqnum - 1);
	fflush(stdout);
	f = NULL;
	if (next_reply(&f, (int)seconds * 1000) != -ETIMEDOUT)
		fail("hold: a reply or a closed session while holding");
}

struct hostile {
	const char *name;
	void (*send)(void); /* NULL: the control request in setup */
	const char *field;  /* named in the worker's log, if not NULL */
	uint8_t setup[8];
	uint32_t dir; /* of the USB/IP header, for a zero-length setup */
};

static void h_ep16(void)
{
	submit(1, USBIP_DIR_IN, 16, 512, NULL);
}
static void h_direction(void)
{
	submit(1, 2, 1, 512, NULL);
}
static void h_no_endpoint(void)
{
	submit(1, USBIP_DIR_IN, 3, 512, NULL);
}
static void h_wrong_direction(void)
{
	submit(1, USBIP_DIR_IN, 2, 512, NULL);
}
static void h_huge(void)
{
	submit(1, USBIP_DIR_IN, 1, 0x7fffffff, NULL);
}
static void h_devid(void)
{
	devid ^= 0x10000;
	submit(1, USBIP_DIR_IN, 0, 18, get_device_descriptor);
}
static void h_duplicate_seqnum(void)
{
	/* One write: the second arrives while the first is in flight, even
	 * on a device that would complete the first at once. */
	struct usbip_urb_header h = {.command = USBIP_CMD_SUBMIT,
				     .seqnum = 1,
				     .devid = devid,
				     .direction = USBIP_DIR_IN,
				     .ep = 1};
	uint8_t b[2 * USBIP_URB_HEADER_LEN];
	h.u.submit.transfer_buffer_length = 512;
	usbip_urb_header_pack(&h, b);
	usbip_urb_header_pack(&h, b + USBIP_URB_HEADER_LEN);
	send_all(b, sizeof(b));
}
static void h_wlength(void)
{
	submit(1, USBIP_DIR_IN, 0, 64, get_device_descriptor);
}
static void h_setup_direction(void)
{
	submit(1, USBIP_DIR_OUT, 0, 18, get_device_descriptor);
	static const uint8_t pad[18];
	send_all(pad, sizeof(pad));
}
static void h_set_address(void)
{
	static const uint8_t set_address[8] = {0, 5, 9, 0, 0, 0, 0, 0};
	submit(1, USBIP_DIR_OUT, 0, 0, set_address);
}
static void h_iso_packets_on_bulk(void)
{
	struct usbip_urb_header h = {.command = USBIP_CMD_SUBMIT,
				     .seqnum = 1,
				     .devid = devid,
				     .direction = 1,
				     .ep = 1};
	uint8_t b[USBIP_URB_HEADER_LEN + 5 * USBIP_ISO_DESC_LEN] = {0};
	h.u.submit.transfer_buffer_length = 512;
	h.u.submit.number_of_packets = 5;
	usbip_urb_header_pack(&h, b);
	send_all(b, sizeof(b));
}
static void h_too_many_packets(void)
{
	struct usbip_urb_header h = {.command = USBIP_CMD_SUBMIT,
				     .seqnum = 1,
				     .devid = devid,
				     .direction = 1,
				     .ep = 1};
	uint8_t b[USBIP_URB_HEADER_LEN];
	h.u.submit.transfer_buffer_length = 512;
	h.u.submit.number_of_packets = 100000;
	usbip_urb_header_pack(&h, b);
	send_all(b, sizeof(b));
}
static void h_unknown_command(void)
{
	uint8_t b[USBIP_URB_HEADER_LEN] = {0, 0, 0, 9};
	send_all(b, sizeof(b));
}
static void h_longer_payload(void)
{
	/* 31 bytes announced, 31 + 48 sent: the extra bytes are read as the
	 * next header, which is garbage. */
	static uint8_t junk[31 + USBIP_URB_HEADER_LEN];
	memset(junk, 0xa5, sizeof(junk));
	submit(1, USBIP_DIR_OUT, 2, 31, NULL);
	send_all(junk, sizeof(junk));
}
static void h_reply_as_request(void)
{
	struct usbip_urb_header h = {.command = USBIP_RET_SUBMIT, .seqnum = 1};
	uint8_t b[USBIP_URB_HEADER_LEN];
	usbip_urb_header_pack(&h, b);
	send_all(b, sizeof(b));
}

/* Issue 12 item 5: 1024 iso packets all at offset 0 of a 192-byte
 * buffer; the worker would hold their 196 KiB sum. Needs audio-loopback. */
static void h_iso_overlap(void)
{
	enum { NP = USBIP_MAX_ISO_PACKETS, PACKET = 192 };
	static const uint8_t alt1[8] = {0x01, 0x0b, 1, 0, 1, 0, 0, 0};
	struct usbip_urb_header h = {.command = USBIP_CMD_SUBMIT,
				     .seqnum = 2,
				     .devid = devid,
				     .direction = USBIP_DIR_OUT,
				     .ep = 1};
	static uint8_t
		b[USBIP_URB_HEADER_LEN + PACKET + NP * USBIP_ISO_DESC_LEN];
	const struct usbip_urb_frame *f;

	submit(1, USBIP_DIR_OUT, 0, 0, alt1);
	if (next_reply(&f, TIMEOUT_MS) < 0 || f->header.u.ret_submit.status)
		fail("SET_INTERFACE alt 1 on the audio loopback");
	h.u.submit.transfer_flags = 0x0002; /* URB_ISO_ASAP */
	h.u.submit.transfer_buffer_length = PACKET;
	h.u.submit.number_of_packets = NP;
	usbip_urb_header_pack(&h, b);
	for (uint32_t i = 0; i < NP; i++) {
		struct usbip_iso_desc d = {.offset = 0, .length = PACKET};
		usbip_iso_desc_pack(&d, b + USBIP_URB_HEADER_LEN + PACKET +
						i * USBIP_ISO_DESC_LEN);
	}
	send_all(b, sizeof(b));
}

/* clang-format off */
static const struct hostile hostile[] = {
	{"iso-overlap", h_iso_overlap, "iso offset (overlap)", {0}, 0},
	/* Issue 12 item 8: the standard requests the server carries out
	 * itself, in every shape but the one it acts on. Each would reach
	 * the device raw. */
	{"std-set-address-in", NULL, "bRequest", {0x80, 5, 9, 0, 0, 0, 0, 0},
	 USBIP_DIR_OUT},
	{"std-set-address-endpoint", NULL, "bRequest",
	 {0x02, 5, 9, 0, 0, 0, 0, 0}, USBIP_DIR_OUT},
	{"std-set-configuration-in", NULL, "bmRequestType",
	 {0x80, 9, 1, 0, 0, 0, 0, 0}, USBIP_DIR_OUT},
	{"std-set-configuration-in-header-in", NULL, "bmRequestType",
	 {0x80, 9, 1, 0, 0, 0, 0, 0}, USBIP_DIR_IN},
	{"std-set-configuration-interface", NULL, "bmRequestType",
	 {0x01, 9, 1, 0, 0, 0, 0, 0}, USBIP_DIR_OUT},
	{"std-set-configuration-endpoint", NULL, "bmRequestType",
	 {0x02, 9, 1, 0, 0, 0, 0, 0}, USBIP_DIR_OUT},
	{"std-set-configuration-other", NULL, "bmRequestType",
	 {0x03, 9, 1, 0, 0, 0, 0, 0}, USBIP_DIR_OUT},
	{"std-set-configuration-wlength", NULL, "wLength",
	 {0x00, 9, 1, 0, 0, 0, 2, 0}, USBIP_DIR_OUT},
	{"std-set-interface-in", NULL, "bmRequestType",
	 {0x81, 0x0b, 0, 0, 0, 0, 0, 0}, USBIP_DIR_OUT},
	{"std-set-interface-device", NULL, "bmRequestType",
	 {0x00, 0x0b, 0, 0, 0, 0, 0, 0}, USBIP_DIR_OUT},
	{"std-set-interface-endpoint", NULL, "bmRequestType",
	 {0x02, 0x0b, 0, 0, 0, 0, 0, 0}, USBIP_DIR_OUT},
	{"std-set-interface-other", NULL, "bmRequestType",
	 {0x03, 0x0b, 0, 0, 0, 0, 0, 0}, USBIP_DIR_OUT},
	{"std-set-interface-wlength", NULL, "wLength",
	 {0x01, 0x0b, 0, 0, 0, 0, 2, 0}, USBIP_DIR_OUT},
	{"std-clear-halt-in", NULL, "bmRequestType",
	 {0x82, 1, 0, 0, 0x81, 0, 0, 0}, USBIP_DIR_OUT},
	{"std-clear-halt-other", NULL, "bmRequestType",
	 {0x03, 1, 0, 0, 0x81, 0, 0, 0}, USBIP_DIR_OUT},
	{"std-clear-halt-wlength", NULL, "wLength",
	 {0x02, 1, 0, 0, 0x81, 0, 2, 0}, USBIP_DIR_OUT},
	{"std-clear-feature-device-in", NULL, "bmRequestType",
	 {0x80, 1, 1, 0, 0, 0, 0, 0}, USBIP_DIR_OUT},
	{"std-clear-feature-interface-in", NULL, "bmRequestType",
	 {0x81, 1, 0, 0, 0, 0, 0, 0}, USBIP_DIR_OUT},

	{"ep16", h_ep16, NULL, {0}, 0},
	{"direction", h_direction, NULL, {0}, 0},
	{"no-endpoint", h_no_endpoint, NULL, {0}, 0},
	{"wrong-direction", h_wrong_direction, NULL, {0}, 0},
	{"huge-length", h_huge, NULL, {0}, 0},
	{"devid", h_devid, NULL, {0}, 0},
	{"duplicate-seqnum", h_duplicate_seqnum, NULL, {0}, 0},
	{"wlength", h_wlength, NULL, {0}, 0},
	{"setup-direction", h_setup_direction, NULL, {0}, 0},
	{"set-address", h_set_address, NULL, {0}, 0},
	{"iso-packets-on-bulk", h_iso_packets_on_bulk, NULL, {0}, 0},
	{"too-many-packets", h_too_many_packets, NULL, {0}, 0},
	{"unknown-command", h_unknown_command, NULL, {0}, 0},
	{"longer-payload", h_longer_payload, NULL, {0}, 0},
	{"reply-as-request", h_reply_as_request, NULL, {0}, 0},
};
/* clang-format on */

static const char *expected_field;

static void script_hostile(const char *name)
{
	const struct usbip_urb_frame *f;

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		const struct hostile *h = &hostile[i];
		if (strcmp(name, h->name))
			continue;
		if (h->send) {
			h->send();
		} else {
			static const uint8_t zeros[65536];
			uint16_t len =
				(uint16_t)(h->setup[6] | h->setup[7] << 8);
			submit(1, h->dir, 0, len, h->setup);
			if (h->dir == USBIP_DIR_OUT && len)
				send_all(zeros, len);
		}
		expected_field = h->field;
		int r = next_reply(&f, TIMEOUT_MS);
		if (r == 0)
			fail("the worker answered a malformed request");
		if (r == -ETIMEDOUT)
			fail("the worker kept the session open");
		return;
	}
	fail("no such hostile script");
}

/* One control transfer, synchronously; returns the reply's status. */
static int control(uint32_t seqnum, const uint8_t setup[8], uint8_t *data,
		   uint32_t *actual)
{
	const struct usbip_urb_frame *f;
	uint16_t len = (uint16_t)(setup[6] | setup[7] << 8);
	bool in = setup[0] & 0x80;

	submit(seqnum, in ? USBIP_DIR_IN : USBIP_DIR_OUT, 0, len, setup);
	if (!in && len)
		send_all(data, len);
	if (next_reply(&f, TIMEOUT_MS) < 0 ||
	    f->header.command != USBIP_RET_SUBMIT || f->header.seqnum != seqnum)
		fail("no reply to a control transfer");
	if (in && f->data_len)
		memcpy(data, f->data, f->data_len);
	if (actual)
		*actual = f->header.u.ret_submit.actual_length;
	return f->header.u.ret_submit.status;
}

static void script_enumerate(void)
{
	uint8_t raw[18 + 4096], buf[256];
	uint8_t setup[8] = {0x80, 6, 0, 1, 0, 0, 18, 0};
	struct usb_device_model m;
	struct usbip_fault fault = {0};
	uint32_t got;

	if (control(1, setup, raw, &got) || got != 18 || raw[1] != 1)
		fail("device descriptor");
	setup[3] = 2, setup[6] = 9;
	if (control(2, setup, buf, &got) || got != 9 || buf[1] != 2)
		fail("configuration descriptor header");
	uint16_t total = (uint16_t)(buf[2] | buf[3] << 8);
	if (total > 4096)
		fail("wTotalLength above 4096");
	setup[6] = (uint8_t)total, setup[7] = (uint8_t)(total >> 8);
	if (control(3, setup, raw + 18, &got) || got != total)
		fail("full configuration descriptor");
	if (usb_model_parse(raw, 18u + total, &m, &fault) < 0) {
		fprintf(stderr, "usbip-probe: %s %llu: %s\n", fault.field,
			(unsigned long long)fault.value, fault.reason);
		fail("descriptors do not parse");
	}
	uint8_t product_index = raw[15];
	uint8_t string[8] = {0x80, 6, product_index, 3, 0x09, 0x04, 255, 0};
	if (product_index && (control(4, string, buf, &got) || got < 2 ||
			      buf[1] != 3 || buf[0] != got))
		fail("product string");
	uint8_t bogus[8] = {0x80, 6, 0, 0x0f, 0, 0, 5, 0}; /* BOS: none */
	uint8_t none[5];
	if (control(5, bogus, none, NULL) != -EPIPE)
		fail("an unknown descriptor did not stall (-EPIPE)");
	printf("usbip-probe: %04x:%04x, %zu configuration(s), %u "
	       "interface(s), product \"",
	       m.id_vendor, m.id_product, m.num_configs,
	       m.num_configs ? m.configs[0].num_interfaces : 0);
	for (uint32_t i = 2; product_index && i + 1 < got; i += 2)
		putchar(buf[i]);
	printf("\"\n");
	usb_model_clear(&m);
}

/* Issue 12 item 10: every request a simulated device answers, asked with
 * a wLength shorter than the answer (0 and 1). The answer must be cut to
 * wLength; under ASan a write past it kills the worker. */
static void script_short_control(void)
{
	static const uint8_t asks[][8] = {
		{0x80, 0x00, 0, 0, 0, 0},	/* GET_STATUS device */
		{0x81, 0x00, 0, 0, 0, 0},	/* interface */
		{0x82, 0x00, 0, 0, 0x81, 0},	/* endpoint */
		{0x80, 0x06, 0, 1, 0, 0},	/* device descriptor */
		{0x80, 0x06, 0, 2, 0, 0},	/* configuration */
		{0x80, 0x06, 0, 3, 0, 0},	/* string 0 */
		{0x80, 0x06, 2, 3, 0x09, 0x04}, /* product string */
		{0x81, 0x06, 0, 0x22, 0, 0},	/* HID report descriptor */
		{0x81, 0x06, 0, 0x21, 0, 0},	/* HID descriptor */
		{0xa1, 0x01, 0, 1, 0, 0},	/* GET_REPORT */
		{0xa1, 0x02, 0, 0, 0, 0},	/* GET_IDLE */
		{0xa1, 0x03, 0, 0, 0, 0},	/* GET_PROTOCOL */
		{0xa2, 0x81, 0, 1, 0x82, 0},	/* GET_CUR sampling frequency */
	};
	uint32_t seqnum = 1;

	for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		for (uint8_t len = 0; len < 2; len++) {
			const struct usbip_urb_frame *f;
			uint8_t setup[8];

			memcpy(setup, asks[i], 8);
			setup[6] = len;
			submit(seqnum, USBIP_DIR_IN, 0, len, setup);
			if (next_reply(&f, TIMEOUT_MS) < 0 ||
			    f->header.seqnum != seqnum)
				fail("no reply to a short control request "
				     "(did the worker crash?)");
			int32_t status = f->header.u.ret_submit.status;
			if (status != 0 && status != -EPIPE)
				fail("a short control request failed");
			if (f->header.u.ret_submit.actual_length > len ||
			    f->data_len > len)
				fail("an answer longer than wLength");
			seqnum++;
		}
	}
	printf("usbip-probe: %u short control requests answered within "
	       "wLength\n",
	       seqnum - 1);
}

/* Issue 12 item 9: vendor control transfers with the longest data stages
 * USB has, IN (the source's pattern, i % 63) and OUT, answered in full;
 * 8 of them in flight at once, and a GET_DESCRIPTOR among them still
 * answered (nothing blocks the session). The simulated zero device
 * answers them, and so does a real device it serves through vhci_hcd. */
static void script_control_64k(void)
{
	static uint8_t data[65535];
	const struct usbip_urb_frame *f;
	const uint16_t sizes[] = {4097, 8192, 65535, 65535};
	unsigned answered = 0;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint16_t len = sizes[i];
		uint8_t in[8] = {0xc0,
				 0x5c,
				 0,
				 0,
				 0,
				 0,
				 (uint8_t)len,
				 (uint8_t)(len >> 8)};
		uint8_t out[8] = {0x40,
				  0x5b,
				  0,
				  0,
				  0,
				  0,
				  (uint8_t)len,
				  (uint8_t)(len >> 8)};
		submit((uint32_t)(10 + 2 * i), USBIP_DIR_IN, 0, len, in);
		submit((uint32_t)(11 + 2 * i), USBIP_DIR_OUT, 0, len, out);
		send_all(data, len);
	}
	submit(30, USBIP_DIR_IN, 0, 18, get_device_descriptor);
	while (answered < 9) {
		if (next_reply(&f, TIMEOUT_MS) < 0)
			fail("no reply to a long control transfer");
		uint32_t seq = f->header.seqnum;
		int32_t status = f->header.u.ret_submit.status;
		uint32_t actual = f->header.u.ret_submit.actual_length;
		if (seq == 30) {
			if (status || f->data_len != 18)
				fail("GET_DESCRIPTOR among long control "
				     "transfers");
		} else if (seq >= 10 && seq < 18) {
			uint16_t want = sizes[(seq - 10) / 2];
			if (status || actual != want) {
				fprintf(stderr,
					"usbip-probe: seqnum %u: status %d "
					"actual %u, want %u\n",
					seq, status, actual, want);
				fail("a long control transfer failed");
			}
			if (seq % 2 == 0) {
				if (f->data_len != want)
					fail("long control IN: data length");
				for (uint32_t k = 0; k < want; k++)
					if (f->data[k] != k % 63)
						fail("long control IN: the "
						     "pattern");
			}
		} else {
			fail("a reply nobody asked for");
		}
		answered++;
	}
	printf("usbip-probe: control transfers of 4097 to 65535 bytes, IN and "
	       "OUT, answered in full\n");
}

/* Boot keyboard usages back to ASCII: the inverse of the simulator's. */
static char ascii_of(uint8_t code, bool shift)
{
	static const char plain[] = "1234567890\n\x1b\b\t -=[]\\#;'`,./";
	static const char shifted[] = "!@#$%^&*()\n\x1b\b\t _+{}|~:\"~<>?";

	if (code >= 0x04 && code <= 0x1d)
		return (char)((shift ? 'A' : 'a') + code - 0x04);
	_Static_assert(sizeof(plain) == sizeof(shifted), "twin tables");
	if (code >= 0x1e && code < 0x1e + sizeof(plain) - 1)
		return shift ? shifted[code - 0x1e] : plain[code - 0x1e];
	return '?';
}

static void script_type(const char *text)
{
	const struct usbip_urb_frame *f;
	char typed[4097];
	size_t n = 0, want = strlen(text);
	uint32_t seqnum = 1;

	if (want >= sizeof(typed))
		fail("text too long");
	/* A press and a release report per character; one read in flight,
	 * as usbhid has it. */
	while (n < want) {
		submit(seqnum, USBIP_DIR_IN, 1, 8, NULL);
		if (next_reply(&f, TIMEOUT_MS) < 0 ||
		    f->header.u.ret_submit.status || f->data_len != 8)
			fail("an interrupt IN failed or was not 8 bytes");
		if (f->data[2])
			typed[n++] = ascii_of(f->data[2], f->data[0] & 0x22);
		seqnum = seqnum % 200 + 1;
	}
	typed[n] = 0;
	if (strcmp(typed, text)) {
		fprintf(stderr, "usbip-probe: typed \"%s\"\n", typed);
		fail("the keyboard typed something else");
	}
	/* The last key's release, then nothing: the next read waits, as on
	 * a keyboard nobody touches. */
	static const uint8_t released[8];
	submit(seqnum, USBIP_DIR_IN, 1, 8, NULL);
	if (next_reply(&f, TIMEOUT_MS) < 0 || f->data_len != 8 ||
	    memcmp(f->data, released, 8))
		fail("no release report after the last key");
	seqnum = seqnum % 200 + 1;
	submit(seqnum, USBIP_DIR_IN, 1, 8, NULL);
	if (next_reply(&f, 300) != -ETIMEDOUT)
		fail("a report after the text ended");
	printf("usbip-probe: typed \"%s\"\n", typed);
}

#define ISO_PACKETS 8
#define ISO_PACKET_BYTES 192
#define ISO_URBS 125 /* 1 s of 48 kHz 16-bit stereo */

static void iso_submit(uint32_t seqnum, uint32_t dir, uint32_t ep,
		       const uint8_t *data)
{
	struct usbip_urb_header h = {.command = USBIP_CMD_SUBMIT,
				     .seqnum = seqnum,
				     .devid = devid,
				     .direction = dir,
				     .ep = ep};
	uint8_t b[USBIP_URB_HEADER_LEN + ISO_PACKETS * ISO_PACKET_BYTES +
		  ISO_PACKETS * USBIP_ISO_DESC_LEN];
	size_t len = USBIP_URB_HEADER_LEN,
	       payload = ISO_PACKETS * ISO_PACKET_BYTES;

	h.u.submit.transfer_flags = 0x0002; /* URB_ISO_ASAP */
	h.u.submit.transfer_buffer_length = (uint32_t)payload;
	h.u.submit.number_of_packets = ISO_PACKETS;
	usbip_urb_header_pack(&h, b);
	if (dir == USBIP_DIR_OUT) {
		memcpy(b + len, data, payload);
		len += payload;
	}
	for (uint32_t i = 0; i < ISO_PACKETS; i++) {
		struct usbip_iso_desc d = {.offset = i * ISO_PACKET_BYTES,
					   .length = ISO_PACKET_BYTES};
		usbip_iso_desc_pack(&d, b + len);
		len += USBIP_ISO_DESC_LEN;
	}
	send_all(b, len);
	if (seqnum < MAX_SEQ)
		sent_dir[seqnum] = dir == USBIP_DIR_IN ? 2 : 1;
}

static void script_iso_loopback(void)
{
	static uint8_t played[ISO_URBS * ISO_PACKETS * ISO_PACKET_BYTES];
	static uint8_t heard[sizeof(played)];
	const struct usbip_urb_frame *f;
	size_t got = 0;
	uint32_t x = 12345;

	for (int intf = 1; intf <= 2; intf++) {
		uint8_t alt1[8] = {0x01, 0x0b, 1, 0, (uint8_t)intf, 0, 0, 0};
		if (control((uint32_t)intf, alt1, NULL, NULL))
			fail("SET_INTERFACE alt 1");
	}
	for (size_t i = 0; i < sizeof(played); i++) {
		x = x * 1103515245u + 12345u; /* any pattern but a simple one */
		played[i] = (uint8_t)(x >> 16);
	}
	/* Play it all, up to 100 URBs in flight; the device paces them. */
	uint32_t sent = 0, done = 0;
	while (done < ISO_URBS) {
		while (sent < ISO_URBS && sent - done < 100) {
			iso_submit(10 + sent, USBIP_DIR_OUT, 1,
				   played + (size_t)sent * ISO_PACKETS *
						    ISO_PACKET_BYTES);
			sent++;
		}
		if (next_reply(&f, TIMEOUT_MS) < 0 ||
		    f->header.u.ret_submit.status ||
		    f->header.u.ret_submit.number_of_packets != ISO_PACKETS)
			fail("an iso OUT failed");
		done++;
	}
	/* Capture until it has all come back, 4 URBs in flight. */
	uint32_t seq = 0, inflight = 0, empty = 0;
	while (got < sizeof(played) && empty < 20) {
		while (inflight < 4) {
			iso_submit(1 + seq % 200, USBIP_DIR_IN, 2, NULL);
			seq++, inflight++;
		}
		if (next_reply(&f, TIMEOUT_MS) < 0 ||
		    f->header.u.ret_submit.status)
			fail("an iso IN failed");
		inflight--;
		if (f->data_len == 0)
			empty++;
		if (got + f->data_len > sizeof(heard))
			fail("more came back than was played");
		memcpy(heard + got, f->data, f->data_len);
		got += f->data_len;
	}
	if (got != sizeof(played) || memcmp(heard, played, got))
		fail("what came back differs from what was played");
	printf("usbip-probe: %zu bytes played and captured bit-exact\n", got);
}

/* MIB MiB each way in 64 KiB URBs, DEPTH in flight, batched as
 * script_rate() batches. */
static void script_bulk(unsigned depth, unsigned mib)
{
	const uint32_t len = 65536;
	const unsigned count = mib * 16;
	static uint8_t out[65536];
	const struct usbip_urb_frame *f;

	if (depth == 0 || depth > MAX_SEQ - 2 || count == 0)
		fail("bulk-DEPTH-MIB: DEPTH 1 to 254, MIB above 0");
	for (int dir = 0; dir < 2; dir++) {
		unsigned sent = 0, done = 0;
		double t0 = now_s();
		while (done < count) {
			batch_begin();
			while (sent < count && sent - done < depth) {
				uint32_t seqnum = 1 + sent % (MAX_SEQ - 1);
				if (dir == 0) {
					submit(seqnum, USBIP_DIR_IN, 1, len,
					       NULL);
				} else {
					submit(seqnum, USBIP_DIR_OUT, 2, len,
					       NULL);
					send_all(out, len);
				}
				sent++;
			}
			flush();
			do {
				if (next_reply(&f, TIMEOUT_MS) < 0 ||
				    f->header.u.ret_submit.status ||
				    f->header.u.ret_submit.actual_length != len)
					fail("a bulk transfer failed");
				if (dir == 0 && done == 0)
					for (uint32_t i = 0; i < len; i++)
						if (f->data[i] != i % 63)
							fail("the source's "
							     "pattern");
				done++;
			} while (done < count && rx_buffered());
		}
		double t = now_s() - t0;
		printf("usbip-probe: bulk %s depth %u: %u MiB in %.3f s = "
		       "%.1f MB/s, %.0f URBs/s\n",
		       dir == 0 ? "IN " : "OUT", depth, mib, t,
		       (double)count * len / t / 1e6, count / t);
	}
}

static pid_t child = -1;
static int child_log = -1;
static struct rusage child_usage; /* the worker's, once reaped */
static int broker_end = -1;	  /* import-*: the probe plays the broker */

/* The worker on the other end of a socketpair, its stderr to a pipe. */
static void spawn(char **argv)
{
	int sv[2], logp[2];

	int bp[2] = {-1, -1};

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(logp, O_CLOEXEC) < 0)
		fail("socketpair");
	if (broker_end == 0 &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, bp) < 0)
		fail("socketpair");
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		dup2(sv[1], 3);
		dup2(logp[1], 2);
		if (bp[1] >= 0)
			dup2(bp[1], 4);
		execv(argv[0], argv);
		_exit(127);
	}
	close(sv[1]);
	close(logp[1]);
	if (bp[1] >= 0) {
		close(bp[1]);
		broker_end = bp[0];
	}
	fd = sv[0];
	child_log = logp[0];
}

/* The child's status after the connection closes, within a bound. */
/* The spawned worker's CPU so far (ms) and its voluntary context
 * switches (each a sleep in a wait). The CPU from schedstat, the
 * scheduler's exact runtime: utime + stime in /proc/PID/stat are
 * sampled at the tick, too coarse for a few 10 ms spins. */
static void worker_usage(double *cpu_ms, unsigned long *sleeps)
{
	char path[64], buf[4096];
	unsigned long long utime = 0, stime = 0, ns;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)child);
	f = fopen(path, "re");
	if (f && fscanf(f, "%llu", &ns) == 1) {
		fclose(f);
		*cpu_ms = (double)ns / 1e6;
		goto switches;
	}
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
	f = fopen(path, "re");
	if (!f || !fgets(buf, sizeof(buf), f))
		fail("no /proc stat for the worker");
	fclose(f);
	/* After the command's closing parenthesis: state is field 3,
	 * utime and stime fields 14 and 15. */
	const char *p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
			 "%llu",
			 &utime, &stime) != 2)
		fail("unreadable /proc stat for the worker");
	*cpu_ms =
		(double)(utime + stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
switches:
	snprintf(path, sizeof(path), "/proc/%d/status", (int)child);
	f = fopen(path, "re");
	if (!f)
		fail("no /proc status for the worker");
	*sleeps = 0;
	while (fgets(buf, sizeof(buf), f))
		sscanf(buf, "voluntary_ctxt_switches: %lu", sleeps);
	fclose(f);
}

/* An interrupt IN that never completes and requests now and then: the
 * session is quiet between them, and a busy-poll must not spin its
 * budget each time. */
static void script_idle_cpu(unsigned period_ms, unsigned count, unsigned max_ms,
			    bool pending)
{
	const struct usbip_urb_frame *f;
	double cpu0, cpu1;
	unsigned long sleeps0, sleeps1;

	if (child < 0)
		fail("idle-cpu and slow-client need --spawn");
	if (pending)
		submit(1, USBIP_DIR_IN, 1, 8, NULL);
	worker_usage(&cpu0, &sleeps0);
	for (unsigned i = 0; i < count; i++) {
		struct timespec pause = {.tv_sec = period_ms / 1000,
					 .tv_nsec = (long)(period_ms % 1000) *
						    1000000};
		nanosleep(&pause, NULL);
		submit(2 + i % 200, USBIP_DIR_IN, 0, 18, get_device_descriptor);
		if (next_reply(&f, TIMEOUT_MS) < 0 ||
		    f->header.seqnum != 2 + i % 200 ||
		    f->header.u.ret_submit.status || f->data_len != 18)
			fail("GET_DESCRIPTOR failed (or the interrupt IN "
			     "completed)");
	}
	worker_usage(&cpu1, &sleeps1);
	printf("usbip-probe: %s: worker CPU %.0f ms, %lu sleeps over "
	       "%u requests %u ms apart (bound %u ms)\n",
	       pending ? "idle-cpu" : "slow-client", cpu1 - cpu0,
	       sleeps1 - sleeps0, count, period_ms, max_ms);
	if (cpu1 - cpu0 > max_ms)
		fail("the worker spent more CPU on a quiet session than the "
		     "bound");
}

/* One request at a time: with a busy-poll the worker catches nearly
 * every next request without sleeping. */
static void script_no_sleep(unsigned count)
{
	const struct usbip_urb_frame *f;
	double cpu0, cpu1;
	unsigned long sleeps0, sleeps1;

	if (child < 0)
		fail("no-sleep needs --spawn");
	worker_usage(&cpu0, &sleeps0);
	for (unsigned i = 0; i < count; i++) {
		submit(1 + i % 200, USBIP_DIR_IN, 0, 18, get_device_descriptor);
		if (next_reply(&f, TIMEOUT_MS) < 0 ||
		    f->header.u.ret_submit.status || f->data_len != 18)
			fail("GET_DESCRIPTOR failed");
	}
	worker_usage(&cpu1, &sleeps1);
	printf("usbip-probe: no-sleep: the worker slept %lu times for %u "
	       "requests (CPU %.0f ms)\n",
	       sleeps1 - sleeps0, count, cpu1 - cpu0);
	if ((sleeps1 - sleeps0) * 4 >= count)
		fail("the worker slept in a quarter of the waits or more");
}

/* Wall time in ms, for the CPU share of a script. */
static double wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Sleeps until *next, then sets it period_us later: a schedule of
 * absolute times, so that the probe's own delays do not add up and push
 * its sends past the worker's budget. */
static void pause_until(struct timespec *next, unsigned period_us)
{
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
	next->tv_nsec += (long)period_us * 1000;
	while (next->tv_nsec >= 1000000000) {
		next->tv_nsec -= 1000000000;
		next->tv_sec++;
	}
}

/* The worker's CPU between cpu0 at t0 and now, as a share of the wall
 * time (a share, not ms: on a loaded machine the probe's pauses stretch
 * and with them what a cap per window allows). */
static void check_cpu_share(const char *name, double cpu0, double t0,
			    unsigned max_pct, const char *detail)
{
	double cpu1, t1;
	unsigned long sleeps;

	worker_usage(&cpu1, &sleeps);
	t1 = wall_ms();
	double pct = 100.0 * (cpu1 - cpu0) / (t1 - t0);
	printf("usbip-probe: %s: worker CPU %.0f ms over %.0f ms (%.0f %%, "
	       "bound %u %%), %s\n",
	       name, cpu1 - cpu0, t1 - t0, pct, max_pct, detail);
	if (pct > (double)max_pct)
		fail("the worker spun more of a CPU than the bound");
}

/* An interrupt IN the keyboard never answers, so every wait is one for
 * the device; meanwhile the client trickles CMD_UNLINKs (of a seqnum
 * never used) one byte every PERIOD µs, each complete header answered by
 * a RET_UNLINK. Each byte wakes the worker, but none is what its spin
 * for the device waits for: the spins must back off all the same. */
static void script_trickle_cpu(unsigned period_us, unsigned count,
			       unsigned max_pct)
{
	const struct usbip_urb_frame *f;
	struct usbip_urb_header h = {.command = USBIP_CMD_UNLINK,
				     .devid = devid};
	uint8_t b[USBIP_URB_HEADER_LEN];
	unsigned long sleeps;
	double cpu0, t0;
	uint32_t seqnum = 2;

	if (child < 0)
		fail("trickle-cpu needs --spawn");
	submit(1, USBIP_DIR_IN, 1, 8, NULL);
	struct timespec next = {.tv_sec = 0, .tv_nsec = 100000000};
	nanosleep(&next, NULL);
	worker_usage(&cpu0, &sleeps);
	t0 = wall_ms();
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned i = 0; i < count; i++) {
		size_t at = i % sizeof(b);
		if (at == 0) {
			h.seqnum = seqnum;
			h.u.unlink.seqnum = 100000 + seqnum;
			usbip_urb_header_pack(&h, b);
			sent_dir[seqnum] = 1;
		}
		pause_until(&next, period_us);
		if (write(fd, b + at, 1) != 1)
			fail("write to the worker");
		if (at + 1 < sizeof(b))
			continue;
		if (next_reply(&f, TIMEOUT_MS) < 0 ||
		    f->header.command != USBIP_RET_UNLINK ||
		    f->header.seqnum != seqnum)
			fail("no RET_UNLINK (or the interrupt IN completed)");
		seqnum = 2 + (seqnum - 1) % 200;
	}
	check_cpu_share("trickle-cpu", cpu0, t0, max_pct,
			"an interrupt IN pending, one byte at a time");
}

/* Nothing in flight; a CMD_UNLINK of a seqnum never used every PERIOD
 * ms, each answered at once by a RET_UNLINK: every spin for the client's
 * next request catches one, so only the cap on spin time per window
 * bounds what these no-ops cost. */
static void script_noop_unlink_cpu(unsigned period_ms, unsigned count,
				   unsigned max_pct)
{
	const struct usbip_urb_frame *f;
	unsigned long sleeps;
	double cpu0, t0;

	if (child < 0)
		fail("noop-unlink-cpu needs --spawn");
	worker_usage(&cpu0, &sleeps);
	t0 = wall_ms();
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned i = 0; i < count; i++) {
		uint32_t seqnum = 2 + i % 200;
		pause_until(&next, period_ms * 1000);
		unlink_urb(seqnum, 100000 + seqnum);
		if (next_reply(&f, TIMEOUT_MS) < 0 ||
		    f->header.command != USBIP_RET_UNLINK ||
		    f->header.seqnum != seqnum)
			fail("no RET_UNLINK");
	}
	check_cpu_share("noop-unlink-cpu", cpu0, t0, max_pct,
			"nothing in flight, a no-op unlink each time");
}

static int reap(char *log, size_t log_len)
{
	size_t n = 0;
	int status;

	close(fd);
	for (;;) {
		struct pollfd p = {.fd = child_log, .events = POLLIN};
		if (poll(&p, 1, 10000) <= 0)
			break;
		ssize_t r = read(child_log, log + n, log_len - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == log_len - 1)
			n = 0; /* keep the tail */
	}
	log[n] = 0;
	fputs(log, stderr);
	if (wait4(child, &status, 0, &child_usage) != child)
		fail("waitpid");
	return status;
}

static void check_sandboxed(void)
{
	char path[64], line[256];
	bool seccomp = false, nnp = false, capeff = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)child);
	f = fopen(path, "re");
	if (!f)
		fail("no /proc status for the worker");
	while (fgets(line, sizeof(line), f)) {
		seccomp |= !strcmp(line, "Seccomp:\t2\n");
		nnp |= !strcmp(line, "NoNewPrivs:\t1\n");
		capeff |= !strcmp(line, "CapEff:\t0000000000000000\n");
	}
	fclose(f);
	if (!seccomp || !nnp || !capeff)
		fail("the worker is not sandboxed (Seccomp 2, NoNewPrivs 1, "
		     "CapEff 0)");
	printf("usbip-probe: worker %d: Seccomp 2, NoNewPrivs 1, CapEff 0\n",
	       (int)child);
}

/* Plays the broker for one open request and refuses it; the worker
 * must pass the refusal on in OP_REP_IMPORT as upstream usbipd does. */
static int script_import_refusal(const char *script,
				 const struct usbip_op_message *req)
{
	bool busy = !strcmp(script, "import-busy");
	struct ipc_open_answer answer = {.status = busy ? -EBUSY : -ENODEV};
	uint32_t want = busy ? USBIP_ST_DEV_BUSY : USBIP_ST_NODEV;
	struct usbip_op_message rep;
	struct ipc_message m;
	char msg[256], log[65536];
	int passed = -1;

	if (strcmp(script, "import-busy") && strcmp(script, "import-gone"))
		fail("unknown script");
	if (op_io_send(fd, req) < 0)
		fail("sending the import request");
	struct pollfd p = {.fd = broker_end, .events = POLLIN};
	if (poll(&p, 1, TIMEOUT_MS) != 1 ||
	    ipc_recv(broker_end, IPC_BROKER_SIDE, &m, &passed, msg,
		     sizeof(msg)) < 0 ||
	    m.type != IPC_OPEN_REQUEST)
		fail("the worker did not ask the broker for the device");
	if (ipc_send(broker_end, IPC_OPEN_ANSWER, &answer, sizeof(answer), -1) <
	    0)
		fail("answering the worker");
	if (op_io_read(fd, TIMEOUT_MS, &rep, msg, sizeof(msg)) < 0 ||
	    rep.header.code != USBIP_OP_REP_IMPORT)
		fail("no OP_REP_IMPORT");
	if (rep.header.status != want) {
		fprintf(stderr, "usbip-probe: status %u, want %u\n",
			rep.header.status, want);
		fail("OP_REP_IMPORT does not carry upstream's status");
	}
	int status = reap(log, sizeof(log));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("the worker did not exit 0");
	printf("usbip-probe: %s: OP_REP_IMPORT status %u\n", script, want);
	return 0;
}

/* qubes-SCRIPT: the worker's Qubes line, "DEVID SPEED\n" with the
 * devid of a device on the sim's bus 1 and its high speed, read to the
 * newline; then SCRIPT as after an import. */
static bool qubes_line(struct usbip_op_message *rep)
{
	char line[32];
	size_t n = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	memset(rep, 0, sizeof(*rep));
	while (n + 1 < sizeof(line)) {
		if (poll(&p, 1, TIMEOUT_MS) != 1 || read(fd, line + n, 1) != 1)
			return false;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	printf("usbip-probe: Qubes line %s", line);
	unsigned line_devid;
	char tail;
	if (sscanf(line, "%u 480%c", &line_devid, &tail) != 2 || tail != '\n' ||
	    line_devid >> 16 != 1 || !(line_devid & 0xffff))
		fail("not the Qubes line of a device on bus 1 at 480");
	rep->device.busnum = 1;
	rep->device.devnum = line_devid & 0xffff;
	return true;
}

/* USBIP_PROBE_GO_FILE: once imported, wait (up to a minute) until that
 * file exists, and after the script, with the session still open, until
 * it is gone again: a benchmark reads the CPU of the server's processes
 * for the session (they end with it) before and after. */
static void wait_for_go_file(bool present)
{
	const char *go = getenv("USBIP_PROBE_GO_FILE");

	if (!go)
		return;
	fflush(stdout);
	for (int i = 0; i < 6000 && (access(go, F_OK) == 0) != present; i++)
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	if ((access(go, F_OK) == 0) != present)
		fail("USBIP_PROBE_GO_FILE did not come or go");
}

int main(int argc, char **argv)
{
	struct transport_addr a;
	struct usbip_op_message req = {.header.code = USBIP_OP_REQ_IMPORT}, rep;
	char msg[256];
	bool spawned = argc > 5 && !strcmp(argv[1], "--spawn") &&
		       !strcmp(argv[4], "--");

	if (argc != 4 && !spawned) {
		fprintf(stderr,
			"usage: %s ADDR BUSID SCRIPT\n"
			"       %s --spawn BUSID SCRIPT -- WORKER ARGS...\n",
			argv[0], argv[0]);
		return 2;
	}
	double t_connect = now_s();
	bool import_refusal = spawned && !strncmp(argv[3], "import-", 7);
	if (import_refusal)
		broker_end = 0; /* spawn() makes the channel */
	if (spawned) {
		signal(SIGPIPE, SIG_IGN);
		spawn(argv + 5); /* BUSID and SCRIPT stay argv[2], argv[3] */
	} else if (transport_parse(argv[1], &a, msg, sizeof(msg)) < 0 ||
		   (fd = transport_connect(&a, msg, sizeof(msg))) < 0) {
		fail(msg);
	}
	const char *script = argv[3];
	snprintf(req.busid, sizeof(req.busid), "%s", argv[2]);
	if (import_refusal)
		return script_import_refusal(script, &req);
	bool imported;
	if (!strncmp(script, "qubes-", 6)) {
		/* The worker runs with --qubes: no OP_REQ_IMPORT, its one
		 * line instead. */
		script += 6;
		imported = qubes_line(&rep);
	} else {
		imported = op_io_send(fd, &req) == 0 &&
			   op_io_read(fd, TIMEOUT_MS, &rep, msg, sizeof(msg)) ==
				   0 &&
			   rep.header.code == USBIP_OP_REP_IMPORT &&
			   !rep.header.status;
	}
	if (spawned && !strcmp(script, "forbidden-syscall")) {
		int status = reap(msg, sizeof(msg));
		if (imported || !WIFSIGNALED(status) ||
		    WTERMSIG(status) != SIGSYS)
			fail("the worker was not killed by SIGSYS");
		printf("usbip-probe: forbidden-syscall: killed by SIGSYS\n");
		return 0;
	}
	if (!imported)
		fail("import refused");
	/* As usbip-attach checks it: vhci_hcd takes no bus or device 0. */
	if (rep.device.busnum == 0 || rep.device.devnum == 0)
		fail("the device is on bus 0 or is device 0");
	devid = rep.device.busnum << 16 | rep.device.devnum;
	usbip_urb_reader_init(&reader, USBIP_ROLE_CLIENT, 1 << 20, direction_of,
			      NULL);
	wait_for_go_file(true);

	unsigned depth, count, max_ms;
	unsigned long long hold_bytes;
	if (!strcmp(script, "unlink-pending"))
		script_unlink_pending();
	else if (!strcmp(script, "unlink-completed"))
		script_unlink_completed();
	else if (!strcmp(script, "unlink-race"))
		script_unlink_race();
	else if (!strcmp(script, "order-control"))
		script_order_control();
	else if (!strcmp(script, "order-bulk"))
		script_order_bulk();
	else if (!strcmp(script, "inflight-64"))
		script_inflight(64);
	else if (!strcmp(script, "setup-time"))
		script_setup_time(t_connect);
	else if (!strncmp(script, "hostile-", 8))
		script_hostile(script + 8);
	else if (!strcmp(script, "enumerate"))
		script_enumerate();
	else if (!strncmp(script, "type:", 5))
		script_type(script + 5);
	else if (!strcmp(script, "control-64k"))
		script_control_64k();
	else if (!strcmp(script, "short-control"))
		script_short_control();
	else if (!strcmp(script, "iso-loopback"))
		script_iso_loopback();
	else if (spawned && !strcmp(script, "sandboxed"))
		check_sandboxed();
	else if (sscanf(script, "idle-cpu-%u-%u-%u", &depth, &count, &max_ms) ==
		 3)
		script_idle_cpu(depth, count, max_ms, true);
	else if (sscanf(script, "slow-client-%u-%u-%u", &depth, &count,
			&max_ms) == 3)
		script_idle_cpu(depth, count, max_ms, false);
	else if (sscanf(script, "trickle-cpu-%u-%u-%u", &depth, &count,
			&max_ms) == 3)
		script_trickle_cpu(depth, count, max_ms);
	else if (sscanf(script, "noop-unlink-cpu-%u-%u-%u", &depth, &count,
			&max_ms) == 3)
		script_noop_unlink_cpu(depth, count, max_ms);
	else if (sscanf(script, "no-sleep-%u", &count) == 1)
		script_no_sleep(count);
	else if (sscanf(script, "hold-%llu-%u", &hold_bytes, &count) == 2)
		script_hold(hold_bytes, count);
	else if (sscanf(script, "rate-%u-%u", &depth, &count) == 2)
		script_rate(depth, count);
	else if (sscanf(script, "bulk-%u-%u", &depth, &count) == 2)
		script_bulk(depth, count);
	else
		fail("unknown script");
	wait_for_go_file(false);
	usbip_urb_reader_clear(&reader);

	if (spawned) {
		static char log[65536];
		int status = reap(log, sizeof(log));
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail("the worker did not exit 0");
		if (!strncmp(script, "rate-", 5) ||
		    !strncmp(script, "bulk-", 5))
			printf("usbip-probe: worker CPU %.3f s user %.3f s "
			       "system\n",
			       (double)child_usage.ru_utime.tv_sec +
				       (double)child_usage.ru_utime.tv_usec /
					       1e6,
			       (double)child_usage.ru_stime.tv_sec +
				       (double)child_usage.ru_stime.tv_usec /
					       1e6);
		if (!strncmp(script, "hostile-", 8) &&
		    !strstr(log, "closing the session"))
			fail("the worker did not log why it closed");
		if (expected_field) {
			char named[96];
			snprintf(named, sizeof(named),
				 ": %s = ", expected_field);
			if (!strstr(log, named)) {
				fprintf(stderr,
					"usbip-probe: expected \"%s\""
					" in the log\n",
					named);
				fail("the refusal did not name the field");
			}
		}
	}
	printf("usbip-probe: %s: as expected\n", script);
	return 0;
}
