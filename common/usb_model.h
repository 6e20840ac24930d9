/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device model: the raw descriptors a usbfs node returns on read() (the
 * 18-byte device descriptor, then each configuration's full descriptor set
 * of wTotalLength bytes) parsed into configurations, interfaces, alternate
 * settings and endpoints.
 *
 * The descriptors come from the device, and a device can be malicious: every
 * length is checked against what is left before it is used, every count is
 * bounded by the kernel's own limits, and a structure that does not add up
 * is refused with the field that broke it.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* The kernel's limits (include/linux/usb.h, drivers/usb/core/config.c). */
#define USB_MODEL_MAX_CONFIGS 8
#define USB_MODEL_MAX_INTERFACES 32
/* Per configuration, all interfaces together (the kernel allows 128 per
 * interface; real devices have a few dozen at most in all). */
#define USB_MODEL_MAX_ALTSETTINGS 256
#define USB_MODEL_MAX_ENDPOINTS 30

enum usb_transfer_type {
	USB_TYPE_CONTROL = 0,
	USB_TYPE_ISOCHRONOUS = 1,
	USB_TYPE_BULK = 2,
	USB_TYPE_INTERRUPT = 3,
};

struct usb_endpoint_model {
	uint8_t address;    /* bEndpointAddress: number | 0x80 for IN */
	uint8_t attributes; /* bmAttributes as sent (sync/usage bits kept) */
	uint8_t type;	    /* bmAttributes & 3, enum usb_transfer_type */
	uint8_t interval;
	uint16_t max_packet; /* wMaxPacketSize & 0x7ff */
	uint8_t mult;	     /* transactions per microframe, 1..3 */
	uint8_t max_burst;   /* SuperSpeed companion bMaxBurst + 1, else 1 */
	/* The most one service interval (one iso packet) can move. */
	uint32_t max_bytes_per_interval;
};

struct usb_altsetting_model {
	uint8_t interface_number;
	uint8_t alternate_setting;
	uint8_t interface_class;
	uint8_t interface_subclass;
	uint8_t interface_protocol;
	uint8_t num_endpoints;
	struct usb_endpoint_model endpoints[USB_MODEL_MAX_ENDPOINTS];
};

struct usb_config_model {
	uint8_t value; /* bConfigurationValue */
	uint8_t attributes;
	uint8_t max_power;
	uint8_t num_interfaces; /* distinct interface numbers seen */
	uint8_t interface_numbers[USB_MODEL_MAX_INTERFACES];
	size_t num_altsettings;
	struct usb_altsetting_model *altsettings; /* owned */
};

struct usb_device_model {
	uint16_t bcd_usb;
	uint8_t device_class;
	uint8_t device_subclass;
	uint8_t device_protocol;
	uint8_t max_packet0;
	uint16_t id_vendor;
	uint16_t id_product;
	uint16_t bcd_device;
	uint8_t num_configurations; /* as the device descriptor says */
	size_t num_configs;	    /* as parsed: min(that, 8) */
	struct usb_config_model configs[USB_MODEL_MAX_CONFIGS];
};

/*
 * Parses raw usbfs descriptors. Returns 0, or -EBADMSG (malformed),
 * -EMSGSIZE (past a limit), -ENOMEM; *fault names the field.
 * On failure *m holds nothing that needs clearing.
 */
int usb_model_parse(const uint8_t *raw, size_t len, struct usb_device_model *m,
		    struct usbip_fault *fault);
void usb_model_clear(struct usb_device_model *m);

const struct usb_config_model *
usb_model_config(const struct usb_device_model *m, uint8_t value);
const struct usb_altsetting_model *
usb_config_altsetting(const struct usb_config_model *c, uint8_t interface,
		      uint8_t alternate);
const struct usb_endpoint_model *
usb_altsetting_endpoint(const struct usb_altsetting_model *a, uint8_t address);
