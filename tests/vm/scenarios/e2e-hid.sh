# qemu: -device qemu-xhci,id=xhci -device usb-kbd,bus=xhci.0 -monitor unix:@MONITOR@,server=on,wait=off
# SPDX-License-Identifier: GPL-2.0-or-later
# HID end to end: QEMU's usb-kbd exported by usbip-brokerd, imported by
# usbip-attach into vhci_hcd, bound by usbhid there. Once the importing
# side's evdev node is open, e2e-hid.host-during.sh types "usbip" and
# Enter with the QEMU monitor's sendkey; the key presses must arrive as
# input events of the vhci keyboard, in order.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
attach=$bin/daemons/attach/usbip-attach
rm -f "$USBIP_RESULTS/e2e-hid.ready"

modprobe xhci_pci
modprobe evdev
modprobe usbhid
modprobe hid_generic # no udev here to load it for the hid bus
wait_for 20 local_busid 0627:0001 || die "QEMU's usb-kbd did not enumerate"
busid=$(local_busid 0627:0001)
log "usb-kbd at $busid"
modprobe vhci-hcd
start_broker 3247 "allow id 0627:0001 from 127.0.0.1"
trap 'echo "--- broker log"; cat /tmp/broker.log' EXIT
$ctl export "$busid"
$attach connect tcp:127.0.0.1:3247 "$busid"

wait_for 30 vhci_class_device "/sys/class/input/event*" || die "no input device behind vhci_hcd"
dev=/dev/input/$(basename "$(vhci_class_device "/sys/class/input/event*")")
log "the imported keyboard is $dev ($(cat /sys/class/input/${dev##*/}/device/name))"

# Key presses (EV_KEY, value 1) until six arrived or 120 s passed. The
# ready file tells the host half to start typing.
python3 - "$dev" "$USBIP_RESULTS/e2e-hid.ready" >/tmp/keys.txt <<'PY' || die "reading input events failed"
import os, select, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
open(sys.argv[2], "w").close()
names = {22: "u", 31: "s", 48: "b", 23: "i", 25: "p", 28: "enter"}
got, end = [], time.time() + 120
while len(got) < 6 and time.time() < end:
    if not select.select([fd], [], [], 1)[0]:
        continue
    data = os.read(fd, 24 * 64)
    for off in range(0, len(data) - 23, 24):
        _, _, typ, code, value = struct.unpack_from("llHHi", data, off)
        if typ == 1 and value == 1:
            got.append(names.get(code, str(code)))
print(" ".join(got))
PY
keys=$(cat /tmp/keys.txt)
log "key presses on the importing side: $keys"
[ "$keys" = "u s b i p enter" ] || die "expected 'u s b i p enter', got '$keys'"
$ctl status | grep -P "^$busid\t"
$attach detach --all
wait_for 10 sh -c "grep -q 'session ended' /tmp/broker.log" || die "the session did not end"
stop_broker
log "PASS"
