/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The broker's state: one object, b, that every other file of the broker
 * reads and changes, and the few operations on its records that every
 * layer needs. The lowest layer of the broker: it calls none of the
 * others (README.md: the layers).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ipc.h"
#include "policy.h"
#include "transport.h"
#include "usbdev.h"
#include "verify.h"

#define PROGRAM "usbip-brokerd"
#define MAX_LISTEN 8
#define MAX_EXPORTED 32
/* The one bound on a worker told to stop: SIGTERM, then SIGKILL this
 * much later, by the 1 s timer (unexport, drain, timeouts alike). */
#define TERM_GRACE_S 3
/* An export session being unexported: how long the importer's listener
 * may take to be reached, and then to answer OP_REQ_UNEXPORT, before the
 * link is cut regardless. */
#define UNEXPORT_DIAL_S 5
#define UNEXPORT_REPLY_S 3
#define WORKER_UID 65534
#define RATE_TABLE 64

/* epoll tags: kind in the high half, index in the low. */
enum tag {
	TAG_CONTROL = 1,
	TAG_LISTEN,
	TAG_SESSION,
	TAG_SIGNAL,
	TAG_UDEV,
	TAG_TIMER,
	TAG_DIAL,
	TAG_SPARE,
};
#define TAG(kind, index) ((uint64_t)(kind) << 32 | (uint32_t)(index))

struct exported;

/* Where a session is in its one walk: it may list devices and ask for
 * one (once); refused, it may say nothing more; granted, it only reports
 * counters. */
enum session_phase {
	PHASE_ASKING = 1 << 0,
	PHASE_REFUSED = 1 << 1,
	PHASE_GRANTED = 1 << 2,
};

/* Worker -> broker message kinds the dispatch table counts. */
enum {
	IPC_RULE_DEVLIST,
	IPC_RULE_OPEN,
	IPC_RULE_STATS,
	IPC_RULE_SIGN,
	IPC_RULE_TLS_PEER,
	IPC_RULES
};

struct session {
	bool used;
	pid_t pid;
	int ipc;
	char peer[TRANSPORT_ADDR_STR_MAX];
	bool outgoing;			    /* export flow */
	char bound_busid[USBDEV_BUSID_LEN]; /* export flow: the one device */
	struct policy_peer who;		    /* import flow: the importer */
	struct exported *dev;		    /* the device it holds, if any */
	time_t started;
	struct ipc_stats stats;
	enum session_phase phase;
	unsigned asked[IPC_RULES]; /* messages taken, per rule */
	time_t stats_second;	   /* the second stats_in_second counts */
	unsigned stats_in_second;
	time_t kill_at; /* told to stop: SIGKILL due then; 0 while not */
	/* A tls: listener or destination: the worker runs the server
	 * handshake, and the key its peer showed is in who. */
	bool tls;
	/* What the broker knows of that handshake: the random it gave
	 * the worker, what it signed; verify.c checks the worker's
	 * transcript against it before who.key is believed. */
	struct verify_session handshake;
};

struct exported {
	bool used;
	struct usbdev_info info;
	int hub_fd;
	char export_to[TRANSPORT_ADDR_STR_MAX]; /* "" for import only */
	struct session *session;
	bool leaving; /* unexported: given back once its session is gone */
	int dial;     /* the dialling helper's channel, or -1 */
	/* Unexport of a granted export session: the dial is for the
	 * importer's OP_REQ_UNEXPORT, due by unexport_by (0: none). */
	time_t unexport_by;
	unsigned backoff_s;
	time_t retry_at;
};

/* Everything the broker knows: its options, its sockets, its sessions and
 * its devices. */
struct broker {
	const char *worker;
	const char *control_path;
	gid_t control_gid;
	bool control_gid_set;
	unsigned max_sessions;
	unsigned max_per_peer;
	unsigned import_timeout_s;
	int lock;
	int epoll;
	int control;
	int listen[MAX_LISTEN];
	char listen_name[MAX_LISTEN][TRANSPORT_ADDR_STR_MAX];
	struct policy_net listen_from[MAX_LISTEN][POLICY_MAX_NETS];
	size_t num_listen_from[MAX_LISTEN];
	size_t num_listen;
	bool listen_tls[MAX_LISTEN];
	const char *tls_key_path; /* --key: the identity the workers use */
	const char *policy_path;
	struct policy policy;
	unsigned rate;
	struct {
		struct policy_peer who;
		time_t window;
		unsigned count;
	} rates[RATE_TABLE];
	int signal_fd;
	int timer_fd;
	struct udev *udev;
	struct udev_monitor *monitor;
	struct session *sessions;
	/* The spare worker (sessions.c): started and sandboxed before any
	 * client, given the next plain import's connection; used is false
	 * while there is none. Not one of sessions. */
	struct session spare;
	/* The worker binary the spare was started from (st_dev, st_ino,
	 * st_mtim): a spare of a binary since replaced is not used. */
	dev_t spare_dev;
	ino_t spare_ino;
	struct timespec spare_mtime;
	time_t spare_after; /* no new spare before then */
	bool no_spare;	    /* --no-spare */
	struct exported devices[MAX_EXPORTED];
	bool draining;
	bool loop_done; /* loop_run has returned */
	/* "--usbfs-share=KIB", every worker's share of the usbfs quota. */
	char usbfs_share[48];
	/* "--tls-record-limit=N" for TLS workers, or empty. */
	char tls_record_limit[48];
	/* Passed on to every worker: --bot-readahead, --no-bot-readahead,
	 * or NULL for the worker's default. */
	const char *bot_readahead_arg;
	/* "--busy-poll=USEC" for every worker, or empty: their default. */
	char busy_poll[32];
};

extern struct broker b;
/* "--usbfs-share=KIB", every worker's share of the usbfs quota. */

/* Adds fd to the loop's epoll set under tag: 0 or a negative errno. */
int broker_watch(int fd, uint64_t tag);

/* Tells systemd how many devices and sessions there are (if it listens). */
void broker_notify_status(void);

/* The exported device of busid that is not on its way out, or NULL. */
struct exported *find_exported(const char *busid);

/* d's outgoing (export flow) session, granted or not yet (its worker
 * still handshaking, or not yet asking for d), or NULL: there is at most
 * one, so a device is not dialled again while it has one. */
struct session *export_session_of(const struct exported *d);

/* SIGTERM now, SIGKILL after TERM_GRACE_S unless it is gone by then
 * (sessions_tick). why, if given, is logged. Here rather than in
 * sessions.c because the devices layer, below the sessions, must be able
 * to end the session of a device it takes back. */
void session_stop(struct session *s, const char *why);
