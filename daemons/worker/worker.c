// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * usbip-worker: the userspace USB/IP server for one device. It speaks
 * USB/IP to one client at a time, validates every request, and submits
 * transfers through libusb on the one usbfs fd it holds.
 *
 * The broker starts it in fresh namespaces with two fds: its end of the
 * broker channel (common/ipc.h) and the connected client. The device fd
 * comes over the channel once the worker knows which device the session
 * is for (import: after the client's OP_REQ_IMPORT; export: at once):
 *
 *   usbip-worker --broker-fd 3 --client fd:4 --peer tcp:[::1]:4711
 *   usbip-worker --broker-fd 3 --export-to fd:4 --busid 1-2
 *   usbip-worker --broker-fd 3 --client fd:4 --busid 1-2 --qubes
 *
 * For development and tests it can also open the node and the socket
 * itself, or serve a simulated device (simdev.h):
 *
 *   usbip-worker --device /dev/bus/usb/001/002 --listen tcp:3240
 *   usbip-worker --simulate keyboard:hello --client fd:3
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bot_readahead.h"
#include "broker_client.h"
#include "cli.h"
#include "device.h"
#include "log.h"
#include "macros.h"
#include "namespace.h"
#include "op_io.h"
#include "sandbox.h"
#include "tls_handshake.h"
#include "tls_server.h"
#include "session.h"
#include "simdev.h"
#include "transport.h"
#include "usb_sysfs.h"
#include "worker-filter.h"

#define PROGRAM "usbip-worker"

/* The whole handshake, every read and write of it and the broker's
 * answers, ends by this deadline: a client that trickles its requests or
 * does not read the answers cannot hold the session. */
#define HANDSHAKE_TIMEOUT_MS OP_IO_TIMEOUT_MS
/* Device lists one connection may ask for before its import. Upstream
 * usbipd answers one and closes; a few cost nothing, endless ones are an
 * attack. */
#define HANDSHAKE_MAX_LISTS 4

struct options {
	const char *device;
	int device_fd;
	const char *simulate;
	int broker_fd;
	const char *peer;
	const char *busid;
	const char *listen;
	const char *client;
	const char *export_to;
	bool once;
	bool qubes;
	bool spare;
	bool no_sandbox;
	bool empty_root;
	uint64_t usbfs_share;  /* bytes; 0: URB_USBFS_SHARE_DEFAULT */
	struct worker_tls tls; /* spki_hex set: a TLS session */
};

struct worker {
	const struct options *o;
	libusb_context *ctx;
	struct worker_device dev;
	bool have_device;
	struct broker_client broker;	       /* with --broker-fd */
	struct worker_tls_records tls_records; /* a TLS session's limit */
};

static int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* A handshake's deadline, from now. */
static struct op_io_deadline handshake_deadline(void)
{
	return (struct op_io_deadline){
		.at_ms = op_io_now_ms() + HANDSHAKE_TIMEOUT_MS,
		.wait_mask = &session_wait_mask,
		.stop = &session_stop,
	};
}

/*
 * The session's device from the broker, which checks that this session
 * may have it. The fd arrives with usbfs privileges already dropped; it is
 * wrapped here, under the sandbox. Returns 0, the broker's refusal
 * (negative errno, *refused set) or a channel failure (-EPROTO and the
 * like, logged).
 */
static int device_from_broker(struct worker *w, const struct op_io_deadline *d,
			      const char *busid, bool *refused)
{
	struct broker_grant grant;
	char msg[256];
	int r;

	r = broker_client_open(&w->broker, d, busid, &grant, refused, msg,
			       sizeof(msg));
	if (r < 0) {
		if (!*refused && r != -EINTR)
			log_line("broker channel: %s", msg);
		return r;
	}
	log_step("worker: the broker's usbfs fd received");
	r = worker_device_open(&w->dev, w->ctx, grant.fd, busid, grant.busnum,
			       grant.devnum, msg, sizeof(msg));
	if (r < 0) {
		log_line("%s: %s", busid, msg);
		return r;
	}
	log_step("worker: device wrapped, interfaces claimed");
	w->have_device = true;
	return 0;
}

/* Why a handshake did not get through, in one line. A stop or a peer
 * that left ends it normally (0), a peer that broke the rules is refused
 * (-EBADMSG); only the worker's own trouble stays a failure. */
static int handshake_failed(const char *peer, const char *what, int r,
			    const char *msg)
{
	switch (r) {
	case -EINTR:
		log_line("%s: stopped during the %s", peer, what);
		return 0;
	case -ECONNRESET:
	case -EPIPE:
		log_line("%s: left during the %s: %s", peer, what, msg);
		return 0;
	case -ETIMEDOUT:
		log_line("%s: %s refused: not done within %d ms: %s", peer,
			 what, HANDSHAKE_TIMEOUT_MS, msg);
		return -EBADMSG;
	case -ENOMEM:
		log_line("%s: %s: %s", peer, what, msg);
		return r;
	}
	log_line("%s: %s refused: %s", peer, what, msg);
	return -EBADMSG;
}

/* Returns 0 for "answered", or what answer_client returns. */
static int answer_devlist(struct worker *w, int fd, const char *peer,
			  const struct op_io_deadline *d)
{
	struct usbip_op_message rep = {.header.code = USBIP_OP_REP_DEVLIST};
	struct ipc_devlist_answer list;
	char msg[256];
	int r;

	if (w->o->broker_fd >= 0) {
		r = broker_client_devlist(&w->broker, d, &list, msg,
					  sizeof(msg));
		if (r == -EINTR)
			return handshake_failed(peer, "handshake", r, msg);
		if (r < 0) {
			log_line("broker channel: %s", msg);
			return r;
		}
		rep.num_devices = list.count;
		rep.devices = list.devices;
	} else {
		rep.num_devices = 1;
		rep.devices = &w->dev.wire;
	}
	r = op_io_send_by(fd, d, &rep, msg, sizeof(msg));
	if (r == 0)
		return 0;
	r = handshake_failed(peer, "handshake", r, msg);
	/* A peer that left or a stop: done with the connection. */
	return r == 0 ? 1 : r;
}

/* A refused import's answer. The connection ends either way; an answer
 * that does not get through is logged, nothing more. */
static void refuse_import(int fd, const char *peer,
			  const struct op_io_deadline *d, uint32_t status)
{
	struct usbip_op_message rep = {.header.code = USBIP_OP_REP_IMPORT,
				       .header.status = status};
	char msg[256];
	int r = op_io_send_by(fd, d, &rep, msg, sizeof(msg));

	if (r < 0 && r != -EINTR)
		log_line("%s: the refusal did not get through: %s", peer, msg);
}

/* Returns 1 for "serve URBs now", 0 for "done with this connection",
 * negative for a refused peer or a failure. */
static int answer_import(struct worker *w, int fd, const char *peer,
			 const struct op_io_deadline *d, const char *busid)
{
	struct usbip_op_message rep = {.header.code = USBIP_OP_REP_IMPORT};
	bool refused = false;
	char msg[256];
	int r = 0;

	if (w->o->broker_fd >= 0 && !w->have_device) {
		r = device_from_broker(w, d, busid, &refused);
		if (r == -EINTR)
			return handshake_failed(peer, "handshake", r, "-");
		if (r < 0 && !refused) {
			refuse_import(fd, peer, d, USBIP_ST_NODEV);
			return r;
		}
	} else if (strcmp(busid, w->dev.wire.device.busid) != 0) {
		refused = true;
	}
	if (refused && r == -EBUSY) {
		/* In another session: upstream usbipd's status for a device
		 * in use, which upstream clients print as "Device busy". */
		log_line("%s: asked for %s, which is in use", peer, busid);
		refuse_import(fd, peer, d, USBIP_ST_DEV_BUSY);
		return 0;
	}
	if (refused) {
		log_line("%s: asked for %s, which is not exported to it", peer,
			 busid);
		refuse_import(fd, peer, d, USBIP_ST_NODEV);
		return 0;
	}
	rep.device = w->dev.wire.device;
	r = op_io_send_by(fd, d, &rep, msg, sizeof(msg));
	if (r == 0)
		log_step("worker: OP_REP_IMPORT sent");
	return r < 0 ? handshake_failed(peer, "handshake", r, msg) : 1;
}

/*
 * Import mode: the client speaks first. A few device lists are answered
 * on one connection (upstream tools hang up after one); an import of a
 * device this session may have moves on to URBs. All of it by one
 * deadline. Returns 1 for "serve URBs now", 0 for "done with this
 * connection", negative for a refused peer or a failure.
 */
static int answer_client(struct worker *w, int fd, const char *peer)
{
	struct op_io_deadline d = handshake_deadline();
	unsigned lists = 0;
	char msg[256];
	int r;

	r = set_nonblocking(fd);
	if (r < 0)
		return r;
	for (;;) {
		struct usbip_op_message req;

		r = op_io_read_by(fd, &d, &req, msg, sizeof(msg));
		if (r == -ECONNRESET)
			return 0;
		if (r < 0)
			return handshake_failed(peer, "handshake", r, msg);
		switch (req.header.code) {
		case USBIP_OP_REQ_DEVLIST:
			if (++lists > HANDSHAKE_MAX_LISTS) {
				log_line("%s: handshake refused: more than %d "
					 "device lists before an import",
					 peer, HANDSHAKE_MAX_LISTS);
				return -EBADMSG;
			}
			r = answer_devlist(w, fd, peer, &d);
			if (r < 0)
				return r;
			if (r > 0)
				return 0;
			continue;
		case USBIP_OP_REQ_IMPORT:
			log_step("worker: OP_REQ_IMPORT read");
			return answer_import(w, fd, peer, &d, req.busid);
		}
		log_line("%s: handshake refused: %s where a request belongs",
			 peer, usbip_op_code_name(req.header.code));
		usbip_op_message_clear(&req);
		return -EBADMSG;
	}
}

/* Export mode: we speak first, and serve once the importer agrees. */
static int offer_export(struct worker_device *d, int fd, const char *peer,
			const struct op_io_deadline *dl)
{
	struct usbip_op_message req = {.header.code = USBIP_OP_REQ_EXPORT}, rep;
	char msg[256];
	int r;

	r = set_nonblocking(fd);
	if (r < 0)
		return r;
	req.device = d->wire.device;
	r = op_io_send_by(fd, dl, &req, msg, sizeof(msg));
	if (r == 0)
		r = op_io_read_by(fd, dl, &rep, msg, sizeof(msg));
	if (r < 0)
		return handshake_failed(peer, "export handshake", r, msg);
	if (rep.header.code != USBIP_OP_REP_EXPORT || rep.header.status) {
		log_line("%s: export refused: %s status %u", peer,
			 usbip_op_code_name(rep.header.code),
			 rep.header.status);
		usbip_op_message_clear(&rep);
		return -ECONNREFUSED;
	}
	return 1;
}

/* The sysfs speed text the Qubes line carries, by the wire's speed. */
static const char *qubes_speed_text(uint32_t speed)
{
	static const char *const text[] = {
		[1] = "1.5",	  [2] = "12",	[3] = "480",
		[4] = "53.3-480", [5] = "5000", [6] = "10000"};
	return speed < ARRAY_SIZE(text) ? text[speed] : NULL;
}

/*
 * The Qubes qubes.USB handshake in the device side's place (its
 * usb-export script): one line "DEVID SPEED\n", devid = busnum << 16 |
 * devnum in decimal, then URBs at once. Returns 1 for "serve URBs now".
 */
static int qubes_announce(struct worker_device *d, int fd, const char *peer,
			  const struct op_io_deadline *dl)
{
	const char *speed = qubes_speed_text(d->wire.device.speed);
	char line[48];
	size_t done = 0;
	int n, r;

	if (!speed) {
		log_line("%s: speed %u has no Qubes name", peer,
			 d->wire.device.speed);
		return -EINVAL;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	n = snprintf(line, sizeof(line), "%u %s\n",
		     d->wire.device.busnum << 16 | d->wire.device.devnum,
		     speed);
	while (done < (size_t)n) {
		ssize_t w = write(fd, line + done, (size_t)n - done);
		if (w > 0) {
			done += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return handshake_failed(peer, "Qubes handshake",
						-errno, strerror(errno));
		r = op_io_wait(fd, POLLOUT, dl);
		if (r < 0)
			return handshake_failed(peer, "Qubes handshake", r,
						"the line not taken");
	}
	return 1;
}

/* How long the importer's listener may take to answer OP_REQ_UNEXPORT:
 * with the 2 s drain, inside the broker's grace for an unexporting
 * session (TERM_GRACE_S + UNEXPORT_REPLY_S). */
#define UNEXPORT_REPLY_MS 2500

/*
 * Stopped while exporting: the broker may have handed over a socket to
 * the importer's listener first (IPC_UNEXPORT, sent before SIGTERM).
 * There goes OP_REQ_UNEXPORT with the device, and its reply is awaited,
 * bounded, while the link is still up; the caller closes the link after.
 * The framing is the "usbip: exporting devices" series' (Nobuo Iwata,
 * usbip_unexport.c / usbip_disconnect.c: header and the 312-byte
 * device; the reply a header and a 4-byte returncode).
 */
static void unexport_importer(struct worker *w, const char *peer)
{
	struct op_io_deadline d = {.at_ms = op_io_now_ms() + 100};
	struct usbip_op_message req = {.header.code = USBIP_OP_REQ_UNEXPORT},
				rep;
	char msg[256];
	int r;

	int fd = broker_client_await_unexport(&w->broker, &d, msg, sizeof(msg));
	if (fd < 0) {
		if (fd != -ETIMEDOUT && fd != -ECONNRESET)
			log_line("broker channel: %s", msg);
		return; /* a plain stop */
	}
	_cleanup_close_ int conn = fd;
	d.at_ms = op_io_now_ms() + UNEXPORT_REPLY_MS;
	req.device = w->dev.wire.device;
	if (fcntl(conn, F_SETFL, fcntl(conn, F_GETFL) | O_NONBLOCK) < 0)
		return;
	r = op_io_send_by(conn, &d, &req, msg, sizeof(msg));
	if (r == 0)
		r = op_io_read_by(conn, &d, &rep, msg, sizeof(msg));
	if (r < 0) {
		log_line("%s: OP_REQ_UNEXPORT: %s", peer, msg);
		return;
	}
	if (rep.header.code != USBIP_OP_REP_UNEXPORT || rep.header.status ||
	    rep.returncode)
		log_line("%s: unexport refused: %s status %u returncode %d",
			 peer, usbip_op_code_name(rep.header.code),
			 rep.header.status, (int)rep.returncode);
	else
		log_line("%s: unexported: the importer detached %s", peer,
			 w->dev.wire.device.busid);
	usbip_op_message_clear(&rep);
}

/* The session's counters for the broker's status. The session goes on
 * without them: they are the broker's view, not the client's. */
static void report_stats(const struct session_stats *stats, void *ctx)
{
	struct worker *w = ctx;
	char msg[128];

	if (broker_client_report(&w->broker, stats, msg, sizeof(msg)) < 0)
		log_line("broker channel: %s", msg);
}

static int serve(struct worker *w, int fd, const char *peer)
{
	struct worker_device *d = &w->dev;
	struct urb_limits limits;
	struct session_stats stats = {0};
	bool broker = w->o->broker_fd >= 0;
	int r;

	struct session_guard guard;
	bool guarded = worker_tls_guard(&w->tls_records, &guard);

	urb_limits_default(&limits);
	if (w->o->usbfs_share)
		limits.usbfs_share = w->o->usbfs_share;
	log_line("%s: serving %s (%04x:%04x)", peer, d->wire.device.busid,
		 d->wire.device.id_vendor, d->wire.device.id_product);
	r = session_serve(d, fd, peer, &limits, &stats,
			  broker ? report_stats : NULL, w,
			  guarded ? &guard : NULL);
	char failed[128];
	snprintf(failed, sizeof(failed), "the connection failed: %s%s",
		 strerror(-stats.client_error),
		 stats.client_error == -EBADMSG
			 ? " (a TLS record did not authenticate: corrupted "
			   "or tampered with on the way)"
			 : "");
	log_line("%s: session ended (%s): %llu URBs, %llu bytes in, %llu bytes "
		 "out, %llu errors; buffers: %llu in usbfs memory, %llu on the "
		 "heap",
		 peer,
		 r == -EKEYEXPIRED    ? (w->tls_records.failed
						 ? "TLS record counts unreadable"
						 : "at the TLS record limit")
		 : r != 0	      ? strerror(-r)
		 : stats.client_error ? failed
		 : session_stop	      ? "stopped"
				      : "client left",
		 (unsigned long long)stats.urbs,
		 (unsigned long long)stats.bytes_in,
		 (unsigned long long)stats.bytes_out,
		 (unsigned long long)stats.errors,
		 (unsigned long long)stats.mapped_buffers,
		 (unsigned long long)stats.heap_buffers);
	if (guarded)
		worker_tls_records_report(&w->tls_records);
	if (broker)
		report_stats(&stats, w);
	/* At the record limit: ended on purpose, like a client that left. */
	return r == -EKEYEXPIRED ? 0 : r;
}

/* The socket side, opened before the sandbox closes socket() and
 * connect() for good. */
struct endpoint {
	int listen_fd; /* --listen */
	int conn_fd;   /* --client, --export-to */
	char peer[TRANSPORT_ADDR_STR_MAX];
};

static int open_endpoint(const struct options *o, struct endpoint *ep)
{
	struct transport_addr a;
	char msg[256];
	const char *text = o->listen   ? o->listen
			   : o->client ? o->client
				       : o->export_to;

	ep->listen_fd = ep->conn_fd = -1;
	if (transport_parse(text, &a, msg, sizeof(msg)) < 0) {
		log_line("%s", msg);
		return EXIT_USAGE;
	}
	transport_format(&a, ep->peer, sizeof(ep->peer));
	if (o->listen)
		ep->listen_fd = transport_listen(&a, 4, msg, sizeof(msg));
	else
		ep->conn_fd = transport_connect(&a, msg, sizeof(msg));
	if (ep->listen_fd < 0 && ep->conn_fd < 0) {
		log_line("%s", msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int run(struct worker *w, struct endpoint *ep)
{
	const struct options *o = w->o;
	bool refused;
	int r;

	if (ep->conn_fd >= 0) {
		_cleanup_close_ int fd = take_fd(&ep->conn_fd);
		const char *peer = o->peer ? o->peer : ep->peer;
		/* TLS first: the broker judges the peer's key before it
		 * lists or gives a device, and USB/IP then runs on kTLS. */
		if (o->tls.spki_hex &&
		    worker_tls_accept(fd, &w->broker, &o->tls, peer,
				      HANDSHAKE_TIMEOUT_MS,
				      &w->tls_records) < 0)
			return EXIT_FAIL;
		if (o->qubes) {
			struct op_io_deadline d = handshake_deadline();
			r = w->have_device ? 0
					   : device_from_broker(w, &d, o->busid,
								&refused);
			if (r == -EINTR)
				r = handshake_failed(peer, "Qubes handshake",
						     r, "-");
			else if (r < 0)
				log_line("%s: the broker did not give %s: %s",
					 peer, o->busid, strerror(-r));
			else
				r = qubes_announce(&w->dev, fd, peer, &d);
		} else if (o->client) {
			r = answer_client(w, fd, peer);
		} else {
			struct op_io_deadline d = handshake_deadline();
			r = w->have_device ? 0
					   : device_from_broker(w, &d, o->busid,
								&refused);
			if (r == -EINTR)
				r = handshake_failed(peer, "export handshake",
						     r, "-");
			else if (r < 0)
				log_line("%s: the broker did not give %s: %s",
					 peer, o->busid, strerror(-r));
			else
				r = offer_export(&w->dev, fd, peer, &d);
		}
		if (r == 1)
			r = serve(w, fd, peer);
		if (o->export_to && o->broker_fd >= 0 && session_stop)
			unexport_importer(w, peer);
		return r < 0 && r != -EBADMSG ? EXIT_FAIL : EXIT_OK;
	}

	_cleanup_close_ int lfd = take_fd(&ep->listen_fd);
	struct op_io_deadline forever = {.at_ms = LLONG_MAX,
					 .wait_mask = &session_wait_mask,
					 .stop = &session_stop};
	r = set_nonblocking(lfd);
	if (r < 0) {
		log_line("%s: %s", ep->peer, strerror(-r));
		return EXIT_FAIL;
	}
	log_line("listening on %s for %s", ep->peer, w->dev.wire.device.busid);
	while (!session_stop) {
		char peer[TRANSPORT_ADDR_STR_MAX];
		r = op_io_wait(lfd, POLLIN, &forever);
		if (r == -EINTR)
			break;
		_cleanup_close_ int fd =
			r < 0 ? r : transport_accept(lfd, peer, sizeof(peer));
		if (fd == -EAGAIN || fd == -ECONNABORTED)
			continue;
		if (fd < 0) {
			log_line("accept: %s", strerror(-fd));
			return EXIT_FAIL;
		}
		r = answer_client(w, fd, peer);
		if (r == 1) {
			r = serve(w, fd, peer);
			if (r == -ENODEV)
				return EXIT_FAIL;
			if (o->once)
				return EXIT_OK;
		}
	}
	log_line("stopped");
	return EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROGRAM " DEVICE MODE [OPTIONS]\n"
		"\n"
		"Serve one USB device over USB/IP from userspace.\n"
		"\n"
		"DEVICE:\n"
		"  --broker-fd N                   the broker's channel: the "
		"device\n"
		"                                  comes from the broker (as "
		"the\n"
		"                                  broker starts workers)\n"
		"  --device /dev/bus/usb/BBB/DDD   open the node\n"
		"  --device-fd N --busid BUSID     an inherited usbfs fd\n"
		"  --simulate KIND                 a simulated device: "
		"keyboard[:TEXT],\n"
		"                                  audio-loopback or zero "
		"(tests, demos)\n"
		"  --busid BUSID                   the name on the wire "
		"(default:\n"
		"                                  looked up in sysfs, 1-1 "
		"simulated;\n"
		"                                  with --broker-fd and "
		"--export-to:\n"
		"                                  which device)\n"
		"MODE:\n"
		"  --listen ADDR      accept clients (import: they speak "
		"first)\n"
		"  --client ADDR      one connected client, e.g. fd:4\n"
		"  --export-to ADDR   dial out (or fd:N) and offer the device "
		"(OP_REQ_EXPORT)\n"
		"  --spare            with --broker-fd: a client like "
		"--client's, "
		"handed\n"
		"                     over the broker's channel once one comes "
		"(the\n"
		"                     broker's spare worker, sandboxed "
		"before)\n"
		"\n"
		"  --peer NAME        the peer's name in log lines (the "
		"broker's\n"
		"                     view of an inherited connection)\n"
		"  --once             with --listen: end after one session\n"
		"  --qubes            with --client: the Qubes qubes.USB "
		"handshake\n"
		"                     (one line \"DEVID SPEED\", then URBs) "
		"instead\n"
		"                     of OP_REQ_IMPORT; with --broker-fd, "
		"for --busid\n"
		"  --empty-root       in fresh namespaces (the broker starts\n"
		"                     workers so): swap / for an empty tmpfs\n"
		"  --no-sandbox       debugging only: skip the sandbox\n"
		"  --tls-spki HEX     with --broker-fd: run the TLS server "
		"handshake first,\n"
		"                     showing this public key (DER, hex); the "
		"broker signs\n"
		"  --tls-peer PIN     a key the handshake lets through "
		"(repeatable)\n"
		"  --tls-record-limit N\n"
		"                     with --tls-spki: end the session after N "
		"TLS records\n"
		"                     either way, less a margin (it only "
		"lowers the\n"
		"                     cipher's limit; for tests and "
		"hardening)\n"
		"  --tls-random HEX   with --tls-spki: the ServerHello's "
		"random (32 bytes,\n"
		"                     the broker's for this session)\n"
		"  --usbfs-share KIB  of the host's usbfs quota, what this "
		"session\n"
		"                     may hold (the broker's share; default "
		"8192)\n"
		"  --bot-readahead    read mass-storage data and status ahead "
		"of the\n"
		"                     client's requests (Bulk-Only Transport)\n"
		"  --no-bot-readahead do not (the default)\n"
		"  --busy-poll USEC   before a wait sleeps while a URB is in "
		"flight or\n"
		"                     a reply just left, poll without "
		"sleeping for up\n"
		"                     to USEC microseconds (0 to 10000; "
		"default 0, off);\n"
		"                     a session spins for half of each 100 "
		"ms at most\n"
		"  --version          print the version and exit\n"
		"\n"
		"Exit status: 0 session ended normally, 1 failure, 2 usage.\n");
}

/* The device a standalone worker serves, opened before the sandbox. */
static int open_standalone_device(struct worker *w, char *msg, size_t len)
{
	const struct options *o = w->o;
	unsigned busnum = 0, devnum = 0;
	char busid[USBIP_BUSID_LEN] = "";
	int fd, r;

	if (o->device) {
		if (usb_node_numbers(o->device, &busnum, &devnum) < 0)
			return log_fail(-EINVAL, msg, len,
					"%s: expected /dev/bus/usb/BBB/DDD",
					o->device);
	}
	if (o->busid) {
		snprintf(busid, sizeof(busid), "%s", o->busid);
	} else if (o->simulate) {
		/* What the README's usbip-attach example asks for. Bus 0
		 * would not do: vhci_hcd and usbip-attach refuse it. */
		snprintf(busid, sizeof(busid), SIM_DEFAULT_BUSID);
	} else if (usb_sysfs_busid_of(busnum, devnum, busid, sizeof(busid)) <
		   0) {
		return log_fail(
			-EINVAL, msg, len,
			"no busid in sysfs for bus %u device %u; give --busid",
			busnum, devnum);
	}
	if (busnum == 0 && (sscanf(busid, "%u-", &busnum) != 1 || busnum == 0))
		busnum = 1;
	if (devnum == 0)
		devnum = 1;

	if (o->simulate)
		r = sim_device_open(&w->dev, o->simulate, busid, busnum, msg,
				    len);
	else {
		fd = o->device ? open(o->device, O_RDWR | O_CLOEXEC)
			       : o->device_fd;
		if (fd < 0)
			return log_fail(-errno, msg, len, "%s: %s", o->device,
					strerror(errno));
		r = worker_device_open(&w->dev, w->ctx, fd, busid, busnum,
				       devnum, msg, len);
	}
	w->have_device = r == 0;
	return r;
}

static int sandbox(const struct options *o, char *msg, size_t len)
{
	/* libusb is initialised (and a standalone device wrapped): what is
	 * left needs no privilege and few syscalls. Confine before the
	 * first client byte is read. */
	static const struct sandbox_limits limits = {
		.max_files = 64,
		.max_file_bytes = 64ul << 20,
	};
	int r = 0;

	if (o->empty_root && (r = ns_enter_empty_root(msg, len)) == 0)
		log_step("worker: in the empty root");
	if (r == 0 && (r = sandbox_drop_privileges(&limits, msg, len)) == 0)
		log_step("worker: privileges dropped");
	if (r == 0 && (r = worker_seccomp_load(o->broker_fd)) < 0)
		log_fail(r, msg, len, "seccomp: %s", strerror(-r));
	if (r < 0)
		return r;
	log_step("worker: seccomp filter loaded");
#ifdef USBIP_TEST_HOOKS
	/* Test builds only: prove that the filter kills. */
	if (getenv("USBIP_WORKER_TEST_FORBIDDEN_SYSCALL")) {
		syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		log_line("forbidden syscall survived the filter");
		exit(3);
	}
#endif
	return 0;
}

/*
 * A spare: sandboxed already, it waits for as long as the broker keeps
 * it for its session's client. Then it serves as with --client, the
 * peer's name from the broker. A stop before that ends it quietly.
 */
static int await_client(struct worker *w, struct options *o,
			struct endpoint *ep, char *peer, size_t peer_len)
{
	struct op_io_deadline forever = {.at_ms = LLONG_MAX,
					 .wait_mask = &session_wait_mask,
					 .stop = &session_stop};
	char msg[256];
	int fd = broker_client_await_client(&w->broker, &forever, peer,
					    peer_len, msg, sizeof(msg));

	if (fd == -EINTR)
		return EXIT_OK; /* ep->conn_fd stays -1: nothing to serve */
	if (fd < 0) {
		log_line("broker channel: %s", msg);
		return EXIT_FAIL;
	}
	log_step("worker: its client handed over (spare)");
	ep->conn_fd = fd;
	o->peer = peer;
	o->client = "broker";
	return EXIT_OK;
}

static int parse_fd(const char *text)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < 0 || v > 65535)
		return -1;
	return (int)v;
}

int main(int argc, char **argv)
{
	log_init(PROGRAM);
	log_step("worker: main (exec and dynamic linking done)");
	static const struct option options[] = {
		{"broker-fd", required_argument, NULL, 'B'},
		{"device", required_argument, NULL, 'd'},
		{"device-fd", required_argument, NULL, 'D'},
		{"simulate", required_argument, NULL, 's'},
		{"busid", required_argument, NULL, 'b'},
		{"listen", required_argument, NULL, 'l'},
		{"client", required_argument, NULL, 'c'},
		{"export-to", required_argument, NULL, 'e'},
		{"peer", required_argument, NULL, 'p'},
		{"once", no_argument, NULL, '1'},
		{"qubes", no_argument, NULL, 'Q'},
		{"spare", no_argument, NULL, 'S'},
		{"no-sandbox", no_argument, NULL, 'n'},
		{"empty-root", no_argument, NULL, 'E'},
		{"usbfs-share", required_argument, NULL, 'U'},
		{"tls-spki", required_argument, NULL, 'K'},
		{"tls-peer", required_argument, NULL, 'P'},
		{"tls-record-limit", required_argument, NULL, 'R'},
		{"tls-random", required_argument, NULL, 'N'},
		{"bot-readahead", no_argument, NULL, 'A'},
		{"no-bot-readahead", no_argument, NULL, 'r'},
		{"busy-poll", required_argument, NULL, 'y'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct options o = {.device_fd = -1, .broker_fd = -1};
	struct worker w = {.o = &o, .broker.fd = -1};
	char msg[256];
	int c, modes, sources, status;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'B':
			o.broker_fd = parse_fd(optarg);
			if (o.broker_fd < 0)
				return cli_usage_error(
					PROGRAM,
					"--broker-fd: not an fd number");
			break;
		case 'd':
			o.device = optarg;
			break;
		case 'D':
			o.device_fd = parse_fd(optarg);
			if (o.device_fd < 0)
				return cli_usage_error(
					PROGRAM,
					"--device-fd: not an fd number");
			break;
		case 's':
			o.simulate = optarg;
			break;
		case 'b':
			o.busid = optarg;
			break;
		case 'l':
			o.listen = optarg;
			break;
		case 'c':
			o.client = optarg;
			break;
		case 'e':
			o.export_to = optarg;
			break;
		case 'p':
			o.peer = optarg;
			break;
		case '1':
			o.once = true;
			break;
		case 'Q':
			o.qubes = true;
			break;
		case 'S':
			o.spare = true;
			break;
		case 'n':
			o.no_sandbox = true;
			break;
		case 'E':
			o.empty_root = true;
			break;
		case 'A':
			bot_readahead_enabled = true;
			break;
		case 'r':
			bot_readahead_enabled = false;
			break;
		case 'y': {
			char *end;
			errno = 0;
			unsigned long us = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || errno ||
			    *end || us > SESSION_BUSY_POLL_MAX_US)
				return cli_usage_error(
					PROGRAM,
					"--busy-poll: 0 (off) to %d "
					"microseconds",
					SESSION_BUSY_POLL_MAX_US);
			session_busy_poll_us = (unsigned)us;
			break;
		}
		case 'U': {
			char *end;
			errno = 0;
			unsigned long long kib = strtoull(optarg, &end, 10);
			/* 64 KiB to 1 TiB: below, not even one URB fits. */
			if (errno || *end || kib < 64 || kib > (1ull << 30))
				return cli_usage_error(
					PROGRAM,
					"--usbfs-share: 64 to 1073741824 KiB");
			o.usbfs_share = kib << 10;
			break;
		}
		case 'K':
			if (worker_tls_check_spki(optarg) < 0) {
				log_line("--tls-spki: not a public key in hex");
				return EXIT_USAGE;
			}
			o.tls.spki_hex = optarg;
			break;
		case 'N':
			if (worker_tls_set_random(&o.tls, optarg) < 0) {
				log_line("--tls-random: not 32 bytes in hex");
				return EXIT_USAGE;
			}
			break;
		case 'P':
			if (tls_pins_add(&o.tls.peers, optarg) < 0) {
				log_line("--tls-peer: not a pin, or more than "
					 "%d",
					 TLS_PINS_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'R':
			if (worker_tls_parse_record_limit(
				    optarg, &o.tls.record_limit) < 0)
				return cli_usage_error(
					PROGRAM,
					"--tls-record-limit: %llu to %llu "
					"records",
					TLS_RECORD_LIMIT_MIN,
					TLS_RECORD_LIMIT_MAX);
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
	modes = !!o.listen + !!o.client + !!o.export_to + o.spare;
	sources = !!o.device + (o.device_fd >= 0) + !!o.simulate +
		  (o.broker_fd >= 0);
	w.broker.fd = o.broker_fd;
	if (optind != argc || modes != 1 || sources != 1)
		return cli_usage_error(
			PROGRAM, "want one device (--broker-fd, --device, "
				 "--device-fd, --simulate) and one mode "
				 "(--listen, --client, --export-to, --spare)");
	/* A mistyped address is a usage error (exit 2) in every program,
	 * told before the device is opened. */
	struct transport_addr addr;
	const char *addr_text = o.listen   ? o.listen
				: o.client ? o.client
					   : o.export_to;
	if (addr_text &&
	    transport_parse(addr_text, &addr, msg, sizeof(msg)) < 0)
		return cli_usage_error(PROGRAM, "%s", msg);
	/* A spare knows nothing of its session until the broker hands it
	 * the client: a plain import, nothing else. */
	if (o.spare &&
	    (o.broker_fd < 0 || o.busid || o.qubes || o.tls.spki_hex || o.peer))
		return cli_usage_error(
			PROGRAM, "--spare goes with --broker-fd alone: "
				 "no --busid, --qubes, --tls-spki, --peer");
	if (o.tls.spki_hex && (o.broker_fd < 0 || o.listen))
		return cli_usage_error(PROGRAM,
				       "--tls-spki needs --broker-fd: the "
				       "broker signs");
	if (o.tls.record_limit && !o.tls.spki_hex)
		return cli_usage_error(PROGRAM, "--tls-record-limit goes with "
						"--tls-spki");
	if (o.tls.has_random != !!o.tls.spki_hex)
		return cli_usage_error(PROGRAM,
				       "--tls-spki and --tls-random go "
				       "together");
	if ((o.device_fd >= 0 && !o.busid) ||
	    (o.broker_fd >= 0 && (o.listen || (o.export_to && !o.busid)))) {
		log_line("--device-fd and --broker-fd with --export-to need "
			 "--busid; --broker-fd serves one connection, not "
			 "--listen");
		return EXIT_USAGE;
	}
	if (o.qubes && (!o.client || (o.broker_fd >= 0 && !o.busid))) {
		log_line("--qubes goes with --client (and --busid with "
			 "--broker-fd)");
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	/* The broker stops a session with SIGTERM. As the init of its own
	 * pid namespace the worker would not even see it without a handler;
	 * with one, whatever wait it is in (handshake, session, final
	 * flush) returns and the worker winds down. */
	if (session_stop_setup() < 0) {
		log_line("SIGTERM: %s", strerror(errno));
		return EXIT_FAIL;
	}

	/* Before the sandbox: libusb_init needs what the empty root and the
	 * filter take away. */
	int r = o.simulate ? 0 : worker_usb_init(&w.ctx);
	if (r < 0) {
		log_line("libusb: cannot initialise: %s", strerror(-r));
		return EXIT_FAIL;
	}
	log_step("worker: libusb initialised");
	status = EXIT_OK;
	if (o.broker_fd < 0 && open_standalone_device(&w, msg, sizeof(msg))) {
		log_line("%s", msg);
		status = EXIT_FAIL;
	}
	struct endpoint ep = {.listen_fd = -1, .conn_fd = -1};
	if (status == EXIT_OK && !o.spare)
		status = open_endpoint(&o, &ep);
	if (status == EXIT_OK && o.no_sandbox)
		log_line("WARNING: --no-sandbox: serving without the sandbox; "
			 "for debugging only, never expose this to a network");
	else if (status == EXIT_OK && sandbox(&o, msg, sizeof(msg)) < 0) {
		log_line("sandbox: %s", msg);
		status = EXIT_FAIL;
	}
	char spare_peer[IPC_PEER_MAX];
	if (status == EXIT_OK && o.spare)
		status = await_client(&w, &o, &ep, spare_peer,
				      sizeof(spare_peer));
	if (status == EXIT_OK && (ep.conn_fd >= 0 || ep.listen_fd >= 0))
		status = run(&w, &ep);
	if (ep.listen_fd >= 0)
		close(ep.listen_fd);
	if (ep.conn_fd >= 0)
		close(ep.conn_fd);
	if (w.have_device)
		worker_device_close(&w.dev);
	if (w.ctx)
		libusb_exit(w.ctx);
	return status;
}
