# SPDX-License-Identifier: GPL-2.0-or-later
# usbip-brokerd end to end: a mass-storage gadget exported by the broker
# (host driver taken off and kept off), listed and imported with upstream
# usbip and with usbip-attach through a worker the broker started in fresh
# namespaces with a dropped usbfs fd; a worker killed mid-session leaves
# the broker serving; the device-initiated flow (export --to); unexport
# gives the device back to usb-storage; garbage on the control socket is
# refused; fds do not leak over many sessions; SIGTERM stops it cleanly.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
brokerd=$bin/daemons/brokerd/usbip-brokerd
ctl="$bin/daemons/brokerctl/usbip-brokerctl --socket /run/ub/control.sock"
attach=$bin/daemons/attach/usbip-attach
[ -x "$brokerd" ] || die "build first"

trap 'echo "--- broker log"; cat /tmp/broker.log; dmesg | grep "type=1326" | tail -3' EXIT
image=/tmp/broker.img
make_storage_gadget "$image" 32
want=$(sha256sum <"$image" | cut -d' ' -f1)
modprobe vhci-hcd
wait_for 10 test -e /sys/bus/usb/devices/1-1:1.0/driver || die "usb-storage did not bind"

cat >/tmp/policy.conf <<'POLICY'
# the test gadget, to this host's importers and one listener
allow id 1d6b:0104 serial 0001 from 127.0.0.1 to tcp:127.0.0.1:4010
deny
POLICY
$brokerd --listen tcp:127.0.0.1:3240 --listen tcp:127.0.0.1:3250 --from 10.0.0.0/8 \
	--control /run/ub/control.sock --policy /tmp/policy.conf --rate 1000 \
	--worker "$bin/daemons/worker/usbip-worker" 2>/tmp/broker.log &
bpid=$!
wait_listening 127.0.0.1:3240

log "--- list before export"
$ctl list | tee /tmp/list
grep -qP '^1-1\t1d6b:0104\t.*\t3\tusb-storage\tno\tallow:2\t' /tmp/list || die "list: 1-1 not shown as unexported, allowed by line 2"
$ctl list --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(x["busid"]=="1-1" and x["speed"]==3 for x in d), d'

log "--- export"
$ctl export 1-1
[ ! -e /sys/bus/usb/devices/1-1:1.0/driver ] || die "usb-storage still bound after export"
$ctl list | grep -qP '^1-1\t.*\t-\tyes\tallow:2\t' || die "list: 1-1 not exported"
set +e
$ctl export 9-9; rc=$?
set -e
[ $rc -eq 1 ] || die "export of a missing device: exit $rc, want 1"

log "--- upstream usbip list and attach through the broker"
usbip list -r 127.0.0.1 | tee /tmp/ulist
grep -q "1-1: .*1d6b:0104" /tmp/ulist || die "upstream list lacks 1-1"
usbip attach -r 127.0.0.1 -b 1-1
check_vhci_disk "$want"
$ctl status | tee /tmp/status
wpid=$(awk -F'\t' '$1 == "1-1" && $3 == "import" {print $4}' /tmp/status)
[ -n "$wpid" ] || die "status shows no import session for 1-1"
live_urbs() { [ "$($ctl status | awk -F'\t' '$1 == "1-1" {print $6}')" -gt 0 ]; }
wait_for 5 live_urbs || die "status shows no URBs for a live session"
$ctl status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[0]["urbs"] > 0 and d[0]["bytes_in"] > 0 and d[0]["direction"] == "import", d'

grep -E '^(Uid|Seccomp|NoNewPrivs|CapEff):' /proc/$wpid/status
grep -qP '^Uid:\t65534\t' /proc/$wpid/status || die "the worker is not uid 65534 outside"
grep -qP '^Seccomp:\t2$' /proc/$wpid/status || die "worker not under seccomp"
grep -qP '^CapEff:\t0000000000000000$' /proc/$wpid/status || die "worker has capabilities"
[ "$(readlink /proc/$wpid/ns/net)" != "$(readlink /proc/self/ns/net)" ] || die "worker shares the net namespace"
usbip detach -p 0
wait_detached
wait_for 10 sh -c "! $ctl status | grep -q '^1-1'" || die "the session did not end"

log "--- a worker killed mid-session"
$attach connect tcp:127.0.0.1:3240 1-1
wait_for 30 vhci_disk || die "no disk"
wpid=$($ctl status | awk -F'\t' '$1 == "1-1" {print $4}')
kill -9 "$wpid"
wait_detached
wait_for 10 sh -c "! $ctl status | grep -q '^1-1'" || die "the killed worker's session remains"
kill -0 $bpid || die "the broker died with its worker"
$attach connect tcp:127.0.0.1:3240 1-1
check_vhci_disk "$want"
$attach detach --all
wait_detached

log "--- policy: peers, a listener's --from, destinations, reload"
usbip --tcp-port 3250 list -r 127.0.0.1 2>&1 | grep -q "1-1" && die "a listener's --from let 127.0.0.1 in"
grep -q "refused: not in --from" /tmp/broker.log || die "no log of the --from refusal"
set +e
$ctl export 1-1 --to tcp:127.0.0.1:4999; rc=$?
set -e
[ $rc -eq 1 ] || die "export --to a destination the policy lacks: exit $rc, want 1"
cp /tmp/policy.conf /tmp/policy.good
printf 'allow id 1d6b:0104 from 10.0.0.0/8\ndeny\n' >/tmp/policy.conf
$ctl reload
usbip list -r 127.0.0.1 2>&1 | grep -q "1-1:" && die "1-1 listed to a peer the new policy excludes"
usbip attach -r 127.0.0.1 -b 1-1 2>/dev/null && die "1-1 imported by a peer the new policy excludes"
printf 'allow id 1d6b:0104 from 127.0.0.1\nallow frm 1.2.3.4\n' >/tmp/policy.conf
set +e
$ctl reload 2>/tmp/reload.err; rc=$?
set -e
cat /tmp/reload.err
[ $rc -eq 1 ] && grep -q "policy.conf:2: unknown word 'frm'" /tmp/reload.err || die "a bad policy was not refused with file:line"
usbip attach -r 127.0.0.1 -b 1-1 2>/dev/null && die "the refused policy took effect"
cp /tmp/policy.good /tmp/policy.conf
kill -HUP $bpid
wait_for 10 sh -c "usbip list -r 127.0.0.1 | grep -q '1-1:'" || die "SIGHUP did not restore the policy"

log "--- fds after 100 sessions"
no_sessions() { [ "$($ctl status | wc -l)" -eq 1 ]; } # the header alone
# With the spare worker in place both times (lib.sh broker_has_spare).
wait_for 10 no_sessions || die "sessions linger"
wait_for 15 broker_has_spare || die "no spare worker"
before=$(ls /proc/$bpid/fd | wc -l)
for i in $(seq 100); do usbip list -r 127.0.0.1 >/dev/null; done
wait_for 10 no_sessions || die "sessions linger after the lists"
wait_for 15 broker_has_spare || die "no spare worker after the lists"
after=$(ls /proc/$bpid/fd | wc -l)
log "broker fds: $before before, $after after"
[ "$after" -le "$before" ] || die "the broker leaks fds ($before -> $after)"
zombies=$(ps -o stat= --ppid $bpid | grep -c Z || true)
[ "$zombies" -eq 0 ] || die "$zombies zombie workers"

log "--- device-initiated: export --to an usbip-attach listener"
$attach listen tcp:127.0.0.1:4010 --from 127.0.0.1 2>/tmp/listen.log &
lpid=$!
wait_listening 127.0.0.1:4010
$ctl export 1-1 --to tcp:127.0.0.1:4010
check_vhci_disk "$want"
$ctl status | grep -qP '^1-1\ttcp:127.0.0.1:4010\texport\t' || die "status shows no export session"
log "the importer lets go: the broker dials again"
$attach detach --all
wait_detached
check_vhci_disk "$want"
[ "$(grep -c 'session started, worker [0-9]* exporting 1-1' /tmp/broker.log)" -ge 2 ] ||
	die "the broker did not dial again"
kill $lpid

log "--- unexport gives the device back"
$ctl unexport 1-1
wait_detached
wait_for 10 test -e /sys/bus/usb/devices/1-1:1.0/driver || die "usb-storage did not rebind"

log "--- auto export: at reload and on hotplug"
$ctl list | grep -qP '^1-1\t.*\tno\tallow:2\t' || die "1-1 still exported after unexport"
printf 'allow id 1d6b:0104 from 127.0.0.1 auto\ndeny\n' >/tmp/policy.conf
$ctl reload
$ctl list | grep -qP '^1-1\t.*\tyes\tauto:1\t' || die "reload did not export an auto device"
g=/sys/kernel/config/usb_gadget/storage
udc=$(cat $g/UDC)
echo "" >$g/UDC
wait_for 10 sh -c "! $ctl list | grep -q '^1-1'" || die "1-1 did not go away"
wait_for 10 grep -q "unexported 1-1 (device gone)" /tmp/broker.log || die "the broker missed the unplug"
echo "$udc" >$g/UDC
wait_for 20 sh -c "$ctl list | grep -qP '^1-1\t.*\tyes\tauto:1\t'" || die "a replugged auto device was not exported"
usbip attach -r 127.0.0.1 -b 1-1
check_vhci_disk "$want"
# The import matches the auto rule too; it must not be exported again.
$ctl list | grep -P "^$(vhci_busid)\t" | tee /tmp/vhci-list
grep -qP '\tno\tdeny:1\t' /tmp/vhci-list || die "the vhci import is not listed as unexported and denied"
usbip detach -p 0
wait_detached
# Without a session the give-back runs in a child of the broker's, and
# unexport answers once it is done: an export at once finds the device
# back with its drivers, not halfway.
$ctl unexport 1-1
$ctl export 1-1 >/dev/null || die "an export right after an unexport was refused"
$ctl unexport 1-1
wait_for 10 test -e /sys/bus/usb/devices/1-1:1.0/driver || die "usb-storage did not rebind"

log "--- per-peer connection rate"
$brokerd --listen tcp:127.0.0.1:3260 --control /run/ub/rate.sock --policy /tmp/policy.conf \
	--rate 3 --worker "$bin/daemons/worker/usbip-worker" 2>/tmp/rate.log &
rpid=$!
wait_listening 127.0.0.1:3260
for i in 1 2 3 4; do usbip --tcp-port 3260 list -r 127.0.0.1 >/dev/null 2>&1 || true; done
kill -TERM $rpid
wait $rpid || true
grep -q "refused: more than 3 connections a minute" /tmp/rate.log || die "the 4th connection in a minute was not refused"
[ "$(grep -c 'session started' /tmp/rate.log)" -eq 3 ] || die "expected exactly 3 sessions within the rate"

log "--- garbage on the control socket"
python3 - <<'PY' || die "the broker answered garbage wrongly"
import socket
for req in [b"\x00\x01\x02", b"export", b"export 1-1 a b", b"x" * 600, b"list extra"]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect("/run/ub/control.sock")
    s.send(req)
    r = s.recv(65536)
    assert r.startswith(b"error\t"), (req, r)
PY
kill -0 $bpid || die "the broker died of garbage"

log "--- SIGTERM"
cp /tmp/policy.good /tmp/policy.conf
$ctl reload
$ctl export 1-1
kill -TERM $bpid
wait_for 10 sh -c "! kill -0 $bpid" || die "the broker did not stop within 10 s"
wait $bpid || die "the broker exited non-zero"
wait_for 10 test -e /sys/bus/usb/devices/1-1:1.0/driver || die "stopping did not give 1-1 back"
log "usbip-brokerd verified"
