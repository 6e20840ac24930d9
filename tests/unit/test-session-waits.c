// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the session's loop costs per URB besides the URB's own work
 * (issue #14 item 7): one synchronous request after another, each
 * answered at once by the device, with progress reports to the broker
 * on. The loop may not arm a timeout on its waits nor read a clock that
 * is a syscall and a device read on clocksources without a vDSO path
 * (hpet, as under QEMU TCG): before, it did both twice a URB, for its
 * once-a-second report. Built with ppoll and clock_gettime wrapped
 * (-Wl,--wrap), which count.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check-main.h"
#include "session.h"
#include "simdev.h"
#include "wire.h"

#define URBS 300

static unsigned timed_waits, precise_clock_reads;

int __real_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t,
		 const sigset_t *mask);
int __wrap_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t,
		 const sigset_t *mask);
int __wrap_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t,
		 const sigset_t *mask)
{
	/* A zero timeout is a look, not a timed wait. */
	if (t && (t->tv_sec || t->tv_nsec))
		timed_waits++;
	return __real_ppoll(fds, n, t, mask);
}

int __real_clock_gettime(clockid_t id, struct timespec *t);
int __wrap_clock_gettime(clockid_t id, struct timespec *t);
int __wrap_clock_gettime(clockid_t id, struct timespec *t)
{
	if (id != CLOCK_MONOTONIC_COARSE && id != CLOCK_REALTIME_COARSE)
		precise_clock_reads++;
	return __real_clock_gettime(id, t);
}

/* The simulated device's descriptors, but every transfer completes
 * inside its submission: the loop's own waits and clock reads are all
 * that is counted. */
static int submit_done_at_once(struct worker_device *d,
			       struct libusb_transfer *x)
{
	(void)d;
	x->status = LIBUSB_TRANSFER_COMPLETED;
	x->actual_length = x->type == LIBUSB_TRANSFER_TYPE_CONTROL
				   ? x->length - (int)LIBUSB_CONTROL_SETUP_SIZE
				   : x->length;
	x->callback(x);
	return 0;
}
static int no_timeout(struct worker_device *d)
{
	(void)d;
	return -1;
}
static void no_events(struct worker_device *d)
{
	(void)d;
}

static unsigned reports;
static void count_report(const struct session_stats *stats, void *ctx)
{
	(void)stats, (void)ctx;
	reports++;
}

static void write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			_exit(3);
		p = (const uint8_t *)p + w;
		n -= (size_t)w;
	}
}

static void read_all(int fd, void *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			_exit(4);
		p = (uint8_t *)p + r;
		n -= (size_t)r;
	}
}

/* URBS GET_DESCRIPTOR(DEVICE)s, one in flight; exits 0 when each came
 * back whole. */
static void client(int fd, uint32_t devid)
{
	for (uint32_t i = 1; i <= URBS; i++) {
		struct usbip_urb_header h = {.command = USBIP_CMD_SUBMIT,
					     .seqnum = i,
					     .devid = devid,
					     .direction = USBIP_DIR_IN,
					     .ep = 0};
		uint8_t frame[USBIP_URB_HEADER_LEN],
			reply[USBIP_URB_HEADER_LEN + 18];
		const uint8_t setup[8] = {0x80, 6, 0, 1, 0, 0, 18, 0};

		h.u.submit.transfer_buffer_length = 18;
		memcpy(h.u.submit.setup, setup, 8);
		usbip_urb_header_pack(&h, frame);
		write_all(fd, frame, sizeof(frame));
		read_all(fd, reply, sizeof(reply));
		struct usbip_urb_header r;
		struct usbip_fault fault;
		if (usbip_urb_header_unpack(reply, &r, &fault) < 0 ||
		    r.command != USBIP_RET_SUBMIT || r.seqnum != i ||
		    r.u.ret_submit.status != 0 ||
		    r.u.ret_submit.actual_length != 18)
			_exit(5);
	}
	_exit(0);
}

START_TEST(no_timed_wait_nor_clock_syscall_per_urb)
{
	struct worker_device d;
	struct worker_device_ops ops;
	struct urb_limits limits;
	struct session_stats stats = {0};
	char msg[128];
	int pair[2], status;

	ck_assert_int_eq(
		sim_device_open(&d, "zero", "1-1", 1, msg, sizeof(msg)), 0);
	ops = *d.ops;
	ops.submit = submit_done_at_once;
	ops.timeout_ms = no_timeout;
	ops.handle_events = no_events;
	d.ops = &ops;
	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pair[0]);
		client(pair[1],
		       d.wire.device.busnum << 16 | d.wire.device.devnum);
	}
	close(pair[1]);
	ck_assert_int_eq(session_stop_setup(), 0);
	urb_limits_default(&limits);
	timed_waits = precise_clock_reads = 0;
	int r = session_serve(&d, pair[0], "test", &limits, &stats,
			      count_report, NULL, NULL);
	unsigned waits = timed_waits, clocks = precise_clock_reads;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the client saw a wrong reply (status %d)", status);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(stats.urbs, URBS);
	ck_assert_uint_ge(reports, 1);
	/* A few for the session's set-up and a report timer at most: not
	 * one for every URB. */
	ck_assert_msg(waits < 10,
		      "%u timed waits for %d URBs (none a URB expected)", waits,
		      URBS);
	ck_assert_msg(clocks < 10,
		      "%u precise clock reads for %d URBs (none a URB "
		      "expected)",
		      clocks, URBS);
	close(pair[0]);
	worker_device_close(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("session-waits");
	TCase *tc = tcase_create("loop");

	tcase_add_test(tc, no_timed_wait_nor_clock_syscall_per_urb);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
