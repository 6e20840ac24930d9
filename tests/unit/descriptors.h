/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Raw descriptor sets as usbfs returns them, for the model and validator
 * tests: built from hex so each byte is visible in the test. */
#pragma once

#include "vectors.h"

/* wTotalLength is patched in once the configuration is complete. */
static inline size_t desc_config_begin(struct vec *v, uint8_t num_interfaces,
				       uint8_t value)
{
	size_t at = v->len;
	vec_hex(v, "09 02 0000");
	v->b[v->len++] = num_interfaces;
	v->b[v->len++] = value;
	vec_hex(v, "00 80 32");
	return at;
}

static inline void desc_config_end(struct vec *v, size_t at)
{
	size_t total = v->len - at;
	v->b[at + 2] = (uint8_t)total;
	v->b[at + 3] = (uint8_t)(total >> 8);
}

static inline void desc_interface(struct vec *v, uint8_t number, uint8_t alt,
				  uint8_t neps, uint8_t cls, uint8_t sub,
				  uint8_t proto)
{
	uint8_t d[9] = {9, 4, number, alt, neps, cls, sub, proto, 0};
	memcpy(v->b + v->len, d, 9);
	v->len += 9;
}

static inline void desc_endpoint(struct vec *v, uint8_t address, uint8_t attr,
				 uint16_t maxp, uint8_t interval)
{
	uint8_t d[7] = {
		7,	 5, address, attr, (uint8_t)maxp, (uint8_t)(maxp >> 8),
		interval};
	memcpy(v->b + v->len, d, 7);
	v->len += 7;
}

/* A high-speed mass-storage device: bulk 0x81 IN and 0x02 OUT, 512 bytes. */
static inline void desc_mass_storage(struct vec *v)
{
	memset(v, 0, sizeof(*v));
	vec_hex(v, "12 01 0002 00 00 00 40 6b1d 0401 0001 01 02 03 01");
	size_t c = desc_config_begin(v, 1, 1);
	desc_interface(v, 0, 0, 2, 8, 6, 0x50);
	desc_endpoint(v, 0x81, 0x02, 512, 0);
	desc_endpoint(v, 0x02, 0x02, 512, 0);
	desc_config_end(v, c);
}

/* A UAC1 speaker: control interface 0, streaming interface 1 whose alt 0 has
 * no endpoint and alt 1 an adaptive iso OUT endpoint 0x01 of 192 bytes (the
 * 9-byte audio endpoint form with its class-specific descriptor after it),
 * plus an interrupt IN 0x83 on the control interface. Two configurations to
 * exercise lookups by value. */
static inline void desc_audio(struct vec *v)
{
	memset(v, 0, sizeof(*v));
	vec_hex(v, "12 01 1001 00 00 00 08 f446 0200 0001 01 02 03 02");
	for (uint8_t value = 1; value <= 2; value++) {
		size_t c = desc_config_begin(v, 2, value);
		desc_interface(v, 0, 0, 1, 1, 1, 0);
		vec_hex(v, "09 24 01 0001 1e00 01 01"); /* class-specific */
		desc_endpoint(v, 0x83, 0x03, 8, 10);
		desc_interface(v, 1, 0, 0, 1, 2, 0);
		desc_interface(v, 1, 1, 1, 1, 2, 0);
		vec_hex(v, "09 05 01 09 c000 01 00 00"); /* iso, adaptive */
		vec_hex(v, "07 25 01 00 00 0000");
		desc_config_end(v, c);
	}
}

/* A SuperSpeed device: bulk 0x81 with burst 15, iso 0x82 with Mult 2
 * (3 bursts of 4 packets of 1024 bytes per interval). */
static inline void desc_superspeed(struct vec *v)
{
	memset(v, 0, sizeof(*v));
	vec_hex(v, "12 01 0003 00 00 00 09 3412 7856 0001 01 02 03 01");
	size_t c = desc_config_begin(v, 1, 1);
	desc_interface(v, 0, 0, 2, 0xff, 0, 0);
	desc_endpoint(v, 0x81, 0x02, 1024, 0);
	vec_hex(v, "06 30 0f 00 0000");
	desc_endpoint(v, 0x82, 0x01, 1024, 1);
	vec_hex(v, "06 30 03 02 0030");
	desc_config_end(v, c);
}

/* A high-speed high-bandwidth interrupt endpoint: 1024 x 3 per microframe. */
static inline void desc_high_bandwidth(struct vec *v)
{
	memset(v, 0, sizeof(*v));
	vec_hex(v, "12 01 0002 00 00 00 40 3412 7856 0001 01 02 03 01");
	size_t c = desc_config_begin(v, 1, 1);
	desc_interface(v, 0, 0, 1, 0xff, 0, 0);
	desc_endpoint(v, 0x81, 0x03, 0x1400, 1);
	desc_config_end(v, c);
}
