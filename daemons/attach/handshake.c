// SPDX-License-Identifier: GPL-2.0-or-later
#include "handshake.h"

#include <errno.h>
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
