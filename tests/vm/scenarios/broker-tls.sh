# SPDX-License-Identifier: GPL-2.0-or-later
# usbip-brokerd's tls: listeners and destinations (issue 15, exporting
# side), with usbip-attach importing: a disk imported over TLS through the
# broker's sandboxed worker (which runs the server handshake, gets its one
# signature from the broker and hands the records to kTLS) reads back
# bit-exact, in the connect flow and in the device-initiated flow (export
# --to tls:tcp: to an usbip-attach listen tls:tcp:); the capture of both
# holds no USB/IP in clear, and its first packets hold TLS 1.3
# application data (tshark, on the host: broker-tls.host-check.sh); the
# negotiated parameters are logged; refused with one line on both ends,
# nothing reaching vhci_hcd: a key the policy does not name, a key the
# policy names for another device only, the broker's key not pinned by
# the importer, plain USB/IP on the tls: listener.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
attach=$bin/daemons/attach/usbip-attach
[ -x "$attach" ] || die "build first (with -Dgnutls=enabled)"

trap 'echo "--- broker log"; cat /tmp/broker.log; dmesg | grep "type=1326" | tail -3' EXIT
tls_keygen /tmp/broker-tls-keys broker client other nobody
image=/tmp/broker-tls.img
make_storage_gadget "$image" 2
want=$(sha256sum <"$image" | cut -d' ' -f1)
modprobe vhci-hcd
wait_for 10 test -e /sys/bus/usb/devices/1-1:1.0/driver || die "usb-storage did not bind"

tls_pins
ckey=$client_key

# The gadget to the client's key only (from anywhere), and to the TLS
# destination; "other" is a key the policy knows, for another device.
start_tls_broker 3240 "allow id 1d6b:0104 serial 0001 from key:$client_pin to tls:tcp:127.0.0.1:4211
allow id ffff:ffff from key:$other_pin" --listen tls:tcp:127.0.0.1:4210
[ -d /sys/module/tls ] || die "the broker did not load tls.ko"
grep -E "^(tls|gcm|ctr|ghash|chacha20poly1305) " /proc/modules | cut -d' ' -f1 | tr '\n' ' '; echo
$ctl export 1-1

one_line() { # FILE WHAT: FILE holds exactly one line, matching WHAT
	[ "$(wc -l <"$1")" = 1 ] || { cat "$1"; die "$1: not one line"; }
	grep -q "$2" "$1" || { cat "$1"; die "$1 does not say '$2'"; }
	cat "$1"
}
nothing_reached() {
	vhci_all_free || die "$1: a vhci_hcd port was taken"
	$ctl list | grep -qP '^1-1\t.*\tyes\t' || die "$1: 1-1 is no longer exported"
	$ctl status | grep -q '^1-1' && die "$1: 1-1 is in a session"
	return 0
}

# The whole of both flows, for the check on bytes in clear; the first 60
# packets of each flow again, for tshark on the host.
rm -f /tmp/tls.pcap
dumpcap -q -i lo -f "tcp port 4210 or tcp port 4211" -w /tmp/tls.pcap 2>/dev/null &
cap_pid=$!
wait_for 30 test -s /tmp/tls.pcap || die "dumpcap did not start"
short_capture() { # PORT FILE
	rm -f "$2"
	dumpcap -q -i lo -c 60 -f "tcp port $1" -w "$2" 2>/dev/null &
	wait_for 30 test -s "$2" || die "dumpcap did not start"
}
short_capture 4210 /tmp/connect.pcap
sleep 1

log "--- connect: usbip-attach connect tls:tcp: to the broker's tls: listener"
$attach --timeout 60000 connect tls:tcp:127.0.0.1:4210 1-1 --key $ckey --peer "$broker_pin" 2>/tmp/attach.log ||
	{ cat /tmp/attach.log; die "import over TLS failed"; }
check_vhci_disk "$want"
cat /tmp/attach.log
grep -q "TLS1.3 .* peer $broker_pin" /tmp/attach.log || die "usbip-attach did not see the broker's key"
grep "TLS: TLS1.3" /tmp/broker.log | tail -1
grep -q "TLS: TLS1.3 .* peer $client_pin" /tmp/broker.log || die "the worker did not log the handshake"
grep -q "TLS peer key $client_pin" /tmp/broker.log || die "the broker did not take the peer's key"
wpid=$($ctl status | awk -F'\t' '$1 == "1-1" {print $4}')
grep -qP '^Seccomp:\t2$' /proc/$wpid/status || die "the worker is not under seccomp"
grep -E "TlsCurr(Tx|Rx)Sw" /proc/net/tls_stat
$attach detach --all
wait_detached
wait_for 10 sh -c "! $ctl status | grep -q '^1-1'" || die "the session did not end"

log "--- device-initiated: export --to tls:tcp: an usbip-attach listen tls:tcp:"
$attach --timeout 60000 listen tls:tcp:127.0.0.1:4211 --from 127.0.0.1 --key $ckey --peer "$broker_pin" \
	2>/tmp/listen.log &
lpid=$!
wait_listening 127.0.0.1:4211
short_capture 4211 /tmp/dial.pcap
$ctl export 1-1 --to tls:tcp:127.0.0.1:4211
check_vhci_disk "$want"
cat /tmp/listen.log
$ctl status | grep -qP '^1-1\ttls:tcp:127.0.0.1:4211\texport\t' || die "status shows no TLS export session"
[ "$(grep -c "TLS: TLS1.3 .* peer $client_pin" /tmp/broker.log)" = 2 ] ||
	die "not one handshake for the export session"
[ "$(grep -c "session started, worker [0-9]* exporting 1-1 over TLS" /tmp/broker.log)" = 1 ] ||
	die "the broker dialled again while its first session shook hands"
$ctl unexport 1-1
wait_detached
kill $lpid
wait $lpid || true
sleep 1
kill -INT $cap_pid
wait $cap_pid || true

log "--- the capture: TLS application data, no USB/IP in clear"
# The first packets of both flows go to the host, where tshark reads
# them (broker-tls.host-check.sh): under TCG tshark's start alone took
# close to three minutes.
mergecap -F pcap -w "$USBIP_RESULTS/broker-tls.pcap" /tmp/connect.pcap /tmp/dial.pcap
log "negotiated, from the worker's log (the ServerHello's part is checked on the host):"
grep -h "TLS: TLS1.3" /tmp/broker.log | tail -1
clear=$(python3 - /tmp/tls.pcap "$image" <<'PY'
import sys
cap = open(sys.argv[1], 'rb').read()
img = open(sys.argv[2], 'rb').read(1 << 20)
seen = []
if b'/sys/devices/' in cap: seen.append('device path')
for name, op in (('OP_REQ_IMPORT', '01118003'), ('OP_REP_IMPORT', '01110003'),
		 ('OP_REQ_EXPORT', '01118006'), ('OP_REP_EXPORT', '01110006')):
	if bytes.fromhex(op) in cap: seen.append(name)
if b'1-1\0\0\0\0' in cap: seen.append('busid')
if any(img[o:o + 64] in cap for o in range(0, len(img), 65536)): seen.append('disk data')
print(' '.join(seen) if seen else 'nothing')
PY
)
log "in clear: $clear"
[ "$clear" = nothing ] || die "the TLS links carry in clear: $clear"
$ctl export 1-1

# refused NAME ATTACH-ARGS...: one line from usbip-attach, one from the
# broker's side, no port taken, the device still exported and free.
refused() {
	local name=$1 before
	shift
	log "--- refused: $name"
	before=$(wc -l </tmp/broker.log)
	rc=0
	$attach connect "$@" --timeout 30000 2>/tmp/r-attach.log || rc=$?
	[ $rc = 1 ] || die "$name: usbip-attach exit $rc"
	sleep 1
	nothing_reached "$name"
	echo "usbip-attach:"
	# Its success line for the TLS handshake aside, one error line.
	grep -v "TLS1.3 " /tmp/r-attach.log >/tmp/r-attach.err || true
	one_line /tmp/r-attach.err .
	echo "broker and worker:"
	tail -n +$((before + 1)) /tmp/broker.log | grep -v "session started\|exited\|killed" >/tmp/r-broker.log
}
refused "a key the policy does not name" tls:tcp:127.0.0.1:4210 1-1 \
	--key $nobody_key --peer "$broker_pin"
one_line /tmp/r-broker.log "$nobody_pin is not pinned"
refused "a key the policy names for another device" tls:tcp:127.0.0.1:4210 1-1 \
	--key $other_key --peer "$broker_pin"
cat /tmp/r-broker.log
grep -q "asked for 1-1: No such device" /tmp/r-broker.log || die "the broker did not refuse 1-1"
refused "the broker's key not pinned by the importer" tls:tcp:127.0.0.1:4210 1-1 \
	--key $ckey --peer "$other_pin"
grep -q "$broker_pin is not pinned" /tmp/r-attach.log || die "attach does not name the broker's key"
one_line /tmp/r-broker.log "TLS refused"
refused "plain USB/IP to the tls: listener" tcp:127.0.0.1:4210 1-1
one_line /tmp/r-broker.log "plain USB/IP"
log "broker-tls verified"
