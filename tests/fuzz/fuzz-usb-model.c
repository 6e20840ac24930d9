// SPDX-License-Identifier: GPL-2.0-or-later
/* The descriptor parser on arbitrary bytes: parse, then walk every lookup
 * and check the limits the rest of the suite relies on. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "usb_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct usb_device_model m;
	struct usbip_fault f = {0};

	/* An exact-size copy, so that a read past the end is caught. */
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	int r = usb_model_parse(copy, size, &m, &f);
	free(copy);
	if (r < 0) {
		assert(f.field || r == -ENOMEM);
		assert(m.num_configs == 0);
		return 0;
	}
	assert(m.num_configs >= 1 && m.num_configs <= USB_MODEL_MAX_CONFIGS);
	for (size_t i = 0; i < m.num_configs; i++) {
		const struct usb_config_model *c = &m.configs[i];
		assert(usb_model_config(&m, c->value) == c);
		assert(c->num_interfaces <= USB_MODEL_MAX_INTERFACES);
		assert(c->num_altsettings <= USB_MODEL_MAX_ALTSETTINGS);
		for (size_t j = 0; j < c->num_altsettings; j++) {
			const struct usb_altsetting_model *a =
				&c->altsettings[j];
			assert(usb_config_altsetting(c, a->interface_number,
						     a->alternate_setting) ==
			       a);
			assert(a->num_endpoints <= USB_MODEL_MAX_ENDPOINTS);
			for (unsigned k = 0; k < a->num_endpoints; k++) {
				const struct usb_endpoint_model *e =
					&a->endpoints[k];
				assert(usb_altsetting_endpoint(a, e->address) ==
				       e);
				assert((e->address & 0x0f) != 0);
				assert(e->type != USB_TYPE_CONTROL);
				assert(e->max_bytes_per_interval <=
				       2047u * 3 * 16);
			}
		}
	}
	usb_model_clear(&m);
	return 0;
}
