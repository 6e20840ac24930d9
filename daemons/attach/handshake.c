// SPDX-License-Identifier: GPL-2.0-or-later
#include "handshake.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vhci.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int handshake_read_op(int fd, int timeout_ms, struct usbip_op_message *m,
		      char *msg, size_t msg_len)
{
	struct usbip_op_reader r;
	struct usbip_fault fault = { 0 };
	long long deadline = now_ms() + timeout_ms;
	int ret;

	usbip_op_reader_init(&r);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint8_t *dst;
		size_t want;
		long long left = deadline - now_ms();
		ssize_t got;

		if (left <= 0) {
			snprintf(msg, msg_len, "peer did not answer within %d ms",
				 timeout_ms);
			ret = -ETIMEDOUT;
			break;
		}
		ret = poll(&pfd, 1, (int)left);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			ret = -errno;
			snprintf(msg, msg_len, "poll: %s", strerror(-ret));
			break;
		}
		if (ret == 0)
			continue;
		ret = usbip_op_reader_next(&r, &dst, &want);
		if (ret < 0)
			break;
		got = read(fd, dst, want);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			ret = got < 0 ? -errno : -ECONNRESET;
			snprintf(msg, msg_len, "%s",
				 got < 0 ? strerror(errno) :
					   "peer closed the connection "
					   "mid-handshake");
			break;
		}
		ret = usbip_op_reader_advance(&r, (size_t)got, m, &fault);
		if (ret < 0) {
			snprintf(msg, msg_len, "malformed message: %s %llu: %s",
				 fault.field ? fault.field : "?",
				 (unsigned long long)fault.value,
				 fault.reason ? fault.reason : strerror(-ret));
			break;
		}
		if (ret == 1) {
			ret = 0;
			break;
		}
	}
	usbip_op_reader_clear(&r);
	return ret;
}

int handshake_send_op(int fd, const struct usbip_op_message *m)
{
	uint8_t buf[USBIP_OP_HEADER_LEN + USBIP_DEVICE_LEN];
	long len = usbip_op_encode(m, buf, sizeof(buf));
	size_t done = 0;

	if (len < 0)
		return (int)len;
	while (done < (size_t)len) {
		ssize_t w = write(fd, buf + done, (size_t)len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		done += (size_t)w;
	}
	return 0;
}

int handshake_check_device(const struct usbip_device_info *d, char *msg,
			   size_t msg_len)
{
	if (!vhci_busid_valid(d->busid)) {
		snprintf(msg, msg_len, "peer sent an invalid busid");
		return -EBADMSG;
	}
	if (vhci_hub_for_speed(d->speed) < 0) {
		snprintf(msg, msg_len, "peer sent speed %u, which vhci_hcd "
			 "does not take", d->speed);
		return -EBADMSG;
	}
	if (d->busnum == 0 || d->devnum == 0) {
		snprintf(msg, msg_len, "peer sent bus %u device %u; neither "
			 "may be 0", d->busnum, d->devnum);
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
	struct usbip_op_message req = { .header.code = USBIP_OP_REQ_DEVLIST };
	int r;

	memset(reply, 0, sizeof(*reply));
	r = handshake_send_op(fd, &req);
	if (r < 0) {
		snprintf(msg, msg_len, "sending OP_REQ_DEVLIST: %s",
			 strerror(-r));
		return r;
	}
	r = handshake_read_op(fd, timeout_ms, reply, msg, msg_len);
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
	struct usbip_op_message req = { .header.code = USBIP_OP_REQ_IMPORT };
	struct usbip_op_message rep;
	int r;

	if (!vhci_busid_valid(busid)) {
		snprintf(msg, msg_len, "'%s' is not a busid", busid);
		return -EINVAL;
	}
	strcpy(req.busid, busid);
	r = handshake_send_op(fd, &req);
	if (r < 0) {
		snprintf(msg, msg_len, "sending OP_REQ_IMPORT: %s",
			 strerror(-r));
		return r;
	}
	r = handshake_read_op(fd, timeout_ms, &rep, msg, msg_len);
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
	int r = handshake_read_op(fd, timeout_ms, request, msg, msg_len);

	if (r < 0)
		return r;
	if (request->header.code != USBIP_OP_REQ_EXPORT &&
	    request->header.code != USBIP_OP_REQ_UNEXPORT) {
		snprintf(msg, msg_len, "peer sent %s (0x%04x), expected "
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
	return handshake_send_op(fd, &rep);
}
