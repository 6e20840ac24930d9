// SPDX-License-Identifier: GPL-2.0-or-later
#include "stub-device.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long sysfs_number(const char *busid, const char *attr, int base)
{
	char path[256], text[64];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/usb/devices/%s/%s", busid, attr);
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	/* Empty for some attributes of a device usbip-host holds
	 * (bConfigurationValue): 0, as usbipd reports it. */
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	if (!strcmp(attr, "speed")) {
		/* Mb/s as text to the kernel's enum usb_device_speed. */
		if (!strcmp(text, "1.5\n"))
			return USBIP_SPEED_LOW;
		if (!strcmp(text, "12\n"))
			return USBIP_SPEED_FULL;
		if (!strcmp(text, "480\n"))
			return USBIP_SPEED_HIGH;
		if (!strcmp(text, "5000\n"))
			return USBIP_SPEED_SUPER;
		return USBIP_SPEED_SUPER_PLUS;
	}
	return strtoul(text, NULL, base);
}

void stub_describe(const char *busid, struct usbip_device_info *d)
{
	char link[256], path[PATH_MAX];

	snprintf(link, sizeof(link), "/sys/bus/usb/devices/%s", busid);
	if (!realpath(link, path) || strlen(path) >= sizeof(d->path) ||
	    strlen(busid) >= sizeof(d->busid)) {
		fprintf(stderr, "no device %s\n", busid);
		exit(1);
	}
	strcpy(d->path, path);
	strcpy(d->busid, busid);
	d->busnum = (uint32_t)sysfs_number(busid, "busnum", 10);
	d->devnum = (uint32_t)sysfs_number(busid, "devnum", 10);
	d->speed = (uint32_t)sysfs_number(busid, "speed", 10);
	d->id_vendor = (uint16_t)sysfs_number(busid, "idVendor", 16);
	d->id_product = (uint16_t)sysfs_number(busid, "idProduct", 16);
	d->bcd_device = (uint16_t)sysfs_number(busid, "bcdDevice", 16);
	d->device_class = (uint8_t)sysfs_number(busid, "bDeviceClass", 16);
	d->device_subclass =
		(uint8_t)sysfs_number(busid, "bDeviceSubClass", 16);
	d->device_protocol =
		(uint8_t)sysfs_number(busid, "bDeviceProtocol", 16);
	d->configuration_value =
		(uint8_t)sysfs_number(busid, "bConfigurationValue", 10);
	d->num_configurations =
		(uint8_t)sysfs_number(busid, "bNumConfigurations", 10);
	d->num_interfaces = (uint8_t)sysfs_number(busid, "bNumInterfaces", 10);
}
