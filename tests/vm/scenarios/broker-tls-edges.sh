# SPDX-License-Identifier: GPL-2.0-or-later
# What broker-tls leaves of issue 15's proofs, on one gadget that is a
# disk and a boot keyboard, exported by usbip-brokerd on a tls: listener
# and imported by usbip-attach connect tls:tcp:, in one short run:
# - a TLS record tampered with mid-read (tests/tools/tamper-relay between
#   usbip-attach and the listener), towards the worker and towards
#   vhci_hcd: the session ends with one line naming it (the worker's
#   EBADMSG; the kernel's for vhci_hcd), what the reader got is the disk's
#   own bytes up to the end, the disk is unchanged, the device is
#   exported and free again, and the broker goes on serving;
# - then a fresh import: the disk reads back bit-exact, and a HID
#   keyboard over TLS: reports written on the gadget side arrive as
#   exactly these key events on the importing side's evdev node; a
#   capture of every session on the listener holds none of them, no
#   USB/IP and no disk byte in clear;
# - a client offering only TLS 1.2 (tests/tools/tls12-client): refused
#   with one line at each end, no device asked for or opened.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
attach=$bin/daemons/attach/usbip-attach
relay=$bin/tests/tamper-relay
tls12=$bin/tests/tls12-client
for x in "$attach" "$relay" "$tls12"; do
	[ -x "$x" ] || die "build first (with -Dgnutls=enabled): $x"
done

trap 'echo "--- broker log"; cat /tmp/broker.log' EXIT
# The keys while the gadget comes up: GnuTLS's start is slow under TCG.
tls_keygen /tmp/edges-keys broker client
# Every session on the listener is captured, from the start (dumpcap's
# own start is slow under TCG).
dumpcap -q -i lo -f "tcp port 4210" -w /tmp/link.pcap 2>/dev/null &
cap_pid=$!
modprobe sd_mod
modprobe evdev
modprobe usbhid
modprobe hid_generic # no udev here to load it for the hid bus
image=/tmp/edges.img
make_composite_gadget "$image" 2 0
busid=$GADGET_BUSID
want=$(sha256sum <"$image" | cut -d' ' -f1)
modprobe vhci-hcd
wait_for 10 test -c /dev/hidg0 || die "no /dev/hidg0 on the gadget side"
tls_pins
wait_for 30 test -s /tmp/link.pcap || die "dumpcap did not start"

tls_args=(--timeout 60000 --key $client_key --peer "$broker_pin")
start_tls_broker 3240 "allow id 1d6b:0104 serial c0mp from key:$client_pin" \
	--listen tls:tcp:127.0.0.1:4210
$ctl export "$busid"

one_line() { # FILE WHAT: FILE holds exactly one line, matching WHAT
	[ "$(wc -l <"$1")" = 1 ] || { cat "$1"; die "$1: not one line"; }
	grep -q "$2" "$1" || { cat "$1"; die "$1 does not say '$2'"; }
	cat "$1"
}
exported_and_free() {
	$ctl list | grep -qP "^$busid\t.*\tyes\t" || die "$1: $busid is no longer exported"
	! $ctl status | grep -q "^$busid" || die "$1: $busid is still in a session"
}
session_over() { ! $ctl status | grep -q "^$busid"; }
broker_lines_since() { tail -n +$(($1 + 1)) /tmp/broker.log; }

# tamper DIRECTION: a disk read through tamper-relay, which flips a bit
# in the next record going DIRECTION (up: to the worker; down: to
# vhci_hcd) once the read has begun.
tamper() {
	local dir=$1 before dmesg_before rc got
	log "--- a record tampered with on its way $dir, mid-read"
	before=$(wc -l </tmp/broker.log)
	dmesg_before=$(dmesg | wc -l)
	$relay --listen tcp:127.0.0.1:4220 --to tcp:127.0.0.1:4210 --direction "$dir" \
		--after 0 --record --arm-on-usr1 >/dev/null 2>/tmp/relay.log &
	rpid=$!
	wait_listening 127.0.0.1:4220
	$attach connect tls:tcp:127.0.0.1:4220 "$busid" "${tls_args[@]}" 2>/tmp/attach.log ||
		{ cat /tmp/attach.log; die "import through the relay failed"; }
	wait_for 30 vhci_disk || die "no disk appeared behind vhci_hcd"
	rm -f /tmp/read.bin
	dd if="$(vhci_disk)" of=/tmp/read.bin bs=64k iflag=direct 2>/tmp/dd.log &
	ddpid=$!
	wait_for 30 test -s /tmp/read.bin || die "the read did not start"
	kill -USR1 $rpid
	wait $rpid || { cat /tmp/relay.log; die "the relay flipped nothing"; }
	cat /tmp/relay.log
	rc=0
	wait $ddpid || rc=$?
	got=$(stat -c %s /tmp/read.bin)
	[ $rc != 0 ] || die "the read went on to the end past a tampered record"
	log "the read failed after $got bytes: $(tail -1 /tmp/dd.log)"
	cmp -s -n "$got" /tmp/read.bin "$image" || die "the reader got bytes that are not the disk's"
	wait_for 30 session_over || die "the session did not end"
	wait_for 30 vhci_all_free || die "vhci_hcd kept the port"
	echo "worker and broker:"
	broker_lines_since "$before" | grep -v "TLS1.3\|TLS peer key\|serving\|session started\|bulk and interrupt OUT" |
		tee /tmp/t-broker.log
	echo "kernel, importing side:"
	dmesg | tail -n +$((dmesg_before + 1)) | grep "vhci_hcd\|recv xbuf" | tee /tmp/t-kernel.log || true
	kill -0 "$bpid" || die "the broker died"
	exported_and_free "tampered $dir"
	[ "$(sha256sum <"$image" | cut -d' ' -f1)" = "$want" ] || die "the disk changed"
}
tamper up
grep -q "session ended (the connection failed: Bad message (a TLS record did not authenticate" /tmp/t-broker.log ||
	die "the worker did not name the record that failed"
tamper down
grep -q -- "-74" /tmp/t-kernel.log || die "vhci_hcd did not report EBADMSG (-74)"

log "--- after both, a fresh import: the disk bit-exact, the keyboard's keys exactly"
before=$(wc -l </tmp/broker.log)
$attach connect tls:tcp:127.0.0.1:4210 "$busid" "${tls_args[@]}" 2>/tmp/attach.log ||
	{ cat /tmp/attach.log; die "a fresh import failed"; }
check_vhci_disk "$want"
broker_lines_since "$before" | grep -q "TLS: TLS1.3 .* peer $client_pin" || die "the worker did not log the handshake"
wait_for 30 vhci_class_device "/sys/class/input/event*" || die "no input device behind vhci_hcd"
dev=/dev/input/$(basename "$(vhci_class_device "/sys/class/input/event*")")
log "the imported keyboard is $dev"
# The gadget side types "usbip" and Enter (boot keyboard reports: press,
# then all keys up) once the importing side reads its evdev node: usbhid
# polls the keyboard only while the node is open.
(
	wait_for 60 test -e /tmp/kbd.ready || exit 1
	timeout 60 python3 - <<-'PY'
	import os
	fd = os.open("/dev/hidg0", os.O_WRONLY)
	for usage in (0x18, 0x16, 0x05, 0x0c, 0x13, 0x28):  # u s b i p Enter
	    os.write(fd, bytes([0, 0, usage, 0, 0, 0, 0, 0]))
	    os.write(fd, bytes(8))
	PY
) &
typist=$!
# Key presses and releases (EV_KEY values 1 and 0; autorepeat's 2 left
# out), until twelve arrived or 60 s passed.
python3 - "$dev" >/tmp/keys.txt <<'PY' || die "reading input events failed"
import os, select, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
open("/tmp/kbd.ready", "w").close()
names = {22: "u", 31: "s", 48: "b", 23: "i", 25: "p", 28: "enter"}
got, end = [], time.time() + 60
while len(got) < 12 and time.time() < end:
    if not select.select([fd], [], [], 1)[0]:
        continue
    data = os.read(fd, 24 * 64)
    for off in range(0, len(data) - 23, 24):
        _, _, typ, code, value = struct.unpack_from("llHHi", data, off)
        if typ == 1 and value in (0, 1):
            got.append("%s%s" % (names.get(code, str(code)), "+" if value else "-"))
print(" ".join(got))
PY
wait $typist || die "the gadget side could not type"
keys=$(cat /tmp/keys.txt)
log "key events on the importing side: $keys"
[ "$keys" = "u+ u- s+ s- b+ b- i+ i- p+ p- enter+ enter-" ] || die "not exactly the keys typed: '$keys'"
$attach detach --all
wait_detached
wait_for 30 session_over || die "the fresh session did not end"
sleep 1
kill -INT $cap_pid
wait $cap_pid || true
clear=$(python3 - /tmp/link.pcap "$busid" "$image" <<'PY'
import sys
cap = open(sys.argv[1], 'rb').read()
img = open(sys.argv[3], 'rb').read(1 << 20)
seen = []
for name, usage in (('u', 0x18), ('s', 0x16), ('b', 0x05), ('i', 0x0c), ('p', 0x13), ('enter', 0x28)):
    if bytes([0, 0, usage, 0, 0, 0, 0, 0]) in cap: seen.append('key ' + name)
if b'/sys/devices/' in cap: seen.append('device path')
for name, op in (('OP_REQ_IMPORT', '01118003'), ('OP_REP_IMPORT', '01110003')):
    if bytes.fromhex(op) in cap: seen.append(name)
if sys.argv[2].encode() + b'\0\0\0\0' in cap: seen.append('busid')
if any(img[o:o + 64] in cap for o in range(0, len(img), 65536)): seen.append('disk data')
print(' '.join(seen) if seen else 'nothing')
PY
)
log "in clear in the capture of every session ($(stat -c %s /tmp/link.pcap) bytes): $clear"
[ "$clear" = nothing ] || die "the TLS link carries in clear: $clear"

log "--- TLS 1.2 offered to the broker's tls: listener"
before=$(wc -l </tmp/broker.log)
rc=0
$tls12 tcp:127.0.0.1:4210 2>/tmp/tls12.log || rc=$?
[ $rc = 1 ] || { cat /tmp/tls12.log; die "tls12-client: exit $rc, not a refusal"; }
wait_for 10 sh -c "tail -n +$((before + 1)) /tmp/broker.log | grep -q 'exited'" ||
	die "the worker did not end"
echo "tls12-client:"
one_line /tmp/tls12.log "refused"
echo "worker and broker:"
broker_lines_since "$before" | grep -v "session started\|exited" >/tmp/r-broker.log || true
one_line /tmp/r-broker.log "TLS refused: the peer offers no TLS 1.3"
broker_lines_since "$before" | grep "exited" | grep -q " 0 URBs" || die "the refused session moved URBs"
broker_lines_since "$before" | grep -q "serving\|TLS peer key\|asked for" && die "the TLS 1.2 session got as far as a device"
exported_and_free "TLS 1.2"
vhci_all_free || die "a vhci_hcd port was taken"
stop_broker
trap - EXIT
log "broker-tls-edges verified"
