/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Golden byte vectors for every USB/IP message, written by hand from the
 * layouts (shared NOTES section 1; drivers/usb/usbip/usbip_common.h and
 * tools/usb/usbip/src/usbip_network.h in Linux), not produced by our
 * encoder. tests/unit/tshark-crosscheck.sh feeds the same bytes to
 * Wireshark's usbip dissector and compares its field values with ours, so a
 * vector that disagrees with an independent decoder fails the build's tests.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VEC_MAX 1024

struct vec {
	uint8_t b[VEC_MAX];
	size_t len;
};

static inline void vec_hex(struct vec *v, const char *hex)
{
	for (const char *p = hex; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		unsigned hi = (unsigned)(p[0] <= '9' ? p[0] - '0'
						     : (p[0] | 32) - 'a' + 10);
		unsigned lo = (unsigned)(p[1] <= '9' ? p[1] - '0'
						     : (p[1] | 32) - 'a' + 10);
		v->b[v->len++] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
}

/* A fixed-size, NUL-padded string field. */
static inline void vec_str(struct vec *v, const char *s, size_t field)
{
	memset(v->b + v->len, 0, field);
	memcpy(v->b + v->len, s, strlen(s));
	v->len += field;
}

static inline void vec_zero(struct vec *v, size_t n)
{
	memset(v->b + v->len, 0, n);
	v->len += n;
}

#define VEC_PATH "/sys/devices/platform/dummy_hcd.0/usb1/1-1"
#define VEC_BUSID "1-1"

/* usbip_usb_device: bus 1, dev 2, high speed, 1d6b:0104 bcd 0100, class
 * 0/0/0, configuration 1 of 1, 1 interface. */
static inline void vec_device(struct vec *v)
{
	vec_str(v, VEC_PATH, 256);
	vec_str(v, VEC_BUSID, 32);
	vec_hex(v,
		"00000001 00000002 00000003 1d6b 0104 0100 00 00 00 01 01 01");
}

enum vec_id {
	V_REQ_DEVLIST,
	V_REP_DEVLIST,
	V_REQ_IMPORT,
	V_REP_IMPORT,
	V_REP_IMPORT_FAIL,
	V_REQ_EXPORT,
	V_REP_EXPORT,
	V_REQ_UNEXPORT,
	V_REP_UNEXPORT,
	V_CMD_SUBMIT_CTRL_IN,
	V_RET_SUBMIT_CTRL_IN,
	V_CMD_SUBMIT_BULK_OUT,
	V_CMD_SUBMIT_ISO_OUT,
	V_RET_SUBMIT_ISO_OUT,
	V_CMD_UNLINK,
	V_RET_UNLINK,
	V_COUNT,
};

static const char *const vec_names[V_COUNT] = {
	"OP_REQ_DEVLIST",
	"OP_REP_DEVLIST",
	"OP_REQ_IMPORT",
	"OP_REP_IMPORT",
	"OP_REP_IMPORT (error)",
	"OP_REQ_EXPORT",
	"OP_REP_EXPORT",
	"OP_REQ_UNEXPORT",
	"OP_REP_UNEXPORT",
	"CMD_SUBMIT control IN",
	"RET_SUBMIT control IN",
	"CMD_SUBMIT bulk OUT",
	"CMD_SUBMIT iso OUT",
	"RET_SUBMIT iso OUT",
	"CMD_UNLINK",
	"RET_UNLINK",
};

/* The 18-byte device descriptor the control IN vector returns. */
#define VEC_DEVICE_DESCRIPTOR \
	"12 01 00 02 00 00 00 40 6b 1d 04 01 00 01 01 02 03 01"
/* A SCSI READ(10) command block wrapper, 31 bytes. */
#define VEC_CBW                                                          \
	"55534243 01000000 00020000 80 00 0a 28 00 00000000 00 0001 00 " \
	"000000000000"

static inline void vec_build(enum vec_id id, struct vec *v)
{
	memset(v, 0, sizeof(*v));
	switch (id) {
	case V_REQ_DEVLIST:
		vec_hex(v, "0111 8005 00000000");
		break;
	case V_REP_DEVLIST:
		vec_hex(v, "0111 0005 00000000 00000001");
		vec_device(v);
		vec_hex(v, "08 06 50 00"); /* mass storage, SCSI, bulk-only */
		break;
	case V_REQ_IMPORT:
		vec_hex(v, "0111 8003 00000000");
		vec_str(v, VEC_BUSID, 32);
		break;
	case V_REP_IMPORT:
		vec_hex(v, "0111 0003 00000000");
		vec_device(v);
		break;
	case V_REP_IMPORT_FAIL:
		vec_hex(v, "0111 0003 00000001");
		break;
	case V_REQ_EXPORT:
		vec_hex(v, "0111 8006 00000000");
		vec_device(v);
		break;
	case V_REP_EXPORT:
		vec_hex(v, "0111 0006 00000000 00000000");
		break;
	case V_REQ_UNEXPORT:
		vec_hex(v, "0111 8007 00000000");
		vec_device(v);
		break;
	case V_REP_UNEXPORT:
		vec_hex(v, "0111 0007 00000001 ffffffff");
		break;
	case V_CMD_SUBMIT_CTRL_IN:
		/* seq 1, devid 1-2, IN, ep 0, flags URB_DIR_IN, 18 bytes,
		 * GET_DESCRIPTOR(DEVICE). */
		vec_hex(v, "00000001 00000001 00010002 00000001 00000000");
		vec_hex(v, "00000200 00000012 00000000 00000000 00000000");
		vec_hex(v, "80 06 00 01 00 00 12 00");
		break;
	case V_RET_SUBMIT_CTRL_IN:
		/* The stub zeroes devid, direction and ep in replies. */
		vec_hex(v, "00000003 00000001 00000000 00000000 00000000");
		vec_hex(v, "00000000 00000012 00000000 00000000 00000000");
		vec_zero(v, 8);
		vec_hex(v, VEC_DEVICE_DESCRIPTOR);
		break;
	case V_CMD_SUBMIT_BULK_OUT:
		vec_hex(v, "00000001 00000002 00010002 00000000 00000002");
		vec_hex(v, "00000000 0000001f 00000000 00000000 00000000");
		vec_zero(v, 8);
		vec_hex(v, VEC_CBW);
		break;
	case V_CMD_SUBMIT_ISO_OUT:
		/* seq 3, ep 1 OUT, ISO_ASAP, 8 bytes in 2 packets of 4,
		 * interval 1, then the two descriptors. */
		vec_hex(v, "00000001 00000003 00010002 00000000 00000001");
		vec_hex(v, "00000002 00000008 00000000 00000002 00000001");
		vec_zero(v, 8);
		vec_hex(v, "01020304 05060708");
		vec_hex(v, "00000000 00000004 00000000 00000000");
		vec_hex(v, "00000004 00000004 00000000 00000000");
		break;
	case V_RET_SUBMIT_ISO_OUT:
		/* OUT: no data back, only the descriptors. start_frame 0x10. */
		vec_hex(v, "00000003 00000003 00000000 00000000 00000000");
		vec_hex(v, "00000000 00000008 00000010 00000002 00000000");
		vec_zero(v, 8);
		vec_hex(v, "00000000 00000004 00000004 00000000");
		vec_hex(v, "00000004 00000004 00000004 00000000");
		break;
	case V_CMD_UNLINK:
		vec_hex(v, "00000002 00000004 00010002 00000000 00000000");
		vec_hex(v, "00000002");
		vec_zero(v, 24);
		break;
	case V_RET_UNLINK:
		/* -ECONNRESET: the URB was still pending. */
		vec_hex(v, "00000004 00000004 00000000 00000000 00000000");
		vec_hex(v, "ffffff98");
		vec_zero(v, 24);
		break;
	case V_COUNT:
		break;
	}
}
