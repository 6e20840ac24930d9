// SPDX-License-Identifier: GPL-2.0-or-later
#include "worker-filter.h"

#include <errno.h>
#include <linux/tls.h>
#include <linux/usbdevice_fs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "allow_list.h"
#include "macros.h"

/* Each entry with the reason it is needed; nothing else is. */
static const struct syscall_allowance allowed[] = {
	{SCMP_SYS(read), "client requests; usbfs descriptor reads"},
	{SCMP_SYS(write), "replies to the client; log lines to stderr"},
	{SCMP_SYS(pread64),
	 "the descriptors of a device the broker hands over"},
	{SCMP_SYS(readv), "glibc stdio"},
	{SCMP_SYS(writev), "glibc stdio; batched replies"},
	{SCMP_SYS(close), "ending a connection or a transfer's fd"},
	{SCMP_SYS(poll), "the event loop (client and libusb's fds)"},
	{SCMP_SYS(ppoll), "the event loop on newer glibc"},
	{SCMP_SYS(fcntl), "O_NONBLOCK on the client socket"},
	{SCMP_SYS(accept4), "--listen mode: the next client"},
	{SCMP_SYS(getsockname), "transport_tune(): is it TCP"},
	{SCMP_SYS(mmap), "malloc of large transfer buffers"},
	{SCMP_SYS(munmap), "free of large transfer buffers"},
	{SCMP_SYS(mremap), "realloc of the output buffer"},
	{SCMP_SYS(brk), "malloc"},
	{SCMP_SYS(madvise), "glibc free() trimming"},
	{SCMP_SYS(futex), "glibc and libusb mutexes"},
	{SCMP_SYS(clock_gettime), "libusb timeouts; handshake deadlines"},
	{SCMP_SYS(gettimeofday), "vDSO fallback"},
	{SCMP_SYS(nanosleep), "none expected; glibc sleep helpers"},
	{SCMP_SYS(clock_nanosleep), "none expected; glibc sleep helpers"},
	{SCMP_SYS(timerfd_settime),
	 "libusb's transfer timeouts; the session's report timer"},
	{SCMP_SYS(timerfd_create), "the session's report timer"},
	{SCMP_SYS(newfstatat), "glibc 2.36 fstat(), stdio setup"},
	{SCMP_SYS(fstat), "stdio setup on older glibc"},
	{SCMP_SYS(lseek), "stdio"},
	{SCMP_SYS(getrandom), "glibc malloc initialisation"},
	{SCMP_SYS(getpid), "glibc abort(), libusb logging"},
	{SCMP_SYS(gettid), "glibc abort(), libusb logging"},
	{SCMP_SYS(tgkill), "abort() on an internal error"},
	{SCMP_SYS(rt_sigprocmask), "abort()"},
	{SCMP_SYS(rt_sigreturn), "returning from the SIGTERM handler"},
	{SCMP_SYS(restart_syscall), "interrupted poll"},
	{SCMP_SYS(exit), "thread exit"},
	{SCMP_SYS(exit_group), "process exit"},
};

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/*
 * setsockopt, for these options only. Any other would be a lever for a
 * compromised worker: with SO_LINGER on a socket whose peer does not
 * read, then that socket smuggled to the broker, the broker's close of
 * the unwanted descriptor waited out the linger time with its loop
 * stopped (found in review of issue 12).
 */
static const struct {
	int level, name;
	const char *why;
} socket_options[] = {
	{IPPROTO_TCP, TCP_NODELAY, "transport_tune(): URBs go out at once"},
	{SOL_SOCKET, SO_KEEPALIVE, "transport_tune(): a vanished client"},
	{IPPROTO_TCP, TCP_KEEPIDLE, "transport_tune(): keepalive timing"},
	{IPPROTO_TCP, TCP_KEEPINTVL, "transport_tune(): keepalive timing"},
	{IPPROTO_TCP, TCP_KEEPCNT, "transport_tune(): keepalive timing"},
	{IPPROTO_TCP, TCP_ULP, "kTLS: the record layer to the kernel"},
	{SOL_TLS, TLS_TX, "kTLS: the keys for sending"},
	{SOL_TLS, TLS_RX, "kTLS: the keys for receiving"},
};

/*
 * getsockopt, for these only: the kTLS record counts of the worker's
 * record limit (daemons/worker/tls_server.h). The kernel answers with the
 * whole crypto_info, key and IV included; those are the keys this
 * process installed with setsockopt after its handshake and holds
 * anyway, so the answer gives it nothing new. No other option: getsockopt
 * reads state, and a compromised worker has no business reading more of
 * it than its limit needs.
 */
static const struct {
	int level, name;
	const char *why;
} socket_queries[] = {
	{SOL_TLS, TLS_TX, "kTLS: records sent (rec_seq), for the record limit"},
	{SOL_TLS, TLS_RX,
	 "kTLS: records received (rec_seq), for the record limit"},
};

/* The usbfs requests on the device fd. */
static const unsigned long usbfs_requests[] = {
	USBDEVFS_SUBMITURB,	   /* asynchronous transfers */
	USBDEVFS_DISCARDURB,	   /* cancelling (unlink, teardown) */
	USBDEVFS_REAPURB,	   /* completions */
	USBDEVFS_REAPURBNDELAY,	   /* completions */
	USBDEVFS_CONTROL,	   /* libusb: GET_CONFIGURATION on wrapping */
	USBDEVFS_CLAIMINTERFACE,   /* claiming the current configuration */
	USBDEVFS_RELEASEINTERFACE, /* releasing it on set config and exit */
	USBDEVFS_SETINTERFACE,	   /* SET_INTERFACE from the client */
	USBDEVFS_SETCONFIGURATION, /* SET_CONFIGURATION from the client */
	USBDEVFS_CLEAR_HALT,	   /* CLEAR_FEATURE(ENDPOINT_HALT) */
	USBDEVFS_RESET,		   /* port reset from the client */
	USBDEVFS_GET_CAPABILITIES, /* libusb, once */
	USBDEVFS_GETDRIVER,	   /* libusb_kernel_driver_active() */
	USBDEVFS_IOCTL,		   /* libusb_detach_kernel_driver() (a dropped
				      fd refuses it in the kernel anyway) */
	USBDEVFS_DISCONNECT_CLAIM, /* libusb's detach-and-claim */
	USBDEVFS_GET_SPEED,	   /* libusb, once */
	USBDEVFS_CONNECTINFO,	   /* libusb, once */
	FIONBIO,		   /* glibc/libusb non-blocking toggles */
};

int worker_seccomp_load(int broker_fd)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return -ENOMEM;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = seccomp_allow_syscalls(ctx, allowed, ARRAY_SIZE(allowed),
					   NULL);
	/* glibc 2.34+ tries clone3 first and falls back only on ENOSYS. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				     SCMP_SYS(clone3), 0);
	/* libusb_wrap_sys_device() looks for the node's name through
	 * /proc/self/fd and asks usbfs (CONNECTINFO) when that fails, as it
	 * does in the empty root anyway. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT),
				     SCMP_SYS(readlink), 0);
	/* The broker's channel, and only it: device requests out, answers
	 * and the device fd in. */
	if (r == 0 && broker_fd >= 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmsg), 1,
				     SCMP_A0(SCMP_CMP_EQ, (unsigned)broker_fd, 0));
	if (r == 0 && broker_fd >= 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(recvmsg), 1,
				     SCMP_A0(SCMP_CMP_EQ, (unsigned)broker_fd, 0));
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(socket_options); i++)
		r = seccomp_rule_add(
			ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2,
			SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
				(unsigned)socket_options[i].level),
			SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu,
				(unsigned)socket_options[i].name));
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(socket_queries); i++)
		r = seccomp_rule_add(
			ctx, SCMP_ACT_ALLOW, SCMP_SYS(getsockopt), 2,
			SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
				(unsigned)socket_queries[i].level),
			SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu,
				(unsigned)socket_queries[i].name));
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(usbfs_requests); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
					     usbfs_requests[i] & 0xffffffffu));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}
