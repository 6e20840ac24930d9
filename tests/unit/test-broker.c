// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The broker's logic without a kernel or a device: the dispatch table
 * every worker message is checked against, the sessions' limits and
 * timeouts, what an importer sees, the policy judged again on a device,
 * and the redial backoff. Linked against the same objects as
 * usbip-brokerd (libusbip-brokerd-core); workers are plain children that
 * wait for a signal.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check-main.h"
#include "devices.h"
#include "dial.h"
#include "dial_confine.h"
#include "mounts.h"
#include "sessions.h"
#include "state.h"

static const struct policy_peer local = {
	.kind = POLICY_NET_IP, .family = AF_INET, .addr = {127, 0, 0, 1}};
static const struct policy_peer stranger = {
	.kind = POLICY_NET_IP, .family = AF_INET, .addr = {192, 0, 2, 1}};

/* Check forks each test: the state object starts fresh every time. */
static void setup(void)
{
	b.max_sessions = 4;
	b.import_timeout_s = 30;
	b.sessions = calloc(b.max_sessions, sizeof(*b.sessions));
	ck_assert_ptr_nonnull(b.sessions);
	for (size_t i = 0; i < b.max_sessions; i++)
		b.sessions[i].ipc = -1;
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		b.devices[i].dial = -1;
}

static void load(const char *text)
{
	char msg[256];

	policy_clear(&b.policy);
	ck_assert_int_eq(policy_parse(text, strlen(text), "t", &b.policy, msg,
				      sizeof(msg)),
			 0);
}

/* A worker that does nothing until a signal ends it. */
static pid_t idle_worker(void)
{
	int ready[2];
	char c;

	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Check's handler would pass SIGTERM on to the test. */
		signal(SIGTERM, SIG_DFL);
		(void)!write(ready[1], "", 1);
		pause();
		_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	close(ready[1]);
	return pid;
}

static int ended_by(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	return WTERMSIG(status);
}

/* A session in phase with a live channel; *worker_end is the worker's. */
static struct session *session(size_t i, enum session_phase phase,
			       int *worker_end)
{
	struct session *s = &b.sessions[i];
	int pair[2];

	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
	s->used = true;
	s->ipc = pair[0];
	s->phase = phase;
	s->started = time(NULL);
	s->who = local;
	snprintf(s->peer, sizeof(s->peer), "test");
	if (worker_end)
		*worker_end = pair[1];
	else
		close(pair[1]);
	return s;
}

static struct exported *device(const char *busid, unsigned devnum)
{
	struct exported *d = &b.devices[0];

	memset(d, 0, sizeof(*d));
	d->used = true;
	d->hub_fd = -1;
	d->dial = -1;
	snprintf(d->info.busid, sizeof(d->info.busid), "%s", busid);
	d->info.id_vendor = 1;
	d->info.id_product = 2;
	d->info.busnum = 1;
	d->info.devnum = devnum;
	return d;
}

static const char *breach(struct session *s, uint32_t type)
{
	static char why[128];
	struct ipc_message m = {.type = type};

	return session_breach(s, &m, why, sizeof(why));
}

START_TEST(dispatch_devlist_limit)
{
	struct session *s = session(0, PHASE_ASKING, NULL);

	for (int i = 0; i < 16; i++)
		ck_assert_ptr_null(breach(s, IPC_DEVLIST_REQUEST));
	ck_assert_str_eq(breach(s, IPC_DEVLIST_REQUEST),
			 "sent a device list request more than 16 times");
}
END_TEST

START_TEST(dispatch_open_once)
{
	struct session *s = session(0, PHASE_ASKING, NULL);

	ck_assert_ptr_null(breach(s, IPC_OPEN_REQUEST));
	ck_assert_str_eq(breach(s, IPC_OPEN_REQUEST),
			 "sent an open request more than 1 times");
}
END_TEST

START_TEST(dispatch_phases)
{
	struct session *s = session(0, PHASE_ASKING, NULL);

	ck_assert_str_eq(breach(s, IPC_STATS),
			 "sent counters before its grant");
	s->phase = PHASE_REFUSED;
	ck_assert_str_eq(breach(s, IPC_DEVLIST_REQUEST),
			 "sent a device list request after its refusal");
	ck_assert_str_eq(breach(s, IPC_STATS),
			 "sent counters after its refusal");
	s->phase = PHASE_GRANTED;
	ck_assert_str_eq(breach(s, IPC_OPEN_REQUEST),
			 "sent an open request after its grant");
	ck_assert_ptr_null(breach(s, IPC_STATS));
}
END_TEST

START_TEST(dispatch_unknown_type)
{
	struct session *s = session(0, PHASE_ASKING, NULL);

	/* 3 was a reset request that nothing sent: unknown now. */
	ck_assert_str_eq(breach(s, 3), "sent type 0x3");
	ck_assert_str_eq(breach(s, IPC_DEVLIST_ANSWER), "sent type 0x81");
}
END_TEST

START_TEST(dispatch_unread_answer)
{
	int worker;
	struct session *s = session(0, PHASE_ASKING, &worker);
	struct ipc_devlist_answer a = {0};

	ck_assert_int_eq(
		ipc_send(s->ipc, IPC_DEVLIST_ANSWER, &a, sizeof(a), -1), 0);
	ck_assert_str_eq(breach(s, IPC_DEVLIST_REQUEST),
			 "sent a device list request before reading the last "
			 "answer");
	close(worker);
}
END_TEST

START_TEST(dispatch_stats_rate)
{
	const char *last;
	time_t before;

	/* Five in one second; again if the second turned meanwhile. */
	do {
		struct session *s = session(0, PHASE_GRANTED, NULL);
		before = time(NULL);
		for (int i = 0; i < 4; i++)
			ck_assert_ptr_null(breach(s, IPC_STATS));
		last = breach(s, IPC_STATS);
		close(s->ipc);
	} while (time(NULL) != before);
	ck_assert_str_eq(last, "sent counters more than 4 times a second");
}
END_TEST

/* Anything the table does not allow kills the worker, with no grace. */
START_TEST(breach_kills_worker)
{
	int worker;
	struct session *s = session(0, PHASE_ASKING, &worker);
	struct ipc_stats stats = {0};

	s->pid = idle_worker();
	ck_assert_int_eq(ipc_send(worker, IPC_STATS, &stats, sizeof(stats), -1),
			 0);
	session_message(s);
	ck_assert_int_eq(s->ipc, -1);
	ck_assert_int_ne(s->kill_at, 0);
	ck_assert_int_eq(ended_by(s->pid), SIGKILL);
}
END_TEST

START_TEST(legit_devlist_answered)
{
	int worker, fd;
	struct session *s = session(0, PHASE_ASKING, &worker);
	struct ipc_message m;
	char msg[128];

	load("allow id 0001:0002 from 127.0.0.1\n");
	s->pid = getpid(); /* not signalled: the request is allowed */
	ck_assert_int_eq(ipc_send(worker, IPC_DEVLIST_REQUEST, NULL, 0, -1), 0);
	session_message(s);
	ck_assert_int_ge(s->ipc, 0);
	ck_assert_int_eq(s->kill_at, 0);
	ck_assert_int_eq(
		ipc_recv(worker, IPC_WORKER_SIDE, &m, &fd, msg, sizeof(msg)),
		0);
	ck_assert_uint_eq(m.type, IPC_DEVLIST_ANSWER);
	ck_assert_uint_eq(m.u.devlist.count, 0);
}
END_TEST

/* A refusal is an answer too: its errno, no descriptor, nothing of any
 * device, and the session has had its one question. */
static void ask_open(struct session *s, int worker, const char *busid,
		     int32_t expect)
{
	struct ipc_open_request req = {0};
	struct ipc_message m;
	char msg[128];
	int fd;

	snprintf(req.busid, sizeof(req.busid), "%s", busid);
	ck_assert_int_eq(
		ipc_send(worker, IPC_OPEN_REQUEST, &req, sizeof(req), -1), 0);
	session_message(s);
	ck_assert_int_ge(s->ipc, 0);
	ck_assert_int_eq(s->kill_at, 0);
	ck_assert_int_eq(
		ipc_recv(worker, IPC_WORKER_SIDE, &m, &fd, msg, sizeof(msg)),
		0);
	ck_assert_uint_eq(m.type, IPC_OPEN_ANSWER);
	ck_assert_int_eq(m.u.open_answer.status, expect);
	ck_assert_int_eq(fd, -1);
	ck_assert_str_eq(m.u.open_answer.device.device.busid, "");
	ck_assert_uint_eq(m.u.open_answer.device.device.id_vendor, 0);
	ck_assert_int_eq(s->phase, PHASE_REFUSED);
	ck_assert_ptr_null(s->dev);
}

START_TEST(open_refused_answered)
{
	int worker;
	struct session *s = session(0, PHASE_ASKING, &worker);

	load("allow id 0001:0002 from 127.0.0.1\n");
	s->pid = getpid(); /* not signalled: the request is allowed */
	ask_open(s, worker, "9-9", -ENODEV);

	/* The export flow's worker asks for another device than its own. */
	s = session(1, PHASE_ASKING, &worker);
	s->pid = getpid();
	s->outgoing = true;
	snprintf(s->bound_busid, sizeof(s->bound_busid), "1-1");
	ask_open(s, worker, "1-2", -EPERM);
}
END_TEST

/* The broker keeps its own record; the worker gets the wire form of it,
 * every field in its place. */
START_TEST(devlist_entry_from_record)
{
	struct usbdev_info info = {
		.busid = "3-1.4",
		.path = "/dev/bus/usb/003/012",
		.busnum = 3,
		.devnum = 12,
		.speed = 5,
		.id_vendor = 0x1234,
		.id_product = 0x5678,
		.bcd_device = 0x0102,
		.device_class = 0xef,
		.device_subclass = 2,
		.device_protocol = 1,
		.configuration_value = 1,
		.num_configurations = 2,
		.num_interfaces = 2,
		.interfaces = {{0x08, 0x06, 0x50}, {0x03, 0x01, 0x02}},
		.product = "not on the wire",
	};
	struct usbip_devlist_entry e;

	memset(&e, 0xa5, sizeof(e));
	devlist_entry_of(&info, &e);
	ck_assert_str_eq(e.device.busid, "3-1.4");
	ck_assert_str_eq(e.device.path, "/dev/bus/usb/003/012");
	ck_assert_uint_eq(e.device.busnum, 3);
	ck_assert_uint_eq(e.device.devnum, 12);
	ck_assert_uint_eq(e.device.speed, USBIP_SPEED_SUPER);
	ck_assert_uint_eq(e.device.id_vendor, 0x1234);
	ck_assert_uint_eq(e.device.id_product, 0x5678);
	ck_assert_uint_eq(e.device.bcd_device, 0x0102);
	ck_assert_uint_eq(e.device.device_class, 0xef);
	ck_assert_uint_eq(e.device.device_subclass, 2);
	ck_assert_uint_eq(e.device.device_protocol, 1);
	ck_assert_uint_eq(e.device.configuration_value, 1);
	ck_assert_uint_eq(e.device.num_configurations, 2);
	ck_assert_uint_eq(e.device.num_interfaces, 2);
	ck_assert_uint_eq(e.interfaces[0].interface_class, 0x08);
	ck_assert_uint_eq(e.interfaces[0].interface_subclass, 0x06);
	ck_assert_uint_eq(e.interfaces[0].interface_protocol, 0x50);
	ck_assert_uint_eq(e.interfaces[1].interface_class, 0x03);
	ck_assert_uint_eq(e.interfaces[1].interface_protocol, 0x02);
	/* Nothing of the old contents survives: no heap bytes to a peer. */
	ck_assert_uint_eq(e.interfaces[2].interface_class, 0);
	ck_assert_uint_eq(e.device.path[sizeof(e.device.path) - 1], 0);
	ck_assert_uint_eq(e.device.busid[sizeof(e.device.busid) - 1], 0);
}
END_TEST

/* The policy judges the interfaces of the broker's record. */
START_TEST(policy_judges_record_interfaces)
{
	struct exported *d = device("1-1", 2);

	load("allow with-interface 08:06:50\n");
	d->info.configuration_value = 1;
	d->info.num_interfaces = 2;
	d->info.interfaces[1] = (struct usbdev_interface){0x08, 0x06, 0x50};
	ck_assert_ptr_nonnull(allowing_rule(&d->info));
	d->info.interfaces[1].protocol = 0x62; /* UAS, not bulk-only */
	ck_assert_ptr_null(allowing_rule(&d->info));
}
END_TEST

START_TEST(import_timeout_stops)
{
	struct session *s = session(0, PHASE_ASKING, NULL);

	s->pid = idle_worker();
	s->started = time(NULL) - 31;
	sessions_tick();
	ck_assert_int_ne(s->kill_at, 0);
	ck_assert_int_eq(ended_by(s->pid), SIGTERM);
}
END_TEST

START_TEST(granted_session_not_timed_out)
{
	struct session *s = session(0, PHASE_GRANTED, NULL);

	s->pid = getpid();
	s->started = time(NULL) - 3600;
	sessions_tick();
	ck_assert_int_eq(s->kill_at, 0);
}
END_TEST

START_TEST(sessions_per_peer)
{
	session(0, PHASE_ASKING, NULL);
	session(1, PHASE_GRANTED, NULL);
	session(2, PHASE_ASKING, NULL)->who = stranger;
	session(3, PHASE_ASKING, NULL)->outgoing = true;
	ck_assert_uint_eq(sessions_of(&local), 2);
	ck_assert_uint_eq(sessions_of(&stranger), 1);
}
END_TEST

/* Whoever holds a /64 has all of it: one peer for the limits. */
START_TEST(sessions_per_ipv6_prefix)
{
	struct policy_peer a = {.kind = POLICY_NET_IP,
				.family = AF_INET6,
				.addr = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0,
					 0, 0, 0, 0, 0, 0, 1}};
	struct policy_peer same = a, other = a;

	same.addr[15] = 2; /* another host in the /64 */
	other.addr[7] = 2; /* another /64 */
	session(0, PHASE_ASKING, NULL)->who = a;
	session(1, PHASE_ASKING, NULL)->who = same;
	session(2, PHASE_ASKING, NULL)->who = other;
	ck_assert_uint_eq(sessions_of(&a), 2);
	ck_assert_uint_eq(sessions_of(&other), 1);
}
END_TEST

START_TEST(redial_backoff)
{
	static const unsigned expect[] = {1, 2, 4, 8, 16, 32, 60, 60};
	struct exported *d = device("1-1", 2);

	srandom(1);
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		time_t now = time(NULL);
		schedule_redial(d);
		ck_assert_uint_eq(d->backoff_s, expect[i]);
		/* Jitter: up to a quarter more, never less. */
		ck_assert_int_ge(d->retry_at, now + expect[i]);
		ck_assert_int_le(d->retry_at,
				 now + 1 + expect[i] + expect[i] / 4);
	}
}
END_TEST

/* An interface numbered past what the policy sees (32 and up) keeps the
 * device home, whatever the rules say. */
START_TEST(unjudged_interface_denied)
{
	struct exported *d = device("1-1", 2);

	load("allow id 0001:0002\n");
	ck_assert_str_eq(verdict_of(&d->info, rule_for(&d->info)), "allow");
	d->info.unjudged_interface = true;
	ck_assert_str_eq(verdict_of(&d->info, rule_for(&d->info)), "deny");
	ck_assert_ptr_null(allowing_rule(&d->info));
}
END_TEST

START_TEST(importer_sees_what_policy_names)
{
	struct session *s = session(0, PHASE_ASKING, NULL);
	struct exported *d = device("1-1", 2);

	load("allow id 0001:0002 from 127.0.0.1\n");
	ck_assert(visible_to(s, d));
	s->who = stranger;
	ck_assert(!visible_to(s, d));
	s->who = local;
	load("allow id 0003:0004 from 127.0.0.1\n");
	ck_assert(!visible_to(s, d));
}
END_TEST

START_TEST(reevaluation)
{
	struct exported *d = device("1-1", 2);
	struct usbdev_info now = d->info;
	const char *why;

	load("allow id 0001:0002 to tcp:127.0.0.1:4010 from any\n");
	ck_assert_ptr_nonnull(judge_again(d, &now, &why));
	ck_assert_ptr_null(judge_again(d, NULL, &why));
	ck_assert_str_eq(why, "the device is gone or another one");
	now.devnum = 3; /* unplugged, another in its place */
	ck_assert_ptr_null(judge_again(d, &now, &why));
	ck_assert_str_eq(why, "the device is gone or another one");
	now.devnum = 2;
	now.id_product = 9; /* now another product */
	ck_assert_ptr_null(judge_again(d, &now, &why));
	ck_assert_str_eq(why, "the policy denies it now");
	now.id_product = 2;
	snprintf(d->export_to, sizeof(d->export_to), "tcp:127.0.0.1:4011");
	ck_assert_ptr_null(judge_again(d, &now, &why));
	ck_assert_str_eq(why, "its rule no longer names the destination");
}
END_TEST

/* A reload that no longer names the importer ends its session; the
 * device stays exported. */
START_TEST(reevaluation_stops_unnamed_importer)
{
	struct session *s = session(0, PHASE_GRANTED, NULL);
	struct exported *d = device("1-1", 2);
	const char *why;

	s->pid = idle_worker();
	s->who = stranger;
	s->dev = d;
	d->session = s;
	load("allow id 0001:0002 from 127.0.0.1\n");
	const struct policy_rule *rule = judge_again(d, &d->info, &why);
	ck_assert_ptr_nonnull(rule);
	ck_assert_ptr_eq(apply_judgement(d, rule, "reload", why), rule);
	ck_assert(d->used);
	ck_assert_int_ne(s->kill_at, 0);
	ck_assert_int_eq(ended_by(s->pid), SIGTERM);
}
END_TEST

/* Denied now, in a session: the device leaves once its worker is gone. */
START_TEST(reevaluation_unexports)
{
	struct session *s = session(0, PHASE_GRANTED, NULL);
	struct exported *d = device("1-1", 2);
	const char *why;

	s->pid = idle_worker();
	s->dev = d;
	d->session = s;
	load("deny id 0001:0002\n");
	ck_assert_ptr_null(judge_again(d, &d->info, &why));
	ck_assert_ptr_null(apply_judgement(d, NULL, "reload", why));
	ck_assert(d->leaving);
	ck_assert_ptr_null(find_exported("1-1"));
	ck_assert_int_eq(ended_by(s->pid), SIGTERM);
}
END_TEST

/* Issue 14 item 8: the give-back (a reset and the drivers' probes) runs
 * in a child, off the loop, and the device is not exported again until
 * that child is reaped. */
START_TEST(give_back_in_child_blocks_export)
{
	struct exported *d = device("9-9", 250);
	char msg[256];
	int status;

	d->info.busnum = 250; /* no such node: the child finds nothing */
	release_device(d, true);
	ck_assert(!d->used);
	ck_assert(giving_back("9-9"));
	ck_assert(!giving_back("9-8"));
	ck_assert_int_eq(export_device("9-9", NULL, msg, sizeof(msg)), -EBUSY);
	ck_assert_ptr_nonnull(strstr(msg, "being given back"));
	pid_t pid = waitpid(-1, &status, 0);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_ne(pid, getpid());
	ck_assert(give_back_reaped(pid, status));
	ck_assert(!giving_back("9-9"));
	ck_assert(!giving_back_any());
	ck_assert(!give_back_reaped(pid, status));
}
END_TEST

/* The dialler as start_dial runs it: confined, then a name resolved and
 * connected to. Root only (it drops to nobody); elsewhere it says so. */
static int dialler_child(const char *address, bool exec_after)
{
	struct transport_addr a;
	char msg[256], status[4096];
	int fd;

	if (dial_confine(DIAL_UID, DIAL_UID, false, msg, sizeof(msg)) < 0)
		return 10;
	if (getuid() != DIAL_UID || geteuid() != DIAL_UID ||
	    getgid() != DIAL_UID)
		return 11;
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, status, sizeof(status) - 1);
	if (n <= 0)
		return 12;
	status[n] = '\0';
	if (!strstr(status, "CapEff:\t0000000000000000") ||
	    !strstr(status, "CapPrm:\t0000000000000000") ||
	    !strstr(status, "NoNewPrivs:\t1") || !strstr(status, "Seccomp:\t2"))
		return 13;
	if (exec_after) {
		execl("/bin/true", "true", (char *)NULL);
		return 14; /* not killed: the filter let exec through */
	}
	/* No local socket: not the control socket, not usbip-attach's. */
	errno = 0;
	if (socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) >= 0 ||
	    errno != EACCES)
		return 16;
	if (transport_parse(address, &a, msg, sizeof(msg)) < 0 ||
	    transport_connect(&a, msg, sizeof(msg)) < 0)
		return 15;
	return 0;
}

static int run_dialler(const char *address, bool exec_after)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(dialler_child(address, exec_after));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

START_TEST(dialler_confined)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	char address[64];
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (geteuid() != 0) {
		fprintf(stderr, "dialler_confined: needs root to drop to "
				"nobody; not run\n");
		return;
	}
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	/* A name, so that getaddrinfo runs under the filter. */
	snprintf(address, sizeof(address), "tcp:localhost:%u",
		 ntohs(sa.sin_port));
	int status = run_dialler(address, false);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "dialler status 0x%x", status);
	close(l);
}
END_TEST

START_TEST(dialler_cannot_exec)
{
	if (geteuid() != 0) {
		fprintf(stderr, "dialler_cannot_exec: needs root; not run\n");
		return;
	}
	int status = run_dialler(NULL, true);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		      "dialler status 0x%x", status);
}
END_TEST

/* An export session whose worker has not yet asked for its device (a
 * slow machine: still starting, or handshaking) is the device's one
 * outgoing session: the device is not dialled again meanwhile. (The
 * redial would reevaluate the device, find it gone from this host's
 * sysfs and unexport it.) */
START_TEST(no_redial_while_export_session_asks)
{
	struct exported *d = device("9-9", 2);
	snprintf(d->export_to, sizeof(d->export_to), "127.0.0.1:3240");
	d->retry_at = 0;
	struct session *s = session(0, PHASE_ASKING, NULL);
	s->outgoing = true;
	snprintf(s->bound_busid, sizeof(s->bound_busid), "9-9");
	s->pid = idle_worker();

	retry_exports();
	ck_assert(d->used);
	ck_assert_int_eq(d->dial, -1);
	kill(s->pid, SIGKILL);
}
END_TEST

/* Unexported meanwhile, the device's pending worker is stopped: it
 * must not ask later and get the device exported again. */
START_TEST(unexport_stops_pending_export_session)
{
	struct exported *d = device("9-9", 2);
	snprintf(d->export_to, sizeof(d->export_to), "127.0.0.1:3240");
	struct session *s = session(0, PHASE_ASKING, NULL);
	s->outgoing = true;
	snprintf(s->bound_busid, sizeof(s->bound_busid), "9-9");
	s->pid = idle_worker();

	forget_device(d, false);
	ck_assert(!d->used);
	ck_assert_int_ne(s->kill_at, 0);
	ck_assert_int_eq(ended_by(s->pid), SIGTERM);
}
END_TEST

/* That session ending ungranted restarts the backoff from its end. */
START_TEST(ungranted_export_session_backs_off)
{
	struct exported *d = device("9-9", 2);
	snprintf(d->export_to, sizeof(d->export_to), "127.0.0.1:3240");
	d->retry_at = 0;
	d->backoff_s = 2;
	struct session *s = session(0, PHASE_ASKING, NULL);
	s->outgoing = true;
	snprintf(s->bound_busid, sizeof(s->bound_busid), "9-9");
	s->pid = idle_worker();

	kill(s->pid, SIGKILL);
	while (s->used)
		reap_workers();
	time_t now = time(NULL);
	ck_assert_uint_eq(d->backoff_s, 4);
	ck_assert_int_ge(d->retry_at, now + 4);
}
END_TEST

static int open_fds(void)
{
	int n = 0;
	DIR *dir = opendir("/proc/self/fd");

	ck_assert_ptr_nonnull(dir);
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

/* A dialler (confined, but it parses DNS answers) that sends two
 * descriptors where one is due: neither stays open in the broker (the
 * answer buffer's padding has room for the second). */
START_TEST(dialler_extra_fds_closed)
{
	struct exported *d = device("9-9", 2);
	int pair[2], extra[2], fds[2];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(fds))];
	} control;
	struct iovec iov = {.iov_base = "", .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.buf,
			    .msg_controllen = sizeof(control.buf)};

	d->used = false; /* nothing to serve: only the answer is read */
	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, extra), 0);
	struct cmsghdr *c = &control.align; /* the first header */
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(fds, extra, sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	ck_assert_int_eq(sendmsg(pair[1], &mh, 0), 1);
	close(extra[0]);
	close(extra[1]);
	close(pair[1]);
	int before = open_fds();
	d->dial = pair[0];
	dial_done(d);
	ck_assert_int_eq(d->dial, -1);
	ck_assert_int_eq(open_fds(), before - 1); /* its channel, no more */
}
END_TEST

/* Issue 16 item 3: the one message that asks a worker to send
 * OP_REQ_UNEXPORT goes only to a granted export session's worker, with
 * its socket, and the session is stopped with the longer grace either
 * way. */
START_TEST(unexport_only_to_granted_export)
{
	struct ipc_message m;
	char msg[256];
	int pair[2], worker_end, fd = -1;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    pair),
			 0);
	struct session *asking = session(0, PHASE_ASKING, NULL);
	asking->outgoing = true;
	asking->pid = idle_worker();
	ck_assert_int_eq(session_unexport(asking, pair[0]), -EPERM);
	ck_assert_int_eq(ended_by(asking->pid), SIGTERM);

	struct session *import = session(1, PHASE_GRANTED, NULL);
	import->pid = idle_worker();
	ck_assert_int_eq(session_unexport(import, pair[0]), -EPERM);
	ck_assert_int_eq(ended_by(import->pid), SIGTERM);

	struct session *s = session(2, PHASE_GRANTED, &worker_end);
	s->outgoing = true;
	s->pid = idle_worker();
	time_t now = time(NULL);
	ck_assert_int_eq(session_unexport(s, pair[0]), 0);
	ck_assert_int_ge(s->kill_at, now + TERM_GRACE_S + UNEXPORT_REPLY_S);
	ck_assert_int_eq(ipc_recv(worker_end, IPC_WORKER_SIDE, &m, &fd, msg,
				  sizeof(msg)),
			 0);
	ck_assert_uint_eq(m.type, IPC_UNEXPORT);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ended_by(s->pid), SIGTERM);
	close(fd);
	close(worker_end);
	close(pair[0]);
	close(pair[1]);
}
END_TEST

/* Issue 16 item 4: a fake sysfs with a USB disk 1-1 (sda, sda1, sda2,
 * dm-0 stacked on sda2) and another disk 2-1 (sdb). */
static void mount_tree(char *root, size_t len)
{
	char cmd[2048];

	snprintf(root, len, "/tmp/test-mounts.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd %s; d=devices/pci0/usb1/1-1/1-1:1.0/host0/block;"
		 "mkdir -p $d/sda/sda1 $d/sda/sda2/holders devices/virtual/dm-0"
		 " devices/pci0/usb2/2-1/host1/block/sdb bus/usb/devices"
		 " class/block;"
		 "echo 8:0 >$d/sda/dev; echo 8:1 >$d/sda/sda1/dev;"
		 "echo 8:2 >$d/sda/sda2/dev; echo 254:0 >devices/virtual/dm-0/dev;"
		 "echo 8:16 >devices/pci0/usb2/2-1/host1/block/sdb/dev;"
		 "ln -s ../../../devices/pci0/usb1/1-1 bus/usb/devices/1-1;"
		 "ln -s ../../../devices/pci0/usb2/2-1 bus/usb/devices/2-1;"
		 "ln -s ../../$d/sda class/block/sda;"
		 "ln -s ../../$d/sda/sda1 class/block/sda1;"
		 "ln -s ../../$d/sda/sda2 class/block/sda2;"
		 "ln -s ../../devices/virtual/dm-0 class/block/dm-0;"
		 "ln -s ../../devices/pci0/usb2/2-1/host1/block/sdb class/block/sdb;"
		 "ln -s ../../../../../../../../../../devices/virtual/dm-0 "
		 "$d/sda/sda2/holders/dm-0;"
		 "printf '%%s\\n' "
		 "'22 1 0:21 / /proc rw - proc proc rw'"
		 " '40 1 8:1 / /media/usb\\040stick rw - vfat /dev/sda1 rw'"
		 " '41 1 254:0 / /home/crypt rw - ext4 /dev/dm-0 rw'"
		 " '42 1 8:16 / /mnt/other rw - ext4 /dev/sdb rw' >mountinfo",
		 root);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(mounted_disks_named)
{
	char root[64], mountinfo[96], out[256], cmd[512];

	mount_tree(root, sizeof(root));
	snprintf(mountinfo, sizeof(mountinfo), "%s/mountinfo", root);
	ck_assert_int_eq(mounts_of_usb_device(root, mountinfo, NULL, "1-1", out,
					      sizeof(out)),
			 2);
	ck_assert_str_eq(out, "/media/usb\\040stick (sda1), "
			      "/home/crypt (dm-0)");
	ck_assert_int_eq(mounts_of_usb_device(root, mountinfo, NULL, "2-1", out,
					      sizeof(out)),
			 1);
	ck_assert_str_eq(out, "/mnt/other (sdb)");
	/* A short buffer says there is more. */
	ck_assert_int_eq(
		mounts_of_usb_device(root, mountinfo, NULL, "1-1", out, 16), 2);
	ck_assert_str_eq(out + strlen(out) - 3, "...");
	/* Nothing mounted, no block device: none. */
	snprintf(cmd, sizeof(cmd), "grep -v '8:\\|254' %s/mountinfo >%s/m2",
		 root, root);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(mountinfo, sizeof(mountinfo), "%s/m2", root);
	ck_assert_int_eq(mounts_of_usb_device(root, mountinfo, NULL, "1-1", out,
					      sizeof(out)),
			 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_lt(mounts_of_usb_device(root, mountinfo, NULL, "3-1", out,
					      sizeof(out)),
			 0);
	/* A line longer than the reader's piece (a mount point of escaped
	 * spaces, each \040) is still a mount, not skipped; so is one whose
	 * bind-mount root alone fills the piece. */
	snprintf(mountinfo, sizeof(mountinfo), "%s/m3", root);
	FILE *f = fopen(mountinfo, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "40 1 8:1 / /media/");
	for (int i = 0; i < 3000; i++)
		fprintf(f, "\\040");
	fprintf(f, " rw - vfat /dev/sda1 rw\n41 1 254:0 /");
	for (int i = 0; i < 3000; i++)
		fprintf(f, "deep/");
	fprintf(f, " /home/crypt rw - ext4 /dev/dm-0 rw\n");
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(mounts_of_usb_device(root, mountinfo, NULL, "1-1", out,
					      sizeof(out)),
			 2);
	/* A swap partition is in no mountinfo; /proc/swaps names it by
	 * its node's path (a swap file named like a disk is not one). */
	snprintf(cmd, sizeof(cmd), "%s/swaps", root);
	f = fopen(cmd, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
		   "/nonexistent/sda1\tfile\t1024\t0\t-2\n"
		   "/dev/sdb\tpartition\t1024\t0\t-2\n"
		   "/dev/sda2\tpartition\t1024\t0\t-2\n");
	ck_assert_int_eq(fclose(f), 0);
	snprintf(mountinfo, sizeof(mountinfo), "%s/m2", root);
	ck_assert_int_eq(mounts_of_usb_device(root, mountinfo, cmd, "1-1", out,
					      sizeof(out)),
			 1);
	ck_assert_str_eq(out, "[swap] (sda2)");

	/* A disk with more partitions than are looked at (GPT has 128):
	 * not "nothing mounted", whichever of them is. */
	for (int i = 3; i <= 80; i++) {
		static const char sda[] =
			"devices/pci0/usb1/1-1/1-1:1.0/host0/block/sda";
		char dir[200], link[256];
		snprintf(dir, sizeof(dir), "%s/%s/sda%d", root, sda, i);
		ck_assert_int_eq(mkdir(dir, 0755), 0);
		snprintf(link, sizeof(link), "%s/class/block/sda%d", root, i);
		snprintf(cmd, sizeof(cmd), "../../%s/sda%d", sda, i);
		ck_assert_int_eq(symlink(cmd, link), 0);
		snprintf(link, sizeof(link), "%s/dev", dir);
		f = fopen(link, "we");
		ck_assert_ptr_nonnull(f);
		fprintf(f, "259:%d\n", i);
		ck_assert_int_eq(fclose(f), 0);
	}
	snprintf(mountinfo, sizeof(mountinfo), "%s/m4", root);
	f = fopen(mountinfo, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "50 1 259:80 / /mnt/p80 rw - ext4 /dev/sda80 rw\n");
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(mounts_of_usb_device(root, mountinfo, NULL, "1-1", out,
					      sizeof(out)),
			 -E2BIG);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Rootless mode: the dialler keeps the broker's uid, so what that uid
 * owns is hidden from it; it still resolves and connects. */
static int hidden_dialler_child(const char *address, const char *hidden)
{
	const char *hide[] = {"/dev", hidden, NULL};
	struct transport_addr a;
	char msg[256], path[512];
	int fd;

	if (setgroups(0, NULL) < 0 || setresgid(4242, 4242, 4242) < 0 ||
	    setresuid(4242, 4242, 4242) < 0)
		return 9;
	if (dial_confine_hiding(DIAL_UID, DIAL_UID, hide, false, msg,
				sizeof(msg)) < 0)
		return 10;
	if (getuid() != 4242 || geteuid() != 4242)
		return 11;
	snprintf(path, sizeof(path), "%s/owned", hidden);
	if (access("/dev/null", F_OK) == 0 || access(path, F_OK) == 0)
		return 12;
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	char status[4096];
	ssize_t n = fd < 0 ? -1 : read(fd, status, sizeof(status) - 1);
	if (n <= 0)
		return 13;
	status[n] = '\0';
	if (!strstr(status, "CapEff:\t0000000000000000") ||
	    !strstr(status, "NoNewPrivs:\t1") || !strstr(status, "Seccomp:\t2"))
		return 14;
	if (transport_parse(address, &a, msg, sizeof(msg)) < 0 ||
	    transport_connect(&a, msg, sizeof(msg)) < 0)
		return 15;
	return 0;
}

START_TEST(dialler_rootless_hides)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	char address[64], dir[] = "/tmp/dialler-hide.XXXXXX", owned[64];
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status;

	if (geteuid() != 0) {
		fprintf(stderr, "dialler_rootless_hides: needs root to take "
				"another uid; not run\n");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(owned, sizeof(owned), "%s/owned", dir);
	int f = open(owned, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	ck_assert_int_ge(f, 0);
	close(f);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	snprintf(address, sizeof(address), "tcp:localhost:%u",
		 ntohs(sa.sin_port));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(hidden_dialler_child(address, dir));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	unlink(owned);
	rmdir(dir);
	close(l);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "dialler status 0x%x", status);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("broker");
	TCase *t = tcase_create("broker");

	tcase_add_checked_fixture(t, setup, NULL);
	tcase_add_test(t, dispatch_devlist_limit);
	tcase_add_test(t, dispatch_open_once);
	tcase_add_test(t, dispatch_phases);
	tcase_add_test(t, dispatch_unknown_type);
	tcase_add_test(t, dispatch_unread_answer);
	tcase_add_test(t, dispatch_stats_rate);
	tcase_add_test(t, breach_kills_worker);
	tcase_add_test(t, legit_devlist_answered);
	tcase_add_test(t, open_refused_answered);
	tcase_add_test(t, devlist_entry_from_record);
	tcase_add_test(t, policy_judges_record_interfaces);
	tcase_add_test(t, import_timeout_stops);
	tcase_add_test(t, granted_session_not_timed_out);
	tcase_add_test(t, sessions_per_peer);
	tcase_add_test(t, sessions_per_ipv6_prefix);
	tcase_add_test(t, unjudged_interface_denied);
	tcase_add_test(t, redial_backoff);
	tcase_add_test(t, no_redial_while_export_session_asks);
	tcase_add_test(t, ungranted_export_session_backs_off);
	tcase_add_test(t, unexport_stops_pending_export_session);
	tcase_add_test(t, importer_sees_what_policy_names);
	tcase_add_test(t, reevaluation);
	tcase_add_test(t, reevaluation_stops_unnamed_importer);
	tcase_add_test(t, reevaluation_unexports);
	tcase_add_test(t, give_back_in_child_blocks_export);
	tcase_add_test(t, dialler_confined);
	tcase_add_test(t, mounted_disks_named);
	tcase_add_test(t, unexport_only_to_granted_export);
	tcase_add_test(t, dialler_cannot_exec);
	tcase_add_test(t, dialler_extra_fds_closed);
	tcase_add_test(t, dialler_rootless_hides);
	suite_add_tcase(s, t);
	return run_suite(s);
}
