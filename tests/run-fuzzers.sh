#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every libFuzzer target for SECONDS (default 60) from the seed corpus
# that write-seeds makes out of the unit tests' golden vectors, and prints
# one line per target with its execution count. A crash, leak or sanitizer
# report fails the run and leaves the reproducer in OUT/crashes.
#   tests/run-fuzzers.sh BUILD_DIR [SECONDS] [OUT]   (FUZZ_JOBS: targets at once, default nproc)
set -euo pipefail

build=${1:?usage: $0 BUILD_DIR [SECONDS] [OUT]}
seconds=${2:-60}
out=${3:-$build/fuzz-out}
fuzz=$build/tests/fuzz

mkdir -p "$out/seeds" "$out/crashes"
"$fuzz/write-seeds" "$out/seeds"

# Targets run side by side, one per core: each is single-threaded, and the
# stage is otherwise the longest wait in CI for nothing new.
jobs=${FUZZ_JOBS:-$(nproc)}

run_target() { # TARGET
	local target=$1 corpus=$out/corpus/$1 log=$out/$1.log runs cov
	mkdir -p "$corpus" "$out/seeds/$1" # transcript: no seeds (GnuTLS)
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
		return 1
	fi
}

status=0
pids=()
for target in wire usb-model validate transport vhci-status ipc control policy transcript; do
	if [ ${#pids[@]} -ge "$jobs" ]; then
		wait "${pids[0]}" || status=1
		pids=("${pids[@]:1}")
	fi
	run_target "$target" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || status=1
done
exit $status
