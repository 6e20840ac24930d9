#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Issue 14 item 5: bulk OUT data goes from the socket straight into its
# transfer buffer, not through the input buffer or a second heap copy.
# usbip-probe sends 16 MiB of bulk OUT (64 KiB URBs, 1 and 32 in flight)
# to a worker serving the simulated source/sink over a unix socket; the
# worker's log line "bulk and interrupt OUT: N bytes, C copied again"
# must show C at most 2% of N (what the short read-ahead after a header
# may take along). Usage:
#
#   tests/host/worker-out-copies.sh WORKER PROBE [WORKER ARGS...]
set -euo pipefail
worker=$1 probe=$2
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
status=0
for script in bulk-1-16 bulk-32-16; do
	"$worker" --simulate zero --listen "unix:$dir/s" --once "$@" 2>"$dir/log" &
	pid=$!
	# The log says so once it listens (the socket exists from bind on).
	for _ in $(seq 100); do grep -q 'listening on' "$dir/log" && break; sleep 0.05; done
	"$probe" "unix:$dir/s" 1-1 "$script" >/dev/null
	wait $pid
	line=$(grep 'bulk and interrupt OUT' "$dir/log" || true)
	read -r bytes copied < <(sed -n 's/.*OUT: \([0-9]*\) bytes, \([0-9]*\) copied.*/\1 \2/p' <<<"$line") || true
	if [ -z "${bytes:-}" ] || [ "$bytes" -ne $((16 << 20)) ] ||
		[ "$copied" -gt $((bytes / 50)) ]; then
		echo "$script: OUT copies not as expected: ${line:-no OUT line}" >&2
		cat "$dir/log" >&2
		status=1
	else
		echo "$script: $bytes bytes OUT, $copied copied again"
	fi
	rm -f "$dir/s"
	unset bytes copied
done
exit $status
