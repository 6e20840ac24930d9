// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test tool: the device side of the device-initiated flow, with the
 * kernel's own usbip-host as the URB server. It connects to a listening
 * usbip-attach, sends OP_REQ_EXPORT (or OP_REQ_UNEXPORT) describing BUSID
 * from sysfs, and on success hands the socket to usbip-host through
 * usbip_sockfd, as the never-merged upstream `usbip connect` did. BUSID
 * must already be bound to usbip-host (`usbip bind -b BUSID`).
 *   export-via-stub ADDR BUSID [--unexport] [--source IPV4]
 * --source calls a tcp ADDR from that local address (127.0.0.2: another
 * caller on the same loopback), to test usbip-attach listen --from.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handshake.h"
#include "op_io.h"
#include "transport.h"
#include "wire.h"

static unsigned long sysfs_number(const char *busid, const char *attr, int base)
{
	char path[256], text[64];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/usb/devices/%s/%s", busid, attr);
	f = fopen(path, "re");
	if (!f || !fgets(text, sizeof(text), f)) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
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

/* transport_connect, from a chosen IPv4 source address. */
static int connect_from(const struct transport_addr *a, const char *source,
			char *msg, size_t msg_len)
{
	struct sockaddr_in from = {.sin_family = AF_INET};
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)a->port)};
	int fd;

	if (a->kind != TRANSPORT_TCP ||
	    inet_pton(AF_INET, source, &from.sin_addr) != 1 ||
	    inet_pton(AF_INET, a->host, &to.sin_addr) != 1) {
		snprintf(msg, msg_len,
			 "--source takes an IPv4 address and a tcp:IPV4:PORT");
		return -EINVAL;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		snprintf(msg, msg_len, "from %s: %s", source, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct transport_addr a;
	struct usbip_op_message req = {0}, rep;
	struct usbip_device_info *d = &req.device;
	char msg[256], path[PATH_MAX], link[256];
	bool unexport = false;
	const char *source = NULL;
	int fd, r;

	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--unexport"))
			unexport = true;
		else if (!strcmp(argv[i], "--source") && i + 1 < argc)
			source = argv[++i];
		else
			argc = 0;
	}
	if (argc < 3) {
		fprintf(stderr,
			"usage: %s ADDR BUSID [--unexport] [--source IPV4]\n",
			argv[0]);
		return 2;
	}
	const char *busid = argv[2];
	snprintf(link, sizeof(link), "/sys/bus/usb/devices/%s", busid);
	if (!realpath(link, path) || strlen(path) >= sizeof(d->path) ||
	    strlen(busid) >= sizeof(d->busid)) {
		fprintf(stderr, "no device %s\n", busid);
		return 1;
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
	req.header.code =
		unexport ? USBIP_OP_REQ_UNEXPORT : USBIP_OP_REQ_EXPORT;

	if (transport_parse(argv[1], &a, msg, sizeof(msg)) < 0 ||
	    (fd = source ? connect_from(&a, source, msg, sizeof(msg))
			 : transport_connect(&a, msg, sizeof(msg))) < 0) {
		fprintf(stderr, "%s\n", msg);
		return 1;
	}
	r = op_io_send(fd, &req);
	if (r == 0)
		r = op_io_read(fd, OP_IO_TIMEOUT_MS, &rep, msg, sizeof(msg));
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[1],
			r == -EPIPE ? "closed" : msg);
		return 1;
	}
	if (rep.header.code !=
		    (unexport ? USBIP_OP_REP_UNEXPORT : USBIP_OP_REP_EXPORT) ||
	    rep.header.status != 0) {
		fprintf(stderr, "%s refused: %s status %u\n", argv[1],
			usbip_op_code_name(rep.header.code), rep.header.status);
		return 1;
	}
	if (unexport) {
		printf("%s unexported\n", busid);
		return 0;
	}
	snprintf(path, sizeof(path),
		 "/sys/bus/usb/drivers/usbip-host/%s/usbip_sockfd", busid);
	int s = open(path, O_WRONLY | O_CLOEXEC);
	if (s < 0 || dprintf(s, "%d\n", fd) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	close(s);
	printf("%s exported to %s, served by usbip-host\n", busid, argv[1]);
	return 0;
}
