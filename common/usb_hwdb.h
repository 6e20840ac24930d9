/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Vendor and product names from udev's hardware database (hwdb.bin), the
 * names lsusb prints, for the programs that link libudev (the broker's
 * list and show, usbip-attach port). Not in a common library: those do
 * not link libudev; each program compiles this file itself.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct udev_hwdb;

/* NULL when there is no database; usb_hwdb_names then says "". */
struct udev_hwdb *usb_hwdb_open(void);
void usb_hwdb_close(struct udev_hwdb *hwdb);

/* ID_VENDOR_FROM_DATABASE and ID_MODEL_FROM_DATABASE of vid:pid, each ""
 * when unknown; control bytes and tabs become '?', so that a name is one
 * field of a row. */
void usb_hwdb_names(struct udev_hwdb *hwdb, uint16_t vid, uint16_t pid,
		    char *vendor, size_t vendor_len, char *model,
		    size_t model_len);
