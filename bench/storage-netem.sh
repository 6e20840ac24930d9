# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: bench/storage.sh over loopback with 1 ms of added
# round-trip delay (netem, 0.5 ms each way), usbip-host against
# usbip-brokerd, and usbip-brokerd --bot-readahead (the worker's
# mass-storage read-ahead): a real network is not loopback, and
# usb-storage's three round trips per command (command, data, status)
# show there.
#   tests/vm/run.sh bench/storage-netem.sh
BENCH_LINK=netem-1ms
. "$USBIP_REPO/bench/storage.sh"
