# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: per-URB latency, one synchronous small transfer
# in flight, through vhci_hcd on a configfs SourceSink gadget (dummy_hcd,
# high speed), in one guest boot, for
#   usbip-host   the kernel's stub, served by usbipd
#   brokerd      usbip-brokerd and its sandboxed worker
# both imported with the same upstream `usbip attach` over 127.0.0.1, so
# the client side is the same and the difference is the server's.
# tests/usb-latency times 512-byte bulk OUT, 512-byte bulk IN,
# GET_DESCRIPTOR(DEVICE) and GET_STATUS(DEVICE) through usbfs.
# BENCH_ROUNDS (5) alternating rounds of BENCH_COUNT (150) of each kind;
# prints each round, the medians, stub ÷ ours (the median of the rounds'
# ratios: above 1 we are faster), the server's CPU per URB, the worker's
# syscalls per URB (an untimed pass under perf) and the floor.
# With $USBIP_REPO/build-base/usbip-worker present (an older build's
# worker, copied there), the broker serves with it too, as "brokerd-base",
# a third server in each round: before and after in one boot.
# BENCH_BUSY_POLL ("", e.g. "50 200 1000"): for each budget the broker is
# restarted with --busy-poll USEC and serves as "brokerd-bpUSEC", one more
# server in each round (the worker's bounded busy-poll; its CPU per URB is
# the cost). bench/latency-busy-poll.sh sets it.
#   tests/vm/run.sh bench/latency.sh
. "$USBIP_REPO/tests/vm/lib.sh"
. "$USBIP_REPO/bench/bench-lib.sh"

bin=$(build_dir)
lat=$bin/tests/usb-latency
count=${BENCH_COUNT:-150}
rounds=${BENCH_ROUNDS:-5}

# The broker execs whatever this link points to for each session.
ln -sfn "$bin/daemons/worker/usbip-worker" /tmp/usbip-worker-now
base=$USBIP_REPO/build-base/usbip-worker
broker_policy="allow id 1d6b:0105 from 127.0.0.1"
sourcesink_both_servers --worker /tmp/usbip-worker-now

# run_latency ROUND NAME PID...: one usb-latency run on the import, the
# server PIDs' CPU around it; appends "ROUND NAME KIND MEDIAN MEAN P90"
# rows and "ROUND NAME cpu-us-per-urb X" to /tmp/lat.txt.
run_latency() {
	local round=$1 name=$2 node c0 c1
	shift 2
	node=$(imported_node)
	c0=$(cpu_seconds "$@")
	"$lat" "$node" "$count" >/tmp/lat.out || die "usb-latency through $name"
	c1=$(cpu_seconds "$@")
	awk -v r="$round" -v n="$name" '{ print r, n, $0 }' /tmp/lat.out | tee -a /tmp/lat.txt
	awk -v r="$round" -v n="$name" -v a="$c0" -v b="$c1" -v u="$((4 * count))" \
		'BEGIN { printf "%s %s cpu-us-per-urb %.1f\n", r, n, (b - a) * 1e6 / u }' | tee -a /tmp/lat.txt
}

with_host() { # ROUND
	usbip bind -b "$busid" >/dev/null
	usbip attach -r 127.0.0.1 -b "$busid"
	run_latency "$1" usbip-host $(stub_threads)
	usbip detach -p 0 >/dev/null
	wait_for 30 vhci_all_free || die "usbip-host's import did not go away"
	usbip unbind -b "$busid" >/dev/null
}

with_brokerd() { # ROUND [NAME WORKER]
	local name=${2:-brokerd}
	ln -sfn "${3:-$bin/daemons/worker/usbip-worker}" /tmp/usbip-worker-now
	$ctl export "$busid" >/dev/null
	usbip --tcp-port 3241 attach -r 127.0.0.1 -b "$busid"
	wait_for 30 vhci_busid || die "brokerd import failed"
	wpid=$($ctl status | awk -F'\t' -v b="$busid" '$1 == b {print $4}')
	if [ "$1" = count ]; then
		# The untimed pass: the worker's syscalls per URB.
		count_syscalls_start "$wpid"
		"$lat" "$(imported_node)" "$count" >/dev/null || die "usb-latency (counting)"
		echo "count $name syscalls $(count_syscalls_stop) urbs $((4 * count + 2))" | tee -a /tmp/lat.txt
	else
		run_latency "$1" "$name" "$wpid"
	fi
	usbip detach -p 0 >/dev/null
	wait_for 30 vhci_all_free || die "brokerd's import did not go away"
	$ctl unexport "$busid" >/dev/null
}

: >/tmp/lat.txt
with_base() { with_brokerd "$1" brokerd-base "$base"; }
servers="with_host with_brokerd"
[ -x "$base" ] && servers="$servers with_base"
# with_busy_poll USEC ROUND: the broker restarted with --busy-poll USEC
# for one measurement, then as it was.
with_busy_poll() {
	stop_broker
	start_broker 3241 "$broker_policy" --worker /tmp/usbip-worker-now --busy-poll "$1"
	with_brokerd "$2" "brokerd-bp$1"
	stop_broker
	start_broker 3241 "$broker_policy" --worker /tmp/usbip-worker-now
}
for us in ${BENCH_BUSY_POLL:-}; do
	case $us in *[!0-9]*) die "BENCH_BUSY_POLL: microseconds, not '$us'" ;; esac
	eval "with_bp$us() { with_busy_poll $us \"\$1\"; }"
	servers="$servers with_bp$us"
done
for r in $(seq "$rounds"); do
	log "--- round $r"
	# Rotate which goes first, so that drift hits all alike.
	set -- $servers
	for i in $(seq $(((r - 1) % $#))); do set -- "${@:2}" "$1"; done
	for f in "$@"; do "$f" "$r"; done
done
with_brokerd count
[ -x "$base" ] && with_brokerd count brokerd-base "$base"

echo
echo "Per-URB latency, one in flight, through vhci_hcd on a dummy_hcd SourceSink gadget (high speed), $(uname -r), QEMU TCG"
echo "$rounds alternating rounds of $count transfers of each kind; microseconds, medians over the rounds"
awk '
	$1 == "count" { sys[$2] = $4; urbs[$2] = $6; next }
	$3 == "syscall-ns" { ns = ns " " $4; next }
	$3 == "clock-ns" { cns = cns " " $4; next }
	$3 == "coarse-clock-ns" { coarse = coarse " " $4; next }
	$3 == "cpu-us-per-urb" { cpu[$2] = cpu[$2] " " $4; next }
	{ lat[$2, $3] = lat[$2, $3] " " $4; val[$1, $2, $3] = $4
	  if (!($2 in seen)) { seen[$2] = 1; if ($2 != "usbip-host") names[++nn] = $2 }
	  rounds[$1] = 1 }
	function med(list,   n, v, i, j, t) {
		n = split(list, v, " ")
		if (n == 0) return 0
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	# The median over the rounds of a ÷ b for one kind, within each round.
	function ratio(a, b, q,   r, l) {
		l = ""
		for (r in rounds)
			if (((r, a, q) in val) && ((r, b, q) in val) && val[r, b, q] > 0)
				l = l " " val[r, a, q] / val[r, b, q]
		return med(l)
	}
	END {
		printf "%-11s %12s", "kind", "usbip-host"
		for (i = 1; i <= nn; i++) printf " %12s %8s", names[i], "host ÷"
		printf "\n"
		split("bulk-out bulk-in get-desc get-status", order, " ")
		for (k = 1; k <= 4; k++) {
			q = order[k]
			hm = med(lat["usbip-host", q]); hsum += hm
			printf "%-11s %12.1f", q, hm
			for (i = 1; i <= nn; i++)
				printf " %12.1f %8.2f", med(lat[names[i], q]), ratio("usbip-host", names[i], q)
			printf "\n"
		}
		for (i = 1; i <= nn; i++) if (names[i] != "brokerd" && ("brokerd" in seen)) {
			printf "%s ÷ brokerd (latency; above 1: brokerd faster):", names[i]
			for (k = 1; k <= 4; k++) printf " %s %.2f", order[k], ratio(names[i], "brokerd", order[k])
			printf "\n"
		}
		printf "server CPU per URB (us): usbip-host %.1f (stub_rx + stub_tx)", med(cpu["usbip-host"])
		for (i = 1; i <= nn; i++) printf ", %s %.1f", names[i], med(cpu[names[i]])
		printf "\n"
		for (n in sys)
			if (sys[n] != "-" && urbs[n] > 0)
				printf "%s worker syscalls per URB (perf, untimed pass): %.2f (%d over %d URBs); usbip-host: none (kernel threads)\n", n, sys[n] / urbs[n], sys[n], urbs[n]
			else
				printf "%s worker syscalls per URB: perf could not count here\n", n
		c = med(ns)
		floor = 4 * c / 1000
		printf "one clock_gettime: CLOCK_MONOTONIC %.0f ns, CLOCK_MONOTONIC_COARSE %.0f ns (clocksource %s)\n", med(cns), med(coarse), cs
		printf "floor: a userspace server cannot avoid 4 syscalls per URB (read the request, SUBMITURB, REAPURB, write the reply); one costs %.0f ns here, so %.1f us per URB;\n", c, floor
		printf "       against usbip-host'"'"'s mean of %.1f us over the four kinds the best ratio a userspace server can reach is %.3f\n", hsum / 4, (hsum / 4) / (hsum / 4 + floor)
	}
' cs="$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" /tmp/lat.txt
