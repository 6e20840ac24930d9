// SPDX-License-Identifier: GPL-2.0-or-later
/* The request validator, one test per row of shared NOTES section 2. */
#include "check-main.h"
#include <errno.h>
#include <stdlib.h>

#include "descriptors.h"
#include "validate.h"

#define DEVID 0x10002u

static struct usb_device_model model;
static struct urb_limits limits;
static struct urb_session session;
static uint32_t in_flight[8];
static size_t num_in_flight;
static struct usbip_iso_desc iso[USBIP_MAX_ISO_PACKETS + 1];
static uint8_t payload[8u << 20];

static bool seqnum_in_flight(const void *opaque, uint32_t seqnum)
{
	(void)opaque;
	for (size_t i = 0; i < num_in_flight; i++)
		if (in_flight[i] == seqnum)
			return true;
	return false;
}

static void setup_with(void (*build)(struct vec *))
{
	struct vec v;

	build(&v);
	ck_assert_int_eq(usb_model_parse(v.b, v.len, &model, NULL), 0);
	urb_limits_default(&limits);
	memset(&session, 0, sizeof(session));
	session.model = &model;
	session.limits = &limits;
	session.devid = DEVID;
	session.configuration = 1;
	session.seqnum_in_flight = seqnum_in_flight;
	num_in_flight = 0;
}

static void setup_storage(void)
{
	setup_with(desc_mass_storage);
}

static void setup_audio(void)
{
	setup_with(desc_audio);
}

static void teardown(void)
{
	usb_model_clear(&model);
}

static struct usbip_urb_frame submit(uint32_t seqnum, uint32_t dir, uint32_t ep,
				     uint32_t length)
{
	struct usbip_urb_frame f = {0};

	f.header.command = USBIP_CMD_SUBMIT;
	f.header.seqnum = seqnum;
	f.header.devid = DEVID;
	f.header.direction = dir;
	f.header.ep = ep;
	f.header.u.submit.transfer_buffer_length = length;
	if (dir == USBIP_DIR_OUT) {
		f.data = payload;
		f.data_len = length;
	}
	return f;
}

static struct usbip_urb_frame control(uint32_t dir, const char *setup8,
				      uint32_t length)
{
	struct usbip_urb_frame f = submit(7, dir, 0, length);
	memcpy(f.header.u.submit.setup, setup8, 8);
	return f;
}

static enum urb_verdict check(const struct usbip_urb_frame *f,
			      struct urb_plan *plan, const char *field)
{
	struct usbip_fault fault = {0};
	enum urb_verdict v = urb_validate(&session, f, plan, &fault);

	if (v != URB_ACCEPT) {
		/* Every refusal names what it refused, for the log line. */
		ck_assert_ptr_nonnull(fault.field);
		ck_assert_ptr_nonnull(fault.reason);
		if (field)
			ck_assert_str_eq(fault.field, field);
	}
	return v;
}

START_TEST(accepts_plain_bulk)
{
	struct urb_plan p;
	struct usbip_urb_frame f = submit(1, USBIP_DIR_IN, 1, 65536);

	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_int_eq(p.action, URB_ACTION_TRANSFER);
	ck_assert_uint_eq(p.type, USB_TYPE_BULK);
	ck_assert_uint_eq(p.endpoint, 0x81);
	ck_assert(p.dir_in);
	f = submit(2, USBIP_DIR_OUT, 2, 31);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(p.endpoint, 0x02);
}
END_TEST

START_TEST(endpoint_range_and_existence)
{
	struct urb_plan p;
	struct usbip_urb_frame f = submit(1, USBIP_DIR_IN, 16, 512);

	ck_assert_int_eq(check(&f, &p, "ep"), URB_REJECT_ENDPOINT);
	f = submit(1, USBIP_DIR_IN, 0xffffffff, 512);
	ck_assert_int_eq(check(&f, &p, "ep"), URB_REJECT_ENDPOINT);
	/* 0x82 does not exist: ep 2 is OUT only. */
	f = submit(1, USBIP_DIR_IN, 2, 512);
	ck_assert_int_eq(check(&f, &p, "ep"), URB_REJECT_NO_ENDPOINT);
	f = submit(1, USBIP_DIR_OUT, 5, 0);
	ck_assert_int_eq(check(&f, &p, "ep"), URB_REJECT_NO_ENDPOINT);
	/* Unconfigured: no data endpoints at all. */
	session.configuration = 0;
	f = submit(1, USBIP_DIR_IN, 1, 512);
	ck_assert_int_eq(check(&f, &p, "ep"), URB_REJECT_NOT_CONFIGURED);
}
END_TEST

START_TEST(endpoint_follows_alt_setting)
{
	struct urb_plan p;
	struct usbip_urb_frame f = submit(1, USBIP_DIR_OUT, 1, 192);

	iso[0] = (struct usbip_iso_desc){.offset = 0, .length = 192};
	f.header.u.submit.number_of_packets = 1;
	f.iso = iso;
	f.num_iso = 1;
	/* Interface 1 alt 0 has no endpoint: the iso endpoint is absent. */
	ck_assert_int_eq(check(&f, &p, "ep"), URB_REJECT_NO_ENDPOINT);
	session.alt_setting[1] = 1;
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(p.type, USB_TYPE_ISOCHRONOUS);
	ck_assert_uint_eq(p.num_iso, 1);
	/* Configuration 2 has the same layout, 3 has none. */
	session.configuration = 3;
	ck_assert_int_eq(check(&f, &p, "ep"), URB_REJECT_NO_ENDPOINT);
}
END_TEST

START_TEST(direction_must_be_in_or_out)
{
	struct urb_plan p;
	struct usbip_urb_frame f = submit(1, 2, 1, 512);

	ck_assert_int_eq(check(&f, &p, "direction"), URB_REJECT_DIRECTION);
	f.header.direction = 0x80000001;
	ck_assert_int_eq(check(&f, &p, "direction"), URB_REJECT_DIRECTION);
}
END_TEST

START_TEST(length_caps_and_in_flight_budget)
{
	struct urb_plan p;
	struct usbip_urb_frame f =
		submit(1, USBIP_DIR_IN, 1, limits.max_bulk_length + 1);

	ck_assert_int_eq(check(&f, &p, "transfer_buffer_length"),
			 URB_REJECT_LENGTH);
	f = submit(1, USBIP_DIR_IN, 1, limits.max_bulk_length);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);

	/* Each URB also costs usbfs its own bookkeeping. */
	session.bytes_in_flight =
		limits.max_bytes_in_flight - 100 - URB_USBFS_OVERHEAD;
	f = submit(1, USBIP_DIR_IN, 1, 101);
	ck_assert_int_eq(check(&f, &p, "bytes in flight"), URB_REJECT_BUSY);
	f = submit(1, USBIP_DIR_IN, 1, 100);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(urb_plan_charge(&p), 100 + URB_USBFS_OVERHEAD);
	/* Control transfers count too (up to 64 KiB each). */
	f = control(USBIP_DIR_IN, "\xc0\x01\x00\x00\x00\x00\x65\x00", 101);
	ck_assert_int_eq(check(&f, &p, "bytes in flight"), URB_REJECT_BUSY);
	f = control(USBIP_DIR_IN, "\xc0\x01\x00\x00\x00\x00\x64\x00", 100);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);

	session.bytes_in_flight = 0;
	session.urbs_in_flight = limits.max_urbs_in_flight;
	f = submit(1, USBIP_DIR_IN, 1, 512);
	ck_assert_int_eq(check(&f, &p, "URBs in flight"), URB_REJECT_BUSY);
	/* An unlink still gets through: it is how load is shed. */
	f.header.command = USBIP_CMD_UNLINK;
	f.header.u.unlink.seqnum = 3;
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_int_eq(p.action, URB_ACTION_UNLINK);

	/* Limits are the caller's to set. */
	session.urbs_in_flight = 0;
	limits.max_bulk_length = 1024;
	f = submit(1, USBIP_DIR_IN, 1, 1025);
	ck_assert_int_eq(check(&f, &p, NULL), URB_REJECT_LENGTH);
}
END_TEST

/* Issue 12 item 6: caps sized from a session's share of the usbfs
 * quota, not the host's whole default quota. */
START_TEST(limits_follow_the_budget)
{
	struct urb_plan p;
	struct usbip_urb_frame f;

	urb_limits_for_budget(&limits, 1u << 20);
	ck_assert_uint_eq(limits.max_bytes_in_flight, 1u << 20);
	/* One transfer alone always fits in the budget. */
	ck_assert_uint_eq(limits.max_bulk_length,
			  (1u << 20) - URB_USBFS_OVERHEAD);
	ck_assert_uint_le(limits.max_iso_length,
			  (1u << 20) - URB_USBFS_OVERHEAD);
	f = submit(1, USBIP_DIR_IN, 1, limits.max_bulk_length);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	f = submit(1, USBIP_DIR_IN, 1, limits.max_bulk_length + 1);
	ck_assert_int_eq(check(&f, &p, "transfer_buffer_length"),
			 URB_REJECT_LENGTH);
	/* Sixteen 64 KiB URBs do not fit in 1 MiB with usbfs's share. */
	for (uint32_t i = 0; i < 15; i++) {
		f = submit(1, USBIP_DIR_IN, 1, 65536);
		ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
		session.bytes_in_flight += urb_plan_charge(&p);
	}
	f = submit(1, USBIP_DIR_IN, 1, 65536);
	ck_assert_int_eq(check(&f, &p, "bytes in flight"), URB_REJECT_BUSY);
	/* A generous budget leaves the defaults alone. */
	urb_limits_default(&limits);
	struct urb_limits before = limits;
	urb_limits_for_budget(&limits, 1ull << 30);
	ck_assert_uint_eq(limits.max_bulk_length, before.max_bulk_length);
	ck_assert_uint_eq(limits.max_iso_length, before.max_iso_length);
}
END_TEST

START_TEST(interrupt_cap)
{
	struct urb_plan p;
	struct usbip_urb_frame f =
		submit(1, USBIP_DIR_IN, 3, limits.max_interrupt_length + 1);

	ck_assert_int_eq(check(&f, &p, NULL), URB_REJECT_LENGTH);
	f = submit(1, USBIP_DIR_IN, 3, 8);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(p.type, USB_TYPE_INTERRUPT);
}
END_TEST

START_TEST(payload_must_match)
{
	struct urb_plan p;
	struct usbip_urb_frame f = submit(1, USBIP_DIR_OUT, 2, 512);

	f.data_len = 511;
	ck_assert_int_eq(check(&f, &p, "payload"), URB_REJECT_PAYLOAD);
	f.data_len = 513;
	ck_assert_int_eq(check(&f, &p, "payload"), URB_REJECT_PAYLOAD);
	f = submit(1, USBIP_DIR_IN, 1, 512);
	f.data = payload;
	f.data_len = 512; /* an IN request carries no data */
	ck_assert_int_eq(check(&f, &p, "payload"), URB_REJECT_PAYLOAD);
}
END_TEST

static struct usbip_urb_frame iso_out(uint32_t np, uint32_t length)
{
	struct usbip_urb_frame f = submit(1, USBIP_DIR_OUT, 1, length);

	session.alt_setting[1] = 1;
	f.header.u.submit.number_of_packets = np;
	f.iso = iso;
	f.num_iso = np <= USBIP_MAX_ISO_PACKETS + 1 ? np : 0;
	for (uint32_t i = 0; i < f.num_iso; i++)
		iso[i] = (struct usbip_iso_desc){.offset = 0, .length = 0};
	return f;
}

START_TEST(iso_packet_counts)
{
	struct urb_plan p;
	struct usbip_urb_frame f = iso_out(0, 192);

	ck_assert_int_eq(check(&f, &p, "number_of_packets"),
			 URB_REJECT_PACKETS);
	f = iso_out(USBIP_NO_ISO_PACKETS, 192);
	ck_assert_int_eq(check(&f, &p, "number_of_packets"),
			 URB_REJECT_PACKETS);
	f = iso_out(USBIP_MAX_ISO_PACKETS + 1, 192);
	ck_assert_int_eq(check(&f, &p, "number_of_packets"),
			 URB_REJECT_PACKETS);
	f = iso_out(USBIP_MAX_ISO_PACKETS, 192);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(p.num_iso, USBIP_MAX_ISO_PACKETS);
	/* Header and descriptors read must agree. */
	f = iso_out(4, 192);
	f.num_iso = 3;
	ck_assert_int_eq(check(&f, &p, "iso descriptors"), URB_REJECT_PACKETS);
	/* A lower limit set by the caller applies. */
	limits.max_iso_packets = 8;
	f = iso_out(9, 192);
	ck_assert_int_eq(check(&f, &p, NULL), URB_REJECT_PACKETS);
	/* Non-iso endpoints take 0 or 0xffffffff only. */
	f = submit(1, USBIP_DIR_IN, 3, 8);
	f.header.u.submit.number_of_packets = 5;
	ck_assert_int_eq(check(&f, &p, "number_of_packets"),
			 URB_REJECT_PACKETS);
	f.header.u.submit.number_of_packets = USBIP_NO_ISO_PACKETS;
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
}
END_TEST

START_TEST(iso_descriptor_bounds)
{
	struct urb_plan p;
	struct usbip_urb_frame f = iso_out(2, 384);

	iso[0] = (struct usbip_iso_desc){.offset = 0, .length = 192};
	iso[1] = (struct usbip_iso_desc){.offset = 192, .length = 192};
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	/* Past the buffer by one byte. */
	iso[1].offset = 193;
	ck_assert_int_eq(check(&f, &p, "iso offset+length"),
			 URB_REJECT_ISO_DESCRIPTOR);
	/* offset + length wraps in 32 bits. */
	iso[1] = (struct usbip_iso_desc){.offset = 0xffffff00, .length = 0x100};
	ck_assert_int_eq(check(&f, &p, "iso offset+length"),
			 URB_REJECT_ISO_DESCRIPTOR);
	/* Longer than the endpoint can move in one interval. */
	f = iso_out(1, 384);
	iso[0] = (struct usbip_iso_desc){.offset = 0, .length = 193};
	ck_assert_int_eq(check(&f, &p, "iso length"),
			 URB_REJECT_ISO_DESCRIPTOR);
}
END_TEST

/* Issue 12 item 5: packets that overlap make the worker allocate their
 * sum, far above the transfer_buffer_length the in-flight cap counts. */
START_TEST(iso_packets_must_not_overlap)
{
	struct urb_plan p;
	struct usbip_urb_frame f = iso_out(USBIP_MAX_ISO_PACKETS, 192);

	for (uint32_t i = 0; i < USBIP_MAX_ISO_PACKETS; i++)
		iso[i] = (struct usbip_iso_desc){.offset = 0, .length = 192};
	ck_assert_int_eq(check(&f, &p, "iso offset (overlap)"),
			 URB_REJECT_ISO_DESCRIPTOR);
	/* One byte of overlap is enough. */
	f = iso_out(2, 384);
	iso[0] = (struct usbip_iso_desc){.offset = 0, .length = 192};
	iso[1] = (struct usbip_iso_desc){.offset = 191, .length = 192};
	ck_assert_int_eq(check(&f, &p, "iso offset (overlap)"),
			 URB_REJECT_ISO_DESCRIPTOR);
	/* Out of order is overlap's twin: the sum is no longer the span. */
	iso[0] = (struct usbip_iso_desc){.offset = 192, .length = 192};
	iso[1] = (struct usbip_iso_desc){.offset = 0, .length = 192};
	ck_assert_int_eq(check(&f, &p, "iso offset (overlap)"),
			 URB_REJECT_ISO_DESCRIPTOR);
	/* Gaps and empty packets are fine: vhci pads, audio skips. */
	f = iso_out(3, 384);
	iso[0] = (struct usbip_iso_desc){.offset = 0, .length = 100};
	iso[1] = (struct usbip_iso_desc){.offset = 100, .length = 0};
	iso[2] = (struct usbip_iso_desc){.offset = 192, .length = 192};
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
}
END_TEST

START_TEST(devid_and_seqnum)
{
	struct urb_plan p;
	struct usbip_urb_frame f = submit(1, USBIP_DIR_IN, 1, 512);

	f.header.devid = DEVID + 1;
	ck_assert_int_eq(check(&f, &p, "devid"), URB_REJECT_DEVID);
	f.header.devid = DEVID;
	in_flight[num_in_flight++] = 1;
	ck_assert_int_eq(check(&f, &p, "seqnum"), URB_REJECT_SEQNUM);
	f.header.command = USBIP_CMD_UNLINK;
	ck_assert_int_eq(check(&f, &p, "seqnum"), URB_REJECT_SEQNUM);
	/* Unlinking something unknown is fine: it may have completed. */
	f.header.seqnum = 2;
	f.header.u.unlink.seqnum = 99;
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(p.unlink_seqnum, 99);
	/* Replies are not requests. */
	f.header.command = USBIP_RET_SUBMIT;
	ck_assert_int_eq(check(&f, &p, "command"), URB_REJECT_COMMAND);
}
END_TEST

START_TEST(control_setup_consistency)
{
	struct urb_plan p;
	struct usbip_urb_frame f;

	/* GET_DESCRIPTOR(DEVICE), 18 bytes IN. */
	f = control(USBIP_DIR_IN, "\x80\x06\x00\x01\x00\x00\x12\x00", 18);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(p.type, USB_TYPE_CONTROL);
	ck_assert_int_eq(p.action, URB_ACTION_TRANSFER);
	/* wLength disagrees with transfer_buffer_length. */
	f = control(USBIP_DIR_IN, "\x80\x06\x00\x01\x00\x00\x12\x00", 64);
	ck_assert_int_eq(check(&f, &p, "wLength"), URB_REJECT_SETUP);
	/* bmRequestType says IN, header says OUT. */
	f = control(USBIP_DIR_OUT, "\x80\x06\x00\x01\x00\x00\x12\x00", 18);
	ck_assert_int_eq(check(&f, &p, "bmRequestType"), URB_REJECT_SETUP);
	/* Zero-length: either direction passes, there is no data stage. */
	f = control(USBIP_DIR_IN, "\x40\x01\x00\x00\x00\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	/* Largest wLength (firmware loaders use it). */
	f = control(USBIP_DIR_OUT, "\x40\x01\x00\x00\x00\x00\xff\xff", 65535);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	/* Control with iso packets. */
	f = control(USBIP_DIR_IN, "\x80\x06\x00\x01\x00\x00\x12\x00", 18);
	f.header.u.submit.number_of_packets = 1;
	ck_assert_int_eq(check(&f, &p, "number_of_packets"),
			 URB_REJECT_PACKETS);
}
END_TEST

START_TEST(flags_are_masked)
{
	struct urb_plan p;
	struct usbip_urb_frame f = submit(1, USBIP_DIR_OUT, 2, 512);

	f.header.u.submit.transfer_flags = 0xffffffff;
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(p.transfer_flags, URB_FLAG_ZERO_PACKET);
	f = submit(1, USBIP_DIR_IN, 1, 512);
	f.header.u.submit.transfer_flags = 0xffffffff;
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(p.transfer_flags, URB_FLAG_SHORT_NOT_OK);
	f = control(USBIP_DIR_OUT, "\x40\x01\x00\x00\x00\x00\x00\x00", 0);
	f.header.u.submit.transfer_flags = 0xffffffff;
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(p.transfer_flags, 0);
}
END_TEST

START_TEST(iso_flags_are_masked)
{
	struct urb_plan p;
	struct usbip_urb_frame f = iso_out(1, 192);

	f.header.u.submit.transfer_flags = 0xffffffff;
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(p.transfer_flags, URB_FLAG_ISO_ASAP);
}
END_TEST

START_TEST(special_requests)
{
	struct urb_plan p;
	struct usbip_urb_frame f;

	f = control(USBIP_DIR_OUT, "\x00\x05\x07\x00\x00\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, "bRequest"), URB_REJECT_REQUEST);

	f = control(USBIP_DIR_OUT, "\x00\x09\x02\x00\x00\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_int_eq(p.action, URB_ACTION_SET_CONFIGURATION);
	ck_assert_uint_eq(p.value, 2);
	f = control(USBIP_DIR_OUT, "\x00\x09\x00\x00\x00\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(p.value, 0);
	f = control(USBIP_DIR_OUT, "\x00\x09\x05\x00\x00\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, "bConfigurationValue"),
			 URB_REJECT_REQUEST);

	/* Granted in configuration 1: the policy judged its interfaces,
	 * not those of configuration 2. */
	session.granted_configuration = 1;
	f = control(USBIP_DIR_OUT, "\x00\x09\x02\x00\x00\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, "bConfigurationValue"),
			 URB_REJECT_REQUEST);
	f = control(USBIP_DIR_OUT, "\x00\x09\x01\x00\x00\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_uint_eq(p.value, 1);
	f = control(USBIP_DIR_OUT, "\x00\x09\x00\x00\x00\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	session.granted_configuration = 0;

	f = control(USBIP_DIR_OUT, "\x01\x0b\x01\x00\x01\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_int_eq(p.action, URB_ACTION_SET_INTERFACE);
	ck_assert_uint_eq(p.interface, 1);
	ck_assert_uint_eq(p.value, 1);
	f = control(USBIP_DIR_OUT, "\x01\x0b\x07\x00\x01\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, "wIndex/wValue"), URB_REJECT_REQUEST);
	f = control(USBIP_DIR_OUT, "\x01\x0b\x00\x00\x09\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, "wIndex/wValue"), URB_REJECT_REQUEST);
	session.configuration = 0;
	f = control(USBIP_DIR_OUT, "\x01\x0b\x01\x00\x01\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, NULL), URB_REJECT_NOT_CONFIGURED);
	session.configuration = 1;

	f = control(USBIP_DIR_OUT, "\x02\x01\x00\x00\x83\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_int_eq(p.action, URB_ACTION_CLEAR_HALT);
	ck_assert_uint_eq(p.endpoint, 0x83);
	f = control(USBIP_DIR_OUT, "\x02\x01\x00\x00\x85\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, "wIndex"), URB_REJECT_NO_ENDPOINT);

	f = control(USBIP_DIR_OUT, "\x23\x03\x04\x00\x01\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_int_eq(p.action, URB_ACTION_RESET_DEVICE);

	/* GET_INTERFACE and GET_CONFIGURATION (reads) pass on. */
	f = control(USBIP_DIR_IN, "\x81\x0a\x00\x00\x01\x00\x01\x00", 1);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_int_eq(p.action, URB_ACTION_TRANSFER);
	f = control(USBIP_DIR_IN, "\x80\x08\x00\x00\x00\x00\x01\x00", 1);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_int_eq(p.action, URB_ACTION_TRANSFER);
	/* CLEAR_FEATURE(DEVICE_REMOTE_WAKEUP) changes nothing we track. */
	f = control(USBIP_DIR_OUT, "\x00\x01\x01\x00\x00\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_int_eq(p.action, URB_ACTION_TRANSFER);

	/* A class request that happens to use bRequest 9 is not ours. */
	f = control(USBIP_DIR_OUT, "\x21\x09\x00\x02\x00\x00\x00\x00", 0);
	ck_assert_int_eq(check(&f, &p, NULL), URB_ACCEPT);
	ck_assert_int_eq(p.action, URB_ACTION_TRANSFER);
}
END_TEST

/* Issue 12 item 8: the intercepted standard requests in every other
 * shape (direction bit, recipient, wLength) reached the device raw. */
struct odd_shape {
	const char *setup;
	uint32_t dir, length;
	const char *field;
};

static const struct odd_shape odd_shapes[] = {
	/* SET_ADDRESS: never, whatever the shape */
	{"\x80\x05\x07\x00\x00\x00\x00\x00", USBIP_DIR_OUT, 0, "bRequest"},
	{"\x02\x05\x07\x00\x00\x00\x00\x00", USBIP_DIR_OUT, 0, "bRequest"},
	{"\x00\x05\x07\x00\x00\x00\x02\x00", USBIP_DIR_OUT, 2, "bRequest"},
	/* SET_CONFIGURATION: direction bit, each other recipient, data */
	{"\x80\x09\x02\x00\x00\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x80\x09\x02\x00\x00\x00\x00\x00", USBIP_DIR_IN, 0, "bmRequestType"},
	{"\x01\x09\x02\x00\x00\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x02\x09\x02\x00\x00\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x03\x09\x02\x00\x00\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x1f\x09\x02\x00\x00\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x00\x09\x02\x00\x00\x00\x04\x00", USBIP_DIR_OUT, 4, "wLength"},
	{"\x80\x09\x02\x00\x00\x00\x04\x00", USBIP_DIR_IN, 4, "bmRequestType"},
	{"\x00\x09\x02\x00\x01\x00\x00\x00", USBIP_DIR_OUT, 0, "wIndex"},
	{"\x00\x09\x02\x01\x00\x00\x00\x00", USBIP_DIR_OUT, 0,
	 "bConfigurationValue"},
	/* SET_INTERFACE */
	{"\x81\x0b\x01\x00\x01\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x00\x0b\x01\x00\x01\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x02\x0b\x01\x00\x01\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x03\x0b\x01\x00\x01\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x01\x0b\x01\x00\x01\x00\x02\x00", USBIP_DIR_OUT, 2, "wLength"},
	/* CLEAR_FEATURE */
	{"\x82\x01\x00\x00\x83\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x82\x01\x00\x00\x83\x00\x00\x00", USBIP_DIR_IN, 0, "bmRequestType"},
	{"\x80\x01\x01\x00\x00\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x81\x01\x00\x00\x00\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x03\x01\x00\x00\x83\x00\x00\x00", USBIP_DIR_OUT, 0, "bmRequestType"},
	{"\x02\x01\x00\x00\x83\x00\x02\x00", USBIP_DIR_OUT, 2, "wLength"},
	{"\x00\x01\x01\x00\x00\x00\x02\x00", USBIP_DIR_OUT, 2, "wLength"},
	{"\x02\x01\x05\x00\x83\x00\x00\x00", USBIP_DIR_OUT, 0, "wValue"},
};

START_TEST(special_requests_in_other_shapes)
{
	const struct odd_shape *o = &odd_shapes[_i];
	struct urb_plan p;
	struct usbip_urb_frame f = control(o->dir, o->setup, o->length);

	ck_assert_int_eq(check(&f, &p, o->field), URB_REJECT_REQUEST);
}
END_TEST

START_TEST(verdict_names)
{
	for (int v = 0; v < URB_VERDICT_COUNT; v++) {
		ck_assert_ptr_nonnull(urb_verdict_name(v));
		for (int w = 0; w < v; w++)
			ck_assert_str_ne(urb_verdict_name(v),
					 urb_verdict_name(w));
	}
	ck_assert_str_eq(urb_verdict_name(URB_VERDICT_COUNT),
			 "unknown verdict");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("validate");
	TCase *storage = tcase_create("mass-storage");
	TCase *audio = tcase_create("audio");

	tcase_add_checked_fixture(storage, setup_storage, teardown);
	tcase_add_test(storage, accepts_plain_bulk);
	tcase_add_test(storage, endpoint_range_and_existence);
	tcase_add_test(storage, direction_must_be_in_or_out);
	tcase_add_test(storage, length_caps_and_in_flight_budget);
	tcase_add_test(storage, limits_follow_the_budget);
	tcase_add_test(storage, payload_must_match);
	tcase_add_test(storage, devid_and_seqnum);
	tcase_add_test(storage, control_setup_consistency);
	tcase_add_test(storage, flags_are_masked);
	tcase_add_test(storage, verdict_names);
	suite_add_tcase(s, storage);

	tcase_add_checked_fixture(audio, setup_audio, teardown);
	tcase_add_test(audio, endpoint_follows_alt_setting);
	tcase_add_test(audio, interrupt_cap);
	tcase_add_test(audio, iso_packet_counts);
	tcase_add_test(audio, iso_descriptor_bounds);
	tcase_add_test(audio, iso_flags_are_masked);
	tcase_add_test(audio, special_requests);
	tcase_add_loop_test(audio, special_requests_in_other_shapes, 0,
			    (int)(sizeof(odd_shapes) / sizeof(odd_shapes[0])));
	tcase_add_test(audio, iso_packets_must_not_overlap);
	suite_add_tcase(s, audio);

	return run_suite(s);
}
