/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who may call `usbip-attach listen`. A caller that gets through plants a
 * USB device of its choosing in this kernel (a keyboard that types into
 * the console), and the busid it announces (what --allow matches) is its
 * own word, so the only things that tell callers apart are what the kernel
 * reports for them: the address, and for a unix socket the credentials.
 * Both are checked before a byte of the caller's request is read.
 *
 * Without --from only unix-socket callers whose SO_PEERCRED uid is 0 are
 * let in, and with --from-group also that group's members. Loopback TCP,
 * ::1 and vsock CID 1 reach every local user, so they are never implicit:
 * they take a --from (the broker's grammar: IP[/BITS], vsock:CID, vsock:*,
 * unix, any), and a listener that is not a unix socket is refused at
 * start without one, so that opening it is always a choice someone wrote
 * down. `--from unix` lets every local unix caller in, unprivileged users
 * included.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "policy.h"

#define CALLERS_MAX_NETS 32
/* Supplementary groups read from a peer; one with more is judged by its
 * primary group only. */
#define CALLERS_MAX_PEER_GROUPS 256

struct callers {
	struct policy_net nets[CALLERS_MAX_NETS];
	size_t num;
	bool named; /* some --from was given */
	bool group_set;
	gid_t group; /* --from-group: unix callers in it, besides root */
};

/* The default: no address; unix callers with uid 0. */
void callers_init(struct callers *c);
/* One --from. Returns 0, -E2BIG past CALLERS_MAX_NETS, or -EINVAL with
 * msg set. */
int callers_add(struct callers *c, const char *text, char *msg, size_t msg_len);
/* --from-group: unix callers with this gid, primary or supplementary. */
void callers_set_group(struct callers *c, gid_t gid);

/* Whether a socket bound to this local address is reachable only from
 * this machine: loopback, a unix socket, or vsock CID 1. */
bool callers_local_address(const struct sockaddr *sa, socklen_t len);
/* A listening socket may be used: a unix socket, or --from was given
 * (without it a TCP or vsock listener would let nobody in, or, reachable
 * from other machines, would be one careless --from away from everyone).
 * Returns 0, or -EPERM with msg naming the address and --from. */
int callers_check_listener(const struct callers *c, int fd, char *msg,
			   size_t msg_len);

/* Whether the caller at this address is in --from. A unix caller's
 * credentials are callers_admit's. */
bool callers_allow_address(const struct callers *c, const struct sockaddr *sa,
			   socklen_t len);
/*
 * Checks a connected socket's peer. who receives a printable name of the
 * peer (numeric; a unix peer with its pid, uid and gid). Returns 0 when
 * it may call, -EACCES when it may not, or -errno when it has no address.
 */
int callers_admit(const struct callers *c, int fd, char *who, size_t who_len);
/* Why callers_admit refused the peer on fd: for the log. */
const char *callers_refusal(const struct callers *c, int fd);
