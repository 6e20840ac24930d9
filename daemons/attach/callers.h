/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who may call `usbip-attach listen`. A caller that gets through plants a
 * USB device of its choosing in this kernel, and the busid it announces
 * (what --allow matches) is its own word, so the only thing that tells
 * callers apart is the address the kernel reports for them. That address
 * is checked against --from (the broker's grammar: IP[/BITS], vsock:CID,
 * vsock:*, unix, any) before a byte of the caller's request is read.
 *
 * Without --from only callers on this machine are let in, and a listener
 * that other machines can reach is refused at start, so that opening one
 * is always a choice someone wrote down.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "policy.h"

#define CALLERS_MAX_NETS 32

struct callers {
	struct policy_net nets[CALLERS_MAX_NETS];
	size_t num;
	bool named; /* from --from; otherwise the local default */
};

/* The default: 127.0.0.0/8, ::1, unix and vsock CID 1 (VMADDR_CID_LOCAL). */
void callers_init(struct callers *c);
/* One --from; the first replaces the default. Returns 0, -E2BIG past
 * CALLERS_MAX_NETS, or -EINVAL with msg set. */
int callers_add(struct callers *c, const char *text, char *msg, size_t msg_len);

/* Whether a socket bound to this local address is reachable only from
 * this machine: loopback, a unix socket, or vsock CID 1. */
bool callers_local_address(const struct sockaddr *sa, socklen_t len);
/* A listening socket may be used: it is local, or --from was given.
 * Returns 0, or -EPERM with msg naming the address. */
int callers_check_listener(const struct callers *c, int fd, char *msg,
			   size_t msg_len);

/* Whether the caller at this address may call. */
bool callers_allow_address(const struct callers *c, const struct sockaddr *sa,
			   socklen_t len);
/*
 * Checks a connected socket's peer. who receives a printable name of the
 * peer (numeric; a unix peer with its pid and uid). Returns 0 when it may
 * call, -EACCES when it may not, or -errno when it has no address.
 */
int callers_admit(const struct callers *c, int fd, char *who, size_t who_len);
