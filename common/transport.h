/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Transport addresses: parse, connect, listen, accept.
 *
 *   tcp:HOST:PORT     host name, IPv4 address or [IPv6] address
 *   tcp:PORT          listen: every address (dual stack); connect: localhost
 *   vsock:CID:PORT    AF_VSOCK; the CID always comes first, as in the
 *                     policy's and --from's vsock:CID (which has no port)
 *   vsock:*:PORT      listen: any CID; connect: the host (CID 2).
 *                     vsock:PORT, the old spelling, is still read so.
 *   unix:PATH         a socket file
 *   unix:@NAME        an abstract socket
 *   fd:N              an inherited socket: connected for connect,
 *                     listening for listen (socket activation, stdin, ssh)
 *   fc-vsock:PATH:PORT  Firecracker's host side of a guest vsock: connect
 *                     opens the unix socket PATH and asks "CONNECT PORT";
 *                     listen binds PATH_PORT, where Firecracker forwards
 *                     guest connections to PORT.
 *   tls:ADDR          any of the above with TLS 1.3 on top, for instance
 *                     tls:tcp:HOST:PORT, tls:vsock:CID:PORT,
 *                     tls:unix:PATH, tls:fd:N (docs/tls.md). Only a flag
 *                     here: connect and listen make the plain socket and
 *                     the program runs the handshake on it, so this file
 *                     never links GnuTLS. Parsed only by
 *                     transport_parse_tls(): a program that cannot speak
 *                     TLS on an address refuses it rather than speak
 *                     plain USB/IP where TLS was asked for.
 *
 * Every socket is O_CLOEXEC. Connected TCP sockets get TCP_NODELAY (URB
 * headers are small and latency bound) and keepalive (a vanished peer must
 * end its session). Errors are negative errnos; a message buffer, when
 * given, says in words what is wrong with the address.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum transport_kind {
	TRANSPORT_TCP,
	TRANSPORT_VSOCK,
	TRANSPORT_UNIX,
	TRANSPORT_FD,
	TRANSPORT_FC_VSOCK,
};

#define TRANSPORT_HOST_MAX 256
#define TRANSPORT_PATH_MAX 108 /* sizeof(sun_path) */
#define TRANSPORT_VSOCK_CID_ANY 0xffffffffu
#define TRANSPORT_VSOCK_CID_HOST 2u

struct transport_addr {
	enum transport_kind kind;
	char host[TRANSPORT_HOST_MAX]; /* tcp; empty for tcp:PORT */
	uint32_t port;		       /* tcp, vsock and fc-vsock port */
	uint32_t cid;		       /* vsock; CID_ANY when not given */
	char path[TRANSPORT_PATH_MAX]; /* unix, fc-vsock; no '@' for abstract */
	bool abstract;		       /* unix:@NAME */
	int fd;			       /* fd:N */
	bool tls;		       /* tls:ADDR: the program runs TLS */
};

#define TRANSPORT_TLS_PREFIX "tls:"

/* Longest text form of an address, for messages. */
#define TRANSPORT_ADDR_STR_MAX (TRANSPORT_HOST_MAX + TRANSPORT_PATH_MAX + 32)

/* A plain address; a tls: one is refused (-EPROTONOSUPPORT) with a
 * message saying so. */
int transport_parse(const char *text, struct transport_addr *a, char *msg,
		    size_t msg_len);
/* A plain or a tls: address (a->tls says which), for programs that run
 * the TLS handshake themselves. */
int transport_parse_tls(const char *text, struct transport_addr *a, char *msg,
			size_t msg_len);
void transport_format(const struct transport_addr *a, char *buf, size_t len);

/* A connected socket, or a negative errno. */
int transport_connect(const struct transport_addr *a, char *msg,
		      size_t msg_len);
/* A listening socket, or a negative errno. */
int transport_listen(const struct transport_addr *a, int backlog, char *msg,
		     size_t msg_len);
/* Accepts one connection (non-blocking listeners return -EAGAIN) and
 * tunes it. peer, when given, gets the peer's address in words. */
int transport_accept(int listen_fd, char *peer, size_t peer_len);

/* TCP_NODELAY and keepalive on TCP sockets; a no-op on the others. */
int transport_tune(int fd);
