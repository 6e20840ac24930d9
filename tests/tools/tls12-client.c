// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test tool: a TLS client that offers only an old version, for the
 * refusal of everything but TLS 1.3 by the exporting side (usbip-brokerd's
 * tls: listeners and its workers). It connects, runs a GnuTLS client
 * handshake with a priority string that offers TLS 1.2 alone, and says in
 * one line what became of it. No key is shown and no certificate checked:
 * a server that takes the handshake at all has failed.
 *
 *   tls12-client ADDR [--priority STRING] [--timeout MS]
 *
 *   ADDR             tcp:HOST:PORT (or any stream address; no tls: prefix)
 *   --priority S     GnuTLS priority string (default
 *                    "NORMAL:-VERS-ALL:+VERS-TLS1.2": TLS 1.2 only)
 *   --timeout MS     for the handshake (default 10000)
 *
 * Exit status: 1 the server refused (what a TLS 1.3-only server must do),
 * 0 the handshake completed (the server took the old version), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "transport.h"

#define PROGRAM "tls12-client"

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROGRAM " ADDR [--priority STRING] [--timeout MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"priority", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 't'},
		{0},
	};
	const char *priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2", *err_pos;
	long timeout_ms = 10000;
	struct transport_addr a;
	char msg[256], *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			priority = optarg;
			break;
		case 't':
			timeout_ms = strtol(optarg, &end, 10);
			if (*end || timeout_ms <= 0 || timeout_ms > 600000)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	if (transport_parse(argv[optind], &a, msg, sizeof(msg)) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", msg);
		return 2;
	}
	int fd = transport_connect(&a, msg, sizeof(msg));
	if (fd < 0) {
		fprintf(stderr, PROGRAM ": %s\n", msg);
		return 1;
	}

	gnutls_session_t s;
	gnutls_certificate_credentials_t cred;
	gnutls_certificate_allocate_credentials(&cred);
	gnutls_init(&s, GNUTLS_CLIENT);
	r = gnutls_priority_set_direct(s, priority, &err_pos);
	if (r < 0) {
		fprintf(stderr, PROGRAM ": priority string at '%s': %s\n",
			err_pos, gnutls_strerror(r));
		return 2;
	}
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, (unsigned)timeout_ms);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		const char *alert =
			r == GNUTLS_E_FATAL_ALERT_RECEIVED
				? gnutls_alert_get_name(gnutls_alert_get(s))
				: NULL;
		fprintf(stderr, PROGRAM ": refused: %s%s%s\n",
			gnutls_strerror(r), alert ? ": " : "",
			alert ? alert : "");
	} else {
		char *desc = gnutls_session_get_desc(s);
		fprintf(stderr, PROGRAM ": the server took %s\n",
			desc ? desc : "the handshake");
		gnutls_free(desc);
	}
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	close(fd);
	return r < 0 ? 1 : 0;
}
