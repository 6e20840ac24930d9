// SPDX-License-Identifier: GPL-2.0-or-later
/* The usbfs quota: read, raised where asked, split among sessions. */
#include "check-main.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "usbfs_quota.h"

static char path[64];

static void put(const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/test-usbfs-quota.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void teardown(void)
{
	unlink(path);
}

START_TEST(reads_the_parameter)
{
	unsigned long mb = 99;

	put("16\n");
	ck_assert_int_eq(usbfs_quota_read(path, &mb), 0);
	ck_assert_uint_eq(mb, 16);
	put("0\n");
	ck_assert_int_eq(usbfs_quota_read(path, &mb), 0);
	ck_assert_uint_eq(mb, 0);
	/* sysfs text is input like any other. */
	put("");
	ck_assert_int_eq(usbfs_quota_read(path, &mb), -EBADMSG);
	put("-1\n");
	ck_assert_int_eq(usbfs_quota_read(path, &mb), -EBADMSG);
	put("16 MB\n");
	ck_assert_int_eq(usbfs_quota_read(path, &mb), -EBADMSG);
	put("99999999999999999999999\n");
	ck_assert_int_eq(usbfs_quota_read(path, &mb), -EBADMSG);
	ck_assert_int_eq(usbfs_quota_read("/nonexistent/usbfs", &mb), -ENOENT);
}
END_TEST

START_TEST(raises_never_lowers)
{
	unsigned long mb = 0;

	put("16\n");
	ck_assert_int_eq(usbfs_quota_raise(path, 64, &mb), 0);
	ck_assert_uint_eq(mb, 64);
	ck_assert_int_eq(usbfs_quota_raise(path, 32, &mb), 0);
	ck_assert_uint_eq(mb, 64);
	/* Off (0, no limit) stays off. */
	put("0\n");
	ck_assert_int_eq(usbfs_quota_raise(path, 32, &mb), 0);
	ck_assert_uint_eq(mb, 0);
}
END_TEST

/* Issue 12 item 6: N sessions at their share leave room for one more. */
START_TEST(sessions_leave_a_share_free)
{
	for (unsigned n = 1; n <= 1024; n = n * 2 + 1) {
		for (unsigned long mb = 1; mb <= 4096; mb *= 4) {
			uint64_t kib = usbfs_session_share_kib(mb, n);
			ck_assert_uint_le((uint64_t)(n + 1) * kib,
					  (uint64_t)mb << 10);
		}
	}
	/* The kernel's default among the broker's default 16 sessions. */
	ck_assert_uint_eq(usbfs_session_share_kib(16, 16), 16384 / 17);
	ck_assert_uint_eq(usbfs_session_share_kib(0, 16),
			  USBFS_SHARE_UNLIMITED_KIB);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("usbfs-quota");
	TCase *t = tcase_create("quota");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, reads_the_parameter);
	tcase_add_test(t, raises_never_lowers);
	tcase_add_test(t, sessions_leave_a_share_free);
	suite_add_tcase(s, t);
	return run_suite(s);
}
