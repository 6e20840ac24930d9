// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * usbip-brokerd: the one privileged process. It opens usbfs nodes, keeps
 * host drivers off exported devices, and hands each session's device fd
 * (privileges dropped) to an unprivileged worker in fresh namespaces. It
 * never reads a USB/IP byte: client sockets go to workers unread, and all
 * it hears from a worker is the fixed messages of common/ipc.h.
 *
 * This file: the options, the checks before start, and the start
 * (README.md says how the other files are layered).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "cli.h"
#include "control.h"
#include "devices.h"
#include "hotplug.h"
#include "log.h"
#include "usb_sysfs.h"
#include "loop.h"
#include "macros.h"
#include "sign.h"
#include "tls_handshake.h"
#include "verify.h"
#include "tls_key.h"
#include "transport.h"
#include "namespace.h"
#include "sessions.h"
#include "usbfs_quota.h"

#define DEFAULT_MAX_SESSIONS 16
#define DEFAULT_MAX_PER_PEER 4
#define DEFAULT_IMPORT_TIMEOUT_S 30
#define DEFAULT_LISTEN "tcp:3240"
#define DEFAULT_POLICY USBIP_POLICY_PATH
#define DEFAULT_RATE 60 /* connections per peer per minute */

/*
 * The worker runs as WORKER_UID in its own user namespace: if that uid
 * cannot execute it, every session dies at exec (127), and nobody learns
 * it until a client comes. A child takes that uid to ask the kernel.
 */
static int check_worker(const char *path, char *msg, size_t msg_len)
{
	struct stat st;
	int status;
	pid_t pid;
	uid_t uid;
	gid_t gid;

	worker_ids(&uid, &gid);

	if (stat(path, &st) < 0) {
		int e = errno;
		return log_fail(-e, msg, msg_len, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		return log_fail(-EINVAL, msg, msg_len, "%s: not a regular file",
				path);
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;
		return log_fail(-e, msg, msg_len, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		/* Without root the worker's uid is this one. */
		if (setresgid(gid, gid, gid) == 0)
			(void)!setresuid(uid, uid, uid);
		_exit(access(path, X_OK) == 0 ? 0 : errno & 0xff);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_fail(-errno, msg, msg_len, "waitpid: %s",
					strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		int e = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
		return log_fail(-e, msg, msg_len,
				"%s: uid %u cannot run it: %s", path,
				(unsigned)uid, strerror(e));
	}
	return 0;
}

/* For udev's IMPORT{program}: the policy's verdict on BUSID as
 * KEY=VALUE lines, read from the file alone (the broker need not run). */
static int query_policy(const char *busid)
{
	struct usbdev_info info;
	char msg[256];

	if (!usb_busid_valid(busid) ||
	    usbdev_read_info(busid, &info, msg, sizeof(msg)) < 0) {
		printf("USBIP_BROKER_POLICY=deny\n");
		return EXIT_OK;
	}
	const struct policy_rule *rule = rule_for(&info);
	const char *verdict = verdict_of(&info, rule);
	printf("USBIP_BROKER_POLICY=%s\n", verdict);
	if (rule)
		printf("USBIP_BROKER_RULE=%s:%u\n", b.policy_path, rule->line);
	if (!strcmp(verdict, "auto") && rule->num_to)
		printf("USBIP_BROKER_TO=%s\n", rule->to[0]);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* --usbfs-memory-mb, 0 when not given. */
static unsigned long usbfs_memory_mb;

/* The host's usbfs quota, raised if asked, split among the sessions:
 * every worker is told its share (it cannot read sysfs itself). */
static int usbfs_share_init(void)
{
	unsigned long mb = USBFS_MEMORY_MB_DEFAULT;
	int r = usbfs_memory_mb ? usbfs_quota_raise(USBFS_MEMORY_MB_PATH,
						    usbfs_memory_mb, &mb)
				: usbfs_quota_read(USBFS_MEMORY_MB_PATH, &mb);

	if (r < 0 && usbfs_memory_mb &&
	    usbfs_quota_read(USBFS_MEMORY_MB_PATH, &mb) == 0) {
		/* Without root the file is not ours to write: whoever
		 * starts the broker raises it (README.md: rootless mode). */
		log_line("--usbfs-memory-mb %lu: %s: %s%s; going on with "
			 "%lu MiB",
			 usbfs_memory_mb, USBFS_MEMORY_MB_PATH, strerror(-r),
			 r == -EACCES || r == -EPERM || r == -EROFS
				 ? " (only root may raise it: the unit's "
				   "ExecStartPre=+ or a tmpfiles.d 'w' line "
				   "does, before the broker starts)"
				 : "",
			 mb);
	} else if (r < 0) {
		log_line("%s: %s; assuming %u MiB", USBFS_MEMORY_MB_PATH,
			 strerror(-r), USBFS_MEMORY_MB_DEFAULT);
		mb = USBFS_MEMORY_MB_DEFAULT;
	}
	uint64_t kib = usbfs_session_share_kib(mb, b.max_sessions);
	if (kib < 64) {
		log_line("a usbfs quota of %lu MiB leaves %llu KiB to each of "
			 "%u sessions: raise it (--usbfs-memory-mb) or lower "
			 "--max-sessions",
			 mb, (unsigned long long)kib, b.max_sessions);
		return -EINVAL;
	}
	snprintf(b.usbfs_share, sizeof(b.usbfs_share), "--usbfs-share=%llu",
		 (unsigned long long)kib);
	log_line("usbfs quota %lu MiB%s: %llu KiB for each of %u sessions", mb,
		 mb ? "" : " (off)", (unsigned long long)kib, b.max_sessions);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROGRAM " [OPTIONS]\n"
		"\n"
		"The privileged half of usbip-broker: opens USB devices, keeps "
		"host\n"
		"drivers off exported ones, and starts a sandboxed "
		"usbip-worker per\n"
		"session.\n"
		"\n"
		"  --listen ADDR        accept importers on ADDR (repeatable; "
		"default\n"
		"                       tcp:3240; also vsock:*:3240 (any CID), "
		"unix:PATH, fd:N)\n"
		"  --control PATH       control socket (default %s)\n"
		"  --control-group NAME also let this group use it (default: "
		"root only)\n"
		"  --worker PATH        the worker (default %s)\n"
		"  --max-sessions N     at most N sessions at once (default "
		"%d)\n"
		"  --from NET           importers the last --listen accepts "
		"(repeatable:\n"
		"                       IP[/BITS], vsock:CID (any port), "
		"vsock:*, unix,\n"
		"                       any)\n"
		"  --policy FILE        the device policy (default %s)\n"
		"  --rate N             connections per peer and minute "
		"(default %d)\n"
		"  --max-per-peer N     at most N sessions from one peer "
		"address\n"
		"                       (default %d)\n"
		"  --import-timeout S   end a session that has no device after "
		"S seconds\n"
		"                       (default %d)\n"
		"  --no-spare           start each import's worker when its "
		"client comes,\n"
		"                       not one in advance\n"
		"  --export BUSID       export BUSID at start (repeatable)\n"
		"  --usbfs-memory-mb MB raise the host's usbfs quota to MB "
		"at start;\n"
		"                       each session gets 1/(max-sessions + 1) "
		"of it\n"
		"  --key FILE           the TLS identity for tls: listeners "
		"and\n"
		"                       destinations (default %s)\n"
		"  --tls-record-limit N end each TLS session after N records "
		"either\n"
		"                       way, less a margin (testing and "
		"hardening: it\n"
		"                       can only lower the cipher's own "
		"limit; %llu to %llu)\n"
		"  --query-policy BUSID print the policy's verdict on BUSID "
		"for udev\n"
		"                       (USBIP_BROKER_POLICY=deny|allow|auto) "
		"and exit\n"
		"  --bot-readahead      workers read mass-storage data and "
		"status ahead\n"
		"                       of the importer's requests\n"
		"  --no-bot-readahead   they do not (the workers' default)\n"
		"  --busy-poll USEC     workers poll up to USEC microseconds "
		"without\n"
		"                       sleeping when a URB or request is due "
		"soon\n"
		"                       (0 to 10000; default 0, off)\n"
		"  --version            print the version and exit\n"
		"\n"
		"Exit status: 0 stopped by SIGTERM, 1 failure, 2 usage.\n",
		CONTROL_DEFAULT_PATH, USBIP_WORKER_PATH, DEFAULT_MAX_SESSIONS,
		DEFAULT_POLICY, DEFAULT_RATE, DEFAULT_MAX_PER_PEER,
		DEFAULT_IMPORT_TIMEOUT_S, TLS_KEY_DEFAULT_DIR "/" TLS_KEY_FILE,
		TLS_RECORD_LIMIT_MIN, TLS_RECORD_LIMIT_MAX);
}

/* The TLS identity: required by a tls: listener or --key, else loaded
 * if it is there (a tls: destination may come with a later export). */
static int tls_setup(char **listen_addrs, size_t num_listen)
{
	const char *path = b.tls_key_path ? b.tls_key_path
					  : TLS_KEY_DEFAULT_DIR
				   "/" TLS_KEY_FILE;
	bool needed = b.tls_key_path != NULL;
	char msg[512];

	for (size_t i = 0; i < num_listen; i++)
		needed |= !strncmp(listen_addrs[i], "tls:", 4);
	if (!needed && access(path, F_OK) < 0)
		return 0;
	if (sign_init(path, msg, sizeof(msg)) < 0) {
		log_line("--key %s: %s", path, msg);
		return needed ? -EINVAL : 0;
	}
	if (msg[0])
		log_line("%s", msg);
	/* Without it no TLS peer's key can be believed: like no key. */
	if (verify_init(msg, sizeof(msg)) < 0) {
		log_line("TLS: %s", msg);
		sign_free();
		return needed ? -EINVAL : 0;
	}
	char pin[TLS_PIN_TEXT_SIZE];
	tls_pin_format(sign_pin(), pin);
	log_line("TLS identity %s: %s", path, pin);
	struct tls_pins keys;
	policy_keys(&b.policy, &keys);
	if (keys.count == 0)
		log_line("the policy names no key (from key:SHA256:...): every "
			 "TLS peer will be refused");
	return 0;
}

/* From the checks before start to the stop: the exit status. */
static int run(char **listen_addrs, size_t num_listen, char **exports,
	       size_t num_exports)
{
	char msg[256];
	uid_t uid;
	gid_t gid;

	/* Processes of the broker's uid (without root: its dialler, and
	 * its workers, though namespaces hide it from them) must not
	 * ptrace it or open its /proc/PID/mem. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		log_line("PR_SET_DUMPABLE: %s", strerror(errno));
		return EXIT_FAIL;
	}
	/* A kernel that refuses the workers' namespaces is told now, not
	 * by the first session. */
	worker_ids(&uid, &gid);
	if (ns_probe(uid, gid, msg, sizeof(msg)) < 0) {
		log_line("workers cannot be started: %s%s", msg,
			 geteuid() ? "; without root the kernel must let "
				     "unprivileged users create user "
				     "namespaces, or the broker must run as "
				     "root (README.md: root mode)"
				   : "");
		return EXIT_FAIL;
	}
	log_line("%s: workers run as uid %u gid %u outside their namespaces",
		 geteuid() ? "rootless mode" : "root mode", (unsigned)uid,
		 (unsigned)gid);
	if (check_worker(b.worker, msg, sizeof(msg)) < 0) {
		log_error("--worker %s", msg);
		return EXIT_FAIL;
	}
	if (tls_setup(listen_addrs, num_listen) < 0)
		return EXIT_FAIL;
	if (loop_setup(listen_addrs, num_listen) < 0)
		return EXIT_FAIL;
	for (size_t i = 0; i < num_exports; i++)
		if (export_device(exports[i], NULL, msg, sizeof(msg)) < 0)
			log_line("--export %s: %s", exports[i], msg);
	auto_export_present();
	log_line("ready: control %s, %zu listening socket(s), worker %s",
		 b.control_path, b.num_listen, b.worker);
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "READY=1");
#endif
	broker_notify_status();
	int r = loop_run();
	/* A fallback: the stop gave every device to a give-back child
	 * (loop.c, give_back_all), or gave it back here at once when none
	 * could be forked; what is left (a loop that failed) goes back in
	 * the broker itself, one after another. */
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		if (b.devices[i].used)
			release_device(&b.devices[i], true);
	unlink(b.control_path);
	policy_clear(&b.policy);
	sign_free();
	verify_free();
	log_line("stopped");
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

/* --tls-record-limit: a plain number in range, for the TLS workers'
 * argv, or false (logged). */
static bool tls_record_limit_option(void)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(optarg, &end, 10);
	if (optarg[0] < '0' || optarg[0] > '9' || errno || *end ||
	    n < TLS_RECORD_LIMIT_MIN || n > TLS_RECORD_LIMIT_MAX) {
		log_line("--tls-record-limit: %llu to %llu records",
			 TLS_RECORD_LIMIT_MIN, TLS_RECORD_LIMIT_MAX);
		return false;
	}
	snprintf(b.tls_record_limit, sizeof(b.tls_record_limit),
		 "--tls-record-limit=%llu", n);
	return true;
}

/* usbip-worker's own bound on --busy-poll (SESSION_BUSY_POLL_MAX_US):
 * told here, at start, rather than by every worker refusing to run. */
#define BUSY_POLL_MAX_US 10000

/* --busy-poll: microseconds, 0 to the bound, for every worker's argv,
 * or false (logged). */
static bool busy_poll_option(void)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(optarg, &end, 10);
	if (optarg[0] < '0' || optarg[0] > '9' || errno || *end ||
	    n > BUSY_POLL_MAX_US) {
		log_line("--busy-poll: 0 (off) to %d microseconds",
			 BUSY_POLL_MAX_US);
		return false;
	}
	snprintf(b.busy_poll, sizeof(b.busy_poll), "--busy-poll=%lu", n);
	return true;
}

/* A whole number from 1 to max in optarg, or false (logged). */
static bool number_option(const char *name, unsigned long max, const char *unit,
			  unsigned long *v)
{
	char *end;
	unsigned long n = strtoul(optarg, &end, 10);

	if (*end || n == 0 || n > max) {
		log_line("--%s: 1 to %lu%s", name, max, unit);
		return false;
	}
	*v = n;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"listen", required_argument, NULL, 'l'},
		{"control", required_argument, NULL, 'c'},
		{"control-group", required_argument, NULL, 'g'},
		{"worker", required_argument, NULL, 'w'},
		{"max-sessions", required_argument, NULL, 'm'},
		{"export", required_argument, NULL, 'e'},
		{"policy", required_argument, NULL, 'P'},
		{"from", required_argument, NULL, 'f'},
		{"rate", required_argument, NULL, 'r'},
		{"max-per-peer", required_argument, NULL, 'p'},
		{"import-timeout", required_argument, NULL, 'T'},
		{"no-spare", no_argument, NULL, 'S'},
		{"query-policy", required_argument, NULL, 'Q'},
		{"usbfs-memory-mb", required_argument, NULL, 'M'},
		{"key", required_argument, NULL, 'K'},
		{"tls-record-limit", required_argument, NULL, 'L'},
		{"bot-readahead", no_argument, NULL, 'A'},
		{"no-bot-readahead", no_argument, NULL, 'R'},
		{"busy-poll", required_argument, NULL, 'y'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	char *listen_addrs[MAX_LISTEN], *exports[MAX_EXPORTED];
	size_t num_listen = 0, num_exports = 0;
	const char *query = NULL;
	char msg[256];
	unsigned long v;
	int c;

	log_init(PROGRAM);
	b.worker = USBIP_WORKER_PATH;
	b.control_path = CONTROL_DEFAULT_PATH;
	b.max_sessions = DEFAULT_MAX_SESSIONS;
	b.policy_path = DEFAULT_POLICY;
	b.rate = DEFAULT_RATE;
	b.max_per_peer = DEFAULT_MAX_PER_PEER;
	b.import_timeout_s = DEFAULT_IMPORT_TIMEOUT_S;
	bool policy_given = false;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (num_listen == MAX_LISTEN) {
				log_line("at most %d --listen", MAX_LISTEN);
				return EXIT_USAGE;
			}
			listen_addrs[num_listen++] = optarg;
			break;
		case 'c':
			/* Absolute, in a directory of its own: the dialler
			 * hides that directory (dial.c). */
			if (optarg[0] != '/' || !strchr(optarg + 1, '/'))
				return cli_usage_error(
					PROGRAM,
					"--control wants an absolute path in "
					"a directory other than /, not '%s'",
					optarg);
			b.control_path = optarg;
			break;
		case 'g': {
			struct group *g = getgrnam(optarg);
			if (!g) {
				log_line("no group %s", optarg);
				return EXIT_USAGE;
			}
			b.control_gid = g->gr_gid;
			b.control_gid_set = true;
			break;
		}
		case 'w':
			b.worker = optarg;
			break;
		case 'S':
			b.no_spare = true;
			break;
		case 'm':
			if (!number_option("max-sessions", 1024, "", &v))
				return EXIT_USAGE;
			b.max_sessions = (unsigned)v;
			break;
		case 'e':
			if (num_exports == MAX_EXPORTED) {
				log_line("at most %d --export", MAX_EXPORTED);
				return EXIT_USAGE;
			}
			exports[num_exports++] = optarg;
			break;
		case 'P':
			b.policy_path = optarg;
			policy_given = true;
			break;
		case 'f': {
			size_t l = num_listen - 1;
			if (num_listen == 0 ||
			    b.num_listen_from[l] == POLICY_MAX_NETS) {
				log_line(
					"--from follows a --listen, at most %d "
					"times",
					POLICY_MAX_NETS);
				return EXIT_USAGE;
			}
			if (policy_parse_net(
				    optarg,
				    &b.listen_from[l][b.num_listen_from[l]++],
				    msg, sizeof(msg)) < 0)
				return cli_usage_error(PROGRAM, "--%s", msg);
			break;
		}
		case 'r':
			if (!number_option("rate", 100000, " a minute", &v))
				return EXIT_USAGE;
			b.rate = (unsigned)v;
			break;
		case 'p':
			if (!number_option("max-per-peer", 1024, "", &v))
				return EXIT_USAGE;
			b.max_per_peer = (unsigned)v;
			break;
		case 'T':
			if (!number_option("import-timeout", 3600, " s", &v))
				return EXIT_USAGE;
			b.import_timeout_s = (unsigned)v;
			break;
		case 'Q':
			query = optarg;
			break;
		case 'M':
			if (!number_option("usbfs-memory-mb", 1048576, "", &v))
				return EXIT_USAGE;
			usbfs_memory_mb = v;
			break;
		case 'K':
			b.tls_key_path = optarg;
			break;
		case 'L':
			if (!tls_record_limit_option())
				return EXIT_USAGE;
			break;
		case 'A':
			b.bot_readahead_arg = "--bot-readahead";
			break;
		case 'R':
			b.bot_readahead_arg = "--no-bot-readahead";
			break;
		case 'y':
			if (!busy_poll_option())
				return EXIT_USAGE;
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
	if (optind != argc)
		return cli_usage_error(PROGRAM, "unexpected argument '%s'",
				       argv[optind]);
	/* A mistyped address is a usage error, found before anything
	 * starts (every program exits 2 for one). */
	for (size_t i = 0; i < num_listen; i++) {
		struct transport_addr a;
		if (transport_parse_tls(listen_addrs[i], &a, msg, sizeof(msg)) <
		    0)
			return cli_usage_error(PROGRAM, "--listen %s", msg);
	}
	if (policy_load(b.policy_path, &b.policy, msg, sizeof(msg)) < 0) {
		/* No file at the default place: nothing is allowed, which is
		 * the default anyway. Anything else is a mistake to fix. */
		if (policy_given || access(b.policy_path, F_OK) == 0) {
			log_error("policy: %s", msg);
			return EXIT_FAIL;
		}
		if (!query)
			log_line("no policy at %s: every device is denied",
				 b.policy_path);
	}
	if (query)
		return query_policy(query);
	if (usbfs_share_init() < 0)
		return EXIT_USAGE;
	if (num_listen == 0)
		listen_addrs[num_listen++] = DEFAULT_LISTEN;
	return run(listen_addrs, num_listen, exports, num_exports);
}
