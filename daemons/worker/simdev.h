/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Simulated USB devices, a backend for struct worker_device, so that the
 * worker can be tested and shown on a machine with no USB hardware:
 *
 *   keyboard[:TEXT]   a HID boot keyboard that types TEXT once (printable
 *                     ASCII, tab and newline), one report per bInterval
 *   audio-loopback    UAC1, 48 kHz 16-bit stereo: what is played on the
 *                     iso OUT endpoint comes back on the iso IN endpoint
 *   zero              bulk sink (ep 0x02) and source (ep 0x81) of a
 *                     repeating 0..62 byte pattern, for throughput; two
 *                     vendor requests for reply-order tests (0xc0 0x5d:
 *                     answered wValue ms late; 0x40 0x5e: the source
 *                     busy for wValue ms), and a zero-length read refused
 *                     at submission
 *
 * ep0 answers one request after another, as a control pipe does; a
 * transfer that is due has completed on the device, and cancelling it
 * no longer stops it (the race usbfs has with DISCARDURB).
 *
 * Iso and interrupt endpoints keep the bus's pace (one packet per frame,
 * one report per interval), so a host driver sees a plausible device.
 * A simulated device is served only when the worker is started with
 * --simulate; nothing else ever creates one.
 */
#pragma once

#include <stddef.h>

#include "device.h"

/* The busid a simulated device has unless --busid names another. */
#define SIM_DEFAULT_BUSID "1-1"

/* Returns 0, or -EINVAL for an unknown kind or a text it cannot type;
 * msg says why. */
int sim_device_open(struct worker_device *d, const char *spec,
		    const char *busid, uint32_t busnum, char *msg,
		    size_t msg_len);
