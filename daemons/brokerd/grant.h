/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a worker may have: the broker's checks on a worker's requests, as
 * pure functions of the session and the device, so that they can be
 * tested without a device. A worker is a sandboxed process that talks to
 * a hostile peer; it is trusted with nothing its session was not given.
 */
#pragma once

#include <stdbool.h>

#include "policy.h"

struct grant_session {
	bool outgoing;		       /* export flow: started for one device */
	const char *bound_busid;       /* export flow, Qubes: that device */
	const char *destination;       /* export flow: where it was dialled */
	const struct policy_peer *who; /* import flow: the importer; on a
					  TLS session also its key */
	bool tls; /* export flow to a tls: destination: the importer's key
		     must be one of the rule's "from key:" */
	bool holds_device;	       /* it has had its one device already */
};

/* rule is the policy's verdict on the device as it is now (read again
 * for each question: a device may have been configured since it was
 * exported, or the policy reloaded); NULL when denied. */
struct grant_device {
	const char *busid;
	bool in_session; /* another session has it */
	const struct policy_rule *rule;
};

/* In the device list the session's peer sees (exported devices only are
 * ever passed in): for an importer, a device whose rule names its network;
 * for the export flow, its own device while the rule still names the
 * destination it dialled. */
bool grant_visible(const struct grant_session *s, const struct grant_device *d);

/*
 * May the session open busid? d is the exported device of that busid or
 * NULL. Returns 0, -EPERM (a second device, or another than the export
 * flow's), -ENODEV (not exported, or not for this peer: indistinguishable
 * to the asker on purpose) or -EBUSY (in another session).
 */
int grant_open(const struct grant_session *s, const char *busid,
	       const struct grant_device *d);
