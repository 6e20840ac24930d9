// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The Bulk-Only Transport read-ahead's state machine (issue 14 item 10),
 * against a device played by the test: which transfers it puts on the
 * bus and when, which client requests it answers, and what it does on
 * each deviation (another length, a stall, an unlink, a clear-halt, a
 * reset). The session's part (submit, completion) is played here the way
 * session.c does it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bot_readahead.h"
#include "check-main.h"
#include "descriptors.h"
#include "macros.h"

#define MAX_XFERS 16

/* The device: transfers in flight, in the order they reached it. */
static struct libusb_transfer *bus[MAX_XFERS];
static unsigned on_bus;
static bool cancel_asked[MAX_XFERS];
/* What a cancel leaves in a transfer: bytes the device gave before. */
static int cancel_leaves;

static struct usb_device_model model;
static struct urb_limits limits;
static struct urb_session view;
static struct bufpool pool;
static struct worker_device dev;
static struct bot_readahead *ra;
static bool in_busy; /* the client has a request pending on 0x81 */

/* The session's side: the last completion of a client transfer. */
static struct libusb_transfer *answered;
static unsigned answers;

static int bus_index(const struct libusb_transfer *x)
{
	for (unsigned i = 0; i < on_bus; i++)
		if (bus[i] == x)
			return (int)i;
	return -1;
}

static void off_bus(unsigned i)
{
	memmove(bus + i, bus + i + 1, (on_bus - i - 1) * sizeof(*bus));
	memmove(cancel_asked + i, cancel_asked + i + 1,
		(on_bus - i - 1) * sizeof(*cancel_asked));
	on_bus--;
}

static int fake_submit(struct worker_device *d, struct libusb_transfer *x)
{
	(void)d;
	ck_assert_uint_lt(on_bus, MAX_XFERS);
	cancel_asked[on_bus] = false;
	bus[on_bus++] = x;
	x->actual_length = 0;
	return 0;
}

static int fake_cancel(struct worker_device *d, struct libusb_transfer *x)
{
	(void)d;
	int i = bus_index(x);
	if (i < 0)
		return -ENOENT;
	cancel_asked[i] = true;
	return 0;
}

/* What usbfs does once DISCARDURB returned: the cancelled URB is there
 * to reap, with whatever the device gave it. */
static void fake_events(struct worker_device *d)
{
	(void)d;
	for (unsigned i = 0; i < on_bus;)
		if (cancel_asked[i]) {
			struct libusb_transfer *x = bus[i];
			off_bus(i);
			x->status = LIBUSB_TRANSFER_CANCELLED;
			x->actual_length = cancel_leaves;
			x->callback(x);
		} else {
			i++;
		}
}

static const struct worker_device_ops fake_ops = {
	.submit = fake_submit,
	.cancel = fake_cancel,
	.handle_events = fake_events,
};

/* The device answers the transfer at position i of the bus. */
static struct libusb_transfer *device_answers(unsigned i,
					      enum libusb_transfer_status st,
					      int actual, uint8_t fill)
{
	ck_assert_uint_lt(i, on_bus);
	struct libusb_transfer *x = bus[i];
	off_bus(i);
	x->status = st;
	x->actual_length = actual;
	if (actual > 0 && (x->endpoint & 0x80))
		memset(x->buffer, fill, (size_t)actual);
	x->callback(x);
	return x;
}

static void LIBUSB_CALL client_done(struct libusb_transfer *x)
{
	bot_ra_completed(ra, x);
	answered = x;
	answers++;
}

static bool busy(void *ctx, uint8_t ep)
{
	(void)ctx;
	return ep == 0x81 && in_busy;
}

static void setup(void)
{
	struct vec v;

	desc_mass_storage(&v);
	ck_assert_int_eq(usb_model_parse(v.b, v.len, &model, NULL), 0);
	urb_limits_default(&limits);
	memset(&view, 0, sizeof(view));
	view.model = &model;
	view.limits = &limits;
	view.configuration = 1;
	dev.ops = &fake_ops;
	bufpool_init(&pool, NULL, 4u << 20);
	on_bus = 0;
	cancel_leaves = 0;
	in_busy = false;
	answered = NULL;
	answers = 0;
	ra = bot_ra_new(&dev, &pool, &view, 1u << 20, 4u << 20, busy, NULL);
	ck_assert_ptr_nonnull(ra);
}

static void teardown(void)
{
	/* The session's end releases every charge, whatever the test left
	 * in flight or held. */
	bot_ra_cancel_all(ra);
	fake_events(&dev);
	ck_assert(!bot_ra_busy(ra));
	ck_assert_uint_eq(bot_ra_charged(ra), 0);
	bot_ra_free(ra);
	/* The client's transfers still on the bus. */
	while (on_bus) {
		struct libusb_transfer *x = bus[0];
		off_bus(0);
		bufpool_free(&pool, x->buffer);
		libusb_free_transfer(x);
	}
	bufpool_destroy(&pool);
	usb_model_clear(&model);
}

static void cbw_bytes(uint8_t *b, uint32_t length, bool in, uint8_t lun,
		      uint8_t cb_length)
{
	memset(b, 0, BOT_CBW_LEN);
	memcpy(b, "USBC", 4);
	b[4] = 0x2a; /* tag */
	b[8] = (uint8_t)length;
	b[9] = (uint8_t)(length >> 8);
	b[10] = (uint8_t)(length >> 16);
	b[11] = (uint8_t)(length >> 24);
	b[12] = in ? 0x80 : 0;
	b[13] = lun;
	b[14] = cb_length;
	b[15] = 0x28; /* READ(10) */
}

/*
 * The client's bulk request of length bytes on ep, as session.c makes it:
 * answered from the read-ahead, or submitted. Returns what
 * bot_ra_request returned; *x the transfer answering it.
 */
static int client(uint8_t ep, uint32_t length, const uint8_t *out,
		  struct libusb_transfer **x)
{
	struct libusb_transfer *t;
	int r = bot_ra_request(ra, "test", ep, length, true, &t);

	if (r < 0)
		return r;
	if (t) {
		t->callback = client_done;
		t->user_data = NULL;
		if (r == BOT_RA_COMPLETED)
			client_done(t);
		*x = t;
		return r;
	}
	t = libusb_alloc_transfer(0);
	uint8_t *buf = bufpool_alloc(&pool, length);
	if (out)
		memcpy(buf, out, length);
	libusb_fill_bulk_transfer(t, NULL, ep, buf, (int)length, client_done,
				  NULL, 0);
	ck_assert_int_eq(dev.ops->submit(&dev, t), 0);
	bot_ra_submitted(ra, t);
	*x = t;
	return r;
}

static void client_free(struct libusb_transfer *x)
{
	bufpool_free(&pool, x->buffer);
	libusb_free_transfer(x);
}

/* A CBW the device took: returns with the read-ahead (if any) on the bus. */
static void command(uint32_t length, bool in)
{
	uint8_t b[BOT_CBW_LEN];
	struct libusb_transfer *x;

	cbw_bytes(b, length, in, 0, 10);
	ck_assert_int_eq(client(0x02, BOT_CBW_LEN, b, &x), BOT_RA_PASS);
	ck_assert_ptr_eq(bus[on_bus - 1], x);
	device_answers(on_bus - 1, LIBUSB_TRANSFER_COMPLETED, BOT_CBW_LEN, 0);
	ck_assert_ptr_eq(answered, x);
	client_free(x);
}

START_TEST(cbw_well_formed_only)
{
	uint8_t b[BOT_CBW_LEN];
	struct bot_cbw c;

	cbw_bytes(b, 4096, true, 3, 10);
	ck_assert(bot_cbw_parse(b, sizeof(b), &c));
	ck_assert_uint_eq(c.data_length, 4096);
	ck_assert(c.data_in);
	ck_assert_uint_eq(c.lun, 3);
	ck_assert(!bot_cbw_parse(b, 30, &c));
	b[0] = 'X';
	ck_assert(!bot_cbw_parse(b, sizeof(b), &c));
	cbw_bytes(b, 4096, true, 16, 10); /* LUN past 4 bits */
	ck_assert(!bot_cbw_parse(b, sizeof(b), &c));
	cbw_bytes(b, 4096, true, 0, 0); /* no command block */
	ck_assert(!bot_cbw_parse(b, sizeof(b), &c));
	cbw_bytes(b, 4096, true, 0, 17);
	ck_assert(!bot_cbw_parse(b, sizeof(b), &c));
	cbw_bytes(b, 4096, true, 0, 10);
	b[12] |= 0x01; /* reserved flag bit */
	ck_assert(!bot_cbw_parse(b, sizeof(b), &c));
}
END_TEST

/* Data then status read at once; the client's requests take them, with
 * the device's bytes, in order. */
START_TEST(reads_data_then_status_ahead)
{
	struct libusb_transfer *data, *csw, *x;

	command(4096, true);
	ck_assert_uint_eq(on_bus, 1);
	data = bus[0];
	ck_assert_uint_eq(data->endpoint, 0x81);
	ck_assert_int_eq(data->length, 4096);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, 4096, 0xa5);
	/* The CSW only after the data stage completed. */
	ck_assert_uint_eq(on_bus, 1);
	csw = bus[0];
	ck_assert_int_eq(csw->length, BOT_CSW_LEN);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0x53);

	ck_assert_int_eq(client(0x81, 4096, NULL, &x), BOT_RA_COMPLETED);
	ck_assert_ptr_eq(x, data);
	ck_assert_ptr_eq(answered, data);
	ck_assert_int_eq(x->actual_length, 4096);
	ck_assert_uint_eq(x->buffer[4095], 0xa5);
	client_free(x);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_COMPLETED);
	ck_assert_ptr_eq(x, csw);
	ck_assert_uint_eq(x->buffer[0], 0x53);
	client_free(x);
	ck_assert_uint_eq(bot_ra_hits(ra), 2);
	ck_assert_uint_eq(on_bus, 0);
}
END_TEST

/* The client asks before the device answered: the transfer in flight
 * becomes the client's, and its completion still starts the CSW. */
START_TEST(request_takes_transfer_in_flight)
{
	struct libusb_transfer *x, *y;

	command(4096, true);
	ck_assert_int_eq(client(0x81, 4096, NULL, &x), BOT_RA_IN_FLIGHT);
	ck_assert_uint_eq(answers, 1); /* the CBW's */
	ck_assert(!bot_ra_busy(ra));
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, 2048, 0x11); /* short */
	ck_assert_ptr_eq(answered, x);
	ck_assert_int_eq(x->actual_length, 2048);
	client_free(x);
	ck_assert_uint_eq(on_bus, 1);
	ck_assert_int_eq(bus[0]->length, BOT_CSW_LEN);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &y), BOT_RA_IN_FLIGHT);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0);
	ck_assert_ptr_eq(answered, y);
	client_free(y);
}
END_TEST

/* A stalled data stage is answered as it is; no CSW is read before the
 * client's clear-halt, and none after it either (the client reads it);
 * read-ahead comes back with the next command after the clear-halt. */
START_TEST(stall_stops_until_clear_halt)
{
	struct libusb_transfer *x;

	command(4096, true);
	device_answers(0, LIBUSB_TRANSFER_STALL, 0, 0);
	ck_assert_uint_eq(on_bus, 0);
	ck_assert_int_eq(client(0x81, 4096, NULL, &x), BOT_RA_COMPLETED);
	ck_assert_int_eq(x->status, LIBUSB_TRANSFER_STALL);
	client_free(x);
	/* Stalled: the next command on it gets nothing read ahead. */
	command(512, true);
	ck_assert_uint_eq(on_bus, 0);
	ck_assert_int_eq(bot_ra_interrupt(ra, "test", BOT_RA_CLEAR_HALT, 0x81),
			 0);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_PASS);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0);
	client_free(x);
	command(512, true);
	ck_assert_uint_eq(on_bus, 1);
}
END_TEST

/* A stalled CSW is answered as a stall; the client's CSW after its
 * clear-halt goes to the device. */
START_TEST(stalled_status_answered_then_passes)
{
	struct libusb_transfer *x;

	command(0, true);
	ck_assert_uint_eq(on_bus, 1);
	device_answers(0, LIBUSB_TRANSFER_STALL, 0, 0);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_COMPLETED);
	ck_assert_int_eq(x->status, LIBUSB_TRANSFER_STALL);
	client_free(x);
	ck_assert_int_eq(bot_ra_interrupt(ra, "test", BOT_RA_CLEAR_HALT, 0x81),
			 0);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_PASS);
	client_free(bus[--on_bus]);
}
END_TEST

/* Another length while the device has given data: the session ends. */
START_TEST(other_length_with_data_ends_session)
{
	struct libusb_transfer *x;

	command(4096, true);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, 4096, 0);
	ck_assert_int_eq(client(0x81, 512, NULL, &x), -EPROTO);
	ck_assert_uint_eq(on_bus, 0); /* the CSW read-ahead cancelled */
}
END_TEST

/* Another length before the device gave anything: cancelled, and the
 * request goes to the device as if nothing had been read. */
START_TEST(other_length_before_data_passes)
{
	struct libusb_transfer *x;

	command(4096, true);
	ck_assert_int_eq(client(0x81, 512, NULL, &x), BOT_RA_PASS);
	ck_assert_uint_eq(on_bus, 1);
	ck_assert_ptr_eq(bus[0], x);
	ck_assert(!bot_ra_busy(ra));
	client_free(bus[--on_bus]);
}
END_TEST

/* Cut short by the cancel with bytes read: the rest is in the device. */
START_TEST(other_length_partial_ends_session)
{
	struct libusb_transfer *x;

	command(4096, true);
	cancel_leaves = 512;
	ck_assert_int_eq(client(0x81, 512, NULL, &x), -EPROTO);
}
END_TEST

/* A new CBW before the CSW was read, with the CSW read: session ends. */
START_TEST(out_before_status_ends_session)
{
	uint8_t b[BOT_CBW_LEN];
	struct libusb_transfer *x;

	command(0, true);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0);
	cbw_bytes(b, 0, true, 0, 6);
	ck_assert_int_eq(client(0x02, BOT_CBW_LEN, b, &x), -EPROTO);
}
END_TEST

/* The Bulk-Only Mass Storage Reset request, and the other resets the
 * read-ahead hears of: each drops what it holds. */
static const uint8_t bot_reset[8] = {0x21, 0xff, 0, 0, 0, 0, 0, 0};
static const enum bot_ra_event reset_events[] = {
	BOT_RA_RESET_DEVICE, BOT_RA_SET_CONFIGURATION, BOT_RA_SET_INTERFACE};

/* Reset number i: one of reset_events, or past them the BOT reset. */
static void apply_reset(unsigned i)
{
	if (i < ARRAY_SIZE(reset_events))
		ck_assert_int_eq(
			bot_ra_interrupt(ra, "test", reset_events[i], 0), 0);
	else
		ck_assert_int_eq(bot_ra_control(ra, "test", bot_reset), 0);
}

/* Resets drop what was read: the device discards it too. */
START_TEST(resets_drop_read_ahead)
{
	struct libusb_transfer *x;

	for (unsigned i = 0; i <= ARRAY_SIZE(reset_events); i++) {
		command(4096, true);
		device_answers(0, LIBUSB_TRANSFER_COMPLETED, 4096, 0);
		ck_assert_uint_eq(on_bus, 1); /* the CSW */
		apply_reset(i);
		ck_assert_uint_eq(on_bus, 0);
		ck_assert(!bot_ra_busy(ra));
		ck_assert_int_eq(client(0x81, 4096, NULL, &x), BOT_RA_PASS);
		client_free(bus[--on_bus]);
	}
}
END_TEST

/* A clear-halt between data and CSW: a CSW the device gave stays for the
 * client's read, as the device would still send it; one in flight is
 * cancelled and, having nothing, dropped. */
START_TEST(clear_halt_between_data_and_status)
{
	struct libusb_transfer *x;

	command(4096, true);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, 4096, 0);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0x55);
	ck_assert_int_eq(client(0x81, 4096, NULL, &x), BOT_RA_COMPLETED);
	client_free(x);
	ck_assert_int_eq(bot_ra_interrupt(ra, "test", BOT_RA_CLEAR_HALT, 0x81),
			 0);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_COMPLETED);
	ck_assert_uint_eq(x->buffer[0], 0x55);
	client_free(x);

	command(4096, true);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, 4096, 0);
	ck_assert_int_eq(client(0x81, 4096, NULL, &x), BOT_RA_COMPLETED);
	client_free(x);
	ck_assert_uint_eq(on_bus, 1); /* the CSW, in flight */
	ck_assert_int_eq(bot_ra_interrupt(ra, "test", BOT_RA_CLEAR_HALT, 0x81),
			 0);
	ck_assert_uint_eq(on_bus, 0);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_PASS);
	client_free(bus[--on_bus]);
}
END_TEST

/* Unlinked after taking the transfer in flight: cancelled like any URB,
 * and no CSW is read after a cancelled data stage. */
START_TEST(unlink_of_taken_request)
{
	struct libusb_transfer *x;

	command(4096, true);
	ck_assert_int_eq(client(0x81, 4096, NULL, &x), BOT_RA_IN_FLIGHT);
	ck_assert_int_eq(dev.ops->cancel(&dev, x), 0);
	fake_events(&dev);
	ck_assert_ptr_eq(answered, x);
	ck_assert_int_eq(x->status, LIBUSB_TRANSFER_CANCELLED);
	client_free(x);
	ck_assert_uint_eq(on_bus, 0);
}
END_TEST

/* No data: the CSW follows the CBW. OUT data: the CSW follows the
 * client's data transfer of the announced length. */
START_TEST(status_after_no_data_and_out_data)
{
	uint8_t out[4096] = {0};
	struct libusb_transfer *x;

	command(0, false);
	ck_assert_uint_eq(on_bus, 1);
	ck_assert_int_eq(bus[0]->length, BOT_CSW_LEN);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_COMPLETED);
	client_free(x);

	command(4096, false);
	ck_assert_uint_eq(on_bus, 0);
	ck_assert_int_eq(client(0x02, 4096, out, &x), BOT_RA_PASS);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, 4096, 0);
	client_free(x);
	ck_assert_uint_eq(on_bus, 1);
	ck_assert_uint_eq(bus[0]->endpoint, 0x81);
	ck_assert_int_eq(bus[0]->length, BOT_CSW_LEN);
}
END_TEST

/* Nothing read ahead: a malformed CBW, an IN endpoint the client already
 * reads, a CBW the device failed, a client request pipelined behind the
 * CBW. */
START_TEST(no_read_ahead_unless_sure)
{
	uint8_t b[BOT_CBW_LEN];
	struct libusb_transfer *x, *y;

	cbw_bytes(b, 4096, true, 0, 10);
	b[3] = 'X';
	client(0x02, BOT_CBW_LEN, b, &x);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CBW_LEN, 0);
	client_free(x);
	ck_assert_uint_eq(on_bus, 0);

	in_busy = true;
	command(4096, true);
	ck_assert_uint_eq(on_bus, 0);
	in_busy = false;

	cbw_bytes(b, 4096, true, 0, 10);
	client(0x02, BOT_CBW_LEN, b, &x);
	device_answers(0, LIBUSB_TRANSFER_CANCELLED, 0, 0);
	client_free(x);
	ck_assert_uint_eq(on_bus, 0);

	client(0x02, BOT_CBW_LEN, b, &x);
	ck_assert_int_eq(client(0x81, 4096, NULL, &y), BOT_RA_PASS);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CBW_LEN, 0);
	client_free(x);
	ck_assert_uint_eq(on_bus, 1);
	ck_assert_ptr_eq(bus[0], y);
	client_free(bus[--on_bus]);
}
END_TEST

/* What a client's bulk URB of this length counts in flight. */
static uint64_t charge(uint32_t length)
{
	return (uint64_t)length + URB_USBFS_OVERHEAD;
}

/* The read-ahead again, as a session whose URBs may hold budget bytes
 * of its usbfs share makes it: the reserve set aside, the client's caps
 * in limits. Returns the reserve. */
static uint64_t with_budget(uint64_t budget)
{
	bot_ra_cancel_all(ra);
	fake_events(&dev);
	bot_ra_free(ra);
	urb_limits_default(&limits);
	urb_limits_for_budget(&limits, budget);
	uint64_t reserve = bot_ra_set_aside(&limits);
	ra = bot_ra_new(&dev, &pool, &view, 1u << 20, reserve, busy, NULL);
	ck_assert_ptr_nonnull(ra);
	return reserve;
}

/* The reserve: a quarter of the budget, at most a 1 MiB data stage and
 * its status, none where not even a status fits; the client's caps are
 * what is left. */
START_TEST(reserve_sizes)
{
	ck_assert_uint_eq(bot_ra_reserve(6u << 20),
			  charge(1u << 20) + charge(BOT_CSW_LEN));
	ck_assert_uint_eq(bot_ra_reserve(64u << 10), 16u << 10);
	ck_assert_uint_eq(bot_ra_reserve(4 * charge(BOT_CSW_LEN)),
			  charge(BOT_CSW_LEN));
	ck_assert_uint_eq(bot_ra_reserve(4 * charge(BOT_CSW_LEN) - 4), 0);

	uint64_t reserve = with_budget(64u << 10);
	ck_assert_uint_eq(limits.max_bytes_in_flight + reserve, 64u << 10);
	ck_assert_uint_eq(limits.max_bulk_length,
			  limits.max_bytes_in_flight - URB_USBFS_OVERHEAD);
}
END_TEST

/* A share too small for a command's data: it is not read ahead, the
 * client's own request goes to the device and gets the device's bytes;
 * its status, which fits, is. A data stage that fits but leaves no room
 * for its status while held: the status is the client's own too. */
START_TEST(small_share_runs_the_ordinary_way)
{
	struct libusb_transfer *x;
	uint64_t reserve = with_budget(64u << 10);

	command(32768, true);
	ck_assert_uint_eq(on_bus, 0);
	ck_assert_uint_eq(bot_ra_charged(ra), 0);
	ck_assert_int_eq(client(0x81, 32768, NULL, &x), BOT_RA_PASS);
	ck_assert_uint_eq(on_bus, 1);
	ck_assert_ptr_eq(bus[0], x);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, 32768, 0x77);
	ck_assert_ptr_eq(answered, x);
	ck_assert_uint_eq(x->buffer[32767], 0x77);
	client_free(x);
	ck_assert_uint_eq(on_bus, 1);
	ck_assert_int_eq(bus[0]->length, BOT_CSW_LEN);
	ck_assert_uint_eq(bot_ra_charged(ra), charge(BOT_CSW_LEN));
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0x53);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_COMPLETED);
	ck_assert_uint_eq(x->buffer[0], 0x53);
	client_free(x);
	ck_assert_uint_eq(bot_ra_charged(ra), 0);
	ck_assert_uint_eq(bot_ra_hits(ra), 1);

	uint32_t most = (uint32_t)(reserve - URB_USBFS_OVERHEAD - 256);
	command(most, true);
	ck_assert_uint_eq(on_bus, 1);
	ck_assert_uint_eq(bot_ra_charged(ra), charge(most));
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, (int)most, 0x22);
	ck_assert_uint_eq(on_bus, 0); /* 256 bytes left: no status */
	ck_assert_uint_le(bot_ra_charged(ra), reserve);
	ck_assert_int_eq(client(0x81, most, NULL, &x), BOT_RA_COMPLETED);
	ck_assert_uint_eq(x->buffer[most - 1], 0x22);
	client_free(x);
	ck_assert_uint_eq(bot_ra_charged(ra), 0);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_PASS);
	ck_assert_ptr_eq(bus[0], x);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0);
	client_free(x);
	ck_assert_uint_eq(on_bus, 0);
}
END_TEST

/* A CBW with data held and its status in flight. */
static void data_held_status_in_flight(uint32_t length)
{
	command(length, true);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, (int)length, 0x5a);
	ck_assert_uint_eq(on_bus, 1);
	ck_assert_uint_eq(bot_ra_charged(ra),
			  charge(length) + charge(BOT_CSW_LEN));
}

/* The charge is the client's URB's once taken, and back to zero on
 * every other way out: another request (with and without data given),
 * a stall, a clear-halt (a status kept, and one dropped), each reset,
 * and the session's end with one held and one in flight. */
START_TEST(charge_released_on_every_path)
{
	struct libusb_transfer *x;

	/* Taken once completed. */
	data_held_status_in_flight(4096);
	ck_assert_int_eq(client(0x81, 4096, NULL, &x), BOT_RA_COMPLETED);
	client_free(x);
	ck_assert_uint_eq(bot_ra_charged(ra), charge(BOT_CSW_LEN));
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_COMPLETED);
	client_free(x);
	ck_assert_uint_eq(bot_ra_charged(ra), 0);

	/* Taken in flight: the URB holds it from there. */
	command(4096, true);
	ck_assert_uint_eq(bot_ra_charged(ra), charge(4096));
	ck_assert_int_eq(client(0x81, 4096, NULL, &x), BOT_RA_IN_FLIGHT);
	ck_assert_uint_eq(bot_ra_charged(ra), 0);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, 4096, 0);
	client_free(x);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_IN_FLIGHT);
	ck_assert_uint_eq(bot_ra_charged(ra), 0);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0);
	client_free(x);

	/* Another request before the device gave anything: cancelled. */
	command(4096, true);
	ck_assert_int_eq(client(0x81, 512, NULL, &x), BOT_RA_PASS);
	ck_assert_uint_eq(bot_ra_charged(ra), 0);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, 512, 0);
	client_free(x);

	/* Another request after: the session ends, nothing held. */
	data_held_status_in_flight(4096);
	ck_assert_int_eq(client(0x81, 512, NULL, &x), -EPROTO);
	ck_assert_uint_eq(bot_ra_charged(ra), 0);

	/* A stall: held until the client takes its answer. */
	command(4096, true);
	device_answers(0, LIBUSB_TRANSFER_STALL, 0, 0);
	ck_assert_uint_eq(bot_ra_charged(ra), charge(4096));
	ck_assert_int_eq(client(0x81, 4096, NULL, &x), BOT_RA_COMPLETED);
	client_free(x);
	ck_assert_uint_eq(bot_ra_charged(ra), 0);
	ck_assert_int_eq(bot_ra_interrupt(ra, "test", BOT_RA_CLEAR_HALT, 0x81),
			 0);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_PASS);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0);
	client_free(x);

	/* A clear-halt: a status in flight is dropped with its charge; one
	 * the device gave stays, charged, until taken. */
	data_held_status_in_flight(4096);
	ck_assert_int_eq(client(0x81, 4096, NULL, &x), BOT_RA_COMPLETED);
	client_free(x);
	ck_assert_int_eq(bot_ra_interrupt(ra, "test", BOT_RA_CLEAR_HALT, 0x81),
			 0);
	ck_assert_uint_eq(bot_ra_charged(ra), 0);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_PASS);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0);
	client_free(x);
	data_held_status_in_flight(4096);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0);
	ck_assert_int_eq(client(0x81, 4096, NULL, &x), BOT_RA_COMPLETED);
	client_free(x);
	ck_assert_int_eq(bot_ra_interrupt(ra, "test", BOT_RA_CLEAR_HALT, 0x81),
			 0);
	ck_assert_uint_eq(bot_ra_charged(ra), charge(BOT_CSW_LEN));
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_COMPLETED);
	client_free(x);
	ck_assert_uint_eq(bot_ra_charged(ra), 0);

	/* Each reset. */
	for (unsigned i = 0; i <= ARRAY_SIZE(reset_events); i++) {
		data_held_status_in_flight(4096);
		apply_reset(i);
		ck_assert_uint_eq(bot_ra_charged(ra), 0);
	}

	/* The session's end: what is held goes at once, what is in flight
	 * as it comes back. */
	data_held_status_in_flight(4096);
	bot_ra_cancel_all(ra);
	ck_assert_uint_eq(bot_ra_charged(ra), charge(BOT_CSW_LEN));
	fake_events(&dev);
	ck_assert(!bot_ra_busy(ra));
	ck_assert_uint_eq(bot_ra_charged(ra), 0);
}
END_TEST

static bool no_seqnum_in_flight(const void *opaque, uint32_t seqnum)
{
	(void)opaque;
	(void)seqnum;
	return false;
}

static uint8_t payload[256u << 10];

/* The validator's verdict on a bulk OUT of length on 0x02, the client
 * holding held bytes in flight. */
static enum urb_verdict client_out(uint64_t held, uint32_t length,
				   struct urb_plan *plan)
{
	struct usbip_urb_frame f = {0};
	struct usbip_fault fault = {0};

	f.header.command = USBIP_CMD_SUBMIT;
	f.header.seqnum = 7;
	f.header.direction = USBIP_DIR_OUT;
	f.header.ep = 2;
	f.header.u.submit.transfer_buffer_length = length;
	f.data = payload;
	f.data_len = length;
	view.bytes_in_flight = held;
	return urb_validate(&view, &f, plan, &fault);
}

/* With the read-ahead holding all it may, a client URB that fits the
 * client's cap is accepted (the read-ahead's charge is not the
 * client's), and what both hold stays within the session's budget. */
START_TEST(client_urb_never_refused_for_read_ahead)
{
	const uint64_t budget = 256u << 10;
	uint64_t reserve = with_budget(budget);
	struct libusb_transfer *x;
	struct urb_plan plan;

	view.seqnum_in_flight = no_seqnum_in_flight;
	/* At its most: a data stage and its status, both held. */
	uint32_t most =
		(uint32_t)(reserve - charge(BOT_CSW_LEN) - URB_USBFS_OVERHEAD);
	data_held_status_in_flight(most);
	device_answers(0, LIBUSB_TRANSFER_COMPLETED, BOT_CSW_LEN, 0);
	ck_assert_uint_eq(bot_ra_charged(ra), reserve);

	/* The largest URB the client may make, and at every level of its
	 * own bytes in flight the largest that fits them. */
	for (uint64_t held = 0; held < limits.max_bytes_in_flight;
	     held += 4096) {
		uint64_t room = limits.max_bytes_in_flight - held;
		if (room <= URB_USBFS_OVERHEAD)
			break;
		uint32_t length = (uint32_t)(room - URB_USBFS_OVERHEAD);
		if (length > limits.max_bulk_length)
			length = limits.max_bulk_length;
		ck_assert_int_eq(client_out(held, length, &plan), URB_ACCEPT);
		ck_assert_uint_le(held + urb_plan_charge(&plan) +
					  bot_ra_charged(ra),
				  budget);
		/* One byte more is past the cap (or the length limit). */
		ck_assert_int_ne(client_out(held, length + 1, &plan),
				 URB_ACCEPT);
	}
	view.bytes_in_flight = 0;

	/* And the read-ahead is still there for the client's reads. */
	ck_assert_int_eq(client(0x81, most, NULL, &x), BOT_RA_COMPLETED);
	client_free(x);
	ck_assert_int_eq(client(0x81, BOT_CSW_LEN, NULL, &x), BOT_RA_COMPLETED);
	client_free(x);
	ck_assert_uint_eq(bot_ra_charged(ra), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bot-readahead");
	TCase *tc = tcase_create("state");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, cbw_well_formed_only);
	tcase_add_test(tc, reads_data_then_status_ahead);
	tcase_add_test(tc, request_takes_transfer_in_flight);
	tcase_add_test(tc, stall_stops_until_clear_halt);
	tcase_add_test(tc, stalled_status_answered_then_passes);
	tcase_add_test(tc, other_length_with_data_ends_session);
	tcase_add_test(tc, other_length_before_data_passes);
	tcase_add_test(tc, other_length_partial_ends_session);
	tcase_add_test(tc, out_before_status_ends_session);
	tcase_add_test(tc, resets_drop_read_ahead);
	tcase_add_test(tc, clear_halt_between_data_and_status);
	tcase_add_test(tc, unlink_of_taken_request);
	tcase_add_test(tc, status_after_no_data_and_out_data);
	tcase_add_test(tc, no_read_ahead_unless_sure);
	tcase_add_test(tc, reserve_sizes);
	tcase_add_test(tc, small_share_runs_the_ordinary_way);
	tcase_add_test(tc, charge_released_on_every_path);
	tcase_add_test(tc, client_urb_never_refused_for_read_ahead);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
