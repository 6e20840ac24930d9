# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: bench/storage.sh over loopback with three more
# servers: usbip-brokerd --bot-readahead, --busy-poll BENCH_BUSY_POLL
# (1000 µs unless set), and both at once: 1 MiB and 4 KiB O_DIRECT reads
# against usbip-host and the plain broker in the same rounds, and the
# worker's CPU per GB, which is what the spin costs.
#   tests/vm/run.sh bench/storage-busy-poll.sh
BENCH_BUSY_POLL=${BENCH_BUSY_POLL:-1000}
BENCH_RA=${BENCH_RA:-1}
BENCH_BUSY_POLL_RA=${BENCH_BUSY_POLL_RA:-1}
. "$USBIP_REPO/bench/storage.sh"
