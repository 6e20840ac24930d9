# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 12 item 9: control transfers up to 64 KiB through usbfs, without
# blocking the session. No gadget answers one (composite gadgets cut ep0
# data at 4096 bytes since CVE-2021-39685), so the device is the
# simulated source/sink, served once and imported through vhci_hcd: a
# real USB device to this kernel, which a second worker then serves
# through usbfs. Its vendor requests 0x5c (IN, the pattern i % 63) and
# 0x5b (OUT) of 4097 to 65535 bytes, 8 in flight with a GET_DESCRIPTOR,
# must all be answered in full. First, the URB rate through usbfs on the
# mass-storage gadget (GET_DESCRIPTORs, 16 in flight), for comparison.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
worker=$bin/daemons/worker/usbip-worker
attach=$bin/daemons/attach/usbip-attach
probe=$bin/tests/usbip-probe
trap 'echo "--- worker logs"; cat /tmp/sim.log /tmp/relay.log 2>/dev/null' EXIT

# The gadget first: dummy_hcd before vhci_hcd keeps it at 1-1 for the
# scenarios after this one.
make_storage_gadget /tmp/rate.img 1
$worker --device "$(usb_node "$GADGET_BUSID")" --listen tcp:127.0.0.1:3282 2>/tmp/rate.log &
rate_worker=$!
wait_listening 127.0.0.1:3282
$probe tcp:127.0.0.1:3282 "$GADGET_BUSID" rate-16-2000 >/tmp/rate.out || die "the rate run"
kill $rate_worker
log "URB rate through usbfs: $(grep URBs/s /tmp/rate.out)"

modprobe vhci-hcd
$worker --simulate zero --busid 9-1 --listen tcp:127.0.0.1:3280 2>/tmp/sim.log &
wait_listening 127.0.0.1:3280
$attach connect tcp:127.0.0.1:3280 9-1 || die "importing the simulated device"
wait_for 10 vhci_busid || die "no device behind vhci_hcd"
vb=$(vhci_busid)
wait_for 10 test -e "$(usb_node "$vb")" || die "no usbfs node for $vb"
log "simulated source/sink imported as $vb"

$worker --device "$(usb_node "$vb")" --listen tcp:127.0.0.1:3281 2>/tmp/relay.log &
relay=$!
wait_listening 127.0.0.1:3281
$probe tcp:127.0.0.1:3281 "$vb" control-64k || die "control transfers above 4096 bytes through usbfs"
$probe tcp:127.0.0.1:3281 "$vb" control-64k || die "a second round"
kill $relay
log "64 KiB control transfers through usbfs: answered in full"

