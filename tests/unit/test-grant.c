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
	struct grant_device one = {.busid = "1-1", .rule = NULL},
			    two = {.busid = "1-2", .rule = NULL};
	struct grant_session s = {.outgoing = true, .bound_busid = "1-1"};

	/* The export flow's device was checked when it was exported; the
	 * worker may have that one and no other. */
	ck_assert(grant_visible(&s, &one));
	ck_assert(!grant_visible(&s, &two));
	ck_assert_int_eq(grant_open(&s, "1-1", &one), 0);
	ck_assert_int_eq(grant_open(&s, "1-2", &two), -EPERM);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("grant");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, import_flow);
	tcase_add_test(tc, denied_device);
	tcase_add_test(tc, export_flow);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
