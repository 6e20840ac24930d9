// SPDX-License-Identifier: GPL-2.0-or-later
/* The broker's control-request parser on arbitrary bytes, as any local
 * user allowed on the socket could send them. */
#include <assert.h>
#include <string.h>

#include "control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request req;
	char msg[256] = "";

	if (control_parse((const char *)data, size, &req, msg, sizeof(msg)) <
	    0) {
		assert(msg[0]);
		return 0;
	}
	assert(memchr(req.busid, 0, sizeof(req.busid)));
	assert(memchr(req.address, 0, sizeof(req.address)));
	/* A busid, or a usbfs node: nothing that could walk elsewhere. */
	if (req.verb == CONTROL_EXPORT || req.verb == CONTROL_UNEXPORT)
		assert(usb_busid_valid(req.busid) ||
		       !strncmp(req.busid, "/dev/bus/usb/", 13));
	assert(!strstr(req.busid, ".."));
	return 0;
}
