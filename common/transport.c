// SPDX-License-Identifier: GPL-2.0-or-later
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "macros.h"
#include "log.h"

/* Firecracker answers "OK <host port>\n"; anything longer is not it. */
#define FC_REPLY_MAX 64

/* A decimal number in [min, max], the whole string and nothing else. */
static bool parse_number(const char *s, uint64_t min, uint64_t max,
			 uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return false;
	}
	if (v < min)
		return false;
	*out = v;
	return true;
}

static int parse_tcp(const char *rest, struct transport_addr *a, char *msg,
		     size_t msg_len)
{
	const char *colon, *port_text;
	uint64_t port;
	size_t host_len;

	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');
		if (!close || close[1] != ':')
			return log_fail(-EINVAL, msg, msg_len,
					"tcp:%s: an IPv6 address is written "
					"[ADDR]:PORT",
					rest);
		host_len = (size_t)(close - rest - 1);
		if (host_len == 0)
			return log_fail(-EINVAL, msg, msg_len,
					"tcp:%s: empty IPv6 address", rest);
		port_text = close + 2;
		if (host_len >= sizeof(a->host))
			return log_fail(-ENAMETOOLONG, msg, msg_len,
					"tcp:%s: host too long", rest);
		memcpy(a->host, rest + 1, host_len);
		/* getaddrinfo, unlike inet_pton, takes a %scope suffix. */
		struct addrinfo hints = {.ai_family = AF_INET6,
					 .ai_flags = AI_NUMERICHOST};
		struct addrinfo *probe;
		if (getaddrinfo(a->host, NULL, &hints, &probe) != 0)
			return log_fail(-EINVAL, msg, msg_len,
					"tcp:%s: '%s' is not an IPv6 address",
					rest, a->host);
		freeaddrinfo(probe);
	} else if ((colon = strrchr(rest, ':'))) {
		host_len = (size_t)(colon - rest);
		if (memchr(rest, ':', host_len))
			return log_fail(
				-EINVAL, msg, msg_len,
				"tcp:%s: put an IPv6 address in brackets: "
				"tcp:[ADDR]:PORT",
				rest);
		if (host_len == 0)
			return log_fail(-EINVAL, msg, msg_len,
					"tcp:%s: empty host", rest);
		if (host_len >= sizeof(a->host))
			return log_fail(-ENAMETOOLONG, msg, msg_len,
					"tcp:%s: host too long", rest);
		memcpy(a->host, rest, host_len);
		port_text = colon + 1;
	} else {
		port_text = rest;
	}
	if (!parse_number(port_text, 1, 65535, &port))
		return log_fail(
			-EINVAL, msg, msg_len,
			"tcp:%s: port '%s' is not a number from 1 to 65535",
			rest, port_text);
	a->port = (uint32_t)port;
	return 0;
}

static int parse_vsock(const char *rest, struct transport_addr *a, char *msg,
		       size_t msg_len)
{
	const char *colon = strchr(rest, ':');
	char cid_text[16];
	uint64_t v;

	a->cid = TRANSPORT_VSOCK_CID_ANY;
	/* vsock:*:PORT: any CID. The old vsock:PORT (no colon) still means
	 * that, but reads like policy's vsock:CID; transport.h. */
	if (colon && colon == rest + 1 && rest[0] == '*') {
		rest = colon + 1;
	} else if (colon) {
		size_t n = (size_t)(colon - rest);
		if (n >= sizeof(cid_text) ||
		    (memcpy(cid_text, rest, n), cid_text[n] = '\0',
		     !parse_number(cid_text, 0, UINT32_MAX - 1, &v)))
			return log_fail(
				-EINVAL, msg, msg_len,
				"vsock:%s: CID '%.*s' is not * or a number "
				"below 4294967295",
				rest, (int)n, rest);
		a->cid = (uint32_t)v;
		rest = colon + 1;
	}
	if (!parse_number(rest, 0, UINT32_MAX - 1, &v))
		return log_fail(
			-EINVAL, msg, msg_len,
			"vsock: port '%s' is not a number below 4294967295",
			rest);
	a->port = (uint32_t)v;
	return 0;
}

static int parse_path(const char *scheme, const char *path,
		      struct transport_addr *a, char *msg, size_t msg_len)
{
	size_t n = strlen(path);

	if (n == 0)
		return log_fail(-EINVAL, msg, msg_len, "%s: empty path",
				scheme);
	if (n >= sizeof(a->path))
		return log_fail(-ENAMETOOLONG, msg, msg_len,
				"%s%s: path longer than %zu bytes", scheme,
				path, sizeof(a->path) - 1);
	memcpy(a->path, path, n + 1);
	return 0;
}

static int parse_plain(const char *text, struct transport_addr *a, char *msg,
		       size_t msg_len)
{
	if (!strncmp(text, "tcp:", 4)) {
		a->kind = TRANSPORT_TCP;
		return parse_tcp(text + 4, a, msg, msg_len);
	}
	if (!strncmp(text, "vsock:", 6)) {
		a->kind = TRANSPORT_VSOCK;
		return parse_vsock(text + 6, a, msg, msg_len);
	}
	if (!strncmp(text, "unix:", 5)) {
		const char *path = text + 5;
		a->kind = TRANSPORT_UNIX;
		if (path[0] == '@') {
			a->abstract = true;
			path++;
		}
		return parse_path("unix:", path, a, msg, msg_len);
	}
	if (!strncmp(text, "fd:", 3)) {
		uint64_t v;
		a->kind = TRANSPORT_FD;
		if (!parse_number(text + 3, 0, INT_MAX, &v))
			return log_fail(
				-EINVAL, msg, msg_len,
				"%s: '%s' is not a file descriptor number",
				text, text + 3);
		a->fd = (int)v;
		return 0;
	}
	if (!strncmp(text, "fc-vsock:", 9)) {
		const char *rest = text + 9, *colon = strrchr(rest, ':');
		uint64_t v;
		char path[TRANSPORT_PATH_MAX];
		size_t n;

		a->kind = TRANSPORT_FC_VSOCK;
		if (!colon)
			return log_fail(-EINVAL, msg, msg_len,
					"%s: expected fc-vsock:PATH:PORT",
					text);
		if (!parse_number(colon + 1, 0, UINT32_MAX - 1, &v))
			return log_fail(-EINVAL, msg, msg_len,
					"%s: port '%s' is not a number below "
					"4294967295",
					text, colon + 1);
		a->port = (uint32_t)v;
		n = (size_t)(colon - rest);
		if (n >= sizeof(path))
			return log_fail(-ENAMETOOLONG, msg, msg_len,
					"%s: path longer than %zu bytes", text,
					sizeof(path) - 1);
		memcpy(path, rest, n);
		path[n] = '\0';
		return parse_path("fc-vsock:", path, a, msg, msg_len);
	}
	return log_fail(
		-EINVAL, msg, msg_len,
		"'%s': unknown transport; expected tcp:, vsock:, unix:, "
		"fd: or fc-vsock:, each optionally after tls:",
		text);
}

static bool has_tls_prefix(const char *text)
{
	return !strncmp(text, TRANSPORT_TLS_PREFIX,
			sizeof(TRANSPORT_TLS_PREFIX) - 1);
}

static int parse(const char *text, bool tls_allowed, struct transport_addr *a,
		 char *msg, size_t msg_len)
{
	memset(a, 0, sizeof(*a));
	a->fd = -1;

	if (has_tls_prefix(text)) {
		const char *inner = text + sizeof(TRANSPORT_TLS_PREFIX) - 1;
		if (!tls_allowed)
			return log_fail(
				-EPROTONOSUPPORT, msg, msg_len,
				"'%.*s': this program does not speak TLS "
				"on this address",
				TRANSPORT_ADDR_STR_MAX, text);
		/* One layer: tls:tls:... would promise what nobody runs. */
		if (has_tls_prefix(inner))
			return log_fail(-EINVAL, msg, msg_len,
					"'%.*s': tls: is written once",
					TRANSPORT_ADDR_STR_MAX, text);
		a->tls = true;
		return parse_plain(inner, a, msg, msg_len);
	}
	return parse_plain(text, a, msg, msg_len);
}

int transport_parse(const char *text, struct transport_addr *a, char *msg,
		    size_t msg_len)
{
	return parse(text, false, a, msg, msg_len);
}

int transport_parse_tls(const char *text, struct transport_addr *a, char *msg,
			size_t msg_len)
{
	return parse(text, true, a, msg, msg_len);
}

static void format_plain(const struct transport_addr *a, char *buf, size_t len)
{
	switch (a->kind) {
	case TRANSPORT_TCP:
		if (!a->host[0])
			snprintf(buf, len, "tcp:%u", a->port);
		else if (strchr(a->host, ':'))
			snprintf(buf, len, "tcp:[%s]:%u", a->host, a->port);
		else
			snprintf(buf, len, "tcp:%s:%u", a->host, a->port);
		return;
	case TRANSPORT_VSOCK:
		if (a->cid == TRANSPORT_VSOCK_CID_ANY)
			snprintf(buf, len, "vsock:*:%u", a->port);
		else
			snprintf(buf, len, "vsock:%u:%u", a->cid, a->port);
		return;
	case TRANSPORT_UNIX:
		snprintf(buf, len, "unix:%s%s", a->abstract ? "@" : "",
			 a->path);
		return;
	case TRANSPORT_FD:
		snprintf(buf, len, "fd:%d", a->fd);
		return;
	case TRANSPORT_FC_VSOCK:
		snprintf(buf, len, "fc-vsock:%s:%u", a->path, a->port);
		return;
	}
	snprintf(buf, len, "?");
}

void transport_format(const struct transport_addr *a, char *buf, size_t len)
{
	size_t prefix = a->tls ? sizeof(TRANSPORT_TLS_PREFIX) - 1 : 0;

	if (!len)
		return;
	if (prefix >= len) {
		buf[0] = '\0';
		return;
	}
	memcpy(buf, TRANSPORT_TLS_PREFIX, prefix);
	format_plain(a, buf + prefix, len - prefix);
}

int transport_tune(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, idle = 30, interval = 10, count = 3;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return 0;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) <
		    0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval,
		       sizeof(interval)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count)) < 0)
		return -errno;
	return 0;
}

static socklen_t unix_sockaddr(const char *path, bool abstract,
			       struct sockaddr_un *sun)
{
	size_t n = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (abstract) {
		/* The name is the bytes after a leading NUL, no terminator. */
		memcpy(sun->sun_path + 1, path, n);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				   n);
	}
	memcpy(sun->sun_path, path, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

static void vsock_sockaddr(uint32_t cid, uint32_t port, struct sockaddr_vm *svm)
{
	memset(svm, 0, sizeof(*svm));
	svm->svm_family = AF_VSOCK;
	svm->svm_cid = cid;
	svm->svm_port = port;
}

/* Host and port to addresses, with the resolver's words on failure. */
static int resolve_tcp(const char *host, uint32_t port_number, bool passive,
		       struct addrinfo **res, char *msg, size_t msg_len)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_protocol = IPPROTO_TCP,
		.ai_flags = passive ? AI_PASSIVE : 0,
	};
	char port[8];
	int r;

	snprintf(port, sizeof(port), "%u", port_number);
	r = getaddrinfo(host, port, &hints, res);
	if (r)
		return log_fail(r == EAI_SYSTEM ? -errno : -EHOSTUNREACH, msg,
				msg_len, "tcp:%s:%s: %s", host, port,
				gai_strerror(r));
	return 0;
}

static int connect_tcp(const struct transport_addr *a, char *msg,
		       size_t msg_len)
{
	struct addrinfo *res, *ai;
	int r, err = -ECONNREFUSED;
	const char *host = a->host[0] ? a->host : "localhost";

	r = resolve_tcp(host, a->port, false, &res, msg, msg_len);
	if (r < 0)
		return r;
	for (ai = res; ai; ai = ai->ai_next) {
		_cleanup_close_ int fd =
			socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			       ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			err = -errno;
			continue;
		}
		r = transport_tune(fd);
		if (r < 0) {
			err = r;
			continue;
		}
		freeaddrinfo(res);
		return take_fd(&fd);
	}
	freeaddrinfo(res);
	return log_fail(err, msg, msg_len, "tcp:%s:%u: %s", host, a->port,
			strerror(-err));
}

static int connect_sockaddr(int family, const struct sockaddr *sa,
			    socklen_t len)
{
	_cleanup_close_ int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, sa, len) < 0)
		return -errno;
	return take_fd(&fd);
}

/* Reads Firecracker's one-line answer byte by byte: anything after the
 * newline already belongs to the USB/IP stream. */
static int fc_handshake(int fd, uint32_t port, char *msg, size_t msg_len)
{
	char line[FC_REPLY_MAX];
	size_t n = 0;
	int len;

	len = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (write(fd, line, (size_t)len) != len)
		return log_fail(errno ? -errno : -EIO, msg, msg_len,
				"fc-vsock: sending CONNECT failed");
	for (;;) {
		ssize_t r = read(fd, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return log_fail(
				r < 0 ? -errno : -ECONNRESET, msg, msg_len,
				"fc-vsock: connection closed before OK");
		if (line[n] == '\n')
			break;
		if (++n == sizeof(line) - 1)
			return log_fail(-EPROTO, msg, msg_len,
					"fc-vsock: answer longer than %d bytes",
					FC_REPLY_MAX);
	}
	line[n] = '\0';
	if (strncmp(line, "OK ", 3) != 0)
		return log_fail(-ECONNREFUSED, msg, msg_len,
				"fc-vsock: port %u refused: '%.*s'", port, 40,
				line);
	return 0;
}

/* fd:N must name a socket in the expected state. */
static int check_inherited(int fd, bool listening, char *msg, size_t msg_len)
{
	struct stat st;
	int acceptconn = 0;
	socklen_t sl = sizeof(acceptconn);

	if (fstat(fd, &st) < 0)
		return log_fail(-errno, msg, msg_len, "fd:%d: %s", fd,
				strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return log_fail(-ENOTSOCK, msg, msg_len, "fd:%d: not a socket",
				fd);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acceptconn, &sl) < 0)
		return log_fail(-errno, msg, msg_len, "fd:%d: %s", fd,
				strerror(errno));
	if (!!acceptconn != listening)
		return log_fail(-EINVAL, msg, msg_len,
				"fd:%d: is %s a listening socket", fd,
				acceptconn ? "" : "not");
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return fd;
}

int transport_connect(const struct transport_addr *a, char *msg, size_t msg_len)
{
	char name[TRANSPORT_ADDR_STR_MAX];
	struct sockaddr_un sun;
	struct sockaddr_vm svm;
	socklen_t sl;
	int fd, r;

	transport_format(a, name, sizeof(name));
	switch (a->kind) {
	case TRANSPORT_TCP:
		return connect_tcp(a, msg, msg_len);
	case TRANSPORT_VSOCK:
		vsock_sockaddr(a->cid == TRANSPORT_VSOCK_CID_ANY
				       ? TRANSPORT_VSOCK_CID_HOST
				       : a->cid,
			       a->port, &svm);
		fd = connect_sockaddr(AF_VSOCK, (struct sockaddr *)&svm,
				      sizeof(svm));
		break;
	case TRANSPORT_UNIX:
		sl = unix_sockaddr(a->path, a->abstract, &sun);
		fd = connect_sockaddr(AF_UNIX, (struct sockaddr *)&sun, sl);
		break;
	case TRANSPORT_FD:
		return check_inherited(a->fd, false, msg, msg_len);
	case TRANSPORT_FC_VSOCK:
		sl = unix_sockaddr(a->path, false, &sun);
		fd = connect_sockaddr(AF_UNIX, (struct sockaddr *)&sun, sl);
		if (fd < 0)
			break;
		r = fc_handshake(fd, a->port, msg, msg_len);
		if (r < 0) {
			close(fd);
			return r;
		}
		return fd;
	default:
		return log_fail(-EINVAL, msg, msg_len, "unknown transport");
	}
	if (fd < 0)
		return log_fail(fd, msg, msg_len, "%s: %s", name,
				strerror(-fd));
	return fd;
}

static int listen_sockaddr(int family, const struct sockaddr *sa, socklen_t len,
			   int backlog, bool dual_stack)
{
	_cleanup_close_ int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0;

	if (fd < 0)
		return -errno;
	if ((family == AF_INET || family == AF_INET6) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (family == AF_INET6 && dual_stack &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
		return -errno;
	if (bind(fd, sa, len) < 0 || listen(fd, backlog) < 0)
		return -errno;
	return take_fd(&fd);
}

static int listen_tcp(const struct transport_addr *a, int backlog, char *msg,
		      size_t msg_len)
{
	struct addrinfo *res, *ai;
	int r, err = -EADDRNOTAVAIL;

	if (!a->host[0]) {
		/* Every address: one dual-stack socket, IPv4 where the
		 * kernel has no IPv6. */
		struct sockaddr_in6 any6 = {.sin6_family = AF_INET6,
					    .sin6_addr = IN6ADDR_ANY_INIT,
					    .sin6_port =
						    htons((uint16_t)a->port)};
		struct sockaddr_in any4 = {.sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_ANY),
					   .sin_port =
						   htons((uint16_t)a->port)};
		r = listen_sockaddr(AF_INET6, (struct sockaddr *)&any6,
				    sizeof(any6), backlog, true);
		if (r == -EAFNOSUPPORT)
			r = listen_sockaddr(AF_INET, (struct sockaddr *)&any4,
					    sizeof(any4), backlog, false);
		if (r < 0)
			return log_fail(r, msg, msg_len, "tcp:%u: %s", a->port,
					strerror(-r));
		return r;
	}
	r = resolve_tcp(a->host, a->port, true, &res, msg, msg_len);
	if (r < 0)
		return r;
	for (ai = res; ai; ai = ai->ai_next) {
		r = listen_sockaddr(ai->ai_family, ai->ai_addr, ai->ai_addrlen,
				    backlog, false);
		if (r >= 0) {
			freeaddrinfo(res);
			return r;
		}
		err = r;
	}
	freeaddrinfo(res);
	return log_fail(err, msg, msg_len, "tcp:%s:%u: %s", a->host, a->port,
			strerror(-err));
}

/* A stale socket file from an earlier run is replaced; anything else at
 * that path is left alone and reported. */
static int clear_stale_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	return unlink(path) < 0 ? -errno : 0;
}

int transport_listen(const struct transport_addr *a, int backlog, char *msg,
		     size_t msg_len)
{
	char name[TRANSPORT_ADDR_STR_MAX];
	char path[TRANSPORT_PATH_MAX + 16];
	struct sockaddr_un sun;
	struct sockaddr_vm svm;
	socklen_t sl;
	int fd, r;

	transport_format(a, name, sizeof(name));
	switch (a->kind) {
	case TRANSPORT_TCP:
		return listen_tcp(a, backlog, msg, msg_len);
	case TRANSPORT_VSOCK:
		vsock_sockaddr(a->cid, a->port, &svm);
		fd = listen_sockaddr(AF_VSOCK, (struct sockaddr *)&svm,
				     sizeof(svm), backlog, false);
		break;
	case TRANSPORT_UNIX:
		if (!a->abstract) {
			r = clear_stale_socket(a->path);
			if (r < 0)
				return log_fail(
					r, msg, msg_len, "%s: %s", name,
					r == -EEXIST
						? "exists and is not a socket"
						: strerror(-r));
		}
		sl = unix_sockaddr(a->path, a->abstract, &sun);
		fd = listen_sockaddr(AF_UNIX, (struct sockaddr *)&sun, sl,
				     backlog, false);
		break;
	case TRANSPORT_FD:
		return check_inherited(a->fd, true, msg, msg_len);
	case TRANSPORT_FC_VSOCK:
		r = snprintf(path, sizeof(path), "%s_%u", a->path, a->port);
		if (r < 0 || (size_t)r >= TRANSPORT_PATH_MAX)
			return log_fail(
				-ENAMETOOLONG, msg, msg_len,
				"%s: %s_%u is too long for a socket path", name,
				a->path, a->port);
		r = clear_stale_socket(path);
		if (r < 0)
			return log_fail(r, msg, msg_len, "%s: %s", path,
					strerror(-r));
		sl = unix_sockaddr(path, false, &sun);
		fd = listen_sockaddr(AF_UNIX, (struct sockaddr *)&sun, sl,
				     backlog, false);
		break;
	default:
		return log_fail(-EINVAL, msg, msg_len, "unknown transport");
	}
	if (fd < 0)
		return log_fail(fd, msg, msg_len, "%s: %s", name,
				strerror(-fd));
	return fd;
}

static void describe_peer(const struct sockaddr_storage *ss, socklen_t sl,
			  char *peer, size_t peer_len)
{
	char host[INET6_ADDRSTRLEN];

	switch (ss->ss_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const void *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(peer, peer_len, "tcp:%s:%u", host,
			 ntohs(sin->sin_port));
		return;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(peer, peer_len, "tcp:[%s]:%u", host,
			 ntohs(sin6->sin6_port));
		return;
	}
	case AF_VSOCK: {
		const struct sockaddr_vm *svm = (const void *)ss;
		snprintf(peer, peer_len, "vsock:%u:%u", svm->svm_cid,
			 svm->svm_port);
		return;
	}
	case AF_UNIX:
		(void)sl;
		snprintf(peer, peer_len, "unix");
		return;
	}
	snprintf(peer, peer_len, "family %d", ss->ss_family);
}

int transport_accept(int listen_fd, char *peer, size_t peer_len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	_cleanup_close_ int fd = -1;
	int r;

	fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = transport_tune(fd);
	if (r < 0)
		return r;
	if (peer && peer_len)
		describe_peer(&ss, sl, peer, peer_len);
	return take_fd(&fd);
}
