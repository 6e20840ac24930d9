// SPDX-License-Identifier: GPL-2.0-or-later
/* The broker's checks on what a worker asks for: one device per session,
 * the export flow's device only, the policy's importers only, never a
 * device another session holds. */
#include <errno.h>
#include <string.h>

#include "check-main.h"
#include "grant.h"

static struct policy p;

static const struct policy_rule *rule(const char *text)
{
	static const struct policy_device dev = {
		.vid = 1, .pid = 2, .busid = "1-1"};
	char msg[256];
	ck_assert_int_eq(
		policy_parse(text, strlen(text), "t", &p, msg, sizeof(msg)), 0);
	return policy_match(&p, &dev);
}

static void teardown(void)
{
	policy_clear(&p);
}

static const struct policy_peer local = {
	.kind = POLICY_NET_IP, .family = AF_INET, .addr = {127, 0, 0, 1}};
static const struct policy_peer stranger = {
	.kind = POLICY_NET_IP, .family = AF_INET, .addr = {192, 0, 2, 1}};

START_TEST(import_flow)
{
	struct grant_device d = {.busid = "1-1",
				 .rule = rule("allow from 127.0.0.1\n")};
	struct grant_session s = {.who = &local};

	ck_assert(grant_visible(&s, &d));
	ck_assert_int_eq(grant_open(&s, "1-1", &d), 0);
	/* Not exported: the same answer as not allowed. */
	ck_assert_int_eq(grant_open(&s, "1-2", NULL), -ENODEV);
	/* A peer the rule does not name sees nothing and gets nothing. */
	s.who = &stranger;
	ck_assert(!grant_visible(&s, &d));
	ck_assert_int_eq(grant_open(&s, "1-1", &d), -ENODEV);
	/* Busy, and a second device for one session. */
	s.who = &local;
	d.in_session = true;
	ck_assert_int_eq(grant_open(&s, "1-1", &d), -EBUSY);
	d.in_session = false;
	s.holds_device = true;
	ck_assert_int_eq(grant_open(&s, "1-1", &d), -EPERM);
	/* A device passed for another busid than asked is no match. */
	s.holds_device = false;
	ck_assert_int_eq(grant_open(&s, "1-2", &d), -ENODEV);
}
END_TEST

/* Issue 16 item 1: a Qubes session is for its one device, even where the
 * policy would let its importer have another. */
START_TEST(qubes_bound)
{
	static const struct policy_peer handed = {.kind = POLICY_NET_FD};
	struct grant_device d = {.busid = "1-1",
				 .rule = rule("allow from fd\n")};
	struct grant_device other = d;
	struct grant_session s = {.who = &handed, .bound_busid = "1-2"};

	other.busid = "1-2";
	ck_assert_int_eq(grant_open(&s, "1-1", &d), -EPERM);
	ck_assert_int_eq(grant_open(&s, "1-2", &other), 0);
	s.bound_busid = "";
	ck_assert_int_eq(grant_open(&s, "1-1", &d), 0);
}
END_TEST

START_TEST(denied_device)
{
	struct grant_device d = {.busid = "1-1", .rule = rule("deny\n")};
	struct grant_session s = {.who = &local};

	ck_assert(!grant_visible(&s, &d));
	ck_assert_int_eq(grant_open(&s, "1-1", &d), -ENODEV);
	d.rule = NULL; /* no rule matched */
	ck_assert_int_eq(grant_open(&s, "1-1", &d), -ENODEV);
}
END_TEST

START_TEST(export_flow)
{
	const struct policy_rule *allowed =
		rule("allow id 0001:0002 to tcp:127.0.0.1:4010\n");
	struct grant_device one = {.busid = "1-1", .rule = allowed},
			    two = {.busid = "1-2", .rule = allowed};
	struct grant_session s = {.outgoing = true,
				  .bound_busid = "1-1",
				  .destination = "tcp:127.0.0.1:4010"};

	/* The worker may have its own device and no other. */
	ck_assert(grant_visible(&s, &one));
	ck_assert(!grant_visible(&s, &two));
	ck_assert_int_eq(grant_open(&s, "1-1", &one), 0);
	ck_assert_int_eq(grant_open(&s, "1-2", &two), -EPERM);
}
END_TEST

/*
 * The export flow's device was checked when it was exported, but the
 * policy and the device can change between then and the worker's
 * request (a reload, a redial, a device that configured itself late):
 * each grant is judged on the verdict now.
 */
START_TEST(export_flow_judged_again)
{
	struct grant_session s = {.outgoing = true,
				  .bound_busid = "1-1",
				  .destination = "tcp:127.0.0.1:4010"};
	struct grant_device d = {.busid = "1-1"};

	/* Denied now (reloaded, or configured into what a rule denies). */
	d.rule = rule("deny\n");
	ck_assert(!grant_visible(&s, &d));
	ck_assert_int_eq(grant_open(&s, "1-1", &d), -ENODEV);
	d.rule = NULL;
	ck_assert_int_eq(grant_open(&s, "1-1", &d), -ENODEV);
	/* Allowed, but the rule no longer names where the session went. */
	d.rule = rule("allow id 0001:0002 to tcp:127.0.0.1:4011 from any\n");
	ck_assert(!grant_visible(&s, &d));
	ck_assert_int_eq(grant_open(&s, "1-1", &d), -ENODEV);
	/* A session that says nothing of where it went gets nothing. */
	d.rule = rule("allow to tcp:127.0.0.1:4010\n");
	s.destination = NULL;
	ck_assert_int_eq(grant_open(&s, "1-1", &d), -ENODEV);
	s.destination = "tcp:127.0.0.1:4010";
	ck_assert_int_eq(grant_open(&s, "1-1", &d), 0);
}
END_TEST

/* An importer's grant on a device judged before its configuration and
 * again after: a keyboard that configures itself late is refused. */
START_TEST(import_flow_judged_on_configuration)
{
	static const char text[] = "deny class 03\n"
				   "allow id 0001:0002 from 127.0.0.1\n";
	static const struct policy_interface keyboard[] = {{3, 1, 1}};
	static const struct policy_device before = {
		.vid = 1, .pid = 2, .busid = "1-1"};
	static const struct policy_device after = {.vid = 1,
						   .pid = 2,
						   .busid = "1-1",
						   .interfaces = keyboard,
						   .num_interfaces = 1};
	char msg[256];
	struct grant_session s = {.who = &local};
	struct grant_device d = {.busid = "1-1"};

	ck_assert_int_eq(
		policy_parse(text, strlen(text), "t", &p, msg, sizeof(msg)), 0);
	d.rule = policy_match(&p, &before);
	ck_assert_int_eq(grant_open(&s, "1-1", &d), -ENODEV);
	d.rule = policy_match(&p, &after);
	ck_assert_int_eq(grant_open(&s, "1-1", &d), -ENODEV);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("grant");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, import_flow);
	tcase_add_test(tc, qubes_bound);
	tcase_add_test(tc, denied_device);
	tcase_add_test(tc, export_flow);
	tcase_add_test(tc, export_flow_judged_again);
	tcase_add_test(tc, import_flow_judged_on_configuration);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
