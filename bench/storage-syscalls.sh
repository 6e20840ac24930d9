# SPDX-License-Identifier: GPL-2.0-or-later
# Profiling aid, not a test: bench/storage.sh's untimed pass alone, the
# broker's worker's syscalls per URB (perf) for 4 KiB and 1 MiB O_DIRECT
# reads of a dummy_hcd mass-storage gadget.
#   tests/vm/run.sh bench/storage-syscalls.sh
BENCH_LINK=count
. "$USBIP_REPO/bench/storage.sh"
