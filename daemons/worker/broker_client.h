/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker's side of the broker channel (common/ipc.h), in the manner
 * of OpenSSH's monitor_wrap.c: every message the worker sends the broker
 * and every answer it waits for goes through here, one function per
 * request. The broker's side (daemons/brokerd/sessions.c) allows each
 * request only in its session's phase and only so often; what is asked
 * here is what that table expects.
 *
 * An answer must come by the caller's deadline and be the one asked for:
 * anything else is a broken channel (-EPROTO), and a descriptor that came
 * with it is closed here.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"
#include "op_io.h"

struct session_stats;

struct broker_client {
	int fd;		   /* the worker's end of the channel */
	bool stats_broken; /* a counters report failed: no more are sent */
};

/* The device a session was given: the usbfs fd, privileges dropped,
 * and the numbers the broker opened it under. */
struct broker_grant {
	int fd;
	uint32_t busnum;
	uint32_t devnum;
};

/*
 * The devices this session's peer may see, into *list. Returns 0 or a
 * negative errno (-EINTR: stopped, -ETIMEDOUT: no answer by the deadline,
 * -EPROTO and the like: the channel broke); msg says why on every error.
 */
int broker_client_devlist(struct broker_client *bc,
			  const struct op_io_deadline *d,
			  struct ipc_devlist_answer *list, char *msg,
			  size_t msg_len);

/*
 * Asks for busid, once per session. Returns 0 with *grant filled (the fd
 * is the caller's), or a negative errno with msg set: the broker's
 * refusal (*refused set: -ENODEV not for this peer, -EBUSY in another
 * session, -EPERM not this session's device) or, *refused clear, a
 * channel failure as broker_client_devlist.
 */
int broker_client_open(struct broker_client *bc, const struct op_io_deadline *d,
		       const char *busid, struct broker_grant *grant,
		       bool *refused, char *msg, size_t msg_len);

/*
 * The session's counters for the broker's status; no answer comes. After
 * the first failure (the broker gone) nothing more is sent: returns that
 * failure once, with msg set, then 0.
 */
int broker_client_report(struct broker_client *bc,
			 const struct session_stats *stats, char *msg,
			 size_t msg_len);

/*
 * The TLS handshake's one signature (tls_server.c): tbs is the server
 * CertificateVerify content, which the broker checks and signs once per
 * session. Returns 0 with sig and *sig_len set, or a negative errno with
 * msg set (the broker's refusal comes back as its status).
 */
int broker_client_sign(struct broker_client *bc, const struct op_io_deadline *d,
		       const uint8_t *tbs, size_t tbs_len, uint8_t *sig,
		       size_t cap, size_t *sig_len, char *msg, size_t msg_len);

/* The TLS peer's key (its SHA-256 pin), the negotiated parameters as
 * text and the handshake's transcript (the broker checks that the key's
 * holder signed it), once, after the handshake; no answer comes. */
int broker_client_tls_peer(struct broker_client *bc, const uint8_t *pin,
			   size_t pin_len, const char *params,
			   const uint8_t *transcript, size_t transcript_len,
			   char *msg, size_t msg_len);

/*
 * A spare worker's session: waits until d (a stop ends it with -EINTR)
 * for the client socket the broker hands over (IPC_CLIENT), its peer's
 * address into peer. Returns the socket (the caller's) or a negative
 * errno with msg set; anything but IPC_CLIENT is a broken channel.
 */
int broker_client_await_client(struct broker_client *bc,
			       const struct op_io_deadline *d, char *peer,
			       size_t peer_len, char *msg, size_t msg_len);

/*
 * At the end of an export session: waits until d for the socket to the
 * importer's listener that the broker hands over before SIGTERM
 * (IPC_UNEXPORT). Returns the socket (the caller's), -ETIMEDOUT for a
 * plain stop (nothing came), or another negative errno with msg set.
 */
int broker_client_await_unexport(struct broker_client *bc,
				 const struct op_io_deadline *d, char *msg,
				 size_t msg_len);
