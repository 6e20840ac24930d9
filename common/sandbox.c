// SPDX-License-Identifier: GPL-2.0-or-later
#include "sandbox.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#ifdef HAVE_LIBCAP_NG
#include <cap-ng.h>
#endif

static int step_failed(const char *step, char *msg, unsigned long msg_len)
{
	int err = errno ? -errno : -EPERM;

	snprintf(msg, msg_len, "%s: %s", step, strerror(-err));
	return err;
}

int sandbox_drop_privileges(const struct sandbox_limits *limits, char *msg,
			    unsigned long msg_len)
{
	const struct {
		int resource;
		rlim_t value;
		const char *name;
	} rl[] = {
		{RLIMIT_NOFILE, limits->max_files, "RLIMIT_NOFILE"},
		{RLIMIT_FSIZE, limits->max_file_bytes, "RLIMIT_FSIZE"},
		{RLIMIT_CORE, 0, "RLIMIT_CORE"},
		{RLIMIT_MEMLOCK, 0, "RLIMIT_MEMLOCK"},
	};

	errno = 0;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return step_failed("PR_SET_DUMPABLE", msg, msg_len);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return step_failed("PR_SET_PDEATHSIG", msg, msg_len);
	for (size_t i = 0; i < sizeof(rl) / sizeof(rl[0]); i++) {
		struct rlimit r = {rl[i].value, rl[i].value};
		if (setrlimit(rl[i].resource, &r) < 0)
			return step_failed(rl[i].name, msg, msg_len);
	}
#ifdef HAVE_LIBCAP_NG
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_BOTH) < 0)
		return step_failed("dropping capabilities", msg, msg_len);
	/* The bounding set too where we may change it (CAP_SETPCAP). */
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP)) {
		capng_clear(CAPNG_SELECT_ALL);
		capng_apply(CAPNG_SELECT_ALL);
	}
#else
	snprintf(msg, msg_len, "built without libcap-ng");
	return -EOPNOTSUPP;
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return step_failed("PR_SET_NO_NEW_PRIVS", msg, msg_len);
	return 0;
}
