/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small helpers every module uses: cleanup attributes and array sizes.
 * Kept in one header so that cleanup conventions read the same everywhere.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _nodiscard_ __attribute__((warn_unused_result))
#define _fallthrough_ __attribute__((fallthrough))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Closes and keeps errno: cleanup runs on error paths whose errno matters. */
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

/* Hands ownership out of a cleanup variable. */
static inline int take_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

static inline void *take_ptr_(void **p)
{
	void *r = *p;
	*p = NULL;
	return r;
}
#define take_ptr(p) take_ptr_((void **)&(p))

/* Every program's exit status: 0 done, 1 the operation failed (a message
 * says why), 2 the command line was wrong. Programs with more add theirs
 * above these. */
enum exit_status {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};
