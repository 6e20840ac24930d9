/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dialler's confinement (dial_confine.c), in the manner of OpenBSD
 * ntpd's dns process: the forked helper that resolves a --to name and
 * connects drops to an unprivileged uid with no capabilities and no
 * supplementary groups, can gain nothing by exec (no_new_privs), and
 * loads its own seccomp allowlist, before it resolves a name or reads a
 * byte. DNS answers and /etc/hosts are peer-controlled text: none of it
 * is parsed as root. Layer: below dial.c, above nothing of the broker.
 */
#pragma once

#include <stdbool.h>

#include <stddef.h>
#include <sys/types.h>

/* The uid and gid the dialler runs as (nobody). */
#define DIAL_UID 65534

/* In the forked helper only: 0, or a negative errno with msg set (the
 * helper must then not dial). Not root (a test run): the uid stays, the
 * rest applies. New sockets are IPv4, IPv6, netlink (getaddrinfo) and
 * vsock only, and unix ones only with unix_sockets (a Firecracker vsock
 * destination, whose CONNECT reply is read after the drop): a dialler
 * taken over through a DNS answer cannot open the broker's control
 * socket, usbip-attach's or any other local one, whatever uid it has
 * (rootless mode: the broker's, with its groups). */
int dial_confine(uid_t uid, gid_t gid, bool unix_sockets, char *msg,
		 size_t msg_len);

/* The same for a broker without root (rootless mode), where the helper
 * keeps the broker's uid: hide (NULL-terminated directories) is covered
 * first, in namespaces of its own (ns_hide_paths), so that what that
 * uid owns (usbfs nodes, the control socket) is out of its reach. As
 * root, dial_confine(). */
int dial_confine_hiding(uid_t uid, gid_t gid, const char *const *hide,
			bool unix_sockets, char *msg, size_t msg_len);
