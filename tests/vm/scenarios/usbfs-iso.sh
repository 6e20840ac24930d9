# SPDX-License-Identifier: GPL-2.0-or-later
# Isochronous IN and OUT through the worker's own usbfs engine (usbfs_io.c):
# the simulated audio loopback, imported through vhci_hcd, is a real USB
# device to this kernel; a second worker serves it through usbfs and 1 s
# of audio played to it must come back bit-exact (QEMU's usb-audio, in
# e2e-iso, has no capture side).
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
worker=$bin/daemons/worker/usbip-worker
attach=$bin/daemons/attach/usbip-attach
probe=$bin/tests/usbip-probe
trap 'echo "--- worker logs"; cat /tmp/sim.log /tmp/relay.log 2>/dev/null' EXIT

# dummy_hcd before vhci_hcd, as the scenarios after this one expect.
modprobe dummy_hcd num=2
modprobe vhci-hcd
$worker --simulate audio-loopback --busid 8-1 --listen tcp:127.0.0.1:3283 2>/tmp/sim.log &
wait_listening 127.0.0.1:3283
$attach connect tcp:127.0.0.1:3283 8-1 || die "importing the simulated audio loopback"
wait_for 10 vhci_busid || die "no device behind vhci_hcd"
vb=$(vhci_busid)
wait_for 10 test -e "$(usb_node "$vb")" || die "no usbfs node for $vb"

$worker --device "$(usb_node "$vb")" --listen tcp:127.0.0.1:3284 --once 2>/tmp/relay.log &
wait_listening 127.0.0.1:3284
$probe tcp:127.0.0.1:3284 "$vb" iso-loopback || die "iso through usbfs"
log "iso OUT and IN through the worker's usbfs engine: bit-exact"
