// SPDX-License-Identifier: GPL-2.0-or-later
/* The broker's helper processes (helper.h). */
#include "helper.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"

#ifdef HAVE_LIBSECCOMP
#include <sys/mman.h>

#include "allow_list.h"

/* What the signer (with the key loaded) and the verifier take: one
 * fixed-size request read, hashing, signing or verifying with GnuTLS,
 * the answer. No open, no socket, no exec, no executable memory: what
 * the signer holds is the one secret, what the verifier reads is a
 * peer's handshake, and either taken over can only answer. */
static const struct syscall_allowance helper_allowed[] = {
	{SCMP_SYS(recvfrom), "the broker's request"},
	{SCMP_SYS(recvmsg), "the broker's request"},
	{SCMP_SYS(read), "the broker's request; GnuTLS's first use"},
	{SCMP_SYS(sendto), "the answer"},
	{SCMP_SYS(sendmsg), "the answer"},
	{SCMP_SYS(write), "a log line to stderr"},
	{SCMP_SYS(brk), "malloc"},
	{SCMP_SYS(munmap), "free"},
	{SCMP_SYS(mremap), "realloc"},
	{SCMP_SYS(madvise), "free() trimming"},
	{SCMP_SYS(futex), "GnuTLS's and glibc's locks"},
	{SCMP_SYS(getrandom), "signing; GnuTLS's lazily seeded generator"},
	{SCMP_SYS(clock_gettime), "GnuTLS"},
	{SCMP_SYS(gettimeofday), "vDSO fallback"},
	{SCMP_SYS(getpid), "GnuTLS's fork detection"},
	{SCMP_SYS(gettid), "glibc"},
	{SCMP_SYS(rt_sigreturn), "returning from a signal"},
	{SCMP_SYS(rt_sigprocmask), "glibc"},
	{SCMP_SYS(sigaltstack), "the sanitizers' runtime"},
	{SCMP_SYS(restart_syscall), "an interrupted read"},
	{SCMP_SYS(close), "the end"},
	{SCMP_SYS(exit), "the end"},
	{SCMP_SYS(exit_group), "the end"},
};

int broker_helper_confine(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return -ENOMEM;
	r = seccomp_allow_syscalls(ctx, helper_allowed,
				   ARRAY_SIZE(helper_allowed), NULL);
	/* malloc's memory, never executable. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}
#endif

static void helper_child(int fd, pid_t broker,
			 void (*child_main)(int fd, void *arg), void *arg)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != broker)
		_exit(1);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (fd != 3 && (dup2(fd, 3) < 0 || close(fd) < 0))
		_exit(1);
	if (close_range(4, ~0u, 0) < 0)
		_exit(1);
	child_main(3, arg);
	_exit(0);
}

int broker_helper_start(struct broker_helper *h,
			void (*child_main)(int fd, void *arg), void *arg,
			char *msg, size_t msg_len)
{
	pid_t broker = getpid();
	int pair[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return log_fail(-errno, msg, msg_len, "%s socketpair: %s",
				h->name, strerror(errno));
	h->pid = fork();
	if (h->pid < 0) {
		r = -errno;
		close(pair[0]);
		close(pair[1]);
		return log_fail(r, msg, msg_len, "%s fork: %s", h->name,
				strerror(-r));
	}
	if (h->pid == 0)
		helper_child(pair[1], broker, child_main, arg);
	close(pair[1]);
	h->fd = pair[0];
	h->lost_logged = false;
	return 0;
}

int broker_helper_recv(struct broker_helper *h, void *buf, size_t len,
		       int timeout_ms)
{
	struct pollfd p = {.fd = h->fd, .events = POLLIN};
	ssize_t n;
	int r;

	if (h->fd < 0)
		return -EPIPE;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	/* MSG_TRUNC: the whole datagram's size, so that a longer one is
	 * refused rather than taken cut. */
	n = recv(h->fd, buf, len, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EPIPE;
}

void broker_helper_lost(struct broker_helper *h, int err)
{
	if (!h->lost_logged)
		log_line("TLS %s process %d: %s; TLS sessions are refused "
			 "from now on",
			 h->name, (int)(h->pid > 0 ? h->pid : h->was),
			 strerror(-err));
	h->lost_logged = true;
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	if (h->pid > 0)
		kill(h->pid, SIGKILL);
}

bool broker_helper_reaped(struct broker_helper *h, pid_t pid)
{
	if (pid <= 0 || pid != h->pid)
		return false;
	h->was = pid;
	h->pid = -1;
	return true;
}

void broker_helper_stop(struct broker_helper *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		/* Already reaped by reap_workers if it died: ECHILD. */
		while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	h->pid = -1;
}
