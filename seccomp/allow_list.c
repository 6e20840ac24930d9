// SPDX-License-Identifier: GPL-2.0-or-later
/* Allowing a table of syscalls (allow_list.h). */
#include "allow_list.h"

#include <errno.h>

int seccomp_allow_syscalls(scmp_filter_ctx ctx,
			   const struct syscall_allowance *list, size_t n,
			   int *failed_nr)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i].nr, 0);

		if (r == -EDOM || r == -EFAULT)
			continue;
		if (r < 0) {
			if (failed_nr)
				*failed_nr = list[i].nr;
			return r;
		}
	}
	return 0;
}
