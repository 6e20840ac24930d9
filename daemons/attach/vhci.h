/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's vhci_hcd through sysfs: find the controller, read its port
 * table, pick a free port for a speed, attach a socket, detach a port.
 *
 * The controller is found by name through libudev rather than a fixed
 * path: vhci_hcd is a platform device today and is moving to the faux bus.
 * The status files are kernel text, parsed defensively anyway: a line that
 * does not have the expected shape is an error, never a guess.
 */
#pragma once

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* Port states (enum usbip_device_status in the kernel's usbip_common.h). */
enum vhci_port_state {
	VHCI_PORT_FREE = 4,	    /* VDEV_ST_NULL */
	VHCI_PORT_NOT_ASSIGNED = 5, /* VDEV_ST_NOTASSIGNED */
	VHCI_PORT_USED = 6,	    /* VDEV_ST_USED */
	VHCI_PORT_ERROR = 7,	    /* VDEV_ST_ERROR */
};

enum vhci_hub {
	VHCI_HUB_HIGH_SPEED,  /* "hs": low, full and high speed devices */
	VHCI_HUB_SUPER_SPEED, /* "ss": super speed and above */
};

struct vhci_port {
	enum vhci_hub hub;
	unsigned port; /* global port number, as attach and detach take it */
	unsigned state;
	unsigned speed;
	uint32_t devid;
	char local_busid[32];
};

#define VHCI_MAX_PORTS 1024

/*
 * Parses one status file's text (NUL-terminated). Appends its ports to
 * ports[*n..max). Returns 0, or -EBADMSG with *bad_line set (1-based) for a
 * line of the wrong shape, or -E2BIG past max.
 */
int vhci_parse_status(const char *text, struct vhci_port *ports, size_t max,
		      size_t *n, unsigned *bad_line);

/* The hub a device of this wire speed belongs on; -EINVAL for none. */
int vhci_hub_for_speed(uint32_t speed);

/* The lowest free port on the right hub, or -EBUSY when none is free. */
int vhci_pick_port(const struct vhci_port *ports, size_t n, uint32_t speed);

struct vhci {
	char path[PATH_MAX]; /* sysfs directory of vhci_hcd.0 */
	unsigned nports;
};

/* -ENODEV with a hint when vhci_hcd is not loaded. */
int vhci_open(struct vhci *v, char *msg, size_t msg_len);
/* Reads every status file; *ports is malloc'd. */
int vhci_read_ports(const struct vhci *v, struct vhci_port **ports, size_t *n);
/* -EBUSY when another attacher took the port first. */
int vhci_attach(const struct vhci *v, unsigned port, int sockfd, uint32_t devid,
		uint32_t speed);
int vhci_detach(const struct vhci *v, unsigned port);

/*
 * Records of who is attached where, in the upstream tools' format
 * (/run/vhci_hcd/portN: "HOST SERVICE BUSID\n") so that upstream
 * `usbip port` shows our attachments' remote ends and `usbip detach`
 * cleans them up.
 */
#define VHCI_RECORD_DIR "/run/vhci_hcd"
int vhci_record_write(unsigned port, const char *host, const char *service,
		      const char *busid);
int vhci_record_read(unsigned port, char *host, size_t host_len, char *service,
		     size_t service_len, char *busid, size_t busid_len);
void vhci_record_remove(unsigned port);

/* A busid as the kernel writes them: digits, '-', '.', ':' and letters
 * only, below 32 bytes. Peer-supplied busids must pass before any use. */
int vhci_busid_valid(const char *busid);
