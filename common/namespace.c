// SPDX-License-Identifier: GPL-2.0-or-later
#include "namespace.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macros.h"

#define MAX_ENV 16 /* USBIP_* variables passed on */

#define NS_FLAGS                                                     \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | \
	 CLONE_NEWIPC | CLONE_NEWUTS)
#define MAX_KEEP 8

static int write_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write(fd, text, len) == (ssize_t)len ? 0 : -errno;
}

/* pid's user namespace gets one mapping each way, inside id 0 to uid
 * and gid outside, after setgroups is denied (which an unprivileged
 * writer must do first). */
static int write_root_maps(pid_t pid, uid_t uid, gid_t gid)
{
	char map[48];
	int r = write_file(pid, "setgroups", "deny");

	if (r == 0) {
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
		r = write_file(pid, "uid_map", map);
	}
	if (r == 0) {
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
		r = write_file(pid, "gid_map", map);
	}
	return r;
}

extern char **environ;

/* In the child, before exec: only async-signal-safe calls. */
static void child(int sync_fd, bool spawner_dumpable, const char *path,
		  char *const argv[], const int *keep_fds, size_t nkeep)
{
	char go;
	int moved[MAX_KEEP], sync_moved;
	const int sync_at = (int)(3 + nkeep);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The fds first, before it turns dumpable below: the kept ones
	 * into place from 3, the sync fd after them, every other fd of the
	 * spawner's (hub ports, device nodes, other sessions' channels)
	 * closed, so that nothing that could reach the child while it is
	 * dumpable finds them. Out of the way of 3..3+n first. */
	for (size_t i = 0; i < nkeep; i++) {
		moved[i] = fcntl(keep_fds[i], F_DUPFD_CLOEXEC, 100);
		if (moved[i] < 0)
			_exit(126);
	}
	sync_moved = fcntl(sync_fd, F_DUPFD_CLOEXEC, 100);
	if (sync_moved < 0)
		_exit(126);
	for (size_t i = 0; i < nkeep; i++)
		if (dup2(moved[i], (int)(3 + i)) < 0)
			_exit(126);
	if (dup3(sync_moved, sync_at, O_CLOEXEC) < 0)
		_exit(126);
	/* The spawner's stdin and stdout are no business of the child's (a
	 * test's log file, a terminal); stderr stays, it is the log. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
		_exit(126);
	if (syscall(SYS_close_range, sync_at + 1, ~0u, 0) < 0)
		for (int fd = sync_at + 1; fd < 65536; fd++)
			close(fd);
	/* A spawner that made itself undumpable (the broker does, so that
	 * processes of its uid cannot ptrace it) passed that on: the
	 * child's /proc files are then root's, which a spawner without root
	 * cannot write, and under hidepid=invisible (systemd's
	 * ProtectProc=) a spawner without CAP_SYS_PTRACE, root or not, does
	 * not even see them. Dumpable while the parent writes the maps,
	 * holding nothing of the spawner's but the kept fds. exec makes it
	 * dumpable again; the worker's sandbox (sandbox.c) turns that off
	 * before it reads a peer's first byte. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		_exit(126);
	/* Tell the parent it may write the id maps, then wait until it has. */
	if (write(sync_at, "", 1) != 1 || read(sync_at, &go, 1) != 1 ||
	    (!spawner_dumpable && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0))
		_exit(126);
	close(sync_at);
	/* Its own session and process group: a worker of the broker's own
	 * uid (without root no other can be mapped) could otherwise signal
	 * the broker's process group with kill(0, ...) though its pid
	 * namespace hides every pid outside. */
	if (setsid() < 0)
		_exit(126);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		_exit(126);
	/* A parent that takes signals through a signalfd blocks them; the
	 * mask would survive exec and leave the child deaf. All but SIGTERM
	 * are unblocked. The child is its pid namespace's init: a SIGTERM
	 * that came before the program installs its handler would be
	 * dropped, a blocked one waits for it (the worker lets it in). */
	sigset_t stop_only;
	sigemptyset(&stop_only);
	sigaddset(&stop_only, SIGTERM);
	sigprocmask(SIG_SETMASK, &stop_only, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* The spawner's USBIP_* variables (the worker's documented
	 * switches, the test suite's) and JOURNAL_STREAM (the worker shares
	 * the broker's stderr, so its lines carry their priority in the
	 * journal too; log_init checks that it names stderr), and nothing
	 * else: a worker has no use for the broker's NOTIFY_SOCKET, paths
	 * or locale. */
	char *env[MAX_ENV + 1];
	size_t n = 0;
	for (char **e = environ; *e && n < MAX_ENV; e++)
		if (!strncmp(*e, "USBIP_", 6) ||
		    !strncmp(*e, "JOURNAL_STREAM=", 15))
			env[n++] = *e;
	env[n] = NULL;
	execve(path, argv, env);
	_exit(127);
}

pid_t ns_spawn(const char *path, char *const argv[], const int *keep_fds,
	       size_t nkeep, uid_t uid, gid_t gid, char *msg, size_t msg_len)
{
	bool unprivileged = geteuid() != 0;
	bool dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1;
	int sync[2], r;
	char ready;
	sigset_t stop_only, old;
	pid_t pid;

	if (nkeep > MAX_KEEP)
		return -E2BIG;
	/* The kernel lets a spawner without CAP_SETUID map its own ids,
	 * nothing else: asking for others would fail at the map. */
	if (unprivileged && (uid != geteuid() || gid != getegid())) {
		snprintf(msg, msg_len,
			 "without root a worker can only be mapped to the "
			 "spawner's own uid %u gid %u",
			 (unsigned)geteuid(), (unsigned)getegid());
		return -EPERM;
	}
	/* Both ways: the child says when its /proc files are writable,
	 * the parent when the maps are written. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0)
		return -errno;
	/* A fork with new namespaces: no CLONE_VM, so plain fork rules. The
	 * child is born with SIGTERM blocked (see child()). */
	sigemptyset(&stop_only);
	sigaddset(&stop_only, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_only, &old);
	pid = (pid_t)syscall(SYS_clone, NS_FLAGS | SIGCHLD, NULL, NULL, NULL,
			     NULL);
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		r = -errno;
		snprintf(msg, msg_len, "clone into new namespaces: %s",
			 strerror(-r));
		close(sync[0]);
		close(sync[1]);
		return r;
	}
	if (pid == 0) {
		close(sync[1]);
		child(sync[0], dumpable, path, argv, keep_fds, nkeep);
	}
	close(sync[0]);
	r = read(sync[1], &ready, 1) == 1 ? 0 : -EPIPE;
	if (r == 0)
		r = write_root_maps(pid, uid, gid);
	if (r < 0) {
		snprintf(msg, msg_len, "writing the id maps: %s", strerror(-r));
		kill(pid, SIGKILL);
		close(sync[1]);
		return r;
	}
	if (write(sync[1], "", 1) != 1) {
		r = -errno;
		kill(pid, SIGKILL);
	}
	close(sync[1]);
	return r < 0 ? r : pid;
}

int ns_enter_empty_root(char *msg, size_t msg_len)
{
	static const char *const steps[] = {
		"making mounts private",
		"mounting the empty root",
		"entering it",
		"pivot_root",
		"detaching the old root",
	};
	int step = 0;

	/* Nothing we do here may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		goto fail;
	step++;
	if (mount("usbip-empty", "/tmp", "tmpfs",
		  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,nr_inodes=8,mode=0555") < 0)
		goto fail;
	step++;
	if (chdir("/tmp") < 0)
		goto fail;
	step++;
	/* pivot_root(".", "."): the old root lands on top of the new one
	 * and is then detached, with no directory needed for it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		goto fail;
	step++;
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		goto fail;
	return 0;
fail:
	snprintf(msg, msg_len, "%s: %s", steps[step], strerror(errno));
	return -errno;
}

/* In the probe's child: what failed, for the parent's message. */
struct probe_result {
	int step;
	int err;
};

/* After the parent's maps, what a worker does first: a mount. */
static void probe_child(int sync_fd)
{
	struct probe_result res = {1, 0};
	char go;

	/* Dumpable for the parent's maps, as in child(). */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0 ||
	    write(sync_fd, "", 1) != 1 || read(sync_fd, &go, 1) != 1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(1);
	res.step++;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("usbip-probe", "/tmp", "tmpfs",
		  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,nr_inodes=8,mode=0555") < 0)
		res.err = errno;
	else
		res.step++;
	_exit(write(sync_fd, &res, sizeof(res)) == (ssize_t)sizeof(res) ? 0
									: 1);
}

int ns_probe(uid_t uid, gid_t gid, char *msg, size_t msg_len)
{
	static const char *const steps[] = {
		"creating user, mount, net, pid, ipc and uts namespaces",
		"writing the new user namespace's id maps",
		"mounting a tmpfs in the new mount namespace",
	};
	struct probe_result res = {0, 0};
	int sync[2], status, r;
	char ready;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0)
		return -errno;
	/* The same clone, maps and first mount as ns_spawn() and the
	 * worker, with nothing executed. */
	pid = (pid_t)syscall(SYS_clone, NS_FLAGS | SIGCHLD, NULL, NULL, NULL,
			     NULL);
	if (pid == 0) {
		close(sync[1]);
		probe_child(sync[0]);
	}
	close(sync[0]);
	r = pid < 0 ? -errno : 0;
	if (r == 0) {
		res.step++;
		r = read(sync[1], &ready, 1) == 1 ? 0 : -EPIPE;
	}
	if (r == 0)
		r = write_root_maps(pid, uid, gid);
	if (r == 0)
		r = write(sync[1], "", 1) == 1 ? 0 : -EPIPE;
	if (r == 0)
		r = read(sync[1], &res, sizeof(res)) == (ssize_t)sizeof(res)
			    ? -res.err
			    : -EPIPE;
	close(sync[1]);
	if (pid > 0) {
		if (r < 0)
			kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (r == 0 && res.step == (int)ARRAY_SIZE(steps))
		return 0;
	if (r == 0)
		r = -EIO;
	if (res.step < 0 || res.step >= (int)ARRAY_SIZE(steps))
		res.step = 0;
	snprintf(msg, msg_len, "%s, as uid %u mapping uid %u: %s",
		 steps[res.step], (unsigned)geteuid(), (unsigned)uid,
		 strerror(-r));
	return r;
}

int ns_hide_paths(const char *const *paths, char *msg, size_t msg_len)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int r;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		r = -errno;
		snprintf(msg, msg_len, "unshare: %s", strerror(-r));
		return r;
	}
	/* Its own ids, the same inside (so that it does not look like root
	 * to itself or to code that asks), written while it is dumpable
	 * (see child()). */
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	r = prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0 ? -errno : 0;
	if (r == 0)
		r = write_file(getpid(), "setgroups", "deny");
	if (r == 0)
		r = write_file(getpid(), "uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (r == 0)
		r = write_file(getpid(), "gid_map", map);
	if (r == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(msg, msg_len, "writing its id maps: %s", strerror(-r));
		return r;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		r = -errno;
		snprintf(msg, msg_len, "making mounts private: %s",
			 strerror(-r));
		return r;
	}
	for (size_t i = 0; paths[i]; i++) {
		if (access(paths[i], F_OK) < 0)
			continue; /* nothing there to hide */
		if (mount("usbip-hidden", paths[i], "tmpfs",
			  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=4k,nr_inodes=8,mode=0555") < 0) {
			r = -errno;
			snprintf(msg, msg_len, "hiding %s: %s", paths[i],
				 strerror(-r));
			return r;
		}
	}
	/* The capabilities a new user namespace gives its creator: none
	 * reach outside it, and none are needed from here on. */
	struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {{0}};
	if (syscall(SYS_capset, &head, none) < 0) {
		r = -errno;
		snprintf(msg, msg_len, "capset: %s", strerror(-r));
		return r;
	}
	return 0;
}
