/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every program's command line answers the same way: --version,
 * and a mistake on the command line. A mistake gets one line that names
 * it and points at --help, not the whole help: the help scrolls the one
 * line that matters off the screen.
 *
 * With getopt_long: start the option string with ':' (after a '+', if
 * any), so that a missing argument returns ':' and an unknown option '?',
 * and pass either to cli_option_error().
 */
#pragma once

#include <stdio.h>

/* "PROGRAM (usbip-broker) VERSION" on stdout. */
void cli_version(const char *program);

/* For getopt_long's '?' or ':': one line on stderr naming the option,
 * "try 'PROGRAM --help'". Returns EXIT_USAGE. */
int cli_option_error(const char *program, char *const *argv, int c);

/* A usage mistake found after the options: "PROGRAM: TEXT; try
 * 'PROGRAM --help'" on stderr. Returns EXIT_USAGE. */
__attribute__((format(printf, 2, 3))) int cli_usage_error(const char *program,
							  const char *fmt, ...);
