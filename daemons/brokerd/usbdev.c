// SPDX-License-Identifier: GPL-2.0-or-later
#include "usbdev.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/usb/ch9.h>
#include <linux/usbdevice_fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "macros.h"
#include "usb_sysfs.h"

#define USB_DEVICE_MAJOR 189
#define ATTR_MAX 256 /* a sysfs attribute's text */

/* sysfs's speed text as the kernel's enum usb_device_speed. */
static uint32_t speed_of(const char *text)
{
	static const struct {
		const char *mbps;
		uint32_t speed;
	} speeds[] = {
		{"1.5", USB_SPEED_LOW},
		{"12", USB_SPEED_FULL},
		{"480", USB_SPEED_HIGH},
		{"53.3-480", USB_SPEED_WIRELESS},
		{"5000", USB_SPEED_SUPER},
		{"10000", USB_SPEED_SUPER_PLUS},
		{"20000", USB_SPEED_SUPER_PLUS},
	};

	for (size_t i = 0; i < ARRAY_SIZE(speeds); i++)
		if (!strcmp(text, speeds[i].mbps))
			return speeds[i].speed;
	return 0;
}

/* Interface directories are BUSID:CONFIG.NUMBER. */
static bool interface_number(const char *busid, const char *name,
			     unsigned *config, unsigned *number)
{
	size_t len = strlen(busid);
	char tail;

	return !strncmp(name, busid, len) && name[len] == ':' &&
	       sscanf(name + len + 1, "%3u.%3u%c", config, number, &tail) == 2;
}

static void read_interfaces(struct usbdev_info *info)
{
	DIR *dir;
	struct dirent *e;
	char path[256];

	snprintf(path, sizeof(path), USB_SYSFS_DEVICES "/%s", info->busid);
	dir = opendir(path);
	info->num_interfaces = 0;
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		unsigned config, number;
		unsigned long cls, sub, proto;
		char sub_dir[256 + 32];

		if (!interface_number(info->busid, e->d_name, &config,
				      &number) ||
		    config != info->configuration_value)
			continue;
		if (number >= USBDEV_MAX_INTERFACES) {
			info->unjudged_interface = true;
			continue;
		}
		snprintf(sub_dir, sizeof(sub_dir), "%s/%s", info->busid,
			 e->d_name);
		if (usb_sysfs_number(sub_dir, "bInterfaceClass", 16, 255,
				     &cls) ||
		    usb_sysfs_number(sub_dir, "bInterfaceSubClass", 16, 255,
				     &sub) ||
		    usb_sysfs_number(sub_dir, "bInterfaceProtocol", 16, 255,
				     &proto))
			continue;
		/* Kept by number, as the wire lists them; sysfs has any order.
		 */
		struct usbdev_interface *i = &info->interfaces[number];
		i->cls = (uint8_t)cls;
		i->subclass = (uint8_t)sub;
		i->protocol = (uint8_t)proto;
		if (number + 1u > info->num_interfaces)
			info->num_interfaces = (uint8_t)(number + 1);
		if (number == 0) {
			char link[512], target[256];
			snprintf(link, sizeof(link),
				 USB_SYSFS_DEVICES "/%s/driver", sub_dir);
			ssize_t n = readlink(link, target, sizeof(target) - 1);
			if (n > 0) {
				target[n] = '\0';
				const char *base = strrchr(target, '/');
				snprintf(info->driver, sizeof(info->driver),
					 "%.63s", base ? base + 1 : target);
			}
		}
	}
	closedir(dir);
}

/* Device strings go into logs and tab-separated replies: printable
 * ASCII only, the rest as '?'. */
static void printable(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; in[i] && o + 1 < len; i++)
		out[o++] = isprint((unsigned char)in[i]) && in[i] != '\t'
				   ? in[i]
				   : '?';
	out[o] = '\0';
}

int usbdev_read_info(const char *busid, struct usbdev_info *info, char *msg,
		     size_t msg_len)
{
	static const struct {
		const char *name;
		int base;
		unsigned long max;
	} attrs[] = {
		{"busnum", 10, 0xffff},
		{"devnum", 10, 0xffff},
		{"idVendor", 16, 0xffff},
		{"idProduct", 16, 0xffff},
		{"bcdDevice", 16, 0xffff},
		{"bDeviceClass", 16, 0xff},
		{"bDeviceSubClass", 16, 0xff},
		{"bDeviceProtocol", 16, 0xff},
		{"bConfigurationValue", 10, 0xff},
		{"bNumConfigurations", 10, 0xff},
	};
	unsigned long v[ARRAY_SIZE(attrs)];
	char speed[ATTR_MAX], product[ATTR_MAX];
	int r;

	memset(info, 0, sizeof(*info));
	if (!usb_busid_valid(busid))
		return log_fail(-EINVAL, msg, msg_len, "'%.32s' is not a busid",
				busid);
	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++) {
		r = usb_sysfs_number(busid, attrs[i].name, attrs[i].base,
				     attrs[i].max, &v[i]);
		if (r == -ENOENT)
			return log_fail(r, msg, msg_len, "no USB device %s",
					busid);
		if (r < 0)
			return log_fail(r, msg, msg_len, "%s/%s: %s", busid,
					attrs[i].name,
					r == -EBADMSG ? "malformed"
						      : strerror(-r));
	}
	r = usb_sysfs_attr(busid, "speed", speed, sizeof(speed));
	if (r < 0 || !speed_of(speed))
		return log_fail(r < 0 ? r : -EBADMSG, msg, msg_len,
				"%s/speed: unknown", busid);
	snprintf(info->busid, sizeof(info->busid), "%s", busid);
	info->busnum = (uint32_t)v[0];
	info->devnum = (uint32_t)v[1];
	if (!info->busnum || !info->devnum)
		return log_fail(-EBADMSG, msg, msg_len, "%s: bus or device 0",
				busid);
	snprintf(info->path, sizeof(info->path), "/dev/bus/usb/%03u/%03u",
		 info->busnum, info->devnum);
	info->id_vendor = (uint16_t)v[2];
	info->id_product = (uint16_t)v[3];
	info->bcd_device = (uint16_t)v[4];
	info->device_class = (uint8_t)v[5];
	info->device_subclass = (uint8_t)v[6];
	info->device_protocol = (uint8_t)v[7];
	info->configuration_value = (uint8_t)v[8];
	info->num_configurations = (uint8_t)v[9];
	info->speed = speed_of(speed);
	if (usb_sysfs_attr(busid, "product", product, sizeof(product)) == 0)
		printable(product, info->product, sizeof(info->product));
	if (usb_sysfs_attr(busid, "serial", product, sizeof(product)) == 0)
		printable(product, info->serial, sizeof(info->serial));
	read_interfaces(info);
	return 0;
}

bool usbdev_is_imported(const char *busid)
{
	char link[256], target[512];
	ssize_t n;

	snprintf(link, sizeof(link), USB_SYSFS_DEVICES "/%s", busid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return strstr(target, "/vhci_hcd.") != NULL;
}

/* Without root, a usbfs node the broker may not open is udev's to give
 * (the usbfs calls themselves check only that the node was opened for
 * writing): the message says where. */
static const char *access_hint(int err)
{
	return (err == EACCES || err == EPERM) && geteuid() != 0
		       ? " (rootless: 70-usbip-export.rules gives the broker "
			 "hubs and the devices the policy allows; after a "
			 "policy change, udevadm trigger -s usb)"
		       : "";
}

int usbdev_open(const struct usbdev_info *info, char *msg, size_t msg_len)
{
	const struct usbdev_info *w = info;
	_cleanup_close_ int fd = open(w->path, O_RDWR | O_CLOEXEC);
	unsigned long busnum, devnum;
	struct stat st;

	if (fd < 0)
		return log_fail(-errno, msg, msg_len, "%s: %s%s", w->path,
				strerror(errno), access_hint(errno));
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    major(st.st_rdev) != USB_DEVICE_MAJOR ||
	    minor(st.st_rdev) != (w->busnum - 1) * 128 + (w->devnum - 1))
		return log_fail(-ENODEV, msg, msg_len,
				"%s is not the usbfs node of bus %u device %u",
				w->path, w->busnum, w->devnum);
	/* A device unplugged and another plugged in between the sysfs read
	 * and the open would get other numbers, or another busid. */
	if (usb_sysfs_number(w->busid, "busnum", 10, 0xffff, &busnum) ||
	    usb_sysfs_number(w->busid, "devnum", 10, 0xffff, &devnum) ||
	    busnum != w->busnum || devnum != w->devnum)
		return log_fail(-ENODEV, msg, msg_len,
				"%s changed while it was opened", w->busid);
	/* And the node's own descriptor names the device sysfs described. */
	uint8_t desc[18];
	if (pread(fd, desc, sizeof(desc), 0) != (ssize_t)sizeof(desc) ||
	    desc[1] != 1 || (desc[8] | desc[9] << 8) != w->id_vendor ||
	    (desc[10] | desc[11] << 8) != w->id_product)
		return log_fail(-ENODEV, msg, msg_len,
				"%s: the node's descriptor is not %04x:%04x",
				w->path, w->id_vendor, w->id_product);
	return take_fd(&fd);
}

/* The parent hub's busid and our port on it. */
static int parent_port(const char *busid, unsigned busnum, char *parent,
		       size_t len, unsigned *port)
{
	const char *dot = strrchr(busid, '.');
	const char *dash = strchr(busid, '-');

	if (dot) {
		snprintf(parent, len, "%.*s", (int)(dot - busid), busid);
		*port = (unsigned)strtoul(dot + 1, NULL, 10);
	} else {
		snprintf(parent, len, "usb%u", busnum);
		*port = (unsigned)strtoul(dash + 1, NULL, 10);
	}
	return *port ? 0 : -EINVAL;
}

int usbdev_take(struct usbdev_info *info, int device_fd, char *msg,
		size_t msg_len)
{
	const struct usbdev_info *w = info;
	char parent[USBDEV_BUSID_LEN + 8], node[64];
	unsigned long busnum, devnum;
	unsigned port;
	_cleanup_close_ int hub = -1;

	if (parent_port(w->busid, w->busnum, parent, sizeof(parent), &port) ||
	    usb_sysfs_number(parent, "busnum", 10, 0xffff, &busnum) ||
	    usb_sysfs_number(parent, "devnum", 10, 0xffff, &devnum))
		return log_fail(-ENODEV, msg, msg_len, "%s: no parent hub",
				w->busid);
	snprintf(node, sizeof(node), "/dev/bus/usb/%03lu/%03lu", busnum,
		 devnum);
	hub = open(node, O_RDWR | O_CLOEXEC);
	if (hub < 0)
		return log_fail(-errno, msg, msg_len, "%s (hub %s): %s%s", node,
				parent, strerror(errno), access_hint(errno));
	if (ioctl(hub, USBDEVFS_CLAIM_PORT, &port) < 0)
		return log_fail(-errno, msg, msg_len,
				"claiming port %u of %s: %s", port, parent,
				strerror(errno));
	/* With the port ours no driver binds again; unbind the ones there.
	 * A device that has just appeared may have got its configuration
	 * and interfaces after sysfs was read: read it again, now that
	 * nothing new can bind. */
	char busid[USBDEV_BUSID_LEN];
	snprintf(busid, sizeof(busid), "%s", w->busid);
	int r = usbdev_read_info(busid, info, msg, msg_len);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < w->num_interfaces; i++) {
		struct usbdevfs_ioctl cmd = {.ifno = (int)i,
					     .ioctl_code = USBDEVFS_DISCONNECT};
		if (ioctl(device_fd, USBDEVFS_IOCTL, &cmd) < 0 &&
		    errno != ENODATA && errno != EINVAL)
			return log_fail(
				-errno, msg, msg_len,
				"%s: taking interface %u from its driver: "
				"%s",
				w->busid, i, strerror(errno));
	}
	return take_fd(&hub);
}

void usbdev_give_back(const struct usbdev_info *info, int hub_fd)
{
	char msg[128];
	int fd;

	if (hub_fd >= 0)
		close(hub_fd); /* releases the port */
	/* Through usbfs, not sysfs: the interfaces of whatever configuration
	 * the device has now, and /sys can stay read-only for the broker. */
	fd = usbdev_open(info, msg, sizeof(msg));
	if (fd < 0)
		return; /* gone, or another device now: nothing to give back */
	/* A session cut off mid-transfer leaves the device mid-protocol (a
	 * mass-storage gadget waiting for the rest of a command): the host
	 * driver's first request then times out and it resets after 20 s
	 * or so. Reset it here, as usbip-host does after a broken link, so
	 * the driver starts from a clean device. */
	if (ioctl(fd, USBDEVFS_RESET, 0) < 0 && errno != ENODEV)
		log_line("%s: reset before giving it back: %s", info->busid,
			 strerror(errno));
	for (int i = 0; i < USBDEV_MAX_INTERFACES; i++) {
		struct usbdevfs_ioctl cmd = {.ifno = i,
					     .ioctl_code = USBDEVFS_CONNECT};
		/* No such interface, or no driver for it: nothing to do. */
		if (ioctl(fd, USBDEVFS_IOCTL, &cmd) < 0)
			continue;
	}
	close(fd);
}

int usbdev_drop_privileges(int fd)
{
	uint32_t mask = UINT32_MAX; /* every interface: the session's */

	return ioctl(fd, USBDEVFS_DROP_PRIVILEGES, &mask) < 0 ? -errno : 0;
}
