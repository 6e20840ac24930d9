// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test tool: a USB/IP client that speaks Bulk-Only Transport to a worker
 * serving a mass-storage device (bulk IN 0x81, bulk OUT 0x02, interface
 * 0, as the guest's f_mass_storage gadget has them), to check the
 * worker's BOT read-ahead (issue 14 item 10) mid-command. It imports
 * BUSID from ADDR, runs SCRIPT and prints a transcript of every reply
 * (status, actual length, a hash of the data, the CSW in hex) on stdout:
 * the same script against a worker with and one without
 * --no-bot-readahead must print the same transcript, where the device
 * decides (the scenario diffs them).
 *
 *   usbip-bot-client ADDR BUSID SCRIPT [IMAGE]
 *
 * IMAGE: the medium's backing file; READ data is checked against it.
 *
 *   read          TEST UNIT READY, READs of 1, 4 and 64 blocks, a WRITE
 *                 of one block (the image's own bytes, so the medium does
 *                 not change) read back
 *   short-stall   REQUEST SENSE of 18 bytes in a 512-byte data stage:
 *                 the device ends the data short and stalls the CSW; the
 *                 client clears the halt and reads the CSW
 *   clear-halt    a READ, then CLEAR_FEATURE(ENDPOINT_HALT) on 0x81
 *                 between the data and the CSW
 *   other-length  a READ of 4 blocks whose data stage the client asks
 *                 with 512 bytes, 100 ms after the CBW's reply: prints
 *                 the reply, or "closed" when the worker ends the session
 *   unlink        a READ whose data request is unlinked in the same
 *                 write: either RET_UNLINK -ECONNRESET alone, or the
 *                 RET_SUBMIT with the image's bytes and RET_UNLINK 0 (the
 *                 unlink lost the race), printed alike; then reset
 *                 recovery and a READ
 *   bot-reset     a READ's CBW, 100 ms, then reset recovery (Bulk-Only
 *                 Mass Storage Reset, clear-halt IN and OUT) and a READ
 *   port-reset    the same with a port reset (SET_FEATURE(PORT_RESET))
 *                 before the reset recovery
 *   bench-N       benchmark: N READs of 4 KiB (8 blocks) one after the
 *                 other; prints the time per command
 *
 * Every script starts with reset recovery (Bulk-Only Mass Storage Reset,
 * clear-halt IN and OUT), so that what one session left in the device does
 * not reach the next.
 *
 * Exit status 0 when every reply was well formed and the data matched.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "op_io.h"
#include "transport.h"
#include "wire.h"

#define TIMEOUT_MS 5000
#define MAX_SEQ 1024
#define EP_IN 1
#define EP_OUT 2
#define BLOCK 512
#define BOT_CSW_LEN_ 13
#define CBW_LEN 31

static int fd;
static uint32_t devid, seq, tag;
static int sent_dir[MAX_SEQ]; /* 0 none, 1 OUT, 2 IN */
static struct usbip_urb_reader reader;
static FILE *image;
static bool quiet; /* bench-N: no transcript */

static void fail(const char *what)
{
	fprintf(stderr, "usbip-bot-client: FAIL: %s\n", what);
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

/* Packs a CMD_SUBMIT (and its OUT data) into b; returns its length. */
static size_t pack_submit(uint8_t *b, uint32_t dir, uint32_t ep, uint32_t len,
			  const uint8_t setup[8], const uint8_t *out)
{
	struct usbip_urb_header h = {.command = USBIP_CMD_SUBMIT,
				     .seqnum = ++seq,
				     .devid = devid,
				     .direction = dir,
				     .ep = ep};

	h.u.submit.transfer_buffer_length = len;
	if (setup)
		memcpy(h.u.submit.setup, setup, 8);
	usbip_urb_header_pack(&h, b);
	sent_dir[seq % MAX_SEQ] = dir == USBIP_DIR_IN ? 2 : 1;
	if (dir == USBIP_DIR_OUT && len) {
		memcpy(b + USBIP_URB_HEADER_LEN, out, len);
		return USBIP_URB_HEADER_LEN + len;
	}
	return USBIP_URB_HEADER_LEN;
}

static uint32_t submit(uint32_t dir, uint32_t ep, uint32_t len,
		       const uint8_t setup[8], const uint8_t *out)
{
	static uint8_t b[USBIP_URB_HEADER_LEN + 65536];

	send_all(b, pack_submit(b, dir, ep, len, setup, out));
	return seq;
}

static int direction_of(void *opaque, uint32_t seqnum)
{
	(void)opaque;
	if (!sent_dir[seqnum % MAX_SEQ])
		return -ENOENT;
	return sent_dir[seqnum % MAX_SEQ] == 2;
}

/* The next reply; NULL when the worker closed the connection. */
static const struct usbip_urb_frame *next_reply(void)
{
	static uint8_t buf[65536];
	static size_t head, tail;

	for (;;) {
		const struct usbip_urb_frame *f;
		uint8_t *dst;
		size_t want, n;

		usbip_urb_reader_next(&reader, &dst, &want);
		if (head == tail) {
			ssize_t got = read(fd, buf, sizeof(buf));
			if (got < 0 &&
			    (errno == EAGAIN || errno == EWOULDBLOCK))
				fail("no reply within 5 s");
			if (got <= 0)
				return NULL;
			head = 0;
			tail = (size_t)got;
		}
		n = tail - head < want ? tail - head : want;
		memcpy(dst, buf + head, n);
		head += n;
		int r = usbip_urb_reader_advance(&reader, n, &f, NULL);
		if (r < 0)
			fail("malformed reply");
		if (r == 1)
			return f;
	}
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Prints the reply in the transcript; returns it (NULL: closed). */
static const struct usbip_urb_frame *expect(uint32_t want_seq)
{
	const struct usbip_urb_frame *f = next_reply();

	if (!f) {
		printf("closed\n");
		return NULL;
	}
	if (quiet && f->header.seqnum == want_seq)
		return f;
	if (f->header.seqnum != want_seq) {
		fprintf(stderr, "seqnum %u, expected %u\n", f->header.seqnum,
			want_seq);
		fail("replies out of order");
	}
	if (f->header.command == USBIP_RET_UNLINK) {
		printf("unlink: status %d\n", f->header.u.ret_unlink.status);
		return f;
	}
	printf("submit: status %d actual %u", f->header.u.ret_submit.status,
	       f->header.u.ret_submit.actual_length);
	if (f->data_len == BOT_CSW_LEN_ && f->data[0] == 'U')
		for (size_t i = 0; i < f->data_len; i++)
			printf("%s%02x", i ? "" : " csw ", f->data[i]);
	else if (f->data_len)
		printf(" data %016" PRIx64, fnv(f->data, f->data_len));
	printf("\n");
	return f;
}

/* A CBW for a 10-byte command block cdb with len bytes of data. */
static void cbw(uint8_t *b, uint32_t len, bool in, const uint8_t cdb[10])
{
	memset(b, 0, CBW_LEN);
	memcpy(b, "USBC", 4);
	tag++;
	memcpy(b + 4, &tag, 4); /* little-endian hosts: the guest's */
	b[8] = (uint8_t)len;
	b[9] = (uint8_t)(len >> 8);
	b[10] = (uint8_t)(len >> 16);
	b[11] = (uint8_t)(len >> 24);
	b[12] = in ? 0x80 : 0;
	b[14] = 10;
	memcpy(b + 15, cdb, 10);
}

static void rw10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	cdb[2] = (uint8_t)(lba >> 24);
	cdb[3] = (uint8_t)(lba >> 16);
	cdb[4] = (uint8_t)(lba >> 8);
	cdb[5] = (uint8_t)lba;
	cdb[7] = (uint8_t)(blocks >> 8);
	cdb[8] = (uint8_t)blocks;
}

/* The CBW sent and its reply read. */
static void command(uint32_t len, bool in, const uint8_t cdb[10])
{
	uint8_t b[CBW_LEN];

	cbw(b, len, in, cdb);
	if (!expect(submit(USBIP_DIR_OUT, EP_OUT, CBW_LEN, NULL, b)))
		exit(0);
}

static void check_image(uint32_t lba, const uint8_t *data, size_t len)
{
	static uint8_t want[65536];

	if (!image)
		return;
	if (fseek(image, (long)lba * BLOCK, SEEK_SET) < 0 ||
	    fread(want, 1, len, image) != len)
		fail("read the image");
	if (memcmp(want, data, len))
		fail("READ data differ from the image");
}

static void csw(void)
{
	if (!expect(submit(USBIP_DIR_IN, EP_IN, BOT_CSW_LEN_, NULL, NULL)))
		exit(0);
}

static void read10(uint32_t lba, uint16_t blocks)
{
	uint8_t cdb[10];
	uint32_t len = (uint32_t)blocks * BLOCK;

	rw10(cdb, 0x28, lba, blocks);
	command(len, true, cdb);
	const struct usbip_urb_frame *f =
		expect(submit(USBIP_DIR_IN, EP_IN, len, NULL, NULL));
	if (!f)
		exit(0);
	if (f->data_len != len)
		fail("a short READ");
	check_image(lba, f->data, len);
	csw();
}

static void clear_halt(uint8_t ep)
{
	const uint8_t setup[8] = {0x02, 1, 0, 0, ep, 0, 0, 0};

	if (!expect(submit(USBIP_DIR_OUT, 0, 0, setup, NULL)))
		exit(0);
}

static void reset_recovery(void)
{
	const uint8_t reset[8] = {0x21, 0xff, 0, 0, 0, 0, 0, 0};

	if (!expect(submit(USBIP_DIR_OUT, 0, 0, reset, NULL)))
		exit(0);
	clear_halt(0x81);
	clear_halt(0x02);
}

static void script_read(void)
{
	static uint8_t block[BLOCK];
	uint8_t cdb[10] = {0};

	command(0, false, cdb); /* TEST UNIT READY */
	csw();
	read10(0, 1);
	read10(100, 4);
	read10(1000, 64);
	/* A WRITE of the image's own bytes: OUT data, then the CSW. */
	if (image && (fseek(image, 200 * BLOCK, SEEK_SET) < 0 ||
		      fread(block, 1, BLOCK, image) != BLOCK))
		fail("read the image");
	rw10(cdb, 0x2a, 200, 1);
	command(BLOCK, false, cdb);
	if (!expect(submit(USBIP_DIR_OUT, EP_OUT, BLOCK, NULL, block)))
		exit(0);
	csw();
	read10(200, 1);
}

static void script_short_stall(void)
{
	uint8_t cdb[10] = {0x03, 0, 0, 0, 18, 0}; /* REQUEST SENSE */

	command(512, true, cdb);
	if (!expect(submit(USBIP_DIR_IN, EP_IN, 512, NULL, NULL)))
		exit(0);
	csw();
	clear_halt(0x81);
	csw();
	read10(8, 1);
}

static void script_clear_halt(void)
{
	uint8_t cdb[10];

	rw10(cdb, 0x28, 16, 4);
	command(4 * BLOCK, true, cdb);
	if (!expect(submit(USBIP_DIR_IN, EP_IN, 4 * BLOCK, NULL, NULL)))
		exit(0);
	clear_halt(0x81);
	csw();
	read10(24, 2);
}

static void script_other_length(void)
{
	uint8_t cdb[10];

	rw10(cdb, 0x28, 32, 4);
	command(4 * BLOCK, true, cdb);
	usleep(100 * 1000);
	const struct usbip_urb_frame *f =
		expect(submit(USBIP_DIR_IN, EP_IN, BLOCK, NULL, NULL));
	if (f && f->data_len == BLOCK)
		check_image(32, f->data, BLOCK);
}

static void script_unlink(void)
{
	static uint8_t b[2 * USBIP_URB_HEADER_LEN];
	uint8_t cdb[10];
	struct usbip_urb_header h = {.command = USBIP_CMD_UNLINK,
				     .devid = devid};

	rw10(cdb, 0x28, 40, 4);
	command(4 * BLOCK, true, cdb);
	size_t n = pack_submit(b, USBIP_DIR_IN, EP_IN, 4 * BLOCK, NULL, NULL);
	uint32_t victim = seq;
	h.seqnum = ++seq;
	h.u.unlink.seqnum = victim;
	sent_dir[seq % MAX_SEQ] = 1;
	usbip_urb_header_pack(&h, b + n);
	send_all(b, n + USBIP_URB_HEADER_LEN);
	/* Either outcome is the device's; the transcript says only that it
	 * was one of them. */
	const struct usbip_urb_frame *f = next_reply();
	if (!f)
		fail("closed after an unlink");
	if (f->header.command == USBIP_RET_UNLINK) {
		if (f->header.seqnum != seq ||
		    f->header.u.ret_unlink.status != -ECONNRESET)
			fail("the unlink's reply");
		fprintf(stderr, "unlink won: -ECONNRESET\n");
	} else {
		if (f->header.seqnum != victim ||
		    f->header.u.ret_submit.status != 0 ||
		    f->data_len != 4 * BLOCK)
			fail("the unlinked request's reply");
		check_image(40, f->data, 4 * BLOCK);
		f = next_reply();
		if (!f || f->header.command != USBIP_RET_UNLINK ||
		    f->header.seqnum != seq || f->header.u.ret_unlink.status)
			fail("RET_UNLINK 0 after the completion");
		fprintf(stderr, "unlink lost the race: the data, bit-exact\n");
	}
	printf("unlink: an outcome the device allows\n");
	reset_recovery();
	read10(48, 4);
}

static void script_reset(bool port)
{
	const uint8_t port_reset[8] = {0x23, 3, 4, 0, 1, 0, 0, 0};
	uint8_t cdb[10];

	rw10(cdb, 0x28, 56, 4);
	command(4 * BLOCK, true, cdb);
	usleep(100 * 1000);
	/* After a port reset the gadget answers the next READ's data
	 * stage with 0 bytes, read-ahead or not, until reset recovery. */
	if (port && !expect(submit(USBIP_DIR_OUT, 0, 0, port_reset, NULL)))
		exit(0);
	reset_recovery();
	read10(64, 4);
	read10(56, 4);
}

/* N READs of 4 KiB one after the other, as usb-storage issues them. */
static void script_bench(unsigned n)
{
	struct timespec t0, t1;

	quiet = true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < n; i++)
		read10((i * 8) % 8192, 8);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("%u READs of 4 KiB in %.1f ms: %.0f us per command\n", n, ms,
	       ms * 1e3 / n);
}

int main(int argc, char **argv)
{
	struct transport_addr a;
	struct usbip_op_message req = {.header.code = USBIP_OP_REQ_IMPORT}, rep;
	char msg[256];

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s ADDR BUSID SCRIPT [IMAGE]\n",
			argv[0]);
		return 2;
	}
	if (argc == 5 && !(image = fopen(argv[4], "rbe")))
		fail("open the image");
	if (transport_parse(argv[1], &a, msg, sizeof(msg)) < 0 ||
	    (fd = transport_connect(&a, msg, sizeof(msg))) < 0)
		fail(msg);
	snprintf(req.busid, sizeof(req.busid), "%s", argv[2]);
	if (op_io_send(fd, &req) ||
	    op_io_read(fd, TIMEOUT_MS, &rep, msg, sizeof(msg)) ||
	    rep.header.code != USBIP_OP_REP_IMPORT || rep.header.status)
		fail("import refused");
	devid = rep.device.busnum << 16 | rep.device.devnum;
	struct timeval tv = {.tv_sec = TIMEOUT_MS / 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	usbip_urb_reader_init(&reader, USBIP_ROLE_CLIENT, 1 << 20, direction_of,
			      NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* From a clean device whatever the last session left behind (a
	 * CSW not read, data not asked for). */
	reset_recovery();
	const char *s = argv[3];
	if (!strcmp(s, "read"))
		script_read();
	else if (!strcmp(s, "short-stall"))
		script_short_stall();
	else if (!strcmp(s, "clear-halt"))
		script_clear_halt();
	else if (!strcmp(s, "other-length"))
		script_other_length();
	else if (!strcmp(s, "unlink"))
		script_unlink();
	else if (!strcmp(s, "bot-reset"))
		script_reset(false);
	else if (!strcmp(s, "port-reset"))
		script_reset(true);
	else if (!strncmp(s, "bench-", 6) && atoi(s + 6) > 0)
		script_bench((unsigned)atoi(s + 6));
	else
		fail("unknown script");
	return 0;
}
