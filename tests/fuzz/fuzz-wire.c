// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The wire decoders on arbitrary bytes, delivered in arbitrary chunks.
 * Input: byte 0 picks the decoder (op, URB server side, URB client side),
 * byte 1 seeds the chunk sizes, the rest is the stream. Every message that
 * decodes must encode again to something that decodes the same.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t chunk(uint8_t *state, size_t want)
{
	*state = (uint8_t)(*state * 33 + 7);
	size_t n = (size_t)(*state % 17) + 1;
	return n < want ? n : want;
}

/* Big enough for the longest device list the decoder accepts. */
#define OP_MAX_LEN                   \
	(USBIP_OP_HEADER_LEN + 4 +   \
	 (size_t)USBIP_MAX_DEVLIST * \
		 (USBIP_DEVICE_LEN + \
		  USBIP_MAX_INTERFACES * USBIP_INTERFACE_LEN))

static void op_round_trip(const struct usbip_op_message *m)
{
	static uint8_t buf[OP_MAX_LEN];
	long need = usbip_op_encode(m, NULL, 0);
	long len = usbip_op_encode(m, buf, sizeof(buf));

	assert(len > 0 && len == need);
	if (len > USBIP_OP_HEADER_LEN)
		assert(usbip_op_encode(m, buf, (size_t)len - 1) == -EMSGSIZE);
	struct usbip_op_message again;
	assert(usbip_op_decode(buf, (size_t)len, &again, NULL) == 0);
	assert(again.header.code == m->header.code);
	assert(again.header.status == m->header.status);
	assert(again.num_devices == m->num_devices);
	assert(!memcmp(&again.device, &m->device, sizeof(m->device)));
	for (uint32_t i = 0; i < m->num_devices; i++)
		assert(!memcmp(&again.devices[i], &m->devices[i],
			       sizeof(m->devices[i])));
	usbip_op_message_clear(&again);
}

static void fuzz_op(const uint8_t *data, size_t size, uint8_t state)
{
	struct usbip_op_reader r;
	size_t pos = 0;

	usbip_op_reader_init(&r);
	while (pos < size) {
		uint8_t *dst;
		size_t want, n;
		if (usbip_op_reader_next(&r, &dst, &want) < 0)
			break;
		n = chunk(&state, want);
		if (n > size - pos)
			n = size - pos;
		memcpy(dst, data + pos, n);
		pos += n;
		struct usbip_op_message m;
		struct usbip_fault f = {0};
		int ret = usbip_op_reader_advance(&r, n, &m, &f);
		if (ret < 0) {
			assert(f.field || ret == -ENOMEM);
			break;
		}
		if (ret == 1) {
			op_round_trip(&m);
			usbip_op_message_clear(&m);
		}
	}
	usbip_op_reader_clear(&r);
}

static int odd_seqnums_are_in(void *opaque, uint32_t seqnum)
{
	(void)opaque;
	if (seqnum % 5 == 0)
		return -1; /* never sent */
	return (int)(seqnum & 1);
}

static void fuzz_urb(const uint8_t *data, size_t size, uint8_t state,
		     enum usbip_urb_role role)
{
	static struct usbip_urb_reader r;
	size_t pos = 0;

	usbip_urb_reader_init(&r, role, 1 << 16, odd_seqnums_are_in, NULL);
	while (pos < size) {
		uint8_t *dst;
		size_t want, n;
		const struct usbip_urb_frame *f;
		struct usbip_fault fault = {0};

		usbip_urb_reader_next(&r, &dst, &want);
		assert(want > 0);
		n = chunk(&state, want);
		if (n > size - pos)
			n = size - pos;
		memcpy(dst, data + pos, n);
		pos += n;
		int ret = usbip_urb_reader_advance(&r, n, &f, &fault);
		if (ret < 0) {
			assert(fault.field || ret == -ENOMEM);
			break;
		}
		if (ret == 1) {
			uint8_t raw[USBIP_URB_HEADER_LEN];
			struct usbip_urb_header h;
			assert(f->data_len <= 1 << 16);
			assert(f->num_iso <= USBIP_MAX_ISO_PACKETS);
			if (f->data_len)
				assert(f->data[0] == f->data[0]);
			usbip_urb_header_pack(&f->header, raw);
			assert(usbip_urb_header_unpack(raw, &h, NULL) == 0);
			assert(!memcmp(&h, &f->header, sizeof(h)));
			for (size_t i = 0; i < f->num_iso; i++) {
				uint8_t d[USBIP_ISO_DESC_LEN];
				struct usbip_iso_desc back;
				usbip_iso_desc_pack(&f->iso[i], d);
				usbip_iso_desc_unpack(d, &back);
				assert(!memcmp(&back, &f->iso[i],
					       sizeof(back)));
			}
		}
	}
	usbip_urb_reader_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_op(data + 2, size - 2, data[1]);
		break;
	case 1:
		fuzz_urb(data + 2, size - 2, data[1], USBIP_ROLE_SERVER);
		break;
	case 2:
		fuzz_urb(data + 2, size - 2, data[1], USBIP_ROLE_CLIENT);
		break;
	}
	return 0;
}
