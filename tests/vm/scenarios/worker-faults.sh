# SPDX-License-Identifier: GPL-2.0-or-later
# The worker when things go away mid-transfer: the client detaches during
# a long read (every URB cancelled, interfaces released, the next client
# served), and the device is unplugged during a long read (the session
# ends, the worker exits, vhci_hcd frees the port). Nothing may hang.
. "$USBIP_REPO/tests/vm/lib.sh"

worker=$(build_dir)/daemons/worker/usbip-worker
attach=$(build_dir)/daemons/attach/usbip-attach
image=/tmp/faults.img
make_storage_gadget "$image" 64
want=$(sha256sum <"$image" | cut -d' ' -f1)
modprobe vhci-hcd
$worker --device "$(usb_node 1-1)" --listen tcp:127.0.0.1:3245 2>/tmp/worker.log &
wpid=$!
trap 'echo "--- worker log"; cat /tmp/worker.log' EXIT
wait_listening 127.0.0.1:3245

log "--- client detaches mid-read"
$attach connect tcp:127.0.0.1:3245 1-1
wait_for 30 vhci_disk || die "no disk"
dd if="$(vhci_disk)" of=/dev/null bs=1M iflag=direct 2>/dev/null &
ddpid=$!
sleep 2
$attach detach --all
wait_detached
wait $ddpid 2>/dev/null || true
wait_for 10 sh -c "grep -q 'session ended (client left)' /tmp/worker.log" ||
	die "the worker did not end the session"
kill -0 $wpid || die "the worker died with its client"
log "the worker is serving again after its client vanished"
$attach connect tcp:127.0.0.1:3245 1-1
check_vhci_disk "$want"

log "--- device unplugged mid-read"
dd if="$(vhci_disk)" of=/dev/null bs=1M iflag=direct 2>/dev/null &
ddpid=$!
sleep 2
echo "" >/sys/kernel/config/usb_gadget/storage/UDC
# The worker must notice, end the session and exit; vhci_hcd then sees
# the connection close and frees the port.
wait_for 30 sh -c "! kill -0 $wpid 2>/dev/null" || die "the worker did not exit after the unplug"
rc=0
wait $wpid || rc=$?
log "worker exit status $rc"
[ $rc -eq 1 ] || die "expected exit status 1 for a lost device, got $rc"
grep -q "No such device" /tmp/worker.log || die "the lost device was not logged"
wait_detached
wait $ddpid 2>/dev/null || true
wait_for 10 vhci_all_free || die "a vhci port stayed in use"
log "faults handled"
