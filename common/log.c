// SPDX-License-Identifier: GPL-2.0-or-later
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* A line as formatted, and escaped: at most four bytes per byte. */
#define LINE_MAX_FORMATTED 1024
#define LINE_MAX_ESCAPED (4 * LINE_MAX_FORMATTED)
#define PREFIX_MAX 64

static const char *prefix = "usbip";
/* Whether lines start with "<N>" for journald. */
static bool to_journal;
/* USBIP_LOG_STEPS=1: log_step writes. */
static bool steps;

/* systemd sets JOURNAL_STREAM=DEV:INODE for a stderr it connected to the
 * journal; a child whose stderr was redirected inherits the variable,
 * so only a match counts. */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (!env || sscanf(env, "%llu:%llu%n", &dev, &ino, &end) != 2 ||
	    env[end] || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_init(const char *program)
{
	prefix = program;
	to_journal = stderr_is_journal();
	const char *env = getenv("USBIP_LOG_STEPS");
	steps = env && !strcmp(env, "1");
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

__attribute__((format(printf, 2, 0))) static void
log_vline(int priority, const char *fmt, va_list ap)
{
	char line[LINE_MAX_FORMATTED], out[PREFIX_MAX + LINE_MAX_ESCAPED + 2];
	int n;

	vsnprintf(line, sizeof(line), fmt, ap);
	/* The prefix is ours, the rest may be a peer's: escaped, it cannot
	 * start a line of its own with a priority. Formatted first and
	 * written once, so that lines from several processes sharing a log
	 * do not interleave. */
	if (to_journal)
		n = snprintf(out, PREFIX_MAX, "<%d>%s: ", priority, prefix);
	else
		n = snprintf(out, PREFIX_MAX, "%s: ", prefix);
	if (n < 0)
		return;
	if (n >= PREFIX_MAX)
		n = PREFIX_MAX - 1;
	log_escape(line, out + n, sizeof(out) - (size_t)n - 1);
	strcat(out, "\n");
	fputs(out, stderr);
}

__attribute__((format(printf, 2, 3))) static void
log_line_priority(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(priority, fmt, ap);
	va_end(ap);
}

void log_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_INFO, fmt, ap);
	va_end(ap);
}

void log_step(const char *fmt, ...)
{
	struct timespec now;
	char line[LINE_MAX_FORMATTED];
	va_list ap;

	if (!steps)
		return;
	/* The vDSO's: no system call, nothing for the worker's filter. */
	clock_gettime(CLOCK_REALTIME, &now);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_line_priority(LOG_DEBUG, "step %lld.%06ld %s",
			  (long long)now.tv_sec, now.tv_nsec / 1000, line);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_ERR, fmt, ap);
	va_end(ap);
}

void log_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_NOTICE, fmt, ap);
	va_end(ap);
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
