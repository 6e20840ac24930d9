// SPDX-License-Identifier: GPL-2.0-or-later
/* The dialler's confinement (dial_confine.h). */
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vm_sockets.h>
#ifdef HAVE_LIBSECCOMP
#include "allow_list.h"
#endif

#include "dial_confine.h"
#include "log.h"
#include "macros.h"
#include "namespace.h"

#ifdef HAVE_LIBSECCOMP
/* What resolving a name (glibc getaddrinfo: /etc/hosts, resolv.conf,
 * nsswitch and its modules, DNS over UDP and TCP), connecting (tcp,
 * vsock, unix, the Firecracker handshake) and handing the socket back
 * take; each entry with the reason. Nothing else: no exec, no ptrace,
 * no signals to others, no privilege calls. */
static const struct syscall_allowance dial_allowed[] = {
	{SCMP_SYS(connect), "the connection; DNS over UDP and TCP"},
	{SCMP_SYS(bind), "glibc's resolver binds its UDP source port"},
	{SCMP_SYS(getsockname), "the resolver"},
	{SCMP_SYS(getsockopt), "SO_ERROR after a non-blocking connect"},
	{SCMP_SYS(setsockopt), "TCP_NODELAY, keepalive, timeouts"},
	{SCMP_SYS(fcntl), "O_NONBLOCK around connect"},
	{SCMP_SYS(poll), "connect and resolver timeouts"},
	{SCMP_SYS(ppoll), "the same on newer glibc"},
	{SCMP_SYS(sendto), "DNS queries"},
	{SCMP_SYS(sendmmsg), "parallel A and AAAA queries"},
	{SCMP_SYS(recvfrom), "DNS answers"},
	{SCMP_SYS(recvmsg), "DNS answers; netlink in getaddrinfo"},
	{SCMP_SYS(sendmsg), "the socket back to the broker (SCM_RIGHTS)"},
	{SCMP_SYS(writev), "DNS over TCP (the length, then the query)"},
	{SCMP_SYS(readv), "glibc stdio"},
	{SCMP_SYS(getpeername), "the resolver"},
	{SCMP_SYS(read), "/etc/hosts and the like; the Firecracker reply"},
	{SCMP_SYS(write), "the Firecracker CONNECT line; a log line"},
	{SCMP_SYS(pread64), "NSS modules being loaded"},
	{SCMP_SYS(openat), "/etc/hosts, resolv.conf, nsswitch, NSS modules"},
	{SCMP_SYS(open), "the same on older glibc"},
	{SCMP_SYS(close), "files and sockets"},
	{SCMP_SYS(newfstatat), "stdio and the resolver's file checks"},
	{SCMP_SYS(fstat), "the same on older glibc"},
	{SCMP_SYS(stat), "the same on older glibc"},
	{SCMP_SYS(statx), "the same on newer glibc"},
	{SCMP_SYS(lseek), "stdio"},
	{SCMP_SYS(access), "NSS module search"},
	{SCMP_SYS(faccessat), "the same on newer glibc"},
	{SCMP_SYS(faccessat2), "the same on newer glibc"},
	{SCMP_SYS(mmap), "malloc; NSS modules"},
	{SCMP_SYS(mprotect), "NSS modules being loaded"},
	{SCMP_SYS(munmap), "free; NSS modules"},
	{SCMP_SYS(brk), "malloc"},
	{SCMP_SYS(madvise), "free"},
	{SCMP_SYS(futex), "glibc locks"},
	{SCMP_SYS(getrandom), "malloc; the resolver's query ids"},
	{SCMP_SYS(clock_gettime), "resolver timeouts"},
	{SCMP_SYS(gettimeofday), "resolver timeouts on older glibc"},
	{SCMP_SYS(getpid), "the resolver's query ids"},
	{SCMP_SYS(gettid), "glibc"},
	{SCMP_SYS(uname), "the resolver's default domain"},
	{SCMP_SYS(getuid), "reading its own ids: harmless"},
	{SCMP_SYS(geteuid), "reading its own ids: harmless"},
	{SCMP_SYS(getgid), "reading its own ids: harmless"},
	{SCMP_SYS(getegid), "reading its own ids: harmless"},
	{SCMP_SYS(rt_sigaction), "glibc"},
	{SCMP_SYS(rt_sigprocmask), "glibc"},
	{SCMP_SYS(rt_sigreturn), "returning from a signal"},
	{SCMP_SYS(sigaltstack),
	 "its own signal stack (the sanitizers' runtime)"},
	{SCMP_SYS(restart_syscall), "an interrupted poll"},
	{SCMP_SYS(exit), "exit"},
	{SCMP_SYS(exit_group), "exit"},
};

/* socket(): the families a name and a connection take (socket_rules). */
static const int dial_families[] = {AF_INET, AF_INET6, AF_NETLINK, AF_VSOCK};

static int socket_rules(scmp_filter_ctx ctx, bool unix_sockets)
{
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(dial_families) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ,
					     (scmp_datum_t)dial_families[i],
					     0));
	/* glibc asks nscd over a unix socket first: refused, not killed,
	 * so that it falls back to the files and DNS. */
	if (r == 0)
		r = seccomp_rule_add(ctx,
				     unix_sockets ? SCMP_ACT_ALLOW
						  : SCMP_ACT_ERRNO(EACCES),
				     SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0));
	return r;
}

static int load_filter(bool unix_sockets, char *msg, size_t msg_len)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return log_fail(-ENOMEM, msg, msg_len, "dialler: seccomp_init");
	int nr = -1;

	r = seccomp_allow_syscalls(ctx, dial_allowed, ARRAY_SIZE(dial_allowed),
				   &nr);
	if (r < 0) {
		seccomp_release(ctx);
		return log_fail(r, msg, msg_len,
				"dialler: allowing syscall %d: %s", nr,
				strerror(-r));
	}
	r = socket_rules(ctx, unix_sockets);
	/* The resolver's FIONREAD and O_NONBLOCK by ioctl: no other
	 * request on any fd. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, FIONBIO, 0));
	/* glibc tries clone3 before clone; neither is allowed anyway. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				     SCMP_SYS(clone3), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return log_fail(r, msg, msg_len, "dialler: seccomp: %s",
				strerror(-r));
	return 0;
}
#endif

int dial_confine_hiding(uid_t uid, gid_t gid, const char *const *hide,
			bool unix_sockets, char *msg, size_t msg_len)
{
	char why[160];

	if (getuid() != 0 && geteuid() != 0 &&
	    ns_hide_paths(hide, why, sizeof(why)) < 0)
		return log_fail(-EPERM, msg, msg_len, "dialler: hiding: %s",
				why);
	return dial_confine(uid, gid, unix_sockets, msg, msg_len);
}

int dial_confine(uid_t uid, gid_t gid, bool unix_sockets, char *msg,
		 size_t msg_len)
{
	/* From root: no groups, then the gid, then the uid, which clears
	 * every capability (no keepcaps). Each checked, all three ids. */
	if (getuid() == 0 || geteuid() == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			return log_fail(-errno, msg, msg_len,
					"dialler: dropping to uid %u: %s",
					(unsigned)uid, strerror(errno));
		if (setresuid(0, 0, 0) == 0)
			return log_fail(-EPERM, msg, msg_len,
					"dialler: root came back");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return log_fail(-errno, msg, msg_len,
				"dialler: no_new_privs: %s", strerror(errno));
#ifdef HAVE_LIBSECCOMP
	return load_filter(unix_sockets, msg, msg_len);
#else
	(void)unix_sockets;
	return 0;
#endif
}
