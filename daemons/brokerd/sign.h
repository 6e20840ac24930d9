/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The broker's TLS identity: a worker running a TLS session's server
 * handshake asks for the one signature that handshake needs
 * (IPC_SIGN_REQUEST), as OpenSSH's privilege separation has its monitor
 * sign for the network child. The private key itself lives in a signer
 * process forked before the key is read, not in the broker: the broker
 * holds only the public half, so the diallers it forks later (which
 * parse hostile DNS answers) have no copy of the key to leak. Only the
 * content of a TLS 1.3 server CertificateVerify is signed (docs/tls.md
 * says what that binds, and what it does not). Layer: beside the state;
 * sessions.c calls it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ipc.h"
#include "tls_pin.h"

/* Forks the signer, which loads the identity key (tls_key_load: a
 * regular file only root reads) and sends back its public half; and
 * makes sure the kernel's TLS module is there (modprobe tls; the
 * workers cannot, having no CAP_NET_ADMIN). 0, or a negative errno with
 * msg; a missing module is not an error, only a warning in msg (plain
 * sessions work, and it may be loaded later). */
int sign_init(const char *key_path, char *msg, size_t msg_len);
bool sign_ready(void);

/* The public key as hex DER SubjectPublicKeyInfo, for a worker's argv. */
const char *sign_spki_hex(void);
/* The same as DER bytes (the verifier compares the transcript's). */
const uint8_t *sign_spki(size_t *len);
const struct tls_pin *sign_pin(void);

/* Signs req if it is a TLS 1.3 server CertificateVerify content: 0 with
 * the signature in a, or -EINVAL (anything else: the worker is lying),
 * or another negative errno (the key failed, or the signer is gone:
 * logged once, and every later signature fails). */
int sign_certificate_verify(const struct ipc_sign_request *req,
			    struct ipc_sign_answer *a);

/* pid was the signer and waitpid() has reaped it: forgets the pid, so
 * that nothing later signals or waits on a number the kernel may have
 * given to another process. True when it was the signer. */
bool sign_child_reaped(pid_t pid);

void sign_free(void);
