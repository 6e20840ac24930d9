// SPDX-License-Identifier: GPL-2.0-or-later
#include "usb_sysfs.h"

#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire.h"
#include "macros.h"

#define ATTR_MAX 256

bool usb_busid_valid(const char *busid)
{
	size_t len = strnlen(busid, USBIP_BUSID_LEN);
	bool digit = false, dash = false;

	if (len == 0 || len >= USBIP_BUSID_LEN ||
	    !isdigit((unsigned char)busid[0]))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = busid[i];
		if (isdigit((unsigned char)c)) {
			digit = true;
			continue;
		}
		/* One dash after the bus, dots between ports; never two
		 * separators in a row, never one at the end. */
		if (!digit || (c == '-' && dash) || (c == '.' && !dash) ||
		    (c != '-' && c != '.'))
			return false;
		dash |= c == '-';
		digit = false;
	}
	return dash && digit;
}

int usb_sysfs_attr(const char *dir, const char *name, char *out, size_t len)
{
	char path[256];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), USB_SYSFS_DEVICES "/%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, out, len);
	if (n < 0)
		return -errno;
	if ((size_t)n == len || memchr(out, '\0', (size_t)n))
		return -EBADMSG;
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		n--;
	out[n] = '\0';
	return 0;
}

int usb_sysfs_number(const char *dir, const char *name, int base,
		     unsigned long max, unsigned long *v)
{
	char text[ATTR_MAX], *end;
	int r = usb_sysfs_attr(dir, name, text, sizeof(text));

	if (r < 0)
		return r;
	if (text[0] == '\0') {
		*v = 0;
		return 0;
	}
	errno = 0;
	*v = strtoul(text, &end, base);
	if (errno || *end || !isxdigit((unsigned char)text[0]) || *v > max)
		return -EBADMSG;
	return 0;
}

int usb_node_numbers(const char *path, unsigned *bus, unsigned *dev)
{
	char tail;

	if (sscanf(path, "/dev/bus/usb/%3u/%3u%c", bus, dev, &tail) != 2 ||
	    *bus == 0 || *dev == 0)
		return -EINVAL;
	return 0;
}

int usb_sysfs_busid_of(unsigned bus, unsigned dev, char *busid, size_t len)
{
	DIR *dir = opendir(USB_SYSFS_DEVICES);
	struct dirent *e;
	int r = -ENODEV;

	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		unsigned long b, d;
		/* Root hubs (usb1), interfaces (1-1:1.0), . and .. are not
		 * the devices a busid names. */
		if (!usb_busid_valid(e->d_name) ||
		    usb_sysfs_number(e->d_name, "busnum", 10, 0xffff, &b) ||
		    usb_sysfs_number(e->d_name, "devnum", 10, 0xffff, &d) ||
		    b != bus || d != dev || strlen(e->d_name) >= len)
			continue;
		strcpy(busid, e->d_name);
		r = 0;
		break;
	}
	closedir(dir);
	return r;
}
