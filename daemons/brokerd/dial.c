// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The outgoing connector of the export flow (--to): a forked helper
 * dials, the loop waits for its answer, and a worker takes the socket.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "dial.h"
#include "dial_confine.h"
#include "ipc.h"
#include "log.h"
#include "sessions.h"

#define DIAL_TIMEOUT_S 30

/* The fd that came with the datagram (a connected stream socket), or
 * -1 with data holding the helper's reason. */
static int fd_recv(int sock, char *data, size_t len)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = {.iov_base = data, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.buf,
			    .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *c;
	int fd = -1, type;
	size_t count = 0;
	socklen_t tl = sizeof(type);

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) < 0)
		return -1;
	/* The buffer's padding has room for a second descriptor: whatever
	 * arrived is closed unless it is exactly one. */
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++, count++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int),
			       sizeof(int));
			if (count == 0)
				fd = got;
			else
				close(got);
		}
	}
	if (fd >= 0 && (count != 1 || (mh.msg_flags & MSG_CTRUNC))) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0 && (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
			type != SOCK_STREAM)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * Dialling can block for long (DNS, a TCP SYN into a black hole): a
 * forked helper does it and passes the socket back, so the loop never
 * waits on the network. The helper exits at once; SIGCHLD reaps it.
 * It parses a peer's text (DNS answers), so it does so confined
 * (dial_confine.h): nobody, no capabilities, its own seccomp filter.
 */
static void start_dial(struct exported *d, size_t index)
{
	int pair[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		schedule_redial(d);
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct transport_addr a;
		char msg[256] = "";
		int fd = -1;
		alarm(DIAL_TIMEOUT_S); /* a bound on the whole attempt */
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* and none past the broker */
		/* It keeps its channel (as fd 3) and stdio, nothing of the
		 * broker's (hub ports, sockets, workers' channels), and is
		 * confined before it reads a name's first byte. */
		if (dup2(pair[1], 3) < 0 || close_range(4, ~0u, 0) < 0)
			_exit(1);
		/* The address is the administrator's text, not a peer's. A
		 * unix socket is connected to before the drop: its file
		 * permissions and the listener's credential check
		 * (usbip-attach lets root in) are for root, and the connect
		 * resolves no name and reads no byte. */
		int r = transport_parse_tls(d->export_to, &a, msg, sizeof(msg));
		if (r == 0 && a.kind == TRANSPORT_UNIX)
			fd = transport_connect(&a, msg, sizeof(msg));
		/* Without root it stays the broker's uid: the usbfs nodes,
		 * the other processes and the control socket are hidden. */
		char control_dir[256];
		snprintf(control_dir, sizeof(control_dir), "%s",
			 b.control_path);
		char *slash = strrchr(control_dir, '/');
		*(slash ? slash : control_dir) = '\0';
		const char *hide[] = {"/dev", "/proc", "/sys",
				      control_dir[0] ? control_dir : NULL,
				      NULL};
		if (r == 0 &&
		    dial_confine_hiding(DIAL_UID, DIAL_UID, hide,
					a.kind == TRANSPORT_FC_VSOCK, msg,
					sizeof(msg)) < 0) {
			if (fd >= 0)
				close(fd);
			fd = -1;
		} else if (r == 0 && a.kind != TRANSPORT_UNIX) {
			fd = transport_connect(&a, msg, sizeof(msg));
		}
		/* A failed send: the broker sees the channel close. */
		ipc_send_datagram(3, msg, strlen(msg) + 1, fd);
		_exit(0);
	}
	close(pair[1]);
	if (pid < 0) {
		close(pair[0]);
		schedule_redial(d);
		return;
	}
	/* Unwatched, the helper's answer would never be read: it ends when
	 * its send fails, and the device waits for the next attempt. */
	int r = broker_watch(pair[0], TAG(TAG_DIAL, index));
	if (r < 0) {
		log_line("export %s: epoll: %s", d->info.busid, strerror(-r));
		close(pair[0]);
		schedule_redial(d);
		return;
	}
	d->dial = pair[0];
}

void dial_unexport(struct exported *d)
{
	struct transport_addr a;
	char why[256];

	d->leaving = true; /* no redial; given back once the worker is gone */
	/* A tls: destination would get OP_REQ_UNEXPORT, busid and all, in
	 * clear on a connection it expects a handshake on: its link is cut
	 * without telling it, as before device-side unexport. */
	if (transport_parse_tls(d->export_to, &a, why, sizeof(why)) < 0 ||
	    a.tls) {
		session_stop(d->session, "is unexported (a TLS destination is "
					 "not told: no OP_REQ_UNEXPORT)");
		return;
	}
	d->unexport_by = time(NULL) + UNEXPORT_DIAL_S;
	start_dial(d, (size_t)(d - b.devices));
	if (d->dial < 0) {
		d->unexport_by = 0;
		session_stop(d->session, "is unexported (no dial possible)");
	}
}

/* The unexport's dial answered: the socket goes to the worker, or the
 * link is cut without it. */
static void unexport_dialled(struct exported *d, int conn, const char *msg)
{
	d->unexport_by = 0;
	if (!d->session) {
		if (conn >= 0)
			close(conn);
		return;
	}
	if (conn < 0) {
		log_line("unexport %s: %s: %s", d->info.busid,
			 d->export_to, msg[0] ? msg : "dialling failed");
		session_stop(d->session, "is unexported without OP_REQ_UNEXPORT");
		return;
	}
	session_unexport(d->session, conn);
	close(conn);
}

void dial_done(struct exported *d)
{
	char msg[256] = "";
	int conn = fd_recv(d->dial, msg, sizeof(msg));

	close(d->dial);
	d->dial = -1;
	msg[sizeof(msg) - 1] = '\0';
	if (d->used && d->unexport_by) {
		unexport_dialled(d, conn, msg);
		return;
	}
	if (conn < 0 || b.draining || !d->used || d->leaving) {
		if (conn < 0)
			log_line("export %s to %s: %s", d->info.busid,
				 d->export_to,
				 msg[0] ? msg : "dialling failed");
		else
			close(conn);
		if (d->used)
			schedule_redial(d);
		return;
	}
	/* The policy may have changed, or the device, while it dialled. */
	if (!reevaluate(d, "dialled")) {
		close(conn);
		return;
	}
	struct transport_addr a;
	char why[256];
	bool tls =
		transport_parse_tls(d->export_to, &a, why, sizeof(why)) == 0 &&
		a.tls;
	if (!spawn_worker(conn, d->export_to, d->info.busid, NULL,
			  tls))
		schedule_redial(d);
	close(conn);
}

void retry_exports(void)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < MAX_EXPORTED && !b.draining; i++) {
		struct exported *d = &b.devices[i];
		if (d->used && d->unexport_by && now >= d->unexport_by) {
			/* The importer's listener could not be reached in
			 * time: the link is cut without telling it. */
			if (d->dial >= 0)
				close(d->dial);
			d->dial = -1;
			d->unexport_by = 0;
			if (d->session)
				session_stop(d->session,
					     "is unexported; the importer's "
					     "listener was not reached");
			continue;
		}

		if (d->used && !d->leaving && d->export_to[0] &&
		    !export_session_of(d) && d->dial < 0 &&
		    d->retry_at <= now && reevaluate(d, "redial"))
			start_dial(d, i);
	}
}
