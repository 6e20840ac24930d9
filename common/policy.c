// SPDX-License-Identifier: GPL-2.0-or-later
#include "policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"

#define MAX_TOKENS 64

struct cursor {
	const char *name;
	unsigned line;
	char *msg;
	size_t msg_len;
};

__attribute__((format(printf, 2, 3))) static int refuse(const struct cursor *c,
							const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return log_fail(-EINVAL, c->msg, c->msg_len, "%s:%u: %s", c->name,
			c->line, what);
}

/* Splits a line into tokens in place: blanks separate, "..." quotes (no
 * escapes), # starts a comment outside quotes. */
static int tokenize(const struct cursor *c, char *line, char **tok, size_t *n)
{
	char *p = line;

	*n = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			return 0;
		if (*n == MAX_TOKENS)
			return refuse(c, "more than %d words", MAX_TOKENS);
		if (*p == '"') {
			char *end = strchr(p + 1, '"');
			if (!end)
				return refuse(c, "unterminated quote");
			tok[(*n)++] = p + 1;
			*end = '\0';
			p = end + 1;
			if (*p && *p != ' ' && *p != '\t')
				return refuse(c, "text right after a quote");
			continue;
		}
		tok[(*n)++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

static bool hex16(const char *s, uint16_t *v)
{
	char *end;
	unsigned long x;

	if (strlen(s) != 4 || !isxdigit((unsigned char)s[0]))
		return false;
	x = strtoul(s, &end, 16);
	*v = (uint16_t)x;
	return !*end;
}

static int parse_id(const struct cursor *c, const char *s,
		    struct policy_rule *r)
{
	char vid[8], pid[8];
	const char *colon = strchr(s, ':');

	if (!colon || colon - s > 4 || strlen(colon + 1) > 4)
		return refuse(c, "id '%s': want VID:PID in hex, * for any", s);
	snprintf(vid, sizeof(vid), "%.*s", (int)(colon - s), s);
	snprintf(pid, sizeof(pid), "%s", colon + 1);
	r->vid_any = !strcmp(vid, "*");
	r->pid_any = !strcmp(pid, "*");
	if ((!r->vid_any && !hex16(vid, &r->vid)) ||
	    (!r->pid_any && !hex16(pid, &r->pid)))
		return refuse(c, "id '%s': want VID:PID in hex, * for any", s);
	return 0;
}

static int parse_net(const struct cursor *c, const char *s,
		     struct policy_net *n);

/* key:PIN, or key:PIN@NET for both. */
static int parse_key_net(const struct cursor *c, const char *s,
			 struct policy_net *n)
{
	char pin[TLS_PIN_TEXT_SIZE];
	const char *text = s + 4, *at = strchr(text, '@');
	size_t len = at ? (size_t)(at - text) : strlen(text);
	struct tls_pin key;

	if (len >= sizeof(pin))
		return refuse(c, "from: key:SHA256:... wants a pin, 50 "
				 "characters");
	memcpy(pin, text, len);
	pin[len] = '\0';
	if (tls_pin_parse(pin, &key) < 0)
		return refuse(c,
			      "from: key:%s is not a pin (SHA256: and 43 "
			      "base64 characters)",
			      pin);
	if (at && !strncmp(at + 1, "key:", 4))
		return refuse(c, "from: one key a value");
	if (at && parse_net(c, at + 1, n) < 0)
		return -EINVAL;
	if (!at) {
		memset(n, 0, sizeof(*n));
		n->kind = POLICY_NET_ANY;
	}
	n->has_key = true;
	n->key = key;
	return 0;
}

static int parse_net(const struct cursor *c, const char *s,
		     struct policy_net *n)
{
	char addr[64], *end;
	const char *slash;
	unsigned long v;

	memset(n, 0, sizeof(*n));
	if (!strncmp(s, "key:", 4))
		return parse_key_net(c, s, n);
	if (!strcmp(s, "any")) {
		n->kind = POLICY_NET_ANY;
		return 0;
	}
	if (!strcmp(s, "unix")) {
		n->kind = POLICY_NET_UNIX;
		return 0;
	}
	/* Whoever handed the connection over (usbip-brokerctl serve-fd:
	 * qrexec, inetd, sshd) vouched for it; its address says nothing. */
	if (!strcmp(s, "fd")) {
		n->kind = POLICY_NET_FD;
		return 0;
	}
	if (!strncmp(s, "vsock:", 6)) {
		n->kind = POLICY_NET_VSOCK;
		if (!strcmp(s + 6, "*")) {
			n->cid = TRANSPORT_VSOCK_CID_ANY;
			return 0;
		}
		errno = 0;
		v = strtoul(s + 6, &end, 10);
		if (errno || end == s + 6 || *end ||
		    !isdigit((unsigned char)s[6]) ||
		    v >= TRANSPORT_VSOCK_CID_ANY)
			return refuse(c,
				      "from '%s': want vsock:CID (a peer, any "
				      "port) or vsock:*",
				      s);
		n->cid = (uint32_t)v;
		return 0;
	}
	n->kind = POLICY_NET_IP;
	slash = strchr(s, '/');
	snprintf(addr, sizeof(addr), "%.*s",
		 slash ? (int)(slash - s) : (int)strlen(s), s);
	if (inet_pton(AF_INET, addr, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, n->addr) == 1)
		n->family = AF_INET6;
	else
		return refuse(
			c,
			"from '%s': not an address (any, unix, fd, "
			"vsock:CID, vsock:*, IP[/BITS])",
			s);
	unsigned max = n->family == AF_INET ? 32 : 128;
	n->prefix = max;
	if (slash) {
		errno = 0;
		v = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end ||
		    !isdigit((unsigned char)slash[1]) || v > max)
			return refuse(c, "from '%s': prefix length 0 to %u", s,
				      max);
		n->prefix = (unsigned)v;
	}
	/* Host bits set would match less than the writer meant. */
	for (unsigned bit = n->prefix; bit < max; bit++)
		if (n->addr[bit / 8] & (0x80 >> (bit % 8)))
			return refuse(c, "from '%s': host bits set", s);
	return 0;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* CC, CC:SS or CC:SS:PP in hex; * for a subclass or protocol (parts left
 * out are *). A protocol under any subclass means nothing: refused. */
static int parse_interface_type(const struct cursor *c, const char *s,
				struct policy_interface_type *t)
{
	int16_t part[3] = {-1, -1, -1};
	const char *p = s;
	size_t n = 0;

	for (;;) {
		if (n == 3)
			goto bad;
		if (p[0] == '*' && n > 0 && (p[1] == ':' || !p[1])) {
			p++;
		} else if (hex_digit(p[0]) >= 0 && hex_digit(p[1]) >= 0 &&
			   (p[2] == ':' || !p[2])) {
			part[n] = (int16_t)(hex_digit(p[0]) << 4 |
					    hex_digit(p[1]));
			p += 2;
		} else {
			goto bad;
		}
		n++;
		if (!*p)
			break;
		if (!*++p)
			goto bad; /* a colon at the end */
	}
	if (part[1] < 0 && part[2] >= 0)
		return refuse(c, "interface '%s': a protocol needs a subclass",
			      s);
	t->cls = (uint8_t)part[0];
	t->subclass = part[1];
	t->protocol = part[2];
	return 0;
bad:
	return refuse(c,
		      "interface '%s': want CC[:SS[:PP]] in hex, * for a "
		      "subclass or protocol",
		      s);
}

/*
 * with-interface TYPE, or with-interface [OPERATOR] { TYPE... } as in
 * usbguard (no operator: equals). tok holds the words after the keyword;
 * returns how many it took, or -EINVAL.
 */
static int parse_interface_set(const struct cursor *c, char **tok, size_t n,
			       struct policy_rule *r)
{
	static const struct {
		const char *name;
		enum policy_set_op op;
	} ops[] = {
		{"one-of", POLICY_ONE_OF},   {"all-of", POLICY_ALL_OF},
		{"none-of", POLICY_NONE_OF}, {"match-all", POLICY_MATCH_ALL},
		{"equals", POLICY_EQUALS},
	};
	struct policy_interface_set *set = &r->with[r->num_with];
	const char *op_name = NULL;
	size_t k = 0;

	if (r->num_with == POLICY_MAX_INTERFACE_SETS)
		return refuse(c, "more than %d with-interface",
			      POLICY_MAX_INTERFACE_SETS);
	memset(set, 0, sizeof(*set));
	set->op = POLICY_EQUALS;
	for (size_t i = 0; n > 0 && i < ARRAY_SIZE(ops); i++)
		if (!strcmp(tok[0], ops[i].name)) {
			set->op = ops[i].op;
			op_name = ops[i].name;
			k = 1;
		}
	if (k == n)
		return refuse(c, "with-interface%s%s without a value",
			      op_name ? " " : "", op_name ? op_name : "");
	if (strcmp(tok[k], "{")) {
		if (op_name || strchr(tok[k], '{') || strchr(tok[k], '}'))
			return refuse(c, "with-interface: want TYPE or "
					 "[OPERATOR] { TYPE... }, braces "
					 "standing alone");
		/* One type: the device has such an interface. */
		if (parse_interface_type(c, tok[k], &set->types[0]) < 0)
			return -EINVAL;
		set->op = POLICY_ONE_OF;
		set->num_types = 1;
		r->num_with++;
		return 1;
	}
	for (k++; k < n && strcmp(tok[k], "}"); k++) {
		if (set->num_types == POLICY_MAX_INTERFACE_TYPES)
			return refuse(c, "more than %d interface types in { }",
				      POLICY_MAX_INTERFACE_TYPES);
		if (parse_interface_type(c, tok[k],
					 &set->types[set->num_types++]) < 0)
			return -EINVAL;
	}
	if (k == n)
		return refuse(c, "with-interface: '{' without '}'");
	if (set->num_types == 0)
		return refuse(c, "with-interface: an empty { }");
	r->num_with++;
	return (int)(k + 1);
}

/* One rule from its tokens (tok[0] is allow or deny). */
static int parse_rule(const struct cursor *c, char **tok, size_t n,
		      struct policy_rule *r)
{
	char msg[256];

	memset(r, 0, sizeof(*r));
	r->line = c->line;
	r->device_class = -1;
	r->vid_any = r->pid_any = true;
	if (!strcmp(tok[0], "allow"))
		r->allow = true;
	else if (strcmp(tok[0], "deny"))
		return refuse(c, "'%s': a rule starts with allow or deny",
			      tok[0]);
	for (size_t i = 1; i < n; i++) {
		const char *key = tok[i];
		bool has_value = i + 1 < n;
		const char *value = has_value ? tok[i + 1] : "";

		if (!strcmp(key, "auto")) {
			if (!r->allow)
				return refuse(c, "auto in a deny rule");
			r->autoexport = true;
			continue;
		}
		if (!strcmp(key, "with-interface")) {
			int used = parse_interface_set(c, tok + i + 1,
						       n - i - 1, r);
			if (used < 0)
				return -EINVAL;
			i += (size_t)used;
			continue;
		}
		if (!has_value)
			return refuse(c, "'%s' without a value", key);
		i++;
		if (!strcmp(key, "id")) {
			if (parse_id(c, value, r) < 0)
				return -EINVAL;
		} else if (!strcmp(key, "serial")) {
			if (!*value || strlen(value) >= sizeof(r->serial))
				return refuse(c, "serial: 1 to %d bytes",
					      POLICY_SERIAL_MAX - 1);
			strcpy(r->serial, value);
		} else if (!strcmp(key, "class")) {
			char *end;
			unsigned long v = strtoul(value, &end, 16);
			if (strlen(value) != 2 || *end ||
			    !isxdigit((unsigned char)value[0]))
				return refuse(c, "class '%s': two hex digits",
					      value);
			r->device_class = (int)v;
		} else if (!strcmp(key, "busid")) {
			if (!*value || strlen(value) >= sizeof(r->busid))
				return refuse(c, "busid: 1 to %d bytes",
					      USBIP_BUSID_LEN - 1);
			strcpy(r->busid, value);
		} else if (!strcmp(key, "from")) {
			if (!r->allow)
				return refuse(c, "from in a deny rule");
			if (r->num_from == POLICY_MAX_NETS)
				return refuse(c, "more than %d from",
					      POLICY_MAX_NETS);
			if (parse_net(c, value, &r->from[r->num_from++]) < 0)
				return -EINVAL;
		} else if (!strcmp(key, "to")) {
			struct transport_addr a;
			if (!r->allow)
				return refuse(c, "to in a deny rule");
			if (r->num_to == POLICY_MAX_DESTINATIONS)
				return refuse(c, "more than %d to",
					      POLICY_MAX_DESTINATIONS);
			if (transport_parse_tls(value, &a, msg, sizeof(msg)) <
			    0)
				return refuse(c, "to: %s", msg);
			if (a.kind == TRANSPORT_FD)
				return refuse(c, "to: fd:N is no destination");
			transport_format(&a, r->to[r->num_to++],
					 sizeof(r->to[0]));
		} else {
			return refuse(c, "unknown word '%s'", key);
		}
	}
	return 0;
}

int policy_parse_net(const char *text, struct policy_net *net, char *msg,
		     size_t msg_len)
{
	struct cursor c = {.name = "from", .msg = msg, .msg_len = msg_len};

	if (!strncmp(text, "key:", 4))
		return refuse(&c,
			      "'%s': a key is judged by the policy, after "
			      "the TLS handshake, not here",
			      text);
	return parse_net(&c, text, net);
}

int policy_parse(const char *text, size_t len, const char *name,
		 struct policy *p, char *msg, size_t msg_len)
{
	struct cursor c = {.name = name, .msg = msg, .msg_len = msg_len};
	struct policy_rule *rules = NULL;
	size_t num = 0, pos = 0;
	int r = 0;

	if (len > POLICY_MAX_BYTES)
		return log_fail(-E2BIG, msg, msg_len,
				"%s: larger than %d bytes", name,
				POLICY_MAX_BYTES);
	while (pos < len && r == 0) {
		char line[POLICY_MAX_LINE + 1], *tok[MAX_TOKENS];
		size_t n = 0, ntok;

		c.line++;
		while (pos < len && text[pos] != '\n') {
			unsigned char ch = (unsigned char)text[pos++];
			if (n == POLICY_MAX_LINE) {
				r = refuse(&c, "longer than %d bytes",
					   POLICY_MAX_LINE);
				break;
			}
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
				r = refuse(&c, "control byte 0x%02x", ch);
				break;
			}
			line[n++] = (char)ch;
		}
		pos++; /* the newline */
		if (r)
			break;
		line[n] = '\0';
		r = tokenize(&c, line, tok, &ntok);
		if (r || ntok == 0)
			continue;
		if (num == POLICY_MAX_RULES) {
			r = refuse(&c, "more than %d rules", POLICY_MAX_RULES);
			break;
		}
		if (num % 16 == 0) {
			struct policy_rule *grown =
				realloc(rules, (num + 16) * sizeof(*rules));
			if (!grown) {
				r = log_fail(-ENOMEM, msg, msg_len,
					     "%s: no memory for %zu rules",
					     name, num + 16);
				break;
			}
			rules = grown;
		}
		r = parse_rule(&c, tok, ntok, &rules[num]);
		if (r == 0)
			num++;
	}
	if (r < 0) {
		free(rules);
		return r;
	}
	policy_clear(p);
	p->rules = rules;
	p->num_rules = num;
	return 0;
}

int policy_load(const char *path, struct policy *p, char *msg, size_t msg_len)
{
	/* O_NONBLOCK and a regular file only: a FIFO there would block the
	 * start, or on a reload the whole loop, waiting for a writer. */
	_cleanup_close_ int fd =
		open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	_cleanup_free_ char *text = malloc(POLICY_MAX_BYTES + 1);
	size_t len = 0;
	struct stat st;

	if (fd < 0 || !text || fstat(fd, &st) < 0) {
		int e = fd < 0 || text ? errno : ENOMEM;
		return log_fail(-e, msg, msg_len, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode))
		return log_fail(-EINVAL, msg, msg_len,
				"%s: not a regular file", path);
	for (;;) {
		ssize_t n = read(fd, text + len, POLICY_MAX_BYTES + 1 - len);
		if (n < 0)
			return log_fail(-errno, msg, msg_len, "%s: %s", path,
					strerror(errno));
		if (n == 0 || (len += (size_t)n) > POLICY_MAX_BYTES)
			break;
	}
	return policy_parse(text, len, path, p, msg, msg_len);
}

void policy_clear(struct policy *p)
{
	free(p->rules);
	p->rules = NULL;
	p->num_rules = 0;
}

static bool type_matches(const struct policy_interface_type *t,
			 const struct policy_interface *i)
{
	return t->cls == i->cls &&
	       (t->subclass < 0 || t->subclass == i->subclass) &&
	       (t->protocol < 0 || t->protocol == i->protocol);
}

/* The device has at least one interface (the caller checks). */
static bool set_holds(const struct policy_interface_set *set,
		      const struct policy_device *d)
{
	bool some = false, every_type = true, every_interface = true;

	for (size_t t = 0; t < set->num_types; t++) {
		bool found = false;
		for (size_t i = 0; i < d->num_interfaces; i++)
			found |=
				type_matches(&set->types[t], &d->interfaces[i]);
		some |= found;
		every_type &= found;
	}
	for (size_t i = 0; i < d->num_interfaces; i++) {
		bool found = false;
		for (size_t t = 0; t < set->num_types; t++)
			found |=
				type_matches(&set->types[t], &d->interfaces[i]);
		every_interface &= found;
	}
	switch (set->op) {
	case POLICY_ONE_OF:
		return some;
	case POLICY_ALL_OF:
		return every_type;
	case POLICY_NONE_OF:
		return !some;
	case POLICY_MATCH_ALL:
		return every_interface;
	case POLICY_EQUALS:
		return every_interface && every_type;
	}
	return false;
}

enum match { MATCH_NO, MATCH_YES, MATCH_UNKNOWN };

static enum match rule_matches(const struct policy_rule *r,
			       const struct policy_device *d)
{
	if ((!r->vid_any && r->vid != d->vid) ||
	    (!r->pid_any && r->pid != d->pid))
		return MATCH_NO;
	if (r->serial[0] && (!d->serial || strcmp(r->serial, d->serial)))
		return MATCH_NO;
	if (r->busid[0] && fnmatch(r->busid, d->busid, 0) != 0)
		return MATCH_NO;
	bool class_by_device =
		r->device_class < 0 || r->device_class == d->device_class;
	if (class_by_device && r->num_with == 0)
		return MATCH_YES;
	/* The rest is about interfaces, which a device without a
	 * configuration does not have yet. */
	if (d->num_interfaces == 0)
		return MATCH_UNKNOWN;
	if (!class_by_device) {
		bool any = false;
		for (size_t i = 0; i < d->num_interfaces; i++)
			any |= d->interfaces[i].cls == r->device_class;
		if (!any)
			return MATCH_NO;
	}
	for (size_t s = 0; s < r->num_with; s++)
		if (!set_holds(&r->with[s], d))
			return MATCH_NO;
	return MATCH_YES;
}

const struct policy_rule *policy_match(const struct policy *p,
				       const struct policy_device *d)
{
	for (size_t i = 0; i < p->num_rules; i++) {
		const struct policy_rule *r = &p->rules[i];
		enum match m = rule_matches(r, d);
		/* Unknown: no allow on a guess, and a deny holds until the
		 * device is configured and checked again. */
		if (m == MATCH_YES || (m == MATCH_UNKNOWN && !r->allow))
			return r;
	}
	return NULL;
}

int policy_peer_from_sockaddr(const struct sockaddr *sa, socklen_t len,
			      struct policy_peer *peer)
{
	memset(peer, 0, sizeof(*peer));
	if (len >= sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		peer->kind = POLICY_NET_IP;
		peer->family = AF_INET;
		memcpy(peer->addr, &in->sin_addr, 4);
		return 0;
	}
	if (len >= sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		peer->kind = POLICY_NET_IP;
		/* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d;
		 * rules name them as IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			peer->family = AF_INET;
			memcpy(peer->addr, &in6->sin6_addr.s6_addr[12], 4);
		} else {
			peer->family = AF_INET6;
			memcpy(peer->addr, &in6->sin6_addr, 16);
		}
		return 0;
	}
	if (len >= sizeof(struct sockaddr_vm) && sa->sa_family == AF_VSOCK) {
		peer->kind = POLICY_NET_VSOCK;
		peer->cid =
			((const struct sockaddr_vm *)(const void *)sa)->svm_cid;
		return 0;
	}
	if (sa->sa_family == AF_UNIX) {
		peer->kind = POLICY_NET_UNIX;
		return 0;
	}
	return -EAFNOSUPPORT;
}

bool policy_peer_same_origin(const struct policy_peer *a,
			     const struct policy_peer *b)
{
	if (a->kind != b->kind || a->family != b->family || a->cid != b->cid)
		return false;
	if (a->kind == POLICY_NET_IP && a->family == AF_INET6)
		return !memcmp(a->addr, b->addr, 8);
	return !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static bool in_prefix(const struct policy_net *n, const struct policy_peer *p)
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (n->family != p->family || memcmp(n->addr, p->addr, full))
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (n->addr[full] & mask) == (p->addr[full] & mask);
}

bool policy_net_contains(const struct policy_net *nets, size_t num,
			 const struct policy_peer *peer)
{
	for (size_t i = 0; i < num; i++) {
		const struct policy_net *n = &nets[i];
		if (n->has_key &&
		    !(peer->has_key && tls_pin_equal(&n->key, &peer->key)))
			continue;
		if (n->kind == POLICY_NET_ANY)
			return true;
		if (n->kind != peer->kind)
			continue;
		if (n->kind == POLICY_NET_UNIX || n->kind == POLICY_NET_FD)
			return true;
		if (n->kind == POLICY_NET_VSOCK &&
		    (n->cid == TRANSPORT_VSOCK_CID_ANY || n->cid == peer->cid))
			return true;
		if (n->kind == POLICY_NET_IP && in_prefix(n, peer))
			return true;
	}
	return false;
}

bool policy_peer_allowed(const struct policy_rule *r,
			 const struct policy_peer *peer)
{
	return policy_allows(r) &&
	       policy_net_contains(r->from, r->num_from, peer);
}

bool policy_key_allowed(const struct policy_rule *r, const struct tls_pin *pin)
{
	if (!policy_allows(r) || !pin)
		return false;
	for (size_t i = 0; i < r->num_from; i++)
		if (r->from[i].has_key && tls_pin_equal(&r->from[i].key, pin))
			return true;
	return false;
}

int policy_keys(const struct policy *p, struct tls_pins *out)
{
	char text[TLS_PIN_TEXT_SIZE];
	int r = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < p->num_rules; i++)
		for (size_t j = 0;
		     p->rules[i].allow && j < p->rules[i].num_from; j++) {
			if (!p->rules[i].from[j].has_key)
				continue;
			tls_pin_format(&p->rules[i].from[j].key, text);
			if (tls_pins_add(out, text) == -ENOSPC)
				r = -E2BIG;
		}
	return r;
}

bool policy_destination_allowed(const struct policy_rule *r,
				const char *address)
{
	if (!policy_allows(r))
		return false;
	for (size_t i = 0; i < r->num_to; i++)
		if (!strcmp(r->to[i], address))
			return true;
	return false;
}
