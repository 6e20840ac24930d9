// SPDX-License-Identifier: GPL-2.0-or-later
#include "usb_hwdb.h"

#include <libudev.h>
#include <stdio.h>
#include <string.h>

struct udev_hwdb *usb_hwdb_open(void)
{
	struct udev *udev = udev_new();
	struct udev_hwdb *hwdb = udev ? udev_hwdb_new(udev) : NULL;

	udev_unref(udev); /* the hwdb holds its own reference */
	return hwdb;
}

void usb_hwdb_close(struct udev_hwdb *hwdb)
{
	if (hwdb)
		udev_hwdb_unref(hwdb);
}

static void copy_name(char *out, size_t len, const char *value)
{
	size_t i = 0;

	for (; value && value[i] && i + 1 < len; i++) {
		unsigned char c = (unsigned char)value[i];
		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[i] = '\0';
}

void usb_hwdb_names(struct udev_hwdb *hwdb, uint16_t vid, uint16_t pid,
		    char *vendor, size_t vendor_len, char *model,
		    size_t model_len)
{
	char modalias[32];
	struct udev_list_entry *e;

	vendor[0] = model[0] = '\0';
	if (!hwdb)
		return;
	/* hwdb's usb keys: usb:vVVVVpPPPP* for a model, usb:vVVVV* for its
	 * vendor; both match this one lookup. */
	snprintf(modalias, sizeof(modalias), "usb:v%04Xp%04X", vid, pid);
	udev_list_entry_foreach(
		e, udev_hwdb_get_properties_list_entry(hwdb, modalias, 0))
	{
		const char *name = udev_list_entry_get_name(e);
		if (!strcmp(name, "ID_VENDOR_FROM_DATABASE"))
			copy_name(vendor, vendor_len,
				  udev_list_entry_get_value(e));
		else if (!strcmp(name, "ID_MODEL_FROM_DATABASE"))
			copy_name(model, model_len,
				  udev_list_entry_get_value(e));
	}
}
