// SPDX-License-Identifier: GPL-2.0-or-later
#include "usb_model.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"

enum {
	DT_DEVICE = 1,
	DT_CONFIG = 2,
	DT_INTERFACE = 4,
	DT_ENDPOINT = 5,
	DT_SS_ENDPOINT_COMPANION = 0x30,
	DEVICE_DESC_LEN = 18,
	CONFIG_DESC_LEN = 9,
	INTERFACE_DESC_LEN = 9,
	ENDPOINT_DESC_LEN = 7,
	SS_COMPANION_DESC_LEN = 6,
};

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

void usb_model_clear(struct usb_device_model *m)
{
	for (size_t i = 0; i < m->num_configs; i++)
		free(m->configs[i].altsettings);
	memset(m, 0, sizeof(*m));
}

/* The largest payload one service interval can carry, from the spec.
 * Out-of-range burst and mult values are clamped the way the kernel's
 * usb_parse_ss_endpoint_companion() clamps them: the device works with the
 * clamped values on a local host, so it must not be refused here. */
static void derive_bandwidth(struct usb_endpoint_model *ep, uint16_t raw_maxp,
			     const uint8_t *companion)
{
	unsigned hs_extra = (raw_maxp >> 11) & 3;

	ep->max_packet = raw_maxp & 0x7ff;
	ep->mult = (uint8_t)((hs_extra > 2 ? 2 : hs_extra) + 1);
	ep->max_burst = 1;
	if (companion) {
		/* SuperSpeed: burst and, for iso, Mult in the companion. */
		unsigned burst = companion[2], ss_mult = companion[3] & 3;
		ep->max_burst = (uint8_t)((burst > 15 ? 15 : burst) + 1);
		ep->mult = ep->type == USB_TYPE_ISOCHRONOUS
				   ? (uint8_t)((ss_mult > 2 ? 2 : ss_mult) + 1)
				   : 1;
	}
	ep->max_bytes_per_interval =
		(uint32_t)ep->max_packet * ep->mult * ep->max_burst;
}

static int add_endpoint(struct usb_altsetting_model *alt, const uint8_t *d,
			const uint8_t *companion, struct usbip_fault *fault)
{
	uint8_t address = d[2];
	struct usb_endpoint_model *ep;

	if ((address & 0x0f) == 0 || (address & 0x70))
		return usbip_fault_set(fault, -EBADMSG, "bEndpointAddress",
				       address,
				       "not a valid non-control endpoint");
	if (usb_altsetting_endpoint(alt, address))
		return usbip_fault_set(
			fault, -EBADMSG, "bEndpointAddress", address,
			"duplicate endpoint in one alternate setting");
	if (alt->num_endpoints >= USB_MODEL_MAX_ENDPOINTS)
		return usbip_fault_set(fault, -EMSGSIZE, "bNumEndpoints",
				       alt->num_endpoints,
				       "more than 30 endpoints");

	ep = &alt->endpoints[alt->num_endpoints++];
	ep->address = address;
	ep->attributes = d[3];
	ep->type = d[3] & 3;
	ep->interval = d[6];
	if (ep->type == USB_TYPE_CONTROL)
		return usbip_fault_set(fault, -EBADMSG, "bmAttributes", d[3],
				       "control endpoint other than ep0");
	derive_bandwidth(ep, get_le16(d + 4), companion);
	return 0;
}

static bool config_has_interface(const struct usb_config_model *c,
				 uint8_t number)
{
	return memchr(c->interface_numbers, number, c->num_interfaces) != NULL;
}

/* One configuration: the config descriptor and everything wTotalLength
 * covers. *used is how many bytes of raw it took. */
static int parse_config(const uint8_t *raw, size_t len, size_t *used,
			struct usb_config_model *c, struct usbip_fault *fault)
{
	size_t total, pos;
	struct usb_altsetting_model *alt = NULL;

	if (len < CONFIG_DESC_LEN)
		return usbip_fault_set(fault, -EBADMSG, "configuration", len,
				       "truncated configuration descriptor");
	if (raw[1] != DT_CONFIG)
		return usbip_fault_set(fault, -EBADMSG, "bDescriptorType",
				       raw[1],
				       "expected a configuration descriptor");
	if (raw[0] < CONFIG_DESC_LEN)
		return usbip_fault_set(fault, -EBADMSG, "bLength", raw[0],
				       "configuration descriptor too short");
	total = get_le16(raw + 2);
	if (total < raw[0])
		return usbip_fault_set(
			fault, -EBADMSG, "wTotalLength", total,
			"shorter than the configuration descriptor");
	if (total > len)
		return usbip_fault_set(fault, -EBADMSG, "wTotalLength", total,
				       "runs past the descriptors read");

	c->value = raw[5];
	c->attributes = raw[7];
	c->max_power = raw[8];
	if (raw[4] > USB_MODEL_MAX_INTERFACES)
		return usbip_fault_set(fault, -EMSGSIZE, "bNumInterfaces",
				       raw[4], "more than 32 interfaces");

	for (pos = raw[0]; pos < total;) {
		const uint8_t *d = raw + pos;
		size_t dlen;

		if (total - pos < 2)
			return usbip_fault_set(fault, -EBADMSG, "bLength",
					       total - pos,
					       "descriptor header truncated");
		dlen = d[0];
		if (dlen < 2)
			return usbip_fault_set(
				fault, -EBADMSG, "bLength", dlen,
				"descriptor shorter than its header");
		if (dlen > total - pos)
			return usbip_fault_set(
				fault, -EBADMSG, "bLength", dlen,
				"descriptor runs past wTotalLength");

		switch (d[1]) {
		case DT_INTERFACE: {
			if (dlen < INTERFACE_DESC_LEN)
				return usbip_fault_set(
					fault, -EBADMSG, "bLength", dlen,
					"interface descriptor too short");
			if (usb_config_altsetting(c, d[2], d[3]))
				return usbip_fault_set(
					fault, -EBADMSG, "bAlternateSetting",
					d[3], "duplicate alternate setting");
			if (!config_has_interface(c, d[2])) {
				if (c->num_interfaces >=
				    USB_MODEL_MAX_INTERFACES)
					return usbip_fault_set(
						fault, -EMSGSIZE,
						"bInterfaceNumber", d[2],
						"more than 32 interfaces");
				c->interface_numbers[c->num_interfaces++] =
					d[2];
			}
			if (c->num_altsettings >= USB_MODEL_MAX_ALTSETTINGS)
				return usbip_fault_set(
					fault, -EMSGSIZE, "bAlternateSetting",
					c->num_altsettings,
					"too many alternate settings");
			struct usb_altsetting_model *n =
				realloc(c->altsettings,
					(c->num_altsettings + 1) * sizeof(*n));
			if (!n)
				return -ENOMEM;
			c->altsettings = n;
			alt = &n[c->num_altsettings++];
			memset(alt, 0, sizeof(*alt));
			alt->interface_number = d[2];
			alt->alternate_setting = d[3];
			alt->interface_class = d[5];
			alt->interface_subclass = d[6];
			alt->interface_protocol = d[7];
			break;
		}
		case DT_ENDPOINT: {
			const uint8_t *companion = NULL;
			int r;

			if (dlen < ENDPOINT_DESC_LEN)
				return usbip_fault_set(
					fault, -EBADMSG, "bLength", dlen,
					"endpoint descriptor too short");
			if (!alt)
				return usbip_fault_set(
					fault, -EBADMSG, "bEndpointAddress",
					d[2], "endpoint outside any interface");
			/* A SuperSpeed companion, if any, follows at once. */
			if (total - pos - dlen >= 2 &&
			    d[dlen + 1] == DT_SS_ENDPOINT_COMPANION) {
				const uint8_t *cd = d + dlen;
				if (cd[0] < SS_COMPANION_DESC_LEN ||
				    cd[0] > total - pos - dlen)
					return usbip_fault_set(
						fault, -EBADMSG, "bLength",
						cd[0],
						"bad SuperSpeed companion");
				companion = cd;
			}
			r = add_endpoint(alt, d, companion, fault);
			if (r < 0)
				return r;
			break;
		}
		case DT_CONFIG:
		case DT_DEVICE:
			return usbip_fault_set(
				fault, -EBADMSG, "bDescriptorType", d[1],
				"device or configuration descriptor "
				"inside a configuration");
		default:
			/* Class-specific and association descriptors carry
			 * nothing the validator needs. */
			break;
		}
		pos += dlen;
	}
	*used = total;
	return 0;
}

int usb_model_parse(const uint8_t *raw, size_t len, struct usb_device_model *m,
		    struct usbip_fault *fault)
{
	size_t pos;
	int r;

	memset(m, 0, sizeof(*m));
	if (len < DEVICE_DESC_LEN)
		return usbip_fault_set(fault, -EBADMSG, "device", len,
				       "truncated device descriptor");
	if (raw[0] != DEVICE_DESC_LEN || raw[1] != DT_DEVICE)
		return usbip_fault_set(fault, -EBADMSG, "bLength", raw[0],
				       "not a device descriptor");

	m->bcd_usb = get_le16(raw + 2);
	m->device_class = raw[4];
	m->device_subclass = raw[5];
	m->device_protocol = raw[6];
	m->max_packet0 = raw[7];
	m->id_vendor = get_le16(raw + 8);
	m->id_product = get_le16(raw + 10);
	m->bcd_device = get_le16(raw + 12);
	m->num_configurations = raw[17];
	if (m->num_configurations == 0)
		return usbip_fault_set(fault, -EBADMSG, "bNumConfigurations", 0,
				       "device without a configuration");

	/* The kernel reads at most USB_MAXCONFIG configurations. */
	size_t want = m->num_configurations < USB_MODEL_MAX_CONFIGS
			      ? m->num_configurations
			      : USB_MODEL_MAX_CONFIGS;
	for (pos = DEVICE_DESC_LEN; m->num_configs < want;) {
		struct usb_config_model *c = &m->configs[m->num_configs];
		size_t used = 0;

		r = parse_config(raw + pos, len - pos, &used, c, fault);
		/* Count it first so that clear() frees a partial one too. */
		m->num_configs++;
		if (r < 0)
			goto fail;
		for (size_t i = 0; i + 1 < m->num_configs; i++)
			if (m->configs[i].value == c->value) {
				r = usbip_fault_set(
					fault, -EBADMSG, "bConfigurationValue",
					c->value,
					"duplicate configuration value");
				goto fail;
			}
		pos += used;
	}
	if (pos != len) {
		r = usbip_fault_set(
			fault, -EBADMSG, "length", len - pos,
			"trailing bytes after the last configuration");
		goto fail;
	}
	return 0;

fail:
	usb_model_clear(m);
	return r;
}

const struct usb_config_model *
usb_model_config(const struct usb_device_model *m, uint8_t value)
{
	for (size_t i = 0; i < m->num_configs; i++)
		if (m->configs[i].value == value)
			return &m->configs[i];
	return NULL;
}

const struct usb_altsetting_model *
usb_config_altsetting(const struct usb_config_model *c, uint8_t interface,
		      uint8_t alternate)
{
	for (size_t i = 0; i < c->num_altsettings; i++) {
		const struct usb_altsetting_model *a = &c->altsettings[i];
		if (a->interface_number == interface &&
		    a->alternate_setting == alternate)
			return a;
	}
	return NULL;
}

const struct usb_endpoint_model *
usb_altsetting_endpoint(const struct usb_altsetting_model *a, uint8_t address)
{
	for (unsigned i = 0; i < a->num_endpoints; i++)
		if (a->endpoints[i].address == address)
			return &a->endpoints[i];
	return NULL;
}
