/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The broker's hands on USB devices: what sysfs says about a busid, the
 * usbfs node opened and checked to be that device, host drivers taken
 * off and kept off (the hub port claimed), privileges dropped before an
 * fd leaves, and the device given back to its drivers at the end.
 *
 * sysfs text is input like any other: every attribute is read with a
 * bound and parsed strictly, and a busid is checked before it becomes
 * part of a path.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* sysfs busids are short ("3-1.4.2"); the wire has room for 31 bytes. */
#define USBDEV_BUSID_LEN 32
/* Interfaces by number, as the policy sees them: 0 to 31. */
#define USBDEV_MAX_INTERFACES 32

/* An interface's first alternate setting, as sysfs lists it. */
struct usbdev_interface {
	uint8_t cls;
	uint8_t subclass;
	uint8_t protocol;
};

/*
 * A device as sysfs describes it: the broker's own record. The worker's
 * device list (the USB/IP wire form) is made from it only where a worker
 * is answered (sessions.c).
 */
struct usbdev_info {
	char busid[USBDEV_BUSID_LEN];
	char path[40];	 /* /dev/bus/usb/BBB/DDD */
	uint32_t busnum; /* 1..65535 */
	uint32_t devnum; /* 1..65535 */
	uint32_t speed;	 /* the kernel's enum usb_device_speed */
	uint16_t id_vendor;
	uint16_t id_product;
	uint16_t bcd_device;
	uint8_t device_class;
	uint8_t device_subclass;
	uint8_t device_protocol;
	uint8_t configuration_value; /* the current one; 0: unconfigured */
	uint8_t num_configurations;
	/* Interfaces of the current configuration, indexed by number:
	 * num_interfaces is one past the highest number seen. */
	uint8_t num_interfaces;
	struct usbdev_interface interfaces[USBDEV_MAX_INTERFACES];
	char product[128]; /* from sysfs, printable only */
	char serial[128];  /* from sysfs, "" when none */
	char driver[64];   /* the first interface's, or "" */
	/* An interface numbered past what the wire and the policy can
	 * hold (USBDEV_MAX_INTERFACES): the policy would judge the device
	 * without it, so it is never exported. */
	bool unjudged_interface;
};

int usbdev_read_info(const char *busid, struct usbdev_info *info, char *msg,
		     size_t msg_len);

/* A device that came in through vhci_hcd: exporting it again would loop
 * (and auto rules that match the original would match the import). */
bool usbdev_is_imported(const char *busid);

/*
 * Opens /dev/bus/usb/BBB/DDD for info and checks that the node is that
 * device: a usbfs char device with the expected numbers, and sysfs still
 * names the same bus and device number after the open. Returns the fd
 * (O_CLOEXEC) or a negative errno. The node's device descriptor must name
 * the same vendor and product as sysfs.
 */
int usbdev_open(const struct usbdev_info *info, char *msg, size_t msg_len);

/*
 * Keeps host drivers off the device while the returned hub fd is open
 * (USBDEVFS_CLAIM_PORT on the parent hub), reads info again (a device
 * that has just appeared may have been configured meanwhile), and takes
 * every interface from the driver that holds it. Returns the hub fd or a
 * negative errno.
 */
int usbdev_take(struct usbdev_info *info, int device_fd, char *msg,
		size_t msg_len);

/* Releases the port (closes hub_fd) and lets host drivers bind again. */
void usbdev_give_back(const struct usbdev_info *info, int hub_fd);

/* One way: later claims limited to the interfaces, no USBDEVFS_IOCTL. */
int usbdev_drop_privileges(int fd);
