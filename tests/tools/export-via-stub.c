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
#include "stub-device.h"
#include "transport.h"
#include "wire.h"

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
	char msg[256], path[PATH_MAX];
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
	stub_describe(busid, d);
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
