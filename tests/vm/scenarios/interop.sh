# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 16, items 4, 1 and 3, with one 8 MiB mass-storage gadget.
#
# Mounted disks: with a file system of the gadget mounted on the host,
# usbip-brokerctl export is refused and names the mount point; the device
# stays with usb-storage; export --force takes it.
#
# Qubes: both halves of qubes.USB over a socketpair, as qrexec hands
# them: usbip-brokerctl serve-fd --qubes --busid B on one end (the
# device side's usb-export in the broker's worker), usbip-attach connect
# --qubes --fd 0 B on the other (usb-import). The disk reads back
# bit-exact through vhci_hcd; after a detach both processes end and the
# broker holds no session.
#
# Device-side unexport: exported --to a usbip-attach listener, then
# unexported: the worker sends OP_REQ_UNEXPORT on a connection of its
# own, the listener detaches the port and answers, and the device goes
# back to usb-storage.
. "$USBIP_REPO/tests/vm/lib.sh"

attach=$(build_dir)/daemons/attach/usbip-attach
trap 'echo "--- broker log"; cat /tmp/broker.log; echo "--- listener log"; cat /tmp/listen.log 2>/dev/null; umount -l /mnt/interop 2>/dev/null || true' EXIT

image=/tmp/interop.img
make_storage_gadget "$image" 8
b=$GADGET_BUSID
modprobe vhci-hcd
wait_for 10 gadget_disk || die "usb-storage gave the gadget no disk"
start_broker 3240 "allow id 1d6b:0104 busid $b from fd to tcp:127.0.0.1:4031"

log "--- a mounted file system stops the export"
mkfs.ext4 -q -F "$(gadget_disk)"
mkdir -p /mnt/interop
mount "$(gadget_disk)" /mnt/interop
out=$($ctl export "$b" 2>&1) && die "a mounted disk was exported: $out"
log "refused: $out"
case $out in
*"has mounted file systems: /mnt/interop ("*"--force"*) ;;
*) die "the refusal does not name /mnt/interop: $out" ;;
esac
[ -e "/sys/bus/usb/devices/$b:1.0/driver" ] || die "the refusal took the device from usb-storage"
mountpoint -q /mnt/interop || die "the mount went away"
$ctl export --force "$b" || die "export --force was refused"
grep -q "exported with --force although mounted at /mnt/interop" /tmp/broker.log ||
	die "the forced export was not logged"
umount -l /mnt/interop

log "--- Qubes: serve-fd --qubes and connect --qubes over a socketpair"
want=$(sha256sum <"$image" | cut -d' ' -f1)
python3 - "$ctl" "$attach" "$b" <<'PY' &
import socket, subprocess, sys
ctl, attach, busid = sys.argv[1], sys.argv[2], sys.argv[3]
device_side, import_side = socket.socketpair()
serve = subprocess.Popen(ctl.split() + ["serve-fd", "--qubes", "--busid", busid],
                         stdin=device_side, stdout=device_side)
imp = subprocess.Popen([attach, "connect", "--qubes", "--fd", "0", busid,
                        "--state-file", "/tmp/interop.port"],
                       stdin=import_side, stdout=import_side)
device_side.close()
import_side.close()
with open("/tmp/interop.status", "w") as f:
    f.write("%d %d\n" % (imp.wait(), serve.wait()))
PY
halves=$!
wait_for 30 vhci_disk || die "no disk behind vhci_hcd"
[ "$(cat /tmp/interop.port)" -ge 0 ] 2>/dev/null || die "no port in the state file"
check_vhci_disk "$want"
grep -q "serving (Qubes) $b" /tmp/broker.log || die "no Qubes session in the broker's log"
$attach detach --all
wait_for 15 test -s /tmp/interop.status || die "the two halves did not end after the detach"
wait "$halves"
[ "$(cat /tmp/interop.status)" = "0 0" ] || die "exit statuses (import, serve): $(cat /tmp/interop.status)"
session_gone() { ! $ctl status | grep -q "^$b"; }
wait_for 10 session_gone || die "the broker still shows the session"

log "--- device-side unexport: OP_REQ_UNEXPORT before the link is cut"
$attach listen tcp:127.0.0.1:4031 --from 127.0.0.1 2>/tmp/listen.log &
lpid=$!
wait_listening 127.0.0.1:4031
$ctl export "$b" --to tcp:127.0.0.1:4031
wait_for 30 vhci_disk || die "the export --to did not attach"
$ctl unexport "$b"
wait_for 10 grep -q "/$b: unexported, port [0-9]* detached" /tmp/listen.log ||
	die "the listener did not detach on OP_REQ_UNEXPORT"
wait_for 10 grep -q "unexported: the importer detached $b" /tmp/broker.log ||
	die "the worker did not see OP_REP_UNEXPORT"
wait_detached
wait_for 10 test -e "/sys/bus/usb/devices/$b:1.0/driver" ||
	die "the device did not go back to usb-storage"
kill $lpid
wait $lpid 2>/dev/null || true
stop_broker
log "PASS: mounted disk refused and forced; Qubes halves imported $b bit-exact; unexport told the importer"
