// SPDX-License-Identifier: GPL-2.0-or-later
#include "handshake.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "op_io.h"
#include "vhci.h"

int handshake_check_device(const struct usbip_device_info *d, char *msg,
			   size_t msg_len)
{
	if (!vhci_busid_valid(d->busid)) {
		snprintf(msg, msg_len, "peer sent an invalid busid");
		return -EBADMSG;
	}
	if (vhci_hub_for_speed(d->speed) < 0) {
		snprintf(msg, msg_len,
			 "peer sent speed %u, which vhci_hcd "
			 "does not take",
			 d->speed);
		return -EBADMSG;
	}
	if (d->busnum == 0 || d->devnum == 0) {
		snprintf(msg, msg_len,
			 "peer sent bus %u device %u; neither "
			 "may be 0",
			 d->busnum, d->devnum);
		return -EBADMSG;
	}
	return 0;
}

static int expect_reply(const struct usbip_op_message *m, uint16_t code,
			char *msg, size_t msg_len)
{
	if (m->header.code != code) {
		snprintf(msg, msg_len, "peer answered %s (0x%04x), expected %s",
			 usbip_op_code_name(m->header.code), m->header.code,
			 usbip_op_code_name(code));
		return -EPROTO;
	}
	if (m->header.status != USBIP_ST_OK) {
		snprintf(msg, msg_len, "peer refused: %s status %u",
			 usbip_op_code_name(code), m->header.status);
		return -ECONNREFUSED;
	}
	return 0;
}

int handshake_devlist(int fd, int timeout_ms, struct usbip_op_message *reply,
		      char *msg, size_t msg_len)
{
	struct usbip_op_message req = {.header.code = USBIP_OP_REQ_DEVLIST};
	int r;

	memset(reply, 0, sizeof(*reply));
	r = op_io_send(fd, &req);
	if (r < 0) {
		snprintf(msg, msg_len, "sending OP_REQ_DEVLIST: %s",
			 strerror(-r));
		return r;
	}
	r = op_io_read(fd, timeout_ms, reply, msg, msg_len);
	if (r < 0)
		return r;
	r = expect_reply(reply, USBIP_OP_REP_DEVLIST, msg, msg_len);
	for (uint32_t i = 0; r == 0 && i < reply->num_devices; i++)
		r = handshake_check_device(&reply->devices[i].device, msg,
					   msg_len);
	if (r < 0)
		usbip_op_message_clear(reply);
	return r;
}

int handshake_import(int fd, const char *busid, int timeout_ms,
		     struct usbip_device_info *device, char *msg,
		     size_t msg_len)
{
	struct usbip_op_message req = {.header.code = USBIP_OP_REQ_IMPORT};
	struct usbip_op_message rep;
	int r;

	if (!vhci_busid_valid(busid)) {
		snprintf(msg, msg_len, "'%s' is not a busid", busid);
		return -EINVAL;
	}
	strcpy(req.busid, busid);
	r = op_io_send(fd, &req);
	if (r < 0) {
		snprintf(msg, msg_len, "sending OP_REQ_IMPORT: %s",
			 strerror(-r));
		return r;
	}
	r = op_io_read(fd, timeout_ms, &rep, msg, msg_len);
	if (r < 0)
		return r;
	r = expect_reply(&rep, USBIP_OP_REP_IMPORT, msg, msg_len);
	if (r == 0)
		r = handshake_check_device(&rep.device, msg, msg_len);
	if (r == 0 && strcmp(rep.device.busid, busid) != 0) {
		snprintf(msg, msg_len, "asked for %s, peer offered %s", busid,
			 rep.device.busid);
		r = -EPROTO;
	}
	if (r == 0)
		*device = rep.device;
	usbip_op_message_clear(&rep);
	return r;
}

int handshake_export_receive(int fd, int timeout_ms,
			     struct usbip_op_message *request, char *msg,
			     size_t msg_len)
{
	int r = op_io_read(fd, timeout_ms, request, msg, msg_len);

	if (r < 0)
		return r;
	if (request->header.code != USBIP_OP_REQ_EXPORT &&
	    request->header.code != USBIP_OP_REQ_UNEXPORT) {
		snprintf(msg, msg_len,
			 "peer sent %s (0x%04x), expected "
			 "OP_REQ_EXPORT or OP_REQ_UNEXPORT",
			 usbip_op_code_name(request->header.code),
			 request->header.code);
		usbip_op_message_clear(request);
		return -EPROTO;
	}
	r = handshake_check_device(&request->device, msg, msg_len);
	if (r < 0)
		usbip_op_message_clear(request);
	return r;
}

int handshake_export_reply(int fd, uint16_t code, bool ok)
{
	struct usbip_op_message rep = {
		.header.code = code,
		.header.status = ok ? USBIP_ST_OK : USBIP_ST_NA,
		.returncode = ok ? 0 : -1,
	};
	return op_io_send(fd, &rep);
}

/* The speed a sysfs speed text means to vhci_hcd. Faster than 5000 is
 * attached as super speed: vhci_hcd before 6.12 takes no more (the stock
 * usb-import decides the same way). */
static int qubes_speed(const char *text)
{
	static const struct {
		const char *text;
		uint32_t speed;
	} speeds[] = {
		{"1.5", USBIP_SPEED_LOW},	{"12", USBIP_SPEED_FULL},
		{"480", USBIP_SPEED_HIGH},	{"53.3-480", USBIP_SPEED_WIRELESS},
		{"5000", USBIP_SPEED_SUPER},	{"10000", USBIP_SPEED_SUPER},
		{"20000", USBIP_SPEED_SUPER},
	};
	for (size_t i = 0; i < sizeof(speeds) / sizeof(*speeds); i++)
		if (!strcmp(text, speeds[i].text))
			return (int)speeds[i].speed;
	return -1;
}

int handshake_qubes(int fd, const char *busid, int timeout_ms,
		    struct usbip_device_info *device, char *msg,
		    size_t msg_len)
{
	long long end = op_io_now_ms() + timeout_ms;
	char line[HANDSHAKE_QUBES_LINE_MAX + 1], *space, *stop;
	size_t n = 0;

	memset(device, 0, sizeof(*device));
	/* One byte at a time: what follows the newline is vhci_hcd's. */
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = end - op_io_now_ms();
		if (left <= 0) {
			snprintf(msg, msg_len, "no Qubes line within %d ms",
				 timeout_ms);
			return -ETIMEDOUT;
		}
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		ssize_t got = read(fd, line + n, 1);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0) {
			snprintf(msg, msg_len,
				 n ? "the Qubes line ended early"
				   : "the device side sent nothing (device "
				     "gone, refused, or not served)");
			return n ? -EBADMSG : -ECONNRESET;
		}
		if (line[n] == '\n')
			break;
		/* A NUL would end the text early: "1 480\0junk" would pass
		 * as a line with nothing after its speed. */
		if (line[n] == '\0') {
			snprintf(msg, msg_len, "a NUL byte in the Qubes line");
			return -EBADMSG;
		}
		if (++n == HANDSHAKE_QUBES_LINE_MAX) {
			snprintf(msg, msg_len, "the Qubes line is longer than "
					       "%d bytes",
				 HANDSHAKE_QUBES_LINE_MAX);
			return -EBADMSG;
		}
	}
	line[n] = '\0';
	space = strchr(line, ' ');
	if (!space || space == line || space - line > 10 ||
	    strspn(line, "0123456789") != (size_t)(space - line)) {
		snprintf(msg, msg_len,
			 "the Qubes line does not start with a devid");
		return -EBADMSG;
	}
	*space = '\0';
	unsigned long long devid = strtoull(line, &stop, 10);
	int speed = qubes_speed(space + 1);
	if (devid > 0xffffffffull) {
		snprintf(msg, msg_len, "devid %s is not 32 bits", line);
		return -EBADMSG;
	}
	if (speed < 0) {
		/* The text is printable digits and dots or worse: bounded,
		 * but not echoed. */
		snprintf(msg, msg_len,
			 "the Qubes line's speed is none of 1.5, 12, 480, "
			 "53.3-480, 5000, 10000, 20000");
		return -EBADMSG;
	}
	snprintf(device->busid, sizeof(device->busid), "%s", busid);
	device->busnum = (uint32_t)(devid >> 16);
	device->devnum = (uint32_t)(devid & 0xffff);
	device->speed = (uint32_t)speed;
	return handshake_check_device(device, msg, msg_len);
}
