// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test tool: starts usbip-worker as the broker will, in fresh namespaces
 * as the unprivileged id 65534 outside, with the device fd and a listening
 * socket already open, and waits for it.
 *   spawn-worker WORKER /dev/bus/usb/BBB/DDD BUSID LISTEN-ADDR
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "namespace.h"
#include "transport.h"

int main(int argc, char **argv)
{
	struct transport_addr a;
	char msg[256];
	int fds[2], status;

	if (argc != 5) {
		fprintf(stderr, "usage: %s WORKER DEVICE BUSID LISTEN-ADDR\n",
			argv[0]);
		return 2;
	}
	fds[0] = open(argv[2], O_RDWR | O_CLOEXEC);
	if (fds[0] < 0) {
		perror(argv[2]);
		return 1;
	}
	if (transport_parse(argv[4], &a, msg, sizeof(msg)) < 0 ||
	    (fds[1] = transport_listen(&a, 4, msg, sizeof(msg))) < 0) {
		fprintf(stderr, "%s\n", msg);
		return 1;
	}
	char *const wargv[] = {"usbip-worker", "--device-fd",  "3",
			       "--busid",      argv[3],	       "--listen",
			       "fd:4",	       "--empty-root", NULL};
	pid_t pid = ns_spawn(argv[1], wargv, fds, 2, 65534, 65534, msg,
			     sizeof(msg));
	if (pid < 0) {
		fprintf(stderr, "spawn: %s\n", msg);
		return 1;
	}
	close(fds[0]);
	close(fds[1]);
	printf("%d\n", (int)pid);
	fflush(stdout);
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
