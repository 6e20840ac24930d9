// SPDX-License-Identifier: GPL-2.0-or-later
/* The wire codec: golden vectors both ways, partial reads, malformed input. */
#include "check-main.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vectors.h"
#include "wire.h"

static struct usbip_device_info golden_device(void)
{
	struct usbip_device_info d = {
		.busnum = 1,
		.devnum = 2,
		.speed = USBIP_SPEED_HIGH,
		.id_vendor = 0x1d6b,
		.id_product = 0x0104,
		.bcd_device = 0x0100,
		.configuration_value = 1,
		.num_configurations = 1,
		.num_interfaces = 1,
	};
	strcpy(d.path, VEC_PATH);
	strcpy(d.busid, VEC_BUSID);
	return d;
}

static void assert_device(const struct usbip_device_info *d)
{
	struct usbip_device_info g = golden_device();
	ck_assert_mem_eq(d, &g, sizeof(g));
}

/* Feeds a whole op message through the reader in chunks of `step` bytes. */
static int op_feed(const struct vec *v, size_t step, struct usbip_op_message *m,
		   struct usbip_fault *f)
{
	struct usbip_op_reader r;
	size_t pos = 0;
	int ret = 0;

	usbip_op_reader_init(&r);
	while (pos < v->len) {
		uint8_t *dst;
		size_t want, n;
		ck_assert_int_eq(usbip_op_reader_next(&r, &dst, &want), 0);
		ck_assert_uint_gt(want, 0);
		n = want < step ? want : step;
		if (n > v->len - pos)
			n = v->len - pos;
		memcpy(dst, v->b + pos, n);
		pos += n;
		ret = usbip_op_reader_advance(&r, n, m, f);
		if (ret != 0)
			break;
	}
	usbip_op_reader_clear(&r);
	/* A complete message must consume exactly its bytes. */
	if (ret == 1)
		ck_assert_uint_eq(pos, v->len);
	return ret;
}

static const size_t steps[] = {1, 3, 7, 48, 4096};

START_TEST(op_vectors_decode)
{
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		struct usbip_op_message m;
		struct vec v;

		vec_build(V_REQ_DEVLIST, &v);
		ck_assert_int_eq(op_feed(&v, steps[s], &m, NULL), 1);
		ck_assert_uint_eq(m.header.code, USBIP_OP_REQ_DEVLIST);
		usbip_op_message_clear(&m);

		vec_build(V_REP_DEVLIST, &v);
		ck_assert_int_eq(op_feed(&v, steps[s], &m, NULL), 1);
		ck_assert_uint_eq(m.num_devices, 1);
		assert_device(&m.devices[0].device);
		ck_assert_uint_eq(m.devices[0].interfaces[0].interface_class,
				  8);
		ck_assert_uint_eq(m.devices[0].interfaces[0].interface_subclass,
				  6);
		ck_assert_uint_eq(m.devices[0].interfaces[0].interface_protocol,
				  0x50);
		usbip_op_message_clear(&m);

		vec_build(V_REQ_IMPORT, &v);
		ck_assert_int_eq(op_feed(&v, steps[s], &m, NULL), 1);
		ck_assert_str_eq(m.busid, VEC_BUSID);

		vec_build(V_REP_IMPORT, &v);
		ck_assert_int_eq(op_feed(&v, steps[s], &m, NULL), 1);
		ck_assert_uint_eq(m.header.status, 0);
		assert_device(&m.device);

		vec_build(V_REP_IMPORT_FAIL, &v);
		ck_assert_int_eq(op_feed(&v, steps[s], &m, NULL), 1);
		ck_assert_uint_eq(m.header.status, USBIP_ST_NA);

		vec_build(V_REQ_EXPORT, &v);
		ck_assert_int_eq(op_feed(&v, steps[s], &m, NULL), 1);
		assert_device(&m.device);

		vec_build(V_REP_EXPORT, &v);
		ck_assert_int_eq(op_feed(&v, steps[s], &m, NULL), 1);
		ck_assert_int_eq(m.returncode, 0);

		vec_build(V_REQ_UNEXPORT, &v);
		ck_assert_int_eq(op_feed(&v, steps[s], &m, NULL), 1);
		ck_assert_uint_eq(m.header.code, USBIP_OP_REQ_UNEXPORT);
		assert_device(&m.device);

		vec_build(V_REP_UNEXPORT, &v);
		ck_assert_int_eq(op_feed(&v, steps[s], &m, NULL), 1);
		ck_assert_uint_eq(m.header.status, 1);
		ck_assert_int_eq(m.returncode, -1);
	}
}
END_TEST

static void assert_encodes_to(const struct usbip_op_message *m, enum vec_id id)
{
	uint8_t buf[VEC_MAX];
	struct vec v;
	long n;

	vec_build(id, &v);
	ck_assert_int_eq(usbip_op_encode(m, buf, 0), -EMSGSIZE);
	ck_assert_int_eq(usbip_op_encode(m, NULL, 0), (long)v.len);
	n = usbip_op_encode(m, buf, sizeof(buf));
	ck_assert_int_eq(n, (long)v.len);
	ck_assert_mem_eq(buf, v.b, v.len);
}

START_TEST(op_vectors_encode)
{
	struct usbip_devlist_entry entry = {.device = golden_device()};
	struct usbip_op_message m = {0};

	entry.interfaces[0] = (struct usbip_interface_info){8, 6, 0x50};

	m.header.code = USBIP_OP_REQ_DEVLIST;
	assert_encodes_to(&m, V_REQ_DEVLIST);

	m.header.code = USBIP_OP_REP_DEVLIST;
	m.num_devices = 1;
	m.devices = &entry;
	assert_encodes_to(&m, V_REP_DEVLIST);
	m.devices = NULL;
	m.num_devices = 0;

	m.header.code = USBIP_OP_REQ_IMPORT;
	strcpy(m.busid, VEC_BUSID);
	assert_encodes_to(&m, V_REQ_IMPORT);

	m.header.code = USBIP_OP_REP_IMPORT;
	m.device = golden_device();
	assert_encodes_to(&m, V_REP_IMPORT);
	m.header.status = USBIP_ST_NA;
	assert_encodes_to(&m, V_REP_IMPORT_FAIL);
	m.header.status = 0;

	m.header.code = USBIP_OP_REQ_EXPORT;
	assert_encodes_to(&m, V_REQ_EXPORT);
	m.header.code = USBIP_OP_REQ_UNEXPORT;
	assert_encodes_to(&m, V_REQ_UNEXPORT);

	m.header.code = USBIP_OP_REP_EXPORT;
	m.returncode = 0;
	assert_encodes_to(&m, V_REP_EXPORT);
	m.header.code = USBIP_OP_REP_UNEXPORT;
	m.header.status = 1;
	m.returncode = -1;
	assert_encodes_to(&m, V_REP_UNEXPORT);
}
END_TEST

START_TEST(op_encode_refuses_undecodable)
{
	struct usbip_op_message m = {0};
	uint8_t buf[VEC_MAX];

	m.header.code = USBIP_OP_REQ_IMPORT;
	memset(m.busid, 'x', sizeof(m.busid));
	ck_assert_int_eq(usbip_op_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.busid[0] = '\0';
	ck_assert_int_eq(usbip_op_encode(&m, buf, sizeof(buf)), -EINVAL);

	m.header.code = USBIP_OP_REQ_EXPORT;
	m.device = golden_device();
	m.device.num_interfaces = 33;
	ck_assert_int_eq(usbip_op_encode(&m, buf, sizeof(buf)), -EINVAL);

	m.header.code = 0x1234;
	ck_assert_int_eq(usbip_op_encode(&m, buf, sizeof(buf)), -EINVAL);

	m.header.code = USBIP_OP_REQ_DEVLIST;
	m.header.status = 1;
	ck_assert_int_eq(usbip_op_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* A malformed message: decoding it whole and through the reader byte by
 * byte must both fail with the same errno and name the field. */
static void assert_op_rejected(const struct vec *v, int err, const char *field)
{
	struct usbip_op_message m;
	struct usbip_fault f = {0};

	ck_assert_int_eq(usbip_op_decode(v->b, v->len, &m, &f), err);
	ck_assert_ptr_nonnull(f.field);
	ck_assert_str_eq(f.field, field);
	ck_assert_ptr_null(m.devices);

	if (err == -EBADMSG && strcmp(field, "length") == 0)
		return; /* truncation/trailing only shows in whole decodes */
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(op_feed(v, 1, &m, &f), err);
	ck_assert_str_eq(f.field, field);
}

START_TEST(op_malformed)
{
	struct vec v;

	vec_build(V_REQ_DEVLIST, &v);
	v.b[1] = 0x00; /* version 0x0100 */
	assert_op_rejected(&v, -EPROTO, "version");

	vec_build(V_REQ_DEVLIST, &v);
	v.b[3] = 0x09; /* code 0x8009 */
	assert_op_rejected(&v, -EBADMSG, "code");

	vec_build(V_REQ_DEVLIST, &v);
	v.b[7] = 1; /* requests carry no status */
	assert_op_rejected(&v, -EBADMSG, "status");

	vec_build(V_REQ_IMPORT, &v);
	memset(v.b + 8, 'A', 32); /* busid without NUL */
	assert_op_rejected(&v, -EBADMSG, "busid");

	vec_build(V_REQ_IMPORT, &v);
	memset(v.b + 8, 0, 32); /* empty busid */
	assert_op_rejected(&v, -EBADMSG, "busid");

	vec_build(V_REP_IMPORT, &v);
	memset(v.b + 8, '/', 256); /* path without NUL */
	assert_op_rejected(&v, -EBADMSG, "path");

	vec_build(V_REQ_EXPORT, &v);
	memset(v.b + 8 + 256, '1', 32);
	assert_op_rejected(&v, -EBADMSG, "busid");

	vec_build(V_REQ_EXPORT, &v);
	v.b[8 + 299] = 7; /* speed 7 */
	assert_op_rejected(&v, -EBADMSG, "speed");

	vec_build(V_REQ_EXPORT, &v);
	v.b[8 + 299] = 0; /* speed unknown */
	assert_op_rejected(&v, -EBADMSG, "speed");

	vec_build(V_REQ_EXPORT, &v);
	v.b[8 + 289] = 1; /* busnum 0x10001 */
	assert_op_rejected(&v, -EBADMSG, "busnum");

	vec_build(V_REQ_EXPORT, &v);
	v.b[8 + 311] = 33; /* bNumInterfaces */
	assert_op_rejected(&v, -EMSGSIZE, "bNumInterfaces");

	vec_build(V_REP_DEVLIST, &v);
	v.b[8 + 4 + 311] = 200; /* interfaces past the buffer */
	assert_op_rejected(&v, -EMSGSIZE, "bNumInterfaces");

	vec_build(V_REP_DEVLIST, &v);
	v.b[8] = 0x7f; /* ndev huge */
	assert_op_rejected(&v, -EMSGSIZE, "ndev");

	vec_build(V_REP_DEVLIST, &v);
	v.b[11] = 2; /* second device missing */
	assert_op_rejected(&v, -EBADMSG, "length");

	vec_build(V_REQ_IMPORT, &v);
	v.len -= 1;
	assert_op_rejected(&v, -EBADMSG, "length");

	vec_build(V_REQ_DEVLIST, &v);
	v.len += 1; /* trailing byte */
	assert_op_rejected(&v, -EBADMSG, "length");

	vec_build(V_REP_EXPORT, &v);
	v.len = 5;
	assert_op_rejected(&v, -EBADMSG, "length");
}
END_TEST

/* Reply direction lookup for the client-side reader: seqnum 1 was an IN
 * request, seqnum 3 an OUT one, nothing else was sent. */
static int test_ret_direction(void *opaque, uint32_t seqnum)
{
	(void)opaque;
	if (seqnum == 1)
		return 1;
	if (seqnum == 3 || seqnum == 4)
		return 0;
	return -ENOENT;
}

static int urb_feed(enum usbip_urb_role role, const struct vec *v, size_t step,
		    struct usbip_urb_frame *out, struct usbip_fault *f)
{
	struct usbip_urb_reader *r = malloc(sizeof(*r));
	const struct usbip_urb_frame *frame = NULL;
	size_t pos = 0;
	int ret = 0;

	usbip_urb_reader_init(r, role, 1 << 20, test_ret_direction, NULL);
	while (pos < v->len) {
		uint8_t *dst;
		size_t want, n;
		usbip_urb_reader_next(r, &dst, &want);
		ck_assert_uint_gt(want, 0);
		n = want < step ? want : step;
		if (n > v->len - pos)
			n = v->len - pos;
		memcpy(dst, v->b + pos, n);
		pos += n;
		ret = usbip_urb_reader_advance(r, n, &frame, f);
		if (ret != 0)
			break;
	}
	if (ret == 1) {
		ck_assert_uint_eq(pos, v->len);
		*out = *frame;
		/* Copy what points into the reader before it goes. */
		out->data = frame->data_len ? malloc(frame->data_len) : NULL;
		if (frame->data_len)
			memcpy(out->data, frame->data, frame->data_len);
		out->iso = frame->num_iso
				   ? malloc(frame->num_iso * sizeof(*out->iso))
				   : NULL;
		if (frame->num_iso)
			memcpy(out->iso, frame->iso,
			       frame->num_iso * sizeof(*out->iso));
	}
	usbip_urb_reader_clear(r);
	free(r);
	return ret;
}

static void frame_free(struct usbip_urb_frame *f)
{
	free(f->data);
	free(f->iso);
}

static void assert_header_encodes(const struct usbip_urb_header *h,
				  enum vec_id id)
{
	uint8_t out[USBIP_URB_HEADER_LEN];
	struct vec v;

	vec_build(id, &v);
	usbip_urb_header_pack(h, out);
	ck_assert_mem_eq(out, v.b, USBIP_URB_HEADER_LEN);
}

START_TEST(urb_vectors)
{
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		struct usbip_urb_frame f;
		struct vec v, want;

		vec_build(V_CMD_SUBMIT_CTRL_IN, &v);
		ck_assert_int_eq(
			urb_feed(USBIP_ROLE_SERVER, &v, steps[s], &f, NULL), 1);
		ck_assert_uint_eq(f.header.command, USBIP_CMD_SUBMIT);
		ck_assert_uint_eq(f.header.seqnum, 1);
		ck_assert_uint_eq(f.header.devid, 0x10002);
		ck_assert_uint_eq(f.header.direction, USBIP_DIR_IN);
		ck_assert_uint_eq(f.header.ep, 0);
		ck_assert_uint_eq(f.header.u.submit.transfer_flags, 0x200);
		ck_assert_uint_eq(f.header.u.submit.transfer_buffer_length, 18);
		ck_assert_uint_eq(f.data_len, 0);
		ck_assert_uint_eq(f.num_iso, 0);
		ck_assert_mem_eq(f.header.u.submit.setup,
				 "\x80\x06\x00\x01\x00\x00\x12\x00", 8);
		assert_header_encodes(&f.header, V_CMD_SUBMIT_CTRL_IN);
		frame_free(&f);

		vec_build(V_RET_SUBMIT_CTRL_IN, &v);
		ck_assert_int_eq(
			urb_feed(USBIP_ROLE_CLIENT, &v, steps[s], &f, NULL), 1);
		ck_assert_uint_eq(f.header.command, USBIP_RET_SUBMIT);
		ck_assert_int_eq(f.header.u.ret_submit.status, 0);
		ck_assert_uint_eq(f.header.u.ret_submit.actual_length, 18);
		ck_assert_uint_eq(f.data_len, 18);
		memset(&want, 0, sizeof(want));
		vec_hex(&want, VEC_DEVICE_DESCRIPTOR);
		ck_assert_mem_eq(f.data, want.b, 18);
		assert_header_encodes(&f.header, V_RET_SUBMIT_CTRL_IN);
		frame_free(&f);

		vec_build(V_CMD_SUBMIT_BULK_OUT, &v);
		ck_assert_int_eq(
			urb_feed(USBIP_ROLE_SERVER, &v, steps[s], &f, NULL), 1);
		ck_assert_uint_eq(f.header.direction, USBIP_DIR_OUT);
		ck_assert_uint_eq(f.header.ep, 2);
		ck_assert_uint_eq(f.data_len, 31);
		ck_assert_mem_eq(f.data, "USBC", 4);
		assert_header_encodes(&f.header, V_CMD_SUBMIT_BULK_OUT);
		frame_free(&f);

		vec_build(V_CMD_SUBMIT_ISO_OUT, &v);
		ck_assert_int_eq(
			urb_feed(USBIP_ROLE_SERVER, &v, steps[s], &f, NULL), 1);
		ck_assert_uint_eq(f.header.u.submit.number_of_packets, 2);
		ck_assert_int_eq(f.header.u.submit.interval, 1);
		ck_assert_uint_eq(f.data_len, 8);
		ck_assert_uint_eq(f.num_iso, 2);
		ck_assert_uint_eq(f.iso[1].offset, 4);
		ck_assert_uint_eq(f.iso[1].length, 4);
		assert_header_encodes(&f.header, V_CMD_SUBMIT_ISO_OUT);
		{
			uint8_t d[USBIP_ISO_DESC_LEN];
			usbip_iso_desc_pack(&f.iso[1], d);
			ck_assert_mem_eq(d, v.b + 48 + 8 + 16, 16);
		}
		frame_free(&f);

		vec_build(V_RET_SUBMIT_ISO_OUT, &v);
		ck_assert_int_eq(
			urb_feed(USBIP_ROLE_CLIENT, &v, steps[s], &f, NULL), 1);
		ck_assert_uint_eq(f.data_len, 0); /* OUT: nothing comes back */
		ck_assert_uint_eq(f.num_iso, 2);
		ck_assert_uint_eq(f.iso[0].actual_length, 4);
		ck_assert_int_eq(f.header.u.ret_submit.start_frame, 0x10);
		assert_header_encodes(&f.header, V_RET_SUBMIT_ISO_OUT);
		frame_free(&f);

		vec_build(V_CMD_UNLINK, &v);
		ck_assert_int_eq(
			urb_feed(USBIP_ROLE_SERVER, &v, steps[s], &f, NULL), 1);
		ck_assert_uint_eq(f.header.u.unlink.seqnum, 2);
		assert_header_encodes(&f.header, V_CMD_UNLINK);

		vec_build(V_RET_UNLINK, &v);
		ck_assert_int_eq(
			urb_feed(USBIP_ROLE_CLIENT, &v, steps[s], &f, NULL), 1);
		ck_assert_int_eq(f.header.u.ret_unlink.status, -ECONNRESET);
		assert_header_encodes(&f.header, V_RET_UNLINK);
	}
}
END_TEST

static void assert_urb_rejected(enum usbip_urb_role role, const struct vec *v,
				int err, const char *field)
{
	struct usbip_urb_frame f;
	struct usbip_fault fault = {0};

	ck_assert_int_eq(urb_feed(role, v, 1, &f, &fault), err);
	ck_assert_ptr_nonnull(fault.field);
	ck_assert_str_eq(fault.field, field);
}

START_TEST(urb_malformed)
{
	struct vec v;

	vec_build(V_CMD_SUBMIT_CTRL_IN, &v);
	v.b[3] = 9; /* unknown command */
	assert_urb_rejected(USBIP_ROLE_SERVER, &v, -EBADMSG, "command");

	vec_build(V_CMD_SUBMIT_CTRL_IN, &v);
	v.b[15] = 2; /* direction 2: length of what follows unknowable */
	assert_urb_rejected(USBIP_ROLE_SERVER, &v, -EBADMSG, "direction");

	vec_build(V_CMD_SUBMIT_ISO_OUT, &v);
	v.b[34] = 0x04;
	v.b[35] = 0x01; /* 1025 packets */
	assert_urb_rejected(USBIP_ROLE_SERVER, &v, -EBADMSG,
			    "number_of_packets");

	vec_build(V_CMD_SUBMIT_ISO_OUT, &v);
	memcpy(v.b + 32, "\xff\xff\xff\xfe", 4); /* -2 packets */
	assert_urb_rejected(USBIP_ROLE_SERVER, &v, -EBADMSG,
			    "number_of_packets");

	vec_build(V_CMD_SUBMIT_BULK_OUT, &v);
	memcpy(v.b + 24, "\xff\xff\xff\xff", 4); /* 4 GiB OUT */
	assert_urb_rejected(USBIP_ROLE_SERVER, &v, -EMSGSIZE,
			    "transfer_buffer_length");

	vec_build(V_RET_SUBMIT_CTRL_IN, &v);
	memcpy(v.b + 24, "\x7f\x00\x00\x00", 4);
	assert_urb_rejected(USBIP_ROLE_CLIENT, &v, -EMSGSIZE, "actual_length");

	/* Each side reads only what the other side sends. */
	vec_build(V_RET_UNLINK, &v);
	assert_urb_rejected(USBIP_ROLE_SERVER, &v, -EBADMSG, "command");
	vec_build(V_CMD_UNLINK, &v);
	assert_urb_rejected(USBIP_ROLE_CLIENT, &v, -EBADMSG, "command");

	vec_build(V_RET_SUBMIT_CTRL_IN, &v);
	v.b[7] = 9; /* a reply to a request never sent */
	assert_urb_rejected(USBIP_ROLE_CLIENT, &v, -EBADMSG, "seqnum");

	/* number_of_packets 0xffffffff is the documented "not iso". */
	vec_build(V_CMD_SUBMIT_BULK_OUT, &v);
	memcpy(v.b + 32, "\xff\xff\xff\xff", 4);
	{
		struct usbip_urb_frame f;
		ck_assert_int_eq(urb_feed(USBIP_ROLE_SERVER, &v, 5, &f, NULL),
				 1);
		ck_assert_uint_eq(f.num_iso, 0);
		frame_free(&f);
	}
}
END_TEST

START_TEST(urb_reader_back_to_back)
{
	/* Several frames in one buffer, as a socket read would deliver them. */
	struct usbip_urb_reader *r = malloc(sizeof(*r));
	const struct usbip_urb_frame *frame;
	struct vec all = {0}, v;
	const enum vec_id ids[] = {V_CMD_SUBMIT_ISO_OUT, V_CMD_UNLINK,
				   V_CMD_SUBMIT_BULK_OUT, V_CMD_SUBMIT_CTRL_IN};
	size_t pos = 0, got = 0;

	for (size_t i = 0; i < 4; i++) {
		vec_build(ids[i], &v);
		memcpy(all.b + all.len, v.b, v.len);
		all.len += v.len;
	}
	usbip_urb_reader_init(r, USBIP_ROLE_SERVER, 4096, NULL, NULL);
	while (pos < all.len) {
		uint8_t *dst;
		size_t want;
		usbip_urb_reader_next(r, &dst, &want);
		memcpy(dst, all.b + pos, want);
		pos += want;
		int ret = usbip_urb_reader_advance(r, want, &frame, NULL);
		ck_assert_int_ge(ret, 0);
		if (ret == 1) {
			vec_build(ids[got], &v);
			ck_assert_uint_eq(frame->header.seqnum, v.b[7]);
			got++;
		}
	}
	ck_assert_uint_eq(got, 4);
	/* Taking the data hands its buffer over; the reader goes on. */
	uint8_t *taken = usbip_urb_reader_take_data(r);
	ck_assert_ptr_nonnull(taken);
	free(taken);
	usbip_urb_reader_clear(r);
	free(r);
}
END_TEST

/* Payloads the caller places (issue 14 item 5: OUT data read straight
 * into transfer buffers) land there, byte for byte; the others in the
 * reader's own buffer. */
static uint8_t placed_buf[4096];
static unsigned places;

static uint8_t *place_bulk_out(void *ctx, const struct usbip_urb_header *h,
			       size_t len)
{
	(void)ctx;
	places++;
	/* Not iso: no descriptors behind the data. */
	if (h->ep == 0 || h->direction != USBIP_DIR_OUT ||
	    len != h->u.submit.transfer_buffer_length ||
	    len > sizeof(placed_buf))
		return NULL;
	return placed_buf;
}

START_TEST(urb_reader_places_payload)
{
	struct usbip_urb_reader *r = malloc(sizeof(*r));
	const struct usbip_urb_frame *frame;
	const enum vec_id ids[] = {V_CMD_SUBMIT_ISO_OUT, V_CMD_SUBMIT_BULK_OUT,
				   V_CMD_UNLINK};
	struct vec v;

	usbip_urb_reader_init(r, USBIP_ROLE_SERVER, 4096, NULL, NULL);
	usbip_urb_reader_set_place(r, place_bulk_out, NULL);
	places = 0;
	for (size_t i = 0; i < 3; i++) {
		size_t pos = 0;
		int ret = 0;
		vec_build(ids[i], &v);
		memset(placed_buf, 0, sizeof(placed_buf));
		while (ret == 0) {
			uint8_t *dst;
			size_t want;
			usbip_urb_reader_next(r, &dst, &want);
			ck_assert_uint_le(pos + want, v.len);
			memcpy(dst, v.b + pos, want);
			pos += want;
			ret = usbip_urb_reader_advance(r, want, &frame, NULL);
			ck_assert_int_ge(ret, 0);
		}
		ck_assert_uint_eq(pos, v.len);
		bool bulk = ids[i] == V_CMD_SUBMIT_BULK_OUT;
		ck_assert(frame->data_len == 0 ||
			  (frame->data == placed_buf) == bulk);
		if (bulk) {
			ck_assert_uint_gt(frame->data_len, 0);
			ck_assert_mem_eq(placed_buf, v.b + USBIP_URB_HEADER_LEN,
					 frame->data_len);
		}
	}
	/* Asked for the two frames with a payload only. */
	ck_assert_uint_eq(places, 2);
	usbip_urb_reader_clear(r);
	free(r);
}
END_TEST

/* The reader on a real non-blocking socket: the peer writes a few bytes at
 * a time, reads stop at EAGAIN mid-header and mid-payload, and the frames
 * still come out whole. */
START_TEST(urb_reader_nonblocking_socket)
{
	struct usbip_urb_reader *r = malloc(sizeof(*r));
	const struct usbip_urb_frame *frame;
	struct vec v;
	int sv[2], frames = 0, eagain = 0;
	size_t sent = 0;

	ck_assert_int_eq(socketpair(AF_UNIX,
				    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				    0, sv),
			 0);
	vec_build(V_CMD_SUBMIT_ISO_OUT, &v);
	usbip_urb_reader_init(r, USBIP_ROLE_SERVER, 4096, NULL, NULL);
	while (frames == 0) {
		if (sent < v.len) {
			size_t n = v.len - sent < 5 ? v.len - sent : 5;
			ck_assert_int_eq(write(sv[1], v.b + sent, n),
					 (ssize_t)n);
			sent += n;
		}
		for (;;) {
			uint8_t *dst;
			size_t want;
			usbip_urb_reader_next(r, &dst, &want);
			ssize_t got = read(sv[0], dst, want);
			if (got < 0) {
				ck_assert_int_eq(errno, EAGAIN);
				eagain++;
				break;
			}
			int ret = usbip_urb_reader_advance(r, (size_t)got,
							   &frame, NULL);
			ck_assert_int_ge(ret, 0);
			if (ret == 1) {
				frames++;
				break;
			}
		}
	}
	ck_assert_int_gt(eagain, 10);
	ck_assert_uint_eq(frame->data_len, 8);
	ck_assert_uint_eq(frame->num_iso, 2);
	ck_assert_mem_eq(frame->data, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	usbip_urb_reader_clear(r);
	free(r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(usbip_op_code_name(USBIP_OP_REQ_EXPORT),
			 "OP_REQ_EXPORT");
	ck_assert_str_eq(usbip_op_code_name(0x1234), "unknown");
	ck_assert_str_eq(usbip_urb_command_name(USBIP_RET_UNLINK),
			 "RET_UNLINK");
	ck_assert_str_eq(usbip_urb_command_name(77), "unknown");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, op_vectors_decode);
	tcase_add_test(tc, op_vectors_encode);
	tcase_add_test(tc, op_encode_refuses_undecodable);
	tcase_add_test(tc, op_malformed);
	tcase_add_test(tc, urb_vectors);
	tcase_add_test(tc, urb_malformed);
	tcase_add_test(tc, urb_reader_back_to_back);
	tcase_add_test(tc, urb_reader_nonblocking_socket);
	tcase_add_test(tc, urb_reader_places_payload);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
