/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The importing side's TLS (docs/tls.md): usbip-attach is always the TLS
 * client, whether it dialled (connect, list) or was called (listen),
 * because the exporting side stays the TLS server. The handshake runs in
 * a child that loads the key as root and then drops to nobody with no
 * capabilities and no_new_privs before it reads a byte from the peer; it
 * installs kTLS on the socket it shares with the parent and reports what
 * was negotiated through a pipe. The parent trusts none of that report:
 * it checks the peer's pin against its own list again and asks the
 * kernel whether the socket really carries TLS 1.3 both ways before
 * anything goes near vhci_hcd.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "tls_pin.h"

#define ATTACH_TLS_DEFAULT_KEY "/etc/usbip-broker/identity.key"
/* A known-peers file: at most this much is read, each line at most
 * ATTACH_PINS_LINE_MAX bytes. */
#define ATTACH_PINS_FILE_MAX (64 * 1024)
#define ATTACH_PINS_LINE_MAX 256
/* Who the handshake child becomes: nobody. */
#define ATTACH_TLS_CHILD_UID 65534u
#define ATTACH_TLS_CHILD_GID 65534u

struct attach_tls {
	const char *key_path;
	struct tls_pins pins;
	int timeout_ms; /* the whole handshake */
};

/*
 * Parses a known-peers text: one pin per line (tls_pin.h's form), blank
 * lines and lines starting with '#' ignored, a pin may be followed by
 * blanks and a '#' comment. Anything else, a NUL byte, a line longer than
 * ATTACH_PINS_LINE_MAX or more than TLS_PINS_MAX pins is refused, msg
 * naming the line (not quoting it). 0 or a negative errno.
 */
int attach_pins_parse(const char *text, size_t len, struct tls_pins *pins,
		      char *msg, size_t msg_len);

/* Reads a known-peers file (regular, at most ATTACH_PINS_FILE_MAX bytes)
 * and parses it into pins. */
int attach_pins_load(const char *path, struct tls_pins *pins, char *msg,
		     size_t msg_len);

/*
 * Runs the client handshake on the connected TCP socket fd in a child
 * (see above), then verifies its outcome. 0 with the peer's pin (and our
 * own, for messages) filled in and kTLS installed both ways, or a
 * negative errno and one line in msg.
 */
int attach_tls_client(int fd, const struct attach_tls *cfg,
		      struct tls_pin *peer, struct tls_pin *ours, char *msg,
		      size_t msg_len);

/* What the handshake child does after loading the key: uid and gid
 * 65534 (when root), no supplementary groups, no capabilities,
 * no_new_privs, not dumpable. 0 or a negative errno with msg. */
int attach_tls_drop_privileges(char *msg, size_t msg_len);

/* Then a seccomp allowlist for the handshake, kTLS and the report (a
 * no-op without libseccomp). 0 or a negative errno with msg. */
int attach_tls_confine(char *msg, size_t msg_len);

/* Whether fd carries kernel TLS 1.3 in both directions (asks the kernel,
 * not the child): 0 or a negative errno with msg. */
int attach_tls_verify_ktls(int fd, char *msg, size_t msg_len);
