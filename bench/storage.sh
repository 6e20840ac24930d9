# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: the same mass-storage gadget read, in one guest
# boot,
#   (a) direct       usb-storage on the gadget itself
#   (b) usbip-host   the kernel's server, upstream `usbip attach`
#   (c) brokerd      usbip-brokerd and its sandboxed worker, the same
#                    upstream `usbip attach`
#   (d) worker       usbip-worker alone (--device, no sandbox), usbip-attach
# with O_DIRECT sequential reads of 1 MiB (MB/s) and 4 KiB (IOPS), each
# path BENCH_ROUNDS times (3) in turn so that drift hits all alike, and the
# server side's CPU seconds per GB moved (usbip-host's stub_rx and stub_tx
# kernel threads; the worker process). Prints every round and the mean ratio
# of each path against (b).   Run: tests/vm/run.sh bench/storage.sh
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
worker=$bin/daemons/worker/usbip-worker
attach=$bin/daemons/attach/usbip-attach
mib=${BENCH_MIB:-64}
small=${BENCH_SMALL_IOS:-2048}
rounds=${BENCH_ROUNDS:-3}

make_storage_gadget /tmp/bench.img "$mib"
modprobe usbip-host
modprobe vhci-hcd

# seconds of one dd run
dd_seconds() {
	dd "$@" iflag=direct of=/dev/null 2>&1 | sed -n 's/.* copied, \([0-9.e-]*\) s,.*/\1/p'
}

cpu_seconds() { # PID...: their user + system seconds so far
	local p
	for p in "$@"; do cat "/proc/$p/stat"; done |
		awk -v t="$(getconf CLK_TCK)" '{ sum += $14 + $15 } END { printf "%.2f", sum / t }'
}

# measure NAME DISK [PID...]: one row "NAME MB/s IOPS CPU-SECONDS" (the
# server side's CPU over both reads: the PIDs', 0 without any).
measure() {
	local name=$1 disk=$2 s1 s4 c0=0 c1=0
	shift 2
	[ $# -gt 0 ] && c0=$(cpu_seconds "$@")
	s1=$(dd_seconds if="$disk" bs=1M count="$mib")
	s4=$(dd_seconds if="$disk" bs=4k count="$small")
	[ $# -gt 0 ] && c1=$(cpu_seconds "$@")
	awk -v n="$name" -v m="$mib" -v s1="$s1" -v c="$small" -v s4="$s4" -v cpu="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" \
		'BEGIN { printf "%s %.2f %.0f %.2f\n", n, m * 1.048576 / s1, c / s4, cpu }' | tee -a /tmp/bench.txt
}

run_direct() {
	wait_for 20 gadget_disk || die "no local disk"
	measure direct "$(gadget_disk)"
}

run_host() {
	usbip bind -b 1-1
	usbip attach -r 127.0.0.1 -b 1-1
	wait_for 30 vhci_disk || die "usbip-host import failed"
	# usbip-host's server side: its two kernel threads for the device.
	measure usbip-host "$(vhci_disk)" $(pgrep -x stub_rx) $(pgrep -x stub_tx)
	usbip detach -p 0
	wait_detached
	usbip unbind -b 1-1
	wait_for 20 gadget_disk || die "the gadget did not come back"
}

run_brokerd() {
	$ctl export 1-1
	usbip --tcp-port 3241 attach -r 127.0.0.1 -b 1-1
	wait_for 30 vhci_disk || die "brokerd import failed"
	wpid=$($ctl status | awk -F'\t' '$1 == "1-1" {print $4}')
	measure brokerd "$(vhci_disk)" "$wpid"
	usbip detach -p 0
	wait_detached
	$ctl unexport 1-1
	wait_for 20 gadget_disk || {
		cat /tmp/broker.log; ls -l /sys/bus/usb/devices/1-1:1.0/; die "the gadget did not come back from the broker"; }
}

run_worker() {
	USBIP_WORKER_TRACE=${BENCH_TRACE:-} $worker --device "$(usb_node 1-1)" --listen tcp:127.0.0.1:3242 2>/tmp/worker.log &
	wpid=$!
	wait_listening 127.0.0.1:3242
	$attach connect tcp:127.0.0.1:3242 1-1
	wait_for 30 vhci_disk || die "worker import failed"
	measure worker "$(vhci_disk)" "$wpid"
	$attach detach --all
	wait_detached
	kill $wpid
	wait $wpid 2>/dev/null || true
	# The worker alone gives nothing back; the broker would.
	echo 1-1:1.0 >/sys/bus/usb/drivers/usb-storage/bind
	wait_for 20 gadget_disk || die "the gadget did not come back"
}

usbipd -D
wait_listening 0.0.0.0:3240 2>/dev/null || wait_listening '\*:3240' 2>/dev/null || sleep 1
start_broker 3241 "allow id 1d6b:0104 from 127.0.0.1"

: >/tmp/bench.txt
for r in $(seq "$rounds"); do
	log "--- round $r"
	run_direct
	run_host
	run_brokerd
	run_worker
done

echo
echo "O_DIRECT reads of a ${mib} MiB dummy_hcd mass-storage gadget, $(uname -r), QEMU TCG, $rounds rounds"
awk -v mib="$mib" -v small="$small" '
	# Rows come in rounds of four: direct, usbip-host, brokerd, worker.
	{ name[NR] = $1; mb[NR] = $2; iops[NR] = $3; cpu[NR] = $4
	  if ($1 == "usbip-host") { hmb = $2; hiops = $3 }
	  if ($1 == "worker" || $1 == "brokerd") ; }
	$1 == "worker" {
		for (i = NR - 3; i <= NR; i++) {
			rmb[name[i]] += mb[i] / hmb; riops[name[i]] += iops[i] / hiops
			smb[name[i]] += mb[i]; siops[name[i]] += iops[i]; scpu[name[i]] += cpu[i]
		}
		rounds++
	}
	END {
		printf "%-11s %10s %9s %10s %9s %8s\n", "path", "1MiB MB/s", "÷ host", "4KiB IOPS", "÷ host", "CPU s/GB"
		gb = (mib * 1048576 + small * 4096) / 1e9
		split("direct usbip-host brokerd worker", order, " ")
		for (k = 1; k <= 4; k++) {
			p = order[k]
			c = scpu[p] > 0 ? sprintf("%.1f", scpu[p] / rounds / gb) : "-"
			printf "%-11s %10.2f %9.2f %10.0f %9.2f %8s\n", p, smb[p] / rounds, rmb[p] / rounds, siops[p] / rounds, riops[p] / rounds, c
		}
		print "(means over the rounds; the ratios are means of each round'"'"'s ratio)"
	}' /tmp/bench.txt
