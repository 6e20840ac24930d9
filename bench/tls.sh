# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: a mass-storage gadget read through usbip-brokerd
# and usbip-attach, in one guest boot,
#   plain   tcp: both ends, no encryption
#   tls     tls:tcp: (the worker's kTLS, vhci_hcd's kTLS), issue 15
#   socat   plain USB/IP wrapped in TLS by socat (OpenSSL) on both ends,
#           the usual userspace wrapping (two extra processes, copies)
# with O_DIRECT sequential reads of 1 MiB (MB/s) and 4 KiB (IOPS), each
# path BENCH_ROUNDS times (2) in turn so that drift hits all alike. Prints
# every round and the mean ratio of tls and socat against plain.
# Under TCG the numbers are the emulator's, not the cipher's; compare the
# ratios, not the MB/s.   Run: tests/vm/run.sh bench/tls.sh
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
attach=$bin/daemons/attach/usbip-attach
keygen="$bin/daemons/brokerctl/usbip-brokerctl keygen"
mib=${BENCH_MIB:-8}
small=${BENCH_SMALL_IOS:-256}
rounds=${BENCH_ROUNDS:-2}
command -v socat >/dev/null || die "socat is not installed"
command -v openssl >/dev/null || die "openssl is not installed (socat's certificate)"

make_storage_gadget /tmp/bench.img "$mib"
modprobe vhci-hcd
wait_for 10 test -e /sys/bus/usb/devices/1-1:1.0/driver || die "usb-storage did not bind"
keys=/tmp/bench-keys
mkdir -p $keys
for who in broker client; do $keygen --out $keys/$who >$keys/$who.pin; done
start_broker 3240 "allow id 1d6b:0104 serial 0001 from 127.0.0.1 from key:$(cat $keys/client.pin)
deny" --listen tls:tcp:127.0.0.1:3241 --key $keys/broker/identity.key
$ctl export 1-1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=bench -keyout /tmp/socat.key -out /tmp/socat.crt 2>/dev/null
cat /tmp/socat.key /tmp/socat.crt >/tmp/socat.pem
socat openssl-listen:3242,reuseaddr,fork,cert=/tmp/socat.pem,verify=0 tcp:127.0.0.1:3240 &
socat tcp-listen:3243,reuseaddr,fork,bind=127.0.0.1 openssl:127.0.0.1:3242,verify=0 &
wait_listening 127.0.0.1:3243

dd_seconds() {
	dd "$@" iflag=direct of=/dev/null 2>&1 | sed -n 's/.* copied, \([0-9.e-]*\) s,.*/\1/p'
}
measure() { # NAME: one row "NAME MB/s IOPS"
	local disk s1 s4
	wait_for 30 vhci_disk || die "$1: no disk"
	disk=$(vhci_disk)
	s1=$(dd_seconds if="$disk" bs=1M count="$mib")
	s4=$(dd_seconds if="$disk" bs=4k count="$small")
	awk -v n="$1" -v m="$mib" -v s1="$s1" -v c="$small" -v s4="$s4" \
		'BEGIN { printf "%s %.2f %.0f\n", n, m * 1.048576 / s1, c / s4 }' | tee -a /tmp/bench.txt
	$attach detach --all
	wait_detached
	wait_for 10 sh -c "! $ctl status | grep -q '^1-1'" || die "$1: the session did not end"
}

: >/tmp/bench.txt
for r in $(seq "$rounds"); do
	log "--- round $r"
	$attach connect tcp:127.0.0.1:3240 1-1 && measure plain
	$attach --timeout 60000 connect tls:tcp:127.0.0.1:3241 1-1 --key $keys/client/identity.key \
		--peer "$(cat $keys/broker.pin)" 2>/dev/null && measure tls
	$attach connect tcp:127.0.0.1:3243 1-1 && measure socat
done
grep "TLS: TLS1.3" /tmp/broker.log | tail -1
awk '{ mb[$1] += $2; io[$1] += $3; n[$1]++ }
END {
	for (p in n) printf "%-6s %8.2f MB/s %6.0f IOPS (mean of %d)\n", p, mb[p] / n[p], io[p] / n[p], n[p]
	if (n["plain"] && n["tls"])
		printf "tls/plain:   1 MiB %.2f, 4 KiB %.2f\n", (mb["tls"] / n["tls"]) / (mb["plain"] / n["plain"]), (io["tls"] / n["tls"]) / (io["plain"] / n["plain"])
	if (n["socat"] && n["tls"])
		printf "tls/socat:   1 MiB %.2f, 4 KiB %.2f\n", (mb["tls"] / n["tls"]) / (mb["socat"] / n["socat"]), (io["tls"] / n["tls"]) / (io["socat"] / n["socat"])
}' /tmp/bench.txt
stop_broker
