# SPDX-License-Identifier: GPL-2.0-or-later
# Profiling aid, not a test: where one synchronous small URB's time goes,
# usbip-host beside usbip-brokerd's worker in one guest boot. The same
# workload as bench/latency.sh (tests/usb-latency through vhci_hcd on the
# SourceSink gadget: 512-byte bulk OUT and IN, GET_DESCRIPTOR,
# GET_STATUS), BENCH_COUNT (150) of each kind, for each server:
#  - perf stat -a: CPU, context switches, wakeups, softirqs, hrtimer
#    expiries and syscalls over the whole guest, per URB;
#  - the server's user and system CPU per URB (/proc/PID/stat);
#  - perf record -a (cpu-clock; TCG has no PMU): the share of each
#    command and the top symbols, kernel and user;
#  - with BENCH_PERF_SCHED=1, perf's sched events: who wakes whom, per
#    URB;
#  - the client's CPU against the server's: usb-latency pinned to CPU 0,
#    the server's threads pinned to CPU 0 (with the client) and to CPU 1
#    (away from it), BENCH_PIN_ROUNDS (3) alternating rounds. A user
#    process that shares a vCPU with the client costs a CR3 load each
#    way (tlb:tlb_flush), which QEMU TCG pays with a full softmmu TLB
#    flush; kernel threads borrow the mm and cost none.
#   tests/vm/run.sh bench/profile-latency.sh
. "$USBIP_REPO/tests/vm/lib.sh"
. "$USBIP_REPO/bench/bench-lib.sh"

bin=$(build_dir)
lat=$bin/tests/usb-latency
count=${BENCH_COUNT:-150}
urbs=$((4 * count))

echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "kernel: $(uname -r), HZ $(awk '/^CONFIG_HZ=/' /boot/config-$(uname -r) 2>/dev/null)"
sourcesink_both_servers

# user_sys PID...: "user system" seconds so far.
user_sys() {
	local p
	for p in "$@"; do cat "/proc/$p/stat"; done |
		awk -v t="$(getconf CLK_TCK)" '{ u += $14; s += $15 } END { printf "%.2f %.2f", u / t, s / t }'
}

events=tlb:tlb_flush,task-clock,context-switches,cpu-migrations,sched:sched_switch,sched:sched_wakeup,irq:softirq_entry,timer:hrtimer_expire_entry,raw_syscalls:sys_enter,irq:irq_handler_entry

# profile NAME PID...: the workload on the current import, under each tool.
profile() {
	local name=$1 node
	shift
	node=$(imported_node)
	"$lat" "$node" 20 >/dev/null || die "warm-up through $name"
	echo "=== $name: timed alone"
	local a b
	a=$(user_sys "$@")
	"$lat" "$node" "$count" || die "usb-latency through $name"
	b=$(user_sys "$@")
	echo "$a $b" | awk -v u="$urbs" -v n="$name" '{ printf "%s server CPU per URB: user %.1f us, system %.1f us\n", n, ($3 - $1) * 1e6 / u, ($4 - $2) * 1e6 / u }'
	echo "=== $name: perf stat -a (per URB: divide by $urbs)"
	perf stat -a -x, -e "$events" -o /tmp/stat.txt -- "$lat" "$node" "$count" >/dev/null 2>&1 || true
	awk -F, -v u="$urbs" -v n="$name" 'NF > 2 && $1 ~ /^[0-9.]+$/ { printf "%s %-28s %12s  per URB %.2f\n", n, $3, $1, $1 / u }' /tmp/stat.txt
	echo "=== $name: perf record -a"
	perf record -a -g -e cpu-clock -F 2000 -o /tmp/perf.data -- "$lat" "$node" "$count" >/dev/null 2>/tmp/perf-rec.err || { cat /tmp/perf-rec.err; true; }
	echo "--- by command"
	perf report -i /tmp/perf.data --no-children --sort comm --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12
	echo "--- top symbols (command, dso, symbol)"
	perf report -i /tmp/perf.data --no-children --sort comm,dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -45
	echo "--- the server's own symbols"
	perf report -i /tmp/perf.data --no-children --comms usbip-worker,stub_rx,stub_tx --sort comm,dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
	# Off by default: in one boot on a loaded host this perf record
	# hung a vCPU in perf's teardown (soft lockup) for minutes.
	[ "${BENCH_PERF_SCHED:-0}" = 1 ] || return 0
	echo "=== $name: sched wakeups and switches, per URB"
	perf record -a -e sched:sched_wakeup,sched:sched_switch -o /tmp/sched.data -- "$lat" "$node" "$count" >/dev/null 2>&1 || true
	perf script -i /tmp/sched.data -F comm,event,trace 2>/dev/null | awk -v u="$urbs" '
		/sched_wakeup/ { for (i = 1; i <= NF; i++) if ($i ~ /^comm=/) { t = substr($i, 6) } ; w[$1 " wakes " t]++ }
		/sched_switch/ { for (i = 1; i <= NF; i++) { if ($i ~ /^prev_comm=/) p = substr($i, 11); if ($i ~ /^next_comm=/) q = substr($i, 11) } ; s[p " -> " q]++ }
		END { for (k in w) if (w[k] >= u / 10) printf "wakeup  %-48s %.2f per URB\n", k, w[k] / u
		      for (k in s) if (s[k] >= u / 10) printf "switch  %-48s %.2f per URB\n", k, s[k] / u }' | sort -k1,1 -k5,5gr
}

# pinned NAME CPU PID...: the server's threads on CPU, the client on
# CPU 0; prints "NAME cpuN KIND MEDIAN" rows.
pinned() {
	local name=$1 cpu=$2 p
	shift 2
	for p in "$@"; do taskset -a -p -c "$cpu" "$p" >/dev/null; done
	taskset -c 0 "$lat" "$(imported_node)" "$count" |
		awk -v n="$name" -v c="$cpu" 'NF == 4 { print n, "cpu" c, $1, $2 }'
}
pin_rounds() { # NAME PID...
	local name=$1 r
	shift
	for r in $(seq "${BENCH_PIN_ROUNDS:-3}"); do
		if [ $((r % 2)) = 1 ]; then pinned "$name" 0 "$@"; pinned "$name" 1 "$@"
		else pinned "$name" 1 "$@"; pinned "$name" 0 "$@"; fi
	done | tee -a /tmp/pin.txt
	for p in "$@"; do taskset -a -p -c 0,1 "$p" >/dev/null; done
}
: >/tmp/pin.txt

wpid=
with_host() {
	usbip bind -b "$busid" >/dev/null
	usbip attach -r 127.0.0.1 -b "$busid"
	profile usbip-host $(stub_threads)
	echo "=== usbip-host: pinned"
	pin_rounds usbip-host $(stub_threads)
	usbip detach -p 0 >/dev/null
	wait_for 30 vhci_all_free || die "usbip-host's import did not go away"
	usbip unbind -b "$busid" >/dev/null
}

with_brokerd() {
	$ctl export "$busid" >/dev/null
	usbip --tcp-port 3241 attach -r 127.0.0.1 -b "$busid"
	wait_for 30 vhci_busid || die "brokerd import failed"
	wpid=$($ctl status | awk -F'\t' -v b="$busid" '$1 == b {print $4}')
	profile brokerd "$wpid"
	echo "=== brokerd: pinned"
	pin_rounds brokerd "$wpid"
	usbip detach -p 0 >/dev/null
	wait_for 30 vhci_all_free || die "brokerd's import did not go away"
	$ctl unexport "$busid" >/dev/null
}

with_host
with_brokerd
echo
echo "Client on CPU 0; the server's threads with it (cpu0) or away (cpu1); medians over the rounds, us"
awk '{ v[$1 " " $2, $3] = v[$1 " " $2, $3] " " $4; k[$3] = 1; c[$1 " " $2] = 1 }
	function med(l,   n, a, i, j, t) { n = split(l, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }; return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	END { split("usbip-host cpu0,usbip-host cpu1,brokerd cpu0,brokerd cpu1", cs, ",")
	      printf "%-11s", "kind"; for (i = 1; i <= 4; i++) printf " %16s", cs[i]; printf "\n"
	      split("bulk-out bulk-in get-desc get-status", ks, " ")
	      for (j = 1; j <= 4; j++) { printf "%-11s", ks[j]; for (i = 1; i <= 4; i++) printf " %16.1f", med(v[cs[i], ks[j]]); printf "\n" } }' /tmp/pin.txt
