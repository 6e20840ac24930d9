# SPDX-License-Identifier: GPL-2.0-or-later
# usbip-attach against the kernel's own server side: import from upstream
# usbipd (tcp, and an inherited fd), interop with upstream usbip port and
# detach, --reconnect after the server drops the link, and the
# device-initiated flow over tcp, unix and vsock with usbip-host serving;
# listen --from refuses a caller outside it before reading its request,
# a TCP or vsock listener (loopback too) does not start without it, and
# without it a unix listener lets in root only (SO_PEERCRED): an
# unprivileged caller is refused before its request is read.
. "$USBIP_REPO/tests/vm/lib.sh"

attach=$(build_dir)/daemons/attach/usbip-attach
stub=$(build_dir)/tests/export-via-stub
[ -x "$attach" ] && [ -x "$stub" ] || die "build first: $attach, $stub"

image=/tmp/attach.img
make_storage_gadget "$image" 16
want=$(sha256sum <"$image" | cut -d' ' -f1)
modprobe usbip-host
modprobe vhci-hcd
modprobe vsock_loopback
usbipd -D
wait_for 10 sh -c 'ss -ltn | grep -q ":3240 "' || die "usbipd is not listening"
usbip bind -b 1-1

log "--- list"
$attach list tcp:127.0.0.1:3240 | tee /tmp/list
grep -q "1-1: 1d6b:0104 high-speed" /tmp/list || die "list does not show 1-1"

log "--- import over tcp, detached by upstream usbip"
$attach connect tcp:127.0.0.1:3240 1-1
check_vhci_disk "$want"
usbip port | tee /tmp/port
grep -q "usbip://127.0.0.1:3240/1-1" /tmp/port || die "upstream usbip port does not see our record"
$attach port | tee /tmp/ourport
grep -q "from 127.0.0.1:3240/1-1" /tmp/ourport || die "usbip-attach port lacks the remote end"
port=$(sed -n 's/^port \([0-9]*\):.*/\1/p' /tmp/ourport | head -1)
usbip detach -p "$port"
wait_detached
[ ! -e "/run/vhci_hcd/port$port" ] || die "upstream detach left our record behind"
wait_for 20 stub_available 1-1 || die "usbip-host did not free 1-1"

log "--- import over an inherited socket (fd mode)"
exec 3<>/dev/tcp/127.0.0.1/3240
$attach connect --fd 3 1-1
exec 3>&-
check_vhci_disk "$want"
$attach detach --all
wait_detached
wait_for 20 stub_available 1-1 || die "usbip-host did not free 1-1"

log "--- --reconnect after the server drops the link"
$attach connect tcp:127.0.0.1:3240 1-1 --reconnect 2>/tmp/reconnect.log &
rpid=$!
check_vhci_disk "$want"
usbip unbind -b 1-1
wait_detached
usbip bind -b 1-1
check_vhci_disk "$want"
grep -q "reconnecting" /tmp/reconnect.log || die "no reconnect logged"
kill -TERM $rpid
wait $rpid || die "usbip-attach --reconnect did not exit cleanly"
wait_detached
cat /tmp/reconnect.log
wait_for 20 stub_available 1-1 || die "usbip-host did not free 1-1"

log "--- device-initiated export over tcp, unix and vsock"
# vsock:4001 is reachable from the host (CID 2): --from names who may call.
$attach listen tcp:127.0.0.1:4000 unix:/run/ua.sock vsock:4001 --allow '1-*' \
	--from 127.0.0.1 --from unix --from vsock:1 2>/tmp/listen.log &
lpid=$!
$attach listen tcp:127.0.0.1:4002 --from 127.0.0.1 --allow '9-*' 2>/tmp/listen-deny.log &
dpid=$!
wait_for 10 sh -c 'ss -ltn | grep -q ":4002 "' || die "listeners did not start"
wait_for 10 test -S /run/ua.sock || die "unix listener did not start"

# A hostile caller first: garbage, then silence. The listener survives.
printf 'GET / HTTP/1.0\r\n\r\n' >/dev/tcp/127.0.0.1/4000 || true

for addr in tcp:127.0.0.1:4000 unix:/run/ua.sock vsock:1:4001; do
	log "export via $addr"
	$stub "$addr" 1-1
	check_vhci_disk "$want"
	$stub "$addr" 1-1 --unexport
	wait_detached
	wait_for 20 stub_available 1-1 || die "usbip-host did not free 1-1"
done

log "--- listen --from: a caller outside it is refused before its request is read"
$attach listen tcp:127.0.0.1:4003 --from 127.0.0.2/32 2>/tmp/listen-from.log &
fpid=$!
wait_listening 127.0.0.1:4003
if $stub tcp:127.0.0.1:4003 1-1 2>/tmp/stub-refused.log; then die "a caller outside --from exported 1-1"; fi
cat /tmp/stub-refused.log /tmp/listen-from.log
! grep -q OP_REP /tmp/stub-refused.log || die "the refused caller got an OP_REP_EXPORT"
grep -Eq '^usbip-attach: tcp:127\.0\.0\.1:[0-9]+: refused: not in --from$' /tmp/listen-from.log ||
	die "the refusal is not logged with the caller's address"
! grep -q 1-1 /tmp/listen-from.log || die "the listener read the refused caller's request"
vhci_all_free || die "a refused caller got a vhci_hcd port"
stub_available 1-1 || die "usbip-host no longer offers 1-1"
log "from 127.0.0.2, inside --from"
$stub tcp:127.0.0.1:4003 1-1 --source 127.0.0.2
check_vhci_disk "$want"
$stub tcp:127.0.0.1:4003 1-1 --unexport --source 127.0.0.2
wait_detached
wait_for 20 stub_available 1-1 || die "usbip-host did not free 1-1"
kill -TERM $fpid
wait $fpid || true
for open in tcp:0.0.0.0:4004 tcp:4004 vsock:4004 tcp:127.0.0.1:4004; do
	rc=0
	timeout 5 $attach listen $open 2>/tmp/listen-open.log || rc=$?
	[ $rc = 2 ] || die "listen $open without --from: exit $rc, not a refusal to start"
	grep -q -- "--from" /tmp/listen-open.log || die "listen $open: refusal does not say --from"
done
grep -q -- "--from 127.0.0.1" /tmp/listen-open.log || die "the loopback refusal does not name --from 127.0.0.1"
cat /tmp/listen-open.log

log "--- listen on unix without --from: root only, by SO_PEERCRED"
$attach listen unix:/run/ua-root.sock 2>/tmp/listen-root.log &
rootpid=$!
wait_for 10 test -S /run/ua-root.sock || die "unix listener without --from did not start"
# A careless mode, so that only the credential check stands between an
# unprivileged user and vhci_hcd.
chmod 0666 /run/ua-root.sock
install -m 0755 "$stub" /tmp/stub-nobody
if setpriv --reuid=65534 --regid=65534 --clear-groups /tmp/stub-nobody unix:/run/ua-root.sock 1-1 \
	2>/tmp/stub-nobody.log; then die "uid 65534 exported 1-1 into vhci_hcd"; fi
cat /tmp/stub-nobody.log /tmp/listen-root.log
grep -Eq '^usbip-attach: unix \(pid [0-9]+, uid 65534, gid 65534\): refused: not root' /tmp/listen-root.log ||
	die "the unprivileged caller's refusal is not logged with its uid"
! grep -q 1-1 /tmp/listen-root.log || die "the listener read the unprivileged caller's request"
vhci_all_free || die "an unprivileged caller got a vhci_hcd port"
log "root on the same socket"
$stub unix:/run/ua-root.sock 1-1
check_vhci_disk "$want"
$stub unix:/run/ua-root.sock 1-1 --unexport
wait_detached
wait_for 20 stub_available 1-1 || die "usbip-host did not free 1-1"
kill -TERM $rootpid
wait $rootpid || true

if $stub tcp:127.0.0.1:4002 1-1; then die "--allow '9-*' let 1-1 in"; fi
grep -q "not allowed" /tmp/listen-deny.log || die "refusal not logged"
grep -q "malformed" /tmp/listen.log || die "garbage was not refused with a reason"
kill -TERM $lpid $dpid
wait $lpid $dpid || true
cat /tmp/listen.log
log "usbip-attach verified"
