// SPDX-License-Identifier: GPL-2.0-or-later
#include "policy_gen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

struct text {
	char *buf;
	size_t len, used;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void add(struct text *t,
						       const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->len - t->used)
		t->full = true;
	else
		t->used += (size_t)n;
}

/* A serial the policy reads back as written: quoted, so no quote in it,
 * and as long as the parser keeps. */
static bool serial_quotable(const char *s)
{
	return s[0] && !strchr(s, '"') && strlen(s) < POLICY_SERIAL_MAX;
}

int policy_gen_rule(const struct usbdev_info *info, char *out, size_t len)
{
	const struct usbdev_info *d = info;
	struct text t = {.buf = out, .len = len};
	struct usbdev_interface types[POLICY_MAX_INTERFACE_TYPES];
	size_t num_types = 0;
	bool too_many = false;

	if (!len)
		return -ENOSPC;
	out[0] = '\0';
	for (size_t i = 0; i < d->num_interfaces && i < USBDEV_MAX_INTERFACES;
	     i++) {
		const struct usbdev_interface *f = &info->interfaces[i];
		size_t k = 0;
		while (k < num_types &&
		       memcmp(&types[k], f, sizeof(*f)) != 0)
			k++;
		if (k < num_types)
			continue;
		if (num_types == POLICY_MAX_INTERFACE_TYPES) {
			too_many = true;
			break;
		}
		types[num_types++] = *f;
	}
	add(&t, "# %s %04x:%04x %s", d->busid, d->id_vendor, d->id_product,
	    info->product[0] ? info->product : "(no product string)");
	if (info->serial[0] && !serial_quotable(info->serial))
		add(&t, "; its serial cannot be quoted, so it is left out");
	if (!d->num_interfaces)
		add(&t, "; not configured: no interfaces to name");
	if (too_many)
		add(&t, "; more than %d interface types: they are left out",
		    POLICY_MAX_INTERFACE_TYPES);
	add(&t, "\nallow id %04x:%04x", d->id_vendor, d->id_product);
	if (serial_quotable(info->serial))
		add(&t, " serial \"%s\"", info->serial);
	if (num_types && !too_many) {
		add(&t, " with-interface equals {");
		for (size_t k = 0; k < num_types; k++)
			add(&t, " %02x:%02x:%02x", types[k].cls,
			    types[k].subclass,
			    types[k].protocol);
		add(&t, " }");
	}
	return t.full ? -ENOSPC : (int)t.used;
}

const char *usb_class_name(unsigned cls)
{
	/* The base classes of usb.org's list. */
	switch (cls) {
	case 0x00: return "per interface";
	case 0x01: return "audio";
	case 0x02: return "communications";
	case 0x03: return "human interface device";
	case 0x05: return "physical";
	case 0x06: return "image";
	case 0x07: return "printer";
	case 0x08: return "mass storage";
	case 0x09: return "hub";
	case 0x0a: return "CDC data";
	case 0x0b: return "smart card";
	case 0x0d: return "content security";
	case 0x0e: return "video";
	case 0x0f: return "personal healthcare";
	case 0x10: return "audio/video";
	case 0x11: return "billboard";
	case 0x12: return "USB type-C bridge";
	case 0xdc: return "diagnostic";
	case 0xe0: return "wireless controller";
	case 0xef: return "miscellaneous";
	case 0xfe: return "application specific";
	case 0xff: return "vendor specific";
	default: return NULL;
	}
}
