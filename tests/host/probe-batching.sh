#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The benchmarks' probe must measure the worker, not itself: with 32
# requests in flight usbip-probe batches (one write per window, replies
# taken in large reads), so its own syscalls per URB stay far below one.
# The unbatched probe made five (a write, two polls, two reads).
#   probe-batching.sh USBIP-PROBE USBIP-WORKER
set -euo pipefail
probe=$1 worker=$2
urbs=4000
command -v strace >/dev/null || { echo "SKIP: strace is not installed"; exit 77; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Without -f: the probe's syscalls only, not the worker's.
strace -c -o "$out" -e trace=read,write,readv,writev,poll,ppoll,recvfrom,sendto \
	"$probe" --spawn 1-1 "rate-32-$urbs" -- "$worker" --simulate zero --client fd:3 >/dev/null 2>&1
calls=$(awk '$NF == "total" { print $4 }' "$out")
echo "usbip-probe: $calls reads, writes and polls for $urbs URBs with 32 in flight"
awk -v c="$calls" -v u="$urbs" 'BEGIN { exit !(c + 0 > 0 && c / u < 0.5) }' || {
	cat "$out"
	echo "FAIL: the probe makes $calls syscalls for $urbs URBs (0.5 a URB at most)"
	exit 1
}
