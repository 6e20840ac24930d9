// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The worker's seccomp allowlist, loaded in a child: what it must let
 * through, and what it must kill. setsockopt is allowed for the client
 * socket's tuning and kTLS only; SO_LINGER in particular would let a
 * compromised worker make the broker's close of a smuggled socket wait.
 * getsockopt only for kTLS's TLS_TX and TLS_RX (the record counts).
 */
#include <check.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker-filter.h"

/* Runs probe() in a child under the filter; returns its wait status. */
static int under_filter(int (*probe)(int fd))
{
	int pair[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(tcp, 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (worker_seccomp_load(-1) < 0)
			_exit(3);
		_exit(probe(tcp));
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(tcp);
	close(pair[0]);
	close(pair[1]);
	return status;
}

static int tune(int fd)
{
	int one = 1, idle = 30;
	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	       setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	       setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
}

static int linger(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 3600};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	return 0; /* not reached: the filter kills the process */
}

static int sndbuf(int fd)
{
	int size = 4096;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return 0;
}

/* The session's report timer (session.c), made under the sandbox. */
static int report_timer(int fd)
{
	(void)fd;
	struct itimerspec t = {.it_value.tv_sec = 1};
	int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	return timer < 0 || timerfd_settime(timer, 0, &t, NULL) < 0;
}

START_TEST(report_timer_allowed)
{
	int status = under_filter(report_timer);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the session's report timer refused (status %#x)",
		      status);
}
END_TEST

START_TEST(client_tuning_allowed)
{
	int status = under_filter(tune);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "transport_tune's options refused (status %#x)", status);
}
END_TEST

START_TEST(linger_killed)
{
	int status = under_filter(linger);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		      "SO_LINGER was let through (status %#x)", status);
}
END_TEST

START_TEST(other_options_killed)
{
	int status = under_filter(sndbuf);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		      "SO_SNDBUF was let through (status %#x)", status);
}
END_TEST

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* The record limit's queries: let through (the socket is plain TCP, so
 * the kernel answers ENOPROTOOPT, but the process lives). */
static int record_counts(int fd)
{
	struct tls_crypto_info info;
	socklen_t len = sizeof(info);
	int tx = getsockopt(fd, SOL_TLS, TLS_TX, &info, &len);
	len = sizeof(info);
	int rx = getsockopt(fd, SOL_TLS, TLS_RX, &info, &len);
	return tx < 0 && rx < 0 ? 0 : 1;
}

static int tcp_info(int fd)
{
	uint8_t info[256];
	socklen_t len = sizeof(info);
	getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &len);
	return 0;
}

static int tls_zerocopy(int fd)
{
	int v;
	socklen_t len = sizeof(v);
	getsockopt(fd, SOL_TLS, TLS_TX_ZEROCOPY_RO, &v, &len);
	return 0;
}

static int peer_credentials(int fd)
{
	uint8_t cred[64];
	socklen_t len = sizeof(cred);
	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len);
	return 0;
}

START_TEST(record_counts_allowed)
{
	int status = under_filter(record_counts);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "getsockopt TLS_TX/TLS_RX refused (status %#x)", status);
}
END_TEST

START_TEST(other_queries_killed)
{
	int (*probe[])(int) = {tcp_info, tls_zerocopy, peer_credentials};
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		int status = under_filter(probe[i]);
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
			      "getsockopt %zu was let through (status %#x)", i,
			      status);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("worker-filter");
	TCase *tc = tcase_create("setsockopt");
	tcase_add_test(tc, client_tuning_allowed);
	tcase_add_test(tc, linger_killed);
	tcase_add_test(tc, other_options_killed);
	suite_add_tcase(s, tc);
	tc = tcase_create("getsockopt");
	tcase_add_test(tc, record_counts_allowed);
	tcase_add_test(tc, other_queries_killed);
	suite_add_tcase(s, tc);
	tc = tcase_create("session");
	tcase_add_test(tc, report_timer_allowed);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
