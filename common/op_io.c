// SPDX-License-Identifier: GPL-2.0-or-later
#include "op_io.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "macros.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int op_io_read(int fd, int timeout_ms, struct usbip_op_message *m, char *msg,
	       size_t msg_len)
{
	struct usbip_op_reader r;
	struct usbip_fault fault = {0};
	long long deadline = now_ms() + timeout_ms;
	int ret;

	usbip_op_reader_init(&r);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint8_t *dst;
		size_t want;
		long long left = deadline - now_ms();
		ssize_t got;

		if (left <= 0) {
			snprintf(msg, msg_len,
				 "peer did not answer within %d ms",
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
				 got < 0 ? strerror(errno)
					 : "peer closed the connection "
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

int op_io_send(int fd, const struct usbip_op_message *m)
{
	long len = usbip_op_encode(m, NULL, 0);
	size_t done = 0;

	if (len < 0)
		return (int)len;
	/* Sized first: a device list can be long. */
	_cleanup_free_ uint8_t *buf = malloc((size_t)len);
	if (!buf)
		return -ENOMEM;
	usbip_op_encode(m, buf, (size_t)len);
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
