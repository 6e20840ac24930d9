/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The importing side's half of the USB/IP handshakes, over any connected
 * socket. Everything the peer says is checked before it is used: the reply
 * code, the status, that the busid is the one asked for, the speed and the
 * devid vhci_hcd will be given. A peer gets a deadline for each message and
 * no byte past the handshake is read, since the rest of the stream belongs
 * to vhci_hcd.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "wire.h"

/* What vhci_hcd will be told must make sense: valid busid, a speed it
 * takes, a devid that is not 0. */
int handshake_check_device(const struct usbip_device_info *d, char *msg,
			   size_t msg_len);

/* OP_REQ_DEVLIST, and the reply in *reply (clear it after use). */
int handshake_devlist(int fd, int timeout_ms, struct usbip_op_message *reply,
		      char *msg, size_t msg_len);

/* OP_REQ_IMPORT for busid; on success *device is the checked device. */
int handshake_import(int fd, const char *busid, int timeout_ms,
		     struct usbip_device_info *device, char *msg,
		     size_t msg_len);

/* The device side dialled in: reads OP_REQ_EXPORT or OP_REQ_UNEXPORT and
 * checks its device. */
int handshake_export_receive(int fd, int timeout_ms,
			     struct usbip_op_message *request, char *msg,
			     size_t msg_len);
/* OP_REP_EXPORT / OP_REP_UNEXPORT with status and returncode. */
int handshake_export_reply(int fd, uint16_t code, bool ok);

/* The longest Qubes line: 10 digits, a space, "53.3-480", the newline. */
#define HANDSHAKE_QUBES_LINE_MAX 24

/*
 * The Qubes qubes.USB handshake (the device side's usb-export): reads the
 * one line "DEVID SPEED\n" and nothing past it, and fills *device for
 * busid from it. Strict: decimal digits only, devid below 2^32 with bus
 * and device numbers not 0, a speed text sysfs writes (1.5, 12, 480,
 * 53.3-480, 5000, 10000, 20000), no other field. 0, -ETIMEDOUT,
 * -ECONNRESET (nothing came) or -EBADMSG, msg saying why.
 */
int handshake_qubes(int fd, const char *busid, int timeout_ms,
		    struct usbip_device_info *device, char *msg,
		    size_t msg_len);
