/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one USB device a worker serves: a usbfs fd wrapped by libusb (no
 * device discovery: the worker sees nothing but this fd), its descriptors
 * parsed into the validator's model, and its description for the wire.
 */
#pragma once

#include <libusb.h>

#include "usb_model.h"
#include "wire.h"

struct worker_device {
	int fd;
	libusb_context *ctx;
	libusb_device_handle *handle;
	struct usb_device_model model;
	struct usbip_devlist_entry wire; /* device and interfaces */
	uint8_t configuration;		 /* current bConfigurationValue */
	uint32_t claimed;		 /* bit per claimed interface index */
};

/*
 * Wraps fd (which it then owns). busid, busnum and devnum come from whoever
 * opened the node (the broker, or the command line): in a sandbox there is
 * no sysfs to ask. Returns 0 or a negative errno; msg says why.
 */
int worker_device_open(struct worker_device *d, int fd, const char *busid,
		       uint32_t busnum, uint32_t devnum, char *msg,
		       size_t msg_len);
void worker_device_close(struct worker_device *d);

/* Claims every interface of the current configuration, taking it from a
 * kernel driver where one holds it. */
int worker_device_claim(struct worker_device *d);
void worker_device_release(struct worker_device *d);

/* The special requests the server carries out itself. Return a negative
 * Linux errno for the RET_SUBMIT status. */
int worker_device_set_configuration(struct worker_device *d, uint8_t value);
int worker_device_set_interface(struct worker_device *d, uint8_t interface,
				uint8_t alternate);
int worker_device_clear_halt(struct worker_device *d, uint8_t endpoint);
int worker_device_reset(struct worker_device *d);

/* A libusb error or transfer status as the negative Linux errno USB/IP
 * carries. */
int errno_from_libusb(int libusb_error);
int errno_from_transfer_status(enum libusb_transfer_status status);
