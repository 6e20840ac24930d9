/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's TLS record layer (tls.ko) and the AEADs it uses, loaded
 * by the one process of each side that may load modules, before any
 * session needs them. Apart from tls_ktls.c so that the broker, which
 * loads them but never runs a handshake, links no handshake code.
 */
#pragma once

#include <stddef.h>

/*
 * Makes sure the kernel has its TLS record layer: present when
 * module_dir or stat_file exists, else runs modprobe_argv (given for
 * tests) and looks again. 0, or -ENOENT with one line naming tls.ko.
 * Only the process that will use kTLS's root-owned callers may load
 * modules: the kernel autoloads tls.ko for a TCP_ULP caller only with
 * CAP_NET_ADMIN, and neither a worker nor attach's handshake child has it.
 */
int tls_module_load(const char *module_dir, const char *stat_file,
		    char *const modprobe_argv[], char *msg, size_t msg_len);

/* The same with the real places, loading tls.ko and the AEADs kTLS
 * instantiates (usbip-brokerd at start, usbip-attach before a tls:
 * session). */
int tls_module_load_default(char *msg, size_t msg_len);
