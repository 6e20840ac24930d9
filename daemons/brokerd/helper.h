// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A helper process of the broker: forked at start, before the loop, and
 * asked one fixed-size request at a time over a SOCK_SEQPACKET pair with
 * a bound on every answer. The signer (sign.c, which alone holds the TLS
 * key) and the verifier (verify.c, which alone parses a TLS transcript)
 * are two; this is what they have in common, so that the start, the
 * bound, the loss and the reaping of each are written once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct broker_helper {
	const char *name; /* "signer", "verifier": in its log lines */
	int fd;		  /* the broker's end; -1: none */
	pid_t pid;	  /* -1: none, or reaped */
	pid_t was;	  /* its pid once reaped, for the line that says so */
	bool lost_logged;
};

#define BROKER_HELPER_INIT(n) {.name = (n), .fd = -1, .pid = -1, .was = -1}

/*
 * Forks the helper. In the child, before child_main(3, arg): killed with
 * the broker (PR_SET_PDEATHSIG, and gone at once if the broker already
 * is), SIGTERM, SIGINT and SIGHUP ignored (a stop of the whole unit does
 * not cut a request short; the broker stops it), undumpable, its end of
 * the pair as fd 3 and no other fd above 2. child_main never returns.
 * 0, or a negative errno with msg saying why.
 */
int broker_helper_start(struct broker_helper *h,
			void (*child_main)(int fd, void *arg), void *arg,
			char *msg, size_t msg_len);

#ifdef HAVE_LIBSECCOMP
/* In the child, once it holds what it needs (the key, GnuTLS set up):
 * the helpers' seccomp allowlist, loaded. 0 or a negative errno. */
int broker_helper_confine(void);
#endif

/* One whole message of exactly len bytes within timeout_ms: 0,
 * -ETIMEDOUT, -EPIPE (closed, or another size), or another -errno. */
int broker_helper_recv(struct broker_helper *h, void *buf, size_t len,
		       int timeout_ms);

/* The helper is gone or broken (err): one line the first time, naming
 * it, its pid and that TLS sessions are refused from now on; its channel
 * closed, and the process killed if it still runs (one that stalls may
 * be spinning on what a worker sent; reap_workers reaps it). */
void broker_helper_lost(struct broker_helper *h, int err);

/* pid was this helper and waitpid() has reaped it: forgets the pid, so
 * that nothing later signals or waits on a number the kernel may have
 * given another process. True when it was. */
bool broker_helper_reaped(struct broker_helper *h, pid_t pid);

/* Stops it: the channel closed, SIGKILL, waited for. */
void broker_helper_stop(struct broker_helper *h);
