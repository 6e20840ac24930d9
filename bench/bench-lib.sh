# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers the guest benchmarks (bench/*.sh run by tests/vm/run.sh) source
# after tests/vm/lib.sh. Benchmarks print figures and ratios; they fail
# only when something does not work, never on speed.

# make_sourcesink_gadget [N]: a configfs SourceSink gadget (the kernel's
# gadget zero: bulk IN source, bulk OUT sink, 512-byte requests, no
# pattern checks) on dummy_udc.N, ids 1d6b:0105. Nothing binds to it on
# the host side (vendor class, no udev in the guest). Sets GADGET_BUSID.
make_sourcesink_gadget() {
	local n=${1:-0}
	local g=/sys/kernel/config/usb_gadget/sourcesink$n
	modprobe dummy_hcd num=2
	modprobe libcomposite
	modprobe usb_f_ss_lb
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
	mkdir -p $g/strings/0x409 $g/configs/c.1/strings/0x409 $g/functions/SourceSink.0
	echo 0x1d6b >$g/idVendor
	echo 0x0105 >$g/idProduct
	echo usbip-broker >$g/strings/0x409/manufacturer
	echo "source sink" >$g/strings/0x409/product
	echo "55$((n + 1))" >$g/strings/0x409/serialnumber
	echo sourcesink >$g/configs/c.1/strings/0x409/configuration
	echo 2 >$g/functions/SourceSink.0/pattern
	echo 512 >$g/functions/SourceSink.0/bulk_buflen
	ln -s $g/functions/SourceSink.0 $g/configs/c.1/
	echo "dummy_udc.$n" >$g/UDC
	wait_for 20 gadget_busid "$n" || die "the SourceSink gadget did not enumerate on dummy_hcd.$n"
	GADGET_BUSID=$(gadget_busid "$n")
	log "gadget $GADGET_BUSID: $(cat /sys/bus/usb/devices/$GADGET_BUSID/idVendor):$(cat /sys/bus/usb/devices/$GADGET_BUSID/idProduct) $(cat /sys/bus/usb/devices/$GADGET_BUSID/speed) Mb/s"
}

# sourcesink_both_servers: the SourceSink gadget on dummy_udc.0, usbipd
# with usbip-host on 3240 and the broker on 3241 allowing it to the
# loopback, vhci_hcd loaded: the two servers a benchmark puts side by
# side; ARGS go to the broker. Sets busid.
sourcesink_both_servers() { # [BROKER-ARGS...]
	make_sourcesink_gadget 0
	busid=$GADGET_BUSID
	modprobe usbip-host
	modprobe vhci-hcd
	usbipd -D
	wait_listening 0.0.0.0:3240 2>/dev/null || wait_listening '\*:3240' 2>/dev/null || sleep 1
	start_broker 3241 "allow id 1d6b:0105 from 127.0.0.1" "$@"
}

# imported_node: the usbfs node of the configured import behind vhci_hcd.
imported_node() {
	local v
	wait_for 30 vhci_busid || die "nothing came in through vhci_hcd"
	v=$(vhci_busid)
	wait_for 30 test -e "/sys/bus/usb/devices/$v:1.0" || die "the import was not configured"
	usb_node "$v"
}

# cpu_seconds PID...: their user + system seconds so far (0 for none).
cpu_seconds() {
	local p
	for p in "$@"; do cat "/proc/$p/stat"; done |
		awk -v t="$(getconf CLK_TCK)" '{ sum += $14 + $15 } END { printf "%.2f", sum / t }'
}

# The kernel stub's server side: usbip-host's kernel threads.
stub_threads() { pgrep -x stub_rx; pgrep -x stub_tx; }

# count_syscalls_start PID: counts PID's syscalls (every thread) with
# perf until count_syscalls_stop, which prints the count (or "-" when
# perf cannot count here).
count_syscalls_start() {
	rm -f /tmp/perf-syscalls.txt
	perf stat -x, -e raw_syscalls:sys_enter -p "$1" -o /tmp/perf-syscalls.txt 2>/dev/null &
	perf_pid=$!
	# perf starts slowly under TCG: wait until it holds its counters (a
	# count stopped before that comes out empty, "-").
	wait_for 30 perf_attached || true
	sleep 0.5
}
perf_attached() { ls -l "/proc/$perf_pid/fd" 2>/dev/null | grep -q 'perf_event'; }
count_syscalls_stop() {
	kill -INT "$perf_pid" 2>/dev/null
	wait "$perf_pid" 2>/dev/null
	awk -F, '/raw_syscalls:sys_enter/ { n = $1 } END { print (n ~ /^[0-9]+$/) ? n : "-" }' \
		/tmp/perf-syscalls.txt 2>/dev/null || echo -
}

# median: the median of the numbers on stdin, one a line.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Timestamps without a fork: bash's $EPOCHREALTIME, in seconds.
now() { echo "$EPOCHREALTIME"; }

# nap SECONDS: sleeps without a fork (a read that never gets data), for
# polling loops that must not cost a process per turn under TCG.
nap() {
	[ -n "${nap_fd:-}" ] || { mkfifo /tmp/nap.fifo; exec {nap_fd}<>/tmp/nap.fifo; }
	read -r -t "$1" -u "$nap_fd" _ || true
}

# wait_exists PATH SECONDS: polls every 2 ms until PATH exists.
wait_exists() {
	local deadline=$((${EPOCHREALTIME%.*} + $2 + 1))
	until [ -e "$1" ]; do
		[ "${EPOCHREALTIME%.*}" -lt "$deadline" ] || return 1
		nap 0.002
	done
}

# wait_gone PATH SECONDS: polls every 2 ms until PATH is gone.
wait_gone() {
	local deadline=$((${EPOCHREALTIME%.*} + $2 + 1))
	while [ -e "$1" ]; do
		[ "${EPOCHREALTIME%.*}" -lt "$deadline" ] || return 1
		nap 0.002
	done
}

# elapsed_ms T0 T1: milliseconds between two $EPOCHREALTIME stamps.
elapsed_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
