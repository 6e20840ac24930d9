#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The real usbip-brokerd on the host, no USB device needed: a temporary
# control socket, a loopback listener, and (for worker-*) the fake worker
# of tests/tools/fake-worker.c in the real worker's place.
#
#   broker-test.sh BUILD_DIR TEST
#
# Tests:
#   worker-SCENARIO   a client asks the fake worker for SCENARIO; the
#                     worker must be killed (unless SCENARIO is legit or
#                     exit), the broker must answer list and status within
#                     2 s throughout, and its fd count must come back
#   tls-worker-SCENARIO  the same on a tls: listener (the broker has a
#                     key; the fake worker asks it to sign, and for the
#                     tls-* scenarios and sign-legit, peer-twice and
#                     peer-escape runs a real handshake): the worker must
#                     be killed for the reason the broker should name
#                     (unless sign-legit, which must get its one
#                     signature and have its key verified)
#   hostile-soak [N]  N rounds (default 50) of four hostile workers at
#                     once (flood, stats-flood, two-outstanding,
#                     oversize): every one killed, status answered
#                     within 2 s each round, fds back, RSS within 1 MiB
#   max-per-peer      a fifth session from one address is refused
#   import-timeout    a worker without a device is stopped, then killed
#   list-without-usb  list on a host without /sys/bus/usb/devices
#   show-generate-without-usb  there too: show of an absent device is
#                     refused with its busid named; generate-policy's
#                     output is a policy the broker reloads
#   environment       a worker gets the broker's USBIP_* variables alone
#   second-instance   a second broker on the same control socket refuses
#   missing-worker    a worker uid 65534 cannot run stops the start
#   tls-key-refused   a tls: listener whose --key is readable by others,
#                     a symlink, a directory, absent or a FIFO stops the
#                     start within 5 s, with the path named; with a good
#                     key the broker logs its pin, never the key itself
#   tls-key-not-in-broker  with a tls: listener and a key, the 32 private
#                     bytes of the key are nowhere in the broker's readable
#                     memory (so not in the diallers it forks either), and
#                     are in its signer child's (the search works)
#   tls-signer-killed with its signer killed, the broker refuses two
#                     signatures with an error (logged once), answers
#                     throughout, and stops cleanly
#   tls-verifier      the transcript verifier runs as nobody with no
#                     capabilities, no_new_privs, seccomp, undumpable, fds
#                     0-3 only, and verifies a real handshake; hung, it
#                     is given up after 2 s and killed, every TLS session
#                     is refused (logged once) and the broker answers
#                     throughout
#   tls-helpers-die-with-broker  the broker SIGKILLed while its verifier
#                     and its signer are stuck (stopped: their channel's
#                     end is not what ends them): both are gone within
#                     1 s, the verifier too although its uid drop to
#                     nobody cleared the parent-death signal
#   serve-fd          connections handed over with usbip-brokerctl
#                     serve-fd (SCM_RIGHTS) get workers, under the same
#                     per-peer limit; --qubes starts a Qubes session; a
#                     file that is no socket is refused; two descriptors
#                     with one request are refused and both closed
#   rootless          the broker as an unprivileged uid (README.md:
#                     rootless mode) starts a worker mapped to its own
#                     uid, in a process group of its own, and is itself
#                     undumpable
#   spare-used        a plain listener's session goes to the spare
#                     worker (started before the client): logged as
#                     such, the fake worker gets its client and peer
#                     over the channel and ends normally; a new spare
#                     follows; the stop ends it silently
#   spare-real        the same with the real usbip-worker as the spare,
#                     sandboxed before its client: an OP_REQ_IMPORT
#                     reaches the broker as its open request
#   no-spare          with --no-spare no spare is started, and a session
#                     gets a worker of its own
#   spare-speak, spare-exit, spare-close-early  a spare that speaks
#                     before it has a session is killed, one that
#                     exits or closes its channel is reaped; either way
#                     the next spare comes no sooner than 10 s later, and
#                     a client meanwhile gets a worker of its own
#   spare-replaced    the spare gets the options every worker gets
#                     (--bot-readahead, --busy-poll); once the worker binary is
#                     replaced on disk, the next session does not go to
#                     the spare of the old one but to a worker of its own
#   busy-poll         --busy-poll reaches a session's worker (no
#                     spare; cli-test.sh has its usage errors)
#   root-capabilities the broker as root with the root-mode unit's
#                     bounding set (SETUID SETGID KILL) and its /proc
#                     (ProtectProc=invisible: hidepid) starts and maps a
#                     worker to 65534
#
# Needs root (workers start in user namespaces); exits 77 (skip) without.
set -uo pipefail

build=$(realpath "$1")
test=$2
brokerd=$build/daemons/brokerd/usbip-brokerd
brokerctl=$build/daemons/brokerctl/usbip-brokerctl
fake=$build/tests/fake-worker

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root: the broker starts workers in user namespaces"
	exit 77
fi

dir=$(mktemp -d /tmp/broker-test.XXXXXX)
chmod 755 "$dir"
log=$dir/broker.log
: >"$log"
ctl="$brokerctl --socket $dir/control.sock"
bpid=
clients=()

cleanup() {
	for fd in "${clients[@]}"; do exec {fd}>&-; done
	if [ -n "$bpid" ]; then
		# A failed test: its workers ignore SIGTERM and outlive it.
		for w in $(cat /proc/"$bpid"/task/*/children 2>/dev/null); do
			kill -KILL "$w" 2>/dev/null
		done
		kill -KILL "$bpid" 2>/dev/null
	fi
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	echo "--- broker log"
	cat "$log"
	exit 1
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds, polling.
wait_for() {
	local end=$((SECONDS * 10 + $1 * 10)) t
	shift
	while ! "$@"; do
		t=$((SECONDS * 10))
		[ "$t" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# start_broker [ARGS...]: on a free loopback port; sets bpid and port.
start_broker() {
	printf 'deny\n' >"$dir/policy.conf"
	for _ in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 20000))
		local tls_args=()
		if [ -n "${tls:-}" ]; then
			tls_args=(--listen "tls:tcp:127.0.0.1:$((port + 1))"
				--key "$dir/keys/identity.key")
		fi
		${run_as:-} "$brokerd" --listen "tcp:127.0.0.1:$port" "${tls_args[@]}" \
			--control "$dir/control.sock" --policy "$dir/policy.conf" \
			--rate 1000 --worker "$fake" "$@" 2>>"$log" &
		bpid=$!
		if wait_for 5 grep -q "ready:" "$log"; then
			return 0
		fi
		kill -0 "$bpid" 2>/dev/null && fail "broker not ready in 5 s"
		wait "$bpid"
		bpid=
		grep -q "Address already in use" "$log" || fail "broker did not start"
	done
	fail "no free port"
}

# connect SCENARIO: a client that asks for SCENARIO and stays connected.
connect() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$((port + ${tls:-0}))" || fail "connect"
	printf '%s\n' "$1" >&"$fd"
	clients+=("$fd")
}

# The control socket answers, and quickly.
responsive() {
	timeout 2 $ctl list >/dev/null || fail "list not answered within 2 s"
	timeout 2 $ctl status >/dev/null || fail "status not answered within 2 s"
}

sessions() { timeout 2 $ctl status | grep -c import; }
no_sessions() { [ "$(sessions)" = 0 ]; }
fds() { ls "/proc/$bpid/fd" | wc -l; }
# The broker's spare worker (its channel is one of the broker's fds):
# there, as after a tick with no session starting.
has_spare() {
	local c
	for c in $(cat /proc/"$bpid"/task/*/children 2>/dev/null); do
		tr '\0' ' ' </proc/"$c"/cmdline 2>/dev/null | grep -q -- ' --spare ' && return 0
	done
	return 1
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$bpid/status"; }

# stop_broker: SIGTERM; exit 0 within the drain bound (3 s, and a tick).
stop_broker() {
	kill -TERM "$bpid"
	local t=$SECONDS
	wait_for 6 sh -c "! kill -0 $bpid 2>/dev/null" ||
		fail "broker still running 6 s after SIGTERM"
	wait "$bpid" || fail "broker exit status $?"
	bpid=
	echo "stopped in $((SECONDS - t)) s"
}

# hand SCENARIO [SERVE-FD ARGS...]: a connected socket whose peer has sent
# SCENARIO, handed to the broker; prints brokerctl's exit status and
# message. The peer end stays with the worker alone.
hand() {
	local scenario=$1
	shift
	python3 - "$scenario" $ctl serve-fd "$@" <<'PY'
import socket, subprocess, sys
ours, theirs = socket.socketpair()
ours.sendall(sys.argv[1].encode() + b"\n")
p = subprocess.run(sys.argv[2:], stdin=theirs, capture_output=True, text=True)
print(p.returncode, p.stderr.strip())
PY
}

# Why the broker must kill a worker of each TLS scenario.
tls_reason() {
	case $1 in
	sign-twice) echo "sent a signing request more than 1 times" ;;
	sign-other | sign-client) echo "asked to sign something that is not a TLS 1.3 server CertificateVerify" ;;
	peer-unsigned) echo "reported its peer's key before its handshake was signed" ;;
	devlist-before-tls) echo "sent a device list request before its TLS handshake" ;;
	sign-plain) echo "sent a signing request on a plain session" ;;
	sign-short-hash) echo "asked to sign something that is not a TLS 1.3 server CertificateVerify" ;;
	sign-overlong) echo "broke the channel (161 bytes to sign)" ;;
	peer-twice) echo "sent its peer's key more than 1 times" ;;
	peer-plain) echo "sent its peer's key on a plain session" ;;
	tls-claim-other) echo "claimed its TLS peer's key is SHA256:WlpaWlpa" ;;
	tls-own-random) echo "(the ServerHello's random is not this session's)" ;;
	tls-other-session) echo "(the server's part is not what the broker signed in this session)" ;;
	tls-bit-flip | tls-other-key) echo "(the client's CertificateVerify does not verify with the key in its Certificate)" ;;
	tls-truncated) echo "(handshake message 9 says" ;;
	tls-overlong) echo "(1 bytes after the client's CertificateVerify)" ;;
	tls-garbage) echo "sent a TLS handshake transcript that does not hold (" ;;
	tls-oversize) echo "broke the channel (a 16385-byte handshake transcript)" ;;
	esac
}

# Whether process $1 is gone (a zombie counts: it runs no more).
gone() {
	[ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]
}

# The broker's child (signer, verifier) running as uid $1.
child_with_uid() {
	local c
	for c in $(cat /proc/"$bpid"/task/*/children 2>/dev/null); do
		grep -qP "^Uid:\t$1\t" /proc/"$c"/status 2>/dev/null && echo "$c"
	done
}

tls=
case $test in
tls-worker-*)
	tls=1
	mkdir -p "$dir/keys"
	$brokerctl keygen --out "$dir/keys" >/dev/null || fail "keygen"
	test=worker-${test#tls-worker-}
	;;
esac

case $test in
serve-fd)
	start_broker
	# Two descriptors with one request (they fit in the padding of a
	# one-descriptor buffer): refused, both closed in the broker.
	wait_for 3 has_spare || fail "no spare worker"
	fds0=$(fds)
	out=$(python3 - "$dir/control.sock" <<'PY'
import array, socket, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
c.connect(sys.argv[1])
a, b = socket.socketpair()
c.sendmsg([b"serve-fd"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                            array.array("i", [a.fileno(), b.fileno()]))])
print(repr(c.recv(4096)))
PY
)
	case $out in "b''" | *rror*) ;; *) fail "two descriptors: $out" ;; esac
	[ "$(fds)" = "$fds0" ] || fail "fds $fds0 -> $(fds) after two descriptors"
	out=$(hand idle)
	case $out in "0 "*) ;; *) fail "serve-fd: $out" ;; esac
	timeout 2 $ctl status | grep -q "fd:uid:0" ||
		fail "no session from fd:uid:0: $($ctl status)"
	for _ in 1 2 3; do hand idle >/dev/null; done
	out=$(hand idle)
	case $out in
	"1 "*"4 sessions from it already"*) ;;
	*) fail "a fifth handed connection: $out" ;;
	esac
	[ "$(sessions)" = 4 ] || fail "$(sessions) sessions"
	out=$($ctl serve-fd </etc/hostname 2>&1) &&
		fail "a file was served: $out"
	case $out in *"not a stream socket"*) ;; *) fail "file: $out" ;; esac
	out=$($ctl serve-fd --qubes </dev/null 2>&1) && fail "--qubes without --busid"
	stop_broker
	start_broker
	# --qubes waits for the session: this worker ends it at once.
	out=$(hand exit --qubes --busid 1-1)
	case $out in "0 "*) ;; *) fail "serve-fd --qubes: $out" ;; esac
	grep -q "serving (Qubes) 1-1" "$log" || fail "no Qubes session logged"
	stop_broker
	;;
worker-*)
	scenario=${test#worker-}
	# One that asks nothing wrong but never moves on is ended by the
	# bound on a session without a device.
	case $scenario in
	never-read) start_broker --import-timeout 2 ;;
	*) start_broker ;;
	esac
	responsive
	wait_for 3 has_spare || fail "no spare worker"
	fds0=$(fds) rss0=$(rss_kib)
	connect "$scenario"
	wait_for 5 grep -q "fake-worker: scenario $scenario" "$log" ||
		fail "the fake worker did not start"
	# Whatever the worker does, the broker goes on answering.
	sleep 0.5
	responsive
	case $scenario in
	legit | exit) ;;
	sign-legit)
		# A real handshake: the key that signed it is taken, as
		# checked by the verifier.
		wait_for 5 grep -q "fake-worker: signed 64 bytes" "$log" ||
			fail "no signature for a genuine CertificateVerify"
		wait_for 5 grep -q "fake-worker: handshake done" "$log" ||
			fail "the fake worker's handshake failed"
		key=$(sed -n 's/.*fake-worker: handshake done, client key //p' "$log")
		wait_for 5 grep -qF "TLS peer key $key, verified" "$log" ||
			fail "the peer's key $key was not taken"
		grep -q "killing it" "$log" && fail "a legitimate worker was killed"
		;;
	peer-escape)
		# The worker's parameters reach the log escaped: no raw
		# escape or carriage return, no line it forged.
		wait_for 5 grep -q 'TLS peer key SHA256:.*, verified' "$log" ||
			fail "the peer's key was not taken"
		grep -qF '(\x1b[31m\x0ausbip-brokerd: forged line\x0d)' "$log" ||
			fail "the parameters were not logged escaped"
		grep -q "^usbip-brokerd: forged line" "$log" &&
			fail "a worker forged a log line"
		grep -q "$(printf '[\033\r]')" "$log" &&
			fail "a raw control byte reached the log"
		grep -q "killing it" "$log" && fail "a legitimate worker was killed"
		;;
	*)
		# Killed on the spot, or (a worker that closed its channel
		# or never asked) stopped, then killed 3 s later.
		wait_for 8 grep -q "killed by signal 9" "$log" ||
			fail "the worker was not killed"
		reason=$(tls_reason "$scenario")
		if [ -n "$reason" ]; then
			grep "; killing it" "$log" | grep -qF "$reason" ||
				fail "not killed for: $reason"
		fi
		;;
	esac
	responsive
	wait_for 8 no_sessions || fail "the session did not end"
	responsive
	# The broker's own fds: the control connection of the last request
	# may still be closing, so allow for it; the spare's channel counts
	# in both.
	wait_for 3 has_spare || fail "no spare worker after the session"
	wait_for 3 sh -c "[ \$(ls /proc/$bpid/fd | wc -l) -le $fds0 ]" ||
		fail "fds grew from $fds0 to $(fds)"
	echo "broker fds $fds0 -> $(fds), RSS $rss0 -> $(rss_kib) KiB"
	grep "fake-worker\|killing\|stopping\|signal" "$log"
	kill -HUP "$bpid"
	wait_for 3 grep -q "policy .*: 1 rules" "$log" || fail "SIGHUP not handled"
	stop_broker
	;;
hostile-soak)
	rounds=${3:-50}
	# Under ASan freed memory waits in a quarantine (256 MiB) before
	# reuse, so RSS would count the allocator, not the broker: reuse at
	# once, as the plain build does.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" \
		start_broker --max-per-peer 16
	wait_for 3 has_spare || fail "no spare worker"
	fds0=$(fds) rss0=$(rss_kib)
	for _ in $(seq "$rounds"); do
		for s in flood stats-flood two-outstanding oversize; do
			connect "$s"
		done
		timeout 2 $ctl status >/dev/null || fail "status not answered within 2 s"
		sleep 0.05
		for fd in "${clients[@]}"; do exec {fd}>&-; done
		clients=()
	done
	wait_for 8 no_sessions || fail "sessions left"
	killed=$(grep -c "killed by signal 9" "$log")
	[ "$killed" = $((rounds * 4)) ] || fail "$killed of $((rounds * 4)) workers killed"
	wait_for 3 has_spare || fail "no spare worker after the soak"
	wait_for 3 sh -c "[ \$(ls /proc/$bpid/fd | wc -l) -le $fds0 ]" ||
		fail "fds grew from $fds0 to $(fds)"
	rss1=$(rss_kib)
	echo "$((rounds * 4)) hostile workers killed: broker fds $fds0 -> $(fds), RSS $rss0 -> $rss1 KiB"
	[ $((rss1 - rss0)) -lt 1024 ] || fail "RSS grew by $((rss1 - rss0)) KiB"
	responsive
	stop_broker
	;;
max-per-peer)
	start_broker
	for _ in 1 2 3 4 5 6; do connect idle; done
	wait_for 5 grep -q "refused: 4 sessions from it already" "$log" ||
		fail "no refusal logged"
	[ "$(sessions)" = 4 ] || fail "$(sessions) sessions from one peer"
	responsive
	stop_broker
	;;
import-timeout)
	start_broker --import-timeout 2
	connect idle
	wait_for 5 grep -q "has no device after 2 s; stopping it" "$log" ||
		fail "not stopped"
	wait_for 5 grep -q "did not stop within 3 s; killing it" "$log" ||
		fail "not killed"
	wait_for 3 no_sessions || fail "the session did not end"
	stop_broker
	;;
list-without-usb)
	# Where this host has USB, the broker gets a view without it.
	if [ -d /sys/bus/usb ]; then
		exec unshare -m sh -c \
			"mount --make-rprivate / && mount -t tmpfs none /sys/bus/usb &&
			 exec '$0' '$1' list-without-usb-inner"
	fi
	;&
list-without-usb-inner)
	start_broker
	out=$(timeout 3 $ctl list) || fail "list failed"
	[ "$(printf '%s\n' "$out" | grep -vc '^busid')" = 0 ] ||
		fail "list printed '$out'"
	kill -0 "$bpid" 2>/dev/null || fail "the broker died"
	responsive
	stop_broker
	;;
show-generate-without-usb)
	if [ -d /sys/bus/usb ]; then
		exec unshare -m sh -c \
			"mount --make-rprivate / && mount -t tmpfs none /sys/bus/usb &&
			 exec '$0' '$1' show-generate-inner"
	fi
	;&
show-generate-inner)
	start_broker
	out=$(timeout 3 $ctl show 1-1 2>&1) && fail "show of an absent device succeeded: $out"
	grep -q "1-1" <<<"$out" || fail "show did not name the device: $out"
	timeout 3 $ctl generate-policy >"$dir/generated.conf" || fail "generate-policy failed"
	cat "$dir/generated.conf"
	[ "$(tail -1 "$dir/generated.conf")" = deny ] || fail "the generated policy does not end in deny"
	cp "$dir/generated.conf" "$dir/policy.conf"
	timeout 3 $ctl reload || fail "the broker refused the generated policy"
	timeout 3 $ctl list | head -1 | grep -q "vendor_name.model_name" ||
		fail "list has no hwdb name columns"
	responsive
	stop_broker
	;;
environment)
	# A worker gets the broker's USBIP_* variables, nothing else.
	USBIP_TEST_MARK=kept NOT_FOR_WORKERS=leak start_broker
	connect idle
	wait_for 5 grep -q "fake-worker: scenario idle" "$log" ||
		fail "the fake worker did not start"
	w=$(cat /proc/"$bpid"/task/*/children | awk '{print $1; exit}')
	[ -n "$w" ] || fail "no worker"
	env=$(tr '\0' '\n' </proc/"$w"/environ)
	echo "worker environment: $env"
	grep -qx USBIP_TEST_MARK=kept <<<"$env" || fail "USBIP_TEST_MARK did not reach the worker"
	[ "$(grep -vc '^USBIP_' <<<"$env")" = 0 ] || fail "the worker got more: $env"
	stop_broker
	;;
rootless)
	# Any uid but root's will do; this one has no name, no groups and
	# owns nothing but the test directory.
	uid=4242
	chown "$uid:$uid" "$dir"
	# Its group is the control group, as in the unit: what its uid
	# could reach through that group is what is refused below.
	gid=$(getent group nogroup | cut -d: -f3)
	run_as="setpriv --reuid=$uid --regid=$gid --clear-groups --inh-caps=-all --bounding-set=-all" \
		start_broker --control-group nogroup
	grep -q "rootless mode: workers run as uid $uid gid $gid" "$log" ||
		fail "the broker did not say it runs rootless as $uid"
	grep -qP "^Uid:\t$uid\t" /proc/"$bpid"/status || fail "the broker is not uid $uid"
	# Undumpable: its /proc files are root's, so its uid cannot
	# ptrace it or open its memory.
	[ "$(stat -c %u /proc/"$bpid"/mem)" = 0 ] || fail "the broker is dumpable"
	connect idle
	wait_for 5 grep -q "fake-worker: scenario idle" "$log" ||
		fail "no worker started without root"
	w=$(cat /proc/"$bpid"/task/*/children | awk '{print $1; exit}')
	[ -n "$w" ] || fail "no worker"
	grep -E "^(Uid|Gid|NSpgid|NSsid):" /proc/"$w"/status
	grep -qP "^Uid:\t$uid\t" /proc/"$w"/status || fail "the worker is not mapped to uid $uid"
	[ "$(readlink /proc/"$w"/ns/user)" != "$(readlink /proc/"$bpid"/ns/user)" ] ||
		fail "the worker shares the broker's user namespace"
	[ "$(readlink /proc/"$w"/ns/pid)" != "$(readlink /proc/"$bpid"/ns/pid)" ] ||
		fail "the worker shares the broker's pid namespace"
	# kill(0, ...) in the worker must not reach the broker.
	[ "$(ps -o pgid= -p "$w")" != "$(ps -o pgid= -p "$bpid")" ] ||
		fail "the worker is in the broker's process group"
	# Nor may anything of the broker's uid use the control socket (its
	# dialler keeps that uid and its groups); root still may.
	out=$(setpriv --reuid=$uid --regid=$gid --clear-groups $ctl list 2>&1) &&
		fail "uid $uid, the broker's own, used the control socket: $out"
	case $out in *"not allowed"*) ;; *) fail "own uid: $out" ;; esac
	responsive
	stop_broker
	;;
root-capabilities)
	# As the root-mode unit runs it: a /proc of its own that shows only
	# the processes it may ptrace (or all, to group 0, which the unit's
	# Group= is not), and three capabilities.
	cat >"$dir/as-unit" <<'UNIT'
#!/bin/sh
mount -t proc -o hidepid=invisible,subset=pid proc /proc || exit 1
exec setpriv --regid=65534 --clear-groups \
	--bounding-set=-all,+setuid,+setgid,+kill --inh-caps=-all "$@"
UNIT
	chmod 755 "$dir/as-unit"
	run_as="unshare -m --propagation private $dir/as-unit" start_broker
	grep -q "root mode: workers run as uid 65534" "$log" || fail "not in root mode"
	connect idle
	wait_for 5 grep -q "fake-worker: scenario idle" "$log" ||
		fail "no worker started with the unit's capabilities"
	w=$(cat /proc/"$bpid"/task/*/children | awk '{print $1; exit}')
	grep -qP "^Uid:\t65534\t" /proc/"$w"/status || fail "the worker is not 65534"
	stop_broker
	;;
spare-used)
	start_broker
	wait_for 3 has_spare || fail "no spare worker within 3 s"
	connect legit
	wait_for 5 grep -q "fake-worker: spare: client from tcp:127.0.0.1:" "$log" ||
		fail "the spare did not get its client and peer"
	grep -q "session started, worker [0-9]* (spare)" "$log" ||
		fail "the session was not the spare's"
	wait_for 5 grep -q "fake-worker: scenario legit" "$log" ||
		fail "the spare did not go on with its client"
	wait_for 5 no_sessions || fail "the session did not end"
	grep -q "exited 0 after" "$log" || fail "the spare's session did not end normally"
	wait_for 3 has_spare || fail "no new spare after the session"
	stop_broker
	grep -q "before it had a session\|killing it" "$log" &&
		fail "a spare was killed or died"
	;;
spare-replaced)
	cp "$fake" "$dir/worker"
	fake=$dir/worker
	start_broker --bot-readahead --busy-poll 200
	wait_for 3 has_spare || fail "no spare worker within 3 s"
	spare_args=
	for c in $(cat /proc/"$bpid"/task/*/children 2>/dev/null); do
		a=$(tr '\0' ' ' </proc/"$c"/cmdline 2>/dev/null)
		case $a in *" --spare "*) spare_args=$a ;; esac
	done
	case $spare_args in
	*" --bot-readahead"*) ;;
	*) fail "the spare was started without --bot-readahead: $spare_args" ;;
	esac
	case $spare_args in
	*" --busy-poll=200 "*) ;;
	*) fail "the spare was started without --busy-poll=200: $spare_args" ;;
	esac
	# An upgrade: a new file renamed over the old one.
	cp "$build/tests/fake-worker" "$dir/worker.new"
	mv "$dir/worker.new" "$dir/worker"
	connect legit
	wait_for 5 grep -q "runs a worker binary that has since been replaced" "$log" ||
		fail "the spare of the replaced binary was not put aside"
	grep -q "session started, worker [0-9]* (spare)" "$log" &&
		fail "the session went to the spare of the old binary"
	wait_for 5 grep -q "fake-worker: scenario legit" "$log" ||
		fail "the session did not get a worker of its own"
	stop_broker
	;;
busy-poll)
	start_broker --no-spare --busy-poll 10000
	connect idle
	session_args=
	found_session_args() {
		local c a
		for c in $(cat /proc/"$bpid"/task/*/children 2>/dev/null); do
			a=$(tr '\0' ' ' </proc/"$c"/cmdline 2>/dev/null)
			case $a in *" --client "*) session_args=$a; return 0 ;; esac
		done
		return 1
	}
	wait_for 5 found_session_args || fail "no session worker"
	case $session_args in
	*" --busy-poll=10000 "*) ;;
	*) fail "the session's worker was started without --busy-poll=10000: $session_args" ;;
	esac
	stop_broker
	;;
no-spare)
	start_broker --no-spare
	sleep 2
	has_spare && fail "a spare worker with --no-spare"
	connect legit
	wait_for 5 grep -q "fake-worker: scenario legit" "$log" ||
		fail "no worker for the client"
	grep -q "session started, worker [0-9]*$" "$log" ||
		fail "the session was not a fresh worker's"
	stop_broker
	;;
spare-real)
	start_broker --worker "$build/daemons/worker/usbip-worker"
	wait_for 3 has_spare || fail "no spare worker within 3 s"
	# OP_REQ_IMPORT of 1-1: version 0x0111, code 0x8003, status 0,
	# then the busid in 32 bytes.
	exec {c}<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
	clients+=("$c")
	{ printf '\x01\x11\x80\x03\0\0\0\0%s' 1-1; head -c 29 /dev/zero; } >&"$c"
	wait_for 5 grep -q "asked for 1-1: " "$log" ||
		fail "the real spare's open request did not come"
	grep -q "session started, worker [0-9]* (spare)" "$log" ||
		fail "the session was not the spare's"
	wait_for 5 no_sessions || fail "the session did not end"
	grep -q "killing it\|before it had a session" "$log" &&
		fail "the real spare was killed or died"
	stop_broker
	;;
spare-speak | spare-exit | spare-close-early)
	USBIP_FAKE_WORKER_SPARE=${test#spare-} start_broker
	case $test in
	spare-speak) why="spoke before it had a session; killing it" ;;
	spare-exit) why="exited 0 before it had a session" ;;
	*) why="closed its channel before it had a session; killing it" ;;
	esac
	wait_for 5 grep -q "$why" "$log" || fail "not logged: $why"
	wait_for 5 grep -q "spare worker [0-9]* .* before it had a session" "$log" ||
		fail "the spare was not reaped as one"
	responsive
	# Meanwhile a client gets a worker of its own.
	connect legit
	wait_for 5 grep -q "fake-worker: scenario legit" "$log" ||
		fail "no worker for a client while there is no spare"
	grep -q "session started, worker [0-9]*$" "$log" ||
		fail "the session was not a fresh worker's"
	sleep 3
	[ "$(grep -c "spare worker [0-9]* .* before it had a session" "$log")" = 1 ] ||
		fail "spares respawned within 10 s"
	stop_broker
	;;
second-instance)
	start_broker
	first=$bpid
	"$brokerd" --listen "tcp:127.0.0.1:$((port + 1))" \
		--control "$dir/control.sock" --policy "$dir/policy.conf" \
		--worker "$fake" 2>"$dir/second.log" &
	second=$!
	wait_for 3 sh -c "! kill -0 $second 2>/dev/null" || {
		kill -KILL "$second"
		fail "the second broker runs"
	}
	wait "$second" && fail "the second broker exited 0"
	grep -q "another usbip-brokerd (pid $first) is running" "$dir/second.log" ||
		fail "no clear refusal: $(cat "$dir/second.log")"
	[ -S "$dir/control.sock" ] || fail "the control socket is gone"
	responsive
	stop_broker
	;;
missing-worker)
	printf 'deny\n' >"$dir/policy.conf"
	printf '#!/bin/sh\n' >"$dir/root-only"
	chmod 700 "$dir/root-only"
	printf '#!/bin/sh\n' >"$dir/not-executable"
	chmod 644 "$dir/not-executable"
	for w in "$dir/absent" "$dir/not-executable" "$dir/root-only" "$dir"; do
		timeout 5 "$brokerd" --listen "tcp:127.0.0.1:$((20000 + RANDOM % 20000))" \
			--control "$dir/control.sock" --worker "$w" \
			--policy "$dir/policy.conf" 2>"$dir/start.log"
		rc=$?
		[ "$rc" = 1 ] || fail "--worker $w: exit status $rc, not 1"
		grep -q -- "--worker $w" "$dir/start.log" ||
			fail "--worker $w: no message: $(cat "$dir/start.log")"
		cat "$dir/start.log"
	done
	;;
tls-key-refused)
	printf 'deny\n' >"$dir/policy.conf"
	mkdir -p "$dir/keys" "$dir/bad"
	$brokerctl keygen --out "$dir/keys" >/dev/null || fail "keygen"
	key=$dir/keys/identity.key
	cp "$key" "$dir/bad/open.key" && chmod 644 "$dir/bad/open.key"
	ln -s "$key" "$dir/bad/link.key"
	mkfifo "$dir/bad/fifo.key"
	for k in "$dir/bad/open.key" "$dir/bad/link.key" "$dir/bad" \
		"$dir/bad/absent.key" "$dir/bad/fifo.key"; do
		timeout 5 "$brokerd" --listen "tls:tcp:127.0.0.1:$((20000 + RANDOM % 20000))" \
			--control "$dir/control.sock" --worker "$fake" --key "$k" \
			--policy "$dir/policy.conf" 2>"$dir/start.log"
		rc=$?
		[ "$rc" = 1 ] || fail "--key $k: exit status $rc, not 1: $(cat "$dir/start.log")"
		grep -qF -- "--key $k" "$dir/start.log" ||
			fail "--key $k: no message: $(cat "$dir/start.log")"
		cat "$dir/start.log"
	done
	tls=1 start_broker
	grep -q "TLS identity $key: SHA256:" "$log" || fail "no pin logged"
	while read -r line; do
		if grep -qF -- "$line" "$log"; then
			fail "the key reached the log"
		fi
	done < <(grep -v -- "-----" "$key")
	stop_broker
	;;
tls-key-not-in-broker)
	mkdir -p "$dir/keys"
	$brokerctl keygen --out "$dir/keys" >/dev/null || fail "keygen"
	tls=1 start_broker
	# holds PID KEYFILE: prints whether PID's readable memory holds the
	# key's Ed25519 seed (the last 32 bytes of its PKCS#8 DER): "found"
	# or "absent"; anything else is an error. Mappings over 1 GiB (the
	# sanitizers' shadow, reserved, not written) are skipped.
	holds() {
		python3 - "$1" "$2" <<'PY'
import base64, re, sys
pid, keyfile = sys.argv[1], sys.argv[2]
body = "".join(l for l in open(keyfile).read().splitlines() if "-----" not in l)
seed = base64.b64decode(body)[-32:]
assert len(seed) == 32
chunk = 8 << 20
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
        if not m or "[vvar" in line or "[vsyscall" in line:
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        if hi - lo > 1 << 30:
            continue
        for at in range(lo, hi, chunk):
            try:
                mem.seek(at)
                data = mem.read(min(chunk + 31, hi - at))
            except OSError:
                break
            if seed in data:
                print("found")
                sys.exit(0)
print("absent")
PY
	}
	out=$(holds "$bpid" "$dir/keys/identity.key")
	case $out in
	absent) ;;
	found) fail "the broker (pid $bpid) holds the private key" ;;
	*) fail "searching the broker's memory: $out" ;;
	esac
	signer=$(cat /proc/"$bpid"/task/*/children 2>/dev/null)
	[ -n "$signer" ] || fail "the broker has no signer child"
	for pid in $signer; do
		[ "$(holds "$pid" "$dir/keys/identity.key")" = found ] && found=1
	done
	[ -n "${found:-}" ] || fail "no child of the broker holds the key: the search does not work"
	stop_broker
	;;
tls-signer-killed)
	mkdir -p "$dir/keys"
	$brokerctl keygen --out "$dir/keys" >/dev/null || fail "keygen"
	tls=1
	start_broker
	# The signer runs as root, the verifier as nobody.
	signer=$(child_with_uid 0)
	[ -n "$signer" ] || fail "the broker has no signer child"
	kill -KILL "$signer"
	for n in 1 2; do
		connect sign-legit
		wait_for 5 sh -c "[ \$(grep -c 'fake-worker: signing refused' '$log') -ge $n ]" ||
			fail "signature $n was not refused"
		responsive
	done
	[ "$(grep -c "TLS signer process $signer: .*TLS sessions are refused" "$log")" = 1 ] ||
		fail "the signer's loss was not logged exactly once"
	grep -q "fake-worker: signed" "$log" && fail "signed without a signer"
	grep "signer\|signing" "$log"
	stop_broker
	;;
tls-verifier)
	# The verifier: nobody, no capabilities, no_new_privs, its own
	# seccomp filter, undumpable, stdio and its channel only.
	mkdir -p "$dir/keys"
	$brokerctl keygen --out "$dir/keys" >/dev/null || fail "keygen"
	tls=1
	start_broker
	verifier=$(child_with_uid 65534)
	[ -n "$verifier" ] || fail "the broker has no verifier child running as nobody"
	st=/proc/$verifier/status
	grep -E "^(Uid|Gid|Groups|CapEff|CapPrm|NoNewPrivs|Seccomp):" "$st"
	grep -qP "^Gid:\t65534\t65534\t65534" "$st" || fail "the verifier's groups"
	grep -qP "^Groups:\s*$" "$st" || fail "the verifier has supplementary groups"
	grep -qP "^CapEff:\t0+$" "$st" && grep -qP "^CapPrm:\t0+$" "$st" ||
		fail "the verifier has capabilities"
	grep -qP "^NoNewPrivs:\t1" "$st" || fail "the verifier may gain privileges"
	grep -qP "^Seccomp:\t2" "$st" || fail "the verifier has no seccomp filter"
	[ "$(stat -c %u /proc/"$verifier"/mem)" = 0 ] || fail "the verifier is dumpable"
	fdlist=$(ls /proc/"$verifier"/fd | sort -n | tr '\n' ' ')
	[ "$fdlist" = "0 1 2 3 " ] || fail "the verifier holds fds $fdlist"
	# It checks a real handshake under its filter.
	connect sign-legit
	wait_for 5 grep -q "TLS peer key SHA256:.*, verified" "$log" ||
		fail "a genuine handshake was not verified"
	kill -0 "$verifier" || fail "the verifier died checking a transcript"
	# Hung (stopped): the check waits 2 s at most, the verifier is
	# killed, and every TLS session is refused (stopped, not blamed),
	# the loss logged once, the broker answering throughout.
	kill -STOP "$verifier"
	for n in 1 2; do
		connect sign-legit
		wait_for 8 sh -c "[ \$(grep -c 'cannot have its TLS peer checked' '$log') -ge $n ]" ||
			fail "session $n was not refused"
		responsive
	done
	# ...and its device list request, in its grace time, is a breach.
	wait_for 3 grep -q "sent a device list request after its refusal; killing it" "$log" ||
		fail "a session refused for want of a verifier asked for devices unpunished"
	wait_for 3 sh -c "! kill -0 $verifier 2>/dev/null" ||
		fail "the hung verifier was not killed"
	[ "$(grep -c "TLS verifier process $verifier: Connection timed out; TLS sessions are refused" "$log")" = 1 ] ||
		fail "the verifier's loss was not logged exactly once"
	[ "$(grep -c ", verified" "$log")" = 1 ] || fail "a key was taken without a verifier"
	grep "verif" "$log"
	stop_broker
	;;
tls-helpers-die-with-broker)
	mkdir -p "$dir/keys"
	$brokerctl keygen --out "$dir/keys" >/dev/null || fail "keygen"
	tls=1
	start_broker
	verifier=$(child_with_uid 65534)
	signer=$(child_with_uid 0)
	[ -n "$verifier" ] && [ -n "$signer" ] ||
		fail "no verifier (nobody) or no signer (root) child"
	# Past its uid drop and its filter: it has said hello.
	wait_for 3 sh -c "grep -qP '^Seccomp:\t2' /proc/$verifier/status" ||
		fail "the verifier did not get to its filter"
	# Stuck as on a hostile transcript: only the parent-death signal
	# (SIGKILL, which ends a stopped process too) can end them.
	kill -STOP "$verifier" "$signer"
	kill -KILL "$bpid"
	wait "$bpid" 2>/dev/null
	bpid=
	t0=$(date +%s%N)
	for _ in $(seq 10); do
		gone "$verifier" && gone "$signer" && break
		sleep 0.1
	done
	for p in "$verifier" "$signer"; do
		gone "$p" && continue
		kill -KILL "$verifier" "$signer" 2>/dev/null
		fail "process $p ($(grep -P '^Uid:' /proc/"$p"/status)) outlived its broker by 1 s"
	done
	echo "verifier $verifier and signer $signer gone $((($(date +%s%N) - t0) / 1000000)) ms after the broker's SIGKILL"
	;;
*)
	echo "unknown test $test"
	exit 2
	;;
esac
echo "PASS: $test"
