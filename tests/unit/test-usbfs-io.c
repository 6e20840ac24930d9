// SPDX-License-Identifier: GPL-2.0-or-later
/* The worker's usbfs URB engine (daemons/worker/usbfs_io.c) against a
 * usbfs played here: ioctl() is this file's, so no device is needed.
 * Issue 14 item 7: at depth 1 a completion costs one reap, not a second
 * one that only learns EAGAIN. */
#include <errno.h>
#include <linux/usbdevice_fs.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>

#include "check-main.h"
#include "usbfs_io.h"

enum { MAX_URBS = 8 };
static struct usbdevfs_urb *done[MAX_URBS];
static unsigned num_done, submits, reaps, discards;

/* usbfs, as far as usbfs_io uses it: every URB completes at once, in
 * full. */
int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	(void)fd;
	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	switch (request) {
	case USBDEVFS_SUBMITURB: {
		struct usbdevfs_urb *u = arg;
		submits++;
		if (num_done == MAX_URBS) {
			errno = ENOMEM;
			return -1;
		}
		u->status = 0;
		u->actual_length = u->buffer_length;
		done[num_done++] = u;
		return 0;
	}
	case USBDEVFS_REAPURBNDELAY:
		reaps++;
		if (!num_done) {
			errno = EAGAIN;
			return -1;
		}
		*(struct usbdevfs_urb **)arg = done[0];
		memmove(done, done + 1, --num_done * sizeof(done[0]));
		return 0;
	case USBDEVFS_DISCARDURB:
		discards++;
		errno = EINVAL;
		return -1;
	}
	errno = ENOTTY;
	return -1;
}

static unsigned callbacks;

static void LIBUSB_CALL on_done(struct libusb_transfer *x)
{
	ck_assert_int_eq(x->status, LIBUSB_TRANSFER_COMPLETED);
	ck_assert_int_eq(x->actual_length, x->length);
	callbacks++;
}

static void fill(struct libusb_transfer *x, unsigned char *buf, int len)
{
	memset(x, 0, sizeof(*x));
	x->type = LIBUSB_TRANSFER_TYPE_BULK;
	x->endpoint = 0x81;
	x->buffer = buf;
	x->length = len;
	x->callback = on_done;
}

START_TEST(depth_one_reaps_once)
{
	struct usbfs_io *io;
	struct libusb_transfer x;
	static unsigned char buf[512];

	ck_assert_int_eq(usbfs_io_new(-1, &io), 0);
	submits = reaps = callbacks = 0;
	for (int i = 0; i < 100; i++) {
		fill(&x, buf, sizeof(buf));
		ck_assert_int_eq(usbfs_io_submit(io, &x), 0);
		usbfs_io_reap(io);
	}
	ck_assert_uint_eq(callbacks, 100);
	ck_assert_uint_eq(submits, 100);
	ck_assert_uint_eq(reaps, 100);
	usbfs_io_free(io);
}
END_TEST

/* With more in flight than have completed, reaping goes on to EAGAIN:
 * nothing completed is left behind. */
START_TEST(deeper_reaps_all)
{
	struct usbfs_io *io;
	struct libusb_transfer x[4];
	static unsigned char buf[4][512];

	ck_assert_int_eq(usbfs_io_new(-1, &io), 0);
	submits = reaps = callbacks = 0;
	for (int i = 0; i < 4; i++) {
		fill(&x[i], buf[i], sizeof(buf[i]));
		ck_assert_int_eq(usbfs_io_submit(io, &x[i]), 0);
	}
	/* One still out, as usbfs has not completed it. */
	struct usbdevfs_urb *last = done[--num_done];
	usbfs_io_reap(io);
	ck_assert_uint_eq(callbacks, 3);
	ck_assert_uint_eq(reaps, 4);
	done[num_done++] = last;
	usbfs_io_reap(io);
	ck_assert_uint_eq(callbacks, 4);
	ck_assert_uint_eq(reaps, 5);
	usbfs_io_free(io);
}
END_TEST

/* Errors are usbfs's errno, negative and unchanged (issue 13 item 5): a
 * full usbfs quota is -ENOMEM (libusb's code -11 read as errno would be
 * -EAGAIN), an unknown cancel -ENOENT, a bad transfer type -EINVAL. */
START_TEST(errors_are_errno)
{
	struct usbfs_io *io;
	struct libusb_transfer x[MAX_URBS + 1];
	static unsigned char buf[MAX_URBS + 1][64];

	ck_assert_int_eq(usbfs_io_new(-1, &io), 0);
	num_done = 0;
	for (int i = 0; i < MAX_URBS; i++) {
		fill(&x[i], buf[i], sizeof(buf[i]));
		ck_assert_int_eq(usbfs_io_submit(io, &x[i]), 0);
	}
	fill(&x[MAX_URBS], buf[MAX_URBS], sizeof(buf[MAX_URBS]));
	ck_assert_int_eq(usbfs_io_submit(io, &x[MAX_URBS]), -ENOMEM);
	ck_assert_int_eq(usbfs_io_cancel(io, &x[MAX_URBS]), -ENOENT);
	x[MAX_URBS].type = 0x7f;
	ck_assert_int_eq(usbfs_io_submit(io, &x[MAX_URBS]), -EINVAL);
	usbfs_io_reap(io);
	ck_assert_uint_eq(num_done, 0);
	usbfs_io_free(io);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("usbfs-io");
	TCase *tc = tcase_create("reap");

	tcase_add_test(tc, depth_one_reaps_once);
	tcase_add_test(tc, deeper_reaps_all);
	tcase_add_test(tc, errors_are_errno);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
