// SPDX-License-Identifier: GPL-2.0-or-later
/* usbip-attach's parsers and handshakes: vhci_hcd status text, port
 * choice, busid checks, and every malformed handshake a peer can send. */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "callers.h"
#include "check-main.h"
#include "handshake.h"
#include "vectors.h"
#include "vhci.h"
#ifdef HAVE_GNUTLS
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tls_client.h"
#include "tls_handshake.h"
#include "tls_key.h"
#include "tls_ktls.h"
#include "tls_module.h"
#endif

/* As vhci_hcd 6.1 prints it: 2 ports per hub here instead of 8/15. */
static const char status_text[] =
	"hub port sta spd dev      sockfd local_busid\n"
	"hs  0000 006 003 00010002 000003 3-1\n"
	"hs  0001 004 000 00000000 000000 0-0\n"
	"ss  0002 004 000 00000000 000000 0-0\n"
	"ss  0003 004 000 00000000 000000 0-0\n";

START_TEST(status_parses)
{
	struct vhci_port ports[8];
	size_t n = 0;

	ck_assert_int_eq(vhci_parse_status(status_text, ports, 8, &n, NULL), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(ports[0].hub, VHCI_HUB_HIGH_SPEED);
	ck_assert_uint_eq(ports[0].state, VHCI_PORT_USED);
	ck_assert_uint_eq(ports[0].speed, 3);
	ck_assert_uint_eq(ports[0].devid, 0x10002);
	ck_assert_str_eq(ports[0].local_busid, "3-1");
	ck_assert_int_eq(ports[3].hub, VHCI_HUB_SUPER_SPEED);
	ck_assert_uint_eq(ports[3].port, 3);

	/* A second controller's file appends. */
	ck_assert_int_eq(
		vhci_parse_status("hub port sta spd dev sockfd local_busid\n"
				  "hs  0016 004 000 00000000 000000 0-0\n",
				  ports, 8, &n, NULL),
		0);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(ports[4].port, 16);
	/* Header only, empty, and the pre-4.13 header. */
	n = 0;
	ck_assert_int_eq(vhci_parse_status("", ports, 8, &n, NULL), 0);
	ck_assert_int_eq(
		vhci_parse_status("prt sta spd dev\n", ports, 8, &n, NULL), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

static void assert_bad_status(const char *text, unsigned want_line)
{
	struct vhci_port ports[8];
	size_t n = 0;
	unsigned line = 0;

	ck_assert_int_eq(vhci_parse_status(text, ports, 8, &n, &line),
			 -EBADMSG);
	ck_assert_uint_eq(line, want_line);
}

START_TEST(status_malformed)
{
	const char *hdr = "hub port sta spd dev      sockfd local_busid\n";
	char buf[600];

	assert_bad_status("hs  0000 004 000 00000000 000000\n", 1);
	assert_bad_status("xs  0000 004 000 00000000 000000 0-0\n", 1);
	snprintf(buf, sizeof(buf), "%shs  00x0 004 000 00000000 000000 0-0\n",
		 hdr);
	assert_bad_status(buf, 2);
	assert_bad_status("hs  0000 004 000 0000zz00 000000 0-0\n", 1);
	assert_bad_status("hs  99999 004 000 00000000 000000 0-0\n", 1);
	assert_bad_status("hs  0000 -04 000 00000000 000000 0-0\n", 1);
	assert_bad_status("hs  0000 004 000 100000000 000000 0-0\n", 1);
	assert_bad_status("hs  0000 004 000 00000000 000000 0-0 extra\n", 1);
	assert_bad_status("hs  0000 004 000 00000000 000000 "
			  "0123456789012345678901234567890123\n",
			  1);
	memset(buf, 'h', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	assert_bad_status(buf, 1);

	struct vhci_port one[1];
	size_t n = 0;
	ck_assert_int_eq(vhci_parse_status(status_text, one, 1, &n, NULL),
			 -E2BIG);
}
END_TEST

START_TEST(port_choice)
{
	struct vhci_port ports[8];
	size_t n = 0;

	vhci_parse_status(status_text, ports, 8, &n, NULL);
	ck_assert_int_eq(vhci_pick_port(ports, n, 3), 1);
	ck_assert_int_eq(vhci_pick_port(ports, n, 1), 1);
	ck_assert_int_eq(vhci_pick_port(ports, n, 5), 2);
	ck_assert_int_eq(vhci_pick_port(ports, n, 6), 2);
	ck_assert_int_eq(vhci_pick_port(ports, n, 0), -EINVAL);
	ck_assert_int_eq(vhci_pick_port(ports, n, 7), -EINVAL);
	ports[1].state = VHCI_PORT_USED;
	ck_assert_int_eq(vhci_pick_port(ports, n, 2), -EBUSY);
}
END_TEST

START_TEST(busids)
{
	ck_assert(vhci_busid_valid("1-1"));
	ck_assert(vhci_busid_valid("3-1.2.4"));
	ck_assert(vhci_busid_valid("usb1:1.0"));
	ck_assert(!vhci_busid_valid(""));
	ck_assert(!vhci_busid_valid("1-1 extra"));
	ck_assert(!vhci_busid_valid("../../etc"));
	ck_assert(!vhci_busid_valid("1-1\n"));
	ck_assert(!vhci_busid_valid("0123456789012345678901234567890123"));
}
END_TEST

/* A peer that says `v` (and closes its side when `close_after`). */
static int peer_says(const struct vec *v, bool close_after, int *peer)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	if (v && v->len)
		ck_assert_int_eq(write(sv[1], v->b, v->len), (ssize_t)v->len);
	if (close_after)
		shutdown(sv[1], SHUT_WR);
	*peer = sv[1];
	return sv[0];
}

/* Runs an import against a peer that answers `reply`; returns the result
 * and checks that the message says `words`. */
static int import_against(const struct vec *reply, bool close_after,
			  const char *words)
{
	struct usbip_device_info d;
	char msg[256] = "";
	int peer, fd = peer_says(reply, close_after, &peer);
	int r = handshake_import(fd, VEC_BUSID, 300, &d, msg, sizeof(msg));

	if (words)
		ck_assert_msg(strstr(msg, words), "'%s' lacks '%s'", msg,
			      words);
	close(fd);
	close(peer);
	return r;
}

START_TEST(import_good_and_exact)
{
	struct usbip_device_info d;
	char msg[256] = "", next;
	struct vec v;
	int peer, fd;

	vec_build(V_REP_IMPORT, &v);
	v.b[v.len++] = 0x42; /* the first byte of the URB stream */
	fd = peer_says(&v, false, &peer);
	ck_assert_int_eq(
		handshake_import(fd, VEC_BUSID, 1000, &d, msg, sizeof(msg)), 0);
	ck_assert_str_eq(d.busid, VEC_BUSID);
	ck_assert_uint_eq(d.speed, 3);
	/* Not one byte past the reply was taken from vhci_hcd's stream. */
	ck_assert_int_eq(read(fd, &next, 1), 1);
	ck_assert_int_eq(next, 0x42);
	/* What we sent was an OP_REQ_IMPORT for our busid. */
	vec_build(V_REQ_IMPORT, &v);
	uint8_t sent[40];
	ck_assert_int_eq(read(peer, sent, sizeof(sent)), 40);
	ck_assert_mem_eq(sent, v.b, 40);
	close(fd);
	close(peer);
}
END_TEST

START_TEST(import_malformed)
{
	struct vec v;

	vec_build(V_REP_DEVLIST, &v); /* wrong reply */
	ck_assert_int_eq(import_against(&v, true, "expected OP_REP_IMPORT"),
			 -EPROTO);

	vec_build(V_REP_IMPORT_FAIL, &v); /* refused */
	ck_assert_int_eq(import_against(&v, true, "refused"), -ECONNREFUSED);

	vec_build(V_REP_IMPORT, &v); /* another busid */
	memcpy(v.b + 8 + 256, "2-2", 4);
	ck_assert_int_eq(import_against(&v, true, "peer offered 2-2"), -EPROTO);

	vec_build(V_REP_IMPORT, &v); /* busid with a shell metacharacter */
	memcpy(v.b + 8 + 256, "1-1;", 5);
	ck_assert_int_eq(import_against(&v, true, "invalid busid"), -EBADMSG);

	vec_build(V_REP_IMPORT, &v); /* busid without NUL */
	memset(v.b + 8 + 256, '1', 32);
	ck_assert_int_eq(import_against(&v, true, "busid"), -EBADMSG);

	vec_build(V_REP_IMPORT, &v); /* version 1.0.0 */
	v.b[1] = 0x00;
	ck_assert_int_eq(import_against(&v, true, "version"), -EPROTO);

	vec_build(V_REP_IMPORT, &v); /* unknown speed */
	v.b[8 + 299] = 9;
	ck_assert_int_eq(import_against(&v, true, "speed"), -EBADMSG);

	vec_build(V_REP_IMPORT, &v); /* devnum 0 */
	v.b[8 + 295] = 0;
	ck_assert_int_eq(import_against(&v, true, "may be 0"), -EBADMSG);

	vec_build(V_REP_IMPORT, &v); /* busnum past 16 bits */
	v.b[8 + 289] = 1;
	ck_assert_int_eq(import_against(&v, true, "busnum"), -EBADMSG);

	vec_build(V_REP_IMPORT, &v); /* truncated, then closed */
	v.len = 100;
	ck_assert_int_eq(import_against(&v, true, "closed"), -ECONNRESET);

	/* Silent peer: the deadline ends it. */
	ck_assert_int_eq(import_against(NULL, false, "did not answer"),
			 -ETIMEDOUT);

	/* Garbage. */
	memset(&v, 0, sizeof(v));
	memcpy(v.b, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
	v.len = 28;
	ck_assert_int_eq(import_against(&v, true, "malformed"), -EPROTO);

	/* A request where a reply belongs. */
	vec_build(V_REQ_EXPORT, &v);
	ck_assert_int_eq(import_against(&v, true, "expected OP_REP_IMPORT"),
			 -EPROTO);
}
END_TEST

static int export_against(const struct vec *req, const char *words)
{
	struct usbip_op_message m;
	char msg[256] = "";
	int peer, fd = peer_says(req, true, &peer);
	int r = handshake_export_receive(fd, 300, &m, msg, sizeof(msg));

	if (r == 0)
		usbip_op_message_clear(&m);
	if (words)
		ck_assert_msg(strstr(msg, words), "'%s' lacks '%s'", msg,
			      words);
	close(fd);
	close(peer);
	return r;
}

START_TEST(export_requests)
{
	struct vec v;

	vec_build(V_REQ_EXPORT, &v);
	ck_assert_int_eq(export_against(&v, NULL), 0);
	vec_build(V_REQ_UNEXPORT, &v);
	ck_assert_int_eq(export_against(&v, NULL), 0);

	vec_build(V_REQ_IMPORT, &v); /* the wrong direction's request */
	ck_assert_int_eq(export_against(&v, "expected OP_REQ_EXPORT"), -EPROTO);
	vec_build(V_REQ_EXPORT, &v);
	memset(v.b + 8, 'p', 256); /* path without NUL */
	ck_assert_int_eq(export_against(&v, "path"), -EBADMSG);
	vec_build(V_REQ_EXPORT, &v);
	memcpy(v.b + 8 + 256, "../x", 5); /* busid that is a path */
	ck_assert_int_eq(export_against(&v, "invalid busid"), -EBADMSG);
	vec_build(V_REQ_EXPORT, &v);
	v.b[8 + 311] = 40; /* 40 interfaces */
	ck_assert_int_eq(export_against(&v, "bNumInterfaces"), -EMSGSIZE);
	vec_build(V_REQ_EXPORT, &v);
	v.b[7] = 1; /* a request with a status */
	ck_assert_int_eq(export_against(&v, "status"), -EBADMSG);
	vec_build(V_REQ_EXPORT, &v);
	v.len = 8; /* header only */
	ck_assert_int_eq(export_against(&v, "closed"), -ECONNRESET);
}
END_TEST

START_TEST(export_reply_bytes)
{
	struct vec want;
	uint8_t got[12];
	int peer, fd = peer_says(NULL, false, &peer);

	ck_assert_int_eq(handshake_export_reply(fd, USBIP_OP_REP_EXPORT, true),
			 0);
	ck_assert_int_eq(read(peer, got, sizeof(got)), 12);
	vec_build(V_REP_EXPORT, &want);
	ck_assert_mem_eq(got, want.b, 12);
	ck_assert_int_eq(
		handshake_export_reply(fd, USBIP_OP_REP_UNEXPORT, false), 0);
	ck_assert_int_eq(read(peer, got, sizeof(got)), 12);
	vec_build(V_REP_UNEXPORT, &want);
	ck_assert_mem_eq(got, want.b, 12);
	close(fd);
	close(peer);
}
END_TEST

START_TEST(devlist_checked)
{
	struct usbip_op_message reply;
	char msg[256] = "";
	struct vec v;
	int peer, fd;

	vec_build(V_REP_DEVLIST, &v);
	fd = peer_says(&v, true, &peer);
	ck_assert_int_eq(handshake_devlist(fd, 1000, &reply, msg, sizeof(msg)),
			 0);
	ck_assert_uint_eq(reply.num_devices, 1);
	usbip_op_message_clear(&reply);
	close(fd);
	close(peer);

	vec_build(V_REP_DEVLIST, &v);
	memcpy(v.b + 12 + 256, "1 1", 4); /* a busid with a space */
	fd = peer_says(&v, true, &peer);
	ck_assert_int_eq(handshake_devlist(fd, 1000, &reply, msg, sizeof(msg)),
			 -EBADMSG);
	ck_assert_ptr_null(reply.devices);
	close(fd);
	close(peer);
}
END_TEST

static struct sockaddr_in in4(const char *text)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
	ck_assert_int_eq(inet_pton(AF_INET, text, &a.sin_addr), 1);
	return a;
}

static struct sockaddr_in6 in6(const char *text)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6,
				 .sin6_port = htons(9)};
	ck_assert_int_eq(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
	return a;
}

static struct sockaddr_vm vm(unsigned cid)
{
	return (struct sockaddr_vm){
		.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = 9};
}

#define ALLOWS(c, a) callers_allow_address(c, (void *)&(a), sizeof(a))
#define LOCAL(a) callers_local_address((void *)&(a), sizeof(a))

/* Without --from no address is let in, loopback, ::1, vsock CID 1 and
 * unix included: a unix caller is judged by its credentials
 * (callers_unix_credentials), everyone else needs an explicit --from. */
START_TEST(callers_default_no_address)
{
	struct callers c;
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr_vm v;
	struct sockaddr_un u = {.sun_family = AF_UNIX};

	callers_init(&c);
	ck_assert(!c.named);
	a4 = in4("127.0.0.1");
	ck_assert(!ALLOWS(&c, a4));
	a4 = in4("127.200.0.9");
	ck_assert(!ALLOWS(&c, a4));
	a6 = in6("::1");
	ck_assert(!ALLOWS(&c, a6));
	a6 = in6("::ffff:127.0.0.1");
	ck_assert(!ALLOWS(&c, a6));
	v = vm(1);
	ck_assert(!ALLOWS(&c, v));
	ck_assert(!ALLOWS(&c, u));
	a4 = in4("10.0.0.1");
	ck_assert(!ALLOWS(&c, a4));
	v = vm(2);
	ck_assert(!ALLOWS(&c, v));
	/* A family the grammar cannot name is never let in. */
	struct sockaddr_storage other = {.ss_family = AF_PACKET};
	ck_assert(!ALLOWS(&c, other));

	/* Loopback is let in once named, and only what is named. */
	char msg[256];
	ck_assert_int_eq(callers_add(&c, "127.0.0.1", msg, sizeof(msg)), 0);
	a4 = in4("127.0.0.1");
	ck_assert(ALLOWS(&c, a4));
	/* Nor an address shorter than its family says. */
	ck_assert(!callers_allow_address(&c, (void *)&a4, 4));
	a4 = in4("127.0.0.2");
	ck_assert(!ALLOWS(&c, a4));
	a6 = in6("::1");
	ck_assert(!ALLOWS(&c, a6));
	v = vm(1);
	ck_assert(!ALLOWS(&c, v));
	ck_assert(!ALLOWS(&c, u));
}
END_TEST

/* --from follows the broker's grammar. */
START_TEST(callers_named)
{
	struct callers c;
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr_vm v;
	struct sockaddr_un u = {.sun_family = AF_UNIX};
	char msg[256];

	callers_init(&c);
	ck_assert_int_eq(callers_add(&c, "127.0.0.2/32", msg, sizeof(msg)), 0);
	ck_assert(c.named);
	a4 = in4("127.0.0.2");
	ck_assert(ALLOWS(&c, a4));
	a6 = in6("::ffff:127.0.0.2"); /* a dual-stack listener's view */
	ck_assert(ALLOWS(&c, a6));
	a4 = in4("127.0.0.1");
	ck_assert(!ALLOWS(&c, a4));
	a6 = in6("::1");
	ck_assert(!ALLOWS(&c, a6));
	ck_assert(!ALLOWS(&c, u));
	v = vm(1);
	ck_assert(!ALLOWS(&c, v));

	ck_assert_int_eq(callers_add(&c, "vsock:3", msg, sizeof(msg)), 0);
	ck_assert_int_eq(callers_add(&c, "2001:db8::/32", msg, sizeof(msg)), 0);
	v = vm(3);
	ck_assert(ALLOWS(&c, v));
	v = vm(4);
	ck_assert(!ALLOWS(&c, v));
	a6 = in6("2001:db8:ffff::1");
	ck_assert(ALLOWS(&c, a6));
	a6 = in6("2001:db9::1");
	ck_assert(!ALLOWS(&c, a6));

	callers_init(&c);
	ck_assert_int_eq(callers_add(&c, "unix", msg, sizeof(msg)), 0);
	ck_assert(ALLOWS(&c, u));
	a4 = in4("127.0.0.1");
	ck_assert(!ALLOWS(&c, a4));

	callers_init(&c);
	ck_assert_int_eq(callers_add(&c, "vsock:*", msg, sizeof(msg)), 0);
	v = vm(77);
	ck_assert(ALLOWS(&c, v));
	ck_assert(!ALLOWS(&c, a4));

	callers_init(&c);
	ck_assert_int_eq(callers_add(&c, "any", msg, sizeof(msg)), 0);
	a4 = in4("192.0.2.1");
	ck_assert(ALLOWS(&c, a4));
	ck_assert(ALLOWS(&c, v));
	ck_assert(ALLOWS(&c, u));
}
END_TEST

START_TEST(callers_bad_from)
{
	struct callers c;
	char msg[256];
	static const char *const bad[] = {
		"",	  "10.0.0.1/8",	 "10.0.0.0/33", "localhost",
		"vsock:", "vsock:-1",	 "vsock:x",	"vsock:4294967295",
		"fd:3",	  "tcp:1.2.3.4", "1.2.3.4/",	"::1/129",
	};

	callers_init(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(callers_add(&c, bad[i], msg, sizeof(msg)) ==
				      -EINVAL,
			      "'%s' accepted", bad[i]);
		ck_assert(!c.named); /* a refused --from changes nothing */
	}
	for (unsigned i = 0; i < CALLERS_MAX_NETS; i++)
		ck_assert_int_eq(
			callers_add(&c, "10.0.0.0/8", msg, sizeof(msg)), 0);
	ck_assert_int_eq(callers_add(&c, "10.0.0.0/8", msg, sizeof(msg)),
			 -E2BIG);
}
END_TEST

START_TEST(callers_local_listeners)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr_vm v;
	struct sockaddr_un u = {.sun_family = AF_UNIX};

	a4 = in4("127.0.0.1");
	ck_assert(LOCAL(a4));
	a4 = in4("127.1.2.3");
	ck_assert(LOCAL(a4));
	a4 = in4("0.0.0.0");
	ck_assert(!LOCAL(a4));
	a4 = in4("192.0.2.1");
	ck_assert(!LOCAL(a4));
	a6 = in6("::1");
	ck_assert(LOCAL(a6));
	a6 = in6("::ffff:127.0.0.1");
	ck_assert(LOCAL(a6));
	a6 = in6("::");
	ck_assert(!LOCAL(a6));
	a6 = in6("::ffff:0.0.0.0");
	ck_assert(!LOCAL(a6));
	v = vm(1);
	ck_assert(LOCAL(v));
	v = vm(VMADDR_CID_ANY);
	ck_assert(!LOCAL(v));
	v = vm(3);
	ck_assert(!LOCAL(v));
	ck_assert(LOCAL(u));
}
END_TEST

/* A TCP listener on addr (port 0) and a client bound to from. */
static void tcp_pair(const char *addr, const char *from, int *listener,
		     int *client, int *server)
{
	struct sockaddr_in a = in4(addr), f = in4(from);
	socklen_t len = sizeof(a);

	a.sin_port = 0;
	f.sin_port = 0;
	*listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*listener, 0);
	ck_assert_int_eq(bind(*listener, (void *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(*listener, 4), 0);
	ck_assert_int_eq(getsockname(*listener, (void *)&a, &len), 0);
	*client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*client, 0);
	ck_assert_int_eq(bind(*client, (void *)&f, sizeof(f)), 0);
	ck_assert_int_eq(connect(*client, (void *)&a, sizeof(a)), 0);
	*server = accept4(*listener, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(*server, 0);
}

/* Real sockets: the kernel's view of the peer decides. */
START_TEST(callers_admit_sockets)
{
	struct callers c;
	char msg[512], who[128];
	int l, cl, sv, sp[2];

	callers_init(&c);
	ck_assert_int_eq(callers_add(&c, "127.0.0.2/32", msg, sizeof(msg)), 0);
	tcp_pair("127.0.0.1", "127.0.0.1", &l, &cl, &sv);
	ck_assert_int_eq(callers_admit(&c, sv, who, sizeof(who)), -EACCES);
	ck_assert_msg(!strncmp(who, "tcp:127.0.0.1:", 14), "%s", who);
	ck_assert_str_eq(callers_refusal(&c, sv), "not in --from");
	/* Nothing was read: what the caller sent is still there. */
	ck_assert_int_eq(write(cl, "x", 1), 1);
	ck_assert_int_eq(recv(sv, msg, 1, MSG_PEEK), 1);
	close(cl);
	close(sv);
	close(l);

	tcp_pair("127.0.0.1", "127.0.0.2", &l, &cl, &sv);
	ck_assert_int_eq(callers_admit(&c, sv, who, sizeof(who)), 0);
	ck_assert_msg(!strncmp(who, "tcp:127.0.0.2:", 14), "%s", who);
	close(cl);
	close(sv);
	close(l);

	/* A unix peer is named by its process. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp),
			 0);
	callers_admit(&c, sp[0], who, sizeof(who));
	snprintf(msg, sizeof(msg), "unix (pid %d, uid %u, gid %u)",
		 (int)getpid(), (unsigned)getuid(), (unsigned)getgid());
	ck_assert_str_eq(who, msg);
	close(sp[0]);
	close(sp[1]);

	/* Not a socket: no address, no entry. */
	ck_assert_int_eq(pipe(sp), 0);
	ck_assert_int_eq(callers_admit(&c, sp[0], who, sizeof(who)), -ENOTSOCK);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

/* Loopback reaches every local user: without --from a loopback caller is
 * refused, and told to name it. */
START_TEST(callers_loopback_needs_from)
{
	struct callers c;
	char msg[512], who[128];
	int l, cl, sv;

	callers_init(&c);
	tcp_pair("127.0.0.1", "127.0.0.1", &l, &cl, &sv);
	ck_assert_int_eq(callers_admit(&c, sv, who, sizeof(who)), -EACCES);
	ck_assert_msg(strstr(callers_refusal(&c, sv), "--from 127.0.0.1"), "%s",
		      callers_refusal(&c, sv));
	ck_assert_int_eq(callers_add(&c, "127.0.0.1", msg, sizeof(msg)), 0);
	ck_assert_int_eq(callers_admit(&c, sv, who, sizeof(who)), 0);
	/* --from-group is for unix callers: it opens no address. */
	callers_init(&c);
	callers_set_group(&c, getgid());
	ck_assert_int_eq(callers_admit(&c, sv, who, sizeof(who)), -EACCES);
	close(cl);
	close(sv);
	close(l);
}
END_TEST

/* A unix listener on an abstract name, unique to this process. */
static int unix_listener(struct sockaddr_un *a, socklen_t *len)
{
	static unsigned serial;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1,
			 "usbip-attach-test-%d-%u", (int)getpid(), serial++);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   (size_t)n);
	ck_assert_int_eq(bind(fd, (void *)a, *len), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

/*
 * A connection from a child that took uid and gids first (when we are
 * root; otherwise it keeps ours). Returns our end; *child is the child,
 * which waits for our end to close.
 */
static int unix_caller_as(uid_t uid, gid_t gid, const gid_t *groups,
			  size_t ngroups, pid_t *child)
{
	struct sockaddr_un a;
	socklen_t len;
	int l = unix_listener(&a, &len);
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char byte;
		int fd;
		if (geteuid() == 0 && (setgroups(ngroups, groups) < 0 ||
				       setgid(gid) < 0 || setuid(uid) < 0))
			_exit(2);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (void *)&a, len) < 0)
			_exit(3);
		while (read(fd, &byte, 1) > 0)
			;
		_exit(0);
	}
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(s, 0);
	close(l);
	*child = pid;
	return s;
}

static void caller_done(int fd, pid_t child)
{
	int status;

	close(fd);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the caller child failed: %d", status);
}

/* Unix callers by SO_PEERCRED: root by default, an unprivileged user only
 * with --from unix. */
START_TEST(callers_unix_credentials)
{
	static const gid_t none[] = {65534};
	struct callers c;
	char msg[256], who[128];
	pid_t child;
	int fd;

	fd = unix_caller_as(65534, 65534, none, 1, &child);
	callers_init(&c);
	ck_assert_int_eq(callers_admit(&c, fd, who, sizeof(who)), -EACCES);
	ck_assert_msg(strstr(callers_refusal(&c, fd), "--from unix"), "%s",
		      callers_refusal(&c, fd));
	/* --from naming an address changes nothing for it. */
	ck_assert_int_eq(callers_add(&c, "127.0.0.1", msg, sizeof(msg)), 0);
	ck_assert_int_eq(callers_admit(&c, fd, who, sizeof(who)), -EACCES);
	ck_assert_int_eq(callers_add(&c, "unix", msg, sizeof(msg)), 0);
	ck_assert_int_eq(callers_admit(&c, fd, who, sizeof(who)), 0);
	callers_init(&c);
	ck_assert_int_eq(callers_add(&c, "any", msg, sizeof(msg)), 0);
	ck_assert_int_eq(callers_admit(&c, fd, who, sizeof(who)), 0);
	caller_done(fd, child);

	if (geteuid() != 0) {
		/* The caller above kept our own, unprivileged uid. */
		fprintf(stderr, "callers_unix_credentials: not root, the "
				"root caller is not tried\n");
		return;
	}
	fd = unix_caller_as(0, 0, none, 0, &child);
	callers_init(&c);
	ck_assert_int_eq(callers_admit(&c, fd, who, sizeof(who)), 0);
	ck_assert_int_eq(callers_add(&c, "127.0.0.1", msg, sizeof(msg)), 0);
	ck_assert_int_eq(callers_admit(&c, fd, who, sizeof(who)), 0);
	caller_done(fd, child);
}
END_TEST

/* --from-group: the primary group, or a supplementary one. */
START_TEST(callers_unix_group)
{
	static const gid_t extra[] = {4242, 4343};
	struct callers c;
	char who[128];
	pid_t child;
	int fd;

	if (geteuid() != 0) {
		fprintf(stderr, "callers_unix_group: needs root to make a "
				"caller with other groups; not run\n");
		return;
	}
	fd = unix_caller_as(65534, 4141, extra, 2, &child);
	callers_init(&c);
	ck_assert_int_eq(callers_admit(&c, fd, who, sizeof(who)), -EACCES);
	callers_set_group(&c, 4141);
	ck_assert_int_eq(callers_admit(&c, fd, who, sizeof(who)), 0);
	callers_set_group(&c, 4343);
	ck_assert_int_eq(callers_admit(&c, fd, who, sizeof(who)), 0);
	callers_set_group(&c, 4444);
	ck_assert_int_eq(callers_admit(&c, fd, who, sizeof(who)), -EACCES);
	ck_assert_msg(strstr(callers_refusal(&c, fd), "--from-group"), "%s",
		      callers_refusal(&c, fd));
	caller_done(fd, child);
}
END_TEST

/* A listener other machines can reach needs --from. */
START_TEST(callers_listener_needs_from)
{
	struct callers c;
	char msg[512];
	int l, cl, sv;

	callers_init(&c);
	tcp_pair("0.0.0.0", "127.0.0.1", &l, &cl, &sv);
	ck_assert_int_eq(callers_check_listener(&c, l, msg, sizeof(msg)),
			 -EPERM);
	ck_assert_msg(strstr(msg, "tcp:0.0.0.0:") && strstr(msg, "--from"),
		      "%s", msg);
	ck_assert_int_eq(callers_add(&c, "192.0.2.0/24", msg, sizeof(msg)), 0);
	ck_assert_int_eq(callers_check_listener(&c, l, msg, sizeof(msg)), 0);
	/* and then 127.0.0.1 is not in it */
	ck_assert_int_eq(callers_admit(&c, sv, msg, sizeof(msg)), -EACCES);
	close(cl);
	close(sv);
	close(l);
}
END_TEST

/* Every listener but a unix socket needs --from: loopback too, since
 * without it a loopback listener would let nobody in, and with the old
 * implicit loopback it let every local user in. */
START_TEST(callers_listener_start_rule)
{
	struct callers c;
	struct sockaddr_un a;
	socklen_t len;
	char msg[512];
	int l, cl, sv;

	callers_init(&c);
	tcp_pair("127.0.0.1", "127.0.0.1", &l, &cl, &sv);
	ck_assert_int_eq(callers_check_listener(&c, l, msg, sizeof(msg)),
			 -EPERM);
	ck_assert_msg(strstr(msg, "tcp:127.0.0.1:") &&
			      strstr(msg, "--from 127.0.0.1"),
		      "%s", msg);
	ck_assert_int_eq(callers_add(&c, "127.0.0.1", msg, sizeof(msg)), 0);
	ck_assert_int_eq(callers_check_listener(&c, l, msg, sizeof(msg)), 0);
	close(cl);
	close(sv);
	close(l);

	int v = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (v >= 0) {
		struct sockaddr_vm va = vm(1);
		va.svm_port = VMADDR_PORT_ANY;
		if (bind(v, (void *)&va, sizeof(va)) == 0) {
			callers_init(&c);
			ck_assert_int_eq(
				callers_check_listener(&c, v, msg, sizeof(msg)),
				-EPERM);
			ck_assert_msg(strstr(msg, "--from vsock:1"), "%s", msg);
		}
		close(v);
	}

	/* A unix socket starts without --from: root may call there. */
	callers_init(&c);
	l = unix_listener(&a, &len);
	ck_assert_int_eq(callers_check_listener(&c, l, msg, sizeof(msg)), 0);
	close(l);
}
END_TEST

#ifdef HAVE_GNUTLS
/* ---- tls: addresses (tls_client.c) ---- */

static const char pin_a[] =
	"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
static const char pin_b[] =
	"SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0";

static void assert_pins_refused(const char *text, size_t len, int err,
				const char *words)
{
	struct tls_pins pins = {0};
	char msg[256] = "";

	ck_assert_int_eq(attach_pins_parse(text, len, &pins, msg, sizeof(msg)),
			 err);
	ck_assert_msg(strstr(msg, words), "'%s' lacks '%s'", msg, words);
	/* The message names the line; it never quotes the hostile text. */
	ck_assert_ptr_null(strstr(msg, "evil"));
}

START_TEST(tls_pins_file)
{
	struct tls_pins pins = {0};
	char msg[256] = "", text[8192];

	snprintf(text, sizeof(text),
		 "# known peers\n\n  %s  # the laptop\r\n\t%s\n%s\n", pin_a,
		 pin_b, pin_a);
	ck_assert_int_eq(
		attach_pins_parse(text, strlen(text), &pins, msg, sizeof(msg)),
		0);
	ck_assert_uint_eq(pins.count, 2); /* the repeat is not added twice */
	/* The last line needs no newline; an empty file has no pin. */
	ck_assert_int_eq(attach_pins_parse(pin_b, strlen(pin_b), &pins, msg,
					   sizeof(msg)),
			 0);
	ck_assert_int_eq(attach_pins_parse("", 0, &pins, msg, sizeof(msg)), 0);

	assert_pins_refused("SHA256:evil\n", 12, -EINVAL, "line 1: not a pin");
	snprintf(text, sizeof(text), "\n%s evil\n", pin_a);
	assert_pins_refused(text, strlen(text), -EINVAL, "line 2: more than");
	snprintf(text, sizeof(text), "%s\n", pin_a);
	text[3] = '\0';
	assert_pins_refused(text, strlen(pin_a) + 1, -EINVAL, "NUL");
	memset(text, 'e', 300);
	text[300] = '\n';
	assert_pins_refused(text, 301, -EINVAL, "line 1: longer than 256");
	/* 65 distinct pins: the list holds 64. */
	size_t off = 0;
	for (int i = 0; i < 65; i++) {
		uint8_t raw[32] = {(uint8_t)i, 1};
		struct tls_pin p;
		memcpy(p.sha256, raw, sizeof(raw));
		char t[TLS_PIN_TEXT_SIZE];
		tls_pin_format(&p, t);
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%s\n",
					t);
	}
	assert_pins_refused(text, off, -ENOSPC, "line 65: more than 64");

	char path[] = "/tmp/test-attach-pins-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, pin_a, strlen(pin_a)),
			 (ssize_t)strlen(pin_a));
	close(fd);
	memset(&pins, 0, sizeof(pins));
	ck_assert_int_eq(attach_pins_load(path, &pins, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(pins.count, 1);
	unlink(path);
	ck_assert_int_eq(attach_pins_load("/", &pins, msg, sizeof(msg)),
			 -EINVAL);
	ck_assert_int_eq(
		attach_pins_load("/nonexistent", &pins, msg, sizeof(msg)),
		-ENOENT);
}
END_TEST

/* No tls.ko and no way to load it: one line that names the module. */
START_TEST(tls_kernel_module)
{
	char dir[] = "/tmp/test-attach-mod-XXXXXX", msg[320] = "";
	char there[64], cmd[128];
	char *fails[] = {"false", NULL};
	char *missing[] = {"/nonexistent/modprobe", NULL};

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(there, sizeof(there), "%s/tls", dir);
	ck_assert_int_eq(
		tls_module_load(there, "/nonexistent", fails, msg, sizeof(msg)),
		-ENOENT);
	ck_assert_msg(strstr(msg, "tls.ko") && strstr(msg, "'modprobe tls' "
							   "failed"),
		      "%s", msg);
	ck_assert_ptr_null(strchr(msg, '\n'));
	ck_assert_int_eq(tls_module_load(there, "/nonexistent", missing, msg,
					 sizeof(msg)),
			 -ENOENT);
	ck_assert_msg(strstr(msg, "could not run"), "%s", msg);
	/* modprobe that loads it: the module directory appears. */
	snprintf(cmd, sizeof(cmd), "mkdir %s", there);
	char *loads[] = {"sh", "-c", cmd, NULL};
	ck_assert_int_eq(
		tls_module_load(there, "/nonexistent", loads, msg, sizeof(msg)),
		0);
	/* Loaded already: modprobe is not run. */
	ck_assert_int_eq(tls_module_load(there, "/nonexistent", missing, msg,
					 sizeof(msg)),
			 0);
	rmdir(there);
	rmdir(dir);
}
END_TEST

static char keydir[64];

static void write_identity(const char *name, struct tls_pin *pin)
{
	struct tls_key *key;
	char dir[128], msg[256];

	snprintf(dir, sizeof(dir), "%s/%s", keydir, name);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(tls_key_generate(&key), 0);
	ck_assert_int_eq(tls_key_write(key, dir, msg, sizeof(msg)), 0);
	ck_assert_int_eq(tls_key_pin(key, pin), 0);
	tls_key_free(key);
}

static int sign_with(void *ctx, enum tls_role role, const uint8_t *tbs,
		     size_t tbs_len, uint8_t *sig, size_t cap, size_t *sig_len)
{
	return tls_key_sign(ctx, role, tbs, tbs_len, sig, cap, sig_len);
}

enum server_kind { SERVER_TLS, SERVER_PLAIN_USBIP };

/* A server in a child process: the TLS server handshake with the key in
 * keydir/NAME accepting client, or plain USB/IP's first bytes. */
static pid_t serve(int fd, int other1, int other2, enum server_kind kind,
		   const char *name, const struct tls_pin *client)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid > 0)
		return pid;
	/* Our copy of the client's end would hide its close from us. */
	close(other1);
	close(other2);
	if (kind == SERVER_PLAIN_USBIP) {
		/* OP_REP_DEVLIST's header, as a plain server would answer. */
		static const uint8_t rep[] = {1, 0x11, 0, 5, 0, 0, 0, 0};
		char sink[4096];
		if (write(fd, rep, sizeof(rep)) < 0)
			_exit(1);
		while (read(fd, sink, sizeof(sink)) > 0)
			;
		_exit(0);
	}
	char path[160], msg[256];
	struct tls_key *key;
	snprintf(path, sizeof(path), "%s/%s/" TLS_KEY_FILE, keydir, name);
	if (tls_key_load(path, &key, msg, sizeof(msg)) < 0)
		_exit(3);
	struct tls_identity me = {.sign = sign_with, .sign_ctx = key};
	tls_key_spki(key, me.spki, sizeof(me.spki), &me.spki_len);
	struct tls_pins pins = {0};
	pins.pin[pins.count++] = *client;
	struct tls_config cfg = {.role = TLS_ROLE_SERVER,
				 .me = &me,
				 .allowed = &pins,
				 .timeout_ms = 5000};
	struct tls_session *session;
	struct tls_result result;
	int r = tls_handshake(fd, &cfg, &session, &result, msg, sizeof(msg));
	if (r == 0)
		tls_session_free(session);
	_exit(r == 0 ? 0 : 4);
}

static int client_against(enum server_kind kind, const char *server_key,
			  const struct tls_pin *pinned,
			  const struct tls_pin *client, char *msg,
			  size_t msg_len, int *server_status)
{
	int l, cl, sv, status;
	char key_path[160];
	struct attach_tls cfg = {.timeout_ms = 5000};
	struct tls_pin peer, ours;

	snprintf(key_path, sizeof(key_path), "%s/client/" TLS_KEY_FILE, keydir);
	cfg.key_path = key_path;
	cfg.pins.pin[cfg.pins.count++] = *pinned;
	tcp_pair("127.0.0.1", "127.0.0.1", &l, &cl, &sv);
	pid_t pid = serve(sv, cl, l, kind, server_key, client);
	close(sv);
	int r = attach_tls_client(cl, &cfg, &peer, &ours, msg, msg_len);
	close(cl);
	close(l);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	*server_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	return r;
}

/* The child handshakes, and its outcome is checked: the right key gets
 * as far as the kernel's TLS (installed where tls.ko is, named where it
 * is not), a wrong key, an unpinned one, or plain USB/IP never does. */
START_TEST(tls_client_outcomes)
{
	struct tls_pin server_pin, client_pin, other_pin;
	char msg[320];
	int server_status, r;

	strcpy(keydir, "/tmp/test-attach-keys-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(keydir));
	write_identity("server", &server_pin);
	write_identity("client", &client_pin);
	write_identity("other", &other_pin);

	r = client_against(SERVER_TLS, "server", &server_pin, &client_pin, msg,
			   sizeof(msg), &server_status);
	ck_assert_int_eq(server_status, 0);
	if (r == 0) {
		ck_assert_msg(strstr(msg, "TLS1.3") &&
				      strstr(msg, "peer SHA256:"),
			      "%s", msg);
	} else {
		/* This kernel has no kTLS: the handshake passed and the
		 * refusal says what is missing. */
		ck_assert_int_eq(r, -ENOENT);
		ck_assert_msg(strstr(msg, "modprobe tls"), "%s", msg);
	}

	/* The server shows a key we did not pin. */
	r = client_against(SERVER_TLS, "other", &server_pin, &client_pin, msg,
			   sizeof(msg), &server_status);
	ck_assert_int_eq(r, -EACCES);
	ck_assert_msg(strstr(msg, "is not pinned"), "%s", msg);
	ck_assert_ptr_null(strchr(msg, '\n'));
	ck_assert_int_ne(server_status, 0);

	/* The server does not pin us: it refuses after our Finished; the
	 * client either sees the alert or, with its handshake done,
	 * learns it on its first read (attach.c says so). */
	r = client_against(SERVER_TLS, "server", &server_pin, &other_pin, msg,
			   sizeof(msg), &server_status);
	ck_assert_int_ne(server_status, 0);

	/* A plain USB/IP server on a tls: address. */
	r = client_against(SERVER_PLAIN_USBIP, "server", &server_pin,
			   &client_pin, msg, sizeof(msg), &server_status);
	ck_assert_int_eq(r, -EPROTO);
	ck_assert_msg(strstr(msg, "plain USB/IP"), "%s", msg);

	/* A key file that is not there: the child says which. */
	struct attach_tls cfg = {.key_path = "/nonexistent/identity.key",
				 .timeout_ms = 1000};
	struct tls_pin peer, ours;
	int l, cl, sv;
	cfg.pins.pin[cfg.pins.count++] = server_pin;
	tcp_pair("127.0.0.1", "127.0.0.1", &l, &cl, &sv);
	r = attach_tls_client(cl, &cfg, &peer, &ours, msg, sizeof(msg));
	ck_assert_int_lt(r, 0);
	ck_assert_msg(strstr(msg, "/nonexistent/identity.key"), "%s", msg);
	close(cl);
	close(sv);
	close(l);

	/* Only TCP: vhci_hcd reads through the kernel's TLS. */
	int sp[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	r = attach_tls_client(sp[0], &cfg, &peer, &ours, msg, sizeof(msg));
	ck_assert_int_eq(r, -EPROTONOSUPPORT);
	ck_assert_msg(strstr(msg, "TCP only"), "%s", msg);
	close(sp[0]);
	close(sp[1]);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", keydir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The handshake child, after loading the key, is nobody. */
START_TEST(tls_child_privileges)
{
	char msg[256] = "";
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		fprintf(stderr, "tls_child_privileges: needs root, skipped\n");
		return;
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (attach_tls_drop_privileges(msg, sizeof(msg)) < 0)
			_exit(10);
		uid_t ru, eu, su;
		gid_t rg, eg, sg;
		if (getresuid(&ru, &eu, &su) < 0 || ru != 65534 ||
		    eu != 65534 || su != 65534)
			_exit(11);
		if (getresgid(&rg, &eg, &sg) < 0 || rg != 65534 ||
		    eg != 65534 || sg != 65534)
			_exit(12);
		if (getgroups(0, NULL) != 0)
			_exit(13);
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			_exit(14);
		/* No capability left: root's files and privileged ports
		 * are out of reach, and so is setuid back. */
		if (open("/etc/shadow", O_RDONLY | O_CLOEXEC) >= 0 ||
		    errno != EACCES)
			_exit(15);
		if (setuid(0) == 0)
			_exit(16);
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in sin = {.sin_family = AF_INET,
					  .sin_port = htons(1),
					  .sin_addr.s_addr =
						  htonl(INADDR_LOOPBACK)};
		if (s < 0 || bind(s, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			_exit(17);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the dropped child failed check %d",
		      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}
END_TEST

/* Then only the handshake's syscalls: opening a socket kills it. */
START_TEST(tls_child_seccomp)
{
#ifdef HAVE_LIBSECCOMP
	char msg[256] = "";
	int status, p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (attach_tls_drop_privileges(msg, sizeof(msg)) < 0 ||
		    attach_tls_confine(msg, sizeof(msg)) < 0)
			_exit(10);
		/* What the report takes still works... */
		if (write(p[1], "ok", 2) != 2)
			_exit(11);
		/* ...and this does not return. */
		socket(AF_INET, SOCK_STREAM, 0);
		_exit(12);
	}
	close(p[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	char buf[2];
	ck_assert_int_eq(read(p[0], buf, 2), 2);
	close(p[0]);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		      "status %#x: socket() was not killed", status);
#else
	fprintf(stderr, "tls_child_seccomp: built without libseccomp\n");
#endif
}
END_TEST

/* A socket the child claims to have secured is asked: plain is plain. */
START_TEST(tls_verify_plain_socket)
{
	int l, cl, sv;
	char msg[256] = "";

	tcp_pair("127.0.0.1", "127.0.0.1", &l, &cl, &sv);
	ck_assert_int_eq(attach_tls_verify_ktls(cl, msg, sizeof(msg)), -EPROTO);
	ck_assert_msg(strstr(msg, "does not carry kernel TLS"), "%s", msg);
	close(cl);
	close(sv);
	close(l);
}
END_TEST
#endif

/* Issue 16 item 1: the Qubes line, read to its newline and no further,
 * judged strictly. */
static int qubes_line(const char *text, struct usbip_device_info *d, char *next)
{
	char msg[256] = "";
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	ck_assert_int_eq(write(sv[1], text, strlen(text)),
			 (ssize_t)strlen(text));
	shutdown(sv[1], SHUT_WR);
	int r = handshake_qubes(sv[0], "2-1", 300, d, msg, sizeof(msg));
	if (r < 0)
		ck_assert_msg(msg[0], "a refusal without a reason");
	if (next && read(sv[0], next, 1) != 1)
		*next = 0;
	close(sv[0]);
	close(sv[1]);
	return r;
}

START_TEST(qubes_good)
{
	struct usbip_device_info d;
	char next = 0;

	ck_assert_int_eq(qubes_line("131077 480\nU", &d, &next), 0);
	ck_assert_uint_eq(d.busnum, 2);
	ck_assert_uint_eq(d.devnum, 5);
	ck_assert_uint_eq(d.speed, USBIP_SPEED_HIGH);
	ck_assert_str_eq(d.busid, "2-1");
	ck_assert_int_eq(next, 'U'); /* vhci_hcd's byte was left alone */
	ck_assert_int_eq(qubes_line("65537 1.5\n", &d, NULL), 0);
	ck_assert_uint_eq(d.speed, USBIP_SPEED_LOW);
	ck_assert_int_eq(qubes_line("65537 12\n", &d, NULL), 0);
	ck_assert_uint_eq(d.speed, USBIP_SPEED_FULL);
	ck_assert_int_eq(qubes_line("65537 10000\n", &d, NULL), 0);
	ck_assert_uint_eq(d.speed, USBIP_SPEED_SUPER);
}
END_TEST

START_TEST(qubes_refused)
{
	static const char *const bad[] = {
		"65537 481\n",	     "65537  480\n",
		"-65537 480\n",	     "+65537 480\n",
		"0x10001 480\n",     "4294967296 480\n",
		"99999999999 480\n", "65537 480 x\n",
		"65537\n",	     "65537 480",
		"1 480\n",	     "65536 480\n",
		" 65537 480\n",	     "65537 480\r\n",
		"65537 12.0\n",	     "65537 480480480480480480480\n",
	};
	struct usbip_device_info d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(qubes_line(bad[i], &d, NULL) < 0, "accepted '%s'",
			      bad[i]);
	ck_assert_int_eq(qubes_line("", &d, NULL), -ECONNRESET);

	/* A NUL inside the line: not a shorter line. */
	static const char nul[] = "65537 480\0 x\n";
	char msg[256] = "";
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	ck_assert_int_eq(write(sv[1], nul, sizeof(nul) - 1),
			 (ssize_t)sizeof(nul) - 1);
	ck_assert_int_eq(
		handshake_qubes(sv[0], "2-1", 300, &d, msg, sizeof(msg)),
		-EBADMSG);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("attach");
	TCase *vhci = tcase_create("vhci");
	TCase *hs = tcase_create("handshake");

	tcase_add_test(vhci, status_parses);
	tcase_add_test(vhci, status_malformed);
	tcase_add_test(vhci, port_choice);
	tcase_add_test(vhci, busids);
	suite_add_tcase(s, vhci);
	tcase_add_test(hs, import_good_and_exact);
	tcase_add_test(hs, import_malformed);
	tcase_add_test(hs, export_requests);
	tcase_add_test(hs, export_reply_bytes);
	tcase_add_test(hs, devlist_checked);
	tcase_add_test(hs, qubes_good);
	tcase_add_test(hs, qubes_refused);
	suite_add_tcase(s, hs);
	TCase *callers = tcase_create("callers");
	tcase_add_test(callers, callers_default_no_address);
	tcase_add_test(callers, callers_named);
	tcase_add_test(callers, callers_bad_from);
	tcase_add_test(callers, callers_local_listeners);
	tcase_add_test(callers, callers_admit_sockets);
	tcase_add_test(callers, callers_listener_needs_from);
	tcase_add_test(callers, callers_loopback_needs_from);
	tcase_add_test(callers, callers_unix_credentials);
	tcase_add_test(callers, callers_unix_group);
	tcase_add_test(callers, callers_listener_start_rule);
	suite_add_tcase(s, callers);
#ifdef HAVE_GNUTLS
	TCase *tls = tcase_create("tls");
	tcase_set_timeout(tls, 60);
	tcase_add_test(tls, tls_pins_file);
	tcase_add_test(tls, tls_kernel_module);
	tcase_add_test(tls, tls_client_outcomes);
	tcase_add_test(tls, tls_verify_plain_socket);
	tcase_add_test(tls, tls_child_privileges);
	tcase_add_test(tls, tls_child_seccomp);
	suite_add_tcase(s, tls);
#endif
	return run_suite(s);
}
