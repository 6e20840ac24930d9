// SPDX-License-Identifier: GPL-2.0-or-later
/* The device policy: matching, first match wins, default deny, peers and
 * destinations, and every kind of bad line refused with file:line. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "check-main.h"
#include "policy.h"

static struct policy p;

static void load(const char *text)
{
	char msg[256];
	int r = policy_parse(text, strlen(text), "test.conf", &p, msg,
			     sizeof(msg));
	ck_assert_msg(r == 0, "refused: %s", msg);
}

static void teardown(void)
{
	policy_clear(&p);
}

static const uint8_t storage_classes[] = {0x08};
static const struct policy_device storage = {
	.vid = 0x1d6b,
	.pid = 0x0104,
	.serial = "0001",
	.device_class = 0,
	.interface_classes = storage_classes,
	.num_interfaces = 1,
	.busid = "1-1.2",
};
static const struct policy_device keyboard = {
	.vid = 0x1209,
	.pid = 0x0001,
	.serial = NULL,
	.device_class = 0,
	.interface_classes = (const uint8_t[]){0x03},
	.num_interfaces = 1,
	.busid = "2-1",
};

static struct policy_peer ip4(const char *text)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct policy_peer peer;
	inet_pton(AF_INET, text, &sa.sin_addr);
	ck_assert_int_eq(policy_peer_from_sockaddr((struct sockaddr *)&sa,
						   sizeof(sa), &peer),
			 0);
	return peer;
}

static struct policy_peer ip6(const char *text)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
	struct policy_peer peer;
	inet_pton(AF_INET6, text, &sa.sin6_addr);
	ck_assert_int_eq(policy_peer_from_sockaddr((struct sockaddr *)&sa,
						   sizeof(sa), &peer),
			 0);
	return peer;
}

static struct policy_peer vsock(unsigned cid)
{
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = cid};
	struct policy_peer peer;
	ck_assert_int_eq(policy_peer_from_sockaddr((struct sockaddr *)&sa,
						   sizeof(sa), &peer),
			 0);
	return peer;
}

START_TEST(default_deny)
{
	load("# nothing\n\n");
	ck_assert_ptr_null(policy_match(&p, &storage));
	ck_assert(!policy_allows(policy_match(&p, &storage)));
}
END_TEST

START_TEST(first_match_wins)
{
	load("deny id 1d6b:0104 busid 1-1.2\n"
	     "allow class 08 from any\n"
	     "allow id 1209:* from 10.0.0.0/8 auto\n"
	     "deny\n");
	const struct policy_rule *r = policy_match(&p, &storage);
	ck_assert_ptr_nonnull(r);
	ck_assert(!r->allow);
	ck_assert_uint_eq(r->line, 1);
	r = policy_match(&p, &keyboard);
	ck_assert(policy_allows(r));
	ck_assert(r->autoexport);
	ck_assert_uint_eq(r->line, 3);
}
END_TEST

START_TEST(matching)
{
	load("allow serial \"0001\" class 08 busid \"1-1.*\"\n"
	     "allow id *:0001\n"
	     "deny\n");
	ck_assert_uint_eq(policy_match(&p, &storage)->line, 1);
	ck_assert_uint_eq(policy_match(&p, &keyboard)->line, 2);
	struct policy_device other = storage;
	other.serial = "0002";
	ck_assert_uint_eq(policy_match(&p, &other)->line, 3);
	other = storage;
	other.busid = "1-2";
	ck_assert_uint_eq(policy_match(&p, &other)->line, 3);
	other = storage;
	other.serial = NULL;
	ck_assert_uint_eq(policy_match(&p, &other)->line, 3);
}
END_TEST

START_TEST(peers)
{
	load("allow from 10.1.0.0/16 from 2001:db8::/32 from vsock:3 "
	     "from unix\n");
	const struct policy_rule *r = policy_match(&p, &storage);
	struct policy_peer in = ip4("10.1.200.3"), out = ip4("10.2.0.1");
	ck_assert(policy_peer_allowed(r, &in));
	ck_assert(!policy_peer_allowed(r, &out));
	in = ip6("::ffff:10.1.0.9"); /* dual stack: matched as IPv4 */
	ck_assert(policy_peer_allowed(r, &in));
	in = ip6("2001:db8:1::1");
	out = ip6("2001:db9::1");
	ck_assert(policy_peer_allowed(r, &in));
	ck_assert(!policy_peer_allowed(r, &out));
	in = vsock(3);
	out = vsock(4);
	ck_assert(policy_peer_allowed(r, &in));
	ck_assert(!policy_peer_allowed(r, &out));
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	ck_assert_int_eq(policy_peer_from_sockaddr((struct sockaddr *)&un,
						   sizeof(un), &in),
			 0);
	ck_assert(policy_peer_allowed(r, &in));
	/* A deny rule or no rule lets nobody in. */
	ck_assert(!policy_peer_allowed(NULL, &in));
	load("allow from 0.0.0.0/0\n");
	in = ip4("192.0.2.1");
	ck_assert(policy_peer_allowed(policy_match(&p, &storage), &in));
	in = ip6("2001:db8::1");
	ck_assert(!policy_peer_allowed(policy_match(&p, &storage), &in));
	load("allow\n"); /* no from: no importer */
	in = ip4("127.0.0.1");
	ck_assert(!policy_peer_allowed(policy_match(&p, &storage), &in));
}
END_TEST

START_TEST(destinations)
{
	load("allow class 08 to vsock:3:3240 to tcp:[::1]:4000\n");
	const struct policy_rule *r = policy_match(&p, &storage);
	ck_assert(policy_destination_allowed(r, "vsock:3:3240"));
	ck_assert(policy_destination_allowed(r, "tcp:[::1]:4000"));
	ck_assert(!policy_destination_allowed(r, "vsock:3:3241"));
	ck_assert(!policy_destination_allowed(NULL, "vsock:3:3240"));
}
END_TEST

START_TEST(refusals)
{
	static const struct {
		const char *text, *message;
	} bad[] = {
		{"allow\npermit id 1:2\n", "test.conf:2: 'permit'"},
		{"allow id 1d6b\n", "test.conf:1: id '1d6b'"},
		{"allow id 1d6b:01045\n", "test.conf:1: id"},
		{"allow id xyzw:0001\n", "test.conf:1: id"},
		{"allow class 8\n", "test.conf:1: class '8'"},
		{"allow class zz\n", "test.conf:1: class"},
		{"allow from 10.0.0.1/8\n", "host bits set"},
		{"allow from 10.0.0.0/33\n", "prefix length"},
		{"allow from example.org\n", "not an address"},
		{"allow from vsock:x\n", "vsock:CID"},
		{"deny from any\n", "from in a deny rule"},
		{"deny auto\n", "auto in a deny rule"},
		{"allow to fd:3\n", "fd:N is no destination"},
		{"allow to nowhere\n", "test.conf:1: to:"},
		{"allow serial\n", "without a value"},
		{"allow serial \"open\n", "unterminated quote"},
		{"allow serial \"a\"b\n", "right after a quote"},
		{"allow busid 1-1 colour red\n", "unknown word 'colour'"},
		{"allow\x01\n", "control byte 0x01"},
	};
	char msg[256];

	load("allow from any\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		msg[0] = 0;
		int r = policy_parse(bad[i].text, strlen(bad[i].text),
				     "test.conf", &p, msg, sizeof(msg));
		ck_assert_msg(r == -EINVAL, "accepted: %s", bad[i].text);
		ck_assert_msg(strstr(msg, bad[i].message), "'%s' said '%s'",
			      bad[i].text, msg);
		/* The policy in force is untouched. */
		ck_assert_uint_eq(p.num_rules, 1);
	}
}
END_TEST

START_TEST(limits)
{
	static char text[POLICY_MAX_BYTES + 2];
	char msg[256];
	size_t n = 0;

	for (int i = 0; i <= POLICY_MAX_RULES; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "deny\n");
	ck_assert_int_eq(policy_parse(text, n, "t", &p, msg, sizeof(msg)),
			 -EINVAL);
	ck_assert(strstr(msg, "more than 256 rules"));
	memset(text, 'a', POLICY_MAX_LINE + 1);
	ck_assert_int_eq(policy_parse(text, POLICY_MAX_LINE + 1, "t", &p, msg,
				      sizeof(msg)),
			 -EINVAL);
	ck_assert(strstr(msg, "longer than"));
	memset(text, '\n', sizeof(text));
	ck_assert_int_eq(
		policy_parse(text, sizeof(text) - 1, "t", &p, msg, sizeof(msg)),
		-E2BIG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, default_deny);
	tcase_add_test(tc, first_match_wins);
	tcase_add_test(tc, matching);
	tcase_add_test(tc, peers);
	tcase_add_test(tc, destinations);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, limits);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
