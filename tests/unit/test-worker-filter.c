// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The worker's seccomp allowlist, loaded in a child: what it must let
 * through, and what it must kill. setsockopt is allowed for the client
 * socket's tuning and kTLS only; SO_LINGER in particular would let a
 * compromised worker make the broker's close of a smuggled socket wait.
 */
#include <check.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
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

int main(void)
{
	Suite *s = suite_create("worker-filter");
	TCase *tc = tcase_create("setsockopt");
	tcase_add_test(tc, client_tuning_allowed);
	tcase_add_test(tc, linger_killed);
	tcase_add_test(tc, other_options_killed);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
