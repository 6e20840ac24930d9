// SPDX-License-Identifier: GPL-2.0-or-later
#include "device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"

/* Enough for the device descriptor and eight full configurations. */
#define RAW_DESCRIPTORS_MAX (8 * 65536 + 18)

int errno_from_libusb(int e)
{
	switch (e) {
	case LIBUSB_SUCCESS:
		return 0;
	case LIBUSB_ERROR_IO:
		return -EIO;
	case LIBUSB_ERROR_INVALID_PARAM:
		return -EINVAL;
	case LIBUSB_ERROR_ACCESS:
		return -EACCES;
	case LIBUSB_ERROR_NO_DEVICE:
		return -ENODEV;
	case LIBUSB_ERROR_NOT_FOUND:
		return -ENOENT;
	case LIBUSB_ERROR_BUSY:
		return -EBUSY;
	case LIBUSB_ERROR_TIMEOUT:
		return -ETIMEDOUT;
	case LIBUSB_ERROR_OVERFLOW:
		return -EOVERFLOW;
	case LIBUSB_ERROR_PIPE:
		return -EPIPE;
	case LIBUSB_ERROR_INTERRUPTED:
		return -EINTR;
	case LIBUSB_ERROR_NO_MEM:
		return -ENOMEM;
	case LIBUSB_ERROR_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	}
	return -EPROTO;
}

int errno_from_transfer_status(enum libusb_transfer_status status)
{
	switch (status) {
	case LIBUSB_TRANSFER_COMPLETED:
		return 0;
	case LIBUSB_TRANSFER_STALL:
		return -EPIPE;
	case LIBUSB_TRANSFER_CANCELLED:
		return -ECONNRESET;
	case LIBUSB_TRANSFER_NO_DEVICE:
		return -ESHUTDOWN;
	case LIBUSB_TRANSFER_TIMED_OUT:
		return -ETIMEDOUT;
	case LIBUSB_TRANSFER_OVERFLOW:
		return -EOVERFLOW;
	case LIBUSB_TRANSFER_ERROR:
		break;
	}
	return -EPROTO;
}

/* libusb's speed enum is the kernel's shifted above high speed. */
static uint32_t wire_speed(int libusb_speed)
{
	switch (libusb_speed) {
	case LIBUSB_SPEED_LOW:
		return USBIP_SPEED_LOW;
	case LIBUSB_SPEED_FULL:
		return USBIP_SPEED_FULL;
	case LIBUSB_SPEED_HIGH:
		return USBIP_SPEED_HIGH;
	case LIBUSB_SPEED_SUPER:
		return USBIP_SPEED_SUPER;
	case LIBUSB_SPEED_SUPER_PLUS:
		return USBIP_SPEED_SUPER_PLUS;
	}
	return 0;
}

/* The wire's interface list: each interface's first alternate setting. */
static void describe_interfaces(struct worker_device *d)
{
	const struct usb_config_model *c =
		usb_model_config(&d->model, d->configuration);
	struct usbip_device_info *w = &d->wire.device;

	w->configuration_value = d->configuration;
	w->num_interfaces = 0;
	if (!c)
		return;
	for (unsigned i = 0; i < c->num_interfaces; i++) {
		const struct usb_altsetting_model *a =
			usb_config_altsetting(c, c->interface_numbers[i], 0);
		struct usbip_interface_info *info = &d->wire.interfaces[i];
		if (!a)
			continue;
		info->interface_class = a->interface_class;
		info->interface_subclass = a->interface_subclass;
		info->interface_protocol = a->interface_protocol;
		w->num_interfaces++;
	}
}

int worker_device_open(struct worker_device *d, int fd, const char *busid,
		       uint32_t busnum, uint32_t devnum, char *msg,
		       size_t msg_len)
{
	_cleanup_free_ uint8_t *raw = malloc(RAW_DESCRIPTORS_MAX);
	struct usbip_fault fault = {0};
	struct usbip_device_info *w = &d->wire.device;
	ssize_t len;
	int r, config = 0;

	memset(d, 0, sizeof(*d));
	d->fd = fd;
	if (!raw)
		return -ENOMEM;
	/* usbfs returns the descriptors as the kernel cached them. */
	len = pread(fd, raw, RAW_DESCRIPTORS_MAX, 0);
	if (len < 0) {
		r = -errno;
		snprintf(msg, msg_len, "reading descriptors: %s", strerror(-r));
		return r;
	}
	r = usb_model_parse(raw, (size_t)len, &d->model, &fault);
	if (r < 0) {
		snprintf(msg, msg_len,
			 "device descriptors refused: %s %llu: %s", fault.field,
			 (unsigned long long)fault.value, fault.reason);
		return r;
	}

	/* Nothing but this fd: no enumeration, no hotplug, no sysfs. */
	libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
	r = libusb_init(&d->ctx);
	if (r == 0)
		r = libusb_wrap_sys_device(d->ctx, (intptr_t)fd, &d->handle);
	if (r == 0)
		r = libusb_get_configuration(d->handle, &config);
	if (r < 0) {
		snprintf(msg, msg_len, "libusb: %s", libusb_strerror(r));
		worker_device_close(d);
		return errno_from_libusb(r);
	}
	d->configuration = (uint8_t)config;

	snprintf(w->path, sizeof(w->path), "/dev/bus/usb/%03u/%03u", busnum,
		 devnum);
	snprintf(w->busid, sizeof(w->busid), "%s", busid);
	w->busnum = busnum;
	w->devnum = devnum;
	w->speed = wire_speed(
		libusb_get_device_speed(libusb_get_device(d->handle)));
	if (!w->speed)
		w->speed = USBIP_SPEED_HIGH; /* unknown: vhci needs one */
	w->id_vendor = d->model.id_vendor;
	w->id_product = d->model.id_product;
	w->bcd_device = d->model.bcd_device;
	w->device_class = d->model.device_class;
	w->device_subclass = d->model.device_subclass;
	w->device_protocol = d->model.device_protocol;
	w->num_configurations = d->model.num_configurations;
	describe_interfaces(d);
	return 0;
}

int worker_device_claim(struct worker_device *d)
{
	const struct usb_config_model *c =
		usb_model_config(&d->model, d->configuration);
	int first_error = 0;

	if (!c)
		return 0;
	for (unsigned i = 0; i < c->num_interfaces; i++) {
		int number = c->interface_numbers[i], r;

		if (libusb_kernel_driver_active(d->handle, number) == 1)
			libusb_detach_kernel_driver(d->handle, number);
		r = libusb_claim_interface(d->handle, number);
		if (r < 0)
			log_line("claiming interface %d: "
				 "%s",
				 number, libusb_strerror(r));
		if (r == 0)
			d->claimed |= 1u << i;
		else if (!first_error)
			first_error = errno_from_libusb(r);
	}
	return first_error;
}

void worker_device_release(struct worker_device *d)
{
	const struct usb_config_model *c =
		usb_model_config(&d->model, d->configuration);

	for (unsigned i = 0; c && i < c->num_interfaces; i++)
		if (d->claimed & (1u << i))
			libusb_release_interface(d->handle,
						 c->interface_numbers[i]);
	d->claimed = 0;
}

void worker_device_close(struct worker_device *d)
{
	if (d->handle)
		libusb_close(d->handle);
	if (d->ctx)
		libusb_exit(d->ctx);
	usb_model_clear(&d->model);
	if (d->fd >= 0)
		close(d->fd);
	d->handle = NULL;
	d->ctx = NULL;
	d->fd = -1;
}

int worker_device_set_configuration(struct worker_device *d, uint8_t value)
{
	int r;

	/* usbfs refuses while interfaces are claimed. */
	worker_device_release(d);
	r = libusb_set_configuration(d->handle, value ? value : -1);
	if (r == 0)
		d->configuration = value;
	describe_interfaces(d);
	worker_device_claim(d);
	return errno_from_libusb(r);
}

int worker_device_set_interface(struct worker_device *d, uint8_t interface,
				uint8_t alternate)
{
	return errno_from_libusb(libusb_set_interface_alt_setting(
		d->handle, interface, alternate));
}

int worker_device_clear_halt(struct worker_device *d, uint8_t endpoint)
{
	return errno_from_libusb(libusb_clear_halt(d->handle, endpoint));
}

int worker_device_reset(struct worker_device *d)
{
	/* libusb re-claims the claimed interfaces after the reset. */
	int r = libusb_reset_device(d->handle);
	return r == LIBUSB_ERROR_NOT_FOUND ? -ENODEV : errno_from_libusb(r);
}
