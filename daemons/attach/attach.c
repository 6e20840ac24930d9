// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * usbip-attach: the importing machine's half. It connects to a device
 * server (import) or accepts the device side's call (export), checks the
 * handshake, and hands the socket to the kernel's vhci_hcd. Everything the
 * peer says is untrusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "callers.h"
#include "cli.h"
#include "handshake.h"
#include "log.h"
#include "macros.h"
#include "op_io.h"
#ifdef HAVE_GNUTLS
#include "tls_client.h"
#include "tls_ktls.h"
#include "tls_module.h"
#endif
#include "transport.h"
#include "usb_hwdb.h"
#include "usb_sysfs.h"
#include "vhci.h"
#include "wire.h"

#define PROGRAM "usbip-attach"
#define MAX_LISTEN 16
#define MAX_ALLOW 32
#define ATTACH_RETRIES 8
#define RECONNECT_MAX_S 60
#define ATTACH_KEY_DEFAULT_TEXT "/etc/usbip-broker/identity.key"

static volatile sig_atomic_t stop_requested;
static int handshake_timeout_ms = OP_IO_TIMEOUT_MS;

#ifdef HAVE_GNUTLS
/* For tls: addresses: our key and the peers we accept. */
static struct attach_tls tls_cfg = {.key_path = ATTACH_TLS_DEFAULT_KEY};
/* Our own pin, once a handshake has told us, for the refusal hint. */
static char our_pin[TLS_PIN_TEXT_SIZE];
#endif
static bool tls_options_given;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const char *speed_name(uint32_t speed)
{
	static const char *const names[] = {"unknown",	 "low",	     "full",
					    "high",	 "wireless", "super",
					    "super-plus"};
	return speed < ARRAY_SIZE(names) ? names[speed] : "unknown";
}

/* "tcp:HOST:PORT" and friends split into the record's HOST and SERVICE. */
static void split_peer(const char *peer, char *host, size_t host_len,
		       char *service, size_t service_len)
{
	const char *colon;

	/* The record is upstream's: host and port, whatever the layer. */
	if (!strncmp(peer, TRANSPORT_TLS_PREFIX,
		     sizeof(TRANSPORT_TLS_PREFIX) - 1))
		peer += sizeof(TRANSPORT_TLS_PREFIX) - 1;
	colon = strrchr(peer, ':');
	if (!strncmp(peer, "tcp:", 4) && colon && colon > peer + 4) {
		size_t n = (size_t)(colon - peer - 4);
		const char *h = peer + 4;
		if (h[0] == '[' && n >= 2 && h[n - 1] == ']') {
			h++;
			n -= 2;
		}
		snprintf(host, host_len, "%.*s", (int)n, h);
		snprintf(service, service_len, "%s", colon + 1);
	} else if (!strncmp(peer, "vsock:", 6) && colon && colon > peer + 6) {
		snprintf(host, host_len, "%.*s", (int)(colon - peer), peer);
		snprintf(service, service_len, "%s", colon + 1);
	} else {
		snprintf(host, host_len, "%s", peer);
		snprintf(service, service_len, "-");
	}
	/* The record is space-separated; a path with spaces must not
	 * break it. */
	for (char *p = host; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n')
			*p = '_';
}

/*
 * Hands a checked socket to vhci_hcd on a free port of the right hub.
 * Another attacher may take the chosen port between our read and our
 * write; the kernel then refuses and we pick again.
 */
static int attach_socket(const struct vhci *v, int sockfd,
			 const struct usbip_device_info *d, const char *peer)
{
	uint32_t devid = d->busnum << 16 | d->devnum;
	char host[TRANSPORT_ADDR_STR_MAX], service[32];
	int r = -EBUSY;

	for (int attempt = 0; attempt < ATTACH_RETRIES; attempt++) {
		_cleanup_free_ struct vhci_port *ports = NULL;
		size_t n;
		int port;

		r = vhci_read_ports(v, &ports, &n);
		if (r < 0) {
			log_line("reading vhci_hcd status: %s", strerror(-r));
			return r;
		}
		port = vhci_pick_port(ports, n, d->speed);
		if (port < 0) {
			log_line("no free %s-speed port on vhci_hcd",
				 vhci_hub_for_speed(d->speed) ==
						 VHCI_HUB_SUPER_SPEED
					 ? "super"
					 : "high");
			return port;
		}
		r = vhci_attach(v, (unsigned)port, sockfd, devid, d->speed);
		if (r == 0) {
			split_peer(peer, host, sizeof(host), service,
				   sizeof(service));
			int w = vhci_record_write((unsigned)port, host, service,
						  d->busid);
			if (w < 0)
				log_line("port %d: cannot record the remote "
					 "end: %s",
					 port, strerror(-w));
			return port;
		}
		if (r != -EBUSY && r != -EINVAL)
			break;
		/* Taken under our feet, or refused: look again. */
	}
	log_line("attaching to vhci_hcd failed: %s", strerror(-r));
	return r;
}

/*
 * The TLS client handshake on a connected socket, kTLS installed both
 * ways before this returns 0: everything after it, the USB/IP handshake
 * included, is encrypted by the kernel.
 */
static int secure(int fd, const char *who)
{
#ifdef HAVE_GNUTLS
	struct tls_pin peer, ours;
	char msg[320];
	int r = attach_tls_client(fd, &tls_cfg, &peer, &ours, msg, sizeof(msg));

	if (r < 0) {
		/* A plain USB/IP server drops a TLS hello it cannot read. */
		log_line("%s: TLS refused: %s%s", who, msg,
			 r == -ECONNRESET ? " (a plain USB/IP peer?)" : "");
		return r;
	}
	tls_pin_format(&ours, our_pin);
	log_line("%s: %s", who, msg);
	return 0;
#else
	(void)fd;
	log_line("%s: this usbip-attach was built without TLS (GnuTLS)", who);
	return -EPROTONOSUPPORT;
#endif
}

/* A USB/IP handshake that failed after TLS: TLS 1.3 lets the client
 * finish before the server judged its key, so a refused client learns
 * it here (docs/tls.md, "What is left", 4). */
static void log_handshake_failure(const char *address, bool tls,
				  const char *msg)
{
#ifdef HAVE_GNUTLS
	if (tls) {
		log_line("%s: %s (over TLS: the server may not have pinned "
			 "our key %s)",
			 address, msg, our_pin);
		return;
	}
#endif
	(void)tls;
	log_line("%s: %s", address, msg);
}

static int connect_to(const char *text, struct transport_addr *a)
{
	char msg[256];
	int r = transport_parse_tls(text, a, msg, sizeof(msg));

	if (r < 0) {
		log_line("%s", msg);
		return r;
	}
	_cleanup_close_ int fd = transport_connect(a, msg, sizeof(msg));
	if (fd < 0) {
		log_line("%s", msg);
		return fd;
	}
	if (a->tls && (r = secure(fd, text)) < 0)
		return r;
	return take_fd(&fd);
}

static int cmd_list(const char *address)
{
	struct transport_addr a;
	struct usbip_op_message reply;
	char msg[256];
	_cleanup_close_ int fd = connect_to(address, &a);
	int r;

	if (fd < 0)
		return EXIT_FAIL;
	r = handshake_devlist(fd, handshake_timeout_ms, &reply, msg,
			      sizeof(msg));
	if (r < 0) {
		log_handshake_failure(address, a.tls, msg);
		return EXIT_FAIL;
	}
	printf("%u device%s exported by %s\n", reply.num_devices,
	       reply.num_devices == 1 ? "" : "s", address);
	for (uint32_t i = 0; i < reply.num_devices; i++) {
		const struct usbip_devlist_entry *e = &reply.devices[i];
		const struct usbip_device_info *d = &e->device;
		printf("  %s: %04x:%04x %s-speed, class %02x/%02x/%02x, "
		       "configuration %u of %u, interfaces:",
		       d->busid, d->id_vendor, d->id_product,
		       speed_name(d->speed), d->device_class,
		       d->device_subclass, d->device_protocol,
		       d->configuration_value, d->num_configurations);
		for (unsigned j = 0; j < d->num_interfaces; j++)
			printf(" %02x/%02x/%02x",
			       e->interfaces[j].interface_class,
			       e->interfaces[j].interface_subclass,
			       e->interfaces[j].interface_protocol);
		printf("\n");
	}
	usbip_op_message_clear(&reply);
	return EXIT_OK;
}

/* One import: connect, handshake, attach. Returns the port or -errno. */
static int import_once(const struct vhci *v, const char *address,
		       const char *busid)
{
	struct transport_addr a;
	struct usbip_device_info d;
	char msg[256], peer[TRANSPORT_ADDR_STR_MAX];
	_cleanup_close_ int fd = connect_to(address, &a);
	int r;

	if (fd < 0)
		return fd;
	r = handshake_import(fd, busid, handshake_timeout_ms, &d, msg,
			     sizeof(msg));
	if (r < 0) {
		log_handshake_failure(address, a.tls, msg);
		return r;
	}
	transport_format(&a, peer, sizeof(peer));
	r = attach_socket(v, fd, &d, peer);
	if (r >= 0)
		printf("%s/%s (%04x:%04x, %s-speed) attached at port %d\n",
		       peer, d.busid, d.id_vendor, d.id_product,
		       speed_name(d.speed), r);
	fflush(stdout);
	/* vhci_hcd holds its own reference; ours closes here. */
	return r;
}

/* Whether our attachment at port still stands (the kernel frees the port
 * when the peer goes away). */
static bool still_attached(const struct vhci *v, unsigned port)
{
	_cleanup_free_ struct vhci_port *ports = NULL;
	size_t n;

	if (vhci_read_ports(v, &ports, &n) < 0)
		return true; /* cannot tell: do not reconnect blindly */
	for (size_t i = 0; i < n; i++)
		if (ports[i].port == port)
			return ports[i].state != VHCI_PORT_FREE;
	return false;
}

static void sleep_interruptible(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000};
	while (!stop_requested && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * The port for qubes.USBDetach, whole or not at all: written beside the
 * file and renamed over it, so that a crash or a full disk never leaves
 * a reader an empty or half-written number (or another device's port).
 */
static int write_state_file(const char *path, int port)
{
	char tmp[PATH_MAX];
	char line[16];
	int n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);

	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = snprintf(line, sizeof(line), "%d\n", port);
	if (fchmod(fd, 0644) < 0 || write(fd, line, (size_t)n) != n ||
	    fsync(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

/*
 * The importing half of Qubes' qubes.USB (the stock usb-import): the
 * device side's one line "DEVID SPEED" on ADDR (fd:0 under qrexec), the
 * socket to vhci_hcd, the port into state_file for qubes.USBDetach, and
 * then this process stays until the port is free again: qrexec ends the
 * connection when the service process exits.
 */
static int cmd_connect_qubes(const char *address, const char *busid,
			     const char *state_file)
{
	struct transport_addr a;
	struct usbip_device_info d;
	struct vhci v;
	char msg[256];
	int port;

	if (vhci_open(&v, msg, sizeof(msg)) < 0) {
		log_line("%s", msg);
		return EXIT_FAIL;
	}
	_cleanup_close_ int fd = connect_to(address, &a);
	if (fd < 0)
		return EXIT_FAIL;
	if (handshake_qubes(fd, busid, handshake_timeout_ms, &d, msg,
			    sizeof(msg)) < 0) {
		log_line("%s: Qubes handshake refused: %s", address, msg);
		return EXIT_FAIL;
	}
	port = attach_socket(&v, fd, &d, "qubes");
	if (port < 0)
		return EXIT_FAIL;
	log_line("%s (Qubes, devid %u, %s-speed) attached at port %d", busid,
		 d.busnum << 16 | d.devnum, speed_name(d.speed), port);
	if (state_file && write_state_file(state_file, port) < 0)
		log_line("%s: cannot write the port: %m", state_file);
	/* vhci_hcd holds the socket now; no copy of ours may keep it open
	 * (under qrexec, stdin and stdout are both the socket). */
	int sock = take_fd(&fd), null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (sock <= 1 && null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	} else {
		close(sock);
	}
	if (null > 1)
		close(null);
	while (!stop_requested && still_attached(&v, (unsigned)port))
		sleep_interruptible(1000);
	if (stop_requested) {
		vhci_detach(&v, (unsigned)port);
		log_line("detached port %d on request", port);
	}
	vhci_record_remove((unsigned)port);
	return EXIT_OK;
}

static int cmd_connect(const char *address, const char *busid, bool reconnect)
{
	struct vhci v;
	char msg[256];
	unsigned backoff_s = 1;
	int port;

	if (vhci_open(&v, msg, sizeof(msg)) < 0) {
		log_line("%s", msg);
		return EXIT_FAIL;
	}
	if (!reconnect)
		return import_once(&v, address, busid) >= 0 ? EXIT_OK
							    : EXIT_FAIL;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	while (!stop_requested) {
		port = import_once(&v, address, busid);
		if (port < 0) {
			/* Exponential backoff with jitter, so that many
			 * clients of one restarted server do not return
			 * in lockstep. */
			unsigned ms =
				backoff_s * 1000 + (unsigned)(rand() % 1000);
			log_line("retrying in %u.%03u s", ms / 1000, ms % 1000);
			sleep_interruptible(ms);
			if (backoff_s < RECONNECT_MAX_S)
				backoff_s *= 2;
			continue;
		}
		backoff_s = 1;
		while (!stop_requested && still_attached(&v, (unsigned)port))
			sleep_interruptible(1000);
		if (stop_requested) {
			vhci_detach(&v, (unsigned)port);
			vhci_record_remove((unsigned)port);
			log_line("detached port %d on request", port);
			break;
		}
		vhci_record_remove((unsigned)port);
		log_line("port %d: the connection to %s ended; reconnecting",
			 port, address);
	}
	return EXIT_OK;
}

static bool allowed(const char *busid, char *const *allow, size_t nallow)
{
	if (nallow == 0)
		return true;
	for (size_t i = 0; i < nallow; i++)
		if (fnmatch(allow[i], busid, 0) == 0)
			return true;
	return false;
}

/* The port whose record names this peer host and busid. */
static int find_recorded(const struct vhci *v, const char *peer,
			 const char *busid)
{
	_cleanup_free_ struct vhci_port *ports = NULL;
	char host[TRANSPORT_ADDR_STR_MAX], service[32];
	char rhost[TRANSPORT_ADDR_STR_MAX], rservice[32], rbusid[32];
	size_t n;

	split_peer(peer, host, sizeof(host), service, sizeof(service));
	if (vhci_read_ports(v, &ports, &n) < 0)
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		if (ports[i].state == VHCI_PORT_FREE)
			continue;
		if (vhci_record_read(ports[i].port, rhost, sizeof(rhost),
				     rservice, sizeof(rservice), rbusid,
				     sizeof(rbusid)) == 0 &&
		    !strcmp(rhost, host) && !strcmp(rbusid, busid))
			return (int)ports[i].port;
	}
	return -ENOENT;
}

/*
 * The device side called: it says OP_REQ_EXPORT with its device. The reply
 * goes out before the attach, so that no URB from vhci_hcd can overtake
 * it on the socket; if the attach then fails, closing the socket tells
 * the device side.
 */
static void serve_export(const struct vhci *v, int fd, const char *peer,
			 char *const *allow, size_t nallow)
{
	struct usbip_op_message req;
	char msg[256];
	int r, port;

	r = handshake_export_receive(fd, handshake_timeout_ms, &req, msg,
				     sizeof(msg));
	if (r < 0) {
		log_line("%s: refused: %s", peer, msg);
		return;
	}
	const struct usbip_device_info *d = &req.device;
	if (req.header.code == USBIP_OP_REQ_UNEXPORT) {
		port = find_recorded(v, peer, d->busid);
		if (port >= 0 && vhci_detach(v, (unsigned)port) == 0) {
			vhci_record_remove((unsigned)port);
			log_line("%s/%s: unexported, port %d detached", peer,
				 d->busid, port);
		} else {
			log_line("%s/%s: unexport of a device not attached",
				 peer, d->busid);
		}
		handshake_export_reply(fd, USBIP_OP_REP_UNEXPORT, port >= 0);
		return;
	}
	if (!allowed(d->busid, allow, nallow)) {
		log_line("%s/%s: refused: busid not allowed by --allow", peer,
			 d->busid);
		handshake_export_reply(fd, USBIP_OP_REP_EXPORT, false);
		return;
	}
	{
		_cleanup_free_ struct vhci_port *ports = NULL;
		size_t n;
		if (vhci_read_ports(v, &ports, &n) < 0 ||
		    vhci_pick_port(ports, n, d->speed) < 0) {
			log_line("%s/%s: refused: no free port", peer,
				 d->busid);
			handshake_export_reply(fd, USBIP_OP_REP_EXPORT, false);
			return;
		}
	}
	if (handshake_export_reply(fd, USBIP_OP_REP_EXPORT, true) < 0) {
		log_line("%s/%s: peer went away before the reply", peer,
			 d->busid);
		return;
	}
	port = attach_socket(v, fd, d, peer);
	if (port >= 0)
		log_line("%s/%s (%04x:%04x, %s-speed) attached at port %d",
			 peer, d->busid, d->id_vendor, d->id_product,
			 speed_name(d->speed), port);
}

static int listen_fds_from_systemd(int *fds, size_t max)
{
#ifdef HAVE_LIBSYSTEMD
	int n = sd_listen_fds(1);
	if (n <= 0)
		return n;
	if ((size_t)n > max)
		n = (int)max;
	for (int i = 0; i < n; i++)
		fds[i] = SD_LISTEN_FDS_START + i;
	return n;
#else
	(void)fds;
	(void)max;
	return 0;
#endif
}

/* Before a byte of the caller's request is read: a refused caller never
 * gets as far as naming a device. */
static bool admit(const struct callers *callers, int fd)
{
	char who[TRANSPORT_ADDR_STR_MAX + 64];
	int r = callers_admit(callers, fd, who, sizeof(who));

	if (r == 0)
		return true;
	log_line("%s: refused: %s", who,
		 r == -EACCES ? callers_refusal(callers, fd)
			      : "no peer address");
	return false;
}

static int check_listener(const struct callers *callers, int fd)
{
	char msg[512];

	if (callers_check_listener(callers, fd, msg, sizeof(msg)) == 0)
		return 0;
	log_line("%s", msg);
	return -EPERM;
}

/* A caller let in by --from: TLS first where the listener says tls:. */
static void serve_caller(const struct vhci *v, int fd, bool tls,
			 const char *peer, char *const *allow, size_t nallow)
{
	if (tls && secure(fd, peer) < 0)
		return;
	serve_export(v, fd, peer, allow, nallow);
}

static int cmd_listen(char **addresses, size_t naddr, char *const *allow,
		      size_t nallow, const struct callers *callers)
{
	struct vhci v;
	int fds[MAX_LISTEN];
	bool tls[MAX_LISTEN] = {false};
	size_t nfds = 0;
	char msg[256];

	if (vhci_open(&v, msg, sizeof(msg)) < 0) {
		log_line("%s", msg);
		return EXIT_FAIL;
	}
	if (naddr == 0) {
		int n = listen_fds_from_systemd(fds, MAX_LISTEN);
		if (n <= 0) {
			log_line("listen: no address given and no sockets "
				 "passed "
				 "by systemd");
			return EXIT_USAGE;
		}
		nfds = (size_t)n;
		for (size_t i = 0; i < nfds; i++)
			if (check_listener(callers, fds[i]) < 0)
				return EXIT_USAGE;
	}
	for (size_t i = 0; i < naddr; i++) {
		struct transport_addr a;
		int fd;
		if (nfds == MAX_LISTEN) {
			log_line("at most %d listening addresses", MAX_LISTEN);
			return EXIT_USAGE;
		}
		if (transport_parse_tls(addresses[i], &a, msg, sizeof(msg)) <
		    0) {
			log_line("%s", msg);
			return EXIT_USAGE;
		}
		if (a.kind == TRANSPORT_FD) {
			/* Inherited: a listener, or one connection already
			 * accepted for us (inetd style, ssh, qrexec). */
			fd = transport_listen(&a, 0, NULL, 0);
			if (fd < 0) {
				fd = transport_connect(&a, msg, sizeof(msg));
				if (fd < 0) {
					log_line("%s", msg);
					return EXIT_FAIL;
				}
				if (admit(callers, fd))
					serve_caller(&v, fd, a.tls,
						     addresses[i], allow,
						     nallow);
				close(fd);
				continue;
			}
			if (check_listener(callers, fd) < 0) {
				close(fd);
				return EXIT_USAGE;
			}
		} else {
			fd = transport_listen(&a, 16, msg, sizeof(msg));
			if (fd < 0) {
				log_line("%s", msg);
				return EXIT_FAIL;
			}
			if (check_listener(callers, fd) < 0) {
				close(fd);
				return EXIT_USAGE;
			}
		}
		log_line("listening on %s", addresses[i]);
		tls[nfds] = a.tls;
		fds[nfds++] = fd;
	}
	if (nfds == 0)
		return EXIT_OK;
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "READY=1");
#endif

	while (!stop_requested) {
		struct pollfd pfd[MAX_LISTEN];
		for (size_t i = 0; i < nfds; i++)
			pfd[i] =
				(struct pollfd){.fd = fds[i], .events = POLLIN};
		int r = poll(pfd, nfds, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_line("poll: %s", strerror(errno));
			return EXIT_FAIL;
		}
		for (size_t i = 0; i < nfds; i++) {
			char peer[TRANSPORT_ADDR_STR_MAX] = "";
			if (!(pfd[i].revents & POLLIN))
				continue;
			int c = transport_accept(fds[i], peer, sizeof(peer));
			if (c < 0) {
				if (c != -EAGAIN && c != -EINTR)
					log_line("accept: %s", strerror(-c));
				continue;
			}
			/* One handshake at a time, each bounded by the
			 * handshake timeout: a silent peer delays the next
			 * caller by at most that. */
			if (admit(callers, c))
				serve_caller(&v, c, tls[i], peer, allow,
					     nallow);
			close(c);
		}
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	return EXIT_OK;
}

/* ", vvvv:pppp Vendor Model" of the local device a port has, from sysfs
 * and udev's hardware database; nothing when sysfs has no such device
 * (yet). */
static void print_local_names(struct udev_hwdb *hwdb, const char *busid)
{
	char vendor[128], model[128];
	unsigned long vid, pid;

	if (!usb_busid_valid(busid) ||
	    usb_sysfs_number(busid, "idVendor", 16, 0xffff, &vid) < 0 ||
	    usb_sysfs_number(busid, "idProduct", 16, 0xffff, &pid) < 0)
		return;
	usb_hwdb_names(hwdb, (uint16_t)vid, (uint16_t)pid, vendor,
		       sizeof(vendor), model, sizeof(model));
	printf(", %04lx:%04lx", vid, pid);
	if (vendor[0] || model[0])
		printf(" %s%s%s", vendor, vendor[0] && model[0] ? " " : "",
		       model);
}

static int cmd_port(void)
{
	struct vhci v;
	_cleanup_free_ struct vhci_port *ports = NULL;
	size_t n, used = 0;
	char msg[256], host[256], service[64], busid[32];

	if (vhci_open(&v, msg, sizeof(msg)) < 0) {
		log_line("%s", msg);
		return EXIT_FAIL;
	}
	if (vhci_read_ports(&v, &ports, &n) < 0) {
		log_line("cannot read vhci_hcd status");
		return EXIT_FAIL;
	}
	struct udev_hwdb *hwdb = usb_hwdb_open();
	for (size_t i = 0; i < n; i++) {
		const struct vhci_port *p = &ports[i];
		if (p->state == VHCI_PORT_FREE)
			continue;
		used++;
		printf("port %u: %s-speed, remote bus %u device %u, local %s",
		       p->port, speed_name(p->speed), p->devid >> 16,
		       p->devid & 0xffff, p->local_busid);
		print_local_names(hwdb, p->local_busid);
		if (vhci_record_read(p->port, host, sizeof(host), service,
				     sizeof(service), busid,
				     sizeof(busid)) == 0)
			printf(", from %s:%s/%s", host, service, busid);
		printf("\n");
	}
	usb_hwdb_close(hwdb);
	if (!used)
		printf("no attached devices\n");
	return EXIT_OK;
}

static int cmd_detach(const char *which)
{
	struct vhci v;
	char msg[256];
	int status = EXIT_OK;

	if (vhci_open(&v, msg, sizeof(msg)) < 0) {
		log_line("%s", msg);
		return EXIT_FAIL;
	}
	if (strcmp(which, "--all") == 0) {
		_cleanup_free_ struct vhci_port *ports = NULL;
		size_t n;
		if (vhci_read_ports(&v, &ports, &n) < 0)
			return EXIT_FAIL;
		for (size_t i = 0; i < n; i++) {
			if (ports[i].state == VHCI_PORT_FREE)
				continue;
			if (vhci_detach(&v, ports[i].port) < 0)
				status = EXIT_FAIL;
			vhci_record_remove(ports[i].port);
			printf("port %u detached\n", ports[i].port);
		}
		return status;
	}
	char *end;
	errno = 0;
	unsigned long port = strtoul(which, &end, 10);
	if (errno || *end || which[0] < '0' || which[0] > '9' ||
	    port >= v.nports) {
		log_line("'%s' is not a port (0 to %u) or --all", which,
			 v.nports - 1);
		return EXIT_USAGE;
	}
	int r = vhci_detach(&v, (unsigned)port);
	if (r < 0) {
		log_line("port %lu: %s", port,
			 r == -EINVAL ? "nothing attached there"
				      : strerror(-r));
		return EXIT_FAIL;
	}
	vhci_record_remove((unsigned)port);
	printf("port %lu detached\n", port);
	return EXIT_OK;
}

/*
 * Before anything connects: a tls: address needs pins (never trust on
 * first use), a transport the kernel's TLS runs on, and tls.ko; TLS
 * options without a tls: address would suggest a protection that is not
 * there. 0, or an exit status.
 */
static int tls_preflight(char *const *addresses, size_t n)
{
	struct transport_addr a;
	size_t ntls = 0;

	for (size_t i = 0; i < n; i++) {
		if (transport_parse_tls(addresses[i], &a, NULL, 0) < 0 ||
		    !a.tls)
			continue; /* the command reports a bad address */
		ntls++;
		if (a.kind != TRANSPORT_TCP && a.kind != TRANSPORT_FD) {
			log_line("%s: vhci_hcd reads through the kernel's "
				 "TLS, which runs on TCP only: use "
				 "tls:tcp: or tls:fd: with a TCP socket",
				 addresses[i]);
			return EXIT_USAGE;
		}
	}
	if (ntls == 0) {
		if (tls_options_given) {
			log_line("--key, --peer and --peers are for tls: "
				 "addresses");
			return EXIT_USAGE;
		}
		return 0;
	}
#ifdef HAVE_GNUTLS
	char msg[320];
	if (tls_cfg.pins.count == 0) {
		log_line("a tls: address needs the peer's pin: --peer "
			 "SHA256:... or --peers FILE (usbip-attach never "
			 "trusts a key it was not given)");
		return EXIT_USAGE;
	}
	if (tls_module_load_default(msg, sizeof(msg)) < 0) {
		log_line("%s", msg);
		return EXIT_FAIL;
	}
	tls_cfg.timeout_ms = handshake_timeout_ms;
	return 0;
#else
	log_line("this usbip-attach was built without TLS (GnuTLS): tls: "
		 "addresses are not available");
	return EXIT_USAGE;
#endif
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROGRAM " [--timeout MS] COMMAND ...\n"
		"\n"
		"Attach remote USB devices to this machine through vhci_hcd.\n"
		"\n"
		"Commands:\n"
		"  list ADDR                 the devices ADDR exports\n"
		"  connect ADDR BUSID [--reconnect]\n"
		"                            import BUSID from ADDR; with\n"
		"                            --reconnect stay and attach "
		"again\n"
		"                            (with backoff) whenever it drops\n"
		"  listen [ADDR...] [--from NET]... [--from-group NAME]\n"
		"         [--allow PATTERN]...\n"
		"                            accept devices that dial in\n"
		"                            (OP_REQ_EXPORT); without ADDR, "
		"the\n"
		"                            sockets systemd passed. Without "
		"--from\n"
		"                            only root on a unix socket may "
		"call\n"
		"                            (SO_PEERCRED), and with "
		"--from-group\n"
		"                            also that group's members; a "
		"TCP or\n"
		"                            vsock listener, loopback "
		"included,\n"
		"                            needs --from to start. NET: "
		"who else\n"
		"                            may call (IP[/BITS], vsock:CID "
		"(any port), vsock:*,\n"
		"                            unix: every local user, any). "
		"PATTERN\n"
		"                            is a shell glob on the busid "
		"the caller\n"
		"                            announces\n"
		"  connect --qubes ADDR BUSID [--state-file FILE]\n"
		"                            the importing half of Qubes' "
		"qubes.USB:\n"
		"                            read the line \"DEVID SPEED\" "
		"on ADDR\n"
		"                            (--fd 0 under qrexec), attach, "
		"write the\n"
		"                            port to FILE, stay until it is "
		"detached\n"
		"  port                      attached devices and their remote "
		"ends\n"
		"  detach PORT|--all         detach one port or every port\n"
		"\n"
		"ADDR: tcp:HOST:PORT, tcp:PORT, vsock:CID:PORT, vsock:*:PORT\n"
		"(listen: any CID), unix:PATH, unix:@NAME, fd:N (an "
		"inherited\n"
		"socket), fc-vsock:PATH:PORT;\n"
		"tls:tcp:HOST:PORT, tls:tcp:PORT and tls:fd:N run TLS 1.3 "
		"with\n"
		"pinned keys first (the kernel's TLS then carries USB/IP).\n"
		"--fd N is short for the address fd:N.\n"
		"\n"
		"Options:\n"
		"  --key FILE     our identity for tls: addresses (default\n"
		"                 " ATTACH_KEY_DEFAULT_TEXT ")\n"
		"  --peer PIN     accept the peer whose key has this pin\n"
		"                 (SHA256:..., usbip-brokerctl pin); "
		"repeatable\n"
		"  --peers FILE   pins, one per line, # comments; a tls:\n"
		"                 address needs --peer or --peers\n"
		"  --timeout MS   how long a peer may take per handshake\n"
		"                 message (default %d)\n"
		"  -h, --help     this text\n"
		"  --version      print the version and exit\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage error.\n",
		OP_IO_TIMEOUT_MS);
}

static int tls_option(int c, const char *arg)
{
#ifdef HAVE_GNUTLS
	char msg[320];
	int r;

	switch (c) {
	case 'k':
		tls_cfg.key_path = arg;
		return 0;
	case 'P':
		r = tls_pins_add(&tls_cfg.pins, arg);
		if (r == -ENOSPC)
			log_line("at most %d pins", TLS_PINS_MAX);
		else if (r < 0)
			log_line("--peer '%.60s' is not a pin (SHA256: and 43 "
				 "base64 characters)",
				 arg);
		return r;
	default:
		r = attach_pins_load(arg, &tls_cfg.pins, msg, sizeof(msg));
		if (r < 0)
			log_line("--peers %s", msg);
		return r;
	}
#else
	(void)c;
	(void)arg;
	log_line("this usbip-attach was built without TLS (GnuTLS)");
	return -EPROTONOSUPPORT;
#endif
}

int main(int argc, char **argv)
{
	log_init(PROGRAM);
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"reconnect", no_argument, NULL, 'r'},
		{"allow", required_argument, NULL, 'a'},
		{"from", required_argument, NULL, 'F'},
		{"from-group", required_argument, NULL, 'G'},
		/* Spelled out, or getopt would read it as --allow. */
		{"all", no_argument, NULL, 'A'},
		{"fd", required_argument, NULL, 'f'},
		{"timeout", required_argument, NULL, 't'},
		{"key", required_argument, NULL, 'k'},
		{"peer", required_argument, NULL, 'P'},
		{"peers", required_argument, NULL, 'p'},
		{"qubes", no_argument, NULL, 'Q'},
		{"state-file", required_argument, NULL, 'S'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	bool qubes = false;
	const char *state_file = NULL;
	char *allow[MAX_ALLOW], *positional[MAX_LISTEN + 2];
	char fd_address[32] = "";
	size_t nallow = 0, npos = 0;
	bool reconnect = false, all = false;
	struct callers callers;
	char msg[256];
	int c;

	callers_init(&callers);

	while ((c = getopt_long(argc, argv, "+:h", options, NULL)) != -1 ||
	       optind < argc) {
		if (c == -1) {
			/* A positional argument; options may follow it. */
			if (npos == ARRAY_SIZE(positional)) {
				log_line("too many arguments");
				return EXIT_USAGE;
			}
			positional[npos++] = argv[optind++];
			continue;
		}
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			cli_version(PROGRAM);
			return EXIT_OK;
		case 'r':
			reconnect = true;
			break;
		case 'Q':
			qubes = true;
			break;
		case 'S':
			state_file = optarg;
			break;
		case 'A':
			all = true;
			break;
		case 'a':
			if (nallow == MAX_ALLOW) {
				log_line("at most %d --allow patterns",
					 MAX_ALLOW);
				return EXIT_USAGE;
			}
			allow[nallow++] = optarg;
			break;
		case 'F':
			if (callers_add(&callers, optarg, msg, sizeof(msg)) <
			    0) {
				log_line("--%s", msg);
				return EXIT_USAGE;
			}
			break;
		case 'G': {
			/* Resolved once, here: a group renamed later does
			 * not change who may call. */
			struct group *g = getgrnam(optarg);
			if (!g) {
				log_line("--from-group: no group %s", optarg);
				return EXIT_USAGE;
			}
			callers_set_group(&callers, g->gr_gid);
			break;
		}
		case 'f':
			snprintf(fd_address, sizeof(fd_address), "fd:%s",
				 optarg);
			break;
		case 'k':
		case 'P':
		case 'p':
			tls_options_given = true;
			if (tls_option(c, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 't': {
			char *end;
			long ms = strtol(optarg, &end, 10);
			if (*end || ms < 100 || ms > 600000) {
				log_line("--timeout takes 100 to 600000 ms");
				return EXIT_USAGE;
			}
			handshake_timeout_ms = (int)ms;
			break;
		}
		default:
			return cli_option_error(PROGRAM, argv, c);
		}
	}
	if (npos == 0)
		return cli_usage_error(PROGRAM, "a command is missing");
	if (fd_address[0]) {
		/* --fd N stands where ADDR would: right after the command. */
		if (npos == ARRAY_SIZE(positional))
			return EXIT_USAGE;
		memmove(positional + 2, positional + 1,
			(npos - 1) * sizeof(*positional));
		positional[1] = fd_address;
		npos++;
	}

	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	const char *cmd = positional[0];
	if ((callers.named || callers.group_set) && strcmp(cmd, "listen")) {
		log_line("--from and --from-group are for listen");
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "list") || !strcmp(cmd, "connect") ||
	    !strcmp(cmd, "listen")) {
		size_t naddr = strcmp(cmd, "listen") ? (npos > 1) : npos - 1;
		/* A mistyped address is a usage error (exit 2) in every
		 * program, told before anything connects or retries. */
		for (size_t i = 0; i < naddr; i++) {
			struct transport_addr a;
			if (transport_parse_tls(positional[1 + i], &a, msg,
						sizeof(msg)) < 0)
				return cli_usage_error(PROGRAM, "%s", msg);
		}
		int r = tls_preflight(positional + 1, naddr);
		if (r)
			return r;
	} else if (tls_options_given) {
		log_line("--key, --peer and --peers are for tls: addresses");
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "list") && npos == 2)
		return cmd_list(positional[1]);
	if ((qubes || state_file) &&
	    (strcmp(cmd, "connect") || !qubes || reconnect)) {
		log_line("--qubes is for connect, without --reconnect; "
			 "--state-file goes with it");
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "connect") && npos == 3 && qubes)
		return cmd_connect_qubes(positional[1], positional[2],
					 state_file);
	if (!strcmp(cmd, "connect") && npos == 3)
		return cmd_connect(positional[1], positional[2], reconnect);
	if (!strcmp(cmd, "listen"))
		return cmd_listen(positional + 1, npos - 1, allow, nallow,
				  &callers);
	if (!strcmp(cmd, "port") && npos == 1)
		return cmd_port();
	if (!strcmp(cmd, "detach") && npos == 2 && !all)
		return cmd_detach(positional[1]);
	if (!strcmp(cmd, "detach") && npos == 1 && all)
		return cmd_detach("--all");
	log_line("unknown command or wrong arguments: %s (see --help)", cmd);
	return EXIT_USAGE;
}
