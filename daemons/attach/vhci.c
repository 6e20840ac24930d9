// SPDX-License-Identifier: GPL-2.0-or-later
#include "vhci.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macros.h"
#include "wire.h"

/* Bounded, strict decimal and hex readers for the status tokens. */
static bool token_uint(const char *t, int base, unsigned long max,
		       unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!isxdigit((unsigned char)t[0]))
		return false;
	errno = 0;
	v = strtoul(t, &end, base);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

int vhci_parse_status(const char *text, struct vhci_port *ports, size_t max,
		      size_t *n, unsigned *bad_line)
{
	const char *line = text;
	unsigned line_no = 0;

	while (*line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		char buf[256], *tok[8], *save = NULL;
		unsigned ntok = 0;
		unsigned long port, state, speed, devid;

		line_no++;
		if (len >= sizeof(buf))
			goto bad;
		memcpy(buf, line, len);
		buf[len] = '\0';
		line = eol ? eol + 1 : line + len;

		for (char *t = strtok_r(buf, " \t", &save); t;
		     t = strtok_r(NULL, " \t", &save)) {
			if (ntok == 8)
				goto bad;
			tok[ntok++] = t;
		}
		if (ntok == 0)
			continue;
		if (!strcmp(tok[0], "hub") || !strcmp(tok[0], "prt"))
			continue; /* the header line */
		if (ntok != 7)
			goto bad;
		if (strcmp(tok[0], "hs") && strcmp(tok[0], "ss"))
			goto bad;
		if (!token_uint(tok[1], 10, 65535, &port) ||
		    !token_uint(tok[2], 10, 255, &state) ||
		    !token_uint(tok[3], 10, 255, &speed) ||
		    !token_uint(tok[4], 16, UINT32_MAX, &devid) ||
		    strlen(tok[6]) >= sizeof(ports->local_busid))
			goto bad;
		if (*n >= max)
			return -E2BIG;
		struct vhci_port *p = &ports[(*n)++];
		p->hub = tok[0][0] == 's' ? VHCI_HUB_SUPER_SPEED
					  : VHCI_HUB_HIGH_SPEED;
		p->port = (unsigned)port;
		p->state = (unsigned)state;
		p->speed = (unsigned)speed;
		p->devid = (uint32_t)devid;
		strcpy(p->local_busid, tok[6]);
	}
	return 0;
bad:
	if (bad_line)
		*bad_line = line_no;
	return -EBADMSG;
}

int vhci_hub_for_speed(uint32_t speed)
{
	switch (speed) {
	case USBIP_SPEED_LOW:
	case USBIP_SPEED_FULL:
	case USBIP_SPEED_HIGH:
	case USBIP_SPEED_WIRELESS:
		return VHCI_HUB_HIGH_SPEED;
	case USBIP_SPEED_SUPER:
	case USBIP_SPEED_SUPER_PLUS:
		return VHCI_HUB_SUPER_SPEED;
	}
	return -EINVAL;
}

int vhci_pick_port(const struct vhci_port *ports, size_t n, uint32_t speed)
{
	int hub = vhci_hub_for_speed(speed), best = -EBUSY;

	if (hub < 0)
		return hub;
	for (size_t i = 0; i < n; i++)
		if ((int)ports[i].hub == hub &&
		    ports[i].state == VHCI_PORT_FREE &&
		    (best < 0 || ports[i].port < (unsigned)best))
			best = (int)ports[i].port;
	return best;
}

static int read_text(const char *path, char *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t have = 0;

	if (fd < 0)
		return -errno;
	while (have < len - 1) {
		ssize_t r = read(fd, buf + have, len - 1 - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		have += (size_t)r;
	}
	if (have == len - 1)
		return -EFBIG;
	buf[have] = '\0';
	return (int)have;
}

static int write_text(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = write(fd, text, len);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EIO;
}

/*
 * The first vhci_hcd.0 whose attach file we may write, into path (size
 * len): 0, or -ENODEV. With buses, only on those: a sysname match alone
 * walks every bus and class in sysfs, which took a good part of a second
 * under TCG before the first connect (bench/setup.sh's step log).
 */
static int find_vhci(const char *const *buses, char *out, size_t out_len)
{
	struct udev *udev = udev_new();
	struct udev_enumerate *e;
	struct udev_list_entry *entry;
	char path[PATH_MAX + 32];
	int r = -ENODEV;

	if (!udev)
		return -ENOMEM;
	e = udev_enumerate_new(udev);
	for (size_t i = 0; e && buses && buses[i]; i++)
		if (udev_enumerate_add_match_subsystem(e, buses[i]) < 0)
			goto out;
	if (e && udev_enumerate_add_match_sysname(e, "vhci_hcd.0") >= 0 &&
	    udev_enumerate_scan_devices(e) >= 0) {
		udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(e))
		{
			const char *p = udev_list_entry_get_name(entry);
			snprintf(path, sizeof(path), "%s/attach", p);
			if (access(path, W_OK) == 0 && strlen(p) < out_len) {
				strcpy(out, p);
				r = 0;
				break;
			}
		}
	}
out:
	udev_enumerate_unref(e);
	udev_unref(udev);
	return r;
}

int vhci_open(struct vhci *v, char *msg, size_t msg_len)
{
	/* Platform today, faux since Linux 6.15; any bus as a last resort. */
	static const char *const buses[] = {"platform", "faux", NULL};
	char path[PATH_MAX + 32], text[32];
	unsigned long nports;
	int r;

	memset(v, 0, sizeof(*v));
	r = find_vhci(buses, v->path, sizeof(v->path));
	if (r == -ENODEV)
		r = find_vhci(NULL, v->path, sizeof(v->path));
	if (r < 0) {
		snprintf(msg, msg_len,
			 "no vhci_hcd controller found; load it with "
			 "'modprobe vhci-hcd'");
		return r;
	}
	snprintf(path, sizeof(path), "%s/nports", v->path);
	r = read_text(path, text, sizeof(text));
	if (r < 0 || (text[strcspn(text, "\n")] = '\0',
		      !token_uint(text, 10, VHCI_MAX_PORTS, &nports))) {
		snprintf(msg, msg_len, "%s: unreadable port count", path);
		return r < 0 ? r : -EBADMSG;
	}
	v->nports = (unsigned)nports;
	return 0;
}

int vhci_read_ports(const struct vhci *v, struct vhci_port **ports, size_t *n)
{
	/* One status file per controller: status, status.1, status.2 ... */
	size_t max = v->nports ? v->nports : VHCI_MAX_PORTS;
	_cleanup_free_ struct vhci_port *list = calloc(max, sizeof(*list));
	_cleanup_free_ char *text = malloc(64 * 1024);
	char path[PATH_MAX + 32];

	if (!list || !text)
		return -ENOMEM;
	*n = 0;
	for (unsigned i = 0;; i++) {
		int r;
		if (i == 0)
			snprintf(path, sizeof(path), "%s/status", v->path);
		else
			snprintf(path, sizeof(path), "%s/status.%u", v->path,
				 i);
		r = read_text(path, text, 64 * 1024);
		if (r == -ENOENT && i > 0)
			break;
		if (r < 0)
			return r;
		r = vhci_parse_status(text, list, max, n, NULL);
		if (r < 0)
			return r;
	}
	*ports = take_ptr(list);
	return 0;
}

int vhci_attach(const struct vhci *v, unsigned port, int sockfd, uint32_t devid,
		uint32_t speed)
{
	char path[PATH_MAX + 32], line[64];

	snprintf(path, sizeof(path), "%s/attach", v->path);
	snprintf(line, sizeof(line), "%u %d %u %u", port, sockfd, devid, speed);
	return write_text(path, line);
}

int vhci_detach(const struct vhci *v, unsigned port)
{
	char path[PATH_MAX + 32], line[16];

	snprintf(path, sizeof(path), "%s/detach", v->path);
	snprintf(line, sizeof(line), "%u", port);
	return write_text(path, line);
}

int vhci_busid_valid(const char *busid)
{
	size_t len = strnlen(busid, USBIP_BUSID_LEN);

	if (len == 0 || len >= USBIP_BUSID_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)busid[i]) &&
		    !strchr("-.:", busid[i]))
			return 0;
	return 1;
}

static void record_path(unsigned port, char *buf, size_t len)
{
	snprintf(buf, len, "%s/port%u", VHCI_RECORD_DIR, port);
}

int vhci_record_write(unsigned port, const char *host, const char *service,
		      const char *busid)
{
	char path[64], tmp[80], text[512];
	int len;

	/* Fields are space-separated: none may contain white space. */
	for (const char *f = host; *f; f++)
		if (isspace((unsigned char)*f))
			return -EINVAL;
	for (const char *f = service; *f; f++)
		if (isspace((unsigned char)*f))
			return -EINVAL;
	if (!vhci_busid_valid(busid))
		return -EINVAL;
	if (mkdir(VHCI_RECORD_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	record_path(port, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	len = snprintf(text, sizeof(text), "%s %s %s\n", host, service, busid);
	if (len < 0 || (size_t)len >= sizeof(text))
		return -ENAMETOOLONG;
	{
		_cleanup_close_ int fd = open(
			tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		if (write(fd, text, (size_t)len) != len)
			return errno ? -errno : -EIO;
	}
	/* Atomic: a reader sees the old record or the new, never half. */
	return rename(tmp, path) < 0 ? -errno : 0;
}

int vhci_record_read(unsigned port, char *host, size_t host_len, char *service,
		     size_t service_len, char *busid, size_t busid_len)
{
	char path[64], text[512], *save = NULL;
	char *h, *s, *b;
	int r;

	record_path(port, path, sizeof(path));
	r = read_text(path, text, sizeof(text));
	if (r < 0)
		return r;
	h = strtok_r(text, " \n", &save);
	s = h ? strtok_r(NULL, " \n", &save) : NULL;
	b = s ? strtok_r(NULL, " \n", &save) : NULL;
	if (!b || strlen(h) >= host_len || strlen(s) >= service_len ||
	    strlen(b) >= busid_len)
		return -EBADMSG;
	strcpy(host, h);
	strcpy(service, s);
	strcpy(busid, b);
	return 0;
}

void vhci_record_remove(unsigned port)
{
	char path[64];

	record_path(port, path, sizeof(path));
	unlink(path);
}
