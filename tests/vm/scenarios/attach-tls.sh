# SPDX-License-Identifier: GPL-2.0-or-later
# usbip-attach's tls: addresses (issue 15, importing side) against
# tests/tools/tls-usbip-server, the exporting side with the suite's TLS
# library and usbip-host serving: a disk imported over tls:tcp: reads back
# bit-exact, and the device-initiated flow (listen tls:tcp: --from) too;
# a capture of the link holds no USB/IP in clear (checked against a plain
# import captured the same way); a missing tls.ko is named; a wrong key,
# an unpinned key, plain USB/IP on either side of a tls: address and a
# TLS 1.2 server are refused with one line on both ends, every vhci_hcd
# port free and the device still free in usbip-host.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
attach=$bin/daemons/attach/usbip-attach
server=$bin/tests/tls-usbip-server
stub=$bin/tests/export-via-stub
ctl=$bin/daemons/brokerctl/usbip-brokerctl
for x in "$attach" "$server" "$stub" "$ctl"; do
	[ -x "$x" ] || die "build first (with -Dgnutls=enabled): $x"
done

image=/tmp/attach-tls.img
make_storage_gadget "$image" 4
want=$(sha256sum <"$image" | cut -d' ' -f1)
modprobe usbip-host
modprobe vhci-hcd
usbip bind -b 1-1
modprobe -r tls 2>/dev/null || true

tls_keygen /tmp/attach-tls-keys server client stranger
tls_pins
ckey=$client_key
skey=$server_key

# one_error FILE: exactly one line that is not the TLS success line.
one_error() {
	local n
	n=$(grep -vc "TLS1.3 " "$1" || true)
	[ "$n" = 1 ] || { cat "$1"; die "$1: $n error lines, not one"; }
	grep -v "TLS1.3 " "$1"
}
# nothing_reached: no vhci_hcd port taken, the device still free.
nothing_reached() {
	vhci_all_free || die "$1: a vhci_hcd port was taken"
	stub_available 1-1 || die "$1: usbip-host no longer offers 1-1"
}

if [ ! -d /sys/module/tls ]; then
	log "--- tls.ko absent and modprobe failing: one line naming it"
	mkdir -p /tmp/nomodprobe
	printf '#!/bin/sh\nexit 1\n' >/tmp/nomodprobe/modprobe
	chmod +x /tmp/nomodprobe/modprobe
	rc=0
	PATH=/tmp/nomodprobe:$PATH $attach connect tls:tcp:127.0.0.1:4100 1-1 \
		--key $ckey --peer "$server_pin" 2>/tmp/nomod.log || rc=$?
	[ $rc = 1 ] || die "no tls.ko: exit $rc"
	one_error /tmp/nomod.log | grep -q "tls.ko" || die "the error does not name tls.ko"
else
	log "tls.ko is in use already: the missing-module case is the unit test's"
fi

log "--- a pin is required: never trust on first use"
rc=0
$attach connect tls:tcp:127.0.0.1:4100 1-1 --key $ckey 2>/tmp/nopin.log || rc=$?
[ $rc = 2 ] || die "tls: without a pin: exit $rc"
one_error /tmp/nopin.log | grep -q -- "--peer" || die "the refusal does not say --peer"
rc=0
$attach connect tls:vsock:1:4100 1-1 --key $ckey --peer "$server_pin" 2>/tmp/vsock.log || rc=$?
[ $rc = 2 ] && one_error /tmp/vsock.log | grep -q "TCP only" || die "tls:vsock: not refused"

# capture PORT FILE: dumpcap on lo for that port, in the background.
capture() {
	rm -f "$2"
	dumpcap -q -i lo -f "tcp port $1" -w "$2" 2>/dev/null &
	cap_pid=$!
	wait_for 30 test -s "$2" || die "dumpcap did not start"
	sleep 1
}
stop_capture() {
	sleep 1
	kill -INT $cap_pid
	wait $cap_pid || true
}
# in_clear FILE: what of the USB/IP handshake and the disk is readable.
in_clear() {
	python3 - "$1" "$image" <<'EOF'
import sys
cap = open(sys.argv[1], 'rb').read()
img = open(sys.argv[2], 'rb').read(1 << 20)
seen = []
if b'/sys/devices/' in cap: seen.append('device path')
if bytes.fromhex('01118003') in cap: seen.append('OP_REQ_IMPORT')
if bytes.fromhex('01110003') in cap: seen.append('OP_REP_IMPORT')
if b'1-1\0\0\0\0' in cap: seen.append('busid')
if any(img[o:o + 64] in cap for o in range(0, len(img), 65536)): seen.append('disk data')
print(' '.join(seen) if seen else 'nothing')
EOF
}

log "--- the baseline: a plain import, captured"
$server --listen tcp:127.0.0.1:4099 1-1 --plain >/tmp/plain-server.log 2>&1 &
spid=$!
wait_listening 127.0.0.1:4099
capture 4099 /tmp/plain.pcap
$attach connect tcp:127.0.0.1:4099 1-1 || { sleep 1; cat /tmp/plain-server.log; die "plain import failed"; }
wait $spid || { cat /tmp/plain-server.log; die "plain server failed"; }
check_vhci_disk "$want"
stop_capture
clear=$(in_clear /tmp/plain.pcap)
log "plain: in clear: $clear"
echo "$clear" | grep -q "device path" && echo "$clear" | grep -q "disk data" ||
	die "the capture check cannot see plain USB/IP: it would prove nothing"
$attach detach --all
wait_detached
wait_for 20 stub_available 1-1 || die "usbip-host did not free 1-1"

log "--- import over tls:tcp:"
$server --listen tcp:127.0.0.1:4100 1-1 --key $skey --peer "$client_pin" >/tmp/server.log 2>&1 &
spid=$!
wait_listening 127.0.0.1:4100
capture 4100 /tmp/tls.pcap
$attach connect tls:tcp:127.0.0.1:4100 1-1 --key $ckey --peer "$server_pin" 2>/tmp/attach.log ||
	{ sleep 1; cat /tmp/attach.log /tmp/server.log; die "import over TLS failed"; }
wait $spid || { cat /tmp/server.log; die "the TLS server failed"; }
cat /tmp/attach.log /tmp/server.log
grep -q "TLS1.3 .* peer $server_pin" /tmp/attach.log || die "usbip-attach did not log the server's pin"
grep -q "^server: TLS1.3 .* peer $client_pin" /tmp/server.log || die "the server did not see our pin"
[ -d /sys/module/tls ] || die "usbip-attach did not load tls.ko"
check_vhci_disk "$want"
stop_capture
clear=$(in_clear /tmp/tls.pcap)
log "tls: in clear: $clear"
[ "$clear" = nothing ] || die "the TLS link carries in clear: $clear"
grep -E "TlsCurr(Tx|Rx)Sw" /proc/net/tls_stat
usbip port | grep -q "127.0.0.1:4100/1-1" || die "upstream usbip port does not see the record"
$attach detach --all
wait_detached
wait_for 20 stub_available 1-1 || die "usbip-host did not free 1-1"

log "--- list over an inherited socket: tls:fd:3"
$server --listen tcp:127.0.0.1:4100 1-1 --key $skey --peer "$client_pin" >/tmp/server.log 2>&1 &
spid=$!
wait_listening 127.0.0.1:4100
exec 3<>/dev/tcp/127.0.0.1/4100
$attach list tls:fd:3 --key $ckey --peer "$server_pin" >/tmp/list.out 2>/tmp/list.log ||
	{ cat /tmp/list.log /tmp/server.log; die "list over tls:fd:3 failed"; }
exec 3>&-
wait $spid || { cat /tmp/server.log; die "the TLS server failed the list"; }
cat /tmp/list.out
grep -q "1-1: 1d6b:0104 high-speed" /tmp/list.out || die "list over TLS does not show 1-1"
grep -q "TLS1.3 .* peer $server_pin" /tmp/list.log || die "list did not log the server's pin"

log "--- the device calls: listen tls:tcp: --from, pins from --peers"
printf '# who may call\n\n%s  # the server\n' "$server_pin" >/tmp/peers
$attach listen tls:tcp:127.0.0.1:4101 --from 127.0.0.1 --key $ckey --peers /tmp/peers \
	2>/tmp/listen.log &
lpid=$!
wait_listening 127.0.0.1:4101
$server --dial tcp:127.0.0.1:4101 1-1 --key $skey --peer "$client_pin" ||
	{ cat /tmp/listen.log; die "export over TLS failed"; }
check_vhci_disk "$want"
$server --dial tcp:127.0.0.1:4101 1-1 --unexport --key $skey --peer "$client_pin" ||
	die "unexport over TLS failed"
wait_detached
wait_for 20 stub_available 1-1 || die "usbip-host did not free 1-1"
log "a plain caller on the tls: listener"
if $stub tcp:127.0.0.1:4101 1-1 2>/tmp/stub-plain.log; then die "a plain caller exported over a tls: listener"; fi
sleep 1
nothing_reached "plain caller"
tail -1 /tmp/listen.log | grep -q "plain USB/IP" || { cat /tmp/listen.log; die "the listener did not say plain USB/IP"; }
log "a caller with the wrong key"
if $server --dial tcp:127.0.0.1:4101 1-1 --key $stranger_key --peer "$client_pin" \
	2>/tmp/dial-wrong.log; then die "a stranger's key exported"; fi
sleep 1
nothing_reached "wrong key caller"
one_error /tmp/dial-wrong.log
tail -1 /tmp/listen.log | grep -q "$stranger_pin is not pinned" || { cat /tmp/listen.log; die "the listener did not name the stranger's pin"; }
log "a caller offering only TLS 1.2"
if $server --dial tcp:127.0.0.1:4101 1-1 --tls12 2>/tmp/dial-tls12.log; then die "a TLS 1.2 caller exported"; fi
sleep 1
nothing_reached "TLS 1.2 caller"
one_error /tmp/dial-tls12.log
tail -1 /tmp/listen.log | grep -q "TLS refused" || { cat /tmp/listen.log; die "the listener did not refuse TLS 1.2"; }
kill -TERM $lpid
wait $lpid || true
cat /tmp/listen.log

# refuse NAME SERVER-ARGS...: a tls: import the server side gets wrong.
refuse() {
	local name=$1
	shift
	log "--- refused: $name"
	$server --listen tcp:127.0.0.1:4102 1-1 "$@" >/tmp/r-server.out 2>/tmp/r-server.log &
	spid=$!
	wait_listening 127.0.0.1:4102
	rc=0
	$attach connect tls:tcp:127.0.0.1:4102 1-1 --key $ckey --peer "$server_pin" \
		--timeout 3000 2>/tmp/r-attach.log || rc=$?
	[ $rc = 1 ] || die "$name: usbip-attach exit $rc"
	wait $spid && die "$name: the server side succeeded"
	echo "attach:"
	one_error /tmp/r-attach.log
	echo "server:"
	one_error /tmp/r-server.log
	nothing_reached "$name"
}
refuse "the server's key is not pinned (wrong key)" --key $stranger_key --peer "$client_pin"
grep -q "$stranger_pin is not pinned" /tmp/r-attach.log || die "attach does not name the wrong key"
refuse "the server does not pin us (unpinned key)" --key $skey --peer "$stranger_pin"
grep -q "$client_pin is not pinned" /tmp/r-server.log || die "the server does not name our key"
grep -q "may not have pinned our key $client_pin" /tmp/r-attach.log || die "attach does not say why"
refuse "a plain USB/IP server on a tls: address" --plain
refuse "a TLS 1.2 server" --tls12
log "attach-tls verified"
