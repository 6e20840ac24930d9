// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The exported devices: export and unexport, the policy's verdict on a
 * device as it is now, and the backoff between attempts to dial a --to
 * destination. Below the sessions: it ends a device's session only
 * through session_stop (state.h) and learns of its end from
 * sessions.c (README.md: the layers).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "grant.h"
#include "log.h"
#include "macros.h"
#include "mounts.h"

#define BACKOFF_MAX_S 60

/* Devices a child is giving back (release_device): one slot per
 * exported device at most, since each came from one. */
static struct {
	pid_t pid; /* 0: free */
	char busid[USBDEV_BUSID_LEN];
	bool added; /* a hotplug add or bind came meanwhile */
} giving[MAX_EXPORTED];

/* Given back with an add or bind in between: judged again once the
 * child is gone (give_back_next_added). */
static char added_after[MAX_EXPORTED][USBDEV_BUSID_LEN];
static size_t num_added_after;

bool give_back_note_added(const char *busid)
{
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		if (giving[i].pid && !strcmp(giving[i].busid, busid)) {
			giving[i].added = true;
			return true;
		}
	return false;
}

bool give_back_next_added(char *busid, size_t len)
{
	if (!num_added_after)
		return false;
	num_added_after--;
	snprintf(busid, len, "%s", added_after[num_added_after]);
	return true;
}

bool giving_back(const char *busid)
{
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		if (giving[i].pid && !strcmp(giving[i].busid, busid))
			return true;
	return false;
}

bool giving_back_any(void)
{
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		if (giving[i].pid)
			return true;
	return false;
}

void give_back_left_running(void)
{
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		if (giving[i].pid)
			log_line("%s: still being given back by process %d at "
				 "the stop; it finishes on its own",
				 giving[i].busid, (int)giving[i].pid);
}

bool give_back_reaped(pid_t pid, int status)
{
	for (size_t i = 0; i < MAX_EXPORTED; i++) {
		if (giving[i].pid != pid)
			continue;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			log_line("%s: giving it back: the child %s %d",
				 giving[i].busid,
				 WIFSIGNALED(status) ? "was killed by signal"
						     : "exited",
				 WIFSIGNALED(status) ? WTERMSIG(status)
						     : WEXITSTATUS(status));
		log_step("broker: %s given back", giving[i].busid);
		/* One slot per giving[] slot: never full. */
		if (giving[i].added && num_added_after < MAX_EXPORTED)
			snprintf(added_after[num_added_after++],
				 sizeof(added_after[0]), "%s", giving[i].busid);
		giving[i].added = false;
		giving[i].pid = 0;
		return true;
	}
	return false;
}

#ifdef USBIP_TEST_HOOKS
/* Test builds only: USBIP_BROKER_TEST_GIVE_BACK_MS=N (at most 20000) holds
 * each give-back child N ms before the reset, while the device has no
 * driver, so that the guest tests can stop the broker, export or plug in
 * during a give-back at a time of their choosing;
 * USBIP_BROKER_TEST_GIVE_BACK_BUSID=BUSID, if set, holds only BUSID's. */
static void test_hook_slow_give_back(const char *busid)
{
	const char *v = getenv("USBIP_BROKER_TEST_GIVE_BACK_MS");
	const char *only = getenv("USBIP_BROKER_TEST_GIVE_BACK_BUSID");
	unsigned long ms = v ? strtoul(v, NULL, 10) : 0;
	struct timespec t;

	if (!ms || ms > 20000 || (only && strcmp(only, busid)))
		return;
	log_line("test hook: the give-back waits %lu ms", ms);
	t.tv_sec = (time_t)(ms / 1000);
	t.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}
#else
static void test_hook_slow_give_back(const char *busid)
{
	(void)busid;
}
#endif

/* The give-back of info in a child, so that the loop goes on: 0, or a
 * negative errno when none could be forked (then the caller does it). */
static int give_back_in_child(const struct usbdev_info *info)
{
	size_t slot = MAX_EXPORTED;
	sigset_t none;
	pid_t pid;

	for (size_t i = 0; i < MAX_EXPORTED && slot == MAX_EXPORTED; i++)
		if (!giving[i].pid)
			slot = i;
	if (slot == MAX_EXPORTED)
		return -ENOSPC;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Nothing of the broker's but the log: no listener or
		 * control socket outlives the broker in it. */
		if (syscall(SYS_close_range, 3, ~0u, 0) < 0)
			for (int fd = 3; fd < 65536; fd++)
				close(fd);
		/* A service stop signals every process of the unit: a reset
		 * or a probe cut short would leave the device with no
		 * driver. The broker's drain waits for this child, and
		 * systemd's SIGKILL after its timeout still bounds it. */
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		test_hook_slow_give_back(info->busid);
		usbdev_give_back(info, -1);
		_exit(0);
	}
	giving[slot].pid = pid;
	snprintf(giving[slot].busid, sizeof(giving[slot].busid), "%s",
		 info->busid);
	return 0;
}

void schedule_redial(struct exported *d)
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
const struct policy_rule *rule_for(const struct usbdev_info *info)
{
	struct policy_interface interfaces[USBDEV_MAX_INTERFACES];
	struct policy_device d = {
		.vid = info->id_vendor,
		.pid = info->id_product,
		.serial = info->serial,
		.device_class = info->device_class,
		.interfaces = interfaces,
		.num_interfaces = info->num_interfaces,
		.busid = info->busid,
	};

	for (size_t i = 0; i < info->num_interfaces; i++)
		interfaces[i] = (struct policy_interface){
			.cls = info->interfaces[i].cls,
			.subclass = info->interfaces[i].subclass,
			.protocol = info->interfaces[i].protocol};
	return policy_match(&b.policy, &d);
}

/* What the policy would do with a device: "deny", "allow" or "auto". A
 * hub, an import through vhci_hcd and a device with an interface the
 * policy could not see are never exported, whatever a rule says. */
const char *verdict_of(const struct usbdev_info *info,
		       const struct policy_rule *rule)
{
	if (!policy_allows(rule) || info->device_class == 0x09 ||
	    info->unjudged_interface || usbdev_is_imported(info->busid))
		return "deny";
	return rule->autoexport ? "auto" : "allow";
}

/* The grant module's view of a session and a device. */
struct grant_session grant_session_of(const struct session *s)
{
	return (struct grant_session){.outgoing = s->outgoing,
				      .bound_busid = s->bound_busid,
				      .destination = s->peer,
				      .who = &s->who,
				      .tls = s->tls,
				      .holds_device = s->dev != NULL};
}

/* The rule that lets the device out now, or NULL. */
const struct policy_rule *allowing_rule(const struct usbdev_info *info)
{
	const struct policy_rule *rule = rule_for(info);

	return strcmp(verdict_of(info, rule), "deny") ? rule : NULL;
}

struct grant_device grant_device_of(const struct exported *d)
{
	return (struct grant_device){.busid = d->info.busid,
				     .in_session = d->session != NULL,
				     .rule = allowing_rule(&d->info)};
}

/* Import sessions see and get only what the policy lets their peer have. */
bool visible_to(const struct session *s, const struct exported *d)
{
	struct grant_session gs = grant_session_of(s);
	struct grant_device gd = grant_device_of(d);

	return grant_visible(&gs, &gd);
}

int export_device(const char *busid, const char *to, char *msg, size_t msg_len)
{
	return export_device_forced(busid, to, false, msg, msg_len);
}

/* Taking the device unbinds usb-storage: a mounted file system on it
 * would lose its disk mid-write. */
static int refuse_mounted(const char *busid, bool force, char *msg,
			  size_t msg_len)
{
	char points[512];
	int n = mounts_of_usb_device("/sys", "/proc/self/mountinfo",
				     "/proc/swaps", busid, points,
				     sizeof(points));

	if (n < 0 && force) {
		log_line("%s: exported with --force; whether it holds mounted "
			 "file systems is not known: %s",
			 busid, strerror(-n));
		return 0;
	}
	if (n < 0)
		return log_fail(n, msg, msg_len,
				"%s: cannot tell whether it holds mounted "
				"file systems: %s (export --force takes it "
				"regardless)",
				busid, strerror(-n));
	if (n == 0)
		return 0;
	if (force) {
		log_line("%s: exported with --force although mounted at %s",
			 busid, points);
		return 0;
	}
	return log_fail(-EBUSY, msg, msg_len,
			"%s has mounted file systems: %.400s; unmount them "
			"first (or export --force)",
			busid, points);
}

int export_device_forced(const char *busid, const char *to, bool force,
			 char *msg, size_t msg_len)
{
	struct exported *d = find_exported(busid), *slot = NULL;
	struct transport_addr a;
	int r;

	if (to && transport_parse_tls(to, &a, msg, msg_len) < 0)
		return -EINVAL;
	if (to && a.tls && a.kind != TRANSPORT_TCP)
		return log_fail(
			-EINVAL, msg, msg_len,
			"%.100s: TLS is for tcp: destinations only (the "
			"kernel's TLS runs on TCP)",
			to);
	if (d && to) {
		/* A destination for a device that is exported already. */
		char formatted[TRANSPORT_ADDR_STR_MAX];
		transport_format(&a, formatted, sizeof(formatted));
		const struct policy_rule *now = reevaluate(d, "export");
		if (!now) {
			return log_fail(-EPERM, msg, msg_len,
					"policy denies %s now", busid);
		}
		if (!policy_destination_allowed(now, formatted)) {
			return log_fail(-EPERM, msg, msg_len,
					"policy does not let %s go to %.100s",
					busid, formatted);
		}
		if (!strcmp(d->export_to, formatted)) {
			snprintf(msg, msg_len, "%s already exported to %.100s",
				 busid, formatted);
			return 0;
		}
		if (d->session) {
			return log_fail(-EBUSY, msg, msg_len,
					"%s is in a session", busid);
		}
		/* A dial under way goes to the old destination: its socket
		 * must not be served as if it were the new one's. */
		if (d->dial >= 0) {
			close(d->dial); /* epoll forgets a closed fd */
			d->dial = -1;
		}
		/* Nor a worker the old one's socket went to. */
		if (export_session_of(d))
			session_stop(export_session_of(d),
				     "was dialled for the old destination");
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
	/* Its reset and its drivers' probes are under way: it is not to be
	 * taken from them halfway. */
	if (giving_back(busid))
		return log_fail(-EBUSY, msg, msg_len,
				"%s is being given back to its drivers; try "
				"again",
				busid);
	for (size_t i = 0; i < MAX_EXPORTED && !slot; i++)
		if (!b.devices[i].used)
			slot = &b.devices[i];
	if (!slot) {
		return log_fail(-ENOSPC, msg, msg_len,
				"%d devices exported already", MAX_EXPORTED);
	}
	memset(slot, 0, sizeof(*slot));
	slot->dial = -1;
	r = usbdev_read_info(busid, &slot->info, msg, msg_len);
	if (r < 0)
		return r;
	if (usbdev_is_imported(busid)) {
		return log_fail(-EPERM, msg, msg_len,
				"%s came in through vhci_hcd", busid);
	}
	const struct policy_rule *rule = rule_for(&slot->info);
	if (!policy_allows(rule)) {
		if (rule)
			snprintf(msg, msg_len, "policy denies %s (%.100s:%u)",
				 busid, b.policy_path, rule->line);
		else
			return log_fail(-EPERM, msg, msg_len,
					"policy denies %s (no rule matches)",
					busid);
	}
	if (to) {
		char formatted[TRANSPORT_ADDR_STR_MAX];
		transport_format(&a, formatted, sizeof(formatted));
		if (!policy_destination_allowed(rule, formatted)) {
			return log_fail(-EPERM, msg, msg_len,
					"policy does not let %s go to %.100s "
					"(%.100s:%u)",
					busid, formatted, b.policy_path,
					rule->line);
		}
	}
	if (slot->info.device_class == 0x09) {
		return log_fail(-EINVAL, msg, msg_len, "%s is a hub", busid);
	}
	r = refuse_mounted(busid, force, msg, msg_len);
	if (r < 0)
		return r;
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
		return log_fail(
			-EPERM, msg, msg_len,
			"policy denies %s as it is configured now (%.100s:%u)",
			busid, b.policy_path, rule ? rule->line : 0);
	}
	slot->used = true;
	slot->retry_at = time(NULL);
	log_line("exported %s (%04x:%04x %s)%s%s", busid, slot->info.id_vendor,
		 slot->info.id_product, slot->info.product, to ? " to " : "",
		 to ? slot->export_to : "");
	snprintf(msg, msg_len, "exported %s", busid);
	broker_notify_status();
	return 0;
}

void release_device(struct exported *d, bool give_back)
{
	/* The port first, in the broker: released once this is closed. */
	if (d->hub_fd >= 0)
		close(d->hub_fd);
	log_step("broker: giving %s back", d->info.busid);
	if (give_back && (b.loop_done || give_back_in_child(&d->info) < 0))
		usbdev_give_back(&d->info, -1);
	log_line("unexported %s%s", d->info.busid,
		 give_back ? "" : " (device gone)");
	if (d->dial >= 0)
		close(d->dial); /* the helper's answer goes nowhere */
	memset(d, 0, sizeof(*d));
	d->dial = -1;
	broker_notify_status();
}

/* Ends the device's session; the host drivers get it back once the
 * worker has let go of its interfaces. */
void forget_device(struct exported *d, bool give_back)
{
	struct session *s = d->session;

	/* A worker dialled for it that has not asked yet would otherwise
	 * ask later, and get the device if it is exported again. */
	if (!s && export_session_of(d))
		session_stop(export_session_of(d),
			     "was dialled for a device now unexported");

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
const struct policy_rule *
judge_again(struct exported *d, const struct usbdev_info *now, const char **why)
{
	const struct policy_rule *rule = NULL;

	*why = "the device is gone or another one";
	if (now && now->busnum == d->info.busnum &&
	    now->devnum == d->info.devnum) {
		d->info = *now;
		rule = allowing_rule(&d->info);
		*why = "the policy denies it now";
		if (rule && d->export_to[0] &&
		    !policy_destination_allowed(rule, d->export_to)) {
			*why = "its rule no longer names the destination";
			rule = NULL;
		}
	}
	return rule;
}

const struct policy_rule *apply_judgement(struct exported *d,
					  const struct policy_rule *rule,
					  const char *when, const char *why)
{
	if (!rule) {
		/* forget_device ends the session, if there is one. */
		log_line("%s (%s): %s; unexporting it", d->info.busid, when,
			 why);
		forget_device(d, true);
		return NULL;
	}
	struct session *s = d->session;
	if (s && ((!s->outgoing && !policy_peer_allowed(rule, &s->who)) ||
		  (s->outgoing && s->tls && s->who.has_key &&
		   !policy_key_allowed(rule, &s->who.key))))
		session_stop(d->session,
			     "is serving a peer its rule no longer names");
	return rule;
}

const struct policy_rule *reevaluate(struct exported *d, const char *when)
{
	struct usbdev_info now;
	char msg[256];
	const char *why;
	int r = usbdev_read_info(d->info.busid, &now, msg, sizeof(msg));
	const struct policy_rule *rule =
		judge_again(d, r == 0 ? &now : NULL, &why);

	return apply_judgement(d, rule, when, why);
}
