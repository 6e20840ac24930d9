/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * For the test tools that hand a device to the kernel's usbip-host
 * (export-via-stub, tls-usbip-server): the device as usbipd describes it
 * on the wire, read from sysfs. A device that cannot be read ends the
 * tool (exit 1): a test tool has nothing better to do.
 */
#pragma once

#include "wire.h"

void stub_describe(const char *busid, struct usbip_device_info *d);
