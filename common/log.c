// SPDX-License-Identifier: GPL-2.0-or-later
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A line as formatted, and escaped: at most four bytes per byte. */
#define LINE_MAX_FORMATTED 1024
#define LINE_MAX_ESCAPED (4 * LINE_MAX_FORMATTED)
#define PREFIX_MAX 64

static const char *prefix = "usbip";

void log_init(const char *program)
{
	prefix = program;
}

static bool printable(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '\\';
}

size_t log_escape(const char *text, char *out, size_t out_len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = 0;

	for (i = 0; text[i]; i++) {
		unsigned char c = (unsigned char)text[i];
		size_t need = printable(c) ? 1 : c == '\\' ? 2 : 4;

		if (n + need >= out_len)
			break;
		if (printable(c)) {
			out[n++] = (char)c;
		} else if (c == '\\') {
			out[n++] = '\\';
			out[n++] = '\\';
		} else {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 0xf];
		}
	}
	out[n] = 0;
	return i;
}

void log_line(const char *fmt, ...)
{
	char line[LINE_MAX_FORMATTED], out[PREFIX_MAX + LINE_MAX_ESCAPED + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* The prefix is ours, the rest may be a peer's. Formatted first and
	 * written once, so that lines from several processes sharing a log
	 * do not interleave. */
	n = snprintf(out, PREFIX_MAX, "%s: ", prefix);
	if (n < 0)
		return;
	if (n >= PREFIX_MAX)
		n = PREFIX_MAX - 1;
	log_escape(line, out + n, sizeof(out) - (size_t)n - 1);
	strcat(out, "\n");
	fputs(out, stderr);
}

int log_fail(int err, char *msg, size_t msg_len, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !msg_len)
		return err;
	va_start(ap, fmt);
	vsnprintf(msg, msg_len, fmt, ap);
	va_end(ap);
	return err;
}
