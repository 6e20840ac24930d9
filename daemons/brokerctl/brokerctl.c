// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * usbip-brokerctl: tells usbip-brokerd what to export and shows what it
 * does. One request per run over the broker's control socket (common/
 * control.h has the protocol).
 *
 *   usbip-brokerctl list [--json]
 *   usbip-brokerctl status [--json]
 *   usbip-brokerctl export 1-2 [--to vsock:3:5000] [--force]
 *   usbip-brokerctl unexport 1-2
 *   usbip-brokerctl reload
 *   usbip-brokerctl show 1-2
 *   usbip-brokerctl generate-policy >policy.conf
 *   usbip-brokerctl keygen [--out DIR]   (local: no broker involved)
 *   usbip-brokerctl pin FILE
 *   usbip-brokerctl serve-fd [--fd N] [--qubes --busid BUSID] [--wait]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "ipc.h"
#include "macros.h"
#include "transport.h"
#ifdef HAVE_GNUTLS
#include "tls_key.h"
#endif

#define PROGRAM "usbip-brokerctl"

/* Besides EXIT_OK and EXIT_USAGE (macros.h). */
enum {
	EXIT_REFUSED = 1,     /* the broker said no */
	EXIT_UNREACHABLE = 3, /* no broker on the socket */
};

static const char *const list_fields[] = {
	"busid",    "id",     "product", "speed",	"driver",
	"exported", "policy", "vendor_name", "model_name"};
static const char *const status_fields[] = {
	"busid", "peer",     "direction", "pid",   "uptime_s",
	"urbs",	 "bytes_in", "bytes_out", "errors"};
/* Which fields are numbers in JSON. */
static const bool list_numeric[] = {0, 0, 0, 1, 0, 0, 0, 0, 0};
static const bool status_numeric[] = {0, 0, 0, 1, 1, 1, 1, 1, 1};

static void json_string(const char *s, size_t len)
{
	putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Rows of tab-separated fields as a table or as a JSON array. */
static void print_rows(char *rows, const char *const *fields,
		       const bool *numeric, size_t num_fields, bool json)
{
	bool first = true;

	if (json)
		putchar('[');
	else {
		for (size_t f = 0; f < num_fields; f++)
			printf("%s%s", f ? "\t" : "", fields[f]);
		putchar('\n');
	}
	for (char *line = strtok(rows, "\n"); line; line = strtok(NULL, "\n")) {
		if (!json) {
			puts(line);
			continue;
		}
		printf("%s{", first ? "" : ",");
		first = false;
		char *field = line;
		for (size_t f = 0; f < num_fields && field; f++) {
			char *tab = strchr(field, '\t');
			size_t len =
				tab ? (size_t)(tab - field) : strlen(field);
			printf("%s\"%s\":", f ? "," : "", fields[f]);
			if (numeric[f])
				printf("%.*s", (int)len, field);
			else
				json_string(field, len);
			field = tab ? tab + 1 : NULL;
		}
		putchar('}');
	}
	if (json)
		puts("]");
}

/* show's KEY TAB VALUE rows as aligned "key: value" lines. */
static void print_show(char *rows)
{
	for (char *line = strtok(rows, "\n"); line; line = strtok(NULL, "\n")) {
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		printf("%-14s %s\n", line, tab + 1);
	}
}

/* The identity commands work on files only: no broker is asked. */
#ifdef HAVE_GNUTLS
#define TLS_KEY_FILE_NAME TLS_KEY_FILE
#define TLS_PUB_FILE_NAME TLS_PUB_FILE
#define KEY_DEFAULT_DIR TLS_KEY_DEFAULT_DIR

static int keygen(const char *dir)
{
	struct tls_key *key = NULL;
	struct tls_pin pin;
	char msg[512], text[TLS_PIN_TEXT_SIZE];

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, PROGRAM ": %s: %s\n", dir, strerror(errno));
		return EXIT_FAIL;
	}
	int r = tls_key_generate(&key);
	if (r == 0)
		r = tls_key_pin(key, &pin);
	if (r < 0) {
		fprintf(stderr, PROGRAM ": cannot generate a key: %s\n",
			strerror(-r));
		tls_key_free(key);
		return EXIT_FAIL;
	}
	r = tls_key_write(key, dir, msg, sizeof(msg));
	tls_key_free(key);
	if (r < 0) {
		fprintf(stderr, PROGRAM ": %s\n", msg);
		return EXIT_FAIL;
	}
	tls_pin_format(&pin, text);
	fprintf(stderr,
		PROGRAM ": wrote %s/" TLS_KEY_FILE
			" (0600) and %s/" TLS_PUB_FILE
			"; the pin peers need:\n",
		dir, dir);
	puts(text);
	return EXIT_OK;
}

static int print_pin(const char *path)
{
	struct tls_pin pin;
	char msg[512], text[TLS_PIN_TEXT_SIZE];

	if (tls_pin_of_file(path, &pin, msg, sizeof(msg)) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", msg);
		return EXIT_FAIL;
	}
	tls_pin_format(&pin, text);
	puts(text);
	return EXIT_OK;
}
#else
#define TLS_KEY_FILE_NAME "identity.key"
#define TLS_PUB_FILE_NAME "identity.pub"
#define KEY_DEFAULT_DIR "/etc/usbip-broker"

static int keygen(const char *dir)
{
	(void)dir;
	fprintf(stderr, PROGRAM ": built without GnuTLS: no keygen\n");
	return EXIT_FAIL;
}

static int print_pin(const char *path)
{
	(void)path;
	fprintf(stderr, PROGRAM ": built without GnuTLS: no pin\n");
	return EXIT_FAIL;
}
#endif

/* One request (with pass_fd, if >= 0, as SCM_RIGHTS) and its reply into
 * reply (NUL-terminated, "ok\n" and rows). An exit status. */
static int ask(const char *socket_path, const char *request, size_t n,
	       int pass_fd, char *reply, size_t reply_len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, PROGRAM ": socket path too long\n");
		return EXIT_USAGE;
	}
	strcpy(sa.sun_path, socket_path);
	_cleanup_close_ int fd =
		socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int r = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r < 0 && (errno == EACCES || errno == EPERM)) {
		/* The broker runs; the socket's mode keeps this user out. */
		fprintf(stderr,
			PROGRAM ": %s: permission denied: root and members of "
				"the broker's --control-group only\n",
			socket_path);
		return EXIT_REFUSED;
	}
	if (r < 0) {
		fprintf(stderr,
			PROGRAM ": %s: %s (is usbip-brokerd running?)\n",
			socket_path, strerror(errno));
		return EXIT_UNREACHABLE;
	}
	ssize_t got = -1;
	if (ipc_send_datagram(fd, request, n, pass_fd) == 0)
		got = recv(fd, reply, reply_len - 1, 0);
	if (got <= 0) {
		fprintf(stderr, PROGRAM ": no reply from the broker\n");
		return EXIT_UNREACHABLE;
	}
	reply[got] = '\0';
	if (!strncmp(reply, "error\t", 6)) {
		fprintf(stderr, PROGRAM ": %s", reply + 6);
		return EXIT_REFUSED;
	}
	if (strncmp(reply, "ok\n", 3)) {
		fprintf(stderr, PROGRAM ": a reply that makes no sense\n");
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}

/* Whether the broker still lists worker pid in its sessions. */
static bool session_alive(const char *socket_path, long pid)
{
	static char reply[CONTROL_REPLY_MAX + 1];

	if (ask(socket_path, "status", 6, -1, reply, sizeof(reply)) != EXIT_OK)
		return false;
	for (char *line = strtok(reply + 3, "\n"); line;
	     line = strtok(NULL, "\n")) {
		char *field = line;
		for (int f = 0; f < 3 && field; f++) {
			field = strchr(field, '\t');
			field = field ? field + 1 : NULL;
		}
		if (field && strtol(field, NULL, 10) == pid)
			return true;
	}
	return false;
}

/*
 * serve-fd: hands fd to the broker. Our copy of the socket is closed
 * (stdin and stdout become /dev/null, as the stock usb-export does), so
 * the connection lives exactly as long as its worker. With wait, this
 * process stays until the session ends: qrexec ends the connection when
 * the service process exits.
 */
static int serve_fd(const char *socket_path, int fd, bool qubes,
		    const char *busid, bool wait)
{
	static char reply[CONTROL_REPLY_MAX + 1];
	char request[CONTROL_REQUEST_MAX];
	int n = snprintf(request, sizeof(request), "serve-fd%s%s",
			 qubes ? " qubes " : "", qubes ? busid : "");

	if (n < 0 || (size_t)n >= sizeof(request)) {
		fprintf(stderr, PROGRAM ": busid too long\n");
		return EXIT_USAGE;
	}
	int r = ask(socket_path, request, (size_t)n, fd, reply, sizeof(reply));
	if (r != EXIT_OK)
		return r;
	long pid = strtol(reply + 3, NULL, 10);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, fd);
		if (fd == 0)
			dup2(null, 1);
		if (null != fd)
			close(null);
	}
	fprintf(stderr, PROGRAM ": served by worker %ld\n", pid);
	while (wait && pid > 0 && session_alive(socket_path, pid))
		sleep(1);
	return EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROGRAM " [--control PATH] COMMAND\n"
		"\n"
		"Commands:\n"
		"  list [--json]                 USB devices: busid, vid:pid, "
		"product,\n"
		"                                speed, host driver, exported, "
		"policy\n"
		"                                verdict (deny, allow or auto, "
		":line)\n"
		"  status [--json]               sessions: busid, peer, "
		"direction,\n"
		"                                worker pid, uptime, URBs, "
		"bytes "
		"in and\n"
		"                                out, errors\n"
		"  export BUSID [--to ADDR] [--force]\n"
		"                                export (and with --to, dial "
		"out "
		"to ADDR\n"
		"                                and keep redialling); a disk "
		"whose\n"
		"                                file systems are mounted is "
		"refused,\n"
		"                                naming the mount points, "
		"unless --force\n"
		"  unexport BUSID                end its session, give it back "
		"to the\n"
		"                                host's drivers\n"
		"  show BUSID                    one device: descriptors, "
		"interfaces,\n"
		"                                hwdb names, the policy's "
		"verdict and\n"
		"                                rule, its session and dial "
		"state\n"
		"  generate-policy               an allow rule per device "
		"present (ids,\n"
		"                                serial, interface types), "
		"then deny\n"
		"  reload                        read the policy again (a bad "
		"file\n"
		"                                is refused with file:line; "
		"the "
		"old\n"
		"                                policy stays)\n"
		"  keygen [--out DIR]            a new Ed25519 identity: "
		"DIR/" TLS_KEY_FILE_NAME "\n"
		"                                (mode 0600) and "
		"DIR/" TLS_PUB_FILE_NAME ", never\n"
		"                                over an existing key; prints "
		"its pin\n"
		"                                (DIR: %s)\n"
		"  pin FILE                      the pin (SHA256:...) of a key "
		"file\n"
		"  serve-fd [--fd N] [--qubes --busid BUSID] [--wait]\n"
		"                                hand the connected socket on "
		"stdin\n"
		"                                (or fd N) to the broker, "
		"served as\n"
		"                                an import ('from fd' in the "
		"policy);\n"
		"                                --qubes: BUSID alone, with "
		"the Qubes\n"
		"                                qubes.USB handshake; --wait "
		"(implied\n"
		"                                by --qubes): stay until the "
		"session\n"
		"                                ends\n"
		"\n"
		"  --control PATH  the broker's control socket (default %s;\n"
		"                  --socket is the old name)\n"
		"  --version       print the version and exit\n"
		"\n"
		"Exit status: 0 done, 1 the broker refused (keygen, pin: "
		"failed),\n"
		"2 usage, 3 no broker.\n",
		KEY_DEFAULT_DIR, CONTROL_DEFAULT_PATH);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"control", required_argument, NULL, 's'},
		/* The old name, as usbip-brokerd calls it --control. */
		{"socket", required_argument, NULL, 's'},
		{"to", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"out", required_argument, NULL, 'o'},
		{"fd", required_argument, NULL, 'f'},
		{"busid", required_argument, NULL, 'b'},
		{"qubes", no_argument, NULL, 'q'},
		{"wait", no_argument, NULL, 'w'},
		{"force", no_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	const char *busid = NULL;
	bool qubes = false, wait = false, force = false;
	int pass_fd = -1;
	const char *socket_path = CONTROL_DEFAULT_PATH, *to = NULL;
	const char *out_dir = NULL;
	static char reply[CONTROL_REPLY_MAX + 1];
	char request[CONTROL_REQUEST_MAX + 1];
	bool json = false;
	int c, n;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 't':
			/* Empty: none (a unit passes "${TO}" unset). */
			to = *optarg ? optarg : NULL;
			break;
		case 'j':
			json = true;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'f': {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 0 ||
			    v > 65535) {
				return cli_usage_error(PROGRAM,
						       "--fd takes a descriptor "
						       "number");
			}
			pass_fd = (int)v;
			break;
		}
		case 'b':
			busid = optarg;
			break;
		case 'q':
			qubes = true;
			break;
		case 'w':
			wait = true;
			break;
		case 'F':
			force = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			cli_version(PROGRAM);
			return EXIT_OK;
		default:
			return cli_option_error(PROGRAM, argv, c);
		}
	}
	int args = argc - optind;
	const char *verb = args > 0 ? argv[optind] : "";
	if (!strcmp(verb, "keygen") && args == 1 && !to && !json)
		return keygen(out_dir ? out_dir : KEY_DEFAULT_DIR);
	if (!strcmp(verb, "pin") && args == 2 && !to && !json && !out_dir)
		return print_pin(argv[optind + 1]);
	bool serving = !strcmp(verb, "serve-fd");
	if (serving && args == 1 && !to && !json && !out_dir &&
	    qubes == (busid != NULL))
		return serve_fd(socket_path, pass_fd < 0 ? 0 : pass_fd, qubes,
				busid, wait || qubes);
	if (out_dir)
		return cli_usage_error(PROGRAM, "--out is for keygen");
	if (serving || busid || qubes || wait || pass_fd >= 0)
		return cli_usage_error(PROGRAM,
				       "--fd, --busid, --qubes and --wait are "
				       "for serve-fd (--qubes with --busid)");
	bool listing = !strcmp(verb, "list") || !strcmp(verb, "status");
	bool bare = !strcmp(verb, "reload") || !strcmp(verb, "generate-policy");
	bool with_busid = !strcmp(verb, "export") ||
			  !strcmp(verb, "unexport") || !strcmp(verb, "show");
	if (((listing || bare) && args != 1) || (with_busid && args != 2) ||
	    (!listing && !with_busid && !bare) ||
	    ((to || force) && strcmp(verb, "export")) || (json && !listing))
		return cli_usage_error(PROGRAM,
				       "unknown command or wrong arguments: "
				       "'%s'",
				       verb);
	/* The broker would refuse it too, but a mistyped address is a
	 * usage error in every program (exit 2), told before connecting. */
	struct transport_addr to_addr;
	char msg[256];
	if (to && transport_parse_tls(to, &to_addr, msg, sizeof(msg)) < 0)
		return cli_usage_error(PROGRAM, "--to %s", msg);
	n = snprintf(request, sizeof(request), "%s%s%s%s%s%s", verb,
		     with_busid ? " " : "", with_busid ? argv[optind + 1] : "",
		     to ? " " : "", to ? to : "", force ? " force" : "");
	if (n < 0 || (size_t)n >= sizeof(request)) {
		fprintf(stderr, PROGRAM ": request too long\n");
		return EXIT_USAGE;
	}
	int r = ask(socket_path, request, (size_t)n, -1, reply, sizeof(reply));
	if (r != EXIT_OK)
		return r;
	if (!strcmp(verb, "list"))
		print_rows(reply + 3, list_fields, list_numeric,
			   ARRAY_SIZE(list_fields), json);
	else if (!strcmp(verb, "status"))
		print_rows(reply + 3, status_fields, status_numeric,
			   ARRAY_SIZE(status_fields), json);
	else if (!strcmp(verb, "show"))
		print_show(reply + 3);
	else if (!strcmp(verb, "generate-policy"))
		fputs(reply + 3, stdout); /* policy text, one line a row */
	return EXIT_OK;
}
