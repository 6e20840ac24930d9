// SPDX-License-Identifier: GPL-2.0-or-later
#include "validate.h"

#include <string.h>

/* Standard request codes and recipients (USB 2.0 chapter 9). */
enum {
	REQ_CLEAR_FEATURE = 1,
	REQ_SET_FEATURE = 3,
	REQ_SET_ADDRESS = 5,
	REQ_SET_CONFIGURATION = 9,
	REQ_SET_INTERFACE = 11,
	RT_DIR_IN = 0x80,
	RT_TYPE_MASK = 0x60,
	RT_TYPE_STANDARD = 0x00,
	RT_RECIP_MASK = 0x1f,
	RT_RECIP_DEVICE = 0,
	RT_RECIP_INTERFACE = 1,
	RT_RECIP_ENDPOINT = 2,
	/* SET_FEATURE(PORT_RESET) as a hub class request to a port. */
	RT_PORT = 0x23,
	FEATURE_ENDPOINT_HALT = 0,
	FEATURE_PORT_RESET = 4,
};

static const char *const verdict_names[URB_VERDICT_COUNT] = {
	[URB_ACCEPT] = "accepted",
	[URB_REJECT_COMMAND] = "unexpected command",
	[URB_REJECT_DEVID] = "wrong devid",
	[URB_REJECT_SEQNUM] = "seqnum already in flight",
	[URB_REJECT_DIRECTION] = "bad direction",
	[URB_REJECT_ENDPOINT] = "endpoint number out of range",
	[URB_REJECT_NO_ENDPOINT] = "endpoint not in the current setting",
	[URB_REJECT_NOT_CONFIGURED] = "device not configured",
	[URB_REJECT_LENGTH] = "transfer too long",
	[URB_REJECT_PAYLOAD] = "payload size differs from the header",
	[URB_REJECT_PACKETS] = "bad iso packet count",
	[URB_REJECT_ISO_DESCRIPTOR] = "bad iso packet descriptor",
	[URB_REJECT_SETUP] = "setup packet disagrees with the header",
	[URB_REJECT_REQUEST] = "forbidden or impossible request",
	[URB_REJECT_BUSY] = "too much in flight",
};

const char *urb_verdict_name(enum urb_verdict v)
{
	if ((unsigned)v >= URB_VERDICT_COUNT)
		return "unknown verdict";
	return verdict_names[v];
}

void urb_limits_default(struct urb_limits *l)
{
	/* Generous for real class drivers (usb-storage moves at most a few
	 * hundred KiB per URB, audio a few KiB). What the host's usbfs quota
	 * allows is smaller still: urb_limits_for_budget() narrows these. */
	l->max_bulk_length = 4u << 20;
	l->max_interrupt_length = 64u << 10;
	l->max_iso_length = 4u << 20;
	l->max_iso_packets = USBIP_MAX_ISO_PACKETS;
	l->max_urbs_in_flight = 1024;
	l->max_bytes_in_flight = 16u << 20;
	l->usbfs_share = URB_USBFS_SHARE_DEFAULT;
}

static enum urb_verdict reject(struct usbip_fault *fault, enum urb_verdict v,
			       const char *field, uint64_t value);

void urb_limits_for_budget(struct urb_limits *l, uint64_t bytes)
{
	uint64_t longest =
		bytes > URB_USBFS_OVERHEAD ? bytes - URB_USBFS_OVERHEAD : 0;

	l->max_bytes_in_flight = bytes;
	if (l->max_bulk_length > longest)
		l->max_bulk_length = (uint32_t)longest;
	if (l->max_interrupt_length > longest)
		l->max_interrupt_length = (uint32_t)longest;
	if (l->max_iso_length > longest)
		l->max_iso_length = (uint32_t)longest;
}

uint64_t urb_plan_charge(const struct urb_plan *plan)
{
	return (uint64_t)plan->length + URB_USBFS_OVERHEAD +
	       (uint64_t)plan->num_iso * URB_USBFS_ISO_PACKET;
}

/* Refuses a transfer that would take the session past its share of the
 * usbfs quota. */
static enum urb_verdict check_budget(const struct urb_session *s,
				     const struct urb_plan *plan,
				     struct usbip_fault *fault)
{
	uint64_t after = s->bytes_in_flight + urb_plan_charge(plan);

	if (after > s->limits->max_bytes_in_flight)
		return reject(fault, URB_REJECT_BUSY, "bytes in flight", after);
	return URB_ACCEPT;
}

static enum urb_verdict reject(struct usbip_fault *fault, enum urb_verdict v,
			       const char *field, uint64_t value)
{
	usbip_fault_set(fault, 0, field, value, urb_verdict_name(v));
	return v;
}

static uint16_t setup_word(const uint8_t *setup, unsigned offset)
{
	return (uint16_t)(setup[offset] | setup[offset + 1] << 8);
}

/* The endpoint with this address in the current alternate setting of any
 * interface of the current configuration. */
static const struct usb_endpoint_model *
current_endpoint(const struct urb_session *s, uint8_t address)
{
	const struct usb_config_model *c;

	c = usb_model_config(s->model, s->configuration);
	if (!c)
		return NULL;
	for (unsigned i = 0; i < c->num_interfaces; i++) {
		uint8_t number = c->interface_numbers[i];
		const struct usb_altsetting_model *a;
		const struct usb_endpoint_model *ep;

		a = usb_config_altsetting(c, number, s->alt_setting[number]);
		if (!a)
			continue;
		ep = usb_altsetting_endpoint(a, address);
		if (ep)
			return ep;
	}
	return NULL;
}

/* The kernel stub's masking_bogus_flags, reduced to the flags usbfs can
 * act on: short-not-ok for non-iso IN, zero-packet for bulk OUT, ASAP for
 * iso. Everything else is host-controller bookkeeping with no meaning here. */
static uint32_t mask_flags(uint32_t flags, uint8_t type, bool dir_in)
{
	uint32_t allowed = 0;

	switch (type) {
	case USB_TYPE_ISOCHRONOUS:
		allowed = URB_FLAG_ISO_ASAP;
		break;
	case USB_TYPE_BULK:
		allowed = dir_in ? URB_FLAG_SHORT_NOT_OK : URB_FLAG_ZERO_PACKET;
		break;
	default:
		allowed = dir_in ? URB_FLAG_SHORT_NOT_OK : 0;
		break;
	}
	return flags & allowed;
}

/*
 * The standard requests the server carries out itself (or never passes
 * on) are recognised by type and bRequest alone: a request that only
 * looks like SET_CONFIGURATION to the device (direction bit set, another
 * recipient) would otherwise reach it raw and change its state behind the
 * host's back. Each must then have exactly the shape the kernel stub acts
 * on; any other shape is refused, naming the field that differs.
 */
static enum urb_verdict check_shape(const uint8_t *setup, uint8_t want_rt,
				    struct usbip_fault *fault)
{
	if (setup[0] != want_rt)
		return reject(fault, URB_REJECT_REQUEST, "bmRequestType",
			      setup[0]);
	if (setup_word(setup, 6) != 0)
		return reject(fault, URB_REJECT_REQUEST, "wLength",
			      setup_word(setup, 6));
	return URB_ACCEPT;
}

static enum urb_verdict classify_control(const struct urb_session *s,
					 const uint8_t *setup,
					 struct urb_plan *plan,
					 struct usbip_fault *fault)
{
	uint8_t rt = setup[0], req = setup[1];
	uint16_t value = setup_word(setup, 2), index = setup_word(setup, 4);
	const struct usb_config_model *c;
	enum urb_verdict v;

	if (rt == RT_PORT && req == REQ_SET_FEATURE &&
	    value == FEATURE_PORT_RESET) {
		plan->action = URB_ACTION_RESET_DEVICE;
		return URB_ACCEPT;
	}
	if ((rt & RT_TYPE_MASK) != RT_TYPE_STANDARD)
		return URB_ACCEPT;

	switch (req) {
	case REQ_SET_ADDRESS:
		/* The server's host controller owns addressing. */
		return reject(fault, URB_REJECT_REQUEST, "bRequest", req);
	case REQ_SET_CONFIGURATION:
		v = check_shape(setup, RT_RECIP_DEVICE, fault);
		if (v != URB_ACCEPT)
			return v;
		if (index != 0)
			return reject(fault, URB_REJECT_REQUEST, "wIndex",
				      index);
		if (value > 0xff ||
		    (value != 0 && !usb_model_config(s->model, (uint8_t)value)) ||
		    (value != 0 && s->granted_configuration &&
		     value != s->granted_configuration))
			return reject(fault, URB_REJECT_REQUEST,
				      "bConfigurationValue", value);
		plan->action = URB_ACTION_SET_CONFIGURATION;
		plan->value = (uint8_t)value;
		return URB_ACCEPT;
	case REQ_SET_INTERFACE:
		v = check_shape(setup, RT_RECIP_INTERFACE, fault);
		if (v != URB_ACCEPT)
			return v;
		c = usb_model_config(s->model, s->configuration);
		if (!c)
			return reject(fault, URB_REJECT_NOT_CONFIGURED,
				      "bConfigurationValue", s->configuration);
		if (index > 0xff || value > 0xff ||
		    !usb_config_altsetting(c, (uint8_t)index, (uint8_t)value))
			return reject(fault, URB_REJECT_REQUEST,
				      "wIndex/wValue",
				      (uint64_t)index << 16 | value);
		plan->action = URB_ACTION_SET_INTERFACE;
		plan->interface = (uint8_t)index;
		plan->value = (uint8_t)value;
		return URB_ACCEPT;
	case REQ_CLEAR_FEATURE:
		/* To the device (remote wakeup) or an interface (function
		 * suspend) it changes nothing the host tracks and passes
		 * on; to an endpoint it is a halt the host must clear
		 * itself, or its data toggles go wrong. */
		if ((rt & RT_RECIP_MASK) == RT_RECIP_DEVICE ||
		    (rt & RT_RECIP_MASK) == RT_RECIP_INTERFACE)
			return check_shape(setup, rt & RT_RECIP_MASK, fault);
		v = check_shape(setup, RT_RECIP_ENDPOINT, fault);
		if (v != URB_ACCEPT)
			return v;
		if (value != FEATURE_ENDPOINT_HALT)
			return reject(fault, URB_REJECT_REQUEST, "wValue",
				      value);
		if (index > 0xff || ((index & 0x7f) != 0 &&
				     !current_endpoint(s, (uint8_t)index)))
			return reject(fault, URB_REJECT_NO_ENDPOINT, "wIndex",
				      index);
		plan->action = URB_ACTION_CLEAR_HALT;
		plan->endpoint = (uint8_t)index;
		return URB_ACCEPT;
	}
	return URB_ACCEPT;
}

static enum urb_verdict check_iso(const struct urb_session *s,
				  const struct usbip_urb_frame *f,
				  const struct usb_endpoint_model *ep,
				  struct usbip_fault *fault)
{
	uint64_t tbl = f->header.u.submit.transfer_buffer_length;
	uint32_t np = f->header.u.submit.number_of_packets;

	if (np == 0 || np == USBIP_NO_ISO_PACKETS ||
	    np > s->limits->max_iso_packets || np > USBIP_MAX_ISO_PACKETS)
		return reject(fault, URB_REJECT_PACKETS, "number_of_packets",
			      np);
	if (f->num_iso != np)
		return reject(fault, URB_REJECT_PACKETS, "iso descriptors",
			      f->num_iso);
	/* The transfer is the sum of the packets (that is what gets
	 * allocated and moved), so packets that overlap would hold far more
	 * than transfer_buffer_length, which the in-flight cap counts. As the
	 * kernel stub, each packet starts at or after the end of the one
	 * before it, and they all fit in the buffer. */
	uint64_t sum = 0, prev_end = 0;
	for (size_t i = 0; i < f->num_iso; i++) {
		const struct usbip_iso_desc *d = &f->iso[i];
		uint64_t end = (uint64_t)d->offset + d->length;

		if (end > tbl)
			return reject(fault, URB_REJECT_ISO_DESCRIPTOR,
				      "iso offset+length", end);
		if (d->length > ep->max_bytes_per_interval)
			return reject(fault, URB_REJECT_ISO_DESCRIPTOR,
				      "iso length", d->length);
		if (d->offset < prev_end)
			return reject(fault, URB_REJECT_ISO_DESCRIPTOR,
				      "iso offset (overlap)", d->offset);
		prev_end = end;
		sum += d->length;
	}
	if (sum > tbl)
		return reject(fault, URB_REJECT_ISO_DESCRIPTOR,
			      "iso length sum", sum);
	return URB_ACCEPT;
}

static enum urb_verdict validate_submit(const struct urb_session *s,
					const struct usbip_urb_frame *f,
					struct urb_plan *plan,
					struct usbip_fault *fault)
{
	const struct usbip_urb_header *h = &f->header;
	uint32_t tbl = h->u.submit.transfer_buffer_length;
	uint32_t np = h->u.submit.number_of_packets;
	bool dir_in;
	uint32_t cap;

	if (h->direction != USBIP_DIR_OUT && h->direction != USBIP_DIR_IN)
		return reject(fault, URB_REJECT_DIRECTION, "direction",
			      h->direction);
	dir_in = h->direction == USBIP_DIR_IN;
	/* Unlinks are exempt: they are how a client sheds load. */
	if (s->urbs_in_flight >= s->limits->max_urbs_in_flight)
		return reject(fault, URB_REJECT_BUSY, "URBs in flight",
			      s->urbs_in_flight);
	if (h->ep > 15)
		return reject(fault, URB_REJECT_ENDPOINT, "ep", h->ep);
	/* What was read must be exactly what the header announced. */
	if (f->data_len != (dir_in ? 0 : tbl))
		return reject(fault, URB_REJECT_PAYLOAD, "payload",
			      f->data_len);

	plan->action = URB_ACTION_TRANSFER;
	plan->dir_in = dir_in;
	plan->length = tbl;
	plan->endpoint = (uint8_t)(h->ep | (dir_in ? 0x80 : 0));

	if (h->ep == 0) {
		const uint8_t *setup = h->u.submit.setup;
		uint16_t wlength = setup_word(setup, 6);

		plan->type = USB_TYPE_CONTROL;
		if (np != 0 && np != USBIP_NO_ISO_PACKETS)
			return reject(fault, URB_REJECT_PACKETS,
				      "number_of_packets", np);
		if (wlength != tbl)
			return reject(fault, URB_REJECT_SETUP, "wLength",
				      wlength);
		/* A zero-length control transfer has no data stage, so
		 * either direction is harmless (the kernel only warns). */
		if (wlength && !!(setup[0] & RT_DIR_IN) != dir_in)
			return reject(fault, URB_REJECT_SETUP, "bmRequestType",
				      setup[0]);
		plan->transfer_flags = mask_flags(h->u.submit.transfer_flags,
						  USB_TYPE_CONTROL, dir_in);
		enum urb_verdict v = classify_control(s, setup, plan, fault);
		if (v != URB_ACCEPT || plan->action != URB_ACTION_TRANSFER)
			return v;
		/* Up to 64 KiB each: they count like any other. */
		return check_budget(s, plan, fault);
	}

	if (s->configuration == 0)
		return reject(fault, URB_REJECT_NOT_CONFIGURED, "ep", h->ep);
	const struct usb_endpoint_model *ep =
		current_endpoint(s, plan->endpoint);
	if (!ep)
		return reject(fault, URB_REJECT_NO_ENDPOINT, "ep",
			      plan->endpoint);
	plan->type = ep->type;
	plan->transfer_flags =
		mask_flags(h->u.submit.transfer_flags, ep->type, dir_in);

	switch (ep->type) {
	case USB_TYPE_ISOCHRONOUS:
		cap = s->limits->max_iso_length;
		break;
	case USB_TYPE_BULK:
		cap = s->limits->max_bulk_length;
		break;
	default:
		cap = s->limits->max_interrupt_length;
		break;
	}
	if (tbl > cap)
		return reject(fault, URB_REJECT_LENGTH,
			      "transfer_buffer_length", tbl);

	if (ep->type == USB_TYPE_ISOCHRONOUS) {
		enum urb_verdict v = check_iso(s, f, ep, fault);
		if (v != URB_ACCEPT)
			return v;
		plan->num_iso = np;
	} else if (np != 0 && np != USBIP_NO_ISO_PACKETS) {
		return reject(fault, URB_REJECT_PACKETS, "number_of_packets",
			      np);
	}
	return check_budget(s, plan, fault);
}

enum urb_verdict urb_validate(const struct urb_session *s,
			      const struct usbip_urb_frame *f,
			      struct urb_plan *plan, struct usbip_fault *fault)
{
	const struct usbip_urb_header *h = &f->header;

	memset(plan, 0, sizeof(*plan));
	if (h->command != USBIP_CMD_SUBMIT && h->command != USBIP_CMD_UNLINK)
		return reject(fault, URB_REJECT_COMMAND, "command", h->command);
	if (h->devid != s->devid)
		return reject(fault, URB_REJECT_DEVID, "devid", h->devid);
	if (s->seqnum_in_flight && s->seqnum_in_flight(s->opaque, h->seqnum))
		return reject(fault, URB_REJECT_SEQNUM, "seqnum", h->seqnum);

	if (h->command == USBIP_CMD_UNLINK) {
		/* An unknown target is legal: it may have completed already,
		 * and the reply is then RET_UNLINK with status 0. */
		plan->action = URB_ACTION_UNLINK;
		plan->unlink_seqnum = h->u.unlink.seqnum;
		return URB_ACCEPT;
	}
	return validate_submit(s, f, plan, fault);
}
