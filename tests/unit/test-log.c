// SPDX-License-Identifier: GPL-2.0-or-later
/* Log lines carry what peers send: every control byte, every byte outside
 * ASCII and every backslash is escaped, and one call is one line. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "check-main.h"
#include "log.h"

static void escapes_to(const char *in, const char *want)
{
	char out[256];

	ck_assert_uint_eq(log_escape(in, out, sizeof(out)), strlen(in));
	ck_assert_str_eq(out, want);
}

START_TEST(escape_bytes)
{
	escapes_to("1-1.4 tcp:[::1]:3240 ok", "1-1.4 tcp:[::1]:3240 ok");
	escapes_to("1-1\nusbip-brokerd: forged",
		   "1-1\\x0ausbip-brokerd: forged");
	escapes_to("\r\t\x1b[31m\x7f", "\\x0d\\x09\\x1b[31m\\x7f");
	escapes_to("a\\x0ab", "a\\\\x0ab");
	escapes_to("caf\xc3\xa9", "caf\\xc3\\xa9");
	escapes_to("", "");
}
END_TEST

START_TEST(escape_truncates_whole)
{
	char out[8];

	/* 7 bytes of room: "ab" and one whole \xNN, never half of one. */
	ck_assert_uint_eq(log_escape("ab\n\ncd", out, sizeof(out)), 3);
	ck_assert_str_eq(out, "ab\\x0a");
	ck_assert_uint_eq(log_escape("\\\\\\\\", out, 4), 1);
	ck_assert_str_eq(out, "\\\\");
}
END_TEST

/* What log_line writes, through a pipe in place of stderr. */
static size_t logged(char *buf, size_t len, const char *busid)
{
	int p[2], saved = dup(2);
	ssize_t n;

	ck_assert_int_eq(pipe(p), 0);
	dup2(p[1], 2);
	close(p[1]);
	log_init("usbip-test");
	log_line("%s: asked for %s, which is not exported to it", "fd:3",
		 busid);
	dup2(saved, 2);
	close(saved);
	n = read(p[0], buf, len - 1);
	close(p[0]);
	ck_assert_int_gt(n, 0);
	buf[n] = 0;
	return (size_t)n;
}

START_TEST(one_call_one_line)
{
	char buf[8192];

	logged(buf, sizeof(buf), "1-1\nusbip-brokerd: forged\r\n");
	ck_assert_str_eq(buf, "usbip-test: fd:3: asked for 1-1\\x0ausbip-"
			      "brokerd: forged\\x0d\\x0a, which is not "
			      "exported to it\n");
}
END_TEST

START_TEST(long_line_stays_one)
{
	char busid[1500], buf[8192];
	size_t n;

	memset(busid, '\n', sizeof(busid) - 1);
	busid[sizeof(busid) - 1] = 0;
	n = logged(buf, sizeof(buf), busid);
	/* Cut at the formatting limit, every byte escaped, one newline. */
	ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);
	ck_assert_uint_gt(n, 4 * 1000);
	ck_assert(!strncmp(buf, "usbip-test: fd:3: asked for \\x0a", 32));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("escape");

	tcase_add_test(tc, escape_bytes);
	tcase_add_test(tc, escape_truncates_whole);
	tcase_add_test(tc, one_call_one_line);
	tcase_add_test(tc, long_line_stays_one);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
