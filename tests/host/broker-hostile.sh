#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The broker and its workers against hostile importers, on the host (root,
# user namespaces; no USB device needed, the broker exports nothing):
#
#   broker-hostile.sh BROKERD WORKER HOSTILE_PEER ATTACH
#
# - a busid with a newline reaches the broker's log (from the worker's
#   IPC request) and the worker's as one escaped line each, no forged line;
# - importers that flood device lists and never read hold no session
#   slot: every worker ends and a fresh client gets its list;
# - workers stalled mid-handshake end at the broker's SIGTERM, long
#   before its SIGKILL grace; no worker is ever killed by a signal.
set -u

brokerd=$1 worker=$2 peer=$3 attach=$4
if [ "$(id -u)" != 0 ] || ! unshare -U true 2>/dev/null; then
	echo "SKIP: the broker needs root and user namespaces"
	exit 77
fi
dir=$(mktemp -d)
log=$dir/broker.log
bpid=
cleanup() {
	[ -z "$bpid" ] || kill -KILL "$bpid" 2>/dev/null
	echo "--- broker log"
	cat "$log"
	rm -rf "$dir"
}
trap cleanup EXIT
die() {
	echo "FAIL: $*"
	exit 1
}
# wait_for SECONDS COMMAND...: until COMMAND succeeds
wait_for() {
	local until=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $until ] || return 1
		sleep 0.1
	done
}
count() { grep -c -F -- "$1" "$log"; }

: >"$dir/policy.conf"
for try in 1 2 3; do
	port=$((20000 + RANDOM % 30000))
	: >"$log"
	"$brokerd" --listen "tcp:127.0.0.1:$port" --control "$dir/control" \
		--policy "$dir/policy.conf" --worker "$worker" \
		--max-sessions 4 --rate 1000 2>"$log" &
	bpid=$!
	wait_for 5 grep -q "ready:" "$log" && break
	kill "$bpid" 2>/dev/null
	wait "$bpid" 2>/dev/null
	bpid=
done
[ -n "$bpid" ] || die "the broker did not start"
addr=tcp:127.0.0.1:$port

# 1. One escaped line per log call, whatever the busid holds.
"$peer" --hold 2000 "$addr" 'busid:1-1\nusbip-brokerd: forged' ||
	die "the busid attack"
wait_for 5 grep -q "exited" "$log" || die "the busid session did not end"
escaped='asked for 1-1\x0ausbip-brokerd: forged'
[ "$(count "$escaped")" -eq 2 ] ||
	die "expected the busid escaped in the broker's and the worker's line"
if grep -v -E '^usbip-(brokerd|worker): ' "$log"; then
	die "a forged log line"
fi

# 2. Device lists without end, never read: four connections, all four
# slots, each gone at once (the cap on lists before an import).
"$peer" --count 4 --expect-close-within 3000 "$addr" devlist-noread:100000 ||
	die "a never-reading importer kept its worker"
wait_for 5 sh -c "[ \$(grep -c 'exited' '$log') -ge 5 ]" ||
	die "the flooding sessions did not end"
"$attach" list "$addr" || die "no session slot for a fresh client"
wait_for 5 sh -c "[ \$(grep -c 'exited' '$log') -ge 6 ]" ||
	die "the list's session did not end"

# 3. Four stalled handshakes, then the broker stops: SIGTERM must end
# each worker at once, well before the broker's SIGKILL after 5 s.
# The SIGTERM goes as soon as the broker has started them: some workers
# have not reached their handler yet, and must not lose it.
"$peer" --count 4 --hold 15000 "$addr" stall &
ppid=$!
for i in $(seq 500); do
	[ "$(grep -c 'session started' "$log")" -ge 10 ] && break
	sleep 0.01
done
[ "$(grep -c 'session started' "$log")" -ge 10 ] ||
	die "the stalled sessions did not start"
t0=$SECONDS
kill -TERM "$bpid"
wait_for 4 sh -c "! kill -0 $bpid 2>/dev/null" ||
	die "the broker did not stop within 4 s"
wait "$bpid"
rc=$?
bpid=
kill "$ppid" 2>/dev/null
wait "$ppid" 2>/dev/null
[ $rc -eq 0 ] || die "the broker exited $rc"
[ "$(count 'stopped during the handshake')" -eq 4 ] ||
	die "not every stalled worker saw the SIGTERM"
if grep 'killed by signal' "$log"; then
	die "a worker was killed by a signal"
fi
echo "broker-hostile: stopped in $((SECONDS - t0)) s; all held"
