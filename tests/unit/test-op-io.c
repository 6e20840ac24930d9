// SPDX-License-Identifier: GPL-2.0-or-later
/* Handshake I/O by one deadline: reads and writes alike end when it
 * passes, a peer that never reads cannot hold a write, and a stop signal
 * ends any wait at once. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check-main.h"
#include "op_io.h"

static volatile sig_atomic_t stopped;

static void on_alarm(int sig)
{
	(void)sig;
	stopped = 1;
}

static void pair(int sv[2], int sndbuf)
{
	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	if (sndbuf)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
			   sizeof(sndbuf));
}

static struct op_io_deadline in_ms(int ms)
{
	return (struct op_io_deadline){.at_ms = op_io_now_ms() + ms};
}

/* A device list larger than the smallest socket buffer. */
static struct usbip_op_message long_list(void)
{
	static struct usbip_devlist_entry devices[64];
	struct usbip_op_message m = {.header.code = USBIP_OP_REP_DEVLIST,
				     .num_devices = 64,
				     .devices = devices};

	for (int i = 0; i < 64; i++) {
		snprintf(devices[i].device.busid, USBIP_BUSID_LEN, "1-%d",
			 i + 1);
		devices[i].device.speed = 2;
	}
	return m;
}

START_TEST(read_deadline_is_for_all_of_it)
{
	static const uint8_t half[4] = {0x01, 0x11, 0x80, 0x05};
	struct usbip_op_message m;
	struct op_io_deadline d = in_ms(200);
	char msg[256];
	int sv[2];
	long long t0 = op_io_now_ms();

	pair(sv, 0);
	ck_assert_int_eq(write(sv[1], half, sizeof(half)), 4);
	ck_assert_int_eq(op_io_read_by(sv[0], &d, &m, msg, sizeof(msg)),
			 -ETIMEDOUT);
	ck_assert_int_ge(op_io_now_ms() - t0, 190);
	ck_assert_int_lt(op_io_now_ms() - t0, 1000);
	/* The rest arrives, but the deadline has passed: no more time. */
	ck_assert_int_eq(write(sv[1], half, sizeof(half)), 4);
	ck_assert_int_eq(op_io_read_by(sv[0], &d, &m, msg, sizeof(msg)),
			 -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(write_to_a_peer_that_never_reads)
{
	struct usbip_op_message m = long_list();
	struct op_io_deadline d = in_ms(200);
	char msg[256];
	int sv[2], r = 0;
	long long t0 = op_io_now_ms();

	pair(sv, 4096);
	for (int i = 0; i < 1000 && r == 0; i++)
		r = op_io_send_by(sv[0], &d, &m, msg, sizeof(msg));
	ck_assert_int_eq(r, -ETIMEDOUT);
	ck_assert_int_lt(op_io_now_ms() - t0, 1000);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(stop_ends_a_blocked_write)
{
	struct usbip_op_message m = long_list();
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval in_100ms = {.it_value.tv_usec = 100000};
	sigset_t block, wait_mask;
	struct op_io_deadline d = in_ms(10000);
	char msg[256];
	int sv[2], r = 0;
	long long t0 = op_io_now_ms();

	/* As the worker has it: the signal only comes inside a wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigaction(SIGALRM, &sa, NULL);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGALRM);
	d.wait_mask = &wait_mask;
	d.stop = &stopped;
	stopped = 0;
	pair(sv, 4096);
	setitimer(ITIMER_REAL, &in_100ms, NULL);
	for (int i = 0; i < 1000 && r == 0; i++)
		r = op_io_send_by(sv[0], &d, &m, msg, sizeof(msg));
	ck_assert_int_eq(r, -EINTR);
	ck_assert_int_lt(op_io_now_ms() - t0, 1000);
	/* Once stopped, a read does not even start waiting. */
	ck_assert_int_eq(op_io_read_by(sv[0], &d, &m, msg, sizeof(msg)),
			 -EINTR);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(stop_ends_a_read)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval in_100ms = {.it_value.tv_usec = 100000};
	struct usbip_op_message m;
	struct op_io_deadline d = in_ms(10000);
	char msg[256];
	int sv[2];
	long long t0 = op_io_now_ms();

	sigaction(SIGALRM, &sa, NULL);
	d.stop = &stopped;
	stopped = 0;
	pair(sv, 0);
	setitimer(ITIMER_REAL, &in_100ms, NULL);
	ck_assert_int_eq(op_io_read_by(sv[0], &d, &m, msg, sizeof(msg)),
			 -EINTR);
	ck_assert_int_lt(op_io_now_ms() - t0, 1000);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(messages_go_through)
{
	struct usbip_op_message out = long_list(), in;
	struct op_io_deadline d = in_ms(5000);
	char msg[256];
	int sv[2];

	pair(sv, 0);
	ck_assert_int_eq(op_io_send_by(sv[0], &d, &out, msg, sizeof(msg)), 0);
	ck_assert_int_eq(op_io_read_by(sv[1], &d, &in, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(in.header.code, USBIP_OP_REP_DEVLIST);
	ck_assert_uint_eq(in.num_devices, 64);
	ck_assert_str_eq(in.devices[63].device.busid, "1-64");
	usbip_op_message_clear(&in);
	/* The blocking form keeps its per-call timeout and wording. */
	fcntl(sv[1], F_SETFL, 0);
	ck_assert_int_eq(op_io_read(sv[1], 100, &in, msg, sizeof(msg)),
			 -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(msg, "did not answer within 100 ms"));
	close(sv[0]);
	close(sv[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("op_io");
	TCase *tc = tcase_create("deadline");

	tcase_add_test(tc, read_deadline_is_for_all_of_it);
	tcase_add_test(tc, write_to_a_peer_that_never_reads);
	tcase_add_test(tc, stop_ends_a_blocked_write);
	tcase_add_test(tc, stop_ends_a_read);
	tcase_add_test(tc, messages_go_through);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
