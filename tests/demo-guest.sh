# SPDX-License-Identifier: GPL-2.0-or-later
# The guest half of tests/demo.sh: one exporting and one importing side on
# one (virtual) machine, over 127.0.0.1, each step explained.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
brokerd=$bin/daemons/brokerd/usbip-brokerd
ctl=$bin/daemons/brokerctl/usbip-brokerctl
attach=$bin/daemons/attach/usbip-attach
step() { printf '\n--- %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "A USB device to share. This guest has no USB hardware, so the kernel's dummy_hcd and a configfs mass-storage gadget make one: a 16 MiB disk with a file system and a file on it."
mkdir -p /tmp/demo-files
echo "Hello from a USB disk, read through usbip-brokerd." >/tmp/demo-files/hello.txt
make_storage_gadget /tmp/demo.img 16 >/dev/null
echo "" >/sys/kernel/config/usb_gadget/storage/UDC
mke2fs -q -F -t ext4 -d /tmp/demo-files /tmp/demo.img
echo dummy_udc.0 >/sys/kernel/config/usb_gadget/storage/UDC
wait_for 20 gadget_busid || die "the gadget did not come back"
b=$(gadget_busid)
wait_for 20 test -e /sys/bus/usb/devices/$b:1.0/driver || die "usb-storage did not bind"
run lsusb
echo "(busid $b: 1d6b:0104 is the gadget; the host's usb-storage drives it now)"

step "The policy: which devices may be exported, and to whom. Without a rule nothing is."
cat >/tmp/policy.conf <<'POLICY'
# the demo disk, to importers on this machine
allow id 1d6b:0104 from 127.0.0.1
deny
POLICY
run cat /tmp/policy.conf

step "Start usbip-brokerd, the one privileged process. It listens for importers on tcp:3240 and never reads a USB/IP byte itself."
$brokerd --listen tcp:127.0.0.1:3240 --policy /tmp/policy.conf \
	--worker "$bin/daemons/worker/usbip-worker" 2>/tmp/broker.log &
bpid=$!
trap 'kill $bpid 2>/dev/null || true' EXIT
wait_listening 127.0.0.1:3240
run "$ctl" list

step "Export the device. The broker takes it from usb-storage and keeps host drivers off it."
run "$ctl" export "$b"
run "$ctl" list

step "On the importing side, usbip-attach connects, checks the handshake and hands the socket to the kernel's vhci_hcd."
modprobe vhci-hcd
run "$attach" connect tcp:127.0.0.1:3240 "$b"
wait_for 30 vhci_disk || die "no disk appeared behind vhci_hcd"
printf '$ lsusb -t   (buses with nothing on them left out)\n'
lsusb -t | awk '/^\/:/ { root = $0; next } { if (root != "") print root; root = ""; print }'
echo "(the same device twice: on dummy_hcd, where it is exported, and on vhci_hcd, where it is imported)"

step "The session: the broker started a usbip-worker for it in fresh namespaces, as uid 65534, without capabilities, under seccomp."
run "$ctl" status
wpid=$("$ctl" status | awk -F'\t' -v b="$b" '$1 == b { print $4 }')
grep -E '^(Uid|NoNewPrivs|Seccomp|CapEff):' "/proc/$wpid/status"

step "Read from the device through the import: mount its file system and show the file."
disk=$(vhci_disk)
mkdir -p /mnt/demo
run mount -o ro "$disk" /mnt/demo
run cat /mnt/demo/hello.txt
umount /mnt/demo

step "Detach, unexport: usb-storage gets the device back."
run "$attach" detach --all
wait_detached
run "$ctl" unexport "$b"
wait_for 20 test -e /sys/bus/usb/devices/$b:1.0/driver || die "usb-storage did not get the device back"
echo "driver of $b:1.0: $(basename "$(readlink /sys/bus/usb/devices/$b:1.0/driver)")"

step "What the broker logged"
cat /tmp/broker.log
