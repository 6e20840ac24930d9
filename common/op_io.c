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

long long op_io_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int op_io_wait(int fd, short events, const struct op_io_deadline *d)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		long long left = d->at_ms - op_io_now_ms();
		struct timespec ts;
		int r;

		if (d->stop && *d->stop)
			return -EINTR;
		if (left <= 0)
			return -ETIMEDOUT;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		r = ppoll(&pfd, 1, &ts, d->wait_mask);
		if (r < 0 && errno != EINTR)
			return -errno;
		/* Readable or writable, or hung up: the read or write that
		 * follows tells which. */
		if (r > 0)
			return 0;
	}
}

int op_io_read_by(int fd, const struct op_io_deadline *d,
		  struct usbip_op_message *m, char *msg, size_t msg_len)
{
	struct usbip_op_reader r;
	struct usbip_fault fault = {0};
	int ret;

	usbip_op_reader_init(&r);
	for (;;) {
		uint8_t *dst;
		size_t want;
		ssize_t got;

		/* Waiting first keeps the deadline on a blocking socket too:
		 * the read then returns what is there. */
		ret = op_io_wait(fd, POLLIN, d);
		if (ret < 0) {
			if (ret == -ETIMEDOUT)
				snprintf(msg, msg_len,
					 "the deadline passed before the "
					 "peer's message was complete");
			else if (ret == -EINTR)
				snprintf(msg, msg_len, "stopped");
			else
				snprintf(msg, msg_len, "poll: %s",
					 strerror(-ret));
			break;
		}
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

/* The message as bytes, in a buffer sized first: a device list can be
 * long. */
static uint8_t *encode(const struct usbip_op_message *m, size_t *len, int *err)
{
	long n = usbip_op_encode(m, NULL, 0);
	uint8_t *buf;

	if (n < 0) {
		*err = (int)n;
		return NULL;
	}
	buf = malloc((size_t)n);
	if (!buf) {
		*err = -ENOMEM;
		return NULL;
	}
	usbip_op_encode(m, buf, (size_t)n);
	*len = (size_t)n;
	return buf;
}

int op_io_send_by(int fd, const struct op_io_deadline *d,
		  const struct usbip_op_message *m, char *msg, size_t msg_len)
{
	size_t len = 0, done = 0;
	int r = 0;
	_cleanup_free_ uint8_t *buf = encode(m, &len, &r);

	if (!buf) {
		snprintf(msg, msg_len, "encoding: %s", strerror(-r));
		return r;
	}
	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);
		if (w >= 0) {
			done += (size_t)w;
			continue;
		}
		if (errno != EINTR && errno != EAGAIN) {
			r = -errno;
			snprintf(msg, msg_len, "%s", strerror(-r));
			return r;
		}
		r = op_io_wait(fd, POLLOUT, d);
		if (r < 0) {
			snprintf(msg, msg_len, "%s",
				 r == -ETIMEDOUT ? "the deadline passed "
						   "before the peer read the "
						   "answer"
				 : r == -EINTR	 ? "stopped"
						 : strerror(-r));
			return r;
		}
	}
	return 0;
}

int op_io_read(int fd, int timeout_ms, struct usbip_op_message *m, char *msg,
	       size_t msg_len)
{
	struct op_io_deadline d = {.at_ms = op_io_now_ms() + timeout_ms};
	int r = op_io_read_by(fd, &d, m, msg, msg_len);

	if (r == -ETIMEDOUT)
		snprintf(msg, msg_len, "peer did not answer within %d ms",
			 timeout_ms);
	return r;
}

int op_io_send(int fd, const struct usbip_op_message *m)
{
	size_t len = 0, done = 0;
	int r = 0;
	_cleanup_free_ uint8_t *buf = encode(m, &len, &r);

	if (!buf)
		return r;
	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		done += (size_t)w;
	}
	return 0;
}
