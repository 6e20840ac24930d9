# SPDX-License-Identifier: GPL-2.0-or-later
# The anchor path, all upstream: the kernel's usbip-host and usbipd export a
# configfs mass-storage gadget, upstream `usbip attach` imports it into
# vhci_hcd over 127.0.0.1, and the imported disk reads back bit-exact.
. "$USBIP_REPO/tests/vm/lib.sh"

image=/tmp/anchor.img
make_storage_gadget "$image" 32
want=$(sha256sum <"$image" | cut -d' ' -f1)

modprobe usbip-host
modprobe vhci-hcd
usbipd -D
wait_for 10 sh -c 'ss -ltn | grep -q ":3240 "' || die "usbipd is not listening"
usbip bind -b 1-1
list=$(usbip list -r 127.0.0.1)
echo "$list"
echo "$list" | grep -q "1-1: " || die "1-1 not in the remote list"
log "attaching"
usbip attach -r 127.0.0.1 -b 1-1
log "attached"
# usbip port fails ("open vhci_driver") while a port is in use but its
# device is not in sysfs yet: a window right after the attach that a
# loaded machine makes wide.
wait_for 30 vhci_disk || die "no disk appeared behind vhci_hcd"
wait_for 10 usbip port || die "usbip port fails with the device attached"
disk=$(vhci_disk)
log "imported disk: $disk ($(cat /sys/block/${disk#/dev/}/size) sectors)"
usbip port

# O_DIRECT: every byte comes over USB/IP, none from the page cache.
got=$(dd if="$disk" bs=1M iflag=direct status=progress 2>/tmp/dd.log | sha256sum | cut -d' ' -f1)
tail -1 /tmp/dd.log
log "image  sha256 $want"
log "import sha256 $got"
[ "$got" = "$want" ] || die "imported disk differs from the image"

usbip detach -p 0
wait_for 20 sh -c '! vhci_disk' || true
usbip unbind -b 1-1
log "anchor path verified"
