// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one epoll loop: what each file descriptor's event calls, signals,
 * the one-second timer, and the drain at SIGTERM. The top of the broker
 * below main: it calls every other layer, none calls it.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "ctl.h"
#include "devices.h"
#include "dial.h"
#include "hotplug.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "macros.h"
#include "sessions.h"

/*
 * How long a stop waits for the devices' give-back children (devices.c),
 * counted from its start: after the sessions' TERM_GRACE_S, time for the
 * reset and the drivers' probes, all below the unit's TimeoutStopSec (15
 * s). A child still busy then is left to finish on its own: it holds
 * nothing of the broker's, ignores the stop's SIGTERM, and killing it
 * could only leave the device with no driver.
 */
#define GIVE_BACK_STOP_S 10

static struct timespec drain_start;

/* Milliseconds left of the stop's GIVE_BACK_STOP_S (rounded up), 0 once
 * past: from the whole timespec, not whole seconds. */
static int give_back_ms_left(void)
{
	struct timespec now;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = GIVE_BACK_STOP_S * 1000000000LL -
	     ((long long)(now.tv_sec - drain_start.tv_sec) * 1000000000LL +
	      (now.tv_nsec - drain_start.tv_nsec));
	return ns > 0 ? (int)((ns + 999999) / 1000000) : 0;
}

/* Every device out of a session goes to a give-back child now, and one in
 * a session once its worker is reaped (leaving): all the give-backs run
 * side by side within the one GIVE_BACK_STOP_S, none waits its turn after
 * it in the broker itself. At most MAX_EXPORTED children, one per device. */
static void give_back_all(void)
{
	for (size_t i = 0; i < MAX_EXPORTED; i++) {
		struct exported *d = &b.devices[i];
		if (!d->used || d->leaving)
			continue;
		if (d->session)
			d->leaving = true;
		else
			release_device(d, true);
	}
}

static void begin_drain(void)
{
	if (b.draining)
		return;
	b.draining = true;
	clock_gettime(CLOCK_MONOTONIC, &drain_start);
	log_line("stopping: ending %s sessions within %d s", "all",
		 TERM_GRACE_S);
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "STOPPING=1");
#endif
	for (size_t i = 0; i < b.num_listen; i++)
		close(b.listen[i]);
	b.num_listen = 0;
	for (size_t i = 0; i < b.max_sessions; i++)
		if (b.sessions[i].used)
			session_stop(&b.sessions[i], NULL);
	spare_stop();
	give_back_all();
	control_stopping();
}

/* Every session over (sessions_tick kills what does not stop) and every
 * device given back, or GIVE_BACK_STOP_S passed. */
static bool drained(void)
{
	bool any = false;

	for (size_t i = 0; i < b.max_sessions; i++)
		any |= b.sessions[i].used;
	if (any || b.spare.used)
		return false;
	if (!giving_back_any())
		return true;
	if (give_back_ms_left() > 0)
		return false;
	give_back_left_running();
	return true;
}

/* The loop's end: what still waits for an answer gets it. */
static int loop_end(int r)
{
	b.loop_done = true;
	control_stopped();
	return r;
}

static void signal_event(void)
{
	struct signalfd_siginfo si;

	while (read(b.signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap_workers();
			control_unexports_done();
			hotplug_after_give_back();
		}
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			begin_drain();
		else if (si.ssi_signo == SIGHUP) {
			char msg[256];
			reload_policy(msg, sizeof(msg));
		}
	}
}

static int setup_failed(const char *what, int err)
{
	log_line("not starting: %s: %s", what, strerror(-err));
	return err;
}

int loop_setup(char **listen_addrs, size_t num_listen)
{
	sigset_t mask;
	int r;

	b.sessions = calloc(b.max_sessions, sizeof(*b.sessions));
	if (!b.sessions)
		return setup_failed("sessions", -ENOMEM);
	b.epoll = epoll_create1(EPOLL_CLOEXEC);
	if (b.epoll < 0)
		return setup_failed("epoll", -errno);
	for (size_t i = 0; i < b.max_sessions; i++)
		b.sessions[i].ipc = -1;
	b.spare.ipc = -1;
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		b.devices[i].dial = -1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	b.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (b.signal_fd < 0)
		return setup_failed("signalfd", -errno);
	r = broker_watch(b.signal_fd, TAG(TAG_SIGNAL, 0));
	if (r < 0)
		return setup_failed("signalfd", r);

	r = ctl_open();
	if (r < 0)
		return r;
	r = listen_open(listen_addrs, num_listen);
	if (r < 0)
		return r;
	hotplug_open();

	/* Without it no worker told to stop is ever killed. */
	b.timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (b.timer_fd < 0)
		return setup_failed("timerfd", -errno);
	struct itimerspec every_second = {{1, 0}, {1, 0}};
	if (timerfd_settime(b.timer_fd, 0, &every_second, NULL) < 0)
		return setup_failed("timerfd", -errno);
	r = broker_watch(b.timer_fd, TAG(TAG_TIMER, 0));
	if (r < 0)
		return setup_failed("timerfd", r);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	return 0;
}

int loop_run(void)
{
	for (;;) {
		struct epoll_event ev[16];
		/* Woken at the stop's bound, not at the tick after it. */
		int left = b.draining ? give_back_ms_left() : 0;
		int wait_ms = left > 0 && left < 1000 ? left : 1000;
		int n = epoll_wait(b.epoll, ev, ARRAY_SIZE(ev), wait_ms);

		if (n < 0 && errno != EINTR)
			return loop_end(-errno);
		for (int i = 0; i < n; i++) {
			uint32_t index = (uint32_t)ev[i].data.u64;
			switch (ev[i].data.u64 >> 32) {
			case TAG_CONTROL:
				control_connection();
				break;
			case TAG_LISTEN:
				if (index < b.num_listen)
					accept_client(index);
				break;
			case TAG_SESSION:
				if (b.sessions[index].used &&
				    b.sessions[index].ipc >= 0)
					session_message(&b.sessions[index]);
				break;
			case TAG_SPARE:
				if (b.spare.used && b.spare.ipc >= 0)
					spare_event();
				break;
			case TAG_SIGNAL:
				signal_event();
				break;
			case TAG_UDEV:
				udev_event();
				break;
			case TAG_DIAL:
				if (index < MAX_EXPORTED &&
				    b.devices[index].dial >= 0)
					dial_done(&b.devices[index]);
				break;
			case TAG_TIMER: {
				uint64_t ticks;
				if (read(b.timer_fd, &ticks, sizeof(ticks)) < 0)
					break;
				retry_exports();
				sessions_tick();
				break;
			}
			}
		}
		if (b.draining && drained())
			return loop_end(0);
	}
}

/* For udev's IMPORT{program}: the policy's verdict on BUSID as
 * KEY=VALUE lines, read from the file alone (the broker need not run). */
