// SPDX-License-Identifier: GPL-2.0-or-later
/* usbip-brokerctl generate-policy's rules: the policy parser takes them,
 * the device they were made from matches them, and a device that differs
 * in what they pin down (serial, an interface more, other ids) does not. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check-main.h"
#include "policy.h"
#include "policy_gen.h"

static struct policy p;

static void teardown(void)
{
	policy_clear(&p);
}

/* A storage gadget: 1d6b:0104, serial 0001, one 08:06:50 interface. */
static struct usbdev_info disk(void)
{
	struct usbdev_info info;

	memset(&info, 0, sizeof(info));
	strcpy(info.busid, "1-1");
	info.id_vendor = 0x1d6b;
	info.id_product = 0x0104;
	info.num_interfaces = 1;
	info.interfaces[0] = (struct usbdev_interface){8, 6, 0x50};
	strcpy(info.product, "test disk");
	strcpy(info.serial, "0001");
	return info;
}

/* Parses text followed by "deny" and returns the verdict on info: the
 * matching rule allows. */
static bool allowed(const char *text, const struct usbdev_info *info)
{
	char file[2048], msg[256];
	struct policy_interface ifs[USBDEV_MAX_INTERFACES];
	const struct usbdev_info *d = info;

	for (size_t i = 0; i < d->num_interfaces; i++)
		ifs[i] = (struct policy_interface){
			info->interfaces[i].cls,
			info->interfaces[i].subclass,
			info->interfaces[i].protocol};
	struct policy_device dev = {.vid = d->id_vendor,
				    .pid = d->id_product,
				    .serial = info->serial,
				    .device_class = d->device_class,
				    .interfaces = ifs,
				    .num_interfaces = d->num_interfaces,
				    .busid = d->busid};
	snprintf(file, sizeof(file), "%s\ndeny\n", text);
	policy_clear(&p);
	ck_assert_msg(policy_parse(file, strlen(file), "gen", &p, msg,
				   sizeof(msg)) == 0,
		      "%s: %s", msg, file);
	return policy_allows(policy_match(&p, &dev));
}

START_TEST(rule_pins_the_device)
{
	struct usbdev_info info = disk(), other;
	char rule[1024];

	ck_assert_int_gt(policy_gen_rule(&info, rule, sizeof(rule)), 0);
	ck_assert_msg(strstr(rule, "\nallow id 1d6b:0104 serial \"0001\" "
				   "with-interface equals { 08:06:50 }"),
		      "%s", rule);
	ck_assert(strstr(rule, "# 1-1 1d6b:0104 test disk"));
	ck_assert(allowed(rule, &info));

	other = info;
	strcpy(other.serial, "0002");
	ck_assert(!allowed(rule, &other));
	other = info;
	other.num_interfaces = 2; /* a keyboard behind it */
	other.interfaces[1] = (struct usbdev_interface){3, 1, 1};
	ck_assert(!allowed(rule, &other));
	other = info;
	other.id_product = 0x0105;
	ck_assert(!allowed(rule, &other));
}
END_TEST

START_TEST(repeated_types_once)
{
	struct usbdev_info info = disk();
	char rule[1024];

	info.num_interfaces = 3;
	info.interfaces[1] = (struct usbdev_interface){3, 1, 1};
	info.interfaces[2] = (struct usbdev_interface){8, 6, 0x50};
	ck_assert_int_gt(policy_gen_rule(&info, rule, sizeof(rule)), 0);
	ck_assert_msg(strstr(rule, "with-interface equals { 08:06:50 03:01:01 }"),
		      "%s", rule);
	ck_assert(allowed(rule, &info));
}
END_TEST

/* A serial the parser could not read back (a quote ends a word there)
 * is left out and said so; no serial, no interfaces likewise. */
START_TEST(unquotable_serial_and_unconfigured)
{
	struct usbdev_info info = disk();
	char rule[1024];

	strcpy(info.serial, "a\"b # c");
	ck_assert_int_gt(policy_gen_rule(&info, rule, sizeof(rule)), 0);
	ck_assert(strstr(rule, "serial cannot be quoted"));
	ck_assert(!strstr(rule, "serial \""));
	ck_assert(allowed(rule, &info));

	info.serial[0] = '\0';
	info.num_interfaces = 0;
	ck_assert_int_gt(policy_gen_rule(&info, rule, sizeof(rule)), 0);
	ck_assert(strstr(rule, "not configured"));
	ck_assert(strstr(rule, "\nallow id 1d6b:0104") &&
		  !strstr(rule, "with-interface"));
	ck_assert(allowed(rule, &info));
}
END_TEST

/* A product string with '#' and quotes stays inside the comment line. */
START_TEST(product_stays_in_the_comment)
{
	struct usbdev_info info = disk();
	char rule[1024];

	strcpy(info.product, "x\" deny # allow");
	ck_assert_int_gt(policy_gen_rule(&info, rule, sizeof(rule)), 0);
	ck_assert(allowed(rule, &info));
	ck_assert_int_eq(policy_gen_rule(&info, rule, 40), -ENOSPC);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy-gen");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, rule_pins_the_device);
	tcase_add_test(tc, repeated_types_once);
	tcase_add_test(tc, unquotable_serial_and_unconfigured);
	tcase_add_test(tc, product_stays_in_the_comment);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
