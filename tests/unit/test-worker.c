// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The worker's side of things that need no kernel device: its broker
 * client (daemons/worker/broker_client.h) against a scripted broker on a
 * socketpair, and the error vocabulary of its device operations (negative
 * errno from every one, whatever the backend; a reason on every failure).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker_client.h"
#include "check-main.h"
#include "session.h"
#include "simdev.h"

/* The broker's end is *broker; the client holds the worker's. */
static struct broker_client client(int *broker)
{
	int pair[2];

	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
	*broker = pair[0];
	return (struct broker_client){.fd = pair[1]};
}

static struct op_io_deadline within(int ms)
{
	return (struct op_io_deadline){.at_ms = op_io_now_ms() + ms};
}

/* The one request the broker got, which must be of type want. */
static struct ipc_message request(int broker, uint32_t want)
{
	struct ipc_message m;
	char msg[128];
	int fd;

	ck_assert_int_eq(
		ipc_recv(broker, IPC_BROKER_SIDE, &m, &fd, msg, sizeof(msg)),
		0);
	ck_assert_uint_eq(m.type, want);
	ck_assert_int_eq(fd, -1);
	return m;
}

static void answer_open(int broker, int32_t status, const char *busid, int fd)
{
	struct ipc_open_answer a = {.status = status};

	snprintf(a.device.device.busid, sizeof(a.device.device.busid), "%s",
		 busid);
	a.device.device.busnum = 3;
	a.device.device.devnum = 7;
	ck_assert_int_eq(ipc_send(broker, IPC_OPEN_ANSWER, &a, sizeof(a), fd),
			 0);
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Answers with a device node and closes the broker's copy: the number it
 * had is the one the worker's copy gets, the lowest free. */
static int answer_node(int broker, const char *busid)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	answer_open(broker, 0, busid, fd);
	close(fd);
	return fd;
}

START_TEST(client_devlist)
{
	int broker;
	struct broker_client bc = client(&broker);
	struct ipc_devlist_answer a = {.count = 2}, got;
	struct op_io_deadline d = within(1000);
	char msg[128];

	snprintf(a.devices[1].device.busid, sizeof(a.devices[1].device.busid),
		 "2-1");
	/* Answered ahead: the client sends, then reads what is there. */
	ck_assert_int_eq(
		ipc_send(broker, IPC_DEVLIST_ANSWER, &a, sizeof(a), -1), 0);
	ck_assert_int_eq(broker_client_devlist(&bc, &d, &got, msg, sizeof(msg)),
			 0);
	request(broker, IPC_DEVLIST_REQUEST);
	ck_assert_uint_eq(got.count, 2);
	ck_assert_str_eq(got.devices[1].device.busid, "2-1");
}
END_TEST

START_TEST(client_wrong_answer)
{
	int broker;
	struct broker_client bc = client(&broker);
	struct ipc_devlist_answer got;
	struct op_io_deadline d = within(1000);
	char msg[128] = "unset";

	/* A device node where a list was asked for: refused, and the node
	 * does not stay open in the worker. */
	int node = answer_node(broker, "1-1");
	ck_assert_int_eq(broker_client_devlist(&bc, &d, &got, msg, sizeof(msg)),
			 -EPROTO);
	ck_assert_str_eq(msg, "answer 0x82 to request 0x1");
	ck_assert(!fd_open(node));
}
END_TEST

START_TEST(client_no_answer)
{
	int broker;
	struct broker_client bc = client(&broker);
	struct ipc_devlist_answer got;
	struct op_io_deadline d = within(50);
	char msg[128] = "unset";

	ck_assert_int_eq(broker_client_devlist(&bc, &d, &got, msg, sizeof(msg)),
			 -ETIMEDOUT);
	ck_assert_str_eq(msg, "no answer: Connection timed out");
}
END_TEST

START_TEST(client_stopped)
{
	static volatile sig_atomic_t stop = 1;
	int broker;
	struct broker_client bc = client(&broker);
	struct ipc_devlist_answer got;
	struct op_io_deadline d = within(1000);
	char msg[128] = "unset";

	d.stop = &stop;
	ck_assert_int_eq(broker_client_devlist(&bc, &d, &got, msg, sizeof(msg)),
			 -EINTR);
	ck_assert_str_eq(msg, "stopped");
}
END_TEST

START_TEST(client_open_granted)
{
	int broker;
	struct broker_client bc = client(&broker);
	struct op_io_deadline d = within(1000);
	struct broker_grant g;
	bool refused = true;
	char msg[128];

	answer_node(broker, "1-1.2");
	ck_assert_int_eq(broker_client_open(&bc, &d, "1-1.2", &g, &refused, msg,
					    sizeof(msg)),
			 0);
	ck_assert(!refused);
	ck_assert(fd_open(g.fd));
	ck_assert_uint_eq(g.busnum, 3);
	ck_assert_uint_eq(g.devnum, 7);
	struct ipc_message m = request(broker, IPC_OPEN_REQUEST);
	ck_assert_str_eq(m.u.open_request.busid, "1-1.2");
	close(g.fd);
}
END_TEST

START_TEST(client_open_refused)
{
	int broker;
	struct broker_client bc = client(&broker);
	struct op_io_deadline d = within(1000);
	struct broker_grant g;
	bool refused = false;
	char msg[128] = "unset";

	answer_open(broker, -EBUSY, "1-1", -1);
	ck_assert_int_eq(broker_client_open(&bc, &d, "1-1", &g, &refused, msg,
					    sizeof(msg)),
			 -EBUSY);
	ck_assert(refused);
	ck_assert_int_eq(g.fd, -1);
	ck_assert_str_eq(msg, "refused: Device or resource busy");
}
END_TEST

/* A broker that answers with another device than the one asked for is
 * broken; the node it sent is closed, not served. */
START_TEST(client_open_other_device)
{
	int broker;
	struct broker_client bc = client(&broker);
	struct op_io_deadline d = within(1000);
	struct broker_grant g;
	bool refused = true;
	char msg[128] = "unset";

	int node = answer_node(broker, "1-2");
	ck_assert_int_eq(broker_client_open(&bc, &d, "1-1", &g, &refused, msg,
					    sizeof(msg)),
			 -EPROTO);
	ck_assert(!refused);
	ck_assert_int_eq(g.fd, -1);
	ck_assert(!fd_open(node));
	ck_assert_str_eq(msg, "asked for 1-1, given another device");
}
END_TEST

START_TEST(client_open_positive_status)
{
	int broker;
	struct broker_client bc = client(&broker);
	struct op_io_deadline d = within(1000);
	struct broker_grant g;
	bool refused = true;
	char msg[128] = "unset";

	answer_open(broker, 5, "1-1", -1);
	ck_assert_int_eq(broker_client_open(&bc, &d, "1-1", &g, &refused, msg,
					    sizeof(msg)),
			 -EPROTO);
	ck_assert(!refused);
	ck_assert_str_eq(msg, "answer status 5");
}
END_TEST

/* Counters need no answer; once the broker is gone the failure is said
 * once and the session goes on without sending more. */
START_TEST(client_report)
{
	int broker;
	struct broker_client bc = client(&broker);
	struct session_stats st = {.urbs = 5, .bytes_in = 6, .errors = 1};
	char msg[128] = "unset";

	ck_assert_int_eq(broker_client_report(&bc, &st, msg, sizeof(msg)), 0);
	struct ipc_message m = request(broker, IPC_STATS);
	ck_assert_uint_eq(m.u.stats.urbs, 5);
	ck_assert_uint_eq(m.u.stats.bytes_in, 6);
	ck_assert_uint_eq(m.u.stats.errors, 1);
	close(broker);
	ck_assert_int_eq(broker_client_report(&bc, &st, msg, sizeof(msg)),
			 -EPIPE);
	ck_assert_str_eq(msg, "sending counters: Broken pipe");
	ck_assert_int_eq(broker_client_report(&bc, &st, msg, sizeof(msg)), 0);
}
END_TEST

/* The signature comes back as the broker made it; a refusal keeps its
 * errno; an answer of another type is a broken channel. */
START_TEST(client_sign)
{
	int broker;
	struct broker_client bc = client(&broker);
	struct op_io_deadline d = within(2000);
	const uint8_t tbs[98] = {0x20};
	uint8_t sig[64];
	size_t len = 0;
	char msg[128];

	struct ipc_sign_answer a = {.length = 64};
	memset(a.signature, 0xab, sizeof(a.signature));
	ck_assert_int_eq(ipc_send(broker, IPC_SIGN_ANSWER, &a, sizeof(a), -1),
			 0);
	ck_assert_int_eq(broker_client_sign(&bc, &d, tbs, sizeof(tbs), sig,
					    sizeof(sig), &len, msg,
					    sizeof(msg)),
			 0);
	ck_assert_uint_eq(len, 64);
	ck_assert_uint_eq(sig[63], 0xab);
	struct ipc_message m = request(broker, IPC_SIGN_REQUEST);
	ck_assert_uint_eq(m.u.sign_request.length, sizeof(tbs));

	a = (struct ipc_sign_answer){.status = -EPERM};
	ck_assert_int_eq(ipc_send(broker, IPC_SIGN_ANSWER, &a, sizeof(a), -1),
			 0);
	ck_assert_int_eq(broker_client_sign(&bc, &d, tbs, sizeof(tbs), sig,
					    sizeof(sig), &len, msg,
					    sizeof(msg)),
			 -EPERM);
	request(broker, IPC_SIGN_REQUEST);

	ck_assert_int_eq(ipc_send(broker, IPC_DEVLIST_ANSWER,
				  &(struct ipc_devlist_answer){0},
				  sizeof(struct ipc_devlist_answer), -1),
			 0);
	ck_assert_int_eq(broker_client_sign(&bc, &d, tbs, sizeof(tbs), sig,
					    sizeof(sig), &len, msg,
					    sizeof(msg)),
			 -EPROTO);
	close(broker);
	close(bc.fd);
}
END_TEST

/* The unexport socket arrives with its message; nothing by the deadline
 * is a plain stop; IPC_UNEXPORT without a socket is refused on the way
 * in (ipc_recv), and another message is a broken channel. */
START_TEST(client_await_unexport)
{
	int broker;
	struct broker_client bc = client(&broker);
	struct op_io_deadline d = within(50);
	int pair[2];
	char msg[128];

	ck_assert_int_eq(
		broker_client_await_unexport(&bc, &d, msg, sizeof(msg)),
		-ETIMEDOUT);
	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	ck_assert_int_eq(ipc_send(broker, IPC_UNEXPORT, NULL, 0, pair[0]), 0);
	d = within(2000);
	int fd = broker_client_await_unexport(&bc, &d, msg, sizeof(msg));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	char c;
	ck_assert_int_eq(read(pair[1], &c, 1), 1);
	close(fd);
	close(pair[0]);
	close(pair[1]);

	ck_assert_int_eq(ipc_send(broker, IPC_DEVLIST_ANSWER,
				  &(struct ipc_devlist_answer){0},
				  sizeof(struct ipc_devlist_answer), -1),
			 0);
	ck_assert_int_eq(
		broker_client_await_unexport(&bc, &d, msg, sizeof(msg)),
		-EPROTO);
	close(broker);
	close(bc.fd);
}
END_TEST

/* The device operations speak errno whatever the backend: a refused
 * submission is -EINVAL (LIBUSB_ERROR_INVALID_PARAM, -2, would read as
 * -ENOENT), an unknown cancel -ENOENT (LIBUSB_ERROR_NOT_FOUND, -5, would
 * read as -EIO). */
START_TEST(sim_operations_errno)
{
	struct worker_device d;
	struct libusb_transfer *x = libusb_alloc_transfer(0);
	char msg[128] = "unset";

	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(
		sim_device_open(&d, "zero", "1-1", 1, msg, sizeof(msg)), 0);
	x->type = LIBUSB_TRANSFER_TYPE_BULK;
	x->endpoint = 0x81;
	x->length = 0; /* the source refuses a zero-length read */
	ck_assert_int_eq(worker_device_submit(&d, x), -EINVAL);
	ck_assert_int_eq(worker_device_cancel(&d, x), -ENOENT);
	ck_assert_int_eq(worker_device_set_configuration(&d, 9), -EINVAL);
	ck_assert_int_eq(worker_device_set_interface(&d, 7, 0), -EINVAL);
	worker_device_close(&d);
	libusb_free_transfer(x);
}
END_TEST

START_TEST(sim_open_says_why)
{
	struct worker_device d;
	char msg[128] = "unset";

	ck_assert_int_eq(
		sim_device_open(&d, "toaster", "1-1", 1, msg, sizeof(msg)),
		-EINVAL);
	ck_assert_str_eq(msg, "unknown simulated device 'toaster' "
			      "(keyboard[:TEXT], audio-loopback, zero)");
	strcpy(msg, "unset");
	ck_assert_int_eq(sim_device_open(&d, "keyboard:\x01", "1-1", 1, msg,
					 sizeof(msg)),
			 -EINVAL);
	ck_assert_str_eq(msg, "the keyboard cannot type byte 0x01 at offset 0");
}
END_TEST

/* A node that is no usbfs device: an errno, the reason, and the fd
 * (the device's from the start) closed on every path. */
START_TEST(usbfs_open_failures)
{
	libusb_context *ctx;
	struct worker_device d;
	char msg[128] = "unset";
	int pipe_fds[2], null_fd;

	ck_assert_int_eq(worker_usb_init(&ctx), 0);
	ck_assert_int_eq(pipe2(pipe_fds, O_CLOEXEC), 0);
	close(pipe_fds[1]);
	ck_assert_int_eq(worker_device_open(&d, ctx, pipe_fds[0], "1-1", 1, 2,
					    msg, sizeof(msg)),
			 -ESPIPE);
	ck_assert_str_eq(msg, "reading descriptors: Illegal seek");
	ck_assert(!fd_open(pipe_fds[0]));

	strcpy(msg, "unset");
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(null_fd, 0);
	int r = worker_device_open(&d, ctx, null_fd, "1-1", 1, 2, msg,
				   sizeof(msg));
	ck_assert_int_lt(r, 0);
	ck_assert_int_gt(r, -4096);
	ck_assert_str_ne(msg, "unset");
	ck_assert(!fd_open(null_fd));
	libusb_exit(ctx);
}
END_TEST

/* The one map from libusb's codes: each to its own negative errno, none
 * left as a libusb code. */
START_TEST(libusb_codes_mapped)
{
	static const struct {
		int libusb, errno_value;
	} map[] = {
		{LIBUSB_SUCCESS, 0},
		{LIBUSB_ERROR_IO, -EIO},
		{LIBUSB_ERROR_INVALID_PARAM, -EINVAL},
		{LIBUSB_ERROR_ACCESS, -EACCES},
		{LIBUSB_ERROR_NO_DEVICE, -ENODEV},
		{LIBUSB_ERROR_NOT_FOUND, -ENOENT},
		{LIBUSB_ERROR_BUSY, -EBUSY},
		{LIBUSB_ERROR_TIMEOUT, -ETIMEDOUT},
		{LIBUSB_ERROR_OVERFLOW, -EOVERFLOW},
		{LIBUSB_ERROR_PIPE, -EPIPE},
		{LIBUSB_ERROR_INTERRUPTED, -EINTR},
		{LIBUSB_ERROR_NO_MEM, -ENOMEM},
		{LIBUSB_ERROR_NOT_SUPPORTED, -EOPNOTSUPP},
		{LIBUSB_ERROR_OTHER, -EPROTO},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		ck_assert_int_eq(errno_from_libusb(map[i].libusb),
				 map[i].errno_value);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("broker-client");

	tcase_add_test(tc, client_devlist);
	tcase_add_test(tc, client_wrong_answer);
	tcase_add_test(tc, client_no_answer);
	tcase_add_test(tc, client_stopped);
	tcase_add_test(tc, client_open_granted);
	tcase_add_test(tc, client_open_refused);
	tcase_add_test(tc, client_open_other_device);
	tcase_add_test(tc, client_open_positive_status);
	tcase_add_test(tc, client_report);
	tcase_add_test(tc, client_sign);
	tcase_add_test(tc, client_await_unexport);
	suite_add_tcase(s, tc);
	tc = tcase_create("device");
	tcase_add_test(tc, sim_operations_errno);
	tcase_add_test(tc, sim_open_says_why);
	tcase_add_test(tc, usbfs_open_failures);
	tcase_add_test(tc, libusb_codes_mapped);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
