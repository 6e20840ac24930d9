// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipc.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macros.h"
#include "log.h"

#define IPC_HEADER_LEN offsetof(struct ipc_message, u)

long ipc_payload_size(uint32_t type)
{
	switch (type) {
	case IPC_DEVLIST_REQUEST:
		return 0;
	case IPC_OPEN_REQUEST:
		return sizeof(struct ipc_open_request);
	case IPC_STATS:
		return sizeof(struct ipc_stats);
	case IPC_DEVLIST_ANSWER:
		return sizeof(struct ipc_devlist_answer);
	case IPC_OPEN_ANSWER:
		return sizeof(struct ipc_open_answer);
	case IPC_UNEXPORT:
		return 0;
	case IPC_SIGN_REQUEST:
		return sizeof(struct ipc_sign_request);
	case IPC_SIGN_ANSWER:
		return sizeof(struct ipc_sign_answer);
	case IPC_TLS_PEER:
		return sizeof(struct ipc_tls_peer);
	case IPC_CLIENT:
		return sizeof(struct ipc_client);
	}
	return -1;
}

static bool from_worker(uint32_t type)
{
	return type < 0x80;
}

int ipc_send_datagram(int sock, const void *data, size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (fd >= 0) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		ssize_t r = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		return (size_t)r == len ? 0 : -EIO;
	}
}

int ipc_send(int sock, uint32_t type, const void *payload, uint32_t length,
	     int fd)
{
	struct ipc_message m = {.type = type, .length = length};

	if (ipc_payload_size(type) != (long)length)
		return -EINVAL;
	bool socket_type = type == IPC_UNEXPORT || type == IPC_CLIENT;
	if ((fd >= 0 && type != IPC_OPEN_ANSWER && !socket_type) ||
	    (fd < 0 && socket_type))
		return -EINVAL;
	if (length)
		memcpy(&m.u, payload, length);
	return ipc_send_datagram(sock, &m, IPC_HEADER_LEN + length, fd);
}

/*
 * Closes a descriptor the peer should not have sent. A socket may come
 * with SO_LINGER set and a peer that never reads: its last close would
 * then wait out the linger time, with the receiver's loop stopped. Linger
 * off first, so that close returns at once whatever the sender set.
 */
static void close_unwanted(int fd)
{
	const struct linger off = {0};

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof(off));
	close(fd);
}

int ipc_recv(int sock, enum ipc_side side, struct ipc_message *m, int *fd,
	     char *msg, unsigned long msg_len)
{
	union {
		struct cmsghdr align;
		/* Room for more than one fd, so a peer sending several is
		 * seen (and every one of them closed), not truncated. */
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} control;
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.buf,
			    .msg_controllen = sizeof(control.buf)};
	int fds[8], nfds = 0, err = 0;
	ssize_t r;

	*fd = -1;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return log_fail(-errno, msg, msg_len, "recvmsg: %s",
				strerror(errno));
	if (r == 0)
		return log_fail(-ECONNRESET, msg, msg_len, "peer closed");

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
	     c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			err = log_fail(-EBADMSG, msg, msg_len,
				       "unexpected control message %d/%d",
				       c->cmsg_level, c->cmsg_type);
			continue;
		}
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n && nfds < 8; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int),
			       sizeof(int));
	}
	if (!err && (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)))
		err = log_fail(-EBADMSG, msg, msg_len,
			       "message or its control "
			       "data truncated");
	if (!err && (size_t)r < IPC_HEADER_LEN)
		err = log_fail(-EBADMSG, msg, msg_len, "%zd-byte message", r);
	long want = err ? 0 : ipc_payload_size(m->type);
	if (!err && want < 0)
		err = log_fail(-EPROTO, msg, msg_len, "unknown type 0x%x",
			       m->type);
	if (!err && from_worker(m->type) != (side == IPC_BROKER_SIDE))
		err = log_fail(-EPROTO, msg, msg_len,
			       "type 0x%x from the wrong side", m->type);
	if (!err && (m->length != (uint32_t)want ||
		     (size_t)r != IPC_HEADER_LEN + (size_t)want))
		err = log_fail(-EBADMSG, msg, msg_len,
			       "type 0x%x with %zd bytes, expected %ld",
			       m->type, r - (ssize_t)IPC_HEADER_LEN, want);
	bool socket_expected =
		!err && (m->type == IPC_UNEXPORT || m->type == IPC_CLIENT);
	bool fd_expected =
		socket_expected || (!err && m->type == IPC_OPEN_ANSWER &&
				    m->u.open_answer.status == 0);
	if (!err && nfds != (fd_expected ? 1 : 0))
		err = log_fail(-EBADMSG, msg, msg_len,
			       "type 0x%x with %d descriptors", m->type, nfds);
	/* fstat only: the worker's filter has no getsockopt (the broker
	 * checked the socket's type when the dialler handed it over). */
	if (!err && fd_expected) {
		struct stat st;
		if (fstat(fds[0], &st) < 0 ||
		    (socket_expected ? !S_ISSOCK(st.st_mode)
				     : !S_ISCHR(st.st_mode)))
			err = log_fail(-EBADMSG, msg, msg_len,
				       "the descriptor is not a %s",
				       socket_expected ? "socket"
						       : "device node");
	}
	if (!err && m->type == IPC_OPEN_REQUEST &&
	    !memchr(m->u.open_request.busid, '\0', USBIP_BUSID_LEN))
		err = log_fail(-EBADMSG, msg, msg_len, "busid not terminated");
	if (!err && m->type == IPC_DEVLIST_ANSWER &&
	    m->u.devlist.count > IPC_MAX_DEVICES)
		err = log_fail(-EBADMSG, msg, msg_len, "%u devices",
			       m->u.devlist.count);
	if (!err && m->type == IPC_SIGN_REQUEST &&
	    m->u.sign_request.length > IPC_SIGN_TBS_MAX)
		err = log_fail(-EBADMSG, msg, msg_len, "%u bytes to sign",
			       m->u.sign_request.length);
	if (!err && m->type == IPC_SIGN_ANSWER &&
	    m->u.sign_answer.length > IPC_SIGNATURE_MAX)
		err = log_fail(-EBADMSG, msg, msg_len, "a %u-byte signature",
			       m->u.sign_answer.length);
	if (!err && m->type == IPC_CLIENT &&
	    !memchr(m->u.client.peer, '\0', IPC_PEER_MAX))
		err = log_fail(-EBADMSG, msg, msg_len, "peer not terminated");
	if (!err && m->type == IPC_TLS_PEER &&
	    !memchr(m->u.tls_peer.params, '\0', IPC_TLS_PARAMS_MAX))
		err = log_fail(-EBADMSG, msg, msg_len,
			       "TLS parameters not terminated");
	if (!err && m->type == IPC_TLS_PEER &&
	    m->u.tls_peer.transcript_len > IPC_TLS_TRANSCRIPT_MAX)
		err = log_fail(-EBADMSG, msg, msg_len,
			       "a %u-byte handshake transcript",
			       m->u.tls_peer.transcript_len);
	if (err) {
		for (int i = 0; i < nfds; i++)
			close_unwanted(fds[i]);
		return err;
	}
	if (nfds)
		*fd = fds[0];
	return 0;
}
