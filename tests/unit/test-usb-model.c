// SPDX-License-Identifier: GPL-2.0-or-later
/* The descriptor parser: real layouts parse, malformed ones are refused
 * with the field that broke them, and nothing is read out of bounds (the
 * suite runs under ASan in CI). */
#include "check-main.h"
#include <errno.h>
#include <stdlib.h>

#include "descriptors.h"
#include "usb_model.h"

START_TEST(mass_storage)
{
	struct usb_device_model m;
	struct vec v;

	desc_mass_storage(&v);
	ck_assert_int_eq(usb_model_parse(v.b, v.len, &m, NULL), 0);
	ck_assert_uint_eq(m.id_vendor, 0x1d6b);
	ck_assert_uint_eq(m.id_product, 0x0104);
	ck_assert_uint_eq(m.bcd_usb, 0x0200);
	ck_assert_uint_eq(m.num_configs, 1);
	const struct usb_config_model *c = usb_model_config(&m, 1);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(usb_model_config(&m, 2));
	ck_assert_uint_eq(c->num_interfaces, 1);
	const struct usb_altsetting_model *a = usb_config_altsetting(c, 0, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->interface_class, 8);
	ck_assert_uint_eq(a->num_endpoints, 2);
	const struct usb_endpoint_model *ep = usb_altsetting_endpoint(a, 0x81);
	ck_assert_ptr_nonnull(ep);
	ck_assert_uint_eq(ep->type, USB_TYPE_BULK);
	ck_assert_uint_eq(ep->max_packet, 512);
	ck_assert_ptr_null(usb_altsetting_endpoint(a, 0x01));
	usb_model_clear(&m);
}
END_TEST

START_TEST(audio_iso_and_alternates)
{
	struct usb_device_model m;
	struct vec v;

	desc_audio(&v);
	ck_assert_int_eq(usb_model_parse(v.b, v.len, &m, NULL), 0);
	ck_assert_uint_eq(m.num_configs, 2);
	const struct usb_config_model *c = usb_model_config(&m, 2);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->num_interfaces, 2);
	ck_assert_uint_eq(c->num_altsettings, 3);
	ck_assert_uint_eq(usb_config_altsetting(c, 1, 0)->num_endpoints, 0);
	const struct usb_endpoint_model *ep =
		usb_altsetting_endpoint(usb_config_altsetting(c, 1, 1), 0x01);
	ck_assert_ptr_nonnull(ep);
	/* Sync bits above the type must not hide the iso type. */
	ck_assert_uint_eq(ep->attributes, 0x09);
	ck_assert_uint_eq(ep->type, USB_TYPE_ISOCHRONOUS);
	ck_assert_uint_eq(ep->max_bytes_per_interval, 192);
	ep = usb_altsetting_endpoint(usb_config_altsetting(c, 0, 0), 0x83);
	ck_assert_uint_eq(ep->type, USB_TYPE_INTERRUPT);
	ck_assert_uint_eq(ep->interval, 10);
	usb_model_clear(&m);
}
END_TEST

START_TEST(bandwidth)
{
	struct usb_device_model m;
	struct vec v;

	desc_superspeed(&v);
	ck_assert_int_eq(usb_model_parse(v.b, v.len, &m, NULL), 0);
	const struct usb_altsetting_model *a =
		usb_config_altsetting(usb_model_config(&m, 1), 0, 0);
	const struct usb_endpoint_model *bulk =
		usb_altsetting_endpoint(a, 0x81);
	const struct usb_endpoint_model *iso = usb_altsetting_endpoint(a, 0x82);
	ck_assert_uint_eq(bulk->max_burst, 16);
	ck_assert_uint_eq(bulk->mult, 1);
	ck_assert_uint_eq(iso->max_burst, 4);
	ck_assert_uint_eq(iso->mult, 3);
	ck_assert_uint_eq(iso->max_bytes_per_interval, 1024 * 4 * 3);
	usb_model_clear(&m);

	/* Out-of-range burst and Mult are clamped as the kernel does (a
	 * fuzzer found bMaxBurst 120 once giving 121 bursts). */
	desc_superspeed(&v);
	v.b[18 + 9 + 9 + 7 + 6 + 7 + 2] = 120;
	v.b[18 + 9 + 9 + 7 + 6 + 7 + 3] = 3;
	ck_assert_int_eq(usb_model_parse(v.b, v.len, &m, NULL), 0);
	a = usb_config_altsetting(usb_model_config(&m, 1), 0, 0);
	iso = usb_altsetting_endpoint(a, 0x82);
	ck_assert_uint_eq(iso->max_burst, 16);
	ck_assert_uint_eq(iso->mult, 3);
	usb_model_clear(&m);

	desc_high_bandwidth(&v);
	ck_assert_int_eq(usb_model_parse(v.b, v.len, &m, NULL), 0);
	a = usb_config_altsetting(usb_model_config(&m, 1), 0, 0);
	const struct usb_endpoint_model *hb = usb_altsetting_endpoint(a, 0x81);
	ck_assert_uint_eq(hb->max_packet, 1024);
	ck_assert_uint_eq(hb->mult, 3);
	ck_assert_uint_eq(hb->max_bytes_per_interval, 3072);
	usb_model_clear(&m);
}
END_TEST

static void assert_rejected(const struct vec *v, int err, const char *field)
{
	struct usb_device_model m;
	struct usbip_fault f = {0};

	/* Parse from an exact-size heap copy so ASan sees any overrun. */
	uint8_t *copy = malloc(v->len ? v->len : 1);
	memcpy(copy, v->b, v->len);
	ck_assert_int_eq(usb_model_parse(copy, v->len, &m, &f), err);
	free(copy);
	ck_assert_ptr_nonnull(f.field);
	ck_assert_str_eq(f.field, field);
	ck_assert_uint_eq(m.num_configs, 0);
}

/* Offset of the first endpoint descriptor in desc_mass_storage(). */
#define MS_EP1 (18 + 9 + 9)

START_TEST(malformed)
{
	struct vec v;

	desc_mass_storage(&v);
	v.len = 17;
	assert_rejected(&v, -EBADMSG, "device");

	desc_mass_storage(&v);
	v.b[0] = 17;
	assert_rejected(&v, -EBADMSG, "bLength");

	desc_mass_storage(&v);
	v.b[17] = 0; /* no configuration */
	assert_rejected(&v, -EBADMSG, "bNumConfigurations");

	desc_mass_storage(&v);
	v.b[17] = 2; /* says two, has one */
	assert_rejected(&v, -EBADMSG, "configuration");

	desc_mass_storage(&v);
	v.b[MS_EP1] = 0; /* bLength 0: a parser that trusts it never ends */
	assert_rejected(&v, -EBADMSG, "bLength");

	desc_mass_storage(&v);
	v.b[MS_EP1 + 7] = 200; /* second endpoint runs past wTotalLength */
	assert_rejected(&v, -EBADMSG, "bLength");

	desc_mass_storage(&v);
	v.b[18 + 2] += 1; /* wTotalLength past the bytes read */
	assert_rejected(&v, -EBADMSG, "wTotalLength");

	desc_mass_storage(&v);
	v.b[18 + 2] = 5; /* wTotalLength below the config descriptor */
	assert_rejected(&v, -EBADMSG, "wTotalLength");

	desc_mass_storage(&v);
	v.b[18 + 1] = 4; /* not a configuration descriptor */
	assert_rejected(&v, -EBADMSG, "bDescriptorType");

	desc_mass_storage(&v);
	v.b[18 + 9] = 8; /* interface descriptor too short for its fields */
	v.b[18 + 9 + 8] = 0;
	assert_rejected(&v, -EBADMSG, "bLength");

	desc_mass_storage(&v);
	v.b[MS_EP1] = 6; /* endpoint shorter than 7 */
	assert_rejected(&v, -EBADMSG, "bLength");

	desc_mass_storage(&v);
	v.b[MS_EP1 + 2] = 0x80; /* endpoint 0 in an endpoint descriptor */
	assert_rejected(&v, -EBADMSG, "bEndpointAddress");

	desc_mass_storage(&v);
	v.b[MS_EP1 + 2] = 0x91; /* reserved address bits */
	assert_rejected(&v, -EBADMSG, "bEndpointAddress");

	desc_mass_storage(&v);
	v.b[MS_EP1 + 7 + 2] = 0x81; /* the same endpoint twice */
	assert_rejected(&v, -EBADMSG, "bEndpointAddress");

	desc_mass_storage(&v);
	v.b[MS_EP1 + 3] = 0x00; /* a second control endpoint */
	assert_rejected(&v, -EBADMSG, "bmAttributes");

	desc_mass_storage(&v);
	v.b[18 + 9 + 1] = 0x24; /* no interface: endpoints have no home */
	assert_rejected(&v, -EBADMSG, "bEndpointAddress");

	desc_mass_storage(&v);
	v.b[v.len++] = 0; /* trailing byte */
	assert_rejected(&v, -EBADMSG, "length");

	desc_mass_storage(&v);
	v.b[MS_EP1 + 1] = 0x02; /* a configuration inside a configuration */
	assert_rejected(&v, -EBADMSG, "bDescriptorType");
}
END_TEST

START_TEST(limits)
{
	struct vec v;
	size_t c;

	/* 30 endpoints, every address there is, fit in one setting; a 31st
	 * can only repeat one of them. */
	memset(&v, 0, sizeof(v));
	vec_hex(&v, "12 01 0002 00 00 00 40 3412 7856 0001 01 02 03 01");
	c = desc_config_begin(&v, 1, 1);
	desc_interface(&v, 0, 0, 30, 0xff, 0, 0);
	for (uint8_t i = 1; i <= 15; i++) {
		desc_endpoint(&v, i, 2, 512, 0);
		desc_endpoint(&v, (uint8_t)(0x80 | i), 2, 512, 0);
	}
	desc_config_end(&v, c);
	{
		struct usb_device_model m;
		ck_assert_int_eq(usb_model_parse(v.b, v.len, &m, NULL), 0);
		usb_model_clear(&m);
	}
	desc_endpoint(&v, 0x81, 2, 512, 0);
	desc_config_end(&v, c);
	assert_rejected(&v, -EBADMSG, "bEndpointAddress");

	/* 33 interfaces. */
	memset(&v, 0, sizeof(v));
	vec_hex(&v, "12 01 0002 00 00 00 40 3412 7856 0001 01 02 03 01");
	c = desc_config_begin(&v, 32, 1);
	for (uint8_t i = 0; i < 33; i++)
		desc_interface(&v, i, 0, 0, 0xff, 0, 0);
	desc_config_end(&v, c);
	assert_rejected(&v, -EMSGSIZE, "bInterfaceNumber");

	/* Duplicate configuration values. */
	desc_audio(&v);
	v.b[v.len - (v.len - 18) / 2 + 5] = 1;
	assert_rejected(&v, -EBADMSG, "bConfigurationValue");

	/* Duplicate alternate setting. */
	memset(&v, 0, sizeof(v));
	vec_hex(&v, "12 01 0002 00 00 00 40 3412 7856 0001 01 02 03 01");
	c = desc_config_begin(&v, 1, 1);
	desc_interface(&v, 0, 0, 0, 0xff, 0, 0);
	desc_interface(&v, 0, 0, 0, 0xff, 0, 0);
	desc_config_end(&v, c);
	assert_rejected(&v, -EBADMSG, "bAlternateSetting");

	/* A SuperSpeed companion whose length is wrong. */
	desc_superspeed(&v);
	v.b[18 + 9 + 9 + 7] = 3;
	assert_rejected(&v, -EBADMSG, "bLength");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("usb_model");
	TCase *tc = tcase_create("descriptors");

	tcase_add_test(tc, mass_storage);
	tcase_add_test(tc, audio_iso_and_alternates);
	tcase_add_test(tc, bandwidth);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, limits);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
