/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device policy (format: policy/README.md): which devices may be
 * exported, to which importers and destinations, and which are exported
 * as soon as they appear. Rules are read top to bottom and the first
 * that matches a device decides; a device no rule matches is denied.
 *
 * The file is input like any other: lines, tokens, rules and networks
 * are bounded, every token is checked, and a refusal names file:line and
 * what is wrong there. A policy that fails to load leaves the old one in
 * force (the caller keeps it).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tls_pin.h"
#include "transport.h"
#include "wire.h"

#define POLICY_MAX_BYTES (1 << 20)
#define POLICY_MAX_LINE 1024
#define POLICY_MAX_RULES 256
#define POLICY_MAX_NETS 16
#define POLICY_MAX_DESTINATIONS 4
#define POLICY_SERIAL_MAX 128
#define POLICY_MAX_INTERFACE_SETS 4   /* with-interface conditions a rule */
#define POLICY_MAX_INTERFACE_TYPES 16 /* types in one */

enum policy_net_kind {
	POLICY_NET_ANY,	  /* any importer */
	POLICY_NET_IP,	  /* an IPv4 or IPv6 prefix */
	POLICY_NET_VSOCK, /* a vsock CID, or any CID */
	POLICY_NET_UNIX,  /* a local unix-socket peer */
	POLICY_NET_FD,	  /* a connection handed over (serve-fd) */
};

struct policy_net {
	enum policy_net_kind kind;
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order */
	unsigned prefix;  /* bits */
	uint32_t cid;	  /* TRANSPORT_VSOCK_CID_ANY for vsock:* */
	/* "key:PIN" (kind ANY) or "key:PIN@NET": the peer must also have
	 * shown this key in a TLS handshake. */
	bool has_key;
	struct tls_pin key;
};

/* An interface type CC:SS:PP; -1 in subclass or protocol for any. */
struct policy_interface_type {
	uint8_t cls;
	int16_t subclass, protocol;
};

/* usbguard's set operators, applied to the types of the device's
 * interfaces (the configuration it has now). */
enum policy_set_op {
	POLICY_ONE_OF,	  /* some interface matches some type */
	POLICY_ALL_OF,	  /* each type is matched by some interface */
	POLICY_NONE_OF,	  /* no interface matches any type */
	POLICY_MATCH_ALL, /* each interface matches some type */
	POLICY_EQUALS,	  /* match-all and all-of */
};

struct policy_interface_set {
	enum policy_set_op op;
	struct policy_interface_type types[POLICY_MAX_INTERFACE_TYPES];
	size_t num_types;
};

struct policy_rule {
	bool allow;
	unsigned line;
	/* What it matches; absent parts match anything. */
	bool vid_any, pid_any;
	uint16_t vid, pid;
	char serial[POLICY_SERIAL_MAX]; /* "" any */
	int device_class;		/* device or any interface class; -1 */
	char busid[USBIP_BUSID_LEN];	/* a glob (fnmatch); "" any */
	struct policy_interface_set with[POLICY_MAX_INTERFACE_SETS];
	size_t num_with; /* every one must hold */
	/* What it allows. */
	struct policy_net from[POLICY_MAX_NETS];
	size_t num_from;
	char to[POLICY_MAX_DESTINATIONS][TRANSPORT_ADDR_STR_MAX];
	size_t num_to;
	bool autoexport;
};

struct policy {
	struct policy_rule *rules;
	size_t num_rules;
};

struct policy_interface {
	uint8_t cls, subclass, protocol;
};

/*
 * What a rule is matched against: sysfs's view of a device. A device
 * with no interfaces has no configuration yet (or is between two): what
 * it will be is unknown. A condition on interfaces (class, with-interface)
 * then never lets an allow rule match, and always lets a deny rule match,
 * so that nothing is let through on a guess; the caller checks again once
 * the device has its interfaces.
 */
struct policy_device {
	uint16_t vid, pid;
	const char *serial; /* NULL or "" when the device has none */
	uint8_t device_class;
	const struct policy_interface *interfaces;
	size_t num_interfaces;
	const char *busid;
};

/* An importer as the kernel reports it (getpeername), or for a handed
 * connection (kind FD) the uid that handed it, in cid: per-peer limits
 * then count per local user. On a TLS session, also the key its worker
 * reports it showed (docs/tls.md says what a compromised worker can do
 * with that). */
struct policy_peer {
	enum policy_net_kind kind; /* IP, VSOCK, UNIX or FD */
	int family;
	uint8_t addr[16];
	uint32_t cid;
	bool has_key;
	struct tls_pin key;
};

/*
 * Whether two peers count as one for per-peer limits (rate, sessions):
 * the same address, except that IPv6 peers in one /64 are one, because
 * whoever holds a /64 can take any address in it at will.
 */
bool policy_peer_same_origin(const struct policy_peer *a,
			     const struct policy_peer *b);

/*
 * Parses text (len bytes, need not be NUL-terminated) into p. name is the
 * file name for messages. Returns 0, or -EINVAL/-E2BIG with msg set to
 * "name:line: what". p is untouched on failure.
 */
int policy_parse(const char *text, size_t len, const char *name,
		 struct policy *p, char *msg, size_t msg_len);
/* Reads and parses a file; same returns (plus -errno for the read). */
int policy_load(const char *path, struct policy *p, char *msg, size_t msg_len);
void policy_clear(struct policy *p);

/* The first rule that matches, or NULL: deny. */
const struct policy_rule *policy_match(const struct policy *p,
				       const struct policy_device *d);
static inline bool policy_allows(const struct policy_rule *r)
{
	return r && r->allow;
}

/* Returns 0, or -EAFNOSUPPORT for a family no rule can name. */
int policy_peer_from_sockaddr(const struct sockaddr *sa, socklen_t len,
			      struct policy_peer *peer);
bool policy_peer_allowed(const struct policy_rule *r,
			 const struct policy_peer *peer);
/* One "from" value (any, unix, fd, vsock:CID, vsock:*, IP[/BITS]), for
 * limits outside the file such as a listener's --from; key: is refused
 * there (a listener sees no key before its worker's handshake). */
int policy_parse_net(const char *text, struct policy_net *net, char *msg,
		     size_t msg_len);
bool policy_net_contains(const struct policy_net *nets, size_t num,
			 const struct policy_peer *peer);
/* Whether one of the rule's "from key:" names pin (any address part
 * aside): the export flow's check on the importer a tls: destination
 * showed. */
bool policy_key_allowed(const struct policy_rule *r, const struct tls_pin *pin);
/* Every pin the policy's allow rules name, at most TLS_PINS_MAX (more
 * are left out, and -E2BIG says so): the keys a worker's TLS handshake
 * lets through, to be judged per device by the broker afterwards. */
int policy_keys(const struct policy *p, struct tls_pins *out);
/* address as transport_format() writes it. */
bool policy_destination_allowed(const struct policy_rule *r,
				const char *address);
