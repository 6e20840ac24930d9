/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * usbip-brokerctl generate-policy: one allow rule per device present, as
 * usbguard generate-policy writes them, in the policy's own language
 * (policy/README.md), so that the output can be reviewed and installed.
 */
#pragma once

#include <stddef.h>

#include "usbdev.h"

/*
 * The rule that pins info down: its ids, its serial when it has one the
 * policy can quote, and the exact set of its interface types. Writes a
 * comment line naming the device first (its busid and product, both
 * already printable) and no trailing newline. Returns the length, or
 * -ENOSPC when out is too small.
 */
int policy_gen_rule(const struct usbdev_info *info, char *out, size_t len);

/* "Human interface device" for 0x03; NULL for a class it does not know. */
const char *usb_class_name(unsigned cls);
