// SPDX-License-Identifier: GPL-2.0-or-later
/* The device policy: matching, first match wins, default deny, peers and
 * destinations, and every kind of bad line refused with file:line. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

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

#define BULK_ONLY_SCSI           \
	{                        \
		0x08, 0x06, 0x50 \
	}
#define BOOT_KEYBOARD            \
	{                        \
		0x03, 0x01, 0x01 \
	}
static const struct policy_device storage = {
	.vid = 0x1d6b,
	.pid = 0x0104,
	.serial = "0001",
	.device_class = 0,
	.interfaces = (const struct policy_interface[]){BULK_ONLY_SCSI},
	.num_interfaces = 1,
	.busid = "1-1.2",
};
static const struct policy_device keyboard = {
	.vid = 0x1209,
	.pid = 0x0001,
	.serial = NULL,
	.device_class = 0,
	.interfaces = (const struct policy_interface[]){BOOT_KEYBOARD},
	.num_interfaces = 1,
	.busid = "2-1",
};
/* A stick that is a disk and, behind it, a keyboard that types. */
static const struct policy_device disk_and_keyboard = {
	.vid = 0x1d6b,
	.pid = 0x0104,
	.serial = "0001",
	.device_class = 0,
	.interfaces = (const struct policy_interface[]){BULK_ONLY_SCSI,
							BOOT_KEYBOARD},
	.num_interfaces = 2,
	.busid = "1-1.2",
};
/* The same stick as the kernel first shows it: not configured yet. */
static const struct policy_device unconfigured = {
	.vid = 0x1d6b,
	.pid = 0x0104,
	.serial = "0001",
	.device_class = 0,
	.num_interfaces = 0,
	.busid = "1-1.2",
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

/* Issue 16 item 2: a handed connection is "from fd", and nothing else
 * names it (unix does not, and fd lets no socket peer in). */
START_TEST(handed_peers)
{
	struct policy_peer handed = {.kind = POLICY_NET_FD, .cid = 0};
	struct policy_peer local = {.kind = POLICY_NET_UNIX};

	load("allow from fd\n");
	const struct policy_rule *r = policy_match(&p, &storage);
	ck_assert(policy_peer_allowed(r, &handed));
	ck_assert(!policy_peer_allowed(r, &local));
	struct policy_peer in = ip4("127.0.0.1");
	ck_assert(!policy_peer_allowed(r, &in));
	load("allow from unix from 127.0.0.1\n");
	ck_assert(!policy_peer_allowed(policy_match(&p, &storage), &handed));
	load("allow from any\n");
	ck_assert(policy_peer_allowed(policy_match(&p, &storage), &handed));
	/* Per-peer limits count per handing uid. */
	struct policy_peer other = handed;
	other.cid = 1000;
	ck_assert(!policy_peer_same_origin(&handed, &other));
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

/* usbguard's operators on the interfaces the device has now. */
/* Issue 15: "from key:PIN", alone or with an address, and tls: in "to". */
START_TEST(keys)
{
	static const char a[] =
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
	static const char k[] =
		"SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0";
	char text[512], msg[256];
	struct tls_pin pa, pk;
	struct tls_pins pins;
	struct policy_net net;

	ck_assert_int_eq(tls_pin_parse(a, &pa), 0);
	ck_assert_int_eq(tls_pin_parse(k, &pk), 0);
	snprintf(text, sizeof(text),
		 "allow from key:%s from key:%s@10.1.0.0/16 "
		 "to tls:tcp:192.0.2.1:3240\n",
		 a, k);
	load(text);
	const struct policy_rule *r = policy_match(&p, &storage);
	struct policy_peer peer = ip4("192.0.2.9");
	ck_assert(!policy_peer_allowed(r, &peer)); /* no key shown */
	peer.has_key = true;
	peer.key = pa;
	ck_assert(policy_peer_allowed(r, &peer)); /* a: from anywhere */
	peer.key = pk;
	ck_assert(!policy_peer_allowed(r, &peer)); /* k: not from there */
	peer = ip4("10.1.2.3");
	ck_assert(!policy_peer_allowed(r, &peer)); /* the address alone */
	peer.has_key = true;
	peer.key = pk;
	ck_assert(policy_peer_allowed(r, &peer));
	ck_assert(policy_key_allowed(r, &pa));
	ck_assert(policy_key_allowed(r, &pk));
	ck_assert(!policy_key_allowed(NULL, &pk));
	ck_assert_int_eq(policy_keys(&p, &pins), 0);
	ck_assert_uint_eq(pins.count, 2);
	ck_assert(policy_destination_allowed(r, "tls:tcp:192.0.2.1:3240"));
	ck_assert(!policy_destination_allowed(r, "tcp:192.0.2.1:3240"));
	/* A rule naming an address only lets a TLS peer in by address. */
	load("allow from 10.1.0.0/16\n");
	ck_assert(policy_peer_allowed(policy_match(&p, &storage), &peer));
	ck_assert(!policy_key_allowed(policy_match(&p, &storage), &pk));

	static const char *const bad[] = {
		"allow from key:SHA256:nope\n",
		"allow from key:\n",
		"allow from "
		"key:SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV\n",
		"allow from "
		"key:SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU@\n",
		"allow from "
		"key:SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU@"
		"key:SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n",
		"allow from "
		"key:SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU@"
		"10.0.0.1/8\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct policy q = {0};
		ck_assert_msg(policy_parse(bad[i], strlen(bad[i]), "t", &q, msg,
					   sizeof(msg)) < 0,
			      "accepted %s", bad[i]);
		policy_clear(&q);
	}
	/* A listener's --from cannot take a key: no handshake yet. */
	ck_assert_int_lt(policy_parse_net(a, &net, msg, sizeof(msg)), 0);
	snprintf(text, sizeof(text), "key:%s", a);
	ck_assert_int_lt(policy_parse_net(text, &net, msg, sizeof(msg)), 0);
}
END_TEST

START_TEST(interface_sets)
{
	static const struct {
		const char *set;
		bool storage, keyboard, both;
	} cases[] = {
		{"08:*:*", true, false, true},
		{"08:06:50", true, false, true},
		{"08:06", true, false, true},
		{"08:05:*", false, false, false},
		{"one-of { 08 03 }", true, true, true},
		{"all-of { 08 }", true, false, true},
		{"all-of { 08 03:01:01 }", false, false, true},
		{"none-of { 03 }", true, false, false},
		{"match-all { 08:*:* }", true, false, false},
		{"match-all { 08 03:01:* }", true, true, true},
		{"match-all { 08 03:00:* }", true, false, false},
		{"equals { 08:*:* }", true, false, false},
		{"{ 08:*:* }", true, false, false}, /* equals, as in usbguard */
		{"equals { 08 03 }", false, false, true},
		{"equals { 08 03 08:06:50 }", false, false, true},
	};
	char text[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		snprintf(text, sizeof(text), "allow with-interface %s\n",
			 cases[i].set);
		load(text);
		ck_assert_msg(policy_allows(policy_match(&p, &storage)) ==
				      cases[i].storage,
			      "%s on storage", cases[i].set);
		ck_assert_msg(policy_allows(policy_match(&p, &keyboard)) ==
				      cases[i].keyboard,
			      "%s on keyboard", cases[i].set);
		ck_assert_msg(policy_allows(policy_match(
				      &p, &disk_and_keyboard)) == cases[i].both,
			      "%s on storage+keyboard", cases[i].set);
	}
	/* Two conditions in one rule: both must hold. */
	load("allow with-interface one-of { 08 } with-interface none-of { 03 "
	     "}\n");
	ck_assert(policy_allows(policy_match(&p, &storage)));
	ck_assert(!policy_allows(policy_match(&p, &disk_and_keyboard)));
}
END_TEST

/*
 * The documented "mass storage to the VM" rule: `class 08` matches a
 * device with any one storage interface, so it let a disk with a
 * keyboard behind it out; the example now says every interface is
 * storage. This is policy/README.md's example, word for word.
 */
START_TEST(storage_example_refuses_composite)
{
	load("# A YubiKey for the admin network only.\n"
	     "allow id 1050:0407 serial \"12345678\" from 10.1.0.0/16\n"
	     "# Mass storage (and nothing else) on the front ports, to the VM "
	     "with CID 3, at once.\n"
	     "allow with-interface match-all { 08:*:* } busid \"1-1.*\" to "
	     "vsock:3:3240 auto\n"
	     "# Never hubs, never anything else.\n"
	     "deny class 09\n"
	     "deny\n");
	const struct policy_rule *r = policy_match(&p, &storage);
	ck_assert(policy_allows(r) && r->autoexport);
	ck_assert_uint_eq(r->line, 4);
	r = policy_match(&p, &disk_and_keyboard);
	ck_assert(!policy_allows(r));
	ck_assert_uint_eq(r->line, 7);
	/* The old form still means what it meant: any one interface. */
	load("allow class 08\n");
	ck_assert(policy_allows(policy_match(&p, &disk_and_keyboard)));
}
END_TEST

/*
 * Before its configuration a device has no interfaces: an interface
 * condition can neither allow it (it would be a guess) nor fail to deny
 * it (a deny on keyboards would be slipped past by a keyboard that
 * configures itself late). Once configured it is judged on what it is.
 */
START_TEST(unconfigured_device)
{
	static const char *const allows[] = {
		"allow class 08\n",
		"allow with-interface 08\n",
		"allow with-interface none-of { 03 }\n",
		"allow with-interface match-all { 08 }\n",
		"allow with-interface equals { 08 }\n",
		"allow id 1d6b:0104 with-interface none-of { 03 }\n",
	};
	for (size_t i = 0; i < sizeof(allows) / sizeof(*allows); i++) {
		load(allows[i]);
		ck_assert_msg(!policy_match(&p, &unconfigured), "%s",
			      allows[i]);
		ck_assert_msg(policy_allows(policy_match(&p, &storage)), "%s",
			      allows[i]);
	}
	load("deny class 03\n"
	     "deny with-interface all-of { 08 03 }\n"
	     "allow id 1d6b:0104 from any\n");
	const struct policy_rule *r = policy_match(&p, &unconfigured);
	ck_assert(r && !r->allow);
	ck_assert_uint_eq(r->line, 1);
	ck_assert_uint_eq(policy_match(&p, &storage)->line, 3);
	ck_assert_uint_eq(policy_match(&p, &disk_and_keyboard)->line, 1);
	/* A deny that does not match on what is known stays out of it. */
	load("deny id 1209:* class 03\nallow id 1d6b:0104\n");
	ck_assert(policy_allows(policy_match(&p, &unconfigured)));
	/* A class the device itself carries needs no interfaces. */
	load("allow class 00\n");
	ck_assert(policy_allows(policy_match(&p, &unconfigured)));
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
		{"allow with-interface\n", "with-interface without a value"},
		{"allow with-interface all-of\n", "all-of without a value"},
		{"allow with-interface all-of 08\n", "braces standing alone"},
		{"allow with-interface {08}\n", "braces standing alone"},
		{"allow with-interface { 08\n", "'{' without '}'"},
		{"allow with-interface { }\n", "an empty { }"},
		{"allow with-interface 8\n", "interface '8'"},
		{"allow with-interface *:*:*\n", "interface '*:*:*'"},
		{"allow with-interface 08:\n", "interface '08:'"},
		{"allow with-interface 08:06:50:01\n", "interface"},
		{"allow with-interface 0g\n", "interface '0g'"},
		{"allow with-interface 08:*:50\n", "protocol needs a subclass"},
		{"allow with-interface some-of { 08 }\n",
		 "interface 'some-of'"},
		{"allow with-interface 08 with-interface 08 with-interface 08 "
		 "with-interface 08 with-interface 08\n",
		 "more than 4 with-interface"},
		{"allow with-interface { 01 02 03 04 05 06 07 08 09 0a 0b 0c "
		 "0d 0e 0f 10 11 }\n",
		 "more than 16 interface types"},
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

/* A FIFO at the policy path is refused at once: open(2) without
 * O_NONBLOCK would wait for a writer, and on a reload that is the
 * broker's whole loop (Check's timeout fails the test on a hang). */
START_TEST(load_refuses_fifo)
{
	char dir[] = "/tmp/policy-fifo.XXXXXX", path[64], msg[256];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/policy.conf", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(policy_load(path, &p, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, "not a regular file"), "%s", msg);
	unlink(path);
	rmdir(dir);
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
	tcase_add_test(tc, handed_peers);
	tcase_add_test(tc, destinations);
	tcase_add_test(tc, keys);
	tcase_add_test(tc, interface_sets);
	tcase_add_test(tc, storage_example_refuses_composite);
	tcase_add_test(tc, unconfigured_device);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, load_refuses_fifo);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
