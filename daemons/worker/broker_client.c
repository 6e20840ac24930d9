// SPDX-License-Identifier: GPL-2.0-or-later
#include "broker_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "session.h"

/* One request and the answer of type want, by the deadline. *fd is the
 * descriptor that came with the answer, or -1. */
static int ask(struct broker_client *bc, const struct op_io_deadline *d,
	       uint32_t type, const void *payload, uint32_t length,
	       uint32_t want, struct ipc_message *m, int *fd, char *msg,
	       size_t msg_len)
{
	int r = ipc_send(bc->fd, type, payload, length, -1);

	*fd = -1;
	if (r < 0)
		return log_fail(r, msg, msg_len, "sending request 0x%x: %s",
				type, strerror(-r));
	r = op_io_wait(bc->fd, POLLIN, d);
	if (r == -EINTR)
		return log_fail(r, msg, msg_len, "stopped");
	if (r < 0)
		return log_fail(r, msg, msg_len, "no answer: %s", strerror(-r));
	r = ipc_recv(bc->fd, IPC_WORKER_SIDE, m, fd, msg, msg_len);
	if (r < 0)
		return r;
	if (m->type != want) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return log_fail(-EPROTO, msg, msg_len,
				"answer 0x%x to request 0x%x", m->type, type);
	}
	return 0;
}

int broker_client_devlist(struct broker_client *bc,
			  const struct op_io_deadline *d,
			  struct ipc_devlist_answer *list, char *msg,
			  size_t msg_len)
{
	struct ipc_message m;
	int fd, r;

	r = ask(bc, d, IPC_DEVLIST_REQUEST, NULL, 0, IPC_DEVLIST_ANSWER, &m,
		&fd, msg, msg_len);
	if (r == 0)
		*list = m.u.devlist;
	return r;
}

int broker_client_open(struct broker_client *bc, const struct op_io_deadline *d,
		       const char *busid, struct broker_grant *grant,
		       bool *refused, char *msg, size_t msg_len)
{
	struct ipc_open_request req = {0};
	struct ipc_message m;
	int fd, r;

	*refused = false;
	grant->fd = -1;
	if (strlen(busid) >= sizeof(req.busid))
		return log_fail(-EINVAL, msg, msg_len, "busid too long");
	snprintf(req.busid, sizeof(req.busid), "%s", busid);
	r = ask(bc, d, IPC_OPEN_REQUEST, &req, sizeof(req), IPC_OPEN_ANSWER, &m,
		&fd, msg, msg_len);
	if (r < 0)
		return r;
	const struct ipc_open_answer *a = &m.u.open_answer;
	if (a->status < 0) {
		*refused = true;
		return log_fail(a->status, msg, msg_len, "refused: %s",
				strerror(-a->status));
	}
	/* ipc_recv saw to it that a status of 0, and only that, came with
	 * a device node. */
	if (a->status > 0)
		return log_fail(-EPROTO, msg, msg_len, "answer status %d",
				a->status);
	if (strncmp(a->device.device.busid, busid,
		    sizeof(a->device.device.busid))) {
		close(fd);
		return log_fail(-EPROTO, msg, msg_len,
				"asked for %s, given another device", busid);
	}
	grant->fd = fd;
	grant->busnum = a->device.device.busnum;
	grant->devnum = a->device.device.devnum;
	return 0;
}

int broker_client_report(struct broker_client *bc,
			 const struct session_stats *stats, char *msg,
			 size_t msg_len)
{
	const struct ipc_stats s = {.urbs = stats->urbs,
				    .bytes_in = stats->bytes_in,
				    .bytes_out = stats->bytes_out,
				    .errors = stats->errors};
	int r;

	if (bc->stats_broken)
		return 0;
	r = ipc_send(bc->fd, IPC_STATS, &s, sizeof(s), -1);
	if (r < 0) {
		bc->stats_broken = true;
		return log_fail(r, msg, msg_len, "sending counters: %s",
				strerror(-r));
	}
	return 0;
}

int broker_client_sign(struct broker_client *bc, const struct op_io_deadline *d,
		       const uint8_t *tbs, size_t tbs_len, uint8_t *sig,
		       size_t cap, size_t *sig_len, char *msg, size_t msg_len)
{
	struct ipc_sign_request req = {.length = (uint32_t)tbs_len};
	struct ipc_message m;
	int fd, r;

	if (tbs_len > sizeof(req.tbs))
		return log_fail(-EINVAL, msg, msg_len,
				"%zu bytes to sign: too many", tbs_len);
	memcpy(req.tbs, tbs, tbs_len);
	r = ask(bc, d, IPC_SIGN_REQUEST, &req, sizeof(req), IPC_SIGN_ANSWER, &m,
		&fd, msg, msg_len);
	if (r < 0)
		return r;
	const struct ipc_sign_answer *a = &m.u.sign_answer;
	if (a->status)
		return log_fail(a->status < 0 ? a->status : -EPROTO, msg,
				msg_len, "the broker did not sign: status %d",
				a->status);
	if (a->length > cap || a->length > sizeof(a->signature))
		return log_fail(-ENOSPC, msg, msg_len, "a %u-byte signature",
				a->length);
	memcpy(sig, a->signature, a->length);
	*sig_len = a->length;
	return 0;
}

int broker_client_tls_peer(struct broker_client *bc, const uint8_t *pin,
			   size_t pin_len, const char *params,
			   const uint8_t *transcript, size_t transcript_len,
			   char *msg, size_t msg_len)
{
	static struct ipc_tls_peer report;
	int r;

	memset(&report, 0, sizeof(report));
	if (pin_len != sizeof(report.pin))
		return log_fail(-EINVAL, msg, msg_len, "a %zu-byte pin",
				pin_len);
	if (transcript_len > sizeof(report.transcript))
		return log_fail(-EMSGSIZE, msg, msg_len,
				"a %zu-byte handshake transcript",
				transcript_len);
	memcpy(report.pin, pin, pin_len);
	snprintf(report.params, sizeof(report.params), "%s", params);
	report.transcript_len = (uint32_t)transcript_len;
	memcpy(report.transcript, transcript, transcript_len);
	r = ipc_send(bc->fd, IPC_TLS_PEER, &report, sizeof(report), -1);
	if (r < 0)
		return log_fail(r, msg, msg_len, "reporting the TLS peer: %s",
				strerror(-r));
	return 0;
}

int broker_client_await_client(struct broker_client *bc,
			       const struct op_io_deadline *d, char *peer,
			       size_t peer_len, char *msg, size_t msg_len)
{
	struct ipc_message m;
	int fd = -1, r;

	r = op_io_wait(bc->fd, POLLIN, d);
	if (r < 0)
		return log_fail(r, msg, msg_len, "no client came");
	r = ipc_recv(bc->fd, IPC_WORKER_SIDE, &m, &fd, msg, msg_len);
	if (r < 0)
		return r;
	if (m.type != IPC_CLIENT || fd < 0) {
		if (fd >= 0)
			close(fd);
		return log_fail(-EPROTO, msg, msg_len,
				"type 0x%x instead of a client", m.type);
	}
	snprintf(peer, peer_len, "%s", m.u.client.peer);
	return fd;
}

int broker_client_await_unexport(struct broker_client *bc,
				 const struct op_io_deadline *d, char *msg,
				 size_t msg_len)
{
	struct ipc_message m;
	int fd = -1, r;

	r = op_io_wait(bc->fd, POLLIN, d);
	if (r < 0)
		return log_fail(-ETIMEDOUT, msg, msg_len, "no unexport");
	r = ipc_recv(bc->fd, IPC_WORKER_SIDE, &m, &fd, msg, msg_len);
	if (r < 0)
		return r;
	if (m.type != IPC_UNEXPORT || fd < 0) {
		if (fd >= 0)
			close(fd);
		return log_fail(-EPROTO, msg, msg_len, "type 0x%x at the end",
				m.type);
	}
	return fd;
}
