# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 12 item 6: sessions share the host's usbfs quota. The broker (at
# most 3 sessions) gives each a quarter of usbfs_memory_mb; three sessions
# on three gadgets each fill their whole in-flight budget with bulk INs
# that never complete (mass storage without a command) and hold them,
# and a fourth server (a standalone worker with the same share) on a
# fourth gadget still fills its own: N sessions at their cap leave room
# for one more. Then --usbfs-memory-mb raises the quota and the share
# follows it.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
probe=$bin/tests/usbip-probe
worker=$bin/daemons/worker/usbip-worker
param=/sys/module/usbcore/parameters/usbfs_memory_mb
trap 'echo "--- broker log"; cat /tmp/broker.log' EXIT

# Four UDCs (lib.sh loads two); dummy_hcd.0 keeps its bus numbers.
modprobe -r dummy_hcd 2>/dev/null || true
modprobe dummy_hcd num=4
for n in 0 1 2 3; do
	make_storage_gadget /tmp/quota$n.img 1 $n
	busid[$n]=$GADGET_BUSID
done
echo 16 >$param
quota=$(cat $param)
log "usbfs_memory_mb $quota"

start_broker 3270 "allow id 1d6b:0104 from 127.0.0.1" --max-sessions 3
$ctl export "${busid[0]}"
$ctl export "${busid[1]}"
$ctl export "${busid[2]}"
share_kib=$(((quota << 10) / 4))

# One short session tells what a session may hold in flight. (A worker
# that takes no share, as before issue 12, is held to the 3 MiB a share
# gives: its 4 MiB mapping each is what runs the quota out.)
$probe tcp:127.0.0.1:3270 "${busid[0]}" unlink-completed || die "a plain session"
line=$(grep -m1 "usbfs share $share_kib KiB" /tmp/broker.log) || line=
cap_kib=$(echo "$line" | sed -n 's/.* \([0-9]*\) KiB in flight.*/\1/p')
log "${line:-no usbfs share in the log}"
bytes=$((${cap_kib:-3072} * 1024))

pids=
for n in 0 1 2; do
	$probe tcp:127.0.0.1:3270 "${busid[$n]}" "hold-$bytes-25" >/tmp/hold$n.out 2>&1 &
	pids="$pids $!"
done
holding() { for n in 0 1 2; do grep -q holding /tmp/hold$n.out || return 1; done; }
wait_for 20 holding || { cat /tmp/hold*.out; die "three sessions could not all hold their cap"; }
log "three broker sessions hold $cap_kib KiB each: $(cat /tmp/hold*.out | grep holding | head -1)"

# One more: a server outside the broker, with the same share.
$worker --device "$(usb_node "${busid[3]}")" --listen tcp:127.0.0.1:3271 --once \
	--usbfs-share "$share_kib" 2>/tmp/worker4.log &
wpid=$!
wait_listening 127.0.0.1:3271
$probe tcp:127.0.0.1:3271 "${busid[3]}" "hold-$bytes-2" ||
	{ cat /tmp/worker4.log; die "no room for a fourth session at its cap"; }
wait $wpid || true
for p in $pids; do
	wait "$p" || { cat /tmp/hold*.out; die "a holding session failed"; }
done
log "N=3 sessions at their cap left room for one more"
grep -q "usbfs quota $quota MiB: $share_kib KiB for each of 3 sessions" /tmp/broker.log ||
	die "the broker did not give each session $share_kib KiB"
[ -n "$cap_kib" ] || die "the worker did not take its share"
stop_broker

# The administrator's figure: raised, never lowered, and shared out.
start_broker 3272 "allow id 1d6b:0104 from 127.0.0.1" --max-sessions 3 --usbfs-memory-mb 48
[ "$(cat $param)" = 48 ] || die "--usbfs-memory-mb 48 left the quota at $(cat $param)"
grep -q "usbfs quota 48 MiB: 12288 KiB for each of 3 sessions" /tmp/broker.log ||
	die "the share did not follow the raised quota"
stop_broker
start_broker 3273 "allow id 1d6b:0104 from 127.0.0.1" --max-sessions 3 --usbfs-memory-mb 20
[ "$(cat $param)" = 48 ] || die "--usbfs-memory-mb 20 lowered the quota"
stop_broker
echo 16 >$param || die "could not put the quota back to 16 MiB"
# dummy_hcd stays with four UDCs: the scenarios after this one use the
# first two, on the same buses as before.
log "usbfs quota shares verified"
