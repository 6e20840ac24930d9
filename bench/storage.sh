# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: the same mass-storage gadget read (a) directly,
# (b) through the kernel's usbip-host and vhci_hcd, (c) through
# usbip-worker and vhci_hcd, in one guest boot. O_DIRECT sequential reads
# of 1 MiB (MB/s) and 4 KiB (IOPS); the worker's CPU seconds per GB.
# Prints a table of ratios against (b). Run: tests/vm/run.sh bench/storage.sh
. "$USBIP_REPO/tests/vm/lib.sh"

worker=$(build_dir)/daemons/worker/usbip-worker
attach=$(build_dir)/daemons/attach/usbip-attach
mib=${BENCH_MIB:-64}
small=${BENCH_SMALL_IOS:-2048}

make_storage_gadget /tmp/bench.img "$mib"
modprobe usbip-host
modprobe vhci-hcd

# seconds of one dd run
dd_seconds() {
	dd "$@" iflag=direct of=/dev/null 2>&1 | sed -n 's/.* copied, \([0-9.e-]*\) s,.*/\1/p'
}

measure() { # NAME DISK
	local s1 s4
	s1=$(dd_seconds if="$2" bs=1M count="$mib")
	s4=$(dd_seconds if="$2" bs=4k count="$small")
	awk -v n="$1" -v m="$mib" -v s1="$s1" -v c="$small" -v s4="$s4" \
		'BEGIN { printf "%s %.2f %.0f\n", n, m * 1.048576 / s1, c / s4 }' >>/tmp/bench.txt
}

cpu_seconds() { # PID FIELD: user (14) or system (15) seconds
	awk -v t="$(getconf CLK_TCK)" -v f="$2" '{ printf "%.2f", $f / t }' "/proc/$1/stat"
}

: >/tmp/bench.txt
wait_for 20 gadget_disk || die "no local disk"
measure direct "$(gadget_disk)"

usbipd -D
wait_listening 0.0.0.0:3240 2>/dev/null || wait_listening '\*:3240' 2>/dev/null || sleep 1
usbip bind -b 1-1
usbip attach -r 127.0.0.1 -b 1-1
wait_for 30 vhci_disk || die "usbip-host import failed"
measure usbip-host "$(vhci_disk)"
usbip detach -p 0
wait_detached
usbip unbind -b 1-1
wait_for 20 gadget_disk || die "the gadget did not come back"

USBIP_WORKER_TRACE=${BENCH_TRACE:-} $worker --device "$(usb_node 1-1)" --listen tcp:127.0.0.1:3241 2>/tmp/worker.log &
wpid=$!
wait_listening 127.0.0.1:3241
$attach connect tcp:127.0.0.1:3241 1-1
wait_for 30 vhci_disk || die "worker import failed"
user0=$(cpu_seconds $wpid 14)
sys0=$(cpu_seconds $wpid 15)
measure usbip-worker "$(vhci_disk)"
user1=$(cpu_seconds $wpid 14)
sys1=$(cpu_seconds $wpid 15)
$attach detach --all
wait_detached
kill $wpid

echo
echo "O_DIRECT reads of a ${mib} MiB dummy_hcd mass-storage gadget, $(uname -r), QEMU TCG"
awk -v user="$(awk -v a="$user0" -v b="$user1" 'BEGIN { print b - a }')" \
	-v sys="$(awk -v a="$sys0" -v b="$sys1" 'BEGIN { print b - a }')" -v mib="$mib" -v small="$small" '
	{ name[NR] = $1; mb[NR] = $2; iops[NR] = $3; if ($1 == "usbip-host") { bmb = $2; biops = $3 } }
	END {
		printf "%-14s %10s %8s %10s %8s\n", "path", "1MiB MB/s", "ratio", "4KiB IOPS", "ratio"
		for (i = 1; i <= NR; i++)
			printf "%-14s %10.2f %8.2f %10.0f %8.2f\n", name[i], mb[i], mb[i] / bmb, iops[i], iops[i] / biops
		gb = (mib * 1048576 + small * 4096) / 1e9
		printf "usbip-worker CPU: %.2f s user + %.2f s system for %.3f GB = %.1f s/GB\n", user, sys, gb, (user + sys) / gb
	}' /tmp/bench.txt
