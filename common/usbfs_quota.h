/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host's usbfs memory quota (usbcore's usbfs_memory_mb): every URB
 * buffer and every mapped buffer of every usbfs user on the host counts
 * against it, so the broker divides it among its sessions and can raise
 * it where the administrator asks. The worker, sandboxed, cannot read
 * sysfs: it is told its share on the command line.
 */
#pragma once

#include <stdint.h>

#define USBFS_MEMORY_MB_PATH "/sys/module/usbcore/parameters/usbfs_memory_mb"
/* The kernel's default, assumed when the parameter cannot be read. */
#define USBFS_MEMORY_MB_DEFAULT 16u
/* A session's share when the quota is off (0): what sessions held before
 * there were shares, 16 MiB of URBs and 4 MiB mapped. */
#define USBFS_SHARE_UNLIMITED_KIB (20u << 10)

/* The quota in MiB, 0 for none; 0 or a negative errno (-EBADMSG for text
 * that is not a number). */
int usbfs_quota_read(const char *path, unsigned long *mb);

/* Raises the quota to want_mb if it is lower; a quota that is off stays
 * off. *mb is the quota in force afterwards. 0 or a negative errno. */
int usbfs_quota_raise(const char *path, unsigned long want_mb,
		      unsigned long *mb);

/*
 * One session's share in KiB of a quota of quota_mb (0: none) among
 * max_sessions: all of them at their share still leave one share free,
 * for the host's other usbfs users.
 */
uint64_t usbfs_session_share_kib(unsigned long quota_mb, unsigned max_sessions);
