/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One log line per event on stderr, prefixed with the program's name:
 * stderr goes to the journal under systemd and to the terminal otherwise.
 */
#pragma once

/* Sets the prefix; the program name by default. */
void log_init(const char *program);
__attribute__((format(printf, 1, 2))) void log_line(const char *fmt, ...);
