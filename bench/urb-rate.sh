# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: URBs per second through the server alone, no
# vhci_hcd: usbip-probe imports a dummy_hcd SourceSink gadget over TCP on
# 127.0.0.1 and sends control GET_DESCRIPTORs, 1 and 32 in flight
# (batched: the probe makes 2 syscalls per URB at depth 1 and a few
# hundredths at depth 32), in one guest boot, to
#   usbip-host   usbipd hands the connection to the kernel's stub
#   brokerd      usbip-brokerd and its sandboxed worker
# BENCH_ROUNDS (5) alternating rounds; prints the medians, ours ÷ stub
# (the median of the rounds' ratios: above 1 we are faster), the server
# CPU per URB and the worker's syscalls per URB (untimed pass, perf).
#   tests/vm/run.sh bench/urb-rate.sh
. "$USBIP_REPO/tests/vm/lib.sh"
. "$USBIP_REPO/bench/bench-lib.sh"

probe=$(build_dir)/tests/usbip-probe
rounds=${BENCH_ROUNDS:-5}
n1=${BENCH_DEPTH1_URBS:-500}
n32=${BENCH_DEPTH32_URBS:-2000}

make_sourcesink_gadget 0
busid=$GADGET_BUSID
modprobe usbip-host
usbipd -D
wait_listening 0.0.0.0:3240 2>/dev/null || wait_listening '\*:3240' 2>/dev/null || sleep 1
start_broker 3241 "allow id 1d6b:0105 from 127.0.0.1"

host_pids() { stub_threads | tr '\n' ' '; }
# The broker's worker for the session (its pid in the broker's status).
worker_pids() { $ctl status | awk -F'\t' -v b="$busid" '$1 == b {print $4}'; }
nonempty() { [ -n "$("$@")" ]; }
no_session() { [ -z "$(worker_pids)" ]; }

# rate ROUND NAME PORT DEPTH COUNT PIDS-COMMAND: one probe run, the
# server's CPU around it (PIDS-COMMAND names the server's processes once
# the session is up: they exist only then).
rate() {
	local round=$1 name=$2 port=$3 depth=$4 count=$5 pids_cmd=$6 pids c0 c1 ppid
	rm -f /tmp/go
	USBIP_PROBE_GO_FILE=/tmp/go "$probe" "tcp:127.0.0.1:$port" "$busid" "rate-$depth-$count" >/tmp/rate.out &
	ppid=$!
	# The probe holds the imported session until /tmp/go exists: the
	# server's processes are there to be found, and idle.
	wait_for 60 nonempty "$pids_cmd" || die "$name: no server process"
	pids=$($pids_cmd)
	c0=$(cpu_seconds $pids)
	touch /tmp/go
	# Its figures printed, the probe keeps the session open until /tmp/go
	# is gone: the server's processes still exist to be read.
	wait_for 600 grep -q "URBs/s" /tmp/rate.out || die "$name: rate-$depth-$count gave no figure"
	c1=$(cpu_seconds $pids)
	rm -f /tmp/go
	wait $ppid || die "$name: rate-$depth-$count"
	sed -n "s/.* = \([0-9]*\) URBs\/s/$round $name $depth \1/p" /tmp/rate.out |
		awk -v a="$c0" -v b="$c1" -v n="$count" '{ printf "%s %.1f\n", $0, (b - a) * 1e6 / n }' | tee -a /tmp/rate.txt
}

with_host() { # ROUND
	usbip bind -b "$busid" >/dev/null
	rate "$1" usbip-host 3240 1 "$n1" host_pids
	wait_for 20 stub_available "$busid" || die "the stub did not come back"
	rate "$1" usbip-host 3240 32 "$n32" host_pids
	wait_for 20 stub_available "$busid" || die "the stub did not come back"
	usbip unbind -b "$busid" >/dev/null
}

with_brokerd() { # ROUND
	$ctl export "$busid" >/dev/null
	rate "$1" brokerd 3241 1 "$n1" worker_pids
	wait_for 20 no_session || die "the session did not end"
	rate "$1" brokerd 3241 32 "$n32" worker_pids
	wait_for 20 no_session || die "the session did not end"
	$ctl unexport "$busid" >/dev/null
}

: >/tmp/rate.txt
for r in $(seq "$rounds"); do
	log "--- round $r"
	if [ $((r % 2)) = 1 ]; then with_host "$r"; with_brokerd "$r"
	else with_brokerd "$r"; with_host "$r"; fi
done

# The untimed pass: the worker's syscalls per URB at each depth, perf on
# the session's worker while the probe (held by /tmp/go) runs its URBs.
$ctl export "$busid" >/dev/null
for depth in 1 32; do
	n=$n1
	[ "$depth" = 1 ] || n=$n32
	rm -f /tmp/go
	USBIP_PROBE_GO_FILE=/tmp/go "$probe" "tcp:127.0.0.1:3241" "$busid" "rate-$depth-$n" >/tmp/rate.out &
	ppid=$!
	wait_for 60 nonempty worker_pids || die "counting: no worker"
	count_syscalls_start "$(worker_pids)"
	touch /tmp/go
	wait_for 600 grep -q "URBs/s" /tmp/rate.out || die "counting: rate-$depth-$n gave no figure"
	echo "count $depth $(count_syscalls_stop) $n" | tee -a /tmp/rate.txt
	rm -f /tmp/go
	wait $ppid || die "counting: rate-$depth-$n"
	wait_for 20 no_session || die "the session did not end"
done
$ctl unexport "$busid" >/dev/null

echo
echo "GET_DESCRIPTOR URBs per second through the server alone (usbip-probe over TCP on 127.0.0.1), dummy_hcd SourceSink gadget, $(uname -r), QEMU TCG"
echo "$rounds alternating rounds; $n1 URBs at depth 1, $n32 at depth 32; medians over the rounds"
awk '
	$1 == "count" { sys[$2] = $3; cnt[$2] = $4; next }
	{ v[$1, $2, $3] = $4; list[$2, $3] = list[$2, $3] " " $4; cpu[$2, $3] = cpu[$2, $3] " " $5; rnd[$1] = 1 }
	function med(l,   n, a, i, j, t) {
		n = split(l, a, " ")
		if (n == 0) return "-"
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		printf "%-6s %12s %12s %12s %16s %16s\n", "depth", "usbip-host", "brokerd", "ours ÷ host", "host CPU us/URB", "ours CPU us/URB"
		split("1 32", depths, " ")
		for (k = 1; k <= 2; k++) {
			d = depths[k]; ratios = ""
			for (r in rnd) if ((r, "usbip-host", d) in v && (r, "brokerd", d) in v)
				ratios = ratios " " v[r, "brokerd", d] / v[r, "usbip-host", d]
			printf "%-6s %12.0f %12.0f %12.2f %16.1f %16.1f\n", d, med(list["usbip-host", d]), med(list["brokerd", d]), med(ratios), med(cpu["usbip-host", d]), med(cpu["brokerd", d])
		}
		for (d in sys) if (sys[d] != "-")
			printf "worker syscalls per URB at depth %s: %.2f (perf on the worker during the URBs, %d over %d URBs); usbip-host: none\n", d, sys[d] / cnt[d], sys[d], cnt[d]
	}' /tmp/rate.txt
