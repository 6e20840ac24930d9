# SPDX-License-Identifier: GPL-2.0-or-later
# The worker's edges with a real vhci_hcd and a real exported device:
#   vhci_hcd's detach (shutdown, then close) reads to the worker like a
#   half-close; with usbhid's interrupt IN pending on the simulated
#   keyboard, the session must end within the half-close bound (1 s
#   linger, then cancel) and the worker exit 0;
#   usbip-brokerd exporting the storage gadget against hostile importers
#   (tests/tools/hostile-peer): device-list floods that never read, a
#   busid with a newline, stalled handshakes; a real import then still
#   reads back bit-exact, and the broker's stop ends every stalled worker
#   with exit 0, none killed.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
worker=$bin/daemons/worker/usbip-worker
attach=$bin/daemons/attach/usbip-attach
peer=$bin/tests/hostile-peer
trap 'echo "--- keyboard worker log"; cat /tmp/kbd.log 2>/dev/null; echo "--- broker log"; cat /tmp/broker.log 2>/dev/null || true' EXIT

make_storage_gadget /tmp/disk.img 8
busid=$GADGET_BUSID
want=$(sha256sum </tmp/disk.img | cut -d' ' -f1)
modprobe vhci-hcd
modprobe usbhid
modprobe hid_generic

log "--- vhci_hcd's detach with an interrupt IN pending"
$worker --simulate keyboard --busid 9-1 --listen tcp:127.0.0.1:3261 --once 2>/tmp/kbd.log &
wpid=$!
wait_listening 127.0.0.1:3261
$attach connect tcp:127.0.0.1:3261 9-1
wait_for 30 sh -c "grep -q 'serving 9-1' /tmp/kbd.log" || die "the keyboard was not imported"
wait_for 30 vhci_class_device "/sys/class/hidraw/hidraw*" || die "usbhid did not bind the imported keyboard"
sleep 0.5 # usbhid's interrupt IN is in flight by now
t0=$(date +%s%N)
$attach detach --all
wait_for 5 sh -c "! kill -0 $wpid 2>/dev/null" || die "the worker outlived the detach by 5 s"
took=$((($(date +%s%N) - t0) / 1000000))
rc=0
wait $wpid || rc=$?
log "the worker exited $rc ${took} ms after the detach"
[ $rc -eq 0 ] || die "the worker's exit status after a detach was $rc"
grep -q "session ended (client left)" /tmp/kbd.log || die "the session did not end as a client that left"

log "--- usbip-brokerd against hostile importers"
start_broker 3262 "allow id 1d6b:0104 from 127.0.0.1" --max-sessions 4
addr=tcp:127.0.0.1:3262
$ctl export "$busid"
$peer --count 4 --expect-close-within 5000 "$addr" devlist-noread:100000 ||
	die "a never-reading importer kept its worker"
$peer --hold 2000 "$addr" 'busid:1-1\nusbip-brokerd: forged' || die "the busid attack"
wait_for 10 sh -c "grep -q 'asked for 1-1.x0ausbip-brokerd: forged' /tmp/broker.log" ||
	die "no escaped busid in the log"
if grep -v -E '^usbip-(brokerd|worker): ' /tmp/broker.log; then
	die "a forged log line"
fi
$attach connect "$addr" "$busid"
check_vhci_disk "$want"
$attach detach --all
wait_detached
wait_for 10 sh -c "! $ctl status | grep -q '^$busid'" || die "the import session lingers"

$peer --count 3 --hold 20000 "$addr" stall &
ppid=$!
wait_for 10 sh -c "[ \$($ctl status | grep -c import) -eq 3 ]" || die "the stalled sessions did not start"
stop_broker
kill $ppid 2>/dev/null || true
[ "$(grep -c 'stopped during the handshake' /tmp/broker.log)" -eq 3 ] ||
	die "not every stalled worker saw the SIGTERM"
if grep 'killed by signal' /tmp/broker.log; then
	die "a worker was killed by a signal"
fi
log "PASS"
