// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one way a filter of this project allows plain syscalls: a table of
 * syscalls, each with the reason it is there, added with the same rule
 * for a syscall the architecture lacks. Shared by the worker's filter,
 * the broker's dialler and signer, and usbip-attach's handshake child,
 * each of which then adds its own argument-checked rules.
 */
#pragma once

#include <seccomp.h>
#include <stddef.h>

struct syscall_allowance {
	int nr;		 /* SCMP_SYS(name) */
	const char *why; /* for the reader: what needs it */
};

/*
 * Adds SCMP_ACT_ALLOW without argument checks for each entry. A syscall
 * this architecture does not have (open and stat on arm64; libseccomp
 * answers -EDOM or -EFAULT) is skipped: it cannot be called there
 * either. Returns 0, or the first other negative errno with *failed_nr
 * set to the syscall it was for.
 */
int seccomp_allow_syscalls(scmp_filter_ctx ctx,
			   const struct syscall_allowance *list, size_t n,
			   int *failed_nr);
