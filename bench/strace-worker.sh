# SPDX-License-Identifier: GPL-2.0-or-later
# Profiling aid, not a test: what usbip-worker costs per URB serving the
# storage gadget over vhci_hcd on loopback.
#  - syscalls per URB at depth 1 (usb-storage keeps one command in
#    flight): 4 KiB O_DIRECT reads and writes under strace -c, the calls
#    divided by the URBs the worker logs (start-up and teardown included:
#    a few dozen calls in all);
#  - CPU per GB: 16 MiB read and 16 MiB written in 1 MiB O_DIRECT blocks,
#    no strace, the worker's user+system time from bash's `time`.
# Each worker in turn: $USBIP_REPO/build-base/usbip-worker first when it
# exists (a copy of an older build, for before/after in one boot), then
# the build's own.
#   tests/vm/run.sh bench/strace-worker.sh
. "$USBIP_REPO/tests/vm/lib.sh"

attach=$(build_dir)/daemons/attach/usbip-attach
make_storage_gadget /tmp/s.img 32
modprobe vhci-hcd

# session LABEL WORKER TRACE WORKLOAD: one import, WORKLOAD run on the disk.
session() {
	local label=$1 worker=$2 trace=$3 workload=$4 wrap=()
	[ "$trace" = 1 ] && wrap=(strace -c -o /tmp/strace.txt)
	(
		TIMEFORMAT='%U %S'
		time "${wrap[@]}" "$worker" --no-sandbox --device "$(usb_node 1-1)" \
			--listen tcp:127.0.0.1:3241 --once 2>/tmp/worker.log
	) 2>/tmp/time.txt &
	local pid=$!
	wait_listening 127.0.0.1:3241
	$attach connect tcp:127.0.0.1:3241 1-1
	wait_for 30 vhci_disk || die "no disk"
	local disk
	disk=$(vhci_disk)
	$workload "$disk"
	$attach detach --all
	wait_detached
	wait $pid
	local urbs
	urbs=$(sed -n 's/.*session ended.*: \([0-9]*\) URBs.*/\1/p' /tmp/worker.log)
	grep 'session ended' /tmp/worker.log
	if [ "$trace" = 1 ]; then
		local calls
		# Column 4 is calls on every syscall's line (the total line may
		# leave usecs/call blank).
		calls=$(awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { n += $4 } END { print n }' /tmp/strace.txt)
		awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { printf " %s:%s", $NF, $4 } END { print "" }' /tmp/strace.txt
		echo "RESULT $label syscalls/URB: $calls calls / $urbs URBs = $(awk "BEGIN { printf \"%.2f\", $calls / $urbs }")"
	else
		read -r user sys </tmp/time.txt
		echo "RESULT $label CPU per GB (32 MiB moved): user $user s sys $sys s = $(awk "BEGIN { printf \"%.2f\", ($user + $sys) * 1024 / 32 }") s/GB"
	fi
}

small_io() {
	dd if="$1" of=/dev/null bs=4k count=250 iflag=direct status=none
	dd if=/dev/zero of="$1" bs=4k count=250 oflag=direct status=none
}
bulk_io() {
	dd if="$1" of=/dev/null bs=1M count=16 iflag=direct 2>&1 | tail -1
	dd if=/dev/zero of="$1" bs=1M count=16 oflag=direct 2>&1 | tail -1
}

workers=()
[ -x "$USBIP_REPO/build-base/usbip-worker" ] && workers+=("base:$USBIP_REPO/build-base/usbip-worker")
workers+=("this:$(build_dir)/daemons/worker/usbip-worker")
for w in "${workers[@]}"; do
	session "${w%%:*}" "${w#*:}" 1 small_io
	cat /tmp/strace.txt
	session "${w%%:*}" "${w#*:}" 0 bulk_io
	grep 'usbfs share' /tmp/worker.log || true
done
