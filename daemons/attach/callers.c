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

#ifndef VMADDR_CID_LOCAL
#define VMADDR_CID_LOCAL 1
#endif

void callers_init(struct callers *c)
{
	memset(c, 0, sizeof(*c));
}

void callers_set_group(struct callers *c, gid_t gid)
{
	c->group = gid;
	c->group_set = true;
}

int callers_add(struct callers *c, const char *text, char *msg, size_t msg_len)
{
	struct policy_net net;
	int r;

	if (c->num == CALLERS_MAX_NETS) {
		snprintf(msg, msg_len, "at most %d --from", CALLERS_MAX_NETS);
		return -E2BIG;
	}
	r = policy_parse_net(text, &net, msg, msg_len);
	if (r < 0)
		return r;
	c->named = true;
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
			snprintf(who, who_len, "vsock:*:%u", vm->svm_port);
		else
			snprintf(who, who_len, "vsock:%u:%u", vm->svm_cid,
				 vm->svm_port);
	} else if (ss->ss_family == AF_UNIX) {
		/* A unix peer has no address worth the name; who it is
		 * is its process. */
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
			snprintf(who, who_len, "unix (pid %d, uid %u, gid %u)",
				 (int)cred.pid, (unsigned)cred.uid,
				 (unsigned)cred.gid);
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
	/* A unix socket lets in root (and --from-group) by itself. */
	if (c->named || ss.ss_family == AF_UNIX)
		return 0;
	describe(fd, &ss, sl, name, sizeof(name));
	if (callers_local_address((struct sockaddr *)&ss, sl))
		snprintf(msg, msg_len,
			 "%s would let nobody in: without --from only root "
			 "(and --from-group) on a unix socket may call. "
			 "Loopback and vsock CID 1 let every local user put "
			 "a USB device into this kernel: if that is meant, "
			 "say so with --from (--from 127.0.0.1, --from ::1, "
			 "--from vsock:1), or listen on a unix socket",
			 name);
	else
		snprintf(msg, msg_len,
			 "%s can be reached from other machines, and whoever "
			 "calls there puts a USB device into this kernel: name "
			 "who may call with --from NET (--from any to let "
			 "everyone), or listen on a unix socket",
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

/* Root, or a member of --from-group: as primary group or as one of the
 * peer's supplementary groups (SO_PEERGROUPS, the groups it had when it
 * connected), as the broker's control socket judges its callers. */
static bool unix_peer_privileged(const struct callers *c, int fd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	gid_t groups[CALLERS_MAX_PEER_GROUPS];
	socklen_t gl = sizeof(groups);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    cl != sizeof(cred))
		return false;
	if (cred.uid == 0)
		return true;
	if (!c->group_set)
		return false;
	if (cred.gid == c->group)
		return true;
	/* ERANGE past CALLERS_MAX_PEER_GROUPS: refused, never guessed. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) < 0)
		return false;
	for (size_t i = 0; i < gl / sizeof(gid_t); i++)
		if (groups[i] == c->group)
			return true;
	return false;
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
	if (callers_allow_address(c, (struct sockaddr *)&ss, sl))
		return 0;
	if (ss.ss_family == AF_UNIX && unix_peer_privileged(c, fd))
		return 0;
	return -EACCES;
}

const char *callers_refusal(const struct callers *c, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return "no peer address";
	if (ss.ss_family == AF_UNIX)
		return c->group_set ? "not root or in --from-group (--from "
				      "unix lets every local user in)"
				    : "not root (--from-group NAME or --from "
				      "unix lets others in)";
	if (c->named)
		return "not in --from";
	return "loopback, vsock and network callers need an explicit "
	       "--from (such as --from 127.0.0.1)";
}
