/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hands a handshaken session's record layer to the kernel (kTLS): the
 * traffic keys, IVs and sequence numbers GnuTLS negotiated go into
 * setsockopt(TCP_ULP "tls") and SOL_TLS TLS_TX/TLS_RX, after which plain
 * read() and write() on the socket carry TLS records. This is what lets
 * vhci_hcd (importing side) and the worker (exporting side) keep
 * speaking plain USB/IP.
 */
#pragma once

#include <stddef.h>

#include "tls_handshake.h"

/*
 * 0, or a negative errno with one line in msg: -ENOENT when the kernel
 * has no "tls" ULP (tls.ko not loaded: the message says to modprobe it),
 * -EPROTO when the session holds a record kTLS would miss, the socket's
 * errno otherwise. On failure the socket is unusable; close it.
 * The session is only good for tls_session_free() afterwards.
 */
int tls_ktls_install(int fd, struct tls_session *session, char *msg,
		     size_t msg_len);
