// SPDX-License-Identifier: GPL-2.0-or-later
/* The broker's control requests and the busid rule that guards the sysfs
 * paths built from them. */
#include <string.h>

#include "check-main.h"
#include "control.h"

static int parse(const char *text, struct control_request *req)
{
	char msg[256] = "";
	int r = control_parse(text, strlen(text), req, msg, sizeof(msg));
	if (r < 0)
		ck_assert_msg(msg[0], "a refusal without a reason");
	return r;
}

START_TEST(busids)
{
	static const char *const good[] = {"1-1", "3-1.4", "10-2.3.4.1",
					   "1-12"};
	static const char *const bad[] = {"",
					  "1",
					  "-1",
					  "1-",
					  "1--2",
					  "1-2.",
					  "1.2-3",
					  "usb1",
					  "1-1:1.0",
					  "../1-1",
					  "1-1/..",
					  "1-2-3",
					  "a-1",
					  "1-1.a",
					  "1 -1",
					  "1-2..3",
					  "1-00000000000000000000000000000001"};

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		ck_assert_msg(usb_busid_valid(good[i]), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(!usb_busid_valid(bad[i]), "%s", bad[i]);
}
END_TEST

START_TEST(requests)
{
	struct control_request req;

	ck_assert_int_eq(parse("list", &req), 0);
	ck_assert_int_eq(req.verb, CONTROL_LIST);
	ck_assert_int_eq(parse("status\n", &req), 0);
	ck_assert_int_eq(req.verb, CONTROL_STATUS);
	ck_assert_int_eq(parse("export 1-2", &req), 0);
	ck_assert_int_eq(req.verb, CONTROL_EXPORT);
	ck_assert_str_eq(req.busid, "1-2");
	ck_assert_str_eq(req.address, "");
	ck_assert_int_eq(parse("export 1-2.3 vsock:3:5000", &req), 0);
	ck_assert_str_eq(req.busid, "1-2.3");
	ck_assert_str_eq(req.address, "vsock:3:5000");
	ck_assert_int_eq(parse("export /dev/bus/usb/001/004", &req), 0);
	ck_assert_str_eq(req.busid, "/dev/bus/usb/001/004");
	ck_assert_int_eq(parse("unexport 4-1", &req), 0);
	ck_assert_int_eq(req.verb, CONTROL_UNEXPORT);
	/* Issue 16 item 4: the administrator's word over mounted disks. */
	ck_assert_int_eq(parse("export 1-2", &req), 0);
	ck_assert(!req.force);
	ck_assert_int_eq(parse("export 1-2 force", &req), 0);
	ck_assert(req.force);
	ck_assert_str_eq(req.address, "");
	ck_assert_int_eq(parse("export 1-2 tcp:h:1 force", &req), 0);
	ck_assert(req.force);
	ck_assert_str_eq(req.address, "tcp:h:1");
	/* Issue 16 items 1 and 2: a handed connection, plain or Qubes. */
	ck_assert_int_eq(parse("serve-fd", &req), 0);
	ck_assert_int_eq(req.verb, CONTROL_SERVE_FD);
	ck_assert(!req.qubes);
	ck_assert_int_eq(parse("serve-fd qubes 2-1.4", &req), 0);
	ck_assert(req.qubes);
	ck_assert_str_eq(req.busid, "2-1.4");
}
END_TEST

START_TEST(refusals)
{
	static const char *const bad[] = {
		"",
		"\n",
		"reload now",
		"list extra",
		"export",
		"export ../../x",
		"export 1-1 a b",
		"export /dev/bus/usb/001/../x",
		"export /dev/bus/usb/1/2/3",
		"export /etc/passwd",
		"unexport 1-1 tcp:1",
		"export  1-1",
		"list\tx",
		"export 1-1\x7f",
		"status\r",
		"serve-fd 1-1",
		"export 1-1 tcp:h:1 forced",
		"export 1-1 tcp:h:1 force force",
		"unexport 1-1 force",
		"serve-fd qubes",
		"serve-fd qubes /dev/bus/usb/001/002",
		"serve-fd qubes 1-1 x",
		"serve-fd qubesx 1-1",
	};
	struct control_request req;
	char big[CONTROL_REQUEST_MAX + 2];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(parse(bad[i], &req) < 0, "accepted '%s'", bad[i]);
	memset(big, 'a', sizeof(big));
	char msg[64];
	ck_assert_int_lt(
		control_parse(big, sizeof(big), &req, msg, sizeof(msg)), 0);
	ck_assert_int_lt(control_parse(NULL, 0, &req, msg, sizeof(msg)), 0);
	/* A NUL inside is a byte like any other control character. */
	ck_assert_int_lt(control_parse("list\0x", 6, &req, msg, sizeof(msg)),
			 0);
}
END_TEST

/* show takes one device, as unexport does; generate-policy nothing. */
START_TEST(show_and_generate_policy)
{
	static const char *const bad[] = {
		"show", "show ../1-1", "show 1-1 tcp:1", "show /etc/passwd",
		"generate-policy 1-1", "generate-policy\t",
	};
	struct control_request req;

	ck_assert_int_eq(parse("show 1-2.3", &req), 0);
	ck_assert_int_eq(req.verb, CONTROL_SHOW);
	ck_assert_str_eq(req.busid, "1-2.3");
	ck_assert_int_eq(parse("show /dev/bus/usb/001/004", &req), 0);
	ck_assert_str_eq(req.busid, "/dev/bus/usb/001/004");
	ck_assert_int_eq(parse("generate-policy\n", &req), 0);
	ck_assert_int_eq(req.verb, CONTROL_GENERATE_POLICY);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(parse(bad[i], &req) < 0, "accepted '%s'", bad[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, busids);
	tcase_add_test(tc, requests);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, show_and_generate_policy);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
