# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 14 on a real kernel.
#  - Item 4: a device in another session, asked for by upstream `usbip
#    attach` through the broker, is refused as "Device busy" (ST_DEV_BUSY),
#    as upstream usbipd refuses it; and the README's example works as
#    written with our own client: `usbip-worker --simulate keyboard:hello
#    --listen tcp:3240`, then `usbip-attach connect tcp:server:3240 1-1`.
#  - Item 1: per-endpoint reply order through usbfs. The simulated
#    source/sink, imported through vhci_hcd, is a real USB device to this
#    kernel, slow vendor request and all; a second worker serves it through
#    usbfs, and usbip-probe's order-control and order-bulk queue answered,
#    stalled, refused, worker-handled and unlinked requests behind a slow
#    one on ep0 and on bulk IN 0x81: each endpoint's replies must come in
#    submission order.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
brokerd=$bin/daemons/brokerd/usbip-brokerd
worker=$bin/daemons/worker/usbip-worker
attach=$bin/daemons/attach/usbip-attach
probe=$bin/tests/usbip-probe
trap 'echo "--- logs"; cat /tmp/broker.log /tmp/readme.log /tmp/sim.log /tmp/relay.log 2>/dev/null' EXIT

log "--- item 4: a busy device, as upstream sees it"
make_storage_gadget /tmp/conform.img 1
modprobe vhci-hcd
start_broker 3240 "allow id 1d6b:0104 serial 0001 from 127.0.0.1
deny"
$ctl export "$GADGET_BUSID"
$attach connect tcp:127.0.0.1:3240 "$GADGET_BUSID" || die "the first import"
wait_for 30 vhci_disk || die "no disk behind vhci_hcd"
set +e
usbip attach -r 127.0.0.1 -b "$GADGET_BUSID" >/tmp/busy.out 2>&1
rc=$?
set -e
cat /tmp/busy.out
[ $rc -ne 0 ] || die "a second import of a device in use succeeded"
grep -q "Device busy" /tmp/busy.out || die "upstream usbip did not say \"Device busy\""
$attach detach --all
wait_detached
stop_broker
wait_for 10 vhci_all_free || die "a vhci port stayed in use"

log "--- item 4: the README's simulated keyboard, attached as the README says"
$worker --simulate keyboard:hello --listen tcp:3240 2>/tmp/readme.log &
kbd=$!
wait_for 10 sh -c "ss -ltn | grep -q ':3240 '" || die "the README's worker does not listen"
$attach connect tcp:127.0.0.1:3240 1-1 || die "usbip-attach refused the README's example"
wait_for 10 vhci_busid || die "no device behind vhci_hcd"
vb=$(vhci_busid)
[ "$(cat /sys/bus/usb/devices/$vb/idVendor):$(cat /sys/bus/usb/devices/$vb/idProduct)" = 1209:0001 ] ||
	die "$vb is not the simulated keyboard"
log "the simulated keyboard is $vb"
$attach detach --all
wait_for 10 vhci_all_free || die "a vhci port stayed in use"
kill $kbd

log "--- item 1: per-endpoint order through usbfs"
modprobe vhci-hcd
$worker --simulate zero --busid 7-1 --listen tcp:127.0.0.1:3290 2>/tmp/sim.log &
wait_listening 127.0.0.1:3290
$attach connect tcp:127.0.0.1:3290 7-1 || die "importing the simulated source/sink"
wait_for 10 vhci_busid || die "no device behind vhci_hcd"
vb=$(vhci_busid)
wait_for 10 test -e "$(usb_node "$vb")" || die "no usbfs node for $vb"
$worker --device "$(usb_node "$vb")" --listen tcp:127.0.0.1:3291 2>/tmp/relay.log &
wait_listening 127.0.0.1:3291
for script in order-control order-bulk; do
	$probe tcp:127.0.0.1:3291 "$vb" $script || die "$script through usbfs"
done
log "ep0 and bulk replies in submission order through usbfs"
