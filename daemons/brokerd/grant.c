// SPDX-License-Identifier: GPL-2.0-or-later
#include "grant.h"

#include <errno.h>
#include <string.h>

bool grant_visible(const struct grant_session *s, const struct grant_device *d)
{
	if (s->outgoing)
		return !strcmp(d->busid, s->bound_busid) && s->destination &&
		       policy_destination_allowed(d->rule, s->destination) &&
		       (!s->tls || (s->who && s->who->has_key &&
				    policy_key_allowed(d->rule, &s->who->key)));
	return s->who && policy_peer_allowed(d->rule, s->who);
}

int grant_open(const struct grant_session *s, const char *busid,
	       const struct grant_device *d)
{
	/* Bound to one device: the export flow, and a Qubes session. */
	if (s->holds_device || ((s->outgoing || (s->bound_busid &&
						 s->bound_busid[0])) &&
				strcmp(busid, s->bound_busid)))
		return -EPERM;
	if (!d || strcmp(d->busid, busid) || !grant_visible(s, d))
		return -ENODEV;
	if (d->in_session)
		return -EBUSY;
	return 0;
}
