// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test tool: a USB/IP client that stops reading. It imports BUSID from
 * ADDR (tcp:HOST:PORT, the broker's listener), a mass-storage gadget
 * (bulk IN ep 1, OUT ep 2, 64 KiB or more), and asks for READS reads of
 * 64 KiB (SCSI READ(10) of LBA 0: CBW, data, CSW; 3 URBs each, one read
 * every 50 ms so that little is in flight at once) without ever reading a
 * reply: the worker's
 * replies back up in its queue and the socket, and it is stuck writing.
 * It says "stalled after N URBs" on stdout once all are written or its
 * writes have made no progress for 2 s, then holds the connection, unread,
 * until killed.
 *
 *   stalled-client ADDR BUSID [READS]     (READS: default 200, 13 MiB, one every 50 ms)
 *
 * Exit status 1 when the import is refused.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "op_io.h"
#include "transport.h"
#include "wire.h"

static int fd;
static uint32_t devid;
static unsigned long urbs;

static void stalled(void)
{
	printf("stalled after %lu URBs\n", urbs);
	fflush(stdout);
	for (;;)
		pause();
}

/* All of it, or stalled() once no byte has gone for 2 s. */
static void send_all(const uint8_t *p, size_t len)
{
	while (len) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		if (poll(&pfd, 1, 2000) == 0)
			stalled();
		ssize_t w = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "stalled-client: %s\n", strerror(errno));
			exit(1);
		}
		if (w > 0) {
			p += w;
			len -= (size_t)w;
		}
	}
}

static void submit(uint32_t dir, uint32_t ep, const uint8_t *out,
		   uint32_t len)
{
	struct usbip_urb_header h = {.command = USBIP_CMD_SUBMIT,
				     .seqnum = (uint32_t)++urbs,
				     .devid = devid,
				     .direction = dir,
				     .ep = ep};
	uint8_t b[USBIP_URB_HEADER_LEN];

	h.u.submit.transfer_buffer_length = len;
	usbip_urb_header_pack(&h, b);
	send_all(b, sizeof(b));
	if (out)
		send_all(out, len);
}

int main(int argc, char **argv)
{
	/* READ(10) of 128 blocks at LBA 0 in a bulk-only CBW. */
	static const uint8_t cbw[31] = {
		'U', 'S', 'B', 'C', 1, 0, 0, 0, 0x00, 0x00, 0x01, 0x00,
		0x80, 0, 10, 0x28, 0, 0, 0, 0, 0, 0, 0, 128, 0};
	struct usbip_op_message req = {.header.code = USBIP_OP_REQ_IMPORT}, rep;
	struct transport_addr a;
	char msg[256];
	unsigned long reads = argc == 4 ? strtoul(argv[3], NULL, 10) : 200;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: stalled-client ADDR BUSID [READS]\n");
		return 2;
	}
	if (transport_parse(argv[1], &a, msg, sizeof(msg)) < 0 ||
	    (fd = transport_connect(&a, msg, sizeof(msg))) < 0) {
		fprintf(stderr, "stalled-client: %s\n", msg);
		return 1;
	}
	/* Small buffers: the worker's replies back up sooner. */
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	snprintf(req.busid, sizeof(req.busid), "%s", argv[2]);
	if (op_io_send(fd, &req) < 0 ||
	    op_io_read(fd, 10000, &rep, msg, sizeof(msg)) < 0 ||
	    rep.header.code != USBIP_OP_REP_IMPORT || rep.header.status) {
		fprintf(stderr, "stalled-client: import refused\n");
		return 1;
	}
	devid = rep.device.busnum << 16 | rep.device.devnum;
	/* Paced, so that what is in flight at once stays within a
	 * worker's share of the usbfs quota (963 KiB by default): the
	 * replies are what must pile up, not the requests. */
	for (unsigned long i = 0; i < reads; i++) {
		submit(USBIP_DIR_OUT, 2, cbw, sizeof(cbw));
		submit(USBIP_DIR_IN, 1, NULL, 65536);
		submit(USBIP_DIR_IN, 1, NULL, 13);
		usleep(50000);
	}
	stalled();
}
