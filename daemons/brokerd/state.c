// SPDX-License-Identifier: GPL-2.0-or-later
/* The broker's state (state.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "state.h"

struct broker b = {.control = -1, .lock = -1, .signal_fd = -1, .timer_fd = -1};

void broker_notify_status(void)
{
#ifdef HAVE_LIBSYSTEMD
	unsigned exported = 0, sessions = 0;

	for (size_t i = 0; i < MAX_EXPORTED; i++)
		exported += b.devices[i].used;
	for (size_t i = 0; i < b.max_sessions; i++)
		sessions += b.sessions[i].used;
	sd_notifyf(0, "STATUS=%u exported, %u sessions", exported, sessions);
#endif
}

int broker_watch(int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(b.epoll, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

struct exported *find_exported(const char *busid)
{
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		if (b.devices[i].used && !b.devices[i].leaving &&
		    !strcmp(b.devices[i].info.busid, busid))
			return &b.devices[i];
	return NULL;
}

struct session *export_session_of(const struct exported *d)
{
	if (d->session)
		return d->session;
	/* Until it is granted, only its bound busid ties it to d. */
	for (size_t i = 0; i < b.max_sessions; i++)
		if (b.sessions[i].used && b.sessions[i].outgoing &&
		    !strcmp(b.sessions[i].bound_busid,
			    d->info.busid))
			return &b.sessions[i];
	return NULL;
}

void session_stop(struct session *s, const char *why)
{
	if (s->kill_at)
		return;
	if (why)
		log_line("%s: worker %d %s; stopping it", s->peer, (int)s->pid,
			 why);
	kill(s->pid, SIGTERM);
	s->kill_at = time(NULL) + TERM_GRACE_S;
}
