/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Namespaces for a worker, in bubblewrap's order: the spawner clones the
 * child into new user, mount, net, pid, ipc and uts namespaces and maps
 * the child's root to an unprivileged id outside; the child execs the
 * worker, which, once libusb holds its device, swaps its root for an
 * empty read-only tmpfs. A compromised worker then sees no file system,
 * no network but the sockets it was handed, and no other process.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/*
 * Starts path with argv in fresh namespaces as outside uid/gid. A
 * spawner without root may only ask for its own euid and egid (the one
 * mapping the kernel lets it write); the child then shares its uid, and
 * only the namespaces keep them apart. The child gets a session and
 * process group of its own. keep_fds
 * are renumbered 3, 4, ... in the child, 0 and 1 are /dev/null, 2 stays
 * (the spawner's log), and every other fd is closed. The child dies with
 * the spawner. It starts with SIGTERM blocked, so that a stop sent before
 * it has a handler is not lost: it must unblock SIGTERM itself. Its
 * environment is the spawner's USBIP_* variables alone. Returns
 * the child's pid (as the spawner sees it) or a negative errno with msg
 * set.
 */
pid_t ns_spawn(const char *path, char *const argv[], const int *keep_fds,
	       size_t nkeep, uid_t uid, gid_t gid, char *msg, size_t msg_len);

/*
 * Whether this process may start workers as uid/gid (ns_spawn's rules)
 * at all: a child is cloned into the namespaces ns_spawn() creates, the
 * parent writes its id maps, and the child mounts a tmpfs inside. 0, or
 * a negative errno with msg naming the step the kernel refused (user
 * namespaces off by sysctl, a security module's restriction, a seccomp
 * filter).
 */
int ns_probe(uid_t uid, gid_t gid, char *msg, size_t msg_len);

/*
 * For a helper that needs the host's files (a resolver) but must not
 * reach its spawner's: in a new user and mount namespace, mapped to its
 * own ids, each of paths (NULL-terminated; those that do not exist are
 * skipped) is covered by an empty read-only tmpfs. No capability comes
 * of it outside the new namespaces. 0, or a negative errno with msg set.
 */
int ns_hide_paths(const char *const *paths, char *msg, size_t msg_len);

/* In the child: an empty read-only tmpfs becomes / and the old root is
 * detached. Returns 0 or a negative errno with msg set. */
int ns_enter_empty_root(char *msg, size_t msg_len);
