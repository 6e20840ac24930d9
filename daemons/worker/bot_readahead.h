/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bulk-Only Transport read-ahead: once a mass-storage command block
 * (CBW) has gone to the device, the worker reads the data-IN stage and
 * then the 13-byte status (CSW) from the device at once, and answers the
 * client's matching requests from what is already there. The network
 * round trip between the stages then overlaps the device's work instead
 * of leaving it idle. Why each case stays exactly transparent is argued
 * at the top of bot_readahead.c.
 *
 * The session calls in at five points: a bulk request before it goes to
 * the device (bot_ra_request), a bulk one after it went
 * (bot_ra_submitted), every completion (bot_ra_completed), the
 * requests that change endpoint state (bot_ra_interrupt, bot_ra_control),
 * and the end (bot_ra_cancel_all, bot_ra_busy, bot_ra_free). It runs on
 * a usbfs device only, and holds at most two transfers (data and status)
 * of at most max_length bytes between them, for one interface at a time.
 *
 * What it holds counts against the session's usbfs share, the way a
 * client URB does (urb_plan_charge: the buffer and usbfs's own part),
 * from the moment a transfer goes to the device until the client's
 * request takes it (the charge then becomes that URB's, the same bytes)
 * or it is dropped. It draws on a reserve of its own, set aside from the
 * session's in-flight budget (bot_ra_reserve), never on the client's:
 * see bot_ra_reserve for why.
 */
#pragma once

#include <libusb.h>
#include <stdbool.h>
#include <stdint.h>

#include "bufpool.h"
#include "device.h"
#include "validate.h"

/* The worker's --bot-readahead sets it, --no-bot-readahead clears it. */
extern bool bot_readahead_enabled;

/* A CBW is 31 bytes, a CSW 13 (USB Mass Storage Bulk-Only 1.0, 5.1, 5.2). */
#define BOT_CBW_LEN 31
#define BOT_CSW_LEN 13
#define BOT_CBW_SIGNATURE 0x43425355u
#define BOT_INTERFACE_CLASS 0x08
#define BOT_INTERFACE_PROTOCOL 0x50

/* A well-formed CBW's fields; bot_cbw_parse() says whether it is one. */
struct bot_cbw {
	uint32_t tag;
	uint32_t data_length;
	bool data_in;
	uint8_t lun;
	uint8_t cb_length;
};

bool bot_cbw_parse(const uint8_t *buf, size_t len, struct bot_cbw *cbw);

struct bot_readahead;

/* Whether the client has requests pending on endpoint (address with 0x80
 * for IN): a read-ahead is only started on an idle endpoint. */
typedef bool (*bot_ra_busy_fn)(void *ctx, uint8_t endpoint);

/* Whether any configuration of the device has a Bulk-Only interface:
 * only then does a session set a reserve aside and read ahead. */
bool bot_ra_applies(const struct usb_device_model *model);

/*
 * The part of a session's in-flight budget (urb_limits.max_bytes_in_flight,
 * what its URBs may hold of its usbfs share) set aside for the
 * read-ahead: a quarter of it, and no more than one 1 MiB data stage and
 * its status take. The client's URBs get the rest (urb_limits_for_budget
 * of budget less this), so that what both hold stays within the share.
 * 0: too small a budget to read anything ahead.
 */
uint64_t bot_ra_reserve(uint64_t budget);
/* Sets the reserve aside from l's in-flight budget, lowering l's caps to
 * what is left for the client's URBs; returns it (0: none). */
uint64_t bot_ra_set_aside(struct urb_limits *l);

/* NULL on ENOMEM. view, dev and pool outlive it. reserve: what it may
 * hold at most, in urb_plan_charge() bytes (bot_ra_reserve). */
struct bot_readahead *bot_ra_new(struct worker_device *dev,
				 struct bufpool *pool,
				 const struct urb_session *view,
				 uint32_t max_length, uint64_t reserve,
				 bot_ra_busy_fn busy, void *busy_ctx);
/* After bot_ra_cancel_all() and !bot_ra_busy(). NULL is fine. */
void bot_ra_free(struct bot_readahead *ra);

enum bot_ra_answer {
	BOT_RA_PASS,	  /* not ours: submit it to the device */
	BOT_RA_IN_FLIGHT, /* *x answers it once it completes */
	BOT_RA_COMPLETED, /* *x answers it now: call its completion */
};

/*
 * A bulk request of length bytes on endpoint, before it goes to the
 * device; first: no earlier request of the client's is pending on that
 * endpoint. Returns an enum bot_ra_answer, or a negative errno: the
 * read-ahead holds device data this request cannot be given byte for
 * byte, and the session must end (logged, with peer). With
 * BOT_RA_IN_FLIGHT or BOT_RA_COMPLETED, *x (its buffer from pool) is the
 * caller's: set its callback and user_data (the completion still goes
 * through bot_ra_completed).
 */
int bot_ra_request(struct bot_readahead *ra, const char *peer, uint8_t endpoint,
		   uint32_t length, bool first, struct libusb_transfer **x);
/* A bulk transfer the device took (a CBW, or the data stage). */
void bot_ra_submitted(struct bot_readahead *ra,
		      const struct libusb_transfer *x);
/* Every transfer's completion, before the session looks at it. */
void bot_ra_completed(struct bot_readahead *ra,
		      const struct libusb_transfer *x);

enum bot_ra_event {
	BOT_RA_CLEAR_HALT,	  /* arg: the endpoint */
	BOT_RA_SET_INTERFACE,	  /* arg: the interface */
	BOT_RA_SET_CONFIGURATION, /* arg unused */
	BOT_RA_RESET_DEVICE,	  /* arg unused */
	BOT_RA_BOT_RESET,	  /* arg: the interface */
};

/* Before the request goes to the device: the read-ahead stops, and
 * whatever of it is in flight is cancelled and reaped. 0, or a negative
 * errno when the session must end (logged). */
int bot_ra_interrupt(struct bot_readahead *ra, const char *peer,
		     enum bot_ra_event ev, uint8_t arg);
/* A control request's setup packet, before it goes to the device: a
 * Bulk-Only Mass Storage Reset is a BOT_RA_BOT_RESET. */
int bot_ra_control(struct bot_readahead *ra, const char *peer,
		   const uint8_t setup[8]);

/* At the end of a session: drops what it holds, cancels what is in
 * flight; the completions come back through the device's events as
 * usual, and what they bring is dropped as it comes. */
void bot_ra_cancel_all(struct bot_readahead *ra);
/* Transfers of its own still in flight. */
bool bot_ra_busy(const struct bot_readahead *ra);

/* For the log and the tests: requests answered from read-ahead. */
uint64_t bot_ra_hits(const struct bot_readahead *ra);
/* What it holds now of its reserve, in urb_plan_charge() bytes. */
uint64_t bot_ra_charged(const struct bot_readahead *ra);
