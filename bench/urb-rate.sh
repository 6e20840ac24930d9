# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: URBs per second through usbip-worker over a unix
# socket, control GET_DESCRIPTORs to a dummy_hcd gadget with 1 and with 32
# in flight. Run: tests/vm/run.sh bench/urb-rate.sh
. "$USBIP_REPO/tests/vm/lib.sh"

worker=$(build_dir)/daemons/worker/usbip-worker
probe=$(build_dir)/tests/usbip-probe
make_storage_gadget /tmp/rate.img 1
$worker --device "$(usb_node 1-1)" --listen unix:/run/worker.sock 2>/tmp/worker.log &
wait_for 10 test -S /run/worker.sock || die "the worker did not start"
for depth in 1 32; do
	$probe unix:/run/worker.sock 1-1 "rate-$depth-4000" || die "depth $depth"
done
cat /tmp/worker.log
