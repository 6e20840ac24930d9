/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The request validator: a pure function from one decoded client request,
 * the device model and the session's state to either a plan for what to do
 * with it or a named reason to refuse it. Nothing reaches libusb or usbfs
 * without passing here first.
 *
 * The checks are the inputs that broke the kernel stub and other servers
 * (shared NOTES section 2): endpoint range and existence in the current
 * alternate setting, direction, length caps, exact payload sizes, iso packet
 * counts and bounds with 64-bit arithmetic, devid, unique seqnums, control
 * setup consistency, transfer flag masking, and interception of the standard
 * requests the server must translate rather than pass on raw.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "usb_model.h"
#include "wire.h"

/* Resource caps a peer can push against. Defaults: urb_limits_default(). */
struct urb_limits {
	uint32_t max_bulk_length;
	uint32_t max_interrupt_length;
	uint32_t max_iso_length;
	uint32_t max_iso_packets; /* at most USBIP_MAX_ISO_PACKETS */
	uint32_t max_urbs_in_flight;
	uint64_t max_bytes_in_flight;
	/* The session's share of the host's usbfs quota, mapped buffers and
	 * URBs together; the session sizes both from it. 0: none given. */
	uint64_t usbfs_share;
};

/* Without a share from the broker: half the kernel's default quota
 * (16 MiB), the other half left to every other usbfs user. */
#define URB_USBFS_SHARE_DEFAULT (8u << 20)

void urb_limits_default(struct urb_limits *l);

/*
 * What usbfs charges against its host-wide quota (usbfs_memory_mb) for one
 * URB beyond its buffer: the kernel's struct async and struct urb, and an
 * iso packet descriptor per packet (devio.c, proc_do_submiturb). Rounded
 * up, so that a session at its cap is never above its share.
 */
#define URB_USBFS_OVERHEAD 512u
#define URB_USBFS_ISO_PACKET 16u

/*
 * Caps for a session whose URBs may hold `bytes` of the usbfs quota (its
 * share of what the host has, less its mapped buffer pool): bytes in
 * flight at most that, and no single transfer longer than fits in it.
 */
void urb_limits_for_budget(struct urb_limits *l, uint64_t bytes);

/* What the validator needs to know of the session. Read only. */
struct urb_session {
	const struct usb_device_model *model;
	const struct urb_limits *limits;
	uint32_t devid;
	uint8_t configuration; /* current bConfigurationValue, 0 unconfigured */
	/*
	 * The configuration the device had when it was granted, which is
	 * the one the policy judged by its interfaces: SET_CONFIGURATION
	 * may choose it or 0, no other, so that a client cannot bring up
	 * interfaces nobody judged. 0: any (the device was unconfigured at
	 * the grant, and a policy cannot have allowed it by its interfaces).
	 */
	uint8_t granted_configuration;
	/* Current alternate setting, indexed by bInterfaceNumber. */
	uint8_t alt_setting[256];
	uint32_t urbs_in_flight;
	uint64_t bytes_in_flight; /* the sum of urb_plan_charge() */
	/* Whether a seqnum is still awaiting its reply. */
	bool (*seqnum_in_flight)(const void *opaque, uint32_t seqnum);
	const void *opaque;
};

enum urb_action {
	URB_ACTION_TRANSFER,	      /* submit as is (masked flags) */
	URB_ACTION_UNLINK,	      /* cancel plan.unlink_seqnum */
	URB_ACTION_SET_CONFIGURATION, /* plan.value */
	URB_ACTION_SET_INTERFACE,     /* plan.interface, plan.value */
	URB_ACTION_CLEAR_HALT,	      /* plan.endpoint */
	URB_ACTION_RESET_DEVICE,
};

struct urb_plan {
	enum urb_action action;
	uint8_t type;	  /* enum usb_transfer_type */
	uint8_t endpoint; /* address, 0x80 set for IN */
	bool dir_in;
	uint32_t transfer_flags; /* masked to what the type allows */
	uint32_t length;
	uint32_t num_iso;
	uint32_t unlink_seqnum;
	uint8_t interface;
	uint8_t value;
};

enum urb_verdict {
	URB_ACCEPT = 0,
	URB_REJECT_COMMAND,	   /* not a CMD_SUBMIT or CMD_UNLINK */
	URB_REJECT_DEVID,	   /* not the imported device */
	URB_REJECT_SEQNUM,	   /* already in flight */
	URB_REJECT_DIRECTION,	   /* neither IN nor OUT */
	URB_REJECT_ENDPOINT,	   /* number above 15 */
	URB_REJECT_NO_ENDPOINT,	   /* not in the current alt setting */
	URB_REJECT_NOT_CONFIGURED, /* data endpoint before SET_CONFIGURATION */
	URB_REJECT_LENGTH,	   /* over the cap for its type */
	URB_REJECT_PAYLOAD,	   /* bytes sent differ from announced */
	URB_REJECT_PACKETS,	   /* iso packet count out of range */
	URB_REJECT_ISO_DESCRIPTOR, /* packet past the buffer or maxp*mult */
	URB_REJECT_SETUP,	   /* wLength or direction disagree */
	URB_REJECT_REQUEST,	   /* a request the server never passes on */
	URB_REJECT_BUSY,	   /* in-flight URB or byte limit reached */
	URB_VERDICT_COUNT,
};

const char *urb_verdict_name(enum urb_verdict v);

/* What an accepted transfer counts against max_bytes_in_flight: its
 * buffer (the packets' sum for iso) and usbfs's own share. */
uint64_t urb_plan_charge(const struct urb_plan *plan);

/*
 * Validates one request. On URB_ACCEPT *plan says what to do; otherwise
 * *fault names the field and value (the reason is the verdict's name).
 */
enum urb_verdict urb_validate(const struct urb_session *s,
			      const struct usbip_urb_frame *f,
			      struct urb_plan *plan, struct usbip_fault *fault);

/* Linux URB transfer_flags the wire carries (include/linux/usb.h). */
#define URB_FLAG_SHORT_NOT_OK 0x0001u
#define URB_FLAG_ISO_ASAP 0x0002u
#define URB_FLAG_ZERO_PACKET 0x0040u
