/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker's transfers on a usbfs fd, submitted and reaped with the
 * usbfs ioctls directly rather than through libusb.
 *
 * Why not libusb: libusb 1.0.26 refuses control transfers above 4096
 * bytes (MAX_CTRL_BUFFER_LENGTH), USB/IP carries up to 65535, and the
 * synchronous USBDEVFS_CONTROL refuses above a page and blocks. A URB
 * submitted behind libusb's back on the same fd cannot coexist with it:
 * libusb reaps every URB of the fd and takes each URB's usercontext for
 * its own transfer. A second fd would need the broker to hand out two
 * and still fail class requests to a claimed interface (claims are per
 * open file). So every transfer goes through here; libusb keeps what it
 * is good at on this fd: wrapping it, the mapped buffers, claims,
 * SET_CONFIGURATION, SET_INTERFACE, CLEAR_HALT and reset, all of them
 * synchronous ioctls that leave no URB for it to reap.
 *
 * The session's libusb_transfer structures stay the currency (as with
 * the simulated devices): this fills in status and lengths and calls the
 * callback, from usbfs_io_reap() only.
 */
#pragma once

#include <libusb.h>

struct usbfs_io;

/* 0 or -ENOMEM. */
int usbfs_io_new(int fd, struct usbfs_io **io);
/* Whatever is still in flight is discarded and forgotten, callbacks not
 * called: the caller has drained first. */
void usbfs_io_free(struct usbfs_io *io);

/* 0 or a negative errno: usbfs's own (-ENODEV gone, -EPIPE stalled,
 * -ENOMEM over the usbfs quota, -EINVAL refused), passed up unchanged. */
int usbfs_io_submit(struct usbfs_io *io, struct libusb_transfer *x);
/* -ENOENT when x is not in flight, -ENODEV when the device is gone. The callback comes
 * later, from usbfs_io_reap(), with LIBUSB_TRANSFER_CANCELLED. */
int usbfs_io_cancel(struct usbfs_io *io, struct libusb_transfer *x);
/* Every completion usbfs has, each finished transfer's callback called. */
void usbfs_io_reap(struct usbfs_io *io);
