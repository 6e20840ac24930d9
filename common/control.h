/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control protocol between usbip-brokerctl and usbip-brokerd: one
 * request per connection on a SOCK_SEQPACKET unix socket, one reply.
 *
 * A request is one line of printable ASCII:
 *   list | status | reload | export DEVICE [ADDR] [force] | unexport DEVICE
 *   | serve-fd [qubes BUSID] | show DEVICE | generate-policy
 * where DEVICE is a busid (1-2.3) or a usbfs node (/dev/bus/usb/001/004).
 * serve-fd comes with a connected stream socket (SCM_RIGHTS) that the
 * broker serves like an accepted import connection ("from fd" in the
 * policy); with qubes, for BUSID alone and with the Qubes handshake (one
 * line "DEVID SPEED\n", no OP_REQ_IMPORT). Its reply row is the worker's
 * pid.
 * A reply is "ok\n" followed by rows, or "error\tMESSAGE\n". Rows are
 * tab-separated fields, one row per line:
 *   list:   busid, vid:pid, product, speed (the wire's number), host
 *           driver or "-", exported: no, yes or in-use, policy: deny,
 *           allow or auto (with the rule's line, e.g. "allow:3"),
 *           vendor and product names from udev's hwdb ("" unknown)
 *   status: busid or "-", peer, import or export, worker pid, seconds up,
 *           URBs, bytes in, bytes out, errors
 *   show:   KEY, VALUE (busid, id, vendor, model, product, serial,
 *           speed, class, bcd_device, configuration, interfaces, then
 *           one "interface" row each: number, CC:SS:PP, class name;
 *           policy, exported, export_to, session, dial); keys may repeat
 *   generate-policy: one line of policy text per row (comments and
 *           rules; policy/README.md), ending in "deny"
 * The broker parses requests strictly (control_parse) and only after
 * checking the peer's credentials.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "transport.h"
#include "usb_sysfs.h"
#include "wire.h"

#define CONTROL_DEFAULT_PATH "/run/usbip-broker/control.sock"
#define CONTROL_REQUEST_MAX 512
#define CONTROL_REPLY_MAX 65536

enum control_verb {
	CONTROL_LIST,
	CONTROL_STATUS,
	CONTROL_EXPORT,
	CONTROL_UNEXPORT,
	CONTROL_RELOAD,
	CONTROL_SERVE_FD,
	CONTROL_SHOW,
	CONTROL_GENERATE_POLICY,
};

struct control_request {
	enum control_verb verb;
	char busid[USBIP_BUSID_LEN];	      /* or /dev/bus/usb/BBB/DDD */
	char address[TRANSPORT_ADDR_STR_MAX]; /* export: "" or where to */
	bool qubes;			      /* serve-fd: Qubes handshake */
	bool force; /* export: even with mounted file systems */
};

/* text need not be NUL-terminated; NULL means "too long". Returns 0 or
 * -EINVAL with msg saying why. */
int control_parse(const char *text, size_t len, struct control_request *req,
		  char *msg, size_t msg_len);

struct control_reply;

struct control_reply *control_reply_new(void);
void control_reply_free(struct control_reply *r);
/* A row; one that would not fit turns the reply into an error. */
__attribute__((format(printf, 2, 3))) void
control_reply_row(struct control_reply *r, const char *fmt, ...);
void control_reply_error(struct control_reply *r, const char *message);
int control_reply_send(const struct control_reply *r, int fd);
