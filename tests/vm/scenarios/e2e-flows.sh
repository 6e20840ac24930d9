# SPDX-License-Identifier: GPL-2.0-or-later
# usbip-brokerd's flows and transports, and hostile clients beside a
# healthy session. Two gadgets: A (32 MiB) and B (8 MiB), on dummy_hcd's
# two buses.
#   import over a unix socket, and over an inherited connected fd;
#   a live session's worker: uid 65534, no new privileges, seccomp, no
#   capabilities, its own user, net, mount, pid and ipc namespaces, and
#   no fd but its own;
#   export --to an usbip-attach listener over tcp, vsock (vsock_loopback)
#   and a unix socket;
#   while A is imported and read end to end, every malformed request of
#   shared NOTES section 2 goes to B through the broker: each ends its own
#   session with a log line naming the field, and A's read completes
#   bit-exact in the same session.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
attach=$bin/daemons/attach/usbip-attach
probe=$bin/tests/usbip-probe
trap 'echo "--- broker log"; cat /tmp/broker.log; echo "--- listener log"; cat /tmp/listen.log 2>/dev/null || true' EXIT

make_storage_gadget /tmp/a.img 32 0
a=$GADGET_BUSID
make_storage_gadget /tmp/b.img 8 1
bb=$GADGET_BUSID
want_a=$(sha256sum </tmp/a.img | cut -d' ' -f1)
modprobe vhci-hcd
modprobe vsock_loopback
mkdir -p /run/flows
start_broker 3240 "allow id 1d6b:0104 from 127.0.0.1 from unix to tcp:127.0.0.1:4030 to vsock:1:4020 to unix:/run/flows/attach.sock" \
	--listen unix:/run/flows/import.sock
$ctl export "$a"
$ctl export "$bb"

done_with_import() {
	$attach detach --all
	wait_detached
	wait_for 10 sh -c "! $ctl status | grep -q '^$a'" || die "the session on $a lingers"
}

log "--- import over a unix socket"
$attach connect unix:/run/flows/import.sock "$a"
check_vhci_disk "$want_a"
$ctl status | grep -qP "^$a\tunix\timport\t" || $ctl status | grep -qP "^$a\t.*\timport\t" || die "no import session in status"
done_with_import

log "--- import over an inherited connected fd (bash's /dev/tcp)"
$attach connect fd:3 "$a" 3<>/dev/tcp/127.0.0.1/3240
check_vhci_disk "$want_a"
done_with_import

for to in tcp:127.0.0.1:4030 vsock:1:4020 unix:/run/flows/attach.sock; do
	log "--- export --to $to"
	case $to in
	vsock:*) listen_on=vsock:4020 ;;
	*) listen_on=$to ;;
	esac
	# tcp and vsock need --from (vsock:4020 is reachable from the host);
	# on the unix socket the broker (root) gets in by SO_PEERCRED alone.
	$attach listen "$listen_on" --from 127.0.0.1 --from vsock:1 2>/tmp/listen.log &
	lpid=$!
	case $to in
	tcp:*) wait_listening 127.0.0.1:4030 ;;
	unix:*) wait_for 10 test -S /run/flows/attach.sock || die "no listener at $to" ;;
	vsock:*) wait_for 10 sh -c "ss -l --vsock | grep -q 4020" || die "no vsock listener" ;;
	esac
	$ctl export "$a" --to "$to"
	check_vhci_disk "$want_a"
	$ctl status | grep -qP "^$a\t.*\texport\t" || die "status shows no export session for $to"
	$ctl unexport "$a"
	wait_detached
	kill $lpid
	wait $lpid 2>/dev/null || true
	wait_for 10 sh -c "! $ctl status | grep -q '^$a'" || die "the session to $to lingers"
	$ctl export "$a"
done

log "--- hostile clients on $bb beside a healthy import of $a"
$attach connect tcp:127.0.0.1:3240 "$a"
wait_for 30 vhci_disk || die "no disk"
healthy=$($ctl status | awk -F'\t' -v b="$a" '$1 == b {print $4}')
[ -n "$healthy" ] || die "no worker for the healthy session"

log "--- the live session's worker: its confinement and its fds"
st=/proc/$healthy/status
grep -E '^(Uid|NoNewPrivs|Seccomp|CapEff|CapPrm|CapBnd):' $st
grep -qP '^Uid:\t65534\t65534\t65534\t65534$' $st || die "the worker is not uid 65534"
grep -qP '^NoNewPrivs:\t1$' $st || die "the worker may gain privileges"
grep -qP '^Seccomp:\t2$' $st || die "the worker has no filter"
grep -qP '^CapEff:\t0+$' $st || die "the worker has effective capabilities"
for ns in user net mnt pid ipc; do
	[ "$(readlink /proc/$healthy/ns/$ns)" != "$(readlink /proc/$bpid/ns/$ns)" ] ||
		die "the worker shares the broker's $ns namespace"
done
ls -l /proc/$healthy/fd | tail -n +2 | awk '{ print $9, $10, $11 }' | tee /tmp/wfds
# 0 and 1 are /dev/null, 2 is the broker's own log (its stderr); beyond
# those only sockets, libusb's event and timer fds and the usbfs node.
bad=$(awk '($1 <= 1 && $3 != "/dev/null") || ($1 > 2 && $3 !~ /^(socket:|anon_inode:|\/dev\/bus\/usb\/)/)' /tmp/wfds)
[ -z "$bad" ] || die "the worker holds fds it should not: $bad"
[ "$(wc -l </tmp/wfds)" -le 10 ] || die "the worker holds $(wc -l </tmp/wfds) fds"
# The healthy client reads the whole disk over and over, each pass
# checked, until the hostile ones are done.
disk=$(vhci_disk)
start_healthy_reader "$disk" "$want_a"
check_hostile tcp:127.0.0.1:3240 "$bb" /tmp/broker.log "$bpid"
rows=$hostile_count
stop_healthy_reader "the hostile sessions"
log "healthy reader: $(cat /tmp/healthy.result) full passes bit-exact"
now=$($ctl status | awk -F'\t' -v b="$a" '$1 == b {print $4}')
[ "$now" = "$healthy" ] || die "the healthy session's worker changed ($healthy -> $now)"
kill -0 $bpid || die "the broker died"
log "$rows hostile sessions refused; the healthy session read all of $a bit-exact"
$probe tcp:127.0.0.1:3240 "$bb" inflight-64 || die "$bb is not served after the hostile sessions"
done_with_import
stop_broker
log "PASS"
