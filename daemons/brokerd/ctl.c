// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The control socket (usbip-brokerctl): who may use it, one request per
 * connection, the verbs, and the lock that keeps one broker per socket.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "ctl.h"
#include "devices.h"
#include "dial.h"
#include "hotplug.h"
#include "listen.h"
#include "log.h"
#include "macros.h"
#include "policy_gen.h"
#include "usb_hwdb.h"
#include "usb_sysfs.h"

/* Supplementary groups read from a control peer; one in more groups is
 * judged by its primary group (ERANGE). */
#define NGROUPS_MAX_PEER 256

/* The USB devices present, in busid order; NULL with *n = 0 when there
 * are none, and an error in out when sysfs cannot be read. Each name is
 * freed by the caller, then the array. */
/* Unexports whose device a child is giving back (devices.c): answered
 * once it is done, so that a script's next export finds the device
 * free, as when the give-back ran in the loop. One per exported device
 * at most; beyond that the answer goes at once. */
static struct {
	int fd; /* -1: free */
	char busid[USBDEV_BUSID_LEN];
	struct control_reply *out;
} unexporting[MAX_EXPORTED] = {[0 ... MAX_EXPORTED - 1] = {.fd = -1}};
/* control_request's unexport of a device with no session: its busid
 * ("" for none). */
static char given_back[USBDEV_BUSID_LEN];

/* An export of a device still being given back (a session that just
 * ended, an unexport): run once the give-back is done rather than refused,
 * so that "unexport; export" in a script works as when the give-back ran
 * in the loop. One per exported device at most; beyond that the export is
 * refused at once (EBUSY, "try again"). A stop answers them at once. */
static struct {
	int fd; /* -1: free */
	/* The device's busid; req names it so, or by its usbfs node, which
	 * must still be this device's when the request runs (a device
	 * plugged in meanwhile may have been given its number). */
	char busid[USBDEV_BUSID_LEN];
	struct control_request req;
	struct ucred cred;
	struct control_reply *out;
} deferred_exports[MAX_EXPORTED] = {[0 ... MAX_EXPORTED - 1] = {.fd = -1}};

static void control_request(const struct control_request *req, int conn,
			    const struct ucred *cred,
			    struct control_reply *out);

/* The busid a request names, by busid or by usbfs node (/dev/bus/usb/BBB/
 * DDD, looked up in sysfs): false when no device has that node. */
static bool busid_of_request(const struct control_request *req, char *busid,
			     size_t len)
{
	unsigned bus, dev;

	snprintf(busid, len, "%s", req->busid);
	return busid[0] != '/' ||
	       (usb_node_numbers(req->busid, &bus, &dev) == 0 &&
		usb_sysfs_busid_of(bus, dev, busid, len) == 0);
}

static bool export_when_given_back(const struct control_request *req,
				   const struct ucred *cred, int fd,
				   struct control_reply *out)
{
	char busid[USBDEV_BUSID_LEN];

	/* A node that names no device is refused when the request runs. */
	if (req->verb != CONTROL_EXPORT || b.draining ||
	    !busid_of_request(req, busid, sizeof(busid)) || !giving_back(busid))
		return false;
	/* One waits per device: a second is refused at once, as before. */
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		if (deferred_exports[i].fd >= 0 &&
		    !strcmp(deferred_exports[i].busid, busid))
			return false;
	for (size_t i = 0; i < MAX_EXPORTED; i++) {
		if (deferred_exports[i].fd >= 0)
			continue;
		deferred_exports[i].fd = fd;
		snprintf(deferred_exports[i].busid,
			 sizeof(deferred_exports[i].busid), "%s", busid);
		deferred_exports[i].req = *req;
		deferred_exports[i].cred = *cred;
		deferred_exports[i].out = out;
		return true;
	}
	return false;
}

/* A deferred export named by usbfs node applies to the device it was
 * deferred for, never to the one that holds the node now (--force and
 * all): false, and out refuses it, when the node names another device or
 * none. */
static bool node_still_names(const struct control_request *req,
			     const char *busid, struct control_reply *out)
{
	char now[USBDEV_BUSID_LEN], msg[256];

	if (req->busid[0] != '/' ||
	    (busid_of_request(req, now, sizeof(now)) && !strcmp(now, busid)))
		return true;
	log_fail(-ENODEV, msg, sizeof(msg),
		 "the device at %.100s changed during its give-back (it was "
		 "%s); not exported",
		 req->busid, busid);
	control_reply_error(out, msg);
	return false;
}

/* Runs (or, stopping, refuses) the deferred exports whose device is
 * given back, or all of them (every). */
static void run_deferred_exports(bool every)
{
	for (size_t i = 0; i < MAX_EXPORTED; i++) {
		if (deferred_exports[i].fd < 0 ||
		    (!every && giving_back(deferred_exports[i].busid)))
			continue;
		/* control_request refuses it while stopping: the device
		 * would be given back again right after. */
		if (b.draining || node_still_names(&deferred_exports[i].req,
						   deferred_exports[i].busid,
						   deferred_exports[i].out))
			control_request(&deferred_exports[i].req, -1,
					&deferred_exports[i].cred,
					deferred_exports[i].out);
		control_reply_send(deferred_exports[i].out,
				   deferred_exports[i].fd);
		control_reply_free(deferred_exports[i].out);
		close(deferred_exports[i].fd);
		deferred_exports[i].fd = -1;
	}
}

/* Answers the unexports whose device is given back, or all of them. */
static void answer_unexports(bool every)
{
	for (size_t i = 0; i < MAX_EXPORTED; i++) {
		if (unexporting[i].fd < 0 ||
		    (!every && giving_back(unexporting[i].busid)))
			continue;
		control_reply_send(unexporting[i].out, unexporting[i].fd);
		control_reply_free(unexporting[i].out);
		close(unexporting[i].fd);
		unexporting[i].fd = -1;
	}
}

void control_unexports_done(void)
{
	run_deferred_exports(false);
	answer_unexports(false);
}

void control_stopping(void)
{
	/* Refused now, not after a give-back that may take seconds. */
	run_deferred_exports(true);
}

void control_stopped(void)
{
	run_deferred_exports(true);
	/* Their devices' give-back goes on without the broker (loop.c). */
	answer_unexports(true);
}

/* The answer to fd later, if a give-back is under way: true when it was
 * taken (fd and out are then unexporting's). */
static bool answer_when_given_back(const char *busid, int fd,
				   struct control_reply *out)
{
	if (!giving_back(busid))
		return false;
	for (size_t i = 0; i < MAX_EXPORTED; i++) {
		if (unexporting[i].fd >= 0)
			continue;
		unexporting[i].fd = fd;
		unexporting[i].out = out;
		snprintf(unexporting[i].busid, sizeof(unexporting[i].busid),
			 "%s", busid);
		return true;
	}
	return false;
}

static struct dirent **usb_devices(int *n, struct control_reply *out)
{
	struct dirent **names;

	*n = scandir("/sys/bus/usb/devices", &names, NULL, alphasort);
	if (*n >= 0)
		return names;
	*n = 0;
	/* No USB on this host (no usbcore): an empty list. */
	if (errno != ENOENT) {
		char msg[128];
		snprintf(msg, sizeof(msg), "/sys/bus/usb/devices: %s",
			 strerror(errno));
		control_reply_error(out, msg);
	}
	return NULL;
}

static void reply_list(struct control_reply *out)
{
	int n;
	struct dirent **names = usb_devices(&n, out);
	struct udev_hwdb *hwdb = n > 0 ? usb_hwdb_open() : NULL;

	for (int i = 0; i < n; i++) {
		struct usbdev_info info;
		char msg[128];
		const char *busid = names[i]->d_name;

		if (usb_busid_valid(busid) &&
		    usbdev_read_info(busid, &info, msg, sizeof(msg)) == 0) {
			struct exported *d = find_exported(busid);
			const struct policy_rule *rule = rule_for(&info);
			char verdict[32], vendor[128], model[128];
			snprintf(verdict, sizeof(verdict), "%s:%u",
				 verdict_of(&info, rule),
				 rule ? rule->line : 0);
			usb_hwdb_names(hwdb, info.id_vendor,
				       info.id_product, vendor,
				       sizeof(vendor), model, sizeof(model));
			control_reply_row(out,
					  "%s\t%04x:%04x\t%s\t%u\t%s\t%s\t%s"
					  "\t%s\t%s",
					  busid, info.id_vendor,
					  info.id_product,
					  info.product, info.speed,
					  info.driver[0] ? info.driver : "-",
					  !d	       ? "no"
					  : d->session ? "in-use"
						       : "yes",
					  verdict, vendor, model);
		}
		free(names[i]);
	}
	free(names);
	usb_hwdb_close(hwdb);
}

/* One device in full: what sysfs says, what the policy says, and what
 * the broker does with it. */
static void reply_show(const char *busid, struct control_reply *out)
{
	struct usbdev_info info;
	char msg[128], vendor[128], model[128];

	if (usbdev_read_info(busid, &info, msg, sizeof(msg)) < 0) {
		control_reply_error(out, msg);
		return;
	}
	const struct usbdev_info *dev = &info;
	const struct policy_rule *rule = rule_for(&info);
	struct exported *d = find_exported(busid);
	struct udev_hwdb *hwdb = usb_hwdb_open();
	const char *name = usb_class_name(dev->device_class);
	time_t now = time(NULL);

	usb_hwdb_names(hwdb, dev->id_vendor, dev->id_product, vendor,
		       sizeof(vendor), model, sizeof(model));
	usb_hwdb_close(hwdb);
	control_reply_row(out, "busid\t%s", busid);
	control_reply_row(out, "id\t%04x:%04x", dev->id_vendor,
			  dev->id_product);
	control_reply_row(out, "vendor\t%s", vendor[0] ? vendor : "-");
	control_reply_row(out, "model\t%s", model[0] ? model : "-");
	control_reply_row(out, "product\t%s", info.product);
	control_reply_row(out, "serial\t%s",
			  info.serial[0] ? info.serial : "-");
	control_reply_row(out, "speed\t%u", dev->speed);
	control_reply_row(out, "class\t%02x:%02x:%02x %s",
			  dev->device_class, dev->device_subclass,
			  dev->device_protocol, name ? name : "unknown");
	control_reply_row(out, "bcd_device\t%04x", dev->bcd_device);
	control_reply_row(out, "configuration\t%u of %u",
			  dev->configuration_value, dev->num_configurations);
	control_reply_row(out, "driver\t%s",
			  info.driver[0] ? info.driver : "-");
	control_reply_row(out, "interfaces\t%u", dev->num_interfaces);
	for (unsigned i = 0;
	     i < dev->num_interfaces && i < USBDEV_MAX_INTERFACES; i++) {
		const struct usbdev_interface *f = &info.interfaces[i];
		name = usb_class_name(f->cls);
		control_reply_row(out, "interface\t%u %02x:%02x:%02x %s", i,
				  f->cls, f->subclass,
				  f->protocol,
				  name ? name : "unknown");
	}
	if (rule)
		control_reply_row(out, "policy\t%s (rule at %s:%u)",
				  verdict_of(&info, rule), b.policy_path,
				  rule->line);
	else
		control_reply_row(out, "policy\t%s (no rule matches: %s)",
				  verdict_of(&info, rule), b.policy_path);
	control_reply_row(out, "exported\t%s",
			  !d ? "no" : d->session ? "in-use" : "yes");
	if (!d)
		return;
	control_reply_row(out, "export_to\t%s",
			  d->export_to[0] ? d->export_to : "-");
	if (d->session)
		control_reply_row(out,
				  "session\t%s %s, worker %d, up %ld s, "
				  "%llu URBs, %llu bytes in, %llu out",
				  d->session->outgoing ? "export to"
						       : "import by",
				  d->session->peer, (int)d->session->pid,
				  (long)(now - d->session->started),
				  (unsigned long long)d->session->stats.urbs,
				  (unsigned long long)d->session->stats.bytes_in,
				  (unsigned long long)
					  d->session->stats.bytes_out);
	else
		control_reply_row(out, "session\t-");
	if (!d->export_to[0])
		control_reply_row(out, "dial\t-");
	else if (d->session)
		control_reply_row(out, "dial\tconnected");
	else if (d->dial >= 0)
		control_reply_row(out, "dial\tconnecting");
	else
		control_reply_row(out, "dial\tnext in %ld s (backoff %u s)",
				  (long)(d->retry_at > now ? d->retry_at - now
							   : 0),
				  d->backoff_s);
}

/* generate-policy: a rule per device present, then a deny for the rest. */
static void reply_generated_policy(struct control_reply *out)
{
	int n;
	struct dirent **names = usb_devices(&n, out);
	char rule[1024];

	control_reply_row(out,
			  "# usbip-brokerctl generate-policy: one rule per "
			  "device present. Add \"from NET\" (importers)");
	control_reply_row(out, "# or \"to ADDR\" (destinations) to the "
			       "rules you keep; policy/README.md.");
	for (int i = 0; i < n; i++) {
		struct usbdev_info info;
		char msg[128];
		const char *busid = names[i]->d_name;

		/* Hubs and imports are never exported: no rule for them. */
		if (usb_busid_valid(busid) &&
		    usbdev_read_info(busid, &info, msg, sizeof(msg)) == 0 &&
		    info.device_class != 0x09 &&
		    !usbdev_is_imported(busid)) {
			if (policy_gen_rule(&info, rule, sizeof(rule)) < 0)
				control_reply_row(out, "# %s: rule too long",
						  busid);
			else
				control_reply_row(out, "%s", rule);
		}
		free(names[i]);
	}
	free(names);
	control_reply_row(out, "deny");
}

static void reply_status(struct control_reply *out)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < b.max_sessions; i++) {
		struct session *s = &b.sessions[i];
		if (!s->used)
			continue;
		control_reply_row(out,
				  "%s\t%s\t%s\t%d\t%ld\t%llu\t%llu\t%llu\t%llu",
				  s->dev ? s->dev->info.busid : "-", s->peer,
				  s->outgoing ? "export" : "import",
				  (int)s->pid, (long)(now - s->started),
				  (unsigned long long)s->stats.urbs,
				  (unsigned long long)s->stats.bytes_in,
				  (unsigned long long)s->stats.bytes_out,
				  (unsigned long long)s->stats.errors);
	}
}

/*
 * serve-fd: a connection something else accepted (qrexec, inetd,
 * systemd Accept=yes), served like one from a listener. Its peer is who
 * handed it over: "from fd" in the policy, limits per handing uid.
 */
static int serve_handed(const struct control_request *req, int conn,
			const struct ucred *cred, struct control_reply *out,
			char *msg, size_t msg_len)
{
	struct policy_peer who = {.kind = POLICY_NET_FD, .cid = cred->uid};
	char peer[TRANSPORT_ADDR_STR_MAX];
	struct stat st;
	int type = 0;
	socklen_t len = sizeof(type);

	if (conn < 0)
		return log_fail(-EINVAL, msg, msg_len,
				"serve-fd comes with a connected socket "
				"(SCM_RIGHTS)");
	if (fstat(conn, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(conn, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_STREAM)
		return log_fail(-ENOTSOCK, msg, msg_len,
				"serve-fd: not a stream socket");
	snprintf(peer, sizeof(peer), "fd:uid:%u", (unsigned)cred->uid);
	struct session *s = admit_connection(
		conn, peer, &who, req->qubes ? req->busid : NULL, false, msg,
		msg_len);
	if (!s)
		return -EAGAIN;
	control_reply_row(out, "%d", (int)s->pid);
	return 0;
}

static void control_request(const struct control_request *req, int conn,
			    const struct ucred *cred, struct control_reply *out)
{
	char msg[256] = "", busid[USBDEV_BUSID_LEN];
	int r = 0;

	if (!busid_of_request(req, busid, sizeof(busid))) {
		snprintf(msg, sizeof(msg), "no USB device at %s", req->busid);
		control_reply_error(out, msg);
		return;
	}
	switch (req->verb) {
	case CONTROL_LIST:
		reply_list(out);
		break;
	case CONTROL_STATUS:
		reply_status(out);
		break;
	case CONTROL_SHOW:
		reply_show(busid, out);
		break;
	case CONTROL_GENERATE_POLICY:
		reply_generated_policy(out);
		break;
	case CONTROL_EXPORT:
		/* Taken now, it would only be given back again at the end of
		 * the stop, reset and all. */
		if (b.draining || b.loop_done) {
			snprintf(msg, sizeof(msg), "the broker is stopping");
			r = -ESHUTDOWN;
			break;
		}
		r = export_device_forced(busid,
					 req->address[0] ? req->address : NULL,
					 req->force, msg, sizeof(msg));
		break;
	case CONTROL_RELOAD:
		r = reload_policy(msg, sizeof(msg));
		break;
	case CONTROL_SERVE_FD:
		r = serve_handed(req, conn, cred, out, msg, sizeof(msg));
		break;
	case CONTROL_UNEXPORT: {
		struct exported *d = find_exported(busid);
		if (!d) {
			snprintf(msg, sizeof(msg), "%s is not exported", busid);
			r = -ENOENT;
		} else if (d->export_to[0] && d->session &&
			   d->session->outgoing &&
			   d->session->phase == PHASE_GRANTED &&
			   !d->session->kill_at && d->dial < 0) {
			/* The importer is told first (OP_REQ_UNEXPORT, by
			 * the worker, within UNEXPORT_DIAL_S and then
			 * UNEXPORT_REPLY_S), then the link is cut. */
			dial_unexport(d);
			control_reply_row(out, "telling %s", d->export_to);
		} else {
			if (!d->session)
				snprintf(given_back, sizeof(given_back), "%s",
					 busid);
			forget_device(d, true);
		}
		break;
	}
	}
	if (r < 0)
		control_reply_error(out, msg[0] ? msg : strerror(-r));
}

/* Root, or a member of --control-group: as primary group or as one of
 * the peer's supplementary groups (SO_PEERGROUPS, the groups it had when
 * it connected). */
static bool control_peer_allowed(int fd, const struct ucred *cred)
{
	gid_t groups[NGROUPS_MAX_PEER];
	socklen_t len = sizeof(groups);

	if (cred->uid == 0)
		return true;
	/* Rootless: the broker's own uid is its dialler's (and its
	 * workers', outside their namespaces), which shares its groups
	 * too; no process of that uid may steer the broker. */
	if (cred->uid == geteuid())
		return false;
	if (!b.control_gid_set)
		return false;
	if (cred->gid == b.control_gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == b.control_gid)
			return true;
	return false;
}

/* One request, and the one descriptor serve-fd may bring (*conn, else
 * -1). More than one, or a truncated control message, refuses the
 * request: whatever did arrive is closed. */
static ssize_t recv_request(int fd, char *text, size_t len, int *conn)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = {.iov_base = text, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.buf,
			    .msg_controllen = sizeof(control.buf)};
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	size_t count = 0;

	*conn = -1;
	if (n < 0)
		return n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
	     c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)(void *)CMSG_DATA(c);
		for (size_t i = 0; i < nfds; i++, count++) {
			if (count == 0)
				*conn = fds[i];
			else
				close(fds[i]);
		}
	}
	/* Two fit in the buffer's padding without MSG_CTRUNC. */
	if (count > 1 || (mh.msg_flags & MSG_CTRUNC)) {
		log_line("control: more than one descriptor with a request");
		if (*conn >= 0)
			close(*conn);
		*conn = -1;
		return -1;
	}
	return n;
}

void control_connection(void)
{
	_cleanup_close_ int fd = accept4(b.control, NULL, NULL, SOCK_CLOEXEC);
	struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	socklen_t len = sizeof(cred);
	struct timeval tv = {.tv_sec = 1};
	struct control_request req;
	struct control_reply *out;
	char text[CONTROL_REQUEST_MAX + 1], msg[256];
	_cleanup_close_ int conn = -1; /* serve-fd's socket */
	ssize_t n;

	if (fd < 0)
		return;
	/* A local client that says nothing must not stall the broker. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = recv_request(fd, text, sizeof(text), &conn);
	if (n <= 0)
		return;
	out = control_reply_new();
	if (!out)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    !control_peer_allowed(fd, &cred)) {
		/* The request is read but not parsed; the refusal is said so
		 * that the user learns why rather than "no reply". */
		log_line("control: refused uid %u gid %u", cred.uid, cred.gid);
		control_reply_error(out, b.control_gid_set
						 ? "not allowed: root and the "
						   "--control-group only"
						 : "not allowed: root only");
	} else if (control_parse((size_t)n == sizeof(text) ? NULL : text,
				 (size_t)n, &req, msg, sizeof(msg)) < 0) {
		control_reply_error(out, msg);
	} else if (conn >= 0 && req.verb != CONTROL_SERVE_FD) {
		control_reply_error(out, "a file descriptor with a request "
					 "that takes none");
	} else if (export_when_given_back(&req, &cred, fd, out)) {
		fd = -1; /* answered by control_unexports_done */
		return;
	} else {
		given_back[0] = '\0';
		control_request(&req, conn, &cred, out);
		if (given_back[0] &&
		    answer_when_given_back(given_back, fd, out)) {
			fd = -1; /* answered by control_unexports_done */
			return;
		}
	}
	control_reply_send(out, fd);
	control_reply_free(out);
}

static void make_parent_dir(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
}

/*
 * One broker per control socket: a second one would unlink the first
 * one's socket and both would run, each with devices the other does not
 * know. The lock goes with its holder, however it ends. Returns the
 * lock's fd, held until exit.
 */
static int take_lock(const char *control_path, char *msg, size_t msg_len)
{
	char path[PATH_MAX], holder[16] = "";
	int fd, e;

	if ((size_t)snprintf(path, sizeof(path), "%s.lock", control_path) >=
	    sizeof(path)) {
		return log_fail(-ENAMETOOLONG, msg, msg_len,
				"%.120s: path too long", control_path);
	}
	make_parent_dir(path);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		e = errno;
		return log_fail(-e, msg, msg_len, "%.120s: %s", path,
				strerror(e));
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		e = errno;
		ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strspn(holder, "0123456789")] = '\0';
		if (e == EWOULDBLOCK)
			snprintf(msg, msg_len,
				 "another " PROGRAM " (pid %s) is running with "
				 "this control socket (it holds %.120s)",
				 holder[0] ? holder : "unknown", path);
		else
			snprintf(msg, msg_len, "%.120s: %s", path, strerror(e));
		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	if (ftruncate(fd, 0) < 0 || dprintf(fd, "%d\n", (int)getpid()) < 0) {
		e = errno;
		snprintf(msg, msg_len, "%.120s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

static int open_control(const char *path, char *msg, size_t msg_len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		return log_fail(-ENAMETOOLONG, msg, msg_len,
				"%s: path too long", path);
	}
	strcpy(sa.sun_path, path);
	make_parent_dir(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_fail(-errno, msg, msg_len, "socket: %s",
				strerror(errno));
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, b.control_gid_set ? 0660 : 0600) < 0 ||
	    /* Only the group changes: with the group among its own, the
	     * broker needs no CAP_CHOWN for that (the unit runs it so). */
	    (b.control_gid_set && chown(path, (uid_t)-1, b.control_gid) < 0) ||
	    listen(fd, 8) < 0) {
		int e = errno;
		snprintf(msg, msg_len, "%s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

/* At most b.rate connections per peer address and minute. */

int ctl_open(void)
{
	char msg[256];

	b.lock = take_lock(b.control_path, msg, sizeof(msg));
	if (b.lock < 0) {
		log_line("not starting: %s", msg);
		return b.lock;
	}
	b.control = open_control(b.control_path, msg, sizeof(msg));
	if (b.control < 0) {
		log_line("control socket: %s", msg);
		return b.control;
	}
	int r = broker_watch(b.control, TAG(TAG_CONTROL, 0));
	if (r < 0)
		log_line("control socket: epoll: %s", strerror(-r));
	return r;
}
