/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Process-level confinement for a process that talks to a hostile peer:
 * no core dumps or ptrace by peers (not dumpable), death with its parent,
 * resource limits, every capability dropped (libcap-ng), no_new_privs.
 * The syscall filter comes after, from the program's own allowlist.
 */
#pragma once

struct sandbox_limits {
	unsigned long max_files;      /* RLIMIT_NOFILE */
	unsigned long max_file_bytes; /* RLIMIT_FSIZE: bounds a log file */
};

/* Returns 0 or a negative errno; msg says which step failed. */
int sandbox_drop_privileges(const struct sandbox_limits *limits, char *msg,
			    unsigned long msg_len);
