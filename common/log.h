/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One log line per event on stderr, prefixed with the program's name:
 * stderr goes to the journal under systemd and to the terminal otherwise.
 *
 * Log lines carry what peers send (busids, product strings, addresses),
 * so every line is escaped here, where no caller can forget it: a control
 * byte or a byte outside ASCII becomes \xNN and a backslash \\, and one
 * call always makes exactly one line.
 */
#pragma once

#include <stddef.h>

/* Sets the prefix; the program name by default. Also looks whether
 * stderr is the journal (JOURNAL_STREAM names its device and inode, as
 * systemd documents): then every line starts with its syslog priority,
 * <3> for an error, <4> a warning, <5> a notice, <6> the rest (sd-daemon.h's
 * SD_ERR and friends), so that journalctl -p err finds the errors. */
void log_init(const char *program);
/* An event: priority info. */
__attribute__((format(printf, 1, 2))) void log_line(const char *fmt, ...);
/* Something failed that an administrator must fix (a refused policy, a
 * start that cannot go on): priority err. */
__attribute__((format(printf, 1, 2))) void log_error(const char *fmt, ...);
/* Something went wrong that the program copes with: priority warning. */
__attribute__((format(printf, 1, 2))) void log_warning(const char *fmt, ...);
/* A normal event an administrator may want to know of, such as a session
 * ended on purpose before a limit: priority notice. */
__attribute__((format(printf, 1, 2))) void log_notice(const char *fmt, ...);

/* A step's time, for breaking a session's setup down (bench/setup.sh):
 * written only when the environment has USBIP_LOG_STEPS=1 (the broker
 * passes USBIP_* on to its workers), prefixed with CLOCK_REALTIME in
 * microseconds, the clock bash's $EPOCHREALTIME and strace -ttt read, so
 * that one timeline lines up the client, the broker and the worker.
 * Priority debug. Costs one getenv at log_init otherwise. */
__attribute__((format(printf, 1, 2))) void log_step(const char *fmt, ...);

/* The escaping log_line applies: writes text, escaped and NUL-terminated,
 * into out (out_len > 0), whole escapes only; returns how many bytes of
 * text fitted. */
size_t log_escape(const char *text, char *out, size_t out_len);

/* The one way an operation says why it failed: writes the reason into
 * msg (for the caller to log or send) and returns err, a negative errno
 * (or 0 for a reason that is not a failure). Every operation that takes
 * msg writes it on every path that returns an error. */
__attribute__((format(printf, 4, 5))) int
log_fail(int err, char *msg, size_t msg_len, const char *fmt, ...);
