// SPDX-License-Identifier: GPL-2.0-or-later
/* The broker-worker channel: every message type both ways, and every way
 * a compromised worker (or broker) could bend a message. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check-main.h"
#include "ipc.h"

static int sv[2];

static void setup(void)
{
	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void teardown(void)
{
	close(sv[0]);
	close(sv[1]);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Sends bytes as they are, with any descriptors: what a compromised
 * peer can do. */
static void raw_send(const void *buf, size_t len, const int *fds, int nfds)
{
	char control[CMSG_SPACE(4 * sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (nfds) {
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	ck_assert_int_eq(sendmsg(sv[1], &mh, 0), (ssize_t)len);
}

static int recv_as(enum ipc_side side, struct ipc_message *m, int *fd,
		   char *msg)
{
	return ipc_recv(sv[0], side, m, fd, msg, 256);
}

START_TEST(round_trips)
{
	struct ipc_message m;
	char msg[256];
	int fd;

	ck_assert_int_eq(ipc_send(sv[1], IPC_DEVLIST_REQUEST, NULL, 0, -1), 0);
	ck_assert_int_eq(recv_as(IPC_BROKER_SIDE, &m, &fd, msg), 0);
	ck_assert_uint_eq(m.type, IPC_DEVLIST_REQUEST);
	ck_assert_int_eq(fd, -1);

	struct ipc_open_request req = {.busid = "1-1"};
	ck_assert_int_eq(
		ipc_send(sv[1], IPC_OPEN_REQUEST, &req, sizeof(req), -1), 0);
	ck_assert_int_eq(recv_as(IPC_BROKER_SIDE, &m, &fd, msg), 0);
	ck_assert_str_eq(m.u.open_request.busid, "1-1");

	struct ipc_stats st = {.urbs = 7, .bytes_in = 1 << 20};
	ck_assert_int_eq(ipc_send(sv[1], IPC_STATS, &st, sizeof(st), -1), 0);
	ck_assert_int_eq(recv_as(IPC_BROKER_SIDE, &m, &fd, msg), 0);
	ck_assert_uint_eq(m.u.stats.urbs, 7);

	/* The device comes with its fd, which arrives open and CLOEXEC. */
	struct ipc_open_answer ans = {.status = 0};
	strcpy(ans.device.device.busid, "1-1");
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_eq(
		ipc_send(sv[1], IPC_OPEN_ANSWER, &ans, sizeof(ans), null), 0);
	close(null);
	ck_assert_int_eq(recv_as(IPC_WORKER_SIDE, &m, &fd, msg), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_str_eq(m.u.open_answer.device.device.busid, "1-1");
	close(fd);

	/* A refusal carries no fd. */
	ans.status = -EACCES;
	ck_assert_int_eq(
		ipc_send(sv[1], IPC_OPEN_ANSWER, &ans, sizeof(ans), -1), 0);
	ck_assert_int_eq(recv_as(IPC_WORKER_SIDE, &m, &fd, msg), 0);
	ck_assert_int_eq(m.u.open_answer.status, -EACCES);
	ck_assert_int_eq(fd, -1);

	struct ipc_devlist_answer list = {.count = 2};
	ck_assert_int_eq(
		ipc_send(sv[1], IPC_DEVLIST_ANSWER, &list, sizeof(list), -1),
		0);
	ck_assert_int_eq(recv_as(IPC_WORKER_SIDE, &m, &fd, msg), 0);
	ck_assert_uint_eq(m.u.devlist.count, 2);
}
END_TEST

START_TEST(send_refuses_misuse)
{
	struct ipc_open_request req = {.busid = "1-1"};
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	ck_assert_int_eq(ipc_send(sv[1], IPC_OPEN_REQUEST, &req, 3, -1),
			 -EINVAL);
	ck_assert_int_eq(
		ipc_send(sv[1], IPC_OPEN_REQUEST, &req, sizeof(req), null),
		-EINVAL);
	ck_assert_int_eq(ipc_send(sv[1], 0x42, NULL, 0, -1), -EINVAL);
	close(null);
}
END_TEST

static void assert_refused(enum ipc_side side, int err, const char *words)
{
	struct ipc_message m;
	char msg[256] = "";
	int fd = 12345;

	ck_assert_int_eq(recv_as(side, &m, &fd, msg), err);
	ck_assert_int_eq(fd, -1);
	ck_assert_msg(strstr(msg, words), "'%s' lacks '%s'", msg, words);
}

START_TEST(malformed)
{
	struct ipc_message m = {0};
	size_t hdr = offsetof(struct ipc_message, u);

	m.type = 0x55; /* unknown */
	raw_send(&m, hdr, NULL, 0);
	assert_refused(IPC_BROKER_SIDE, -EPROTO, "unknown type");

	m.type = 3; /* the reset request that nothing sent is gone */
	m.length = 0;
	raw_send(&m, hdr, NULL, 0);
	assert_refused(IPC_BROKER_SIDE, -EPROTO, "unknown type");

	m.type = IPC_OPEN_ANSWER; /* a broker message sent by a worker */
	m.length = sizeof(struct ipc_open_answer);
	raw_send(&m, hdr + m.length, NULL, 0);
	assert_refused(IPC_BROKER_SIDE, -EPROTO, "wrong side");

	m.type = IPC_OPEN_REQUEST; /* length field lies */
	m.length = 5;
	raw_send(&m, hdr + 5, NULL, 0);
	assert_refused(IPC_BROKER_SIDE, -EBADMSG, "expected 32");

	m.type = IPC_OPEN_REQUEST; /* length right, bytes short */
	m.length = sizeof(struct ipc_open_request);
	raw_send(&m, hdr + 4, NULL, 0);
	assert_refused(IPC_BROKER_SIDE, -EBADMSG, "expected 32");

	raw_send(&m, 3, NULL, 0); /* not even a header */
	assert_refused(IPC_BROKER_SIDE, -EBADMSG, "3-byte");

	m.type = IPC_OPEN_REQUEST; /* busid without its NUL */
	memset(m.u.open_request.busid, '1', USBIP_BUSID_LEN);
	raw_send(&m, hdr + m.length, NULL, 0);
	assert_refused(IPC_BROKER_SIDE, -EBADMSG, "not terminated");

	m.type = IPC_DEVLIST_ANSWER;
	m.length = sizeof(struct ipc_devlist_answer);
	m.u.devlist.count = IPC_MAX_DEVICES + 1;
	raw_send(&m, hdr + m.length, NULL, 0);
	assert_refused(IPC_WORKER_SIDE, -EBADMSG, "17 devices");

	/* Issue 15: the TLS messages' own bounds. */
	memset(&m, 0, sizeof(m));
	m.type = IPC_SIGN_REQUEST;
	m.length = sizeof(struct ipc_sign_request);
	m.u.sign_request.length = IPC_SIGN_TBS_MAX + 1;
	raw_send(&m, hdr + m.length, NULL, 0);
	assert_refused(IPC_BROKER_SIDE, -EBADMSG, "161 bytes to sign");
	m.type = IPC_SIGN_ANSWER;
	m.length = sizeof(struct ipc_sign_answer);
	m.u.sign_answer.length = IPC_SIGNATURE_MAX + 1;
	raw_send(&m, hdr + m.length, NULL, 0);
	assert_refused(IPC_WORKER_SIDE, -EBADMSG, "65-byte signature");
	m.type = IPC_TLS_PEER;
	m.length = sizeof(struct ipc_tls_peer);
	memset(m.u.tls_peer.params, 'x', IPC_TLS_PARAMS_MAX);
	raw_send(&m, hdr + m.length, NULL, 0);
	assert_refused(IPC_BROKER_SIDE, -EBADMSG, "not terminated");
	/* A transcript longer than the message holds. */
	m.u.tls_peer.params[0] = '\0';
	m.u.tls_peer.transcript_len = IPC_TLS_TRANSCRIPT_MAX + 1;
	raw_send(&m, hdr + m.length, NULL, 0);
	assert_refused(IPC_BROKER_SIDE, -EBADMSG,
		       "a 16385-byte handshake transcript");
	m.type = IPC_SIGN_REQUEST; /* a worker's message from the broker */
	m.length = sizeof(struct ipc_sign_request);
	m.u.sign_request.length = 0;
	raw_send(&m, hdr + m.length, NULL, 0);
	assert_refused(IPC_WORKER_SIDE, -EPROTO, "wrong side");

	/* Longer than any message: truncated, refused. */
	static char big[sizeof(struct ipc_message) + 64];
	memcpy(big, &m, hdr);
	raw_send(big, sizeof(big), NULL, 0);
	assert_refused(IPC_WORKER_SIDE, -EBADMSG, "truncated");

	close(sv[1]);
	assert_refused(IPC_BROKER_SIDE, -ECONNRESET, "closed");
	sv[1] = -1;
}
END_TEST

START_TEST(descriptors_only_where_they_belong)
{
	struct ipc_message m = {0};
	size_t hdr = offsetof(struct ipc_message, u);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int p[2];
	int before;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	before = open_fds();

	/* An fd smuggled on a request: refused, and closed on arrival. */
	m.type = IPC_DEVLIST_REQUEST;
	raw_send(&m, hdr, &null, 1);
	assert_refused(IPC_BROKER_SIDE, -EBADMSG, "1 descriptors");
	ck_assert_int_eq(open_fds(), before);

	/* A device answer whose fd is a pipe, not a device node. */
	m.type = IPC_OPEN_ANSWER;
	m.length = sizeof(struct ipc_open_answer);
	raw_send(&m, hdr + m.length, &p[0], 1);
	assert_refused(IPC_WORKER_SIDE, -EBADMSG, "not a device node");
	ck_assert_int_eq(open_fds(), before);

	/* Success without the fd, and with two. */
	raw_send(&m, hdr + m.length, NULL, 0);
	assert_refused(IPC_WORKER_SIDE, -EBADMSG, "0 descriptors");
	int two[2] = {null, null};
	raw_send(&m, hdr + m.length, two, 2);
	assert_refused(IPC_WORKER_SIDE, -EBADMSG, "2 descriptors");
	ck_assert_int_eq(open_fds(), before);

	close(null);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Issue 16 item 3: the one broker -> worker message that carries a
 * socket: with exactly one, a socket, and only to the worker. */
START_TEST(unexport_carries_one_socket)
{
	struct ipc_message m = {0};
	size_t hdr = offsetof(struct ipc_message, u);
	char msg[256];
	int pair[2], fd = -1, null = open("/dev/null", O_RDWR | O_CLOEXEC);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    pair),
			 0);
	ck_assert_int_eq(ipc_send(sv[1], IPC_UNEXPORT, NULL, 0, -1), -EINVAL);
	ck_assert_int_eq(ipc_send(sv[1], IPC_UNEXPORT, NULL, 0, pair[0]), 0);
	ck_assert_int_eq(recv_as(IPC_WORKER_SIDE, &m, &fd, msg), 0);
	ck_assert_uint_eq(m.type, IPC_UNEXPORT);
	ck_assert_int_ge(fd, 0);
	close(fd);
	int before = open_fds();
	m.type = IPC_UNEXPORT;
	m.length = 0;
	raw_send(&m, hdr, &null, 1);
	assert_refused(IPC_WORKER_SIDE, -EBADMSG, "not a socket");
	raw_send(&m, hdr, NULL, 0);
	assert_refused(IPC_WORKER_SIDE, -EBADMSG, "0 descriptors");
	raw_send(&m, hdr, &pair[0], 1);
	assert_refused(IPC_BROKER_SIDE, -EPROTO, "wrong side");
	ck_assert_int_eq(open_fds(), before);
	close(pair[0]);
	close(pair[1]);
	close(null);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ipc");
	TCase *tc = tcase_create("channel");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trips);
	tcase_add_test(tc, send_refuses_misuse);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, descriptors_only_where_they_belong);
	tcase_add_test(tc, unexport_carries_one_socket);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
