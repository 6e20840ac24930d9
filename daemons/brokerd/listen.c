// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The import flow's door: the listening sockets, and who gets through
 * them (--from, --rate, --max-per-peer) before a worker is started.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "listen.h"
#include "log.h"
#include "macros.h"
#include "sessions.h"

static bool rate_allows(const struct policy_peer *who)
{
	time_t now = time(NULL), oldest = now;
	size_t slot = 0;

	for (size_t i = 0; i < RATE_TABLE; i++) {
		if (b.rates[i].window &&
		    policy_peer_same_origin(&b.rates[i].who, who)) {
			slot = i;
			goto found;
		}
		if (b.rates[i].window < oldest) {
			oldest = b.rates[i].window;
			slot = i;
		}
	}
	/* A new peer takes the least recently counted entry. */
	b.rates[slot].who = *who;
	b.rates[slot].window = now;
	b.rates[slot].count = 0;
found:
	if (now - b.rates[slot].window >= 60) {
		b.rates[slot].window = now;
		b.rates[slot].count = 0;
	}
	return ++b.rates[slot].count <= b.rate;
}

void accept_client(size_t i)
{
	char peer[TRANSPORT_ADDR_STR_MAX];
	_cleanup_close_ int conn =
		transport_accept(b.listen[i], peer, sizeof(peer));
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	struct policy_peer who;

	if (conn < 0 || b.draining)
		return;
	log_step("broker: accepted %s", peer);
	if (getpeername(conn, (struct sockaddr *)&sa, &len) < 0 ||
	    policy_peer_from_sockaddr((struct sockaddr *)&sa, len, &who) < 0) {
		log_line("%s: refused: no peer address", peer);
		return;
	}
	if (b.num_listen_from[i] &&
	    !policy_net_contains(b.listen_from[i], b.num_listen_from[i],
				 &who)) {
		log_line("%s: refused: not in --from of %s", peer,
			 b.listen_name[i]);
		return;
	}
	admit_connection(conn, peer, &who, NULL, b.listen_tls[i], NULL, 0);
}

struct session *admit_connection(int conn, const char *peer,
				 const struct policy_peer *who,
				 const char *qubes_busid, bool tls, char *why,
				 size_t why_len)
{
	char text[96];
	struct session *s = NULL;

	if (b.draining)
		snprintf(text, sizeof(text), "the broker is stopping");
	else if (!rate_allows(who))
		snprintf(text, sizeof(text),
			 "more than %u connections a minute", b.rate);
	else if (sessions_of(who) >= b.max_per_peer)
		snprintf(text, sizeof(text), "%u sessions from it already",
			 b.max_per_peer);
	else if (!(s = spawn_worker(conn, peer, qubes_busid, who, tls))) {
		/* spawn_worker has said why in the log. */
		snprintf(why ? why : text, why ? why_len : sizeof(text),
			 "no worker could be started (at most %u sessions)",
			 b.max_sessions);
		return NULL;
	}
	if (!s)
		log_line("%s: refused: %s", peer, text);
	if (!s && why)
		snprintf(why, why_len, "refused: %s", text);
	return s;
}

int listen_open(char **listen_addrs, size_t num_listen)
{
	char msg[256];

	for (size_t i = 0; i < num_listen; i++) {
		struct transport_addr a;
		int fd;
		int r = transport_parse_tls(listen_addrs[i], &a, msg,
					    sizeof(msg));
		/* The worker hands the records to kTLS, which the kernel
		 * has for TCP only. */
		if (r == 0 && a.tls && a.kind != TRANSPORT_TCP &&
		    a.kind != TRANSPORT_FD) {
			log_line("--listen %s: TLS is for TCP only here (the "
				 "kernel's TLS runs on TCP)",
				 listen_addrs[i]);
			return -EINVAL;
		}
		if (r < 0 ||
		    (fd = transport_listen(&a, 16, msg, sizeof(msg))) < 0) {
			log_line("--listen %s: %s", listen_addrs[i], msg);
			return -EINVAL;
		}
		b.listen[b.num_listen] = fd;
		b.listen_tls[b.num_listen] = a.tls;
		transport_format(&a, b.listen_name[b.num_listen],
				 sizeof(b.listen_name[0]));
		r = broker_watch(fd, TAG(TAG_LISTEN, b.num_listen));
		if (r < 0) {
			log_line("--listen %s: epoll: %s", listen_addrs[i],
				 strerror(-r));
			close(fd);
			return r;
		}
		b.num_listen++;
	}
	return 0;
}
