# SPDX-License-Identifier: GPL-2.0-or-later
# Profiling aid, not a test: the syscalls usbip-worker makes while a
# 32 MiB O_DIRECT read goes through it (strace -c).
#   tests/vm/run.sh bench/strace-worker.sh
. "$USBIP_REPO/tests/vm/lib.sh"

worker=$(build_dir)/daemons/worker/usbip-worker
attach=$(build_dir)/daemons/attach/usbip-attach
make_storage_gadget /tmp/s.img 32
modprobe vhci-hcd
strace -c -o /tmp/strace.txt $worker --no-sandbox --device "$(usb_node 1-1)" --listen tcp:127.0.0.1:3241 --once 2>/tmp/worker.log &
wait_listening 127.0.0.1:3241
$attach connect tcp:127.0.0.1:3241 1-1
wait_for 30 vhci_disk || die "no disk"
dd if="$(vhci_disk)" of=/dev/null bs=1M iflag=direct 2>&1 | tail -1
$attach detach --all
wait_detached
sleep 1
cat /tmp/worker.log
cat /tmp/strace.txt
