// SPDX-License-Identifier: GPL-2.0-or-later
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *prefix = "usbip";

void log_init(const char *program)
{
	prefix = program;
}

void log_line(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	/* Formatted first and written once, so that lines from several
	 * processes sharing a log do not interleave. */
	n = snprintf(line, sizeof(line), "%s: ", prefix);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}
