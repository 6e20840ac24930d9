// SPDX-License-Identifier: GPL-2.0-or-later
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "log.h"
#include "macros.h"
#include "version.h"

/* Options are the user's own text, but a terminal still should not
 * interpret what it holds: escaped as log lines are, and cut short. */
#define OPTION_TEXT_MAX 64

void cli_version(const char *program)
{
	printf("%s (usbip-broker) %s\n", program, USBIP_BROKER_VERSION);
}

int cli_option_error(const char *program, char *const *argv, int c)
{
	char text[OPTION_TEXT_MAX], escaped[4 * OPTION_TEXT_MAX];

	/* glibc: an unknown long option leaves optopt 0 and is the argument
	 * getopt just stepped over, as is a long option that lacks its
	 * argument (whose optopt is its value, not a letter the user
	 * typed); anything else is the short option in optopt. */
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	if ((c == '?' && !optopt) || (c == ':' && !strncmp(arg, "--", 2)))
		snprintf(text, sizeof(text), "%.*s", (int)strcspn(arg, "="),
			 arg);
	else
		snprintf(text, sizeof(text), "-%c", optopt);
	log_escape(text, escaped, sizeof(escaped));
	fprintf(stderr, "%s: %s '%s'; try '%s --help'\n", program,
		c == ':' ? "missing argument to option" : "unknown option",
		escaped, program);
	return EXIT_USAGE;
}

int cli_usage_error(const char *program, const char *fmt, ...)
{
	char text[256], escaped[4 * sizeof(text)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_escape(text, escaped, sizeof(escaped));
	fprintf(stderr, "%s: %s; try '%s --help'\n", program, escaped, program);
	return EXIT_USAGE;
}
