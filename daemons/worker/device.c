// SPDX-License-Identifier: GPL-2.0-or-later
#include "device.h"

#include <errno.h>
#include <linux/usbdevice_fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"
#include "usbfs_io.h"

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

void worker_device_describe_interfaces(struct worker_device *d)
{
	const struct usb_config_model *c =
		usb_model_config(&d->model, d->configuration);
	struct usbip_device_info *w = &d->wire.device;

	/* Each interface's first alternate setting, as the stub lists it. */
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

int worker_device_describe(struct worker_device *d, const uint8_t *raw,
			   size_t len, const char *busid, uint32_t busnum,
			   uint32_t devnum, uint32_t speed, char *msg,
			   size_t msg_len)
{
	struct usbip_fault fault = {0};
	struct usbip_device_info *w = &d->wire.device;
	int r = usb_model_parse(raw, len, &d->model, &fault);

	if (r < 0)
		return log_fail(r, msg, msg_len,
				"device descriptors refused: %s %llu: %s",
				fault.field, (unsigned long long)fault.value,
				fault.reason);
	snprintf(w->path, sizeof(w->path), "/dev/bus/usb/%03u/%03u", busnum,
		 devnum);
	snprintf(w->busid, sizeof(w->busid), "%s", busid);
	w->busnum = busnum;
	w->devnum = devnum;
	w->speed = speed ? speed : USBIP_SPEED_HIGH; /* vhci needs one */
	w->id_vendor = d->model.id_vendor;
	w->id_product = d->model.id_product;
	w->bcd_device = d->model.bcd_device;
	w->device_class = d->model.device_class;
	w->device_subclass = d->model.device_subclass;
	w->device_protocol = d->model.device_protocol;
	w->num_configurations = d->model.num_configurations;
	worker_device_describe_interfaces(d);
	return 0;
}

int worker_usb_init(libusb_context **ctx)
{
	/* Nothing but the fds we are given: no enumeration, no hotplug, no
	 * sysfs. */
	int r = libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);

	if (r == 0)
		r = libusb_init(ctx);
	return errno_from_libusb(r);
}

static const struct worker_device_ops usbfs_ops;

/* The fd wrapped and its configuration known: 0 or a negative errno. */
static int wrap(struct worker_device *d)
{
	int r, config = 0;

	r = errno_from_libusb(
		libusb_wrap_sys_device(d->ctx, (intptr_t)d->fd, &d->handle));
	if (r == 0)
		r = errno_from_libusb(
			libusb_get_configuration(d->handle, &config));
	if (r == 0)
		r = usbfs_io_new(d->fd, &d->io);
	d->configuration = (uint8_t)config;
	return r;
}

int worker_device_open(struct worker_device *d, libusb_context *ctx, int fd,
		       const char *busid, uint32_t busnum, uint32_t devnum,
		       char *msg, size_t msg_len)
{
	_cleanup_free_ uint8_t *raw = malloc(RAW_DESCRIPTORS_MAX);
	ssize_t len = 0;
	int r = 0;

	memset(d, 0, sizeof(*d));
	d->ops = &usbfs_ops;
	d->fd = fd;
	d->ctx = ctx;
	if (!raw)
		r = log_fail(-ENOMEM, msg, msg_len,
			     "no memory for descriptors");
	/* usbfs returns the descriptors as the kernel cached them. */
	if (r == 0 && (len = pread(fd, raw, RAW_DESCRIPTORS_MAX, 0)) < 0)
		r = log_fail(-errno, msg, msg_len, "reading descriptors: %s",
			     strerror(errno));
	if (r == 0 && (r = wrap(d)) < 0)
		log_fail(r, msg, msg_len, "libusb: %s", strerror(-r));
	if (r == 0)
		r = worker_device_describe(
			d, raw, (size_t)len, busid, busnum, devnum,
			wire_speed(libusb_get_device_speed(
				libusb_get_device(d->handle))),
			msg, msg_len);
	/* The fd is the device's from the start: closed with it. */
	if (r < 0)
		worker_device_close(d);
	return r;
}

void worker_device_close(struct worker_device *d)
{
	if (d->ops)
		d->ops->close(d);
	usb_model_clear(&d->model);
	d->ops = NULL;
}

static int usbfs_claim(struct worker_device *d)
{
	const struct usb_config_model *c =
		usb_model_config(&d->model, d->configuration);
	int first_error = 0;

	if (!c)
		return 0;
	for (unsigned i = 0; i < c->num_interfaces; i++) {
		int number = c->interface_numbers[i], r = 0;

		/* The broker took the interfaces from their drivers before
		 * the fd came; one that bound since is taken back here. */
		if (libusb_kernel_driver_active(d->handle, number) == 1)
			r = errno_from_libusb(
				libusb_detach_kernel_driver(d->handle, number));
		if (r == 0)
			r = errno_from_libusb(
				libusb_claim_interface(d->handle, number));
		if (r < 0)
			log_line("claiming interface %d: %s", number,
				 strerror(-r));
		if (r == 0)
			d->claimed |= 1u << i;
		else if (!first_error)
			first_error = r;
	}
	return first_error;
}

static void usbfs_release(struct worker_device *d)
{
	const struct usb_config_model *c =
		usb_model_config(&d->model, d->configuration);

	for (unsigned i = 0; c && i < c->num_interfaces; i++) {
		if (!(d->claimed & (1u << i)))
			continue;
		int r = errno_from_libusb(libusb_release_interface(
			d->handle, c->interface_numbers[i]));
		/* A device that is gone has nothing left to release. */
		if (r < 0 && r != -ENODEV)
			log_line("releasing interface %d: %s",
				 c->interface_numbers[i], strerror(-r));
	}
	d->claimed = 0;
}

static void usbfs_close(struct worker_device *d)
{
	usbfs_io_free(d->io);
	d->io = NULL;
	if (d->handle)
		libusb_close(d->handle);
	if (d->fd >= 0)
		close(d->fd);
	d->handle = NULL;
	d->fd = -1;
}

static int usbfs_set_configuration(struct worker_device *d, uint8_t value)
{
	int r;

	/* usbfs refuses while interfaces are claimed. */
	usbfs_release(d);
	r = errno_from_libusb(
		libusb_set_configuration(d->handle, value ? value : -1));
	if (r == 0)
		d->configuration = value;
	worker_device_describe_interfaces(d);
	/* The client's request is answered by the configuration; an
	 * interface that cannot be claimed again is logged by the claim,
	 * and usbfs tries once more at the first transfer to it. */
	(void)usbfs_claim(d);
	return r;
}

static int usbfs_set_interface(struct worker_device *d, uint8_t interface,
			       uint8_t alternate)
{
	return errno_from_libusb(libusb_set_interface_alt_setting(
		d->handle, interface, alternate));
}

static int usbfs_clear_halt(struct worker_device *d, uint8_t endpoint)
{
	return errno_from_libusb(libusb_clear_halt(d->handle, endpoint));
}

static int usbfs_reset(struct worker_device *d)
{
	/* libusb re-claims the claimed interfaces after the reset. Its
	 * NOT_FOUND here means the device came back as another one (its
	 * descriptors changed): for this session it is gone. */
	int r = libusb_reset_device(d->handle);
	return r == LIBUSB_ERROR_NOT_FOUND ? -ENODEV : errno_from_libusb(r);
}

/* Transfers go to usbfs directly (usbfs_io.h says why), control
 * transfers of any length the wire carries included. usbfs_io answers
 * as libusb_submit_transfer would; its codes are mapped here, as every
 * libusb code of the worker is, so that the session sees errno only. */
static int usbfs_submit(struct worker_device *d, struct libusb_transfer *x)
{
	return usbfs_io_submit(d->io, x);
}

static int usbfs_cancel(struct worker_device *d, struct libusb_transfer *x)
{
	return usbfs_io_cancel(d->io, x);
}

/* usbfs raises POLLOUT while completions wait to be reaped (and POLLHUP
 * once the device is gone). */
static size_t usbfs_pollfds(struct worker_device *d, struct pollfd *pfd,
			    size_t max)
{
	if (max == 0)
		return 0;
	pfd[0].fd = d->fd;
	pfd[0].events = POLLOUT;
	return 1;
}

/* No transfer has a timeout: nothing is due without the fd waking. */
static int usbfs_timeout_ms(struct worker_device *d)
{
	(void)d;
	return -1;
}

static void usbfs_handle_events(struct worker_device *d)
{
	usbfs_io_reap(d->io);
}

static const struct worker_device_ops usbfs_ops = {
	.submit = usbfs_submit,
	.cancel = usbfs_cancel,
	.pollfds = usbfs_pollfds,
	.timeout_ms = usbfs_timeout_ms,
	.handle_events = usbfs_handle_events,
	.claim = usbfs_claim,
	.release = usbfs_release,
	.set_configuration = usbfs_set_configuration,
	.set_interface = usbfs_set_interface,
	.clear_halt = usbfs_clear_halt,
	.reset = usbfs_reset,
	.close = usbfs_close,
};
