// SPDX-License-Identifier: GPL-2.0-or-later
/* Transport addresses: the parser's verdicts and messages, and real
 * connect/listen/accept over each family this machine has. */
#include "check-main.h"
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "transport.h"

static void assert_parses(const char *text, const char *canonical)
{
	struct transport_addr a;
	char msg[256] = "", out[TRANSPORT_ADDR_STR_MAX];

	ck_assert_msg(transport_parse(text, &a, msg, sizeof(msg)) == 0,
		      "%s: %s", text, msg);
	transport_format(&a, out, sizeof(out));
	ck_assert_str_eq(out, canonical);
}

static void assert_refused(const char *text, int err, const char *words)
{
	struct transport_addr a;
	char msg[256] = "";

	ck_assert_int_eq(transport_parse(text, &a, msg, sizeof(msg)), err);
	ck_assert_msg(strstr(msg, words), "'%s' -> '%s' lacks '%s'", text, msg,
		      words);
}

START_TEST(parse_valid)
{
	struct transport_addr a;

	assert_parses("tcp:3240", "tcp:3240");
	assert_parses("tcp:127.0.0.1:3240", "tcp:127.0.0.1:3240");
	assert_parses("tcp:[::1]:3240", "tcp:[::1]:3240");
	assert_parses("tcp:[fe80::1%lo]:1", "tcp:[fe80::1%lo]:1");
	assert_parses("tcp:host.example:65535", "tcp:host.example:65535");
	assert_parses("vsock:3:5000", "vsock:3:5000");
	/* CID first, as in the policy's vsock:CID; the old vsock:PORT is
	 * still read, and written the new way. */
	assert_parses("vsock:*:5000", "vsock:*:5000");
	assert_parses("vsock:5000", "vsock:*:5000");
	assert_parses("unix:/run/usbip.sock", "unix:/run/usbip.sock");
	assert_parses("unix:@usbip", "unix:@usbip");
	assert_parses("fd:0", "fd:0");
	assert_parses("fc-vsock:/run/fc/v.sock:52",
		      "fc-vsock:/run/fc/v.sock:52");
	assert_parses("fc-vsock:/odd:path:52", "fc-vsock:/odd:path:52");

	ck_assert_int_eq(transport_parse("vsock:7", &a, NULL, 0), 0);
	ck_assert_uint_eq(a.cid, TRANSPORT_VSOCK_CID_ANY);
	ck_assert_int_eq(transport_parse("unix:@x", &a, NULL, 0), 0);
	ck_assert(a.abstract);
	ck_assert_str_eq(a.path, "x");
	ck_assert_int_eq(transport_parse("fd:12", &a, NULL, 0), 0);
	ck_assert_int_eq(a.fd, 12);
}
END_TEST

static void assert_parses_tls(const char *text, const char *canonical, bool tls)
{
	struct transport_addr a, b;
	char msg[256] = "", out[TRANSPORT_ADDR_STR_MAX];

	ck_assert_msg(transport_parse_tls(text, &a, msg, sizeof(msg)) == 0,
		      "%s: %s", text, msg);
	ck_assert_int_eq(a.tls, tls);
	transport_format(&a, out, sizeof(out));
	ck_assert_str_eq(out, canonical);
	ck_assert_int_eq(transport_parse_tls(out, &b, msg, sizeof(msg)), 0);
	ck_assert(b.tls == a.tls && b.kind == a.kind && b.port == a.port &&
		  b.cid == a.cid && b.fd == a.fd && b.abstract == a.abstract &&
		  !strcmp(b.host, a.host) && !strcmp(b.path, a.path));
}

static void assert_tls_refused(const char *text, int err, const char *words)
{
	struct transport_addr a;
	char msg[256] = "";

	ck_assert_int_eq(transport_parse_tls(text, &a, msg, sizeof(msg)), err);
	ck_assert_msg(strstr(msg, words), "'%s' -> '%s' lacks '%s'", text, msg,
		      words);
}

/* Every stream transport has a TLS form, and it round-trips. */
START_TEST(parse_tls)
{
	struct transport_addr a;

	assert_parses_tls("tls:tcp:127.0.0.1:3240", "tls:tcp:127.0.0.1:3240",
			  true);
	assert_parses_tls("tls:tcp:3240", "tls:tcp:3240", true);
	assert_parses_tls("tls:tcp:[::1]:3240", "tls:tcp:[::1]:3240", true);
	assert_parses_tls("tls:vsock:3:5000", "tls:vsock:3:5000", true);
	assert_parses_tls("tls:vsock:5000", "tls:vsock:*:5000", true);
	assert_parses_tls("tls:vsock:*:5000", "tls:vsock:*:5000", true);
	assert_parses_tls("tls:unix:/run/u.sock", "tls:unix:/run/u.sock", true);
	assert_parses_tls("tls:unix:@u", "tls:unix:@u", true);
	assert_parses_tls("tls:fd:3", "tls:fd:3", true);
	assert_parses_tls("tls:fc-vsock:/run/v.sock:52",
			  "tls:fc-vsock:/run/v.sock:52", true);
	/* The plain forms through the same parser: unchanged, no flag. */
	assert_parses_tls("tcp:127.0.0.1:3240", "tcp:127.0.0.1:3240", false);
	assert_parses_tls("unix:@u", "unix:@u", false);
	ck_assert_int_eq(transport_parse_tls("tls:fd:7", &a, NULL, 0), 0);
	ck_assert_int_eq(a.kind, TRANSPORT_FD);
	ck_assert_int_eq(a.fd, 7);

	/* Hostile and malformed forms. */
	assert_tls_refused("tls:", -EINVAL, "unknown transport");
	assert_tls_refused("tls:tls:tcp:1", -EINVAL, "tls: is written once");
	assert_tls_refused("tls:tls:", -EINVAL, "tls: is written once");
	assert_tls_refused("TLS:tcp:1", -EINVAL, "unknown transport");
	assert_tls_refused("tls :tcp:1", -EINVAL, "unknown transport");
	assert_tls_refused("tlstcp:1", -EINVAL, "unknown transport");
	assert_tls_refused("tls:udp:1", -EINVAL, "unknown transport");
	assert_tls_refused("tls:tcp:0", -EINVAL, "not a number from 1");
	assert_tls_refused("tls:unix:", -EINVAL, "empty path");
	assert_tls_refused("tls:fd:-1", -EINVAL, "not a file descriptor");
	assert_tls_refused("tls:vsock:x:1", -EINVAL, "CID 'x'");

	/* The format never overruns a short buffer. */
	char tiny[6];
	ck_assert_int_eq(transport_parse_tls("tls:tcp:1", &a, NULL, 0), 0);
	transport_format(&a, tiny, sizeof(tiny));
	ck_assert_str_eq(tiny, "tls:t");
	transport_format(&a, tiny, 3);
	ck_assert_str_eq(tiny, "");
}
END_TEST

/* A program that does not run TLS on an address must not take a tls:
 * one and then speak plain USB/IP on it. */
START_TEST(parse_tls_refused_by_plain_parser)
{
	char long_text[1200];

	assert_refused("tls:tcp:127.0.0.1:3240", -EPROTONOSUPPORT,
		       "does not speak TLS");
	assert_refused("tls:fd:3", -EPROTONOSUPPORT, "does not speak TLS");
	memset(long_text, 'x', sizeof(long_text) - 1);
	memcpy(long_text, "tls:", 4);
	long_text[sizeof(long_text) - 1] = '\0';
	struct transport_addr a;
	char msg[128];
	ck_assert_int_eq(transport_parse(long_text, &a, msg, sizeof(msg)),
			 -EPROTONOSUPPORT);
	ck_assert_uint_lt(strlen(msg), sizeof(msg));
}
END_TEST

START_TEST(parse_invalid)
{
	char long_path[200];

	assert_refused("", -EINVAL, "unknown transport");
	assert_refused("udp:1", -EINVAL, "unknown transport");
	assert_refused("tcp:", -EINVAL, "not a number from 1 to 65535");
	assert_refused("tcp:0", -EINVAL, "not a number from 1 to 65535");
	assert_refused("tcp:65536", -EINVAL, "not a number from 1 to 65535");
	assert_refused("tcp:99999999999999999999", -EINVAL, "not a number");
	assert_refused("tcp:host:", -EINVAL, "port ''");
	assert_refused("tcp:host:12a", -EINVAL, "port '12a'");
	assert_refused("tcp::3240", -EINVAL, "empty host");
	assert_refused("tcp:::1:3240", -EINVAL, "brackets");
	assert_refused("tcp:[::1]3240", -EINVAL, "[ADDR]:PORT");
	assert_refused("tcp:[]:3240", -EINVAL, "empty IPv6");
	assert_refused("tcp:[nothex]:3240", -EINVAL, "not an IPv6 address");
	assert_refused("tcp:-1", -EINVAL, "not a number");
	assert_refused("vsock:x:1", -EINVAL, "CID 'x'");
	assert_refused("vsock:4294967295:1", -EINVAL, "CID");
	assert_refused("vsock:3:", -EINVAL, "port ''");
	assert_refused("vsock:*:", -EINVAL, "port ''");
	assert_refused("vsock:*", -EINVAL, "port '*'");
	assert_refused("vsock:**:1", -EINVAL, "CID '**'");
	assert_refused("vsock:3:1:2", -EINVAL, "port '1:2'");
	assert_refused("unix:", -EINVAL, "empty path");
	assert_refused("unix:@", -EINVAL, "empty path");
	assert_refused("fd:", -EINVAL, "not a file descriptor");
	assert_refused("fd:-1", -EINVAL, "not a file descriptor");
	assert_refused("fd:2147483648", -EINVAL, "not a file descriptor");
	assert_refused("fc-vsock:/x", -EINVAL, "PATH:PORT");
	assert_refused("fc-vsock:/x:port", -EINVAL, "port 'port'");
	assert_refused("fc-vsock::5", -EINVAL, "empty path");

	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	char text[256];
	snprintf(text, sizeof(text), "unix:/%s", long_path);
	assert_refused(text, -ENAMETOOLONG, "longer than 107 bytes");
}
END_TEST

static int test_port(void)
{
	return 20000 + getpid() % 20000;
}

static void assert_nodelay(int fd, int want)
{
	int v = -1;
	socklen_t sl = sizeof(v);
	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &sl), 0);
	ck_assert_int_eq(!!v, want);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &sl), 0);
	ck_assert_int_eq(!!v, want);
}

static void assert_cloexec(int fd)
{
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
}

/* Listen on one address, connect with another, move bytes both ways. */
static void round_trip(const char *listen_text, const char *connect_text,
		       bool tcp)
{
	struct transport_addr la, ca;
	char msg[256] = "", peer[128] = "";
	int lfd, cfd, afd;

	ck_assert_int_eq(transport_parse(listen_text, &la, msg, sizeof(msg)),
			 0);
	ck_assert_int_eq(transport_parse(connect_text, &ca, msg, sizeof(msg)),
			 0);
	lfd = transport_listen(&la, 4, msg, sizeof(msg));
	ck_assert_msg(lfd >= 0, "listen %s: %s", listen_text, msg);
	assert_cloexec(lfd);
	cfd = transport_connect(&ca, msg, sizeof(msg));
	ck_assert_msg(cfd >= 0, "connect %s: %s", connect_text, msg);
	afd = transport_accept(lfd, peer, sizeof(peer));
	ck_assert_int_ge(afd, 0);
	assert_cloexec(cfd);
	assert_cloexec(afd);
	if (tcp) {
		assert_nodelay(cfd, 1);
		assert_nodelay(afd, 1);
		ck_assert_msg(!strncmp(peer, "tcp:", 4), "peer %s", peer);
	}
	ck_assert_int_eq(write(cfd, "ping", 4), 4);
	char buf[4];
	ck_assert_int_eq(read(afd, buf, 4), 4);
	ck_assert_mem_eq(buf, "ping", 4);
	close(afd);
	close(cfd);
	close(lfd);
}

START_TEST(tcp_ipv4)
{
	char l[64], c[64];
	snprintf(l, sizeof(l), "tcp:127.0.0.1:%d", test_port());
	snprintf(c, sizeof(c), "tcp:127.0.0.1:%d", test_port());
	round_trip(l, c, true);
}
END_TEST

START_TEST(tcp_any_dual_stack)
{
	char l[64], c[64];
	/* tcp:PORT listens everywhere; connect tcp:PORT goes to localhost. */
	snprintf(l, sizeof(l), "tcp:%d", test_port() + 1);
	snprintf(c, sizeof(c), "tcp:%d", test_port() + 1);
	round_trip(l, c, true);
	snprintf(c, sizeof(c), "tcp:127.0.0.1:%d", test_port() + 1);
	round_trip(l, c, true);
	/* A host name, resolved (localhost is in every /etc/hosts). */
	snprintf(c, sizeof(c), "tcp:localhost:%d", test_port() + 1);
	round_trip(l, c, true);
}
END_TEST

START_TEST(tcp_ipv6)
{
	int probe = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 lo = {.sin6_family = AF_INET6,
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	if (probe < 0 || bind(probe, (struct sockaddr *)&lo, sizeof(lo)) < 0) {
		/* A kernel or namespace without IPv6: nothing to test. */
		printf("SKIP tcp_ipv6: no IPv6 loopback here (%s)\n",
		       strerror(errno));
		if (probe >= 0)
			close(probe);
		return;
	}
	close(probe);
	char l[64], c[64];
	snprintf(l, sizeof(l), "tcp:[::1]:%d", test_port() + 2);
	snprintf(c, sizeof(c), "tcp:[::1]:%d", test_port() + 2);
	round_trip(l, c, true);
}
END_TEST

START_TEST(tcp_errors_say_what)
{
	struct transport_addr a;
	char msg[256] = "", text[64];

	/* Nobody listens there. */
	snprintf(text, sizeof(text), "tcp:127.0.0.1:%d", test_port() + 3);
	ck_assert_int_eq(transport_parse(text, &a, NULL, 0), 0);
	ck_assert_int_eq(transport_connect(&a, msg, sizeof(msg)),
			 -ECONNREFUSED);
	ck_assert_msg(strstr(msg, "refused"), "%s", msg);
	/* A name that cannot resolve (no network here, and .invalid never
	 * resolves anywhere, RFC 6761). */
	ck_assert_int_eq(
		transport_parse("tcp:no-such-host.invalid:1", &a, NULL, 0), 0);
	ck_assert_int_lt(transport_connect(&a, msg, sizeof(msg)), 0);
	ck_assert_msg(strstr(msg, "no-such-host.invalid"), "%s", msg);
}
END_TEST

START_TEST(unix_path_and_abstract)
{
	char path[128], l[160];
	snprintf(path, sizeof(path), "/tmp/usbip-test-%d.sock", getpid());
	snprintf(l, sizeof(l), "unix:%s", path);
	round_trip(l, l, false);
	/* A stale socket file from the last run is replaced. */
	round_trip(l, l, false);
	unlink(path);

	/* Anything else at the path is left alone. */
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	struct transport_addr a;
	char msg[256] = "";
	ck_assert_int_eq(transport_parse(l, &a, NULL, 0), 0);
	ck_assert_int_eq(transport_listen(&a, 1, msg, sizeof(msg)), -EEXIST);
	ck_assert_msg(strstr(msg, "not a socket"), "%s", msg);
	unlink(path);

	snprintf(l, sizeof(l), "unix:@usbip-test-%d", getpid());
	round_trip(l, l, false);
}
END_TEST

START_TEST(fd_inherited)
{
	int sv[2], lfd;
	struct transport_addr a;
	char text[32], msg[256] = "";

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	snprintf(text, sizeof(text), "fd:%d", sv[0]);
	ck_assert_int_eq(transport_parse(text, &a, NULL, 0), 0);
	ck_assert_int_eq(transport_connect(&a, msg, sizeof(msg)), sv[0]);
	assert_cloexec(sv[0]);
	/* A connected socket is not a listener. */
	ck_assert_int_eq(transport_listen(&a, 1, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, "not a listening"), "%s", msg);
	close(sv[0]);
	close(sv[1]);

	/* And the other way round. */
	struct transport_addr la;
	snprintf(text, sizeof(text), "unix:@usbip-fd-%d", getpid());
	ck_assert_int_eq(transport_parse(text, &la, NULL, 0), 0);
	lfd = transport_listen(&la, 1, NULL, 0);
	ck_assert_int_ge(lfd, 0);
	snprintf(text, sizeof(text), "fd:%d", lfd);
	ck_assert_int_eq(transport_parse(text, &a, NULL, 0), 0);
	ck_assert_int_eq(transport_listen(&a, 1, msg, sizeof(msg)), lfd);
	ck_assert_int_eq(transport_connect(&a, msg, sizeof(msg)), -EINVAL);
	close(lfd);

	/* Not a socket at all, and not open at all. */
	snprintf(text, sizeof(text), "fd:%d", STDERR_FILENO);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	snprintf(text, sizeof(text), "fd:%d", devnull);
	ck_assert_int_eq(transport_parse(text, &a, NULL, 0), 0);
	ck_assert_int_eq(transport_connect(&a, msg, sizeof(msg)), -ENOTSOCK);
	close(devnull);
	ck_assert_int_eq(transport_parse("fd:999999", &a, NULL, 0), 0);
	ck_assert_int_eq(transport_connect(&a, msg, sizeof(msg)), -EBADF);
}
END_TEST

/* Plays Firecracker's host-side vsock muxer: reads "CONNECT PORT\n" and
 * answers with `reply`, then echoes one USB/IP-sized message. */
static pid_t fake_firecracker(int lfd, const char *reply)
{
	pid_t pid = fork();
	if (pid)
		return pid;
	int fd = accept(lfd, NULL, NULL);
	char line[64];
	size_t n = 0;
	while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1 &&
	       line[n] != '\n')
		n++;
	line[n] = '\0';
	if (strcmp(line, "CONNECT 52") != 0)
		_exit(2);
	/* The reply and the first stream bytes in one write: the client
	 * must not swallow what follows the newline. */
	char out[128];
	int len = snprintf(out, sizeof(out), "%s\nHELLO", reply);
	if (write(fd, out, (size_t)len) != len)
		_exit(3);
	_exit(0);
}

START_TEST(firecracker_vsock)
{
	char path[128], text[160], msg[256] = "";
	struct transport_addr la, ca;
	int status;

	snprintf(path, sizeof(path), "/tmp/usbip-fc-%d.sock", getpid());
	snprintf(text, sizeof(text), "unix:%s", path);
	ck_assert_int_eq(transport_parse(text, &la, NULL, 0), 0);
	int lfd = transport_listen(&la, 1, NULL, 0);
	ck_assert_int_ge(lfd, 0);

	snprintf(text, sizeof(text), "fc-vsock:%s:52", path);
	ck_assert_int_eq(transport_parse(text, &ca, NULL, 0), 0);
	pid_t pid = fake_firecracker(lfd, "OK 1073741824");
	int fd = transport_connect(&ca, msg, sizeof(msg));
	ck_assert_msg(fd >= 0, "%s", msg);
	char buf[5];
	ck_assert_int_eq(read(fd, buf, 5), 5);
	ck_assert_mem_eq(buf, "HELLO", 5);
	close(fd);
	waitpid(pid, &status, 0);
	ck_assert_int_eq(WEXITSTATUS(status), 0);

	/* A refusal is an error that quotes the muxer's words. */
	pid = fake_firecracker(lfd, "FAILURE");
	ck_assert_int_eq(transport_connect(&ca, msg, sizeof(msg)),
			 -ECONNREFUSED);
	ck_assert_msg(strstr(msg, "FAILURE"), "%s", msg);
	waitpid(pid, &status, 0);
	close(lfd);
	unlink(path);

	/* Listening binds PATH_PORT, where Firecracker forwards guests. */
	snprintf(text, sizeof(text), "fc-vsock:/tmp/usbip-fcl-%d:52", getpid());
	ck_assert_int_eq(transport_parse(text, &la, NULL, 0), 0);
	lfd = transport_listen(&la, 1, msg, sizeof(msg));
	ck_assert_msg(lfd >= 0, "%s", msg);
	snprintf(path, sizeof(path), "/tmp/usbip-fcl-%d_52", getpid());
	ck_assert_int_eq(access(path, F_OK), 0);
	close(lfd);
	unlink(path);
}
END_TEST

START_TEST(vsock_loopback)
{
	int probe = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (probe < 0) {
		printf("SKIP vsock_loopback: no AF_VSOCK in this kernel (%s); "
		       "the guest scenarios cover it\n",
		       strerror(errno));
		return;
	}
	close(probe);
	struct transport_addr la, ca;
	char l[64], c[64], msg[256] = "";
	snprintf(l, sizeof(l), "vsock:%d", test_port());
	snprintf(c, sizeof(c), "vsock:1:%d", test_port());
	ck_assert_int_eq(transport_parse(l, &la, NULL, 0), 0);
	ck_assert_int_eq(transport_parse(c, &ca, NULL, 0), 0);
	int lfd = transport_listen(&la, 1, msg, sizeof(msg));
	if (lfd < 0) {
		printf("SKIP vsock_loopback: %s (vsock_loopback not loaded)\n",
		       msg);
		return;
	}
	int cfd = transport_connect(&ca, msg, sizeof(msg));
	if (cfd < 0) {
		printf("SKIP vsock_loopback: %s\n", msg);
		close(lfd);
		return;
	}
	int afd = transport_accept(lfd, msg, sizeof(msg));
	ck_assert_int_ge(afd, 0);
	ck_assert_msg(!strncmp(msg, "vsock:1:", 8), "%s", msg);
	close(afd);
	close(cfd);
	close(lfd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("transport");
	TCase *parse = tcase_create("parse");
	TCase *sockets = tcase_create("sockets");

	tcase_add_test(parse, parse_valid);
	tcase_add_test(parse, parse_invalid);
	tcase_add_test(parse, parse_tls);
	tcase_add_test(parse, parse_tls_refused_by_plain_parser);
	suite_add_tcase(s, parse);
	tcase_add_test(sockets, tcp_ipv4);
	tcase_add_test(sockets, tcp_any_dual_stack);
	tcase_add_test(sockets, tcp_ipv6);
	tcase_add_test(sockets, tcp_errors_say_what);
	tcase_add_test(sockets, unix_path_and_abstract);
	tcase_add_test(sockets, fd_inherited);
	tcase_add_test(sockets, firecracker_vsock);
	tcase_add_test(sockets, vsock_loopback);
	suite_add_tcase(s, sockets);
	return run_suite(s);
}
