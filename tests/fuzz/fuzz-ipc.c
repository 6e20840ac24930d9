// SPDX-License-Identifier: GPL-2.0-or-later
/* The broker-worker channel's receiver on arbitrary messages, as a
 * compromised peer would send them. Byte 0 picks the receiving side; the
 * rest is one SOCK_SEQPACKET message. */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int sv[2] = {-1, -1};
	struct ipc_message m;
	char msg[256];
	int fd;

	if (size < 2 || size > sizeof(struct ipc_message) + 64)
		return 0;
	if (sv[0] < 0)
		assert(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	assert(send(sv[1], data + 1, size - 1, 0) == (ssize_t)(size - 1));
	enum ipc_side side = data[0] & 1 ? IPC_WORKER_SIDE : IPC_BROKER_SIDE;
	int r = ipc_recv(sv[0], side, &m, &fd, msg, sizeof(msg));
	if (r < 0) {
		assert(fd == -1 && msg[0]);
		return 0;
	}
	assert(fd == -1); /* nothing sent one */
	assert((long)m.length == ipc_payload_size(m.type));
	if (m.type == IPC_OPEN_REQUEST)
		assert(memchr(m.u.open_request.busid, 0, USBIP_BUSID_LEN));
	if (m.type == IPC_DEVLIST_ANSWER)
		assert(m.u.devlist.count <= IPC_MAX_DEVICES);
	if (m.type == IPC_TLS_PEER)
		assert(m.u.tls_peer.transcript_len <= IPC_TLS_TRANSCRIPT_MAX);
	return 0;
}
