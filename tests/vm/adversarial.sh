# qemu: -device qemu-xhci,id=xhci -audiodev none,id=snd0 -device usb-audio,audiodev=snd0,bus=xhci.0
# SPDX-License-Identifier: GPL-2.0-or-later
# The adversarial stage (tests/run-all.sh adversarial): one live
# usbip-brokerd, one healthy import reading a disk end to end over and
# over, and beside it every attacker the suite has, each against another
# device or the broker itself:
#   compromised workers (tests/tools/fake-worker, through USBIP_FAKE_WORKER_REAL
#     the broker's --worker for hostile clients only): floods, never
#     reading, out of order, fds, oversize, wrong side, early close,
#     counters before and after a grant;
#   hostile peers (tests/tools/hostile-peer): device-list floods read and
#     unread, a trickled and a stalled handshake, more connections than
#     one peer may hold, a busid that forges log lines;
#   a client that stops reading (tests/tools/stalled-client), and an
#     unexport that must give the device back anyway;
#   malformed requests (tests/tools/usbip-probe: NOTES section 2, the
#     standard-request shapes) on a storage gadget, and iso requests with
#     overlapping or oversized packets on QEMU's usb-audio.
# Each case must hold: the attacker is refused or its worker ends, the
# broker answers its control socket within 2 s throughout, and the healthy
# session reads bit-exact with the same worker from start to end. At the
# end: cases tried and held, the broker's fds and RSS before and after,
# and the largest worker RSS seen under the floods.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
attach=$bin/daemons/attach/usbip-attach
probe=$bin/tests/usbip-probe
peer=$bin/tests/hostile-peer
stalled=$bin/tests/stalled-client
addr=tcp:127.0.0.1:3240
trap 'echo "--- broker log (last 80 lines)"; tail -80 /tmp/broker.log' EXIT

tried=0 held=0
# case_held NAME: one more case tried and held (a case that does not hold
# dies before it gets here).
case_held() {
	tried=$((tried + 1)) held=$((held + 1))
	log "held: $1"
}
responsive() {
	timeout 2 $ctl list >/dev/null || die "$1: list not answered within 2 s"
	timeout 2 $ctl status >/dev/null || die "$1: status not answered within 2 s"
}
broker_fds() { ls /proc/$bpid/fd | wc -l; }
broker_rss() { awk '/^VmRSS/ {print $2}' /proc/$bpid/status; }
worker_max_rss=0
# sample_workers: the largest VmRSS (KiB) of any worker now, into
# worker_max_rss.
sample_workers() {
	local p r
	for p in $(pgrep -f 'usbip-worker|fake-worker'); do
		# A worker may be gone between pgrep and the read.
		r=$(awk '/^VmRSS/ {print $2}' /proc/$p/status 2>/dev/null || true)
		[ -n "$r" ] && [ "$r" -gt "$worker_max_rss" ] && worker_max_rss=$r
	done
	return 0
}
exported() { $ctl list | grep -qP "^$1\t.*\tyes\t"; }

make_storage_gadget /tmp/a.img 32 0
a=$GADGET_BUSID
make_storage_gadget /tmp/b.img 8 1
victim=$GADGET_BUSID
want_a=$(sha256sum </tmp/a.img | cut -d' ' -f1)
modprobe vhci-hcd
modprobe xhci_pci
wait_for 20 local_busid 46f4:0002 || die "QEMU's usb-audio did not enumerate"
audio=$(local_busid 46f4:0002)

# The fake worker passes every real client on to the real worker.
export USBIP_FAKE_WORKER_REAL=$bin/daemons/worker/usbip-worker
start_broker 3240 "allow id 1d6b:0104 from 127.0.0.1
allow id 46f4:0002 from 127.0.0.1" --worker "$bin/tests/fake-worker" --import-timeout 5
$ctl export "$a"
$ctl export "$victim"
$ctl export "$audio"

log "--- the healthy session: $a, read end to end until the attacks are over"
$attach connect "$addr" "$a"
wait_for 30 vhci_disk || die "no disk behind vhci_hcd"
disk=$(vhci_disk)
healthy=$($ctl status | awk -F'\t' -v b="$a" '$1 == b {print $4}')
[ -n "$healthy" ] || die "no worker for the healthy session"
responsive start
sleep 1
wait_for 15 broker_has_spare || die "no spare worker"
fds0=$(broker_fds) rss0=$(broker_rss)
log "broker before: $fds0 fds, RSS $rss0 KiB"
start_healthy_reader "$disk" "$want_a"

log "--- compromised workers"
for s in flood never-read two-outstanding devlist-loop open-twice out-of-order \
	stats-before-grant stats-flood fd linger-fd oversize wrong-side reset close-early \
	granted-stats-flood; do
	kills=$(grep -c "killed by signal 9" /tmp/broker.log || true)
	exec 5<>/dev/tcp/127.0.0.1/3240
	printf '%s\n' "$s" >&5
	wait_for 5 grep -q "fake-worker: scenario $s\$" /tmp/broker.log ||
		die "fake worker $s did not start"
	sleep 0.3
	sample_workers
	responsive "fake worker $s"
	# never-read and close-early wait for a bound (the import timeout,
	# the grace after a closed channel); the rest die on the spot.
	wait_for 15 sh -c "[ \$(grep -c 'killed by signal 9' /tmp/broker.log) -gt $kills ]" ||
		die "fake worker $s was not killed"
	exec 5>&-
	responsive "after fake worker $s"
	case_held "compromised worker: $s"
done
for d in "$victim" "$audio"; do
	wait_for 10 exported "$d" || die "$d is not back in the exported pool after the fake workers"
done

# Before the malformed requests below, which leave the gadget's bulk
# endpoints halted until its next reset. The default share is 963 KiB
# (16 MiB over 17): a quarter mapped, the rest for transfers in flight,
# each charged what usbfs charges.
log "--- a session holding most of its usbfs share, beside the healthy one"
$probe "$addr" "$victim" hold-589824-5 || die "a session could not hold 576 KiB in flight"
sample_workers
case_held "a session holding 576 KiB of usbfs memory in flight"

log "--- hostile peers"
# One peer (127.0.0.1, which also holds the healthy session) may hold
# --max-per-peer (4) sessions: of 8 stalled handshakes 3 get a worker,
# which its handshake deadline ends; the rest are refused at once.
$peer --count 8 --hold 30000 --expect-close-within 15000 "$addr" stall ||
	die "stalled handshakes were not all closed within 15 s"
case_held "8 stalled handshakes from one peer"
$peer --count 3 --expect-close-within 15000 "$addr" trickle ||
	die "trickled handshakes were not closed within 15 s"
case_held "3 trickled handshakes"
$peer --count 3 --expect-close-within 15000 "$addr" devlist-flood:100000 ||
	die "device-list floods were not cut off"
case_held "3 device-list floods, answers read"
$peer --count 3 --expect-close-within 15000 "$addr" devlist-noread:1000000 &
floodpid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do sample_workers; sleep 0.3; done
wait $floodpid || die "device-list floods that never read were not cut off"
case_held "3 device-list floods, never read"
$peer --expect-close-within 10000 "$addr" 'busid:1-1\nusbip-brokerd: forged line' ||
	die "the forging busid was not refused"
grep -q '^usbip-brokerd: forged line' /tmp/broker.log && die "a peer forged a log line"
grep -q 'forged line' /tmp/broker.log || die "the busid did not reach the log escaped"
case_held "a busid that forges a log line"
responsive "after the hostile peers"

log "--- a client that stops reading, then unexport"
$stalled "$addr" "$victim" >/tmp/stalled.out 2>&1 &
cpid=$!
wait_for 60 grep -q "stalled after" /tmp/stalled.out || die "the client never stalled: $(cat /tmp/stalled.out)"
sleep 2
sample_workers
t0=$(date +%s)
timeout 5 $ctl unexport "$victim" || die "unexport did not answer"
wait_for 8 grep -q "unexported $victim\$" /tmp/broker.log || die "$victim not given back within 8 s"
log "given back after $(($(date +%s) - t0)) s"
kill "$cpid"
wait_for 10 test -e "/sys/bus/usb/devices/$victim:1.0/driver" || die "usb-storage did not take $victim back"
$ctl export "$victim" || die "$victim cannot be exported again"
case_held "a stalled client's device given back on unexport"

log "--- malformed requests on $victim"
check_hostile "$addr" "$victim" /tmp/broker.log "$bpid"
for _ in $(seq "$hostile_count"); do case_held "malformed request"; done
responsive "after the malformed requests"

log "--- standard requests in other shapes on $victim"
check_standard_requests "$addr" "$victim" /tmp/broker.log "$bpid"
for _ in $(seq "$hostile_count"); do case_held "standard request in another shape"; done

log "--- overlapping iso packets on $audio"
hostile_count=0
check_refused "$addr" "$audio" /tmp/broker.log "$bpid" <<-'ROWS'
iso-overlap iso offset (overlap)
ROWS
case_held "1024 iso packets over one 192-byte buffer"
responsive "after the iso requests"

log "--- the healthy session, after all of it"
stop_healthy_reader "the attacks"
now=$($ctl status | awk -F'\t' -v b="$a" '$1 == b {print $4}')
[ "$now" = "$healthy" ] || die "the healthy session's worker changed ($healthy -> $now)"
log "healthy reader: $(cat /tmp/healthy.result) full passes bit-exact, worker $healthy throughout"

$attach detach --all
wait_detached
wait_for 15 sh -c "[ \$($ctl status | grep -c import) = 0 ]" || die "sessions linger: $($ctl status)"
sleep 1
wait_for 15 broker_has_spare || die "no spare worker at the end"
fds1=$(broker_fds) rss1=$(broker_rss)
[ "$fds1" -le "$fds0" ] || die "the broker's fds grew from $fds0 to $fds1"
log "adversarial: $tried cases tried, $held held; broker fds $fds0 -> $fds1, RSS $rss0 -> $rss1 KiB; largest worker RSS $worker_max_rss KiB"
stop_broker
trap - EXIT
log "PASS"
