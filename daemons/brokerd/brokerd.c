// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * usbip-brokerd: the one privileged process. It opens usbfs nodes, keeps
 * host drivers off exported devices, and hands each session's device fd
 * (privileges dropped) to an unprivileged worker in fresh namespaces. It
 * never reads a USB/IP byte: client sockets go to workers unread, and all
 * it hears from a worker is the fixed messages of common/ipc.h.
 *
 * One epoll loop: the control socket (usbip-brokerctl), the listening
 * sockets of the import flow, each worker's channel, a signalfd, a udev
 * monitor, and a one-second timer for export-to retries.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libudev.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "control.h"
#include "grant.h"
#include "ipc.h"
#include "log.h"
#include "macros.h"
#include "namespace.h"
#include "policy.h"
#include "transport.h"
#include "usb_sysfs.h"
#include "usbdev.h"
#include "usbfs_quota.h"

#define PROGRAM "usbip-brokerd"
#define MAX_LISTEN 8
#define MAX_EXPORTED 32
#define DEFAULT_MAX_SESSIONS 16
#define DEFAULT_MAX_PER_PEER 4
#define DEFAULT_IMPORT_TIMEOUT_S 30
/* The one bound on a worker told to stop: SIGTERM, then SIGKILL this
 * much later, by the 1 s timer (unexport, drain, timeouts alike). */
#define TERM_GRACE_S 3
#define BACKOFF_MAX_S 60
#define WORKER_UID 65534
#define DIAL_TIMEOUT_S 30
#define DEFAULT_LISTEN "tcp:3240"
#define DEFAULT_POLICY USBIP_POLICY_PATH
/* Supplementary groups read from a control peer; one in more groups is
 * judged by its primary group (ERANGE). */
#define NGROUPS_MAX_PEER 256
#define DEFAULT_RATE 60 /* connections per peer per minute */
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
enum { IPC_RULE_DEVLIST, IPC_RULE_OPEN, IPC_RULE_STATS, IPC_RULES };

struct session {
	bool used;
	pid_t pid;
	int ipc;
	char peer[TRANSPORT_ADDR_STR_MAX];
	bool outgoing;			   /* export flow */
	char bound_busid[USBIP_BUSID_LEN]; /* export flow: the one device */
	struct policy_peer who;		   /* import flow: the importer */
	struct exported *dev;		   /* the device it holds, if any */
	time_t started;
	struct ipc_stats stats;
	enum session_phase phase;
	unsigned asked[IPC_RULES];  /* messages taken, per rule */
	time_t stats_second;	    /* the second stats_in_second counts */
	unsigned stats_in_second;
	time_t kill_at; /* told to stop: SIGKILL due then; 0 while not */
};

struct exported {
	bool used;
	struct usbdev_info info;
	int hub_fd;
	char export_to[TRANSPORT_ADDR_STR_MAX]; /* "" for import only */
	struct session *session;
	bool leaving; /* unexported: given back once its session is gone */
	int dial;     /* the dialling helper's channel, or -1 */
	unsigned backoff_s;
	time_t retry_at;
};

static struct {
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
	struct exported devices[MAX_EXPORTED];
	bool draining;
} b = {.control = -1, .lock = -1, .signal_fd = -1, .timer_fd = -1};
/* "--usbfs-share=KIB", every worker's share of the usbfs quota. */
static char usbfs_share[48];

static void notify_status(void)
{
#ifdef HAVE_LIBSYSTEMD
	unsigned exported = 0, sessions = 0;

	for (size_t i = 0; i < MAX_EXPORTED; i++)
		exported += b.devices[i].used;
	for (size_t i = 0; i < b.max_sessions; i++)
		sessions += b.sessions[i].used;
	sd_notifyf(0, "STATUS=%u exported, %u sessions", exported, sessions);
#endif
}

static int watch(int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(b.epoll, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* The fd that came with the datagram (a connected stream socket), or
 * -1 with data holding the helper's reason. */
static int fd_recv(int sock, char *data, size_t len)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = {.iov_base = data, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.buf,
			    .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *c;
	int fd = -1, type;
	socklen_t tl = sizeof(type);

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) < 0)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (fd >= 0 && (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
			type != SOCK_STREAM)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static struct exported *find_exported(const char *busid)
{
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		if (b.devices[i].used && !b.devices[i].leaving &&
		    !strcmp(b.devices[i].info.wire.device.busid, busid))
			return &b.devices[i];
	return NULL;
}

static void release_device(struct exported *d, bool give_back);
static const struct policy_rule *reevaluate(struct exported *d,
					    const char *when);

static void schedule_redial(struct exported *d)
{
	d->backoff_s = d->backoff_s ? d->backoff_s * 2 : 1;
	if (d->backoff_s > BACKOFF_MAX_S)
		d->backoff_s = BACKOFF_MAX_S;
	/* Jitter: up to a quarter more, so that many brokers that lost one
	 * peer do not all call back at once. */
	d->retry_at = time(NULL) + d->backoff_s +
		      (time_t)(random() % (d->backoff_s / 4 + 1));
}

/* The policy's verdict on a device, as sysfs describes it now. */
static const struct policy_rule *rule_for(const struct usbdev_info *info)
{
	const struct usbip_device_info *w = &info->wire.device;
	struct policy_interface interfaces[USBIP_MAX_INTERFACES];
	struct policy_device d = {
		.vid = w->id_vendor,
		.pid = w->id_product,
		.serial = info->serial,
		.device_class = w->device_class,
		.interfaces = interfaces,
		.num_interfaces = w->num_interfaces,
		.busid = w->busid,
	};

	for (size_t i = 0; i < w->num_interfaces; i++) {
		const struct usbip_interface_info *in =
			&info->wire.interfaces[i];
		interfaces[i] = (struct policy_interface){
			.cls = in->interface_class,
			.subclass = in->interface_subclass,
			.protocol = in->interface_protocol};
	}
	return policy_match(&b.policy, &d);
}

/* What the policy would do with a device: "deny", "allow" or "auto". A
 * hub or an import through vhci_hcd is never exported, whatever a rule
 * says. */
static const char *verdict_of(const struct usbdev_info *info,
			      const struct policy_rule *rule)
{
	if (!policy_allows(rule) || info->wire.device.device_class == 0x09 ||
	    usbdev_is_imported(info->wire.device.busid))
		return "deny";
	return rule->autoexport ? "auto" : "allow";
}

/* The grant module's view of a session and a device. */
static struct grant_session grant_session_of(const struct session *s)
{
	return (struct grant_session){.outgoing = s->outgoing,
				      .bound_busid = s->bound_busid,
				      .destination = s->peer,
				      .who = &s->who,
				      .holds_device = s->dev != NULL};
}

/* The rule that lets the device out now, or NULL. */
static const struct policy_rule *allowing_rule(const struct usbdev_info *info)
{
	const struct policy_rule *rule = rule_for(info);

	return strcmp(verdict_of(info, rule), "deny") ? rule : NULL;
}

static struct grant_device grant_device_of(const struct exported *d)
{
	return (struct grant_device){.busid = d->info.wire.device.busid,
				     .in_session = d->session != NULL,
				     .rule = allowing_rule(&d->info)};
}

/* Import sessions see and get only what the policy lets their peer have. */
static bool visible_to(const struct session *s, const struct exported *d)
{
	struct grant_session gs = grant_session_of(s);
	struct grant_device gd = grant_device_of(d);

	return grant_visible(&gs, &gd);
}
/* ---- sessions ---------------------------------------------------------- */

/*
 * A worker is untrusted: the broker's end of its channel never blocks
 * (O_NONBLOCK), every message it sends must be one its session has
 * earned, and a worker told to stop is killed if it does not.
 */

#define DEVLISTS_MAX 16	  /* device lists one session may ask for */
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
};

static unsigned sessions_of(const struct policy_peer *who)
{
	unsigned n = 0;

	for (size_t i = 0; i < b.max_sessions; i++)
		n += b.sessions[i].used && !b.sessions[i].outgoing &&
		     !memcmp(&b.sessions[i].who, who, sizeof(*who));
	return n;
}

/* SIGTERM now, SIGKILL after TERM_GRACE_S unless it is gone by then
 * (sessions_tick). why, if given, is logged. */
static void session_stop(struct session *s, const char *why)
{
	if (s->kill_at)
		return;
	if (why)
		log_line("%s: worker %d %s; stopping it", s->peer, (int)s->pid,
			 why);
	kill(s->pid, SIGTERM);
	s->kill_at = time(NULL) + TERM_GRACE_S;
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

/* Once a second: kill what did not stop in time, stop what sat too long
 * without a device. */
static void sessions_tick(void)
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
}

static struct session *spawn_worker(int conn, const char *peer,
				    const char *busid,
				    const struct policy_peer *who)
{
	char msg[256];
	int pair[2];
	struct session *s = NULL;

	for (size_t i = 0; i < b.max_sessions && !s; i++)
		if (!b.sessions[i].used)
			s = &b.sessions[i];
	if (!s) {
		log_line("%s: refused: %u sessions already", peer,
			 b.max_sessions);
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
	char *argv[16];
	size_t n = 0;
	argv[n++] = "usbip-worker";
	argv[n++] = "--broker-fd";
	argv[n++] = "3";
	argv[n++] = busid ? "--export-to" : "--client";
	argv[n++] = "fd:4";
	if (busid) {
		argv[n++] = "--busid";
		argv[n++] = (char *)busid;
	}
	argv[n++] = "--peer";
	argv[n++] = (char *)peer;
	argv[n++] = "--empty-root";
	argv[n++] = usbfs_share;
	argv[n] = NULL;
	int keep[2] = {pair[1], conn};
	pid_t pid = ns_spawn(b.worker, argv, keep, 2, WORKER_UID, WORKER_UID,
			     msg, sizeof(msg));
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
	s->outgoing = busid != NULL;
	s->phase = PHASE_ASKING;
	if (who)
		s->who = *who;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	if (busid)
		snprintf(s->bound_busid, sizeof(s->bound_busid), "%s", busid);
	s->started = time(NULL);
	watch(s->ipc, TAG(TAG_SESSION, s - b.sessions));
	log_line("%s: session started, worker %d%s%s", peer, (int)pid,
		 busid ? " exporting " : "", busid ? busid : "");
	notify_status();
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
	if (d && d->export_to[0])
		schedule_redial(d);
	memset(s, 0, sizeof(*s));
	s->ipc = -1;
	notify_status();
}

static void reap_workers(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (size_t i = 0; i < b.max_sessions; i++)
			if (b.sessions[i].used && b.sessions[i].pid == pid)
				end_session(&b.sessions[i], status);
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
	answer->device = d->info.wire;
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
			a->devices[a->count++] = b.devices[i].info.wire;
}

/* NULL when the session has earned message m; else what it did wrong. */
static const char *session_breach(struct session *s,
				  const struct ipc_message *m, char *why,
				  size_t why_len)
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
	if (!(rule->phases & s->phase)) {
		snprintf(why, why_len, "sent %s %s", rule->name,
			 s->phase == PHASE_GRANTED ? "after its grant"
			 : s->phase == PHASE_REFUSED
				 ? "after its refusal"
				 : "before its grant");
		return why;
	}
	if (rule->max && s->asked[rule - ipc_rules] >= rule->max) {
		snprintf(why, why_len, "sent %s more than %u times",
			 rule->name, rule->max);
		return why;
	}
	s->asked[rule - ipc_rules]++;
	/* The queue holds the last answer until the worker reads it. */
	if (rule->answered &&
	    (ioctl(s->ipc, SIOCOUTQ, &unread) < 0 || unread > 0)) {
		snprintf(why, why_len,
			 "sent %s before reading the last answer", rule->name);
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

static void session_message(struct session *s)
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
		a.status = open_for_session(s, m.u.open_request.busid, &a, &fd);
		log_line("%s: worker %d asked for %s: %s", s->peer, (int)s->pid,
			 m.u.open_request.busid,
			 a.status ? strerror(-a.status) : "given");
		s->phase = a.status ? PHASE_REFUSED : PHASE_GRANTED;
		session_answer(s, IPC_OPEN_ANSWER, &a, sizeof(a), fd);
		if (fd >= 0)
			close(fd);
		break;
	}
	case IPC_STATS:
		s->stats = m.u.stats;
		break;
	}
}

/* ---- devices ----------------------------------------------------------- */

static int export_device(const char *busid, const char *to, char *msg,
			 size_t msg_len)
{
	struct exported *d = find_exported(busid), *slot = NULL;
	struct transport_addr a;
	int r;

	if (to && transport_parse(to, &a, msg, msg_len) < 0)
		return -EINVAL;
	if (d && to) {
		/* A destination for a device that is exported already. */
		char formatted[TRANSPORT_ADDR_STR_MAX];
		transport_format(&a, formatted, sizeof(formatted));
		const struct policy_rule *now = reevaluate(d, "export");
		if (!now) {
			snprintf(msg, msg_len, "policy denies %s now", busid);
			return -EPERM;
		}
		if (!policy_destination_allowed(now, formatted)) {
			snprintf(msg, msg_len,
				 "policy does not let %s go to %.100s", busid,
				 formatted);
			return -EPERM;
		}
		if (!strcmp(d->export_to, formatted)) {
			snprintf(msg, msg_len, "%s already exported to %.100s",
				 busid, formatted);
			return 0;
		}
		if (d->session) {
			snprintf(msg, msg_len, "%s is in a session", busid);
			return -EBUSY;
		}
		snprintf(d->export_to, sizeof(d->export_to), "%s", formatted);
		d->backoff_s = 0;
		d->retry_at = time(NULL);
		snprintf(msg, msg_len, "exporting %s to %.100s", busid,
			 formatted);
		return 0;
	}
	if (d) {
		snprintf(msg, msg_len, "%s already exported", busid);
		return 0;
	}
	for (size_t i = 0; i < MAX_EXPORTED && !slot; i++)
		if (!b.devices[i].used)
			slot = &b.devices[i];
	if (!slot) {
		snprintf(msg, msg_len, "%d devices exported already",
			 MAX_EXPORTED);
		return -ENOSPC;
	}
	memset(slot, 0, sizeof(*slot));
	slot->dial = -1;
	r = usbdev_read_info(busid, &slot->info, msg, msg_len);
	if (r < 0)
		return r;
	if (usbdev_is_imported(busid)) {
		snprintf(msg, msg_len, "%s came in through vhci_hcd", busid);
		return -EPERM;
	}
	const struct policy_rule *rule = rule_for(&slot->info);
	if (!policy_allows(rule)) {
		if (rule)
			snprintf(msg, msg_len, "policy denies %s (%.100s:%u)",
				 busid, b.policy_path, rule->line);
		else
			snprintf(msg, msg_len,
				 "policy denies %s (no rule matches)", busid);
		return -EPERM;
	}
	if (to) {
		char formatted[TRANSPORT_ADDR_STR_MAX];
		transport_format(&a, formatted, sizeof(formatted));
		if (!policy_destination_allowed(rule, formatted)) {
			snprintf(msg, msg_len,
				 "policy does not let %s go to %.100s "
				 "(%.100s:%u)",
				 busid, formatted, b.policy_path, rule->line);
			return -EPERM;
		}
	}
	if (slot->info.wire.device.device_class == 0x09) {
		snprintf(msg, msg_len, "%s is a hub", busid);
		return -EINVAL;
	}
	_cleanup_close_ int fd = usbdev_open(&slot->info, msg, msg_len);
	if (fd < 0)
		return fd;
	slot->hub_fd = usbdev_take(&slot->info, fd, msg, msg_len);
	if (slot->hub_fd < 0)
		return slot->hub_fd;
	if (to)
		transport_format(&a, slot->export_to, sizeof(slot->export_to));
	/* Taken, the device was read again: it may have got its
	 * configuration (and its interfaces) after the first look. */
	rule = rule_for(&slot->info);
	if (!allowing_rule(&slot->info) ||
	    (to && !policy_destination_allowed(rule, slot->export_to))) {
		usbdev_give_back(&slot->info, slot->hub_fd);
		snprintf(msg, msg_len,
			 "policy denies %s as it is configured now (%.100s:%u)",
			 busid, b.policy_path, rule ? rule->line : 0);
		return -EPERM;
	}
	slot->used = true;
	slot->retry_at = time(NULL);
	log_line("exported %s (%04x:%04x %s)%s%s", busid,
		 slot->info.wire.device.id_vendor,
		 slot->info.wire.device.id_product, slot->info.product,
		 to ? " to " : "", to ? slot->export_to : "");
	snprintf(msg, msg_len, "exported %s", busid);
	notify_status();
	return 0;
}

static void release_device(struct exported *d, bool give_back)
{
	if (give_back)
		usbdev_give_back(&d->info, d->hub_fd);
	else if (d->hub_fd >= 0)
		close(d->hub_fd);
	log_line("unexported %s%s", d->info.wire.device.busid,
		 give_back ? "" : " (device gone)");
	if (d->dial >= 0)
		close(d->dial); /* the helper's answer goes nowhere */
	memset(d, 0, sizeof(*d));
	d->dial = -1;
	notify_status();
}

/* Ends the device's session; the host drivers get it back once the
 * worker has let go of its interfaces. */
static void forget_device(struct exported *d, bool give_back)
{
	struct session *s = d->session;

	if (!s || !give_back) {
		if (s) {
			session_stop(s, NULL);
			s->dev = NULL;
		}
		release_device(d, give_back);
		return;
	}
	/* Given back when the worker is reaped, which session_stop bounds
	 * however it ends: a worker stuck writing to a client that stopped
	 * reading ignores SIGTERM and is killed. */
	d->leaving = true;
	session_stop(s, NULL);
}

/*
 * The policy again, on the device as sysfs describes it now: it may have
 * been configured (or reconfigured) since it was exported, and the policy
 * may have been reloaded. A device the policy denies now, or whose --to
 * destination its rule no longer names, is unexported: its session ends
 * and it goes back to its drivers. An importer the rule no longer names
 * loses its session. Returns the rule that lets the device out, or NULL
 * when it is unexported.
 */
static const struct policy_rule *reevaluate(struct exported *d,
					    const char *when)
{
	struct usbip_device_info *w = &d->info.wire.device;
	struct usbdev_info now;
	const struct policy_rule *rule = NULL;
	char msg[256] = "gone";
	const char *why = "the device is gone or another one";

	if (usbdev_read_info(w->busid, &now, msg, sizeof(msg)) == 0 &&
	    now.wire.device.busnum == w->busnum &&
	    now.wire.device.devnum == w->devnum) {
		d->info = now;
		rule = allowing_rule(&d->info);
		why = "the policy denies it now";
		if (rule && d->export_to[0] &&
		    !policy_destination_allowed(rule, d->export_to)) {
			why = "its rule no longer names the destination";
			rule = NULL;
		}
	}
	if (!rule) {
		/* forget_device ends the session, if there is one. */
		log_line("%s (%s): %s; unexporting it", w->busid, when, why);
		forget_device(d, true);
		return NULL;
	}
	if (d->session && !d->session->outgoing &&
	    !policy_peer_allowed(rule, &d->session->who))
		session_stop(d->session, "is serving a peer its rule no longer names");
	return rule;
}

/*
 * Dialling can block for long (DNS, a TCP SYN into a black hole): a
 * forked helper does it and passes the socket back, so the loop never
 * waits on the network. The helper exits at once; SIGCHLD reaps it.
 */
static void start_dial(struct exported *d, size_t index)
{
	int pair[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		schedule_redial(d);
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct transport_addr a;
		char msg[256] = "";
		close(pair[0]);
		alarm(DIAL_TIMEOUT_S); /* a bound on the whole attempt */
		int fd = transport_parse(d->export_to, &a, msg, sizeof(msg));
		if (fd == 0)
			fd = transport_connect(&a, msg, sizeof(msg));
		/* A failed send: the broker sees the channel close. */
		ipc_send_datagram(pair[1], msg, strlen(msg) + 1, fd);
		_exit(0);
	}
	close(pair[1]);
	if (pid < 0) {
		close(pair[0]);
		schedule_redial(d);
		return;
	}
	d->dial = pair[0];
	watch(d->dial, TAG(TAG_DIAL, index));
}

static void dial_done(struct exported *d)
{
	char msg[256] = "";
	int conn = fd_recv(d->dial, msg, sizeof(msg));

	close(d->dial);
	d->dial = -1;
	msg[sizeof(msg) - 1] = '\0';
	if (conn < 0 || b.draining || !d->used || d->leaving) {
		if (conn < 0)
			log_line("export %s to %s: %s",
				 d->info.wire.device.busid, d->export_to,
				 msg[0] ? msg : "dialling failed");
		else
			close(conn);
		if (d->used)
			schedule_redial(d);
		return;
	}
	/* The policy may have changed, or the device, while it dialled. */
	if (!reevaluate(d, "dialled")) {
		close(conn);
		return;
	}
	if (!spawn_worker(conn, d->export_to, d->info.wire.device.busid, NULL))
		schedule_redial(d);
	close(conn);
}

static void retry_exports(void)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < MAX_EXPORTED && !b.draining; i++) {
		struct exported *d = &b.devices[i];

		if (d->used && !d->leaving && d->export_to[0] && !d->session &&
		    d->dial < 0 && d->retry_at <= now &&
		    reevaluate(d, "redial"))
			start_dial(d, i);
	}
}

/* Exports what the policy marks auto, if it is not exported yet. */
static void auto_export(const char *busid)
{
	struct usbdev_info info;
	char msg[256];

	if (!control_busid_valid(busid) || find_exported(busid) ||
	    usbdev_is_imported(busid) ||
	    usbdev_read_info(busid, &info, msg, sizeof(msg)) < 0)
		return;
	const struct policy_rule *rule = rule_for(&info);
	if (!policy_allows(rule) || !rule->autoexport)
		return;
	if (export_device(busid, rule->num_to ? rule->to[0] : NULL, msg,
			  sizeof(msg)) < 0)
		log_line("auto export %s (%s:%u): %s", busid, b.policy_path,
			 rule->line, msg);
}

static void auto_export_present(void)
{
	struct dirent **names;
	int n = scandir("/sys/bus/usb/devices", &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		auto_export(names[i]->d_name);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/* The new policy or the old one: never none. Every exported device is
 * judged again: what the new policy denies is unexported and its live
 * session ends. */
static int reload_policy(char *msg, size_t msg_len)
{
	int r = policy_load(b.policy_path, &b.policy, msg, msg_len);

	if (r < 0) {
		log_line("policy not reloaded, the old one stays: %s", msg);
		return r;
	}
	log_line("policy %s: %zu rules", b.policy_path, b.policy.num_rules);
	snprintf(msg, msg_len, "%zu rules", b.policy.num_rules);
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		if (b.devices[i].used && !b.devices[i].leaving)
			reevaluate(&b.devices[i], "reload");
	auto_export_present();
	return 0;
}

static void udev_event(void)
{
	struct udev_device *dev = udev_monitor_receive_device(b.monitor);
	const char *action, *name, *devtype;

	if (!dev)
		return;
	action = udev_device_get_action(dev);
	name = udev_device_get_sysname(dev);
	devtype = udev_device_get_devtype(dev);
	if (!action || !name || !devtype) {
		udev_device_unref(dev);
		return;
	}
	if (!strcmp(devtype, "usb_interface")) {
		/* An interface added: its device has a configuration now,
		 * its first, or another one its importer chose. */
		char busid[USBIP_BUSID_LEN];
		snprintf(busid, sizeof(busid), "%.*s", (int)strcspn(name, ":"),
			 name);
		struct exported *d = find_exported(busid);
		if (d && !strcmp(action, "add"))
			reevaluate(d, "configured");
	} else if (!strcmp(action, "remove")) {
		struct exported *d = find_exported(name);
		if (d)
			forget_device(d, false);
	} else if (!strcmp(action, "add") || !strcmp(action, "bind")) {
		/* bind: configured; a device judged before that is judged
		 * again on its interfaces. */
		struct exported *d = find_exported(name);
		if (d)
			reevaluate(d, "configured");
		else
			auto_export(name);
	}
	udev_device_unref(dev);
}

/* ---- control ----------------------------------------------------------- */

static void reply_list(struct control_reply *out)
{
	struct dirent **names;
	int n = scandir("/sys/bus/usb/devices", &names, NULL, alphasort);

	if (n < 0) {
		/* No USB on this host (no usbcore): an empty list. */
		if (errno != ENOENT) {
			char msg[128];
			snprintf(msg, sizeof(msg), "/sys/bus/usb/devices: %s",
				 strerror(errno));
			control_reply_error(out, msg);
		}
		return;
	}
	for (int i = 0; i < n; i++) {
		struct usbdev_info info;
		char msg[128];
		const char *busid = names[i]->d_name;

		if (control_busid_valid(busid) &&
		    usbdev_read_info(busid, &info, msg, sizeof(msg)) == 0) {
			struct exported *d = find_exported(busid);
			const struct policy_rule *rule = rule_for(&info);
			char verdict[32];
			snprintf(verdict, sizeof(verdict), "%s:%u",
				 verdict_of(&info, rule),
				 rule ? rule->line : 0);
			control_reply_row(out,
					  "%s\t%04x:%04x\t%s\t%u\t%s\t%s\t%s",
					  busid, info.wire.device.id_vendor,
					  info.wire.device.id_product,
					  info.product, info.wire.device.speed,
					  info.driver[0] ? info.driver : "-",
					  !d	       ? "no"
					  : d->session ? "in-use"
						       : "yes",
					  verdict);
		}
		free(names[i]);
	}
	free(names);
}

static void reply_status(struct control_reply *out)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < b.max_sessions; i++) {
		struct session *s = &b.sessions[i];
		if (!s->used)
			continue;
		control_reply_row(out,
				  "%s\t%s\t%s\t%d\t%ld\t%llu\t%llu\t%llu\t%llu",
				  s->dev ? s->dev->info.wire.device.busid : "-",
				  s->peer, s->outgoing ? "export" : "import",
				  (int)s->pid, (long)(now - s->started),
				  (unsigned long long)s->stats.urbs,
				  (unsigned long long)s->stats.bytes_in,
				  (unsigned long long)s->stats.bytes_out,
				  (unsigned long long)s->stats.errors);
	}
}

static void control_request(const struct control_request *req,
			    struct control_reply *out)
{
	char msg[256] = "", busid[USBIP_BUSID_LEN];
	int r = 0;

	/* A usbfs node names the device by its numbers: find its busid. */
	unsigned bus, dev;
	snprintf(busid, sizeof(busid), "%s", req->busid);
	if (busid[0] == '/' &&
	    (usb_node_numbers(req->busid, &bus, &dev) < 0 ||
	     usb_sysfs_busid_of(bus, dev, busid, sizeof(busid)) < 0)) {
		snprintf(msg, sizeof(msg), "no USB device at %s", req->busid);
		control_reply_error(out, msg);
		return;
	}
	switch (req->verb) {
	case CONTROL_LIST:
		reply_list(out);
		break;
	case CONTROL_STATUS:
		reply_status(out);
		break;
	case CONTROL_EXPORT:
		r = export_device(busid, req->address[0] ? req->address : NULL,
				  msg, sizeof(msg));
		break;
	case CONTROL_RELOAD:
		r = reload_policy(msg, sizeof(msg));
		break;
	case CONTROL_UNEXPORT: {
		struct exported *d = find_exported(busid);
		if (!d) {
			snprintf(msg, sizeof(msg), "%s is not exported", busid);
			r = -ENOENT;
		} else {
			forget_device(d, true);
		}
		break;
	}
	}
	if (r < 0)
		control_reply_error(out, msg);
}

/* Root, or a member of --control-group: as primary group or as one of
 * the peer's supplementary groups (SO_PEERGROUPS, the groups it had when
 * it connected). */
static bool control_peer_allowed(int fd, const struct ucred *cred)
{
	gid_t groups[NGROUPS_MAX_PEER];
	socklen_t len = sizeof(groups);

	if (cred->uid == 0)
		return true;
	if (!b.control_gid_set)
		return false;
	if (cred->gid == b.control_gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == b.control_gid)
			return true;
	return false;
}

static void control_connection(void)
{
	_cleanup_close_ int fd = accept4(b.control, NULL, NULL, SOCK_CLOEXEC);
	struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	socklen_t len = sizeof(cred);
	struct timeval tv = {.tv_sec = 1};
	struct control_request req;
	struct control_reply *out;
	char text[CONTROL_REQUEST_MAX + 1], msg[256];
	ssize_t n;

	if (fd < 0)
		return;
	/* A local client that says nothing must not stall the broker. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = recv(fd, text, sizeof(text), 0);
	if (n <= 0)
		return;
	out = control_reply_new();
	if (!out)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    !control_peer_allowed(fd, &cred)) {
		/* The request is read but not parsed; the refusal is said so
		 * that the user learns why rather than "no reply". */
		log_line("control: refused uid %u gid %u", cred.uid, cred.gid);
		control_reply_error(out, b.control_gid_set
						 ? "not allowed: root and the "
						   "--control-group only"
						 : "not allowed: root only");
	} else if (control_parse((size_t)n == sizeof(text) ? NULL : text,
				 (size_t)n, &req, msg, sizeof(msg)) < 0) {
		control_reply_error(out, msg);
	} else {
		control_request(&req, out);
	}
	control_reply_send(out, fd);
	control_reply_free(out);
}

/* ---- setup and loop ---------------------------------------------------- */

static void make_parent_dir(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
}

/*
 * One broker per control socket: a second one would unlink the first
 * one's socket and both would run, each with devices the other does not
 * know. The lock goes with its holder, however it ends. Returns the
 * lock's fd, held until exit.
 */
static int take_lock(const char *control_path, char *msg, size_t msg_len)
{
	char path[PATH_MAX], holder[16] = "";
	int fd, e;

	if ((size_t)snprintf(path, sizeof(path), "%s.lock", control_path) >=
	    sizeof(path)) {
		snprintf(msg, msg_len, "%.120s: path too long", control_path);
		return -ENAMETOOLONG;
	}
	make_parent_dir(path);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		e = errno;
		snprintf(msg, msg_len, "%.120s: %s", path, strerror(e));
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		e = errno;
		ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strspn(holder, "0123456789")] = '\0';
		if (e == EWOULDBLOCK)
			snprintf(msg, msg_len,
				 "another " PROGRAM " (pid %s) is running with "
				 "this control socket (it holds %.120s)",
				 holder[0] ? holder : "unknown", path);
		else
			snprintf(msg, msg_len, "%.120s: %s", path, strerror(e));
		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	if (ftruncate(fd, 0) < 0 || dprintf(fd, "%d\n", (int)getpid()) < 0) {
		e = errno;
		snprintf(msg, msg_len, "%.120s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

/*
 * The worker runs as WORKER_UID in its own user namespace: if that uid
 * cannot execute it, every session dies at exec (127), and nobody learns
 * it until a client comes. A child takes that uid to ask the kernel.
 */
static int check_worker(const char *path, char *msg, size_t msg_len)
{
	struct stat st;
	int status;
	pid_t pid;

	if (stat(path, &st) < 0) {
		int e = errno;
		snprintf(msg, msg_len, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, msg_len, "%s: not a regular file", path);
		return -EINVAL;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;
		snprintf(msg, msg_len, "fork: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		/* Not root (a test run): judged as this uid, then. */
		if (setresgid(WORKER_UID, WORKER_UID, WORKER_UID) == 0)
			(void)!setresuid(WORKER_UID, WORKER_UID, WORKER_UID);
		_exit(access(path, X_OK) == 0 ? 0 : errno & 0xff);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		int e = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
		snprintf(msg, msg_len, "%s: uid %d cannot run it: %s", path,
			 WORKER_UID, strerror(e));
		return -e;
	}
	return 0;
}

static int open_control(const char *path, char *msg, size_t msg_len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(msg, msg_len, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	make_parent_dir(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, b.control_gid_set ? 0660 : 0600) < 0 ||
	    /* Only the group changes: with the group among its own, the
	     * broker needs no CAP_CHOWN for that (the unit runs it so). */
	    (b.control_gid_set && chown(path, (uid_t)-1, b.control_gid) < 0) ||
	    listen(fd, 8) < 0) {
		int e = errno;
		snprintf(msg, msg_len, "%s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

/* At most b.rate connections per peer address and minute. */
static bool rate_allows(const struct policy_peer *who)
{
	time_t now = time(NULL), oldest = now;
	size_t slot = 0;

	for (size_t i = 0; i < RATE_TABLE; i++) {
		if (!memcmp(&b.rates[i].who, who, sizeof(*who))) {
			slot = i;
			goto found;
		}
		if (b.rates[i].window < oldest) {
			oldest = b.rates[i].window;
			slot = i;
		}
	}
	/* A new peer takes the least recently counted entry. */
	b.rates[slot].who = *who;
	b.rates[slot].window = now;
	b.rates[slot].count = 0;
found:
	if (now - b.rates[slot].window >= 60) {
		b.rates[slot].window = now;
		b.rates[slot].count = 0;
	}
	return ++b.rates[slot].count <= b.rate;
}

static void accept_client(size_t i)
{
	char peer[TRANSPORT_ADDR_STR_MAX];
	_cleanup_close_ int conn =
		transport_accept(b.listen[i], peer, sizeof(peer));
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	struct policy_peer who;

	if (conn < 0 || b.draining)
		return;
	if (getpeername(conn, (struct sockaddr *)&sa, &len) < 0 ||
	    policy_peer_from_sockaddr((struct sockaddr *)&sa, len, &who) < 0) {
		log_line("%s: refused: no peer address", peer);
		return;
	}
	if (b.num_listen_from[i] &&
	    !policy_net_contains(b.listen_from[i], b.num_listen_from[i],
				 &who)) {
		log_line("%s: refused: not in --from of %s", peer,
			 b.listen_name[i]);
		return;
	}
	if (!rate_allows(&who)) {
		log_line("%s: refused: more than %u connections a minute", peer,
			 b.rate);
		return;
	}
	if (sessions_of(&who) >= b.max_per_peer) {
		log_line("%s: refused: %u sessions from it already", peer,
			 b.max_per_peer);
		return;
	}
	spawn_worker(conn, peer, NULL, &who);
}

static void begin_drain(void)
{
	if (b.draining)
		return;
	b.draining = true;
	log_line("stopping: ending %s sessions within %d s", "all",
		 TERM_GRACE_S);
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "STOPPING=1");
#endif
	for (size_t i = 0; i < b.num_listen; i++)
		close(b.listen[i]);
	b.num_listen = 0;
	for (size_t i = 0; i < b.max_sessions; i++)
		if (b.sessions[i].used)
			session_stop(&b.sessions[i], NULL);
}

/* Every session over: sessions_tick kills what does not stop. */
static bool drained(void)
{
	bool any = false;

	for (size_t i = 0; i < b.max_sessions; i++)
		any |= b.sessions[i].used;
	return !any;
}

static void signal_event(void)
{
	struct signalfd_siginfo si;

	while (read(b.signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap_workers();
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			begin_drain();
		else if (si.ssi_signo == SIGHUP) {
			char msg[256];
			reload_policy(msg, sizeof(msg));
		}
	}
}

static int setup(char **listen_addrs, size_t num_listen)
{
	char msg[256];
	sigset_t mask;

	b.sessions = calloc(b.max_sessions, sizeof(*b.sessions));
	b.epoll = epoll_create1(EPOLL_CLOEXEC);
	if (!b.sessions || b.epoll < 0)
		return -ENOMEM;
	for (size_t i = 0; i < b.max_sessions; i++)
		b.sessions[i].ipc = -1;
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		b.devices[i].dial = -1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	b.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	watch(b.signal_fd, TAG(TAG_SIGNAL, 0));

	b.lock = take_lock(b.control_path, msg, sizeof(msg));
	if (b.lock < 0) {
		log_line("not starting: %s", msg);
		return b.lock;
	}
	b.control = open_control(b.control_path, msg, sizeof(msg));
	if (b.control < 0) {
		log_line("control socket: %s", msg);
		return b.control;
	}
	watch(b.control, TAG(TAG_CONTROL, 0));

	for (size_t i = 0; i < num_listen; i++) {
		struct transport_addr a;
		int fd;
		if (transport_parse(listen_addrs[i], &a, msg, sizeof(msg)) <
			    0 ||
		    (fd = transport_listen(&a, 16, msg, sizeof(msg))) < 0) {
			log_line("--listen %s: %s", listen_addrs[i], msg);
			return -EINVAL;
		}
		b.listen[b.num_listen] = fd;
		transport_format(&a, b.listen_name[b.num_listen],
				 sizeof(b.listen_name[0]));
		watch(fd, TAG(TAG_LISTEN, b.num_listen));
		b.num_listen++;
	}

	b.udev = udev_new();
	/* The kernel's own events, not udevd's: the broker reads sysfs
	 * itself and devtmpfs makes the node, so it needs nothing udev adds,
	 * and it works where no udevd runs (initramfs, minimal guests). */
	b.monitor =
		b.udev ? udev_monitor_new_from_netlink(b.udev, "kernel") : NULL;
	if (b.monitor &&
	    udev_monitor_filter_add_match_subsystem_devtype(
		    b.monitor, "usb", "usb_device") == 0 &&
	    udev_monitor_filter_add_match_subsystem_devtype(
		    b.monitor, "usb", "usb_interface") == 0 &&
	    udev_monitor_enable_receiving(b.monitor) == 0)
		watch(udev_monitor_get_fd(b.monitor), TAG(TAG_UDEV, 0));
	else
		log_line("no udev monitor: unplugged devices end their "
			 "sessions only when the worker sees it");

	b.timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec every_second = {{1, 0}, {1, 0}};
	timerfd_settime(b.timer_fd, 0, &every_second, NULL);
	watch(b.timer_fd, TAG(TAG_TIMER, 0));
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	return 0;
}

static int loop(void)
{
	for (;;) {
		struct epoll_event ev[16];
		int n = epoll_wait(b.epoll, ev, ARRAY_SIZE(ev), 1000);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint32_t index = (uint32_t)ev[i].data.u64;
			switch (ev[i].data.u64 >> 32) {
			case TAG_CONTROL:
				control_connection();
				break;
			case TAG_LISTEN:
				if (index < b.num_listen)
					accept_client(index);
				break;
			case TAG_SESSION:
				if (b.sessions[index].used &&
				    b.sessions[index].ipc >= 0)
					session_message(&b.sessions[index]);
				break;
			case TAG_SIGNAL:
				signal_event();
				break;
			case TAG_UDEV:
				udev_event();
				break;
			case TAG_DIAL:
				if (index < MAX_EXPORTED &&
				    b.devices[index].dial >= 0)
					dial_done(&b.devices[index]);
				break;
			case TAG_TIMER: {
				uint64_t ticks;
				if (read(b.timer_fd, &ticks, sizeof(ticks)) < 0)
					break;
				retry_exports();
				sessions_tick();
				break;
			}
			}
		}
		if (b.draining && drained())
			return 0;
	}
}

/* For udev's IMPORT{program}: the policy's verdict on BUSID as
 * KEY=VALUE lines, read from the file alone (the broker need not run). */
static int query_policy(const char *busid)
{
	struct usbdev_info info;
	char msg[256];

	if (!control_busid_valid(busid) ||
	    usbdev_read_info(busid, &info, msg, sizeof(msg)) < 0) {
		printf("USBIP_BROKER_POLICY=deny\n");
		return EXIT_OK;
	}
	const struct policy_rule *rule = rule_for(&info);
	const char *verdict = verdict_of(&info, rule);
	printf("USBIP_BROKER_POLICY=%s\n", verdict);
	if (rule)
		printf("USBIP_BROKER_RULE=%s:%u\n", b.policy_path, rule->line);
	if (!strcmp(verdict, "auto") && rule->num_to)
		printf("USBIP_BROKER_TO=%s\n", rule->to[0]);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* --usbfs-memory-mb, 0 when not given. */
static unsigned long usbfs_memory_mb;

/* The host's usbfs quota, raised if asked, split among the sessions:
 * every worker is told its share (it cannot read sysfs itself). */
static int usbfs_share_init(void)
{
	unsigned long mb = USBFS_MEMORY_MB_DEFAULT;
	int r = usbfs_memory_mb ? usbfs_quota_raise(USBFS_MEMORY_MB_PATH,
						    usbfs_memory_mb, &mb)
				: usbfs_quota_read(USBFS_MEMORY_MB_PATH, &mb);

	if (r < 0) {
		log_line("%s: %s; assuming %u MiB", USBFS_MEMORY_MB_PATH,
			 strerror(-r), USBFS_MEMORY_MB_DEFAULT);
		mb = USBFS_MEMORY_MB_DEFAULT;
	}
	uint64_t kib = usbfs_session_share_kib(mb, b.max_sessions);
	if (kib < 64) {
		log_line("a usbfs quota of %lu MiB leaves %llu KiB to each of "
			 "%u sessions: raise it (--usbfs-memory-mb) or lower "
			 "--max-sessions",
			 mb, (unsigned long long)kib, b.max_sessions);
		return -EINVAL;
	}
	snprintf(usbfs_share, sizeof(usbfs_share), "--usbfs-share=%llu",
		 (unsigned long long)kib);
	log_line("usbfs quota %lu MiB%s: %llu KiB for each of %u sessions", mb,
		 mb ? "" : " (off)", (unsigned long long)kib, b.max_sessions);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROGRAM " [OPTIONS]\n"
		"\n"
		"The privileged half of usbip-broker: opens USB devices, keeps "
		"host\n"
		"drivers off exported ones, and starts a sandboxed "
		"usbip-worker per\n"
		"session.\n"
		"\n"
		"  --listen ADDR        accept importers on ADDR (repeatable; "
		"default\n"
		"                       tcp:3240; also vsock:3240 (any CID), "
		"unix:PATH, fd:N)\n"
		"  --control PATH       control socket (default %s)\n"
		"  --control-group NAME also let this group use it (default: "
		"root only)\n"
		"  --worker PATH        the worker (default %s)\n"
		"  --max-sessions N     at most N sessions at once (default "
		"%d)\n"
		"  --from NET           importers the last --listen accepts "
		"(repeatable:\n"
		"                       IP[/BITS], vsock:CID, vsock:*, unix, "
		"any)\n"
		"  --policy FILE        the device policy (default %s)\n"
		"  --rate N             connections per peer and minute "
		"(default %d)\n"
		"  --max-per-peer N     at most N sessions from one peer "
		"address\n"
		"                       (default %d)\n"
		"  --import-timeout S   end a session that has no device after "
		"S seconds\n"
		"                       (default %d)\n"
		"  --export BUSID       export BUSID at start (repeatable)\n"
		"  --usbfs-memory-mb MB raise the host's usbfs quota to MB "
		"at start;\n"
		"                       each session gets 1/(max-sessions + 1) "
		"of it\n"
		"  --query-policy BUSID print the policy's verdict on BUSID "
		"for udev\n"
		"                       (USBIP_BROKER_POLICY=deny|allow|auto) "
		"and exit\n"
		"\n"
		"Exit status: 0 stopped by SIGTERM, 1 failure, 2 usage.\n",
		CONTROL_DEFAULT_PATH, USBIP_WORKER_PATH, DEFAULT_MAX_SESSIONS,
		DEFAULT_POLICY, DEFAULT_RATE, DEFAULT_MAX_PER_PEER,
		DEFAULT_IMPORT_TIMEOUT_S);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"listen", required_argument, NULL, 'l'},
		{"control", required_argument, NULL, 'c'},
		{"control-group", required_argument, NULL, 'g'},
		{"worker", required_argument, NULL, 'w'},
		{"max-sessions", required_argument, NULL, 'm'},
		{"export", required_argument, NULL, 'e'},
		{"policy", required_argument, NULL, 'P'},
		{"from", required_argument, NULL, 'f'},
		{"rate", required_argument, NULL, 'r'},
		{"max-per-peer", required_argument, NULL, 'p'},
		{"import-timeout", required_argument, NULL, 'T'},
		{"query-policy", required_argument, NULL, 'Q'},
		{"usbfs-memory-mb", required_argument, NULL, 'M'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char *listen_addrs[MAX_LISTEN], *exports[MAX_EXPORTED];
	size_t num_listen = 0, num_exports = 0;
	const char *query = NULL;
	char msg[256];
	int c;

	log_init(PROGRAM);
	b.worker = USBIP_WORKER_PATH;
	b.control_path = CONTROL_DEFAULT_PATH;
	b.max_sessions = DEFAULT_MAX_SESSIONS;
	b.policy_path = DEFAULT_POLICY;
	b.rate = DEFAULT_RATE;
	b.max_per_peer = DEFAULT_MAX_PER_PEER;
	b.import_timeout_s = DEFAULT_IMPORT_TIMEOUT_S;
	bool policy_given = false;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (num_listen == MAX_LISTEN) {
				log_line("at most %d --listen", MAX_LISTEN);
				return EXIT_USAGE;
			}
			listen_addrs[num_listen++] = optarg;
			break;
		case 'c':
			b.control_path = optarg;
			break;
		case 'g': {
			struct group *g = getgrnam(optarg);
			if (!g) {
				log_line("no group %s", optarg);
				return EXIT_USAGE;
			}
			b.control_gid = g->gr_gid;
			b.control_gid_set = true;
			break;
		}
		case 'w':
			b.worker = optarg;
			break;
		case 'm': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v == 0 || v > 1024) {
				log_line("--max-sessions: 1 to 1024");
				return EXIT_USAGE;
			}
			b.max_sessions = (unsigned)v;
			break;
		}
		case 'e':
			if (num_exports == MAX_EXPORTED) {
				log_line("at most %d --export", MAX_EXPORTED);
				return EXIT_USAGE;
			}
			exports[num_exports++] = optarg;
			break;
		case 'P':
			b.policy_path = optarg;
			policy_given = true;
			break;
		case 'f': {
			size_t l = num_listen - 1;
			if (num_listen == 0 ||
			    b.num_listen_from[l] == POLICY_MAX_NETS) {
				log_line(
					"--from follows a --listen, at most %d "
					"times",
					POLICY_MAX_NETS);
				return EXIT_USAGE;
			}
			if (policy_parse_net(
				    optarg,
				    &b.listen_from[l][b.num_listen_from[l]++],
				    msg, sizeof(msg)) < 0) {
				log_line("--%s", msg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'r': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v == 0 || v > 100000) {
				log_line("--rate: 1 to 100000 a minute");
				return EXIT_USAGE;
			}
			b.rate = (unsigned)v;
			break;
		}
		case 'p': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v == 0 || v > 1024) {
				log_line("--max-per-peer: 1 to 1024");
				return EXIT_USAGE;
			}
			b.max_per_peer = (unsigned)v;
			break;
		}
		case 'T': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v == 0 || v > 3600) {
				log_line("--import-timeout: 1 to 3600 s");
				return EXIT_USAGE;
			}
			b.import_timeout_s = (unsigned)v;
			break;
		}
		case 'Q':
			query = optarg;
			break;
		case 'M': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v == 0 || v > (1ul << 20)) {
				log_line("--usbfs-memory-mb: 1 to 1048576");
				return EXIT_USAGE;
			}
			usbfs_memory_mb = v;
			break;
		}
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (policy_load(b.policy_path, &b.policy, msg, sizeof(msg)) < 0) {
		/* No file at the default place: nothing is allowed, which is
		 * the default anyway. Anything else is a mistake to fix. */
		if (policy_given || access(b.policy_path, F_OK) == 0) {
			log_line("policy: %s", msg);
			return EXIT_FAIL;
		}
		if (!query)
			log_line("no policy at %s: every device is denied",
				 b.policy_path);
	}
	if (query)
		return query_policy(query);
	if (usbfs_share_init() < 0)
		return EXIT_USAGE;
	if (num_listen == 0)
		listen_addrs[num_listen++] = DEFAULT_LISTEN;
	if (check_worker(b.worker, msg, sizeof(msg)) < 0) {
		log_line("--worker %s", msg);
		return EXIT_FAIL;
	}
	if (setup(listen_addrs, num_listen) < 0)
		return EXIT_FAIL;
	for (size_t i = 0; i < num_exports; i++)
		if (export_device(exports[i], NULL, msg, sizeof(msg)) < 0)
			log_line("--export %s: %s", exports[i], msg);
	auto_export_present();
	log_line("ready: control %s, %zu listening socket(s), worker %s",
		 b.control_path, b.num_listen, b.worker);
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "READY=1");
#endif
	notify_status();
	int r = loop();
	/* Every worker is gone: every device can go back. */
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		if (b.devices[i].used)
			release_device(&b.devices[i], true);
	unlink(b.control_path);
	policy_clear(&b.policy);
	log_line("stopped");
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
