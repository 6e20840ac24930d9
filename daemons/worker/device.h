/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one USB device a worker serves, its descriptors parsed into the
 * validator's model, and its description for the wire. Two backends sit
 * behind it: a usbfs fd (wrapped by libusb, with no device discovery: the
 * worker sees nothing but this fd; its transfers go through usbfs_io.h),
 * and the simulated devices of simdev.h, which exist for tests and demos
 * on machines without USB hardware.
 *
 * Transfers are libusb_transfer structures either way: the session fills
 * them, a backend completes them by setting status and lengths and calling
 * the callback, always from worker_device_handle_events() or from
 * worker_device_submit() itself.
 */
#pragma once

#include <libusb.h>
#include <poll.h>

#include "usb_model.h"
#include "wire.h"

struct worker_device;
struct usbfs_io;

/* Every operation that can fail returns 0 or a negative errno, whatever
 * the backend: libusb's codes are mapped once, by errno_from_libusb. */
struct worker_device_ops {
	/* -ENODEV: the device is gone; another errno: this transfer is
	 * refused (it goes back to the client as its status). */
	int (*submit)(struct worker_device *d, struct libusb_transfer *x);
	/* -ENOENT: x is not in flight; -ENODEV: the device is gone. */
	int (*cancel)(struct worker_device *d, struct libusb_transfer *x);
	/* The fds to poll; they do not change during a session. */
	size_t (*pollfds)(struct worker_device *d, struct pollfd *pfd,
			  size_t max);
	/* Milliseconds until events are due without any fd waking, or -1. */
	int (*timeout_ms)(struct worker_device *d);
	void (*handle_events)(struct worker_device *d);
	int (*claim)(struct worker_device *d);
	void (*release)(struct worker_device *d);
	int (*set_configuration)(struct worker_device *d, uint8_t value);
	int (*set_interface)(struct worker_device *d, uint8_t interface,
			     uint8_t alternate);
	int (*clear_halt)(struct worker_device *d, uint8_t endpoint);
	int (*reset)(struct worker_device *d);
	void (*close)(struct worker_device *d);
};

struct worker_device {
	const struct worker_device_ops *ops;
	int fd;
	libusb_context *ctx;
	libusb_device_handle *handle; /* NULL for a simulated device */
	struct usbfs_io *io;	      /* the usbfs fd's transfers */
	void *sim;		      /* the simulated device's state */
	struct usb_device_model model;
	struct usbip_devlist_entry wire; /* device and interfaces */
	uint8_t configuration;		 /* current bConfigurationValue */
	uint32_t claimed;		 /* bit per claimed interface index */
};

/*
 * libusb with discovery off, initialised before the sandbox and before any
 * device is known: the broker flow learns which device it serves only
 * after the client asks. 0 or a negative errno.
 */
int worker_usb_init(libusb_context **ctx);

/*
 * Wraps fd (which it then owns) on ctx (which it borrows). busid, busnum
 * and devnum come from whoever opened the node (the broker, or the command
 * line): in a sandbox there is no sysfs to ask. Returns 0 or a negative
 * errno; msg says why, and fd is closed.
 */
int worker_device_open(struct worker_device *d, libusb_context *ctx, int fd,
		       const char *busid, uint32_t busnum, uint32_t devnum,
		       char *msg, size_t msg_len);
void worker_device_close(struct worker_device *d);

/* Shared by both backends: raw descriptors into d->model and d->wire. */
int worker_device_describe(struct worker_device *d, const uint8_t *raw,
			   size_t len, const char *busid, uint32_t busnum,
			   uint32_t devnum, uint32_t speed, char *msg,
			   size_t msg_len);
/* The wire's interface list for the current configuration. */
void worker_device_describe_interfaces(struct worker_device *d);

static inline int worker_device_submit(struct worker_device *d,
				       struct libusb_transfer *x)
{
	return d->ops->submit(d, x);
}

static inline int worker_device_cancel(struct worker_device *d,
				       struct libusb_transfer *x)
{
	return d->ops->cancel(d, x);
}

/* Claims every interface of the current configuration, taking it from a
 * kernel driver where one holds it. */
static inline int worker_device_claim(struct worker_device *d)
{
	return d->ops->claim(d);
}

static inline void worker_device_release(struct worker_device *d)
{
	d->ops->release(d);
}

/* The special requests the server carries out itself. Their negative
 * errno is the RET_SUBMIT status. */
static inline int worker_device_set_configuration(struct worker_device *d,
						  uint8_t value)
{
	return d->ops->set_configuration(d, value);
}

static inline int worker_device_set_interface(struct worker_device *d,
					      uint8_t interface,
					      uint8_t alternate)
{
	return d->ops->set_interface(d, interface, alternate);
}

static inline int worker_device_clear_halt(struct worker_device *d,
					   uint8_t endpoint)
{
	return d->ops->clear_halt(d, endpoint);
}

static inline int worker_device_reset(struct worker_device *d)
{
	return d->ops->reset(d);
}

/* A libusb error or transfer status as the negative Linux errno USB/IP
 * carries: the one place the worker maps libusb's vocabulary. */
int errno_from_libusb(int libusb_error);
int errno_from_transfer_status(enum libusb_transfer_status status);
