# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: the worker's Bulk-Only Transport read-ahead
# (issue 14 item 10) on its own. usbip-bot-client issues READs of 4 KiB
# one after the other, as usb-storage does (CBW, data, CSW, each waiting
# for the last), against two usbip-worker --device servers of the same
# mass-storage gadget, one with --bot-readahead and one with
# --no-bot-readahead, over loopback and over loopback with 1 ms of added
# round trip (netem, 0.5 ms each way). No vhci_hcd, no usb-storage: only
# the server differs. BENCH_ROUNDS (5) alternating rounds of
# BENCH_COMMANDS (200) READs per server and link; prints every round,
# then per link the median time per command and the median of the
# rounds' ratios off / on (above 1: read-ahead is faster).
#   tests/vm/run.sh bench/storage-readahead.sh
. "$USBIP_REPO/tests/vm/lib.sh"
. "$USBIP_REPO/bench/bench-lib.sh"

bin=$(build_dir)
worker=$bin/daemons/worker/usbip-worker
client=$bin/tests/usbip-bot-client
rounds=${BENCH_ROUNDS:-5}
count=${BENCH_COMMANDS:-200}

make_storage_gadget /tmp/bench-bot.img 8
b=$GADGET_BUSID
node=$(usb_node "$b")
$worker --device "$node" --listen tcp:127.0.0.1:3245 --bot-readahead 2>/tmp/bot-on.log &
on_pid=$!
$worker --device "$node" --listen tcp:127.0.0.1:3246 --no-bot-readahead 2>/tmp/bot-off.log &
off_pid=$!
wait_listening 127.0.0.1:3245
wait_listening 127.0.0.1:3246

run_one() { # NAME PORT
	local us
	us=$($client tcp:127.0.0.1:$2 "$b" bench-$count | sed -n 's/.*: \([0-9]*\) us per command/\1/p')
	[ -n "$us" ] || die "$1: the READs failed"
	echo "$round $link $1 $us" | tee -a /tmp/bot-bench.txt
}

: >/tmp/bot-bench.txt
for link in loopback netem-1ms; do
	if [ $link = netem-1ms ]; then
		modprobe sch_netem || die "no sch_netem in this kernel"
		tc qdisc add dev lo root netem delay 500us limit 10000 || die "tc netem on lo"
	fi
	for round in $(seq "$rounds"); do
		if [ $((round % 2)) = 1 ]; then
			run_one on 3245; run_one off 3246
		else
			run_one off 3246; run_one on 3245
		fi
	done
	[ $link = loopback ] || tc qdisc del dev lo root
done
kill $on_pid $off_pid
wait $on_pid $off_pid || true
grep -h "BOT read-ahead answered" /tmp/bot-on.log | tail -1

echo
echo "READs of 4 KiB through usbip-worker, $count per round and server, $rounds alternating rounds, $(uname -r), QEMU TCG"
awk '
	{ t[$2, $3] = t[$2, $3] " " $4; v[$1, $2, $3] = $4; r[$1] = 1; l[$2] = 1 }
	function med(list,   n, x, i, j, s) {
		n = split(list, x, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (x[j] + 0 < x[i] + 0) { s = x[i]; x[i] = x[j]; x[j] = s }
		return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
	}
	END {
		printf "%-10s %14s %14s %10s\n", "link", "on µs/cmd", "off µs/cmd", "off ÷ on"
		split("loopback netem-1ms", links, " ")
		for (k = 1; k <= 2; k++) {
			ratios = ""
			for (i in r) ratios = ratios " " v[i, links[k], "off"] / v[i, links[k], "on"]
			printf "%-10s %14.0f %14.0f %10.2f\n", links[k], med(t[links[k], "on"]), med(t[links[k], "off"]), med(ratios)
		}
	}' /tmp/bot-bench.txt
