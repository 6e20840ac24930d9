/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mounted file systems on a USB device (mounts.c): taking a disk whose
 * partitions the host has mounted yanks a live file system from under
 * it, so an export asks first. Layer 1: reads sysfs and mountinfo, calls
 * nothing of the broker.
 */
#pragma once

#include <stddef.h>

/* At most this many block devices of one USB device are looked at
 * (disks, partitions, and what is stacked on them: dm, md). */
#define MOUNTS_MAX_BLOCK 64

/*
 * The mount points of the file systems on busid's block devices, and on
 * the devices stacked on them (holders), as "PATH (NAME), ..." in out,
 * each PATH as mountinfo escapes it with anything unprintable as '?';
 * the swap areas among them (from swaps, unless NULL) as "[swap] (NAME)".
 * sys_root is "/sys", mountinfo "/proc/self/mountinfo" and swaps
 * "/proc/swaps" but for tests.
 * Returns how many were found (0: none; out is "") or a negative errno
 * when the tables cannot be read (-E2BIG: more block devices than
 * MOUNTS_MAX_BLOCK, or stacked deeper than can be followed).
 */
int mounts_of_usb_device(const char *sys_root, const char *mountinfo,
			 const char *swaps, const char *busid, char *out,
			 size_t out_len);
