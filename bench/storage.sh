# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: the same mass-storage gadget read, in one guest
# boot,
#   (a) direct       usb-storage on the gadget itself
#   (b) usbip-host   the kernel's server, upstream `usbip attach`
#   (c) brokerd      usbip-brokerd and its sandboxed worker, the same
#                    upstream `usbip attach`
#   (c') brokerd-ra  the same with --bot-readahead (the worker's
#                    mass-storage read-ahead, off by default); over the
#                    delayed link, or with BENCH_RA=1
#   (d) worker       usbip-worker alone (--device), usbip-attach; only
#                    with BENCH_WORKER=1
#   (c'') brokerd-bp the broker with --busy-poll BENCH_BUSY_POLL (µs; the
#                    worker's bounded busy-poll); only with it set
#                    (bench/storage-busy-poll.sh)
#   (c''') brokerd-bp-ra both options at once; with BENCH_BUSY_POLL set
#                    and BENCH_BUSY_POLL_RA=1 (bench/storage-netem-busy-poll.sh)
# with O_DIRECT sequential reads of 1 MiB (MB/s) and 4 KiB (IOPS) over
# loopback. bench/storage-netem.sh runs the same over loopback with 1 ms
# of added round-trip delay (BENCH_LINK=netem-1ms: netem, 0.5 ms each
# way; (b) and (c) only). BENCH_ROUNDS (5) rounds, the servers' order
# alternating from round to round so that drift hits all alike. Prints
# every round, then per path the medians over the rounds, the median of
# the rounds' ratios against (b) (above 1 we are faster) and the server
# side's CPU seconds per GB moved (usbip-host's stub_rx and stub_tx kernel
# threads; the worker process). On loopback an untimed pass then counts
# the broker's worker's syscalls per URB with perf (usbip-host's kernel
# threads make none); bench/storage-syscalls.sh runs that pass alone.
#   tests/vm/run.sh bench/storage.sh bench/storage-netem.sh
# Sizes: BENCH_MIB (8) MiB and BENCH_SMALL_IOS (256) 4 KiB reads on
# loopback, BENCH_NET_MIB (4) and BENCH_NET_SMALL_IOS (128) over the
# delayed link: modest, so that each script stays within a few minutes
# under TCG on a loaded machine (the guest's scenario limit is 600 s; on
# 2026-12-01 the guest read usbip-host's import at 1.1 MB/s and 18 IOPS).
. "$USBIP_REPO/tests/vm/lib.sh"
. "$USBIP_REPO/bench/bench-lib.sh"

bin=$(build_dir)
worker=$bin/daemons/worker/usbip-worker
attach=$bin/daemons/attach/usbip-attach
rounds=${BENCH_ROUNDS:-5}
lo_mib=${BENCH_MIB:-8}
lo_small=${BENCH_SMALL_IOS:-256}
net_mib=${BENCH_NET_MIB:-4}
net_small=${BENCH_NET_SMALL_IOS:-128}
link=${BENCH_LINK:-loopback}
with_worker=${BENCH_WORKER:-0}
with_ra=${BENCH_RA:-$([ "$link" = netem-1ms ] && echo 1 || echo 0)}
busy_poll=${BENCH_BUSY_POLL:-}
busy_poll_ra=${BENCH_BUSY_POLL_RA:-0}
case $busy_poll in *[!0-9]*) die "BENCH_BUSY_POLL: microseconds, not '$busy_poll'" ;; esac

make_storage_gadget /tmp/bench.img "$lo_mib"
modprobe usbip-host
modprobe vhci-hcd

# seconds of one dd run
dd_seconds() {
	dd "$@" iflag=direct of=/dev/null 2>&1 | sed -n 's/.* copied, \([0-9.e-]*\) s,.*/\1/p'
}

# measure NAME DISK [PID...]: one row "ROUND LINK NAME MB/s IOPS CPU/GB"
# (the server side's CPU seconds per GB over both reads: the PIDs', "-"
# without any).
measure() {
	local name=$1 disk=$2 s1 s4 c0=0 c1=0
	shift 2
	[ $# -gt 0 ] && c0=$(cpu_seconds "$@")
	s1=$(dd_seconds if="$disk" bs=1M count="$mib")
	s4=$(dd_seconds if="$disk" bs=4k count="$small")
	[ $# -gt 0 ] && c1=$(cpu_seconds "$@")
	awk -v r="$round" -v l="$link" -v n="$name" -v m="$mib" -v s1="$s1" -v c="$small" -v s4="$s4" \
		-v a="$c0" -v b="$c1" -v pids=$# \
		'BEGIN { gb = (m * 1048576 + c * 4096) / 1e9
			printf "%s %s %s %.2f %.0f %s\n", r, l, n, m * 1.048576 / s1, c / s4,
				pids ? sprintf("%.1f", (b - a) / gb) : "-" }' | tee -a /tmp/bench.txt
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
	measure usbip-host "$(vhci_disk)" $(stub_threads)
	usbip detach -p 0
	wait_detached
	usbip unbind -b 1-1
	wait_for 20 gadget_disk || die "the gadget did not come back"
}

run_brokerd() { # [NAME]
	$ctl export 1-1
	usbip --tcp-port 3241 attach -r 127.0.0.1 -b 1-1
	wait_for 30 vhci_disk || die "brokerd import failed"
	wpid=$($ctl status | awk -F'\t' '$1 == "1-1" {print $4}')
	measure "${1:-brokerd}" "$(vhci_disk)" "$wpid"
	usbip detach -p 0
	wait_detached
	$ctl unexport 1-1
	wait_for 20 gadget_disk || {
		cat /tmp/broker.log; ls -l /sys/bus/usb/devices/1-1:1.0/; die "the gadget did not come back from the broker"; }
}

# (c') brokerd-ra: the broker restarted with --bot-readahead for one
# measurement (issue 14 item 10: the worker's read-ahead against none);
# BENCH_RA=1, and over the delayed link by default.
run_brokerd_ra() {
	stop_broker
	start_broker 3241 "allow id 1d6b:0104 from 127.0.0.1" --bot-readahead
	run_brokerd brokerd-ra
	stop_broker
	start_broker 3241 "allow id 1d6b:0104 from 127.0.0.1"
}

# (c'') brokerd-bp: the broker restarted with --busy-poll for one
# measurement; BENCH_BUSY_POLL set. A no-op without.
run_brokerd_bp() {
	[ -n "$busy_poll" ] || return 0
	stop_broker
	start_broker 3241 "allow id 1d6b:0104 from 127.0.0.1" --busy-poll "$busy_poll"
	run_brokerd brokerd-bp
	stop_broker
	start_broker 3241 "allow id 1d6b:0104 from 127.0.0.1"
}

# (c''') brokerd-bp-ra: --busy-poll and --bot-readahead together;
# BENCH_BUSY_POLL set and BENCH_BUSY_POLL_RA=1. A no-op without.
run_brokerd_bp_ra() {
	[ -n "$busy_poll" ] && [ "$busy_poll_ra" = 1 ] || return 0
	stop_broker
	start_broker 3241 "allow id 1d6b:0104 from 127.0.0.1" --busy-poll "$busy_poll" --bot-readahead
	run_brokerd brokerd-bp-ra
	stop_broker
	start_broker 3241 "allow id 1d6b:0104 from 127.0.0.1"
}

run_worker() {
	USBIP_WORKER_TRACE=${BENCH_TRACE:-} $worker --device "$(usb_node 1-1)" --listen tcp:127.0.0.1:3242 --once 2>/tmp/worker.log &
	wpid=$!
	wait_listening 127.0.0.1:3242
	$attach connect tcp:127.0.0.1:3242 1-1
	wait_for 30 vhci_disk || die "worker import failed"
	measure worker "$(vhci_disk)" "$wpid"
	$attach detach --all
	wait_detached
	wait $wpid 2>/dev/null || true
	# The worker alone gives nothing back; the broker would.
	echo 1-1:1.0 >/sys/bus/usb/drivers/usb-storage/bind
	wait_for 20 gadget_disk || die "the gadget did not come back"
}

# The URBs the broker's session has served (its worker reports them at
# most once a second).
session_urbs() { $ctl status | awk -F'\t' '$1 == "1-1" {print $6}'; }

# count_brokerd BS N: the untimed pass, N reads of BS through brokerd
# with perf counting the worker's syscalls, the URBs from the broker's
# status before and after: one row "count BS SYSCALLS URBS".
count_brokerd() {
	local u0 u1 sys
	$ctl export 1-1
	usbip --tcp-port 3241 attach -r 127.0.0.1 -b 1-1
	wait_for 30 vhci_disk || die "brokerd import failed"
	sleep 3 # enumeration's URBs reported
	count_syscalls_start "$($ctl status | awk -F'\t' '$1 == "1-1" {print $4}')"
	u0=$(session_urbs)
	dd if="$(vhci_disk)" of=/dev/null iflag=direct bs="$1" count="$2" status=none
	sleep 3
	u1=$(session_urbs)
	sys=$(count_syscalls_stop)
	echo "count $1 $sys $((u1 - u0))" | tee -a /tmp/bench.txt
	usbip detach -p 0
	wait_detached
	$ctl unexport 1-1
	wait_for 20 gadget_disk || die "the gadget did not come back from the broker"
}

usbipd -D
wait_listening 0.0.0.0:3240 2>/dev/null || wait_listening '\*:3240' 2>/dev/null || sleep 1
start_broker 3241 "allow id 1d6b:0104 from 127.0.0.1"

: >/tmp/bench.txt
if [ "$link" = loopback ]; then
	mib=$lo_mib small=$lo_small
	for round in $(seq "$rounds"); do
		log "--- round $round, loopback"
		run_direct
		if [ $((round % 2)) = 1 ]; then
			run_host; run_brokerd; [ "$with_ra" = 0 ] || run_brokerd_ra
			run_brokerd_bp; run_brokerd_bp_ra; [ "$with_worker" = 0 ] || run_worker
		else
			[ "$with_worker" = 0 ] || run_worker; run_brokerd_bp_ra; run_brokerd_bp
			[ "$with_ra" = 0 ] || run_brokerd_ra; run_brokerd; run_host
		fi
	done
fi
if [ "$link" = loopback ] || [ "$link" = count ]; then
	log "--- syscalls per URB (untimed)"
	count_brokerd 4k "$((lo_small / 2))"
	count_brokerd 1M "$((lo_mib / 2))"
fi
if [ "$link" = netem-1ms ]; then
	modprobe sch_netem || die "no sch_netem in this kernel"
	tc qdisc add dev lo root netem delay 500us limit 10000 || die "tc netem on lo"
	# A TCP connect takes one round trip: the delay as the servers meet it.
	t0=$EPOCHREALTIME
	exec {probe_fd}<>/dev/tcp/127.0.0.1/3240 || die "connecting over the delayed link"
	t1=$EPOCHREALTIME
	exec {probe_fd}>&-
	log "loopback with netem ($(tc qdisc show dev lo | head -1)): a TCP connect took $(elapsed_ms "$t0" "$t1") ms"
	mib=$net_mib small=$net_small
	for round in $(seq "$rounds"); do
		log "--- round $round, 1 ms round trip"
		if [ $((round % 2)) = 1 ]; then
			run_host; run_brokerd; [ "$with_ra" = 0 ] || run_brokerd_ra
			run_brokerd_bp; run_brokerd_bp_ra
		else
			run_brokerd_bp_ra; run_brokerd_bp
			[ "$with_ra" = 0 ] || run_brokerd_ra; run_brokerd; run_host
		fi
	done
	tc qdisc del dev lo root
fi

echo
echo "O_DIRECT reads of a ${lo_mib} MiB dummy_hcd mass-storage gadget over $link, $(uname -r), QEMU TCG, $rounds alternating rounds"
echo "${mib} x 1 MiB and ${small} x 4 KiB per path and round${busy_poll:+; brokerd-bp: --busy-poll $busy_poll}"
awk '
	$1 == "count" { sys[$2] = $3; urbs[$2] = $4; next }
	{ key = $2 SUBSEP $3; seen[key] = 1; any = 1
	  mb[key] = mb[key] " " $4; iops[key] = iops[key] " " $5
	  if ($6 != "-") cpu[key] = cpu[key] " " $6
	  v_mb[$1, $2, $3] = $4; v_io[$1, $2, $3] = $5; rnd[$1] = 1 }
	function med(list,   n, v, i, j, t) {
		n = split(list, v, " ")
		if (n == 0) return "-"
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	END {
		if (any) printf "%-10s %-13s %10s %7s %10s %7s %9s\n", "link", "path", "1MiB MB/s", "÷ host", "4KiB IOPS", "÷ host", "CPU s/GB"
		split("loopback netem-1ms", links, " ")
		split("direct usbip-host brokerd brokerd-ra brokerd-bp brokerd-bp-ra worker", paths, " ")
		for (l = 1; l <= 2; l++) for (p = 1; p <= 7; p++) {
			key = links[l] SUBSEP paths[p]
			if (!(key in seen)) continue
			rm = ""; ri = ""
			for (r in rnd) if ((r, links[l], "usbip-host") in v_mb && (r, links[l], paths[p]) in v_mb) {
				rm = rm " " v_mb[r, links[l], paths[p]] / v_mb[r, links[l], "usbip-host"]
				ri = ri " " v_io[r, links[l], paths[p]] / v_io[r, links[l], "usbip-host"]
			}
			if (any) printf "%-10s %-13s %10.2f %7.2f %10.0f %7.2f %9s\n", links[l], paths[p], med(mb[key]), med(rm), med(iops[key]), med(ri), med(cpu[key])
		}
		if (any) print "(medians over the rounds; each ratio is the median of the rounds'"'"' ratios to usbip-host in the same round)"
		for (k in sys) if (sys[k] != "-" && urbs[k] > 0)
			printf "the broker worker, syscalls per URB, %s reads: %.2f (%d over %d URBs; perf, and the URB count in the broker status); usbip-host: none (kernel threads)\n", k, sys[k] / urbs[k], sys[k], urbs[k]
	}' /tmp/bench.txt
