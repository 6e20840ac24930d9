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
	ra = bot_ra_new(&dev, &pool, &view, 1u << 20, busy, NULL);
	ck_assert_ptr_nonnull(ra);
}

static void teardown(void)
{
	bot_ra_cancel_all(ra);
	fake_events(&dev);
	ck_assert(!bot_ra_busy(ra));
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

/* Resets drop what was read: the device discards it too. */
START_TEST(resets_drop_read_ahead)
{
	static const uint8_t bot_reset[8] = {0x21, 0xff, 0, 0, 0, 0, 0, 0};
	static const enum bot_ra_event events[] = {BOT_RA_RESET_DEVICE,
						   BOT_RA_SET_CONFIGURATION,
						   BOT_RA_SET_INTERFACE};
	struct libusb_transfer *x;

	for (unsigned i = 0; i <= ARRAY_SIZE(events); i++) {
		command(4096, true);
		device_answers(0, LIBUSB_TRANSFER_COMPLETED, 4096, 0);
		ck_assert_uint_eq(on_bus, 1); /* the CSW */
		if (i < ARRAY_SIZE(events))
			ck_assert_int_eq(
				bot_ra_interrupt(ra, "test", events[i], 0), 0);
		else
			ck_assert_int_eq(bot_ra_control(ra, "test", bot_reset),
					 0);
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
	suite_add_tcase(s, tc);
	return run_suite(s);
}
