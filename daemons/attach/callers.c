// SPDX-License-Identifier: GPL-2.0-or-later
#include "callers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/vm_sockets.h>

#include "macros.h"

#ifndef VMADDR_CID_LOCAL
#define VMADDR_CID_LOCAL 1
#endif

static const char *const local_nets[] = {"127.0.0.0/8", "::1", "unix",
					 "vsock:1"};

void callers_init(struct callers *c)
{
	char msg[128];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < ARRAY_SIZE(local_nets); i++)
		if (policy_parse_net(local_nets[i], &c->nets[c->num], msg,
				     sizeof(msg)) == 0)
			c->num++;
}

int callers_add(struct callers *c, const char *text, char *msg, size_t msg_len)
{
	struct policy_net net;
	int r;

	if (c->named && c->num == CALLERS_MAX_NETS) {
		snprintf(msg, msg_len, "at most %d --from", CALLERS_MAX_NETS);
		return -E2BIG;
	}
	r = policy_parse_net(text, &net, msg, msg_len);
	if (r < 0)
		return r;
	if (!c->named) {
		c->named = true;
		c->num = 0;
	}
	c->nets[c->num++] = net;
	return 0;
}

bool callers_local_address(const struct sockaddr *sa, socklen_t len)
{
	if (len >= sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (len >= sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)(const void *)sa)
				 ->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	if (len >= sizeof(struct sockaddr_vm) && sa->sa_family == AF_VSOCK)
		return ((const struct sockaddr_vm *)(const void *)sa)
			       ->svm_cid == VMADDR_CID_LOCAL;
	/* Reachable through the file system or the abstract namespace of
	 * this network namespace only. */
	return sa->sa_family == AF_UNIX;
}

/* Numeric only: nothing the peer chose reaches the log. */
static void describe(int fd, const struct sockaddr_storage *ss, socklen_t sl,
		     char *who, size_t who_len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sl >= sizeof(struct sockaddr_in) && ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(who, who_len, "tcp:%s:%u", host, ntohs(in->sin_port));
	} else if (sl >= sizeof(struct sockaddr_in6) &&
		   ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(who, who_len, "tcp:[%s]:%u", host,
			 ntohs(in6->sin6_port));
	} else if (sl >= sizeof(struct sockaddr_vm) &&
		   ss->ss_family == AF_VSOCK) {
		const struct sockaddr_vm *vm = (const void *)ss;
		if (vm->svm_cid == VMADDR_CID_ANY) /* as listen spells it */
			snprintf(who, who_len, "vsock:%u", vm->svm_port);
		else
			snprintf(who, who_len, "vsock:%u:%u", vm->svm_cid,
				 vm->svm_port);
	} else if (ss->ss_family == AF_UNIX) {
		/* A unix peer has no address worth the name; who it is
		 * is its process. */
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
			snprintf(who, who_len, "unix (pid %d, uid %u)",
				 (int)cred.pid, (unsigned)cred.uid);
		else
			snprintf(who, who_len, "unix");
	} else {
		snprintf(who, who_len, "address family %u",
			 (unsigned)ss->ss_family);
	}
}

int callers_check_listener(const struct callers *c, int fd, char *msg,
			   size_t msg_len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char name[128];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		int e = errno;
		snprintf(msg, msg_len, "fd %d: %s", fd, strerror(e));
		return -e;
	}
	if (c->named || callers_local_address((struct sockaddr *)&ss, sl))
		return 0;
	describe(fd, &ss, sl, name, sizeof(name));
	snprintf(msg, msg_len,
		 "%s can be reached from other machines, and whoever "
		 "calls there puts a USB device into this kernel: name "
		 "who may call with --from NET (--from any to let "
		 "everyone), or listen on a loopback address",
		 name);
	return -EPERM;
}

bool callers_allow_address(const struct callers *c, const struct sockaddr *sa,
			   socklen_t len)
{
	struct policy_peer peer;

	if (policy_peer_from_sockaddr(sa, len, &peer) < 0)
		return false;
	return policy_net_contains(c->nets, c->num, &peer);
}

int callers_admit(const struct callers *c, int fd, char *who, size_t who_len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0) {
		int e = errno;
		snprintf(who, who_len, "fd %d (no peer: %s)", fd, strerror(e));
		return -e;
	}
	describe(fd, &ss, sl, who, who_len);
	return callers_allow_address(c, (struct sockaddr *)&ss, sl) ? 0
								    : -EACCES;
}
