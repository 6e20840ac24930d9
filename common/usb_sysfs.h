/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * USB devices as sysfs describes them (/sys/bus/usb/devices/BUSID/...),
 * read strictly: sysfs text is input like any other. Every attribute is
 * read with a bound, and a number must be all digits and within range.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define USB_SYSFS_DEVICES "/sys/bus/usb/devices"

/* A USB port path, "B-P[.P...]": bus number, dash, dot-separated port
 * numbers. It becomes part of sysfs paths, so nothing else passes. */
bool usb_busid_valid(const char *busid);

/* One attribute's text of dir (a busid, or busid/interface) without its
 * newline. Returns 0, -errno, or -EBADMSG for text that is too long or
 * holds a NUL. */
int usb_sysfs_attr(const char *dir, const char *name, char *out, size_t len);

/* A number in base (10 or 16) up to max. An empty attribute reads as 0
 * (bConfigurationValue of an unconfigured device). */
int usb_sysfs_number(const char *dir, const char *name, int base,
		     unsigned long max, unsigned long *v);

/* /dev/bus/usb/BBB/DDD: the bus and device numbers, both above 0.
 * -EINVAL for any other path. */
int usb_node_numbers(const char *path, unsigned *bus, unsigned *dev);

/* The busid sysfs gives bus and device numbers; -ENODEV when none. */
int usb_sysfs_busid_of(unsigned bus, unsigned dev, char *busid, size_t len);
