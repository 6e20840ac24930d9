#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every libFuzzer target for SECONDS (default 60) from the seed corpus
# that write-seeds makes out of the unit tests' golden vectors, and prints
# one line per target with its execution count. A crash, leak or sanitizer
# report fails the run and leaves the reproducer in OUT/crashes.
#   tests/run-fuzzers.sh BUILD_DIR [SECONDS] [OUT]
set -euo pipefail

build=${1:?usage: $0 BUILD_DIR [SECONDS] [OUT]}
seconds=${2:-60}
out=${3:-$build/fuzz-out}
fuzz=$build/tests/fuzz

mkdir -p "$out/seeds" "$out/crashes"
"$fuzz/write-seeds" "$out/seeds"

status=0
for target in wire usb-model validate transport vhci-status ipc control policy; do
	corpus=$out/corpus/$target
	mkdir -p "$corpus"
	log=$out/$target.log
	if "$fuzz/fuzz-$target" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$target-" \
		"$corpus" "$out/seeds/$target" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
		echo "fuzz $target: ${seconds}s, $runs executions, $cov, no finding"
	else
		echo "fuzz $target: FAILED, see $log" >&2
		tail -40 "$log" >&2
		status=1
	fi
done
exit $status
