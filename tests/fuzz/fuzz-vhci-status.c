// SPDX-License-Identifier: GPL-2.0-or-later
/* vhci_hcd's status text, which usbip-attach parses, on arbitrary input:
 * every port it accepts has the shape the rest of the program relies on. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vhci.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vhci_port ports[64];
	char *text = malloc(size + 1);
	size_t n = 0;
	unsigned line = 0;

	memcpy(text, data, size);
	text[size] = '\0';
	int r = vhci_parse_status(text, ports, 64, &n, &line);
	free(text);
	assert(r == 0 || r == -EBADMSG || r == -E2BIG);
	assert(n <= 64);
	for (size_t i = 0; i < n; i++) {
		assert(ports[i].port <= 65535);
		assert(strlen(ports[i].local_busid) <
		       sizeof(ports[i].local_busid));
		(void)vhci_pick_port(ports, n, ports[i].speed);
	}
	return 0;
}
