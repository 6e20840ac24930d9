#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: the worker's own ceiling, with no USB bus under
# it. usbip-probe drives usbip-worker over a unix socketpair against the
# simulated source/sink ("zero", daemons/worker/simdev.h): control URBs
# per second and bulk MB/s, with 1 and with 32 in flight. Runs on the
# host; needs a build (tests/run-all.sh build).
#
#   bench/sim-worker.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
worker=$build/daemons/worker/usbip-worker
probe=$build/tests/usbip-probe
run() {
	"$probe" --spawn 0-1 "$1" -- "$worker" --simulate zero --client fd:3 2>/dev/null |
		grep -v 'as expected'
}
echo "usbip-worker against the simulated source/sink, $(nproc) CPUs, $(uname -r)"
for depth in 1 32; do
	run "rate-$depth-20000"
done
run bulk-1-256
run bulk-32-1024
