# SPDX-License-Identifier: GPL-2.0-or-later
# Unexport while the client has stopped reading: the worker is stuck
# writing replies nobody reads and may not end on SIGTERM. The broker must
# still give the device back within its bound (SIGTERM, SIGKILL 3 s later)
# so that usb-storage has it again and it can be exported again. And a
# worker that has its device and floods the broker with counters is
# killed, its device free for the next session.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
image=/tmp/stalled.img
make_storage_gadget "$image" 8
busid=$GADGET_BUSID
trap 'echo "--- broker log"; cat /tmp/broker.log' EXIT
start_broker 3260 "allow id 1d6b:0104 from 127.0.0.1"
$ctl export "$busid" || die "export"

log "--- a client that stops reading"
"$bin/tests/stalled-client" tcp:127.0.0.1:3260 "$busid" >/tmp/stalled.out 2>&1 &
cpid=$!
wait_for 60 grep -q "stalled after" /tmp/stalled.out || die "the client never stalled: $(cat /tmp/stalled.out)"
cat /tmp/stalled.out
sleep 3 # the worker has written what the socket takes, and is stuck
$ctl status | grep -q "^$busid" || die "no session holds $busid"

log "--- unexport gives it back within the bound"
t0=$(date +%s)
timeout 5 $ctl unexport "$busid" || die "unexport did not answer"
wait_for 8 grep -q "unexported $busid\$" /tmp/broker.log || die "$busid not given back within 8 s"
log "given back after $(($(date +%s) - t0)) s"
grep "worker .* \(exited\|killed\)" /tmp/broker.log | tail -1
wait_for 10 test -e "/sys/bus/usb/devices/$busid:1.0/driver" || die "usb-storage did not bind again"
$ctl status | grep -q "^$busid" && die "a session is left: $($ctl status)"

log "--- and it can be exported again"
$ctl export "$busid" || die "export again"
$ctl list | grep -qP "^$busid\t.*\tyes\t" || die "not exported again"
$ctl unexport "$busid"
kill "$cpid"
stop_broker

log "--- a granted worker that floods counters: killed, the device kept"
: >/tmp/broker.log
start_broker 3261 "allow id 1d6b:0104 from 127.0.0.1" --worker "$bin/tests/fake-worker"
$ctl export "$busid" || die "export for the fake worker"
exec 5<>/dev/tcp/127.0.0.1/3261
echo granted-stats-flood >&5
wait_for 10 grep -q "fake-worker: granted $busid" /tmp/broker.log || die "the fake worker got no device"
wait_for 10 grep -q "sent counters more than 4 times a second; killing it" /tmp/broker.log ||
	die "the counter flood was not stopped"
wait_for 10 grep -q "killed by signal 9" /tmp/broker.log || die "the fake worker was not killed"
wait_for 5 sh -c "$ctl list | grep -qP '^$busid\t.*\tyes\t'" || die "$busid did not come back to the exported pool"
exec 5>&-
stop_broker
trap - EXIT
log "PASS"
