// SPDX-License-Identifier: GPL-2.0-or-later
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int usbip_fault_set(struct usbip_fault *fault, int err, const char *field,
		    uint64_t value, const char *reason)
{
	if (fault) {
		fault->field = field;
		fault->value = value;
		fault->reason = reason;
	}
	return err;
}

const char *usbip_op_code_name(uint16_t code)
{
	switch (code) {
	case USBIP_OP_REQ_IMPORT:
		return "OP_REQ_IMPORT";
	case USBIP_OP_REP_IMPORT:
		return "OP_REP_IMPORT";
	case USBIP_OP_REQ_DEVLIST:
		return "OP_REQ_DEVLIST";
	case USBIP_OP_REP_DEVLIST:
		return "OP_REP_DEVLIST";
	case USBIP_OP_REQ_EXPORT:
		return "OP_REQ_EXPORT";
	case USBIP_OP_REP_EXPORT:
		return "OP_REP_EXPORT";
	case USBIP_OP_REQ_UNEXPORT:
		return "OP_REQ_UNEXPORT";
	case USBIP_OP_REP_UNEXPORT:
		return "OP_REP_UNEXPORT";
	}
	return "unknown";
}

const char *usbip_urb_command_name(uint32_t command)
{
	switch (command) {
	case USBIP_CMD_SUBMIT:
		return "CMD_SUBMIT";
	case USBIP_CMD_UNLINK:
		return "CMD_UNLINK";
	case USBIP_RET_SUBMIT:
		return "RET_SUBMIT";
	case USBIP_RET_UNLINK:
		return "RET_UNLINK";
	}
	return "unknown";
}

/* ---- op messages ------------------------------------------------------ */

static bool terminated(const uint8_t *field, size_t len)
{
	return memchr(field, '\0', len) != NULL;
}

static bool op_code_known(uint16_t code)
{
	switch (code) {
	case USBIP_OP_REQ_IMPORT:
	case USBIP_OP_REP_IMPORT:
	case USBIP_OP_REQ_DEVLIST:
	case USBIP_OP_REP_DEVLIST:
	case USBIP_OP_REQ_EXPORT:
	case USBIP_OP_REP_EXPORT:
	case USBIP_OP_REQ_UNEXPORT:
	case USBIP_OP_REP_UNEXPORT:
		return true;
	}
	return false;
}

/* The header itself: version and a known code. */
static int check_op_header(const uint8_t *buf, struct usbip_op_header *h,
			   struct usbip_fault *fault)
{
	h->version = get_be16(buf);
	h->code = get_be16(buf + 2);
	h->status = get_be32(buf + 4);

	if (h->version != USBIP_VERSION)
		return usbip_fault_set(fault, -EPROTO, "version", h->version,
				       "unsupported protocol version");
	if (!op_code_known(h->code))
		return usbip_fault_set(fault, -EBADMSG, "code", h->code,
				       "unknown op code");
	/* Requests carry no status; every known client sends 0. */
	if ((h->code & 0x8000) && h->status != 0)
		return usbip_fault_set(fault, -EBADMSG, "status", h->status,
				       "request with nonzero status");
	return 0;
}

static int decode_device(const uint8_t *p, struct usbip_device_info *d,
			 struct usbip_fault *fault)
{
	if (!terminated(p, USBIP_PATH_LEN))
		return usbip_fault_set(fault, -EBADMSG, "path", USBIP_PATH_LEN,
				       "not NUL-terminated");
	if (!terminated(p + 256, USBIP_BUSID_LEN))
		return usbip_fault_set(fault, -EBADMSG, "busid",
				       USBIP_BUSID_LEN, "not NUL-terminated");
	if (p[256] == '\0')
		return usbip_fault_set(fault, -EBADMSG, "busid", 0, "empty");

	memcpy(d->path, p, USBIP_PATH_LEN);
	memcpy(d->busid, p + 256, USBIP_BUSID_LEN);
	d->busnum = get_be32(p + 288);
	d->devnum = get_be32(p + 292);
	d->speed = get_be32(p + 296);
	d->id_vendor = get_be16(p + 300);
	d->id_product = get_be16(p + 302);
	d->bcd_device = get_be16(p + 304);
	d->device_class = p[306];
	d->device_subclass = p[307];
	d->device_protocol = p[308];
	d->configuration_value = p[309];
	d->num_configurations = p[310];
	d->num_interfaces = p[311];

	if (d->speed < USBIP_SPEED_LOW || d->speed > USBIP_SPEED_SUPER_PLUS)
		return usbip_fault_set(fault, -EBADMSG, "speed", d->speed,
				       "unknown speed");
	/* devid = busnum << 16 | devnum must be lossless. */
	if (d->busnum > 0xffff || d->devnum > 0xffff)
		return usbip_fault_set(fault, -EBADMSG,
				       d->busnum > 0xffff ? "busnum" : "devnum",
				       d->busnum > 0xffff ? d->busnum
							  : d->devnum,
				       "does not fit a devid");
	if (d->num_interfaces > USBIP_MAX_INTERFACES)
		return usbip_fault_set(fault, -EMSGSIZE, "bNumInterfaces",
				       d->num_interfaces,
				       "more than 32 interfaces");
	return 0;
}

static void encode_device(uint8_t *p, const struct usbip_device_info *d)
{
	memcpy(p, d->path, USBIP_PATH_LEN);
	memcpy(p + 256, d->busid, USBIP_BUSID_LEN);
	put_be32(p + 288, d->busnum);
	put_be32(p + 292, d->devnum);
	put_be32(p + 296, d->speed);
	put_be16(p + 300, d->id_vendor);
	put_be16(p + 302, d->id_product);
	put_be16(p + 304, d->bcd_device);
	p[306] = d->device_class;
	p[307] = d->device_subclass;
	p[308] = d->device_protocol;
	p[309] = d->configuration_value;
	p[310] = d->num_configurations;
	p[311] = d->num_interfaces;
}

int usbip_op_frame_length(const uint8_t *buf, size_t have, size_t *need,
			  struct usbip_fault *fault)
{
	struct usbip_op_header h;
	int r;

	if (have < USBIP_OP_HEADER_LEN) {
		*need = USBIP_OP_HEADER_LEN;
		return 0;
	}
	r = check_op_header(buf, &h, fault);
	if (r < 0)
		return r;

	switch (h.code) {
	case USBIP_OP_REQ_DEVLIST:
		*need = USBIP_OP_HEADER_LEN;
		return 0;
	case USBIP_OP_REQ_IMPORT:
		*need = USBIP_OP_HEADER_LEN + USBIP_BUSID_LEN;
		return 0;
	case USBIP_OP_REP_IMPORT:
		*need = USBIP_OP_HEADER_LEN + (h.status ? 0 : USBIP_DEVICE_LEN);
		return 0;
	case USBIP_OP_REQ_EXPORT:
	case USBIP_OP_REQ_UNEXPORT:
		*need = USBIP_OP_HEADER_LEN + USBIP_DEVICE_LEN;
		return 0;
	case USBIP_OP_REP_EXPORT:
	case USBIP_OP_REP_UNEXPORT:
		*need = USBIP_OP_HEADER_LEN + 4;
		return 0;
	case USBIP_OP_REP_DEVLIST:
		break;
	}

	/* DEVLIST reply: walk device by device, each adding its interfaces. */
	if (h.status) {
		*need = USBIP_OP_HEADER_LEN;
		return 0;
	}
	size_t pos = USBIP_OP_HEADER_LEN + 4;
	if (have < pos) {
		*need = pos;
		return 0;
	}
	uint32_t ndev = get_be32(buf + USBIP_OP_HEADER_LEN);
	if (ndev > USBIP_MAX_DEVLIST)
		return usbip_fault_set(fault, -EMSGSIZE, "ndev", ndev,
				       "device list too long");
	for (uint32_t i = 0; i < ndev; i++) {
		if (have < pos + USBIP_DEVICE_LEN) {
			*need = pos + USBIP_DEVICE_LEN;
			return 0;
		}
		uint8_t nif = buf[pos + USBIP_DEVICE_LEN - 1];
		if (nif > USBIP_MAX_INTERFACES)
			return usbip_fault_set(fault, -EMSGSIZE,
					       "bNumInterfaces", nif,
					       "more than 32 interfaces");
		pos += USBIP_DEVICE_LEN + (size_t)nif * USBIP_INTERFACE_LEN;
	}
	*need = pos;
	return 0;
}

void usbip_op_message_clear(struct usbip_op_message *m)
{
	free(m->devices);
	memset(m, 0, sizeof(*m));
}

int usbip_op_decode(const uint8_t *buf, size_t len,
		    struct usbip_op_message *out, struct usbip_fault *fault)
{
	size_t need;
	int r;

	memset(out, 0, sizeof(*out));
	/* With every byte present the frame length is final: it must be len. */
	r = usbip_op_frame_length(buf, len, &need, fault);
	if (r < 0)
		return r;
	if (need > len)
		return usbip_fault_set(fault, -EBADMSG, "length", len,
				       "message truncated");
	if (need < len)
		return usbip_fault_set(fault, -EBADMSG, "length", len,
				       "trailing bytes after message");

	check_op_header(buf, &out->header, NULL);
	const uint8_t *body = buf + USBIP_OP_HEADER_LEN;

	switch (out->header.code) {
	case USBIP_OP_REQ_DEVLIST:
		return 0;
	case USBIP_OP_REQ_IMPORT:
		if (!terminated(body, USBIP_BUSID_LEN))
			return usbip_fault_set(fault, -EBADMSG, "busid",
					       USBIP_BUSID_LEN,
					       "not NUL-terminated");
		if (body[0] == '\0')
			return usbip_fault_set(fault, -EBADMSG, "busid", 0,
					       "empty");
		memcpy(out->busid, body, USBIP_BUSID_LEN);
		return 0;
	case USBIP_OP_REP_IMPORT:
		if (out->header.status)
			return 0;
		return decode_device(body, &out->device, fault);
	case USBIP_OP_REQ_EXPORT:
	case USBIP_OP_REQ_UNEXPORT:
		return decode_device(body, &out->device, fault);
	case USBIP_OP_REP_EXPORT:
	case USBIP_OP_REP_UNEXPORT:
		out->returncode = (int32_t)get_be32(body);
		return 0;
	case USBIP_OP_REP_DEVLIST:
		break;
	}

	if (out->header.status)
		return 0;
	out->num_devices = get_be32(body);
	if (out->num_devices == 0)
		return 0;
	out->devices = calloc(out->num_devices, sizeof(*out->devices));
	if (!out->devices)
		return -ENOMEM;
	const uint8_t *p = body + 4;
	for (uint32_t i = 0; i < out->num_devices; i++) {
		struct usbip_devlist_entry *e = &out->devices[i];
		r = decode_device(p, &e->device, fault);
		if (r < 0) {
			usbip_op_message_clear(out);
			return r;
		}
		p += USBIP_DEVICE_LEN;
		for (unsigned j = 0; j < e->device.num_interfaces; j++) {
			e->interfaces[j].interface_class = p[0];
			e->interfaces[j].interface_subclass = p[1];
			e->interfaces[j].interface_protocol = p[2];
			p += USBIP_INTERFACE_LEN;
		}
	}
	return 0;
}

static bool device_encodable(const struct usbip_device_info *d)
{
	return terminated((const uint8_t *)d->path, USBIP_PATH_LEN) &&
	       terminated((const uint8_t *)d->busid, USBIP_BUSID_LEN) &&
	       d->busid[0] && d->num_interfaces <= USBIP_MAX_INTERFACES;
}

long usbip_op_encode(const struct usbip_op_message *m, uint8_t *buf, size_t cap)
{
	const struct usbip_op_header *h = &m->header;
	size_t len = USBIP_OP_HEADER_LEN;

	switch (h->code) {
	case USBIP_OP_REQ_DEVLIST:
		break;
	case USBIP_OP_REQ_IMPORT:
		if (!terminated((const uint8_t *)m->busid, USBIP_BUSID_LEN) ||
		    !m->busid[0])
			return -EINVAL;
		len += USBIP_BUSID_LEN;
		break;
	case USBIP_OP_REP_IMPORT:
		if (h->status)
			break;
		_fallthrough_;
	case USBIP_OP_REQ_EXPORT:
	case USBIP_OP_REQ_UNEXPORT:
		if (!device_encodable(&m->device))
			return -EINVAL;
		len += USBIP_DEVICE_LEN;
		break;
	case USBIP_OP_REP_EXPORT:
	case USBIP_OP_REP_UNEXPORT:
		len += 4;
		break;
	case USBIP_OP_REP_DEVLIST:
		if (h->status)
			break;
		if (m->num_devices > USBIP_MAX_DEVLIST)
			return -EINVAL;
		len += 4;
		for (uint32_t i = 0; i < m->num_devices; i++) {
			if (!device_encodable(&m->devices[i].device))
				return -EINVAL;
			len += USBIP_DEVICE_LEN +
			       (size_t)m->devices[i].device.num_interfaces *
				       USBIP_INTERFACE_LEN;
		}
		break;
	default:
		return -EINVAL;
	}
	if ((h->code & 0x8000) && h->status)
		return -EINVAL;
	if (!buf)
		return (long)len;
	if (cap < len)
		return -EMSGSIZE;

	put_be16(buf, USBIP_VERSION);
	put_be16(buf + 2, h->code);
	put_be32(buf + 4, h->status);
	uint8_t *p = buf + USBIP_OP_HEADER_LEN;

	switch (h->code) {
	case USBIP_OP_REQ_IMPORT:
		memcpy(p, m->busid, USBIP_BUSID_LEN);
		break;
	case USBIP_OP_REP_IMPORT:
	case USBIP_OP_REQ_EXPORT:
	case USBIP_OP_REQ_UNEXPORT:
		if (len > USBIP_OP_HEADER_LEN)
			encode_device(p, &m->device);
		break;
	case USBIP_OP_REP_EXPORT:
	case USBIP_OP_REP_UNEXPORT:
		put_be32(p, (uint32_t)m->returncode);
		break;
	case USBIP_OP_REP_DEVLIST:
		if (h->status)
			break;
		put_be32(p, m->num_devices);
		p += 4;
		for (uint32_t i = 0; i < m->num_devices; i++) {
			const struct usbip_devlist_entry *e = &m->devices[i];
			encode_device(p, &e->device);
			p += USBIP_DEVICE_LEN;
			for (unsigned j = 0; j < e->device.num_interfaces;
			     j++) {
				p[0] = e->interfaces[j].interface_class;
				p[1] = e->interfaces[j].interface_subclass;
				p[2] = e->interfaces[j].interface_protocol;
				p[3] = 0;
				p += USBIP_INTERFACE_LEN;
			}
		}
		break;
	}
	return (long)len;
}

void usbip_op_reader_init(struct usbip_op_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->need = USBIP_OP_HEADER_LEN;
}

void usbip_op_reader_clear(struct usbip_op_reader *r)
{
	free(r->buf);
	usbip_op_reader_init(r);
}

int usbip_op_reader_next(struct usbip_op_reader *r, uint8_t **dst, size_t *len)
{
	if (r->cap < r->need) {
		uint8_t *nb = realloc(r->buf, r->need);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = r->need;
	}
	*dst = r->buf + r->have;
	*len = r->need - r->have;
	return 0;
}

int usbip_op_reader_advance(struct usbip_op_reader *r, size_t n,
			    struct usbip_op_message *out,
			    struct usbip_fault *fault)
{
	int ret;

	if (n > r->need - r->have)
		return -EINVAL;
	r->have += n;
	if (r->have < r->need)
		return 0;

	ret = usbip_op_frame_length(r->buf, r->have, &r->need, fault);
	if (ret < 0)
		return ret;
	if (r->need > r->have)
		return 0;

	ret = usbip_op_decode(r->buf, r->have, out, fault);
	r->have = 0;
	r->need = USBIP_OP_HEADER_LEN;
	return ret < 0 ? ret : 1;
}

/* ---- URB messages ----------------------------------------------------- */

void usbip_urb_header_pack(const struct usbip_urb_header *h,
			   uint8_t out[USBIP_URB_HEADER_LEN])
{
	memset(out, 0, USBIP_URB_HEADER_LEN);
	put_be32(out, h->command);
	put_be32(out + 4, h->seqnum);
	put_be32(out + 8, h->devid);
	put_be32(out + 12, h->direction);
	put_be32(out + 16, h->ep);

	uint8_t *p = out + 20;
	switch (h->command) {
	case USBIP_CMD_SUBMIT:
		put_be32(p, h->u.submit.transfer_flags);
		put_be32(p + 4, h->u.submit.transfer_buffer_length);
		put_be32(p + 8, (uint32_t)h->u.submit.start_frame);
		put_be32(p + 12, h->u.submit.number_of_packets);
		put_be32(p + 16, (uint32_t)h->u.submit.interval);
		memcpy(p + 20, h->u.submit.setup, 8);
		break;
	case USBIP_RET_SUBMIT:
		put_be32(p, (uint32_t)h->u.ret_submit.status);
		put_be32(p + 4, h->u.ret_submit.actual_length);
		put_be32(p + 8, (uint32_t)h->u.ret_submit.start_frame);
		put_be32(p + 12, h->u.ret_submit.number_of_packets);
		put_be32(p + 16, (uint32_t)h->u.ret_submit.error_count);
		break;
	case USBIP_CMD_UNLINK:
		put_be32(p, h->u.unlink.seqnum);
		break;
	case USBIP_RET_UNLINK:
		put_be32(p, (uint32_t)h->u.ret_unlink.status);
		break;
	}
}

int usbip_urb_header_unpack(const uint8_t in[USBIP_URB_HEADER_LEN],
			    struct usbip_urb_header *h,
			    struct usbip_fault *fault)
{
	memset(h, 0, sizeof(*h));
	h->command = get_be32(in);
	h->seqnum = get_be32(in + 4);
	h->devid = get_be32(in + 8);
	h->direction = get_be32(in + 12);
	h->ep = get_be32(in + 16);

	const uint8_t *p = in + 20;
	switch (h->command) {
	case USBIP_CMD_SUBMIT:
		h->u.submit.transfer_flags = get_be32(p);
		h->u.submit.transfer_buffer_length = get_be32(p + 4);
		h->u.submit.start_frame = (int32_t)get_be32(p + 8);
		h->u.submit.number_of_packets = get_be32(p + 12);
		h->u.submit.interval = (int32_t)get_be32(p + 16);
		memcpy(h->u.submit.setup, p + 20, 8);
		return 0;
	case USBIP_RET_SUBMIT:
		h->u.ret_submit.status = (int32_t)get_be32(p);
		h->u.ret_submit.actual_length = get_be32(p + 4);
		h->u.ret_submit.start_frame = (int32_t)get_be32(p + 8);
		h->u.ret_submit.number_of_packets = get_be32(p + 12);
		h->u.ret_submit.error_count = (int32_t)get_be32(p + 16);
		return 0;
	case USBIP_CMD_UNLINK:
		h->u.unlink.seqnum = get_be32(p);
		return 0;
	case USBIP_RET_UNLINK:
		h->u.ret_unlink.status = (int32_t)get_be32(p);
		return 0;
	}
	return usbip_fault_set(fault, -EBADMSG, "command", h->command,
			       "unknown URB command");
}

void usbip_iso_desc_pack(const struct usbip_iso_desc *d,
			 uint8_t out[USBIP_ISO_DESC_LEN])
{
	put_be32(out, d->offset);
	put_be32(out + 4, d->length);
	put_be32(out + 8, d->actual_length);
	put_be32(out + 12, (uint32_t)d->status);
}

void usbip_iso_desc_unpack(const uint8_t in[USBIP_ISO_DESC_LEN],
			   struct usbip_iso_desc *d)
{
	d->offset = get_be32(in);
	d->length = get_be32(in + 4);
	d->actual_length = get_be32(in + 8);
	d->status = (int32_t)get_be32(in + 12);
}

int usbip_iso_count(uint32_t number_of_packets, struct usbip_fault *fault)
{
	if (number_of_packets == 0 || number_of_packets == USBIP_NO_ISO_PACKETS)
		return 0;
	if (number_of_packets > USBIP_MAX_ISO_PACKETS)
		return usbip_fault_set(fault, -EBADMSG, "number_of_packets",
				       number_of_packets,
				       "more than 1024 iso packets");
	return (int)number_of_packets;
}

void usbip_urb_reader_init(struct usbip_urb_reader *r, enum usbip_urb_role role,
			   size_t max_data,
			   usbip_ret_direction_fn ret_direction, void *opaque)
{
	memset(r, 0, sizeof(*r));
	r->role = role;
	r->max_data = max_data;
	r->ret_direction = ret_direction;
	r->opaque = opaque;
}

void usbip_urb_reader_clear(struct usbip_urb_reader *r)
{
	free(r->payload);
	r->payload = NULL;
	r->payload_cap = 0;
	r->placed = NULL;
	r->have = 0;
	r->payload_len = 0;
}

void usbip_urb_reader_set_place(struct usbip_urb_reader *r,
				usbip_payload_place_fn place, void *ctx)
{
	r->place = place;
	r->place_ctx = ctx;
}

uint8_t *usbip_urb_reader_take_data(struct usbip_urb_reader *r)
{
	uint8_t *p = r->payload;

	r->payload = NULL;
	r->payload_cap = 0;
	return p;
}

void usbip_urb_reader_next(struct usbip_urb_reader *r, uint8_t **dst,
			   size_t *len)
{
	if (r->have < USBIP_URB_HEADER_LEN) {
		*dst = r->raw_header + r->have;
		*len = USBIP_URB_HEADER_LEN - r->have;
	} else {
		size_t off = r->have - USBIP_URB_HEADER_LEN;
		*dst = (r->placed ? r->placed : r->payload) + off;
		*len = r->payload_len - off;
	}
}

/* Sizes the payload that follows a complete header. */
static int plan_payload(struct usbip_urb_reader *r, struct usbip_fault *fault)
{
	struct usbip_urb_header *h = &r->frame.header;
	uint32_t np;
	size_t data_len = 0;
	int dir_in, num_iso, ret;

	ret = usbip_urb_header_unpack(r->raw_header, h, fault);
	if (ret < 0)
		return ret;

	switch (h->command) {
	case USBIP_CMD_SUBMIT:
		if (r->role != USBIP_ROLE_SERVER)
			break;
		/* The length of what follows depends on it: check it here. */
		if (h->direction != USBIP_DIR_OUT &&
		    h->direction != USBIP_DIR_IN)
			return usbip_fault_set(fault, -EBADMSG, "direction",
					       h->direction,
					       "neither IN nor OUT");
		if (h->direction == USBIP_DIR_OUT)
			data_len = h->u.submit.transfer_buffer_length;
		np = h->u.submit.number_of_packets;
		goto sized;
	case USBIP_RET_SUBMIT:
		if (r->role != USBIP_ROLE_CLIENT)
			break;
		dir_in = r->ret_direction
				 ? r->ret_direction(r->opaque, h->seqnum)
				 : (int)(h->direction == USBIP_DIR_IN);
		if (dir_in < 0)
			return usbip_fault_set(fault, -EBADMSG, "seqnum",
					       h->seqnum,
					       "reply to a request never sent");
		if (dir_in)
			data_len = h->u.ret_submit.actual_length;
		np = h->u.ret_submit.number_of_packets;
		goto sized;
	case USBIP_CMD_UNLINK:
		if (r->role != USBIP_ROLE_SERVER)
			break;
		np = 0;
		goto sized;
	case USBIP_RET_UNLINK:
		if (r->role != USBIP_ROLE_CLIENT)
			break;
		np = 0;
		goto sized;
	}
	return usbip_fault_set(fault, -EBADMSG, "command", h->command,
			       "command not valid in this direction");

sized:
	if (data_len > r->max_data)
		return usbip_fault_set(fault, -EMSGSIZE,
				       h->command == USBIP_CMD_SUBMIT
					       ? "transfer_buffer_length"
					       : "actual_length",
				       data_len, "data stage over the limit");
	num_iso = usbip_iso_count(np, fault);
	if (num_iso < 0)
		return num_iso;

	r->frame.data_len = data_len;
	r->frame.num_iso = (size_t)num_iso;
	r->payload_len = data_len + (size_t)num_iso * USBIP_ISO_DESC_LEN;
	r->placed = r->place && r->payload_len
			    ? r->place(r->place_ctx, h, r->payload_len)
			    : NULL;
	if (!r->placed && r->payload_len > r->payload_cap) {
		uint8_t *nb = realloc(r->payload, r->payload_len);
		if (!nb)
			return -ENOMEM;
		r->payload = nb;
		r->payload_cap = r->payload_len;
	}
	return 0;
}

int usbip_urb_reader_advance(struct usbip_urb_reader *r, size_t n,
			     const struct usbip_urb_frame **frame,
			     struct usbip_fault *fault)
{
	size_t want =
		r->have < USBIP_URB_HEADER_LEN
			? USBIP_URB_HEADER_LEN - r->have
			: r->payload_len - (r->have - USBIP_URB_HEADER_LEN);
	int ret;

	if (n > want)
		return -EINVAL;
	r->have += n;
	if (r->have < USBIP_URB_HEADER_LEN)
		return 0;
	if (r->have == USBIP_URB_HEADER_LEN && n > 0) {
		ret = plan_payload(r, fault);
		if (ret < 0) {
			r->have = 0;
			return ret;
		}
	}
	if (r->have < USBIP_URB_HEADER_LEN + r->payload_len)
		return 0;

	uint8_t *payload = r->placed ? r->placed : r->payload;
	r->frame.data = r->frame.data_len ? payload : NULL;
	const uint8_t *iso = payload + r->frame.data_len;
	for (size_t i = 0; i < r->frame.num_iso; i++)
		usbip_iso_desc_unpack(iso + i * USBIP_ISO_DESC_LEN, &r->iso[i]);
	r->frame.iso = r->frame.num_iso ? r->iso : NULL;
	r->have = 0;
	r->payload_len = 0;
	*frame = &r->frame;
	return 1;
}
