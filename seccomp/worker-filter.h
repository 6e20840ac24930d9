/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker's syscall allowlist. Everything not listed kills the process
 * (SCMP_ACT_KILL_PROCESS), except clone3, which answers ENOSYS so that a
 * glibc that tries it falls back (to clone, which is not allowed either:
 * the worker makes no threads and no processes). ioctl is allowed only for
 * the usbfs requests libusb and the worker issue, matched on the low 32
 * bits of the request number. sendmsg and recvmsg are allowed on the
 * broker's channel alone, when there is one.
 */
#pragma once

#include <stdbool.h>

/* Loads the filter for every thread (TSYNC); broker_fd is the channel to
 * the broker, or -1. Returns 0 or a negative errno. */
int worker_seccomp_load(int broker_fd);
