// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The validator behind the server-side reader, as the worker will use it.
 * Input: [u16 descriptor length][descriptors][configuration][4 alt
 * settings][URB stream]. Descriptors that do not parse fall back to a fixed
 * mass-storage plus audio model so that the stream is always exercised.
 * Every accepted plan must be safe to carry out: buffers and packets inside
 * their bounds, flags inside the allowed mask, seqnums unique.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "usb_model.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* bInterfaceNumber 0: bulk 0x81/0x02; 1 alt 1: iso OUT 0x03 (192 bytes);
 * interrupt IN 0x84. */
static const uint8_t fallback[] = {
	18,   1, 0, 2, 0,    0,	 0, 64,	  0x6b, 0x1d, 4,    1,	0, 1, 1,
	2,    3, 1, 9, 2,    55, 0, 2,	  1,	0,    0x80, 50, 9, 4, 0,
	0,    3, 8, 6, 0x50, 0,	 7, 5,	  0x81, 2,    0,    2,	0, 7, 5,
	0x02, 2, 0, 2, 0,    7,	 5, 0x84, 3,	8,    0,    4,	9, 4, 1,
	1,    1, 1, 2, 0,    0,	 7, 5,	  0x03, 0x09, 192,  0,	1,
};

#define MAX_TRACKED 64

struct tracker {
	uint32_t seqnums[MAX_TRACKED];
	uint64_t lengths[MAX_TRACKED]; /* urb_plan_charge() */
	size_t count;
	uint64_t bytes;
};

static bool in_flight(const void *opaque, uint32_t seqnum)
{
	const struct tracker *t = opaque;
	for (size_t i = 0; i < t->count; i++)
		if (t->seqnums[i] == seqnum)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct usbip_urb_reader reader;
	struct usb_device_model model;
	struct urb_limits limits;
	struct urb_session s;
	struct tracker t = {0};
	size_t desc_len, pos;

	if (size < 2)
		return 0;
	desc_len = (size_t)(data[0] | data[1] << 8);
	if (desc_len > size - 2)
		desc_len = size - 2;
	if (usb_model_parse(data + 2, desc_len, &model, NULL) < 0) {
		int r = usb_model_parse(fallback, sizeof(fallback), &model,
					NULL);
		assert(r == 0);
	}
	pos = 2 + desc_len;

	urb_limits_default(&limits);
	limits.max_urbs_in_flight = MAX_TRACKED;
	memset(&s, 0, sizeof(s));
	s.model = &model;
	s.limits = &limits;
	s.devid = 0x10002;
	s.configuration = 1;
	s.seqnum_in_flight = in_flight;
	s.opaque = &t;
	if (size - pos >= 5) {
		s.configuration = data[pos];
		for (int i = 0; i < 4; i++)
			s.alt_setting[i] = data[pos + 1 + i];
		pos += 5;
	}

	usbip_urb_reader_init(&reader, USBIP_ROLE_SERVER, 1 << 20, NULL, NULL);
	while (pos < size) {
		const struct usbip_urb_frame *f;
		uint8_t *dst;
		size_t want;

		usbip_urb_reader_next(&reader, &dst, &want);
		if (want > size - pos)
			want = size - pos;
		memcpy(dst, data + pos, want);
		pos += want;
		int r = usbip_urb_reader_advance(&reader, want, &f, NULL);
		if (r < 0)
			break;
		if (r == 0)
			continue;

		struct urb_plan p;
		struct usbip_fault fault = {0};
		enum urb_verdict v = urb_validate(&s, f, &p, &fault);
		if (v != URB_ACCEPT) {
			assert(fault.field && fault.reason);
			continue;
		}
		assert(!in_flight(&t, f->header.seqnum));
		if (p.action == URB_ACTION_TRANSFER) {
			assert(p.length ==
			       f->header.u.submit.transfer_buffer_length);
			assert(f->data_len == (p.dir_in ? 0 : p.length));
			assert((p.transfer_flags &
				~(URB_FLAG_SHORT_NOT_OK | URB_FLAG_ISO_ASAP |
				  URB_FLAG_ZERO_PACKET)) == 0);
			assert(p.endpoint == 0 || p.endpoint == 0x80 ||
			       s.configuration != 0);
			if (p.type == USB_TYPE_ISOCHRONOUS) {
				assert(p.num_iso == f->num_iso);
				assert(p.num_iso >= 1 &&
				       p.num_iso <= USBIP_MAX_ISO_PACKETS);
				uint64_t prev_end = 0;
				for (size_t i = 0; i < f->num_iso; i++) {
					uint64_t end =
						(uint64_t)f->iso[i].offset +
						f->iso[i].length;
					/* In order, apart: what is allocated
					 * (the sum) fits in the length. */
					assert(f->iso[i].offset >= prev_end);
					assert(end <= p.length);
					prev_end = end;
				}
			}
			assert(t.bytes + urb_plan_charge(&p) <=
			       limits.max_bytes_in_flight);
			if (t.count < MAX_TRACKED) {
				t.seqnums[t.count] = f->header.seqnum;
				t.lengths[t.count++] = urb_plan_charge(&p);
				t.bytes += urb_plan_charge(&p);
			}
			s.urbs_in_flight = (uint32_t)t.count;
			s.bytes_in_flight = t.bytes;
		} else if (p.action == URB_ACTION_SET_CONFIGURATION) {
			assert(p.value == 0 ||
			       usb_model_config(&model, p.value));
			s.configuration = p.value;
			memset(s.alt_setting, 0, sizeof(s.alt_setting));
		} else if (p.action == URB_ACTION_SET_INTERFACE) {
			const struct usb_config_model *c =
				usb_model_config(&model, s.configuration);
			assert(c &&
			       usb_config_altsetting(c, p.interface, p.value));
			s.alt_setting[p.interface] = p.value;
		} else if (p.action == URB_ACTION_UNLINK) {
			for (size_t i = 0; i < t.count; i++)
				if (t.seqnums[i] == p.unlink_seqnum) {
					t.bytes -= t.lengths[i];
					t.seqnums[i] = t.seqnums[--t.count];
					t.lengths[i] = t.lengths[t.count];
					break;
				}
			s.urbs_in_flight = (uint32_t)t.count;
			s.bytes_in_flight = t.bytes;
		}
	}
	usbip_urb_reader_clear(&reader);
	usb_model_clear(&model);
	return 0;
}
