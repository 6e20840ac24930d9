// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sessions: one sandboxed worker each, started, watched, stopped and
 * reaped here, and everything it says checked against the dispatch table
 * (ipc_rules) before the broker acts on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "devices.h"
#include "grant.h"
#include "log.h"
#include "namespace.h"
#include "sessions.h"
#include "sign.h"
#include "verify.h"

/*
 * A worker is untrusted: the broker's end of its channel never blocks
 * (O_NONBLOCK), every message it sends must be one its session has
 * earned, and a worker told to stop is killed if it does not.
 */

#define DEVLISTS_MAX 16	   /* device lists one session may ask for */
#define SPARE_RETRY_S 10   /* after a spare that died or misbehaved */
#define STATS_PER_SECOND 4 /* the worker reports once a second */

/* What a worker may send, in which phases, and how many times in all
 * (0: no count); anything else kills it. The one that is answered may
 * only come once the last answer has been read. OpenSSH's monitor keeps
 * such a table (mon_dispatch, MON_ONCE). */
static const struct ipc_rule {
	uint32_t type;
	const char *name;
	unsigned phases;
	unsigned max;
	bool answered;
} ipc_rules[IPC_RULES] = {
	[IPC_RULE_DEVLIST] = {IPC_DEVLIST_REQUEST, "a device list request",
			      PHASE_ASKING, DEVLISTS_MAX, true},
	[IPC_RULE_OPEN] = {IPC_OPEN_REQUEST, "an open request", PHASE_ASKING, 1,
			   true},
	[IPC_RULE_STATS] = {IPC_STATS, "counters", PHASE_GRANTED, 0, false},
	/* TLS sessions only (session_breach): one signature, before the
	 * grant; then, once, the key the peer showed. */
	[IPC_RULE_SIGN] = {IPC_SIGN_REQUEST, "a signing request", PHASE_ASKING,
			   1, true},
	[IPC_RULE_TLS_PEER] = {IPC_TLS_PEER, "its peer's key", PHASE_ASKING, 1,
			       false},
};

unsigned sessions_of(const struct policy_peer *who)
{
	unsigned n = 0;

	for (size_t i = 0; i < b.max_sessions; i++)
		n += b.sessions[i].used && !b.sessions[i].outgoing &&
		     policy_peer_same_origin(&b.sessions[i].who, who);
	return n;
}

/* A worker that broke the rules: no second chance, no grace. Its device
 * goes back when it is reaped, like any session's. */
static void session_kill(struct session *s, const char *why)
{
	log_line("%s: worker %d %s; killing it", s->peer, (int)s->pid, why);
	if (s->ipc >= 0)
		close(s->ipc); /* epoll forgets a closed fd */
	s->ipc = -1;
	kill(s->pid, SIGKILL);
	s->kill_at = time(NULL);
}

static void spawn_spare(time_t now);

/* Once a second: kill what did not stop in time, stop what sat too long
 * without a device; a spare for the next session if there is none. */
void sessions_tick(void)
{
	time_t now = time(NULL);
	char why[64];

	for (size_t i = 0; i < b.max_sessions; i++) {
		struct session *s = &b.sessions[i];
		if (!s->used)
			continue;
		if (s->kill_at && now >= s->kill_at) {
			log_line("%s: worker %d did not stop within %d s; "
				 "killing it",
				 s->peer, (int)s->pid, TERM_GRACE_S);
			kill(s->pid, SIGKILL);
			s->kill_at = now + TERM_GRACE_S; /* reaped by then */
		} else if (!s->kill_at && s->phase != PHASE_GRANTED &&
			   now - s->started >= (time_t)b.import_timeout_s) {
			snprintf(why, sizeof(why), "has no device after %u s",
				 b.import_timeout_s);
			session_stop(s, why);
		}
	}
	if (b.spare.used && b.spare.kill_at && now >= b.spare.kill_at) {
		kill(b.spare.pid, SIGKILL);
		b.spare.kill_at = now + TERM_GRACE_S;
	}
	if (!b.spare.used)
		spawn_spare(now);
}

void worker_ids(uid_t *uid, gid_t *gid)
{
	bool root = geteuid() == 0;

	*uid = root ? WORKER_UID : geteuid();
	*gid = root ? WORKER_UID : getegid();
}

/* Only plain import listeners have a use for a spare: a TLS worker is
 * started with its keys, a Qubes or export one with its device. */
static bool spare_wanted(void)
{
	if (b.no_spare)
		return false;
	for (size_t i = 0; i < b.num_listen; i++)
		if (!b.listen_tls[i])
			return true;
	return false;
}

/* Lazily, from the tick: one spare, sandboxed before any client, with
 * nothing of a session in its argv. Its clone stalls the loop as any
 * worker's does, but no client waits on it. */
static void spawn_spare(time_t now)
{
	char msg[256];
	int pair[2];
	uid_t uid;
	gid_t gid;

	if (b.draining || now < b.spare_after || !spare_wanted())
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		log_line("spare worker: socketpair: %s", strerror(errno));
		b.spare_after = now + SPARE_RETRY_S;
		return;
	}
	if (fcntl(pair[0], F_SETFL, O_NONBLOCK) < 0) {
		log_line("spare worker: socketpair: %s", strerror(errno));
		close(pair[0]);
		close(pair[1]);
		b.spare_after = now + SPARE_RETRY_S;
		return;
	}
	/* The options every worker gets from spawn_worker(), but those of
	 * a session (busid, TLS, peer): the spare must serve as a worker
	 * started for its session would. */
	char *argv[] = {"usbip-worker", "--broker-fd",	"3",
			"--spare",	"--empty-root", b.usbfs_share,
			NULL,		NULL,		NULL};
	size_t n = 6;
	if (b.bot_readahead_arg)
		argv[n++] = (char *)b.bot_readahead_arg;
	if (b.busy_poll[0])
		argv[n++] = b.busy_poll;
	struct stat st;
	if (stat(b.worker, &st) < 0) {
		log_line("spare worker: %s: %s", b.worker, strerror(errno));
		close(pair[0]);
		close(pair[1]);
		b.spare_after = now + SPARE_RETRY_S;
		return;
	}
	b.spare_dev = st.st_dev;
	b.spare_ino = st.st_ino;
	b.spare_mtime = st.st_mtim;
	worker_ids(&uid, &gid);
	log_step("broker: spawning a spare");
	pid_t pid = ns_spawn(b.worker, argv, &pair[1], 1, uid, gid, msg,
			     sizeof(msg));
	log_step("broker: spare %d cloned, id maps written", (int)pid);
	close(pair[1]);
	if (pid < 0) {
		log_line("spare worker: %s", msg);
		close(pair[0]);
		b.spare_after = now + SPARE_RETRY_S;
		return;
	}
	memset(&b.spare, 0, sizeof(b.spare));
	b.spare.used = true;
	b.spare.pid = pid;
	b.spare.ipc = pair[0];
	b.spare.started = now;
	snprintf(b.spare.peer, sizeof(b.spare.peer), "spare");
	int r = broker_watch(b.spare.ipc, TAG(TAG_SPARE, 0));
	if (r < 0) {
		char why[64];
		snprintf(why, sizeof(why), "cannot be watched (%s)",
			 strerror(-r));
		session_kill(&b.spare, why);
	}
}

void spare_event(void)
{
	char byte;
	ssize_t r = recv(b.spare.ipc, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	if (r < 0 && errno == EAGAIN)
		return;
	session_kill(&b.spare, r == 0 ? "closed its channel before it had a "
					"session"
				      : "spoke before it had a session");
}

/* Quietly: a spare holds nothing to finish, and its end is no event. */
void spare_stop(void)
{
	if (!b.spare.used || b.spare.kill_at)
		return;
	/* Killed first: closed first, it would log the broker gone. */
	kill(b.spare.pid, SIGKILL);
	if (b.spare.ipc >= 0)
		close(b.spare.ipc); /* epoll forgets a closed fd */
	b.spare.ipc = -1;
	b.spare.kill_at = time(NULL);
}

/* The spare becomes session s: the client's socket and its peer's name
 * over its channel, then the channel under s's tag. NULL (the spare
 * killed) when it does not take them; the caller starts a worker. */
static struct session *take_spare(struct session *s, int conn, const char *peer)
{
	struct ipc_client c;
	struct epoll_event ev = {.events = EPOLLIN,
				 .data.u64 = TAG(TAG_SESSION, s - b.sessions)};
	char why[96];
	int r;

	/* An upgrade replaced the worker since the spare was started: the
	 * session gets the binary on disk, as it would without a spare. */
	struct stat st;
	if (stat(b.worker, &st) < 0 || st.st_dev != b.spare_dev ||
	    st.st_ino != b.spare_ino ||
	    st.st_mtim.tv_sec != b.spare_mtime.tv_sec ||
	    st.st_mtim.tv_nsec != b.spare_mtime.tv_nsec) {
		session_kill(&b.spare, "runs a worker binary that has since "
				       "been replaced");
		return NULL;
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.peer, sizeof(c.peer), "%s", peer);
	r = ipc_send(b.spare.ipc, IPC_CLIENT, &c, sizeof(c), conn);
	if (r < 0) {
		snprintf(why, sizeof(why), "did not take its client (%s)",
			 strerror(-r));
		session_kill(&b.spare, why);
		return NULL;
	}
	*s = b.spare;
	memset(&b.spare, 0, sizeof(b.spare));
	b.spare.ipc = -1;
	s->started = time(NULL);
	s->phase = PHASE_ASKING;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	if (epoll_ctl(b.epoll, EPOLL_CTL_MOD, s->ipc, &ev) < 0) {
		snprintf(why, sizeof(why), "cannot be watched (%s)",
			 strerror(errno));
		session_kill(s, why);
		return NULL;
	}
	return s;
}

struct session *spawn_worker(int conn, const char *peer, const char *busid,
			     const struct policy_peer *who, bool tls)
{
	char msg[256];
	int pair[2];
	struct session *s = NULL;
	/* The keys its handshake lets through: every key the policy names
	 * now; which device each may have is judged here afterwards. */
	static struct tls_pins pins;
	static char pin_text[TLS_PINS_MAX][TLS_PIN_TEXT_SIZE];
	/* Its ServerHello's random: binds the transcript to the session. */
	uint8_t random[VERIFY_RANDOM_LEN];
	static char random_hex[2 * VERIFY_RANDOM_LEN + 1];

	if (tls && !sign_ready()) {
		log_line("%s: refused: TLS needs the broker's key (--key)",
			 peer);
		return NULL;
	}
	if (tls &&
	    verify_new_random(random, random_hex, sizeof(random_hex)) < 0) {
		log_line("%s: refused: no random for its handshake", peer);
		return NULL;
	}
	if (tls && policy_keys(&b.policy, &pins) < 0)
		log_line("%s: the policy names more than %d keys; the worker "
			 "accepts the first %d",
			 peer, TLS_PINS_MAX, TLS_PINS_MAX);

	for (size_t i = 0; i < b.max_sessions && !s; i++)
		if (!b.sessions[i].used)
			s = &b.sessions[i];
	if (!s) {
		log_line("%s: refused: %u sessions already", peer,
			 b.max_sessions);
		return NULL;
	}
	if (!busid && !tls && b.spare.used && !b.spare.kill_at &&
	    b.spare.ipc >= 0) {
		pid_t spare = b.spare.pid;
		if (take_spare(s, conn, peer)) {
			if (who)
				s->who = *who;
			log_step("broker: %s handed to spare worker %d", peer,
				 (int)spare);
			log_line("%s: session started, worker %d (spare)", peer,
				 (int)spare);
			broker_notify_status();
			return s;
		}
		/* It was killed; reaped as a spare. A session's worker is
		 * started below as if there had been none. */
		if (s->used)
			return NULL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		log_line("socketpair: %s", strerror(errno));
		return NULL;
	}
	/* The broker's end only: a worker that does not read fills its
	 * queue, and the broker must see that rather than wait. */
	if (fcntl(pair[0], F_SETFL, O_NONBLOCK) < 0) {
		log_line("socketpair: %s", strerror(errno));
		close(pair[0]);
		close(pair[1]);
		return NULL;
	}
	char *argv[22 + 2 * TLS_PINS_MAX];
	size_t n = 0;
	argv[n++] = "usbip-worker";
	argv[n++] = "--broker-fd";
	argv[n++] = "3";
	/* busid with an importer: a Qubes session, one device, no OP_*. */
	bool qubes = busid && who;
	argv[n++] = busid && !qubes ? "--export-to" : "--client";
	argv[n++] = "fd:4";
	if (busid) {
		argv[n++] = "--busid";
		argv[n++] = (char *)busid;
	}
	if (qubes)
		argv[n++] = "--qubes";
	argv[n++] = "--peer";
	argv[n++] = (char *)peer;
	argv[n++] = "--empty-root";
	argv[n++] = b.usbfs_share;
	if (b.bot_readahead_arg)
		argv[n++] = (char *)b.bot_readahead_arg;
	if (b.busy_poll[0])
		argv[n++] = b.busy_poll;
	if (tls) {
		argv[n++] = "--tls-spki";
		argv[n++] = (char *)sign_spki_hex();
		argv[n++] = "--tls-random";
		argv[n++] = random_hex;
		for (size_t i = 0; i < pins.count; i++) {
			tls_pin_format(&pins.pin[i], pin_text[i]);
			argv[n++] = "--tls-peer";
			argv[n++] = pin_text[i];
		}
		if (b.tls_record_limit[0])
			argv[n++] = b.tls_record_limit;
	}
	argv[n] = NULL;
	int keep[2] = {pair[1], conn};
	uid_t uid;
	gid_t gid;
	worker_ids(&uid, &gid);
	log_step("broker: admitted %s, spawning its worker", peer);
	pid_t pid =
		ns_spawn(b.worker, argv, keep, 2, uid, gid, msg, sizeof(msg));
	log_step("broker: worker %d cloned, id maps written", (int)pid);
	close(pair[1]);
	if (pid < 0) {
		log_line("%s: starting a worker: %s", peer, msg);
		close(pair[0]);
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->used = true;
	s->pid = pid;
	s->ipc = pair[0];
	s->outgoing = busid && !qubes;
	s->tls = tls;
	if (tls)
		memcpy(s->handshake.random, random, sizeof(random));
	s->phase = PHASE_ASKING;
	if (who)
		s->who = *who;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	if (busid)
		snprintf(s->bound_busid, sizeof(s->bound_busid), "%s", busid);
	s->started = time(NULL);
	int r = broker_watch(s->ipc, TAG(TAG_SESSION, s - b.sessions));
	if (r < 0) {
		/* A worker the broker cannot hear must not run: reaped as
		 * any killed worker is. */
		char why[64];
		snprintf(why, sizeof(why), "cannot be watched (%s)",
			 strerror(-r));
		session_kill(s, why);
		return NULL;
	}
	log_line("%s: session started, worker %d%s%s%s", peer, (int)pid,
		 qubes	 ? " serving (Qubes) "
		 : busid ? " exporting "
			 : "",
		 busid ? busid : "", tls ? " over TLS" : "");
	broker_notify_status();
	return s;
}

static void end_session(struct session *s, int status)
{
	struct exported *d = s->dev;

	log_line("%s: worker %d %s %d after %lds: %llu URBs, %llu bytes in, "
		 "%llu out, %llu errors",
		 s->peer, (int)s->pid,
		 WIFSIGNALED(status) ? "killed by signal" : "exited",
		 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
		 (long)(time(NULL) - s->started),
		 (unsigned long long)s->stats.urbs,
		 (unsigned long long)s->stats.bytes_in,
		 (unsigned long long)s->stats.bytes_out,
		 (unsigned long long)s->stats.errors);
	if (s->ipc >= 0)
		close(s->ipc); /* epoll forgets a closed fd */
	if (d && d->leaving) {
		d->session = NULL;
		release_device(d, true);
		d = NULL;
	}
	if (d) {
		d->session = NULL;
		/* A session that ran a while earns a fresh backoff. */
		if (time(NULL) - s->started > 10)
			d->backoff_s = 0;
	}
	if (!d && s->outgoing)
		d = find_exported(s->bound_busid); /* it ended ungranted */
	if (d && d->export_to[0])
		schedule_redial(d);
	memset(s, 0, sizeof(*s));
	s->ipc = -1;
	broker_notify_status();
}

/* A spare that ended before it had a session: it died or was killed
 * for speaking; a new one no sooner than SPARE_RETRY_S, unless the broker
 * itself stopped it. */
static void end_spare(int status)
{
	bool asked = b.spare.kill_at && b.draining;

	if (!asked)
		log_line("spare worker %d %s %d before it had a session",
			 (int)b.spare.pid,
			 WIFSIGNALED(status) ? "killed by signal" : "exited",
			 WIFSIGNALED(status) ? WTERMSIG(status)
					     : WEXITSTATUS(status));
	if (b.spare.ipc >= 0)
		close(b.spare.ipc); /* epoll forgets a closed fd */
	memset(&b.spare, 0, sizeof(b.spare));
	b.spare.ipc = -1;
	b.spare_after = time(NULL) + SPARE_RETRY_S;
}

void reap_workers(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (b.spare.used && b.spare.pid == pid) {
			end_spare(status);
			continue;
		}
		if (give_back_reaped(pid, status))
			continue;
		/* Their end shows at their next use (EOF on the channel). */
		if (sign_child_reaped(pid) || verify_child_reaped(pid))
			continue;
		for (size_t i = 0; i < b.max_sessions; i++)
			if (b.sessions[i].used && b.sessions[i].pid == pid)
				end_session(&b.sessions[i], status);
	}
}

_Static_assert(USBDEV_BUSID_LEN <= USBIP_BUSID_LEN &&
		       USBDEV_MAX_INTERFACES <= USBIP_MAX_INTERFACES,
	       "the record fits the wire form");
void devlist_entry_of(const struct usbdev_info *info,
		      struct usbip_devlist_entry *e)
{
	struct usbip_device_info *w = &e->device;

	memset(e, 0, sizeof(*e));
	snprintf(w->path, sizeof(w->path), "%s", info->path);
	snprintf(w->busid, sizeof(w->busid), "%s", info->busid);
	w->busnum = info->busnum;
	w->devnum = info->devnum;
	w->speed = info->speed;
	w->id_vendor = info->id_vendor;
	w->id_product = info->id_product;
	w->bcd_device = info->bcd_device;
	w->device_class = info->device_class;
	w->device_subclass = info->device_subclass;
	w->device_protocol = info->device_protocol;
	w->configuration_value = info->configuration_value;
	w->num_configurations = info->num_configurations;
	w->num_interfaces = info->num_interfaces;
	for (size_t i = 0; i < info->num_interfaces; i++)
		e->interfaces[i] = (struct usbip_interface_info){
			.interface_class = info->interfaces[i].cls,
			.interface_subclass = info->interfaces[i].subclass,
			.interface_protocol = info->interfaces[i].protocol};
}

/* The device for a worker that asked for busid: exported, free, and
 * (export flow) the one its session was started for. */
static int open_for_session(struct session *s, const char *busid,
			    struct ipc_open_answer *answer, int *fd)
{
	struct exported *d = find_exported(busid);
	char msg[256];
	int r;

	struct grant_session gs = grant_session_of(s);
	struct grant_device gd;

	*fd = -1;
	/* The device as it is now, under the policy as it is now. */
	if (d && !reevaluate(d, "asked for"))
		d = NULL;
	if (d)
		gd = grant_device_of(d);
	r = grant_open(&gs, busid, d ? &gd : NULL);
	if (r < 0)
		return r;
	r = usbdev_open(&d->info, msg, sizeof(msg));
	if (r < 0) {
		log_line("%s: %s", s->peer, msg);
		return r;
	}
	*fd = r;
	r = usbdev_drop_privileges(*fd);
	if (r < 0) {
		log_line("%s: dropping usbfs privileges: %s", busid,
			 strerror(-r));
		close(*fd);
		*fd = -1;
		return r;
	}
	d->session = s;
	s->dev = d;
	devlist_entry_of(&d->info, &answer->device);
	return 0;
}

static void devlist_for_session(const struct session *s,
				struct ipc_devlist_answer *a)
{
	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		if (b.devices[i].used && !b.devices[i].session &&
		    !b.devices[i].leaving)
			reevaluate(&b.devices[i], "listed");
	for (size_t i = 0; i < MAX_EXPORTED && a->count < IPC_MAX_DEVICES; i++)
		if (b.devices[i].used && !b.devices[i].session &&
		    !b.devices[i].leaving && visible_to(s, &b.devices[i]))
			devlist_entry_of(&b.devices[i].info,
					 &a->devices[a->count++]);
}

/* NULL when the session has earned message m; else what it did wrong. */
const char *session_breach(struct session *s, const struct ipc_message *m,
			   char *why, size_t why_len)
{
	const struct ipc_rule *rule = NULL;
	int unread = 0;

	for (size_t i = 0; i < IPC_RULES && !rule; i++)
		if (ipc_rules[i].type == m->type)
			rule = &ipc_rules[i];
	if (!rule) {
		snprintf(why, why_len, "sent type 0x%x", m->type);
		return why;
	}
	if ((m->type == IPC_SIGN_REQUEST || m->type == IPC_TLS_PEER) &&
	    !s->tls) {
		snprintf(why, why_len, "sent %s on a plain session",
			 rule->name);
		return why;
	}
	if (m->type == IPC_TLS_PEER && !s->asked[IPC_RULE_SIGN]) {
		snprintf(why, why_len,
			 "reported its peer's key before its handshake "
			 "was signed");
		return why;
	}
	/* Nothing about devices before the broker knows who the TLS peer
	 * is: the device list, too, depends on the key. */
	if ((m->type == IPC_DEVLIST_REQUEST || m->type == IPC_OPEN_REQUEST) &&
	    s->tls && !s->asked[IPC_RULE_TLS_PEER]) {
		snprintf(why, why_len, "sent %s before its TLS handshake",
			 rule->name);
		return why;
	}
	if (!(rule->phases & s->phase)) {
		snprintf(why, why_len, "sent %s %s", rule->name,
			 s->phase == PHASE_GRANTED   ? "after its grant"
			 : s->phase == PHASE_REFUSED ? "after its refusal"
						     : "before its grant");
		return why;
	}
	if (rule->max && s->asked[rule - ipc_rules] >= rule->max) {
		snprintf(why, why_len, "sent %s more than %u times", rule->name,
			 rule->max);
		return why;
	}
	s->asked[rule - ipc_rules]++;
	/* The queue holds the last answer until the worker reads it. */
	if (rule->answered &&
	    (ioctl(s->ipc, SIOCOUTQ, &unread) < 0 || unread > 0)) {
		snprintf(why, why_len, "sent %s before reading the last answer",
			 rule->name);
		return why;
	}
	if (m->type == IPC_STATS) {
		time_t now = time(NULL);
		if (now != s->stats_second) {
			s->stats_second = now;
			s->stats_in_second = 0;
		}
		if (++s->stats_in_second > STATS_PER_SECOND) {
			snprintf(why, why_len,
				 "sent counters more than %d times a second",
				 STATS_PER_SECOND);
			return why;
		}
	}
	return NULL;
}

/* An answer the worker must be ready for: if it would block, the worker
 * is not reading, which a worker that has earned its answer never does. */
static void session_answer(struct session *s, uint32_t type,
			   const void *payload, uint32_t length, int fd)
{
	char why[96];
	int r = ipc_send(s->ipc, type, payload, length, fd);

	if (r == -EAGAIN) {
		session_kill(s, "does not read its answers");
	} else if (r < 0) {
		snprintf(why, sizeof(why), "broke the channel (%s)",
			 strerror(-r));
		session_kill(s, why);
	}
}

/* The key the worker says its peer showed is believed only if the
 * verifier finds that key's signature on this session's handshake. */
static void tls_peer_reported(struct session *s,
			      const struct ipc_tls_peer *report)
{
	char pin[TLS_PIN_TEXT_SIZE], claimed[TLS_PIN_TEXT_SIZE];
	char checked[200], why[320];
	struct tls_pin shown;

	switch (verify_transcript(&s->handshake, report, &shown, checked,
				  sizeof(checked))) {
	case VERIFY_UNAVAILABLE:
		/* Refused, not blamed; and no device in its grace time:
		 * a request from here on is a breach. */
		s->phase = PHASE_REFUSED;
		snprintf(why, sizeof(why),
			 "cannot have its TLS peer checked (%s)", checked);
		session_stop(s, why);
		return;
	case VERIFY_REFUSED:
		/* log_line escapes the verifier's text too. */
		snprintf(why, sizeof(why),
			 "sent a TLS handshake transcript that does not hold "
			 "(%s)",
			 checked);
		session_kill(s, why);
		return;
	case VERIFY_OK:
		break;
	}
	tls_pin_format(&shown, pin);
	if (memcmp(shown.sha256, report->pin, sizeof(shown.sha256))) {
		struct tls_pin said;
		memcpy(said.sha256, report->pin, sizeof(said.sha256));
		tls_pin_format(&said, claimed);
		snprintf(why, sizeof(why),
			 "claimed its TLS peer's key is %s, but the key that "
			 "signed its handshake is %s",
			 claimed, pin);
		session_kill(s, why);
		return;
	}
	s->who.has_key = true;
	s->who.key = shown;
	/* log_line escapes the worker's text. */
	log_line("%s: worker %d: TLS peer key %s, verified (%s)", s->peer,
		 (int)s->pid, pin, report->params);
}

void session_message(struct session *s)
{
	struct ipc_message m;
	char msg[256], why[320];
	int fd, r;

	r = ipc_recv(s->ipc, IPC_BROKER_SIDE, &m, &fd, msg, sizeof(msg));
	if (r == -EAGAIN)
		return;
	if (r == -ECONNRESET) {
		/* A worker without its channel can only be on its way out:
		 * it gets the grace to finish, no more. */
		close(s->ipc);
		s->ipc = -1;
		if (!s->kill_at)
			s->kill_at = time(NULL) + TERM_GRACE_S;
		return;
	}
	if (r < 0) {
		snprintf(why, sizeof(why), "broke the channel (%s)", msg);
		session_kill(s, why);
		return;
	}
	if (session_breach(s, &m, msg, sizeof(msg))) {
		session_kill(s, msg);
		return;
	}
	switch (m.type) {
	case IPC_DEVLIST_REQUEST: {
		struct ipc_devlist_answer a;
		devlist_for_session(s, &a);
		session_answer(s, IPC_DEVLIST_ANSWER, &a, sizeof(a), -1);
		break;
	}
	case IPC_OPEN_REQUEST: {
		struct ipc_open_answer a = {0};
		log_step("broker: worker %d asks for a device", (int)s->pid);
		a.status = open_for_session(s, m.u.open_request.busid, &a, &fd);
		log_line("%s: worker %d asked for %s: %s", s->peer, (int)s->pid,
			 m.u.open_request.busid,
			 a.status ? strerror(-a.status) : "given");
		s->phase = a.status ? PHASE_REFUSED : PHASE_GRANTED;
		session_answer(s, IPC_OPEN_ANSWER, &a, sizeof(a), fd);
		log_step("broker: worker %d answered", (int)s->pid);
		if (fd >= 0)
			close(fd);
		break;
	}
	case IPC_STATS:
		s->stats = m.u.stats;
		break;
	case IPC_SIGN_REQUEST: {
		struct ipc_sign_answer a;
		r = sign_certificate_verify(&m.u.sign_request, &a);
		if (r == -EINVAL) {
			session_kill(s, "asked to sign something that is not "
					"a TLS 1.3 server CertificateVerify");
			break;
		}
		if (r < 0)
			log_line("%s: signing for worker %d: %s", s->peer,
				 (int)s->pid, strerror(-r));
		if (r == 0) {
			struct verify_session *h = &s->handshake;
			h->signed_len = m.u.sign_request.length;
			memcpy(h->signed_content, m.u.sign_request.tbs,
			       h->signed_len);
			h->signature_len = a.length;
			memcpy(h->signature, a.signature, a.length);
		}
		session_answer(s, IPC_SIGN_ANSWER, &a, sizeof(a), -1);
		break;
	}
	case IPC_TLS_PEER:
		tls_peer_reported(s, &m.u.tls_peer);
		break;
	}
}

int session_unexport(struct session *s, int conn)
{
	int r = -EPERM;

	/* Only the export flow's worker, serving, with its channel: the
	 * one phase in which it knows the device and the importer. */
	if (s->outgoing && s->phase == PHASE_GRANTED && s->ipc >= 0 &&
	    !s->kill_at)
		r = ipc_send(s->ipc, IPC_UNEXPORT, NULL, 0, conn);
	session_stop(s, r == 0 ? "is unexporting (OP_REQ_UNEXPORT)"
			       : "is unexported without OP_REQ_UNEXPORT");
	if (r == 0)
		s->kill_at += UNEXPORT_REPLY_S;
	return r < 0 ? -EPERM : 0;
}
