// SPDX-License-Identifier: GPL-2.0-or-later
/* The policy parser on arbitrary files, and every parsed rule matched
 * against one device and one peer, and against a device without its
 * configuration yet (which no interface condition may allow). */
#include <assert.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct policy_interface interfaces[] = {
		{0x08, 0x06, 0x50}, {0x03, 0x01, 0x01}};
	static const struct policy_device dev = {
		.vid = 0x1d6b,
		.pid = 0x0104,
		.serial = "0001",
		.interfaces = interfaces,
		.num_interfaces = 2,
		.busid = "1-1.2",
	};
	/* Before its configuration: no interfaces to look at. */
	static const struct policy_device unconfigured = {
		.vid = 0x1d6b, .pid = 0x0104, .busid = "1-1.2"};
	struct policy p = {0};
	struct policy_peer peer = {.kind = POLICY_NET_IP,
				   .family = AF_INET,
				   .addr = {10, 1, 2, 3}};
	char msg[256] = "";

	if (policy_parse((const char *)data, size, "fuzz", &p, msg,
			 sizeof(msg)) < 0) {
		assert(!strncmp(msg, "fuzz", 4));
		assert(p.num_rules == 0 && !p.rules);
		return 0;
	}
	assert(p.num_rules <= POLICY_MAX_RULES);
	const struct policy_rule *r = policy_match(&p, &dev);
	policy_peer_allowed(r, &peer);
	policy_destination_allowed(r, "vsock:3:3240");
	r = policy_match(&p, &unconfigured);
	/* Never an allow on interfaces the device does not have yet. */
	assert(!r || !r->allow ||
	       (!r->num_with && (r->device_class < 0 || r->device_class == 0)));
	for (size_t i = 0; i < p.num_rules; i++) {
		assert(p.rules[i].num_from <= POLICY_MAX_NETS);
		assert(p.rules[i].num_to <= POLICY_MAX_DESTINATIONS);
		assert(memchr(p.rules[i].busid, 0, sizeof(p.rules[i].busid)));
		assert(p.rules[i].num_with <= POLICY_MAX_INTERFACE_SETS);
		for (size_t s = 0; s < p.rules[i].num_with; s++)
			assert(p.rules[i].with[s].num_types > 0 &&
			       p.rules[i].with[s].num_types <=
				       POLICY_MAX_INTERFACE_TYPES);
	}
	policy_clear(&p);
	return 0;
}
