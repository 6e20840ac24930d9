#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: the worker's own ceiling, with no USB bus under
# it. usbip-probe drives usbip-worker over a unix socketpair against the
# simulated source/sink ("zero", daemons/worker/simdev.h): control URBs
# per second and 64 KiB bulk MB/s, with 1 and with 32 in flight. The probe
# batches (one write per window of requests, replies taken in large
# reads), so it costs 2 syscalls per URB at depth 1 and a few hundredths
# at depth 32: the figures are the worker's. BENCH_ROUNDS (5) rounds of
# each; prints the medians, the worker's CPU (per URB for control, per GB
# for bulk) and, in one more untimed run of each under perf, the worker's
# syscalls per URB (its start-up included). There is no kernel stub to
# set beside it here (no USB on the host): bench/urb-rate.sh does that in
# the guest. Runs on the host; needs a build (tests/run-all.sh build).
#
#   bench/sim-worker.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
worker=$build/daemons/worker/usbip-worker
probe=$build/tests/usbip-probe
rounds=${BENCH_ROUNDS:-5}
ctl_urbs=${BENCH_CONTROL_URBS:-20000}
bulk_mib=${BENCH_BULK_MIB:-256}
out=$(mktemp)
trap 'rm -f "$out" "$out.perf"' EXIT

# run SCRIPT [WRAPPER...]: one probe run against a fresh worker.
run() {
	local script=$1
	shift
	"$probe" --spawn 1-1 "$script" -- "$@" "$worker" --simulate zero --client fd:3 2>/dev/null
}

# one ROUND SCRIPT: rows "ROUND SCRIPT WHAT VALUE" from the probe's lines.
one() {
	run "$2" | awk -v r="$1" -v s="$2" '
		/depth [0-9]+: .* URBs\/s/ { print r, s, "urbs/s", $(NF - 1) }
		/bulk (IN|OUT)/ { for (i = 1; i <= NF; i++) if ($i == "MB/s,") print r, s, $3, $(i - 1) }
		/worker CPU/ { print r, s, "cpu", $4 + $7 }'
}

scripts="rate-1-$ctl_urbs rate-32-$ctl_urbs bulk-1-$bulk_mib bulk-32-$bulk_mib"
for r in $(seq "$rounds"); do
	for s in $scripts; do one "$r" "$s"; done
done >"$out"
if perf stat -e raw_syscalls:sys_enter -x, -o /dev/null true 2>/dev/null; then
	for s in $scripts; do
		run "$s" "$(command -v perf)" stat -x, -e raw_syscalls:sys_enter -o "$out.perf" -- >/dev/null
		echo "count $s syscalls $(awk -F, '/raw_syscalls/ { print $1 }' "$out.perf")" >>"$out"
	done
fi

echo "usbip-worker against the simulated source/sink, $(nproc) CPUs, $(uname -r), medians of $rounds rounds"
awk -v cu="$ctl_urbs" -v mib="$bulk_mib" '
	$1 == "count" { sys[$2] = $4; next }
	$3 == "cpu" { cpu[$2] = cpu[$2] " " $4; next }
	{ val[$2, $3] = val[$2, $3] " " $4 }
	function med(l,   n, a, i, j, t) {
		n = split(l, a, " ")
		if (n == 0) return 0
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function urbs(s) { return s ~ /^rate/ ? cu : 2 * 16 * mib }
	function persys(s) { return (s in sys) && sys[s] != "" ? sprintf("%.2f", sys[s] / urbs(s)) : "-" }
	END {
		printf "%-6s %16s %12s %13s %16s %18s\n", "depth", "control URBs/s", "CPU us/URB", "syscalls/URB", "bulk IN/OUT MB/s", "CPU s/GB, sys/URB"
		for (d = 1; d <= 32; d += 31) {
			rs = "rate-" d "-" cu; bs = "bulk-" d "-" mib
			printf "%-6s %16.0f %12.2f %13s %16s %18s\n", d, med(val[rs, "urbs/s"]),
				med(cpu[rs]) * 1e6 / cu, persys(rs),
				sprintf("%.0f / %.0f", med(val[bs, "IN"]), med(val[bs, "OUT"])),
				sprintf("%.2f, %s", med(cpu[bs]) / (2 * mib * 1.048576 / 1000), persys(bs))
		}
	}' "$out"
