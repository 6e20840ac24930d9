/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sessions (sessions.c): workers, their channel and its dispatch
 * table. Layer: above devices, below listen, dial and the loop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ipc.h"
#include "state.h"

/* Live import sessions from who. */
unsigned sessions_of(const struct policy_peer *who);

/* Once a second: kill what did not stop in time, stop what sat too long
 * without a device. */
void sessions_tick(void);

/* The ids a worker runs as outside its user namespace: WORKER_UID when
 * the broker is root; without root the broker's own, the only ones the
 * kernel lets an unprivileged process map (README.md: rootless mode). */
void worker_ids(uid_t *uid, gid_t *gid);

/* A worker for the connected socket conn (kept by the caller): an import
 * session (busid NULL, who the importer), an export session for busid
 * (who NULL), or a Qubes session of who for busid alone (both given);
 * with tls, the worker runs the TLS server handshake first and the broker
 * signs for it. NULL, logged, when none can be started. */
struct session *spawn_worker(int conn, const char *peer, const char *busid,
			     const struct policy_peer *who, bool tls);

/*
 * The spare worker: one at most, for the next plain import (no TLS, no
 * Qubes), started on the 1 s tick (sessions_tick) while a plain listener
 * is open, so that a client does not wait for the clone, the exec and
 * the sandbox. It is given nothing before spawn_worker hands it a real
 * session's connection; a word from it before that kills it; a dead one
 * is replaced no sooner than SPARE_RETRY_S later.
 */
/* Its channel has something: it may not speak; killed. */
void spare_event(void);
/* The broker is stopping: the spare is killed (it holds nothing). */
void spare_stop(void);

/* Ends the sessions of every worker that has exited (SIGCHLD). */
void reap_workers(void);

/* One message from s's worker, checked against the dispatch table and
 * acted on, or the worker killed. */
void session_message(struct session *s);

/* The dispatch table's check: NULL when the session has earned message m
 * (counted), else what it did wrong, written into why. */
const char *session_breach(struct session *s, const struct ipc_message *m,
			   char *why, size_t why_len);

/* The worker of a granted export session sends OP_REQ_UNEXPORT on conn
 * (kept by the caller) before its link is cut; it is stopped at once,
 * with UNEXPORT_REPLY_S more grace for the importer's reply. Returns 0,
 * or -EPERM when the session is in no state to (then merely stopped). */
int session_unexport(struct session *s, int conn);
/* The broker's record of a device in the form the worker hands on to its
 * client, for the worker's answers: the one place the broker writes a
 * USB/IP type. */
void devlist_entry_of(const struct usbdev_info *info,
		      struct usbip_devlist_entry *e);
