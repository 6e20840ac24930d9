# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: bench/storage-netem.sh (1 ms of added round
# trip) with two more servers, usbip-brokerd --busy-poll BENCH_BUSY_POLL
# (1000 µs unless set) and the same with --bot-readahead as well: whether
# the spin that wins on loopback still pays over a delayed link, alone
# and with the read-ahead that wins there.
#   tests/vm/run.sh bench/storage-netem-busy-poll.sh
BENCH_LINK=netem-1ms
BENCH_BUSY_POLL=${BENCH_BUSY_POLL:-1000}
BENCH_BUSY_POLL_RA=1
. "$USBIP_REPO/bench/storage.sh"
