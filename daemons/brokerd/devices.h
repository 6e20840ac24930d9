/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The exported devices (devices.c): export, unexport, the policy's
 * verdict, the redial backoff. Layer: above state and grant, below
 * sessions.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "grant.h"
#include "state.h"

/* The next attempt to dial d's --to destination: a doubling backoff up
 * to a minute, with jitter. */
void schedule_redial(struct exported *d);

/* The policy's verdict on a device, as sysfs describes it now. */
const struct policy_rule *rule_for(const struct usbdev_info *info);

/* What the policy would do with a device: "deny", "allow" or "auto". A
 * hub or an import through vhci_hcd is never exported, whatever a rule
 * says. */
const char *verdict_of(const struct usbdev_info *info,
		       const struct policy_rule *rule);

/* The rule that lets the device out now, or NULL. */
const struct policy_rule *allowing_rule(const struct usbdev_info *info);

/* The grant module's view of a session and a device. */
struct grant_session grant_session_of(const struct session *s);
struct grant_device grant_device_of(const struct exported *d);

/* Import sessions see and get only what the policy lets their peer have. */
bool visible_to(const struct session *s, const struct exported *d);

/* Exports busid (to a destination, to = NULL: for importers). 0 or a
 * negative errno; msg says what happened, either way. */
int export_device(const char *busid, const char *to, char *msg, size_t msg_len);
/* The same; a device with mounted file systems is refused (-EBUSY, the
 * mount points in msg) unless force: the administrator's explicit word
 * (usbip-brokerctl export --force). Auto export never forces. */
int export_device_forced(const char *busid, const char *to, bool force,
			 char *msg, size_t msg_len);

/* Frees d's slot: back to its drivers (give_back) or just forgotten
 * (the device is gone). While the loop runs the give-back (a reset and
 * the drivers' probes: milliseconds to seconds) runs in a child of its
 * own; until that child is reaped the busid is not exported again. */
void release_device(struct exported *d, bool give_back);

/* Whether busid is being given back by a child (not to be exported). */
bool giving_back(const char *busid);
/* Whether any device is (the loop waits for them before it ends). */
bool giving_back_any(void);
/* Logs each give-back still under way when the broker stops without it. */
void give_back_left_running(void);

/* A hotplug add or bind of busid while it is being given back: true when
 * it is (the event is kept); give_back_next_added then names it, once,
 * after its child has been reaped, so that the policy judges the device
 * as it came back (an autoexport rule exports it again). */
bool give_back_note_added(const char *busid);
bool give_back_next_added(char *busid, size_t len);
/* pid was a give-back child: its busid may be exported again. Returns
 * whether it was one. */
bool give_back_reaped(pid_t pid, int status);

/* Ends the device's session; the host drivers get it back once the
 * worker has let go of its interfaces. */
void forget_device(struct exported *d, bool give_back);

/* The policy again, on the device as sysfs describes it now: the rule
 * that lets the device out, or NULL when it has been unexported (when
 * names the occasion in the log). */
const struct policy_rule *reevaluate(struct exported *d, const char *when);

/* reevaluate in two steps, the second without sysfs (the unit tests call
 * them): the rule that lets d out as now describes it (NULL: the device
 * is gone, or another one has its busid), else NULL and why; then, with
 * no rule, d unexported, else its importer's session stopped when the
 * rule no longer names it. */
const struct policy_rule *judge_again(struct exported *d,
				      const struct usbdev_info *now,
				      const char **why);
const struct policy_rule *apply_judgement(struct exported *d,
					  const struct policy_rule *rule,
					  const char *when, const char *why);
