#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The command line every program shares (common/cli.h): --version prints
# one line and exits 0; an unknown option, a missing argument and a
# mistyped address each print exactly one line on stderr, name what is
# wrong, point at --help and exit 2 (usage); usbip-brokerctl takes
# --control as usbip-brokerd names it, and still --socket. And the
# broker's errors carry priority <3> when stderr is the journal.
#
#   tests/host/cli-test.sh BUILD_DIR
set -uo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
brokerd=$build/daemons/brokerd/usbip-brokerd
brokerctl=$build/daemons/brokerctl/usbip-brokerctl
attach=$build/daemons/attach/usbip-attach
worker=$build/daemons/worker/usbip-worker

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# expect STATUS STDOUT_LINES STDERR_LINES STDERR_PATTERN -- COMMAND...
expect() {
	local want_rc=$1 want_out=$2 want_err=$3 pattern=$4 rc out err
	shift 5
	timeout 10 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	out=$(wc -l <"$tmp/out")
	err=$(wc -l <"$tmp/err")
	echo "$* -> exit $rc, $out+$err lines: $(head -c 200 "$tmp/err")"
	[ "$rc" -eq "$want_rc" ] || fail "$*: exit $rc, want $want_rc"
	[ "$out" -eq "$want_out" ] || fail "$*: $out lines on stdout, want $want_out"
	[ "$err" -eq "$want_err" ] || fail "$*: $err lines on stderr, want $want_err"
	grep -qE -- "$pattern" "$tmp/err" "$tmp/out" || fail "$*: no '$pattern'"
}

for p in "$brokerd" "$brokerctl" "$attach" "$worker"; do
	name=$(basename "$p")
	expect 0 1 0 "^$name \(usbip-broker\) [0-9]+\.[0-9]+" -- "$p" --version
	expect 2 0 1 "^$name: unknown option '--no-such-option'; try '$name --help'\$" \
		-- "$p" --no-such-option
	expect 2 0 1 "^$name: unknown option '--no-such-option'; try '$name --help'\$" \
		-- "$p" --no-such-option=1
	expect 2 0 1 "^$name: unknown option '-Z'; try '$name --help'\$" -- "$p" -Z
done

# A missing argument: named, one line.
expect 2 0 1 "^usbip-brokerd: missing argument to option '--listen'; try" -- "$brokerd" --listen
expect 2 0 1 "^usbip-brokerctl: missing argument to option '--control'; try" -- "$brokerctl" --control
expect 2 0 1 "^usbip-attach: missing argument to option '--timeout'; try" -- "$attach" --timeout
expect 2 0 1 "^usbip-worker: missing argument to option '--listen'; try" -- "$worker" --listen

# A control socket the dialler could not hide (rootless mode): refused.
expect 2 0 1 "^usbip-brokerd: --control wants an absolute path" -- "$brokerd" \
	--control control.sock --worker "$worker" --policy /dev/null
expect 2 0 1 "^usbip-brokerd: --control wants an absolute path" -- "$brokerd" \
	--control /control.sock --worker "$worker" --policy /dev/null

# A mistyped address: exit 2 in every program, before anything starts.
expect 2 0 1 "^usbip-brokerd: --listen tcp:99999: port" -- "$brokerd" --listen tcp:99999 \
	--worker "$worker" --control "$tmp/control.sock" --policy /dev/null
expect 2 0 1 "^usbip-brokerd: --listen 'nowhere': unknown transport" -- "$brokerd" \
	--listen nowhere --worker "$worker" --control "$tmp/control.sock" --policy /dev/null
expect 2 0 1 "^usbip-brokerctl: --to vsock:x:1: CID 'x'" -- "$brokerctl" \
	--control "$tmp/none.sock" export 1-1 --to vsock:x:1
expect 2 0 1 "^usbip-attach: tcp:99999: port" -- "$attach" list tcp:99999
expect 2 0 1 "^usbip-attach: 'nowhere:1': unknown transport" -- "$attach" connect nowhere:1 1-1 --reconnect
expect 2 0 1 "^usbip-attach: vsock: port '\*'" -- "$attach" listen vsock:* --from any
expect 2 0 1 "^usbip-worker: tcp:99999: port" -- "$worker" --simulate zero --listen tcp:99999
expect 2 0 1 "^usbip-worker: 'nowhere': unknown transport" -- "$worker" --device /nonexistent \
	--client nowhere

# --tls-record-limit (issue 15 item 5): a plain number of records, 256
# to 2^48, in the broker and the worker; anything else is a usage error.
for v in 0 255 -1 ' 300' 300x 0x100 281474976710657 99999999999999999999999; do
	expect 2 0 1 "^usbip-brokerd: --tls-record-limit: 256 to 281474976710656 records\$" -- \
		"$brokerd" --tls-record-limit "$v" --worker "$worker" --control "$tmp/control.sock" --policy /dev/null
	expect 2 0 1 "^usbip-worker: --tls-record-limit: 256 to 281474976710656 records" -- \
		"$worker" --tls-record-limit "$v" --simulate zero --client fd:0
done
expect 2 0 1 "^usbip-worker: --tls-record-limit goes with --tls-spki" -- \
	"$worker" --tls-record-limit 1000 --simulate zero --client fd:0

# --busy-poll: microseconds, 0 (off) to 10000, in the broker and the
# worker; anything else is a usage error.
for v in 10001 -1 ' 5' 5us x '' 99999999999999999999999; do
	expect 2 0 1 "^usbip-brokerd: --busy-poll: 0 \(off\) to 10000 microseconds\$" -- \
		"$brokerd" --busy-poll "$v" --worker "$worker" --control "$tmp/control.sock" --policy /dev/null
	expect 2 0 1 "^usbip-worker: --busy-poll: 0 \(off\) to 10000 microseconds" -- \
		"$worker" --busy-poll "$v" --simulate zero --client fd:0
done

# --control in both programs; --socket, the old name, still works: no
# broker there (3), not a usage error (2).
expect 3 0 1 "$tmp/none.sock" -- "$brokerctl" --control "$tmp/none.sock" reload
expect 3 0 1 "$tmp/none.sock" -- "$brokerctl" --socket "$tmp/none.sock" reload
# Wrong words after the options: one line, not the help.
expect 2 0 1 "^usbip-brokerctl: unknown command or wrong arguments: 'frobnicate'; try" \
	-- "$brokerctl" frobnicate

# Log lines carry their syslog priority when stderr is the journal, as
# JOURNAL_STREAM (DEV:INODE of stderr) says; a file stands in for the
# journal's stream here. Not when the variable names another file (a
# child whose stderr was redirected inherits it).
priority() { # EXPECTED_FIRST_LINE JOURNAL_STREAM
	local first
	: >"$tmp/journal"
	JOURNAL_STREAM=$2 timeout 10 "$brokerd" --policy "$tmp/no-policy" \
		--worker "$worker" --control "$tmp/control.sock" 2>"$tmp/journal"
	first=$(head -1 "$tmp/journal")
	echo "JOURNAL_STREAM=$2: $first"
	# shellcheck disable=SC2053 # $1 is a pattern
	[[ $first == $1 ]] || fail "JOURNAL_STREAM=$2: '$first', want '$1'"
}
: >"$tmp/journal"
stream=$(stat -c %d:%i "$tmp/journal")
priority "<3>usbip-brokerd: policy: $tmp/no-policy: "* "$stream"
priority "usbip-brokerd: policy: $tmp/no-policy: "* "$(stat -c %d:%i "$tmp")"
priority "usbip-brokerd: policy: $tmp/no-policy: "* ""

if [ $fails -gt 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all checks passed"
