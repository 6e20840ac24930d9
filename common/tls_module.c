// SPDX-License-Identifier: GPL-2.0-or-later
#include "tls_module.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

static int run_wait(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int tls_module_load(const char *module_dir, const char *stat_file,
		    char *const modprobe_argv[], char *msg, size_t msg_len)
{
	int r;

	if (!access(module_dir, F_OK) || !access(stat_file, F_OK))
		return 0;
	r = run_wait(modprobe_argv);
	if (!access(module_dir, F_OK) || !access(stat_file, F_OK))
		return 0;
	return log_fail(
		-ENOENT, msg, msg_len,
		"kernel TLS: the module tls (tls.ko) is not loaded and "
		"'modprobe tls' %s: install it for this kernel or build "
		"it in (CONFIG_TLS)",
		r == 127 ? "could not run"
		: r < 0	 ? "could not start"
			 : "failed");
}

int tls_module_load_default(char *msg, size_t msg_len)
{
	/* tls, and the AEADs kTLS instantiates on TLS_TX/TLS_RX (gcm(aes)
	 * needs ctr and ghash): loaded on demand they would be loaded in
	 * the middle of a session's start, slowly (seen under a loaded TCG
	 * guest: ENOENT from TLS_TX). Where one is built in or absent, the
	 * others still load; tls.ko alone is checked. */
	static char *const argv[] = {
		"modprobe",	    "-q", "-a", "tls", "gcm", "ctr", "ghash",
		"chacha20poly1305", NULL};

	return tls_module_load("/sys/module/tls", "/proc/net/tls_stat", argv,
			       msg, msg_len);
}
