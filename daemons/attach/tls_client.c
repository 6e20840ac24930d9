// SPDX-License-Identifier: GPL-2.0-or-later
#include "tls_client.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_LIBCAP_NG
#include <cap-ng.h>
#endif
#ifdef HAVE_LIBSECCOMP
#include "allow_list.h"
#endif

#include "macros.h"
#include "tls_handshake.h"
#include "tls_key.h"
#include "tls_ktls.h"
#include "log.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

/* What the child says: fixed size, read whole or not at all. */
struct child_report {
	int32_t status; /* 0 or a negative errno */
	char msg[256];
	struct tls_pin peer;
	struct tls_pin ours;
};

/* The child's handshake gets the configured time; the parent waits that
 * long plus this for the key load, the fork and the report. */
#define CHILD_GRACE_MS 2000

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int attach_pins_parse(const char *text, size_t len, struct tls_pins *pins,
		      char *msg, size_t msg_len)
{
	size_t line_no = 0;

	if (memchr(text, '\0', len))
		return log_fail(-EINVAL, msg, msg_len,
				"known peers: a NUL byte is not text");
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos,
			   *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		char buf[ATTACH_PINS_LINE_MAX + 1];
		size_t b = 0, e;

		pos += n + (nl ? 1 : 0);
		line_no++;
		if (n > ATTACH_PINS_LINE_MAX)
			return log_fail(
				-EINVAL, msg, msg_len,
				"known peers line %zu: longer than %d bytes",
				line_no, ATTACH_PINS_LINE_MAX);
		memcpy(buf, line, n);
		buf[n] = '\0';
		while (b < n && is_blank(buf[b]))
			b++;
		if (b == n || buf[b] == '#')
			continue;
		/* The pin ends at the first blank; only a comment may
		 * follow it. */
		e = b;
		while (e < n && !is_blank(buf[e]))
			e++;
		for (size_t k = e; k < n && buf[k] != '#'; k++)
			if (!is_blank(buf[k]))
				return log_fail(
					-EINVAL, msg, msg_len,
					"known peers line %zu: more than "
					"one word (a pin, then only a "
					"# comment)",
					line_no);
		buf[e] = '\0';
		int r = tls_pins_add(pins, buf + b);
		if (r == -ENOSPC)
			return log_fail(
				r, msg, msg_len,
				"known peers line %zu: more than %d pins",
				line_no, TLS_PINS_MAX);
		if (r < 0)
			return log_fail(
				r, msg, msg_len,
				"known peers line %zu: not a pin (expected "
				"SHA256: and 43 base64 characters, as "
				"usbip-brokerctl pin prints)",
				line_no);
	}
	return 0;
}

int attach_pins_load(const char *path, struct tls_pins *pins, char *msg,
		     size_t msg_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t got = 0;

	if (fd < 0)
		return log_fail(-errno, msg, msg_len, "%s: %s", path,
				strerror(errno));
	if (fstat(fd, &st) < 0)
		return log_fail(-errno, msg, msg_len, "%s: %s", path,
				strerror(errno));
	if (!S_ISREG(st.st_mode))
		return log_fail(-EINVAL, msg, msg_len, "%s: not a regular file",
				path);
	buf = malloc(ATTACH_PINS_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	/* Read one byte past the limit to tell a full file from a big one. */
	while (got <= ATTACH_PINS_FILE_MAX) {
		ssize_t r = read(fd, buf + got, ATTACH_PINS_FILE_MAX + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return log_fail(-errno, msg, msg_len, "%s: %s", path,
					strerror(errno));
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > ATTACH_PINS_FILE_MAX)
		return log_fail(-EFBIG, msg, msg_len,
				"%s: larger than %d bytes", path,
				ATTACH_PINS_FILE_MAX);
	char inner[200];
	int r = attach_pins_parse(buf, got, pins, inner, sizeof(inner));
	if (r < 0)
		return log_fail(r, msg, msg_len, "%s: %s", path, inner);
	return 0;
}

int attach_tls_verify_ktls(int fd, char *msg, size_t msg_len)
{
	char ulp[16] = "";
	socklen_t sl = sizeof(ulp) - 1;
	static const struct {
		int optname;
		const char *what;
	} dirs[] = {{TLS_TX, "send"}, {TLS_RX, "receive"}};

	if (getsockopt(fd, IPPROTO_TCP, TCP_ULP, ulp, &sl) < 0 ||
	    strcmp(ulp, "tls"))
		return log_fail(-EPROTO, msg, msg_len,
				"the socket does not carry kernel TLS");
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		/* The header alone: the kernel copies no key for it. */
		struct tls_crypto_info info = {0};
		sl = sizeof(info);
		if (getsockopt(fd, SOL_TLS, dirs[i].optname, &info, &sl) < 0)
			return log_fail(-EPROTO, msg, msg_len,
					"kernel TLS has no %s keys: %s",
					dirs[i].what, strerror(errno));
		if (info.version != TLS_1_3_VERSION)
			return log_fail(
				-EPROTO, msg, msg_len,
				"kernel TLS %s direction is version %#x, "
				"not TLS 1.3",
				dirs[i].what, info.version);
	}
	return 0;
}

static int local_sign(void *ctx, enum tls_role role, const uint8_t *tbs,
		      size_t tbs_len, uint8_t *sig, size_t cap, size_t *sig_len)
{
	return tls_key_sign(ctx, role, tbs, tbs_len, sig, cap, sig_len);
}

/* From here on nothing the peer sends can buy more than nobody has. */
int attach_tls_drop_privileges(char *msg, size_t msg_len)
{
	if (geteuid() == 0) {
		if (setgroups(0, NULL) < 0 ||
		    setresgid(ATTACH_TLS_CHILD_GID, ATTACH_TLS_CHILD_GID,
			      ATTACH_TLS_CHILD_GID) < 0 ||
		    setresuid(ATTACH_TLS_CHILD_UID, ATTACH_TLS_CHILD_UID,
			      ATTACH_TLS_CHILD_UID) < 0)
			return log_fail(-errno, msg, msg_len,
					"dropping to uid %u: %s",
					ATTACH_TLS_CHILD_UID, strerror(errno));
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return log_fail(-errno, msg, msg_len, "prctl: %s",
				strerror(errno));
#ifdef HAVE_LIBCAP_NG
	/* setresuid away from 0 clears them all (no SECBIT_KEEP_CAPS);
	 * make sure rather than assume. */
	if (capng_get_caps_process() < 0 ||
	    capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		return log_fail(-EPERM, msg, msg_len,
				"the handshake child kept capabilities");
#endif
	return 0;
}

/*
 * What the handshake, kTLS and the report take, as measured (docs/tls.md:
 * recvfrom, sendto, poll, fcntl, getrandom, futex, then setsockopt and
 * the pipe's write) plus memory and exit; fcntl only to get and set the
 * file flags, setsockopt only for TCP_ULP and SOL_TLS. Anything else
 * kills the child: a peer that took over the parser cannot open,
 * connect, exec or reach another socket option.
 */
int attach_tls_confine(char *msg, size_t msg_len)
{
#ifdef HAVE_LIBSECCOMP
	static const struct syscall_allowance allowed[] = {
		{SCMP_SYS(read), "the handshake; the key file was read before"},
		{SCMP_SYS(write), "the report to the parent; a log line"},
		{SCMP_SYS(recvfrom), "the handshake"},
		{SCMP_SYS(sendto), "the handshake"},
		{SCMP_SYS(poll), "the handshake's deadline"},
		{SCMP_SYS(ppoll), "the same on newer glibc"},
		{SCMP_SYS(getrandom), "the key share, the nonces"},
		{SCMP_SYS(futex), "GnuTLS's locks"},
		{SCMP_SYS(clock_gettime), "the handshake's deadline"},
		{SCMP_SYS(close), "the end"},
		{SCMP_SYS(brk), "malloc"},
		{SCMP_SYS(mmap), "malloc"},
		{SCMP_SYS(munmap), "free"},
		{SCMP_SYS(mremap), "realloc"},
		{SCMP_SYS(madvise), "free() trimming"},
		{SCMP_SYS(rt_sigreturn), "returning from a signal"},
		{SCMP_SYS(exit), "the end"},
		{SCMP_SYS(exit_group), "the end"},
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = ctx ? 0 : -ENOMEM;

	if (r == 0)
		r = seccomp_allow_syscalls(ctx, allowed, ARRAY_SIZE(allowed),
					   NULL);
	/* The handshake's non-blocking switch, and kTLS's options only. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				     SCMP_A1(SCMP_CMP_EQ, F_GETFL, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				     SCMP_A1(SCMP_CMP_EQ, F_SETFL, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt),
				     2, SCMP_A1(SCMP_CMP_EQ, IPPROTO_TCP, 0),
				     SCMP_A2(SCMP_CMP_EQ, TCP_ULP, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt),
				     1, SCMP_A1(SCMP_CMP_EQ, SOL_TLS, 0));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return log_fail(r, msg, msg_len,
				"loading the seccomp filter: %s", strerror(-r));
#else
	(void)msg;
	(void)msg_len;
#endif
	return 0;
}

/* Closes every descriptor but 0-2, fd and report_fd: a child that the
 * peer took over must not reach listeners or vhci_hcd. */
static void close_others(int fd, int report_fd)
{
	int lo = fd < report_fd ? fd : report_fd;
	int hi = fd < report_fd ? report_fd : fd;

	if (lo > 3)
		close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	close_range((unsigned)hi + 1, ~0u, 0);
}

static int child_handshake(int fd, const struct attach_tls *cfg,
			   struct child_report *rep)
{
	struct tls_key *key = NULL;
	struct tls_session *session = NULL;
	struct tls_identity me = {.sign = local_sign};
	struct tls_result result;
	int r;

	r = tls_key_load(cfg->key_path, &key, rep->msg, sizeof(rep->msg));
	if (r < 0)
		return r;
	if ((r = tls_key_spki(key, me.spki, sizeof(me.spki), &me.spki_len)) <
		    0 ||
	    (r = tls_key_pin(key, &rep->ours)) < 0) {
		snprintf(rep->msg, sizeof(rep->msg), "%s: %s", cfg->key_path,
			 strerror(-r));
		goto out;
	}
	me.sign_ctx = key;
	r = attach_tls_drop_privileges(rep->msg, sizeof(rep->msg));
	if (r == 0)
		r = attach_tls_confine(rep->msg, sizeof(rep->msg));
	if (r < 0)
		goto out;
	struct tls_config tc = {
		.role = TLS_ROLE_CLIENT,
		.me = &me,
		.allowed = &cfg->pins,
		.timeout_ms = cfg->timeout_ms,
	};
	r = tls_handshake(fd, &tc, &session, &result, rep->msg,
			  sizeof(rep->msg));
	if (r < 0)
		goto out;
	rep->peer = result.peer;
	r = tls_ktls_install(fd, session, rep->msg, sizeof(rep->msg));
	if (r == 0)
		tls_result_format(&result, rep->msg, sizeof(rep->msg));
out:
	tls_session_free(session);
	tls_key_free(key);
	return r;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child's report, whole, before the deadline; 0 or -errno. */
static int read_report(int rfd, int64_t deadline, struct child_report *rep)
{
	size_t got = 0;

	while (got < sizeof(*rep)) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {.fd = rfd, .events = POLLIN};
		if (left <= 0)
			return -ETIMEDOUT;
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		ssize_t n = read(rfd, (char *)rep + got, sizeof(*rep) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

static int socket_is_tcp(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type = 0;
	socklen_t tl = sizeof(type);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return -errno;
	return (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) &&
	       type == SOCK_STREAM;
}

int attach_tls_client(int fd, const struct attach_tls *cfg,
		      struct tls_pin *peer, struct tls_pin *ours, char *msg,
		      size_t msg_len)
{
	struct child_report rep;
	int pipefd[2], status = 0, r;
	pid_t pid;

	r = socket_is_tcp(fd);
	if (r <= 0)
		return log_fail(
			r < 0 ? r : -EPROTONOSUPPORT, msg, msg_len,
			"TLS needs a TCP socket here: vhci_hcd reads "
			"through the kernel's TLS, which runs on TCP only");
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return log_fail(-errno, msg, msg_len, "pipe: %s",
				strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return log_fail(r, msg, msg_len, "fork: %s", strerror(-r));
	}
	if (pid == 0) {
		struct child_report out = {0};
		close(pipefd[0]);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		close_others(fd, pipefd[1]);
		out.status = child_handshake(fd, cfg, &out);
		ssize_t w = write(pipefd[1], &out, sizeof(out));
		explicit_bzero(&out, sizeof(out));
		_exit(w == (ssize_t)sizeof(out) ? 0 : 1);
	}
	close(pipefd[1]);
	memset(&rep, 0, sizeof(rep));
	r = read_report(pipefd[0], now_ms() + cfg->timeout_ms + CHILD_GRACE_MS,
			&rep);
	close(pipefd[0]);
	if (r == -ETIMEDOUT)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return log_fail(r, msg, msg_len, "the TLS handshake child %s",
				r == -ETIMEDOUT ? "did not answer in time"
				: WIFSIGNALED(status)
					? "was killed by a signal"
					: "ended without a report");
	/* The child read the peer's bytes: its words are data, bounded
	 * and terminated here, and its verdict is checked, not believed. */
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	if (rep.status > 0 || rep.status < -4095)
		return log_fail(-EPROTO, msg, msg_len,
				"the TLS handshake child reported nonsense");
	if (rep.status < 0)
		return log_fail(rep.status, msg, msg_len, "%s", rep.msg);
	if (!tls_pins_contain(&cfg->pins, &rep.peer))
		return log_fail(
			-EACCES, msg, msg_len,
			"the TLS handshake child reported an unpinned key");
	r = attach_tls_verify_ktls(fd, msg, msg_len);
	if (r < 0)
		return r;
	*peer = rep.peer;
	*ours = rep.ours;
	log_fail(0, msg, msg_len, "%s", rep.msg);
	return 0;
}
