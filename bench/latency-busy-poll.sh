# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: bench/latency.sh with the broker restarted with
# --busy-poll 50, 200 and 1000 µs as three more servers in each round
# (BENCH_BUSY_POLL overrides the list): per-URB latency against
# usbip-host and the plain worker, and the worker's CPU per URB, which
# is what the spin costs.
#   tests/vm/run.sh bench/latency-busy-poll.sh
BENCH_BUSY_POLL=${BENCH_BUSY_POLL:-50 200 1000}
. "$USBIP_REPO/bench/latency.sh"
