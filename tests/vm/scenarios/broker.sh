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

$brokerd --listen tcp:127.0.0.1:3240 --control /run/ub/control.sock \
	--worker "$bin/daemons/worker/usbip-worker" 2>/tmp/broker.log &
bpid=$!
wait_listening 127.0.0.1:3240

log "--- list before export"
$ctl list | tee /tmp/list
grep -qP '^1-1\t1d6b:0104\t.*\t3\tusb-storage\tno$' /tmp/list || die "list: 1-1 not shown as unexported"
$ctl list --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(x["busid"]=="1-1" and x["speed"]==3 for x in d), d'

log "--- export"
$ctl export 1-1
[ ! -e /sys/bus/usb/devices/1-1:1.0/driver ] || die "usb-storage still bound after export"
$ctl list | grep -qP '^1-1\t.*\t-\tyes$' || die "list: 1-1 not exported"
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

log "--- fds after 20 sessions"
no_sessions() { [ "$($ctl status | wc -l)" -eq 1 ]; } # the header alone
wait_for 10 no_sessions || die "sessions linger"
before=$(ls /proc/$bpid/fd | wc -l)
for i in $(seq 20); do usbip list -r 127.0.0.1 >/dev/null; done
wait_for 10 no_sessions || die "sessions linger after the lists"
after=$(ls /proc/$bpid/fd | wc -l)
log "broker fds: $before before, $after after"
[ "$after" -le "$before" ] || die "the broker leaks fds ($before -> $after)"
zombies=$(ps -o stat= --ppid $bpid | grep -c Z || true)
[ "$zombies" -eq 0 ] || die "$zombies zombie workers"

log "--- device-initiated: export --to an usbip-attach listener"
$attach listen tcp:127.0.0.1:4010 2>/tmp/listen.log &
lpid=$!
wait_listening 127.0.0.1:4010
$ctl export 1-1 --to tcp:127.0.0.1:4010
check_vhci_disk "$want"
$ctl status | grep -qP '^1-1\ttcp:127.0.0.1:4010\texport\t' || die "status shows no export session"
kill $lpid

log "--- unexport gives the device back"
$ctl unexport 1-1
wait_detached
wait_for 10 test -e /sys/bus/usb/devices/1-1:1.0/driver || die "usb-storage did not rebind"

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
$ctl export 1-1
kill -TERM $bpid
wait_for 10 sh -c "! kill -0 $bpid" || die "the broker did not stop within 10 s"
wait $bpid || die "the broker exited non-zero"
wait_for 10 test -e /sys/bus/usb/devices/1-1:1.0/driver || die "stopping did not give 1-1 back"
log "usbip-brokerd verified"
