// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tls-usbip-server: the exporting side of a TLS USB/IP session, for
 * testing usbip-attach's tls: addresses before the worker is wired. It
 * runs the TLS 1.3 server handshake with the suite's library, installs
 * kTLS, answers the USB/IP handshake and hands the socket to the kernel's
 * usbip-host (usbip_sockfd), as usbipd does for plain USB/IP. BUSID must
 * be bound to usbip-host (`usbip bind -b BUSID`). One connection, then
 * it exits.
 *
 *   tls-usbip-server (--listen ADDR | --dial ADDR) BUSID
 *                    [--key FILE] [--peer PIN]... [--plain | --tls12]
 *                    [--unexport] [--timeout MS]
 *
 *   --listen ADDR  accept one connection on ADDR (tcp:...), then answer
 *                  OP_REQ_IMPORT for BUSID (the import flow), or
 *                  OP_REQ_DEVLIST with BUSID alone
 *   --dial ADDR    call a listening usbip-attach and send OP_REQ_EXPORT
 *                  (or OP_REQ_UNEXPORT with --unexport) for BUSID (the
 *                  device-initiated flow)
 *   --key FILE     our identity.key (usbip-brokerctl keygen)
 *   --peer PIN     a client key we accept; repeatable. None: nobody's
 *                  key is accepted (the refusal test)
 *   --plain        no TLS at all: a plain USB/IP peer on a tls: address
 *   --tls12        a hostile server offering only TLS 1.2 (GnuTLS
 *                  directly, not the suite's library); it never
 *                  gets as far as USB/IP
 *   --timeout MS   for the handshakes (default 10000)
 *
 * Prints the negotiated parameters ("server: TLS1.3 ... peer SHA256:")
 * and what it did. Exit status: 0 the socket went to usbip-host (or the
 * unexport was acknowledged), 1 refused or failed, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "op_io.h"
#include "tls_handshake.h"
#include "tls_key.h"
#include "stub-device.h"
#include "tls_ktls.h"
#include "transport.h"
#include "wire.h"

#define PROGRAM "tls-usbip-server"

static int local_sign(void *ctx, enum tls_role role, const uint8_t *tbs,
		      size_t tbs_len, uint8_t *sig, size_t cap, size_t *sig_len)
{
	return tls_key_sign(ctx, role, tbs, tbs_len, sig, cap, sig_len);
}

static int secure(int fd, const char *key_path, const struct tls_pins *pins,
		  int timeout_ms)
{
	struct tls_key *key;
	struct tls_session *session;
	struct tls_result result;
	char msg[256], line[256];

	if (tls_key_load(key_path, &key, msg, sizeof(msg)) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", msg);
		return -1;
	}
	struct tls_identity me = {.sign = local_sign, .sign_ctx = key};
	tls_key_spki(key, me.spki, sizeof(me.spki), &me.spki_len);
	struct tls_config cfg = {.role = TLS_ROLE_SERVER,
				 .me = &me,
				 .allowed = pins,
				 .timeout_ms = timeout_ms};
	int r = tls_handshake(fd, &cfg, &session, &result, msg, sizeof(msg));
	if (r == 0) {
		tls_result_format(&result, line, sizeof(line));
		printf("server: %s\n", line);
		fflush(stdout);
		r = tls_ktls_install(fd, session, msg, sizeof(msg));
		tls_session_free(session);
	}
	tls_key_free(key);
	if (r < 0)
		fprintf(stderr, PROGRAM ": TLS refused: %s\n", msg);
	return r;
}

/* A server that speaks only TLS 1.2: the client must refuse it. */
static void tls12_only(int fd, int timeout_ms)
{
	gnutls_session_t s;
	gnutls_certificate_credentials_t cred;
	int r;

	gnutls_certificate_allocate_credentials(&cred);
	gnutls_init(&s, GNUTLS_SERVER);
	gnutls_priority_set_direct(s, "NORMAL:-VERS-ALL:+VERS-TLS1.2", NULL);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, (unsigned)timeout_ms);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	/* As a TLS 1.2 server would: say why before closing. */
	if (r < 0)
		gnutls_alert_send_appropriate(s, r);
	fprintf(stderr, PROGRAM ": TLS 1.2 only: %s\n",
		r < 0 ? gnutls_strerror(r) : "the client took TLS 1.2!");
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	exit(1);
}

static void hand_to_usbip_host(int fd, const char *busid)
{
	char path[256];

	snprintf(path, sizeof(path),
		 "/sys/bus/usb/drivers/usbip-host/%s/usbip_sockfd", busid);
	int s = open(path, O_WRONLY | O_CLOEXEC);
	if (s < 0 || dprintf(s, "%d\n", fd) < 0) {
		fprintf(stderr, PROGRAM ": %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(s);
}

/* OP_REP_DEVLIST with BUSID alone (its interfaces unnamed). */
static int serve_devlist(int fd, const char *busid)
{
	struct usbip_devlist_entry entry = {0};
	struct usbip_op_message rep = {0};

	stub_describe(busid, &entry.device);
	rep.header.code = USBIP_OP_REP_DEVLIST;
	rep.num_devices = 1;
	rep.devices = &entry;
	if (op_io_send(fd, &rep) < 0) {
		fprintf(stderr, PROGRAM ": sending OP_REP_DEVLIST failed\n");
		return 1;
	}
	printf("%s listed\n", busid);
	return 0;
}

static int serve_import(int fd, const char *busid, int timeout_ms)
{
	struct usbip_op_message req, rep = {0};
	char msg[256];

	if (op_io_read(fd, timeout_ms, &req, msg, sizeof(msg)) < 0) {
		fprintf(stderr, PROGRAM ": reading the request: %s\n", msg);
		return 1;
	}
	if (req.header.code == USBIP_OP_REQ_DEVLIST) {
		usbip_op_message_clear(&req);
		return serve_devlist(fd, busid);
	}
	if (req.header.code != USBIP_OP_REQ_IMPORT ||
	    strncmp(req.busid, busid, sizeof(req.busid))) {
		fprintf(stderr, PROGRAM ": not OP_REQ_IMPORT for %s\n", busid);
		usbip_op_message_clear(&req);
		return 1;
	}
	usbip_op_message_clear(&req);
	rep.header.code = USBIP_OP_REP_IMPORT;
	stub_describe(busid, &rep.device);
	if (op_io_send(fd, &rep) < 0) {
		fprintf(stderr, PROGRAM ": sending OP_REP_IMPORT failed\n");
		return 1;
	}
	hand_to_usbip_host(fd, busid);
	printf("%s imported, served by usbip-host\n", busid);
	return 0;
}

static int serve_export(int fd, const char *busid, bool unexport,
			int timeout_ms)
{
	struct usbip_op_message req = {0}, rep;
	char msg[256];

	req.header.code =
		unexport ? USBIP_OP_REQ_UNEXPORT : USBIP_OP_REQ_EXPORT;
	stub_describe(busid, &req.device);
	int r = op_io_send(fd, &req);
	if (r < 0) {
		fprintf(stderr, PROGRAM ": sending the request: %s\n",
			strerror(-r));
		return 1;
	}
	if (op_io_read(fd, timeout_ms, &rep, msg, sizeof(msg)) < 0) {
		fprintf(stderr, PROGRAM ": reading the reply: %s\n", msg);
		return 1;
	}
	if (rep.header.code !=
		    (unexport ? USBIP_OP_REP_UNEXPORT : USBIP_OP_REP_EXPORT) ||
	    rep.header.status != 0) {
		fprintf(stderr, PROGRAM ": refused: %s status %u\n",
			usbip_op_code_name(rep.header.code), rep.header.status);
		usbip_op_message_clear(&rep);
		return 1;
	}
	usbip_op_message_clear(&rep);
	if (unexport) {
		printf("%s unexported\n", busid);
		return 0;
	}
	hand_to_usbip_host(fd, busid);
	printf("%s exported, served by usbip-host\n", busid);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROGRAM " (--listen ADDR | --dial ADDR) BUSID "
		"[--key FILE]\n"
		"       [--peer PIN]... [--plain | --tls12] [--unexport] "
		"[--timeout MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"listen", required_argument, NULL, 'l'},
		{"dial", required_argument, NULL, 'd'},
		{"key", required_argument, NULL, 'k'},
		{"peer", required_argument, NULL, 'p'},
		{"plain", no_argument, NULL, 'P'},
		{"tls12", no_argument, NULL, '2'},
		{"unexport", no_argument, NULL, 'u'},
		{"timeout", required_argument, NULL, 't'},
		{0},
	};
	const char *listen_at = NULL, *dial = NULL, *key = NULL;
	struct tls_pins pins = {0};
	bool plain = false, tls12 = false, unexport = false;
	int timeout_ms = 10000, c, fd;
	struct transport_addr a;
	char msg[256];

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_at = optarg;
			break;
		case 'd':
			dial = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'p':
			if (tls_pins_add(&pins, optarg) < 0) {
				fprintf(stderr, PROGRAM ": bad pin %s\n",
					optarg);
				return 2;
			}
			break;
		case 'P':
			plain = true;
			break;
		case '2':
			tls12 = true;
			break;
		case 'u':
			unexport = true;
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc || !listen_at == !dial ||
	    (!plain && !tls12 && !key) || timeout_ms <= 0)
		usage();
	const char *busid = argv[optind];
	signal(SIGPIPE, SIG_IGN);

	if (transport_parse(listen_at ? listen_at : dial, &a, msg,
			    sizeof(msg)) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", msg);
		return 2;
	}
	if (listen_at) {
		int l = transport_listen(&a, 1, msg, sizeof(msg));
		if (l < 0) {
			fprintf(stderr, PROGRAM ": %s\n", msg);
			return 1;
		}
		printf("listening on %s\n", listen_at);
		fflush(stdout);
		fd = transport_accept(l, NULL, 0);
		close(l);
		if (fd < 0) {
			fprintf(stderr, PROGRAM ": accept: %s\n",
				strerror(-fd));
			return 1;
		}
	} else {
		fd = transport_connect(&a, msg, sizeof(msg));
		if (fd < 0) {
			fprintf(stderr, PROGRAM ": %s\n", msg);
			return 1;
		}
	}
	if (tls12)
		tls12_only(fd, timeout_ms);
	if (!plain && secure(fd, key, &pins, timeout_ms) < 0)
		return 1;
	int r = listen_at ? serve_import(fd, busid, timeout_ms)
			  : serve_export(fd, busid, unexport, timeout_ms);
	/* usbip-host holds its own reference. */
	close(fd);
	return r;
}
