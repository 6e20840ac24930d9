# SPDX-License-Identifier: GPL-2.0-or-later
# End to end through usbip-brokerd with a 128 MiB mass-storage gadget:
# the full read matches the image; a file system made and filled through
# the import is clean and the same on the device itself after unexport,
# and through the import again after a new export. Then the faults, each
# during a running read: the worker SIGKILLed, the client detaching, the
# broker restarted, the device unplugged, and a link with 200 ms +/- 50 ms
# delay and 1% loss (netem). After each: nothing hangs, the vhci port and
# the device are released, export and import work again, and what is read
# matches the image. All of it with the worker's BOT read-ahead
# (--bot-readahead).
. "$USBIP_REPO/tests/vm/lib.sh"

attach=$(build_dir)/daemons/attach/usbip-attach
trap 'echo "--- broker log"; cat /tmp/broker.log; tc qdisc del dev lo root 2>/dev/null || true' EXIT

image=/tmp/e2e.img
make_storage_gadget "$image" 128
b=$GADGET_BUSID
modprobe vhci-hcd
wait_for 10 test -e /sys/bus/usb/devices/$b:1.0/driver || die "usb-storage did not bind"
policy="allow id 1d6b:0104 busid $b from 127.0.0.1"
import() {
	$attach connect tcp:127.0.0.1:3240 "$b"
	wait_for 30 vhci_disk || die "no disk behind vhci_hcd"
}
session_gone() { ! $ctl status | grep -q "^$b"; }
# After a fault: the port is free, the broker holds no session, the disk
# is gone; then import again and compare the first MIB MiB with the image.
recovered() { # WHAT MIB
	wait_detached
	wait_for 10 vhci_all_free || die "$1: a vhci port stayed in use"
	wait_for 10 session_gone || die "$1: the broker still shows the session"
	import
	local want got
	want=$(head -c "$(($2 << 20))" "$image" | sha256sum)
	got=$(dd if="$(vhci_disk)" bs=1M count="$2" iflag=direct 2>/dev/null | sha256sum)
	[ "$got" = "$want" ] || die "$1: the import reads differently afterwards"
	log "$1: recovered, the first $2 MiB read back bit-exact"
}
# files_intact DISK WHERE: fsck finds DISK clean and its files are the
# ones written.
files_intact() {
	fsck.ext4 -n -f "$1" >/tmp/fsck.log 2>&1 || { cat /tmp/fsck.log; die "fsck $2 is not clean"; }
	mount -o ro "$1" /mnt/e2e
	(cd /mnt/e2e && sha256sum -c --quiet /tmp/files.sha) || die "the files differ $2"
	umount /mnt/e2e
}
# A read of the whole disk in the background, running before the fault.
reading() {
	dd if="$(vhci_disk)" of=/dev/null bs=1M iflag=direct 2>/dev/null &
	ddpid=$!
	sleep 2
	kill -0 $ddpid 2>/dev/null || die "the read finished before the fault"
}
read_ended() { # the read must end (with an error) instead of hanging
	wait_for 60 sh -c "! kill -0 $ddpid 2>/dev/null" || die "$1: the read hangs"
	wait $ddpid 2>/dev/null || true
}

start_broker 3240 "$policy" --bot-readahead
$ctl export "$b"

log "--- the full 128 MiB read"
import
t0=$(date +%s.%N)
check_vhci_disk "$(sha256sum <"$image" | cut -d' ' -f1)"
log "128 MiB in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

log "--- a file system made through the import"
disk=$(vhci_disk)
mkfs.ext4 -q -F "$disk"
mkdir -p /mnt/e2e
mount "$disk" /mnt/e2e
for i in 1 2 3 4 5 6 7 8; do
	head -c $((i * 512 * 1024)) /dev/urandom >/mnt/e2e/file$i
done
(cd /mnt/e2e && sha256sum file*) >/tmp/files.sha
umount /mnt/e2e
$attach detach --all
wait_detached
# Issue 14 item 10: all of this went through the BOT read-ahead.
wait_for 10 grep -q "BOT read-ahead answered" /tmp/broker.log ||
	die "the worker read nothing ahead"

log "--- unexport: the device's own driver sees the same files"
$ctl unexport "$b"
wait_for 30 gadget_disk || die "usb-storage did not get the device back"
files_intact "$(gadget_disk)" "on the device itself"
log "fsck clean and the 8 files match on the device"

log "--- export again: the import sees them too"
$ctl export "$b"
import
files_intact "$(vhci_disk)" "through the new import"
log "fsck clean and the 8 files match through the broker again"

log "--- fault: the worker SIGKILLed mid-read"
reading
wpid=$($ctl status | awk -F'\t' -v b="$b" '$1 == b {print $4}')
[ -n "$wpid" ] || die "no worker in the status"
kill -9 "$wpid"
read_ended "worker SIGKILL"
recovered "worker SIGKILL" 16

log "--- fault: the client detaches mid-read"
reading
$attach detach --all
read_ended "client detach"
recovered "client detach" 16

log "--- fault: the broker restarted mid-read"
reading
kill -TERM $bpid
wait_for 15 sh -c "! kill -0 $bpid 2>/dev/null" || die "the broker did not stop within 15 s"
wait $bpid || die "the broker's exit status was not 0"
read_ended "broker restart"
wait_for 30 gadget_disk || die "the stopped broker did not give the device back"
start_broker 3240 "$policy" --bot-readahead
$ctl export "$b"
recovered "broker restart" 16

log "--- fault: 200 ms +/- 50 ms delay and 1% loss on the link"
$attach detach --all
wait_detached
modprobe sch_netem
tc qdisc add dev lo root netem delay 200ms 50ms loss 1%
t0=$(date +%s.%N)
recovered "netem" 2
tc qdisc del dev lo root
log "2 MiB read over the bad link in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s (with the import)"

log "--- fault: the device unplugged mid-read"
reading
g=/sys/kernel/config/usb_gadget/storage
echo "" >$g/UDC
read_ended "unplug"
wait_detached
wait_for 10 vhci_all_free || die "unplug: a vhci port stayed in use"
wait_for 10 session_gone || die "unplug: the broker still shows the session"
grep -q "unexported $b (device gone)" /tmp/broker.log || die "the broker did not forget the unplugged device"
echo dummy_udc.0 >$g/UDC
wait_for 20 gadget_busid || die "the gadget did not come back"
wait_for 10 test -e /sys/bus/usb/devices/$b:1.0/driver || die "usb-storage did not bind after replug"
$ctl export "$b"
recovered "unplug" 16

kill -0 $bpid || die "the broker died"
stop_broker
log "PASS"
