// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test tool: a scripted USB/IP client for a worker serving a mass-storage
 * gadget. It imports BUSID from ADDR and runs one script:
 *
 *   unlink-pending    a bulk IN that can never complete (no command sent),
 *                     then its unlink: exactly one RET_UNLINK -ECONNRESET
 *                     and no RET_SUBMIT for it
 *   unlink-completed  a GET_DESCRIPTOR, its RET_SUBMIT, then its unlink:
 *                     RET_UNLINK status 0
 *   inflight-64       64 GET_DESCRIPTORs in one write: 64 replies, each
 *                     seqnum once, each 18 bytes
 *   hostile-NAME      one malformed request (see hostile[] below): the
 *                     worker must close the connection without replying
 *   rate-DEPTH-COUNT  benchmark: COUNT GET_DESCRIPTORs with DEPTH in
 *                     flight; prints URBs per second
 *
 * Exit status 0 when the worker behaved as the script expects.
 *   usbip-probe ADDR BUSID SCRIPT
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "op_io.h"
#include "transport.h"
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

static void send_all(const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w <= 0)
			fail("write to the worker");
		p += w;
		len -= (size_t)w;
	}
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

/* The next reply, 0 for one, -ETIMEDOUT, or -ECONNRESET at EOF. */
static int next_reply(const struct usbip_urb_frame **f, int timeout_ms)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint8_t *dst;
		size_t want;

		if (poll(&p, 1, timeout_ms) == 0)
			return -ETIMEDOUT;
		usbip_urb_reader_next(&reader, &dst, &want);
		ssize_t got = read(fd, dst, want);
		if (got <= 0)
			return -ECONNRESET;
		int r = usbip_urb_reader_advance(&reader, (size_t)got, f, NULL);
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
	    f->header.command != USBIP_RET_SUBMIT || f->header.seqnum != 1)
		fail("no RET_SUBMIT for GET_DESCRIPTOR");
	unlink_urb(2, 1);
	if (next_reply(&f, TIMEOUT_MS) < 0 ||
	    f->header.command != USBIP_RET_UNLINK || f->header.seqnum != 2 ||
	    f->header.u.ret_unlink.status != 0)
		fail("expected RET_UNLINK seqnum 2 status 0");
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

/* Keeps `depth` requests in flight until `count` have been answered. */
static void script_rate(unsigned depth, unsigned count)
{
	const struct usbip_urb_frame *f;
	unsigned sent = 0, done = 0;

	if (depth == 0 || depth > MAX_SEQ - 2 || count == 0)
		fail("rate-DEPTH-COUNT: DEPTH 1 to 254, COUNT above 0");
	double t0 = now_s();
	while (done < count) {
		while (sent < count && sent - done < depth) {
			/* seqnums cycle through 1..MAX_SEQ-1 */
			submit(1 + sent % (MAX_SEQ - 1), USBIP_DIR_IN, 0, 18,
			       get_device_descriptor);
			sent++;
		}
		if (next_reply(&f, TIMEOUT_MS) < 0 ||
		    f->header.u.ret_submit.status || f->data_len != 18)
			fail("a request failed during the benchmark");
		done++;
	}
	double t = now_s() - t0;
	printf("usbip-probe: depth %u: %u URBs in %.3f s = %.0f URBs/s\n",
	       depth, count, t, count / t);
}

struct hostile {
	const char *name;
	void (*send)(void);
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
	submit(1, USBIP_DIR_IN, 1, 512, NULL); /* pending forever */
	submit(1, USBIP_DIR_IN, 1, 512, NULL);
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

static const struct hostile hostile[] = {
	{"ep16", h_ep16},
	{"direction", h_direction},
	{"no-endpoint", h_no_endpoint},
	{"wrong-direction", h_wrong_direction},
	{"huge-length", h_huge},
	{"devid", h_devid},
	{"duplicate-seqnum", h_duplicate_seqnum},
	{"wlength", h_wlength},
	{"setup-direction", h_setup_direction},
	{"set-address", h_set_address},
	{"iso-packets-on-bulk", h_iso_packets_on_bulk},
	{"too-many-packets", h_too_many_packets},
	{"unknown-command", h_unknown_command},
	{"longer-payload", h_longer_payload},
	{"reply-as-request", h_reply_as_request},
};

static void script_hostile(const char *name)
{
	const struct usbip_urb_frame *f;

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		if (strcmp(name, hostile[i].name))
			continue;
		hostile[i].send();
		int r = next_reply(&f, TIMEOUT_MS);
		if (r == 0)
			fail("the worker answered a malformed request");
		if (r == -ETIMEDOUT)
			fail("the worker kept the session open");
		return;
	}
	fail("no such hostile script");
}

int main(int argc, char **argv)
{
	struct transport_addr a;
	struct usbip_op_message req = {.header.code = USBIP_OP_REQ_IMPORT}, rep;
	char msg[256];

	if (argc != 4) {
		fprintf(stderr, "usage: %s ADDR BUSID SCRIPT\n", argv[0]);
		return 2;
	}
	if (transport_parse(argv[1], &a, msg, sizeof(msg)) < 0 ||
	    (fd = transport_connect(&a, msg, sizeof(msg))) < 0)
		fail(msg);
	snprintf(req.busid, sizeof(req.busid), "%s", argv[2]);
	if (op_io_send(fd, &req) < 0 ||
	    op_io_read(fd, TIMEOUT_MS, &rep, msg, sizeof(msg)) < 0 ||
	    rep.header.code != USBIP_OP_REP_IMPORT || rep.header.status)
		fail("import refused");
	devid = rep.device.busnum << 16 | rep.device.devnum;
	usbip_urb_reader_init(&reader, USBIP_ROLE_CLIENT, 1 << 20, direction_of,
			      NULL);

	const char *script = argv[3];
	if (!strcmp(script, "unlink-pending"))
		script_unlink_pending();
	else if (!strcmp(script, "unlink-completed"))
		script_unlink_completed();
	else if (!strcmp(script, "inflight-64"))
		script_inflight(64);
	else if (!strncmp(script, "hostile-", 8))
		script_hostile(script + 8);
	else if (!strncmp(script, "rate-", 5)) {
		unsigned depth, count;
		if (sscanf(script, "rate-%u-%u", &depth, &count) != 2)
			fail("rate-DEPTH-COUNT");
		script_rate(depth, count);
	} else
		fail("unknown script");
	printf("usbip-probe: %s: as expected\n", script);
	return 0;
}
