// SPDX-License-Identifier: GPL-2.0-or-later
/* Address parsing on arbitrary text: whatever parses must format to text
 * that parses to the same address. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transport_addr a, b;
	char text[512], again[TRANSPORT_ADDR_STR_MAX], msg[256];

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (transport_parse_tls(text, &a, msg, sizeof(msg)) < 0) {
		assert(msg[0]); /* a refusal always says why */
		return 0;
	}
	transport_format(&a, again, sizeof(again));
	int r = transport_parse_tls(again, &b, msg, sizeof(msg));
	assert(r == 0);
	/* The plain parser takes exactly the addresses without tls:. */
	assert((transport_parse(again, &b, msg, sizeof(msg)) == 0) == !a.tls);
	r = transport_parse_tls(again, &b, msg, sizeof(msg));
	assert(r == 0);
	assert(a.tls == b.tls && a.kind == b.kind && a.port == b.port && a.cid == b.cid &&
	       a.fd == b.fd && a.abstract == b.abstract);
	assert(!strcmp(a.host, b.host) && !strcmp(a.path, b.path));
	return 0;
}
