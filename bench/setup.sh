# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: session setup and teardown, in one guest boot,
# on a configfs SourceSink gadget (dummy_hcd, high speed), for
#   usbip-host        usbipd and the kernel's stub, upstream `usbip attach`
#   brokerd           usbip-brokerd, the same upstream `usbip attach`
#                     (its session goes to the spare worker, started
#                     and sandboxed in advance: waited for)
#   brokerd-nospare   usbip-brokerd --no-spare (restarted so for it): the
#                     worker started when the client comes
#   brokerd+attach    usbip-brokerd, the project's usbip-attach
# BENCH_ROUNDS (5) alternating rounds. Times, in ms, from starting the
# client (its TCP connect is its first act) to
#   enumerated   the import's sysfs device (BUSID) on the vhci_hcd side
#   configured   its interface (BUSID:1.0): the device is usable
# and, from starting the client's detach, to
#   gone         the import's sysfs device gone
#   ready        the server ready for the next session (usbip-host: the
#                stub's usbip_status back to available; brokerd: the
#                session's worker reaped)
# The exporting side's preparation (usbip bind, usbip-brokerctl export)
# is not timed: both need it once per device, not per session. After
# each usbip-host and brokerd session, usbip-probe times the server alone
# (no vhci_hcd): from before its connect to OP_REP_IMPORT and to the
# answer of a first GET_DESCRIPTOR. The broker and its workers run with
# USBIP_LOG_STEPS=1: each step of a session (accept, spawn, exec, libusb,
# sandbox, the device's grant and claim, OP_REP_IMPORT) is logged with
# its wall-clock time, which the breakdown lines up with the client's
# start, its return (vhci_hcd attached) and the import's enumeration,
# medians over the rounds. Then one brokerd session and one usbipd
# session under strace (untimed) show the syscalls between the steps.
#   tests/vm/run.sh bench/setup.sh
. "$USBIP_REPO/tests/vm/lib.sh"
. "$USBIP_REPO/bench/bench-lib.sh"

bin=$(build_dir)
attach=$bin/daemons/attach/usbip-attach
probe=$bin/tests/usbip-probe
rounds=${BENCH_ROUNDS:-5}

export USBIP_LOG_STEPS=1
sourcesink_both_servers

# The busid an import gets: port 1 of vhci_hcd's high-speed root hub.
for h in /sys/devices/platform/vhci_hcd.0/usb[0-9]*; do
	[ "$(cat "$h/speed")" = 480 ] && vbusid=$(cat "$h/busnum")-1
done
[ -n "${vbusid:-}" ] || die "no high-speed vhci_hcd root hub"
vdev=/sys/bus/usb/devices/$vbusid
log "imports appear as $vbusid"

# timed_attach NAME COMMAND...: runs the client, appends the setup times.
timed_attach() {
	local name=$1 t0 tr t1 t2
	shift
	t0=$EPOCHREALTIME
	"$@" >/dev/null || die "$name: the client failed"
	tr=$EPOCHREALTIME
	wait_exists "$vdev" 30 || die "$name: no import"
	t1=$EPOCHREALTIME
	wait_exists "$vdev:1.0" 30 || die "$name: the import was not configured"
	t2=$EPOCHREALTIME
	echo "$round $name enumerated $(elapsed_ms "$t0" "$t1") configured $(elapsed_ms "$t0" "$t2")" >>/tmp/setup.txt
	# The raw stamps, for the breakdown: client start, client returned
	# (vhci_hcd has the socket), enumerated, configured.
	echo "$round $name $t0 $tr $t1 $t2" >>/tmp/stamps.txt
}

# timed_detach NAME READY-COMMAND COMMAND...: runs the client's detach,
# appends the teardown times (READY-COMMAND polled until it succeeds).
timed_detach() {
	local name=$1 ready=$2 t0 t1 t2 deadline
	shift 2
	t0=$EPOCHREALTIME
	deadline=$((${t0%.*} + 30))
	"$@" >/dev/null || die "$name: the detach failed"
	wait_gone "$vdev" 30 || die "$name: the import stayed"
	t1=$EPOCHREALTIME
	until $ready; do
		[ "${EPOCHREALTIME%.*}" -lt "$deadline" ] || die "$name: the server never got ready"
		nap 0.002
	done
	t2=$EPOCHREALTIME
	echo "$round $name gone $(elapsed_ms "$t0" "$t1") ready $(elapsed_ms "$t0" "$t2")" >>/tmp/setup.txt
}

# probe_setup NAME PORT READY-COMMAND: the server's own part, no vhci_hcd:
# usbip-probe's connect to OP_REP_IMPORT and to a first URB's answer;
# the probe then closes, and READY-COMMAND is polled until it succeeds.
probe_setup() {
	local name=$1 port=$2 ready=$3
	"$probe" "tcp:127.0.0.1:$port" "$busid" setup-time >/tmp/probe.out || die "$name: usbip-probe setup-time"
	sed -n "s/.*imported in \([0-9.]*\) ms, first URB answered at \([0-9.]*\) ms/$round $name imported \1 first-urb \2/p" \
		/tmp/probe.out >>/tmp/setup.txt
	wait_for 30 $ready || die "$name: the server did not get ready after the probe"
}

stub_ready() { [ "$(cat "/sys/bus/usb/devices/$busid/usbip_status" 2>/dev/null)" = 1 ]; }
worker_reaped() { [ ! -e "/proc/$wpid" ]; }

with_host() {
	usbip bind -b "$busid" >/dev/null
	timed_attach usbip-host usbip attach -r 127.0.0.1 -b "$busid"
	timed_detach usbip-host stub_ready usbip detach -p 0
	wait_for 30 vhci_all_free || die "the vhci port stayed in use"
	probe_setup usbip-host 3240 stub_ready
	usbip unbind -b "$busid" >/dev/null
}

# spare_ready: the broker's spare worker is there and sandboxed (its
# seccomp filter loaded), as it is between sessions that are not back
# to back.
spare_ready() {
	local c
	for c in $(cat /proc/"$bpid"/task/*/children 2>/dev/null); do
		tr '\0' ' ' </proc/"$c"/cmdline 2>/dev/null | grep -q -- ' --spare ' &&
			grep -qP '^Seccomp:\t2' /proc/"$c"/status 2>/dev/null && return 0
	done
	return 1
}

# restart_broker [ARGS...]: the broker again, with ARGS.
restart_broker() {
	stop_broker
	start_broker 3241 "allow id 1d6b:0105 from 127.0.0.1" "$@"
}

# with_brokerd NAME ATTACH DETACH [PROBE]: ATTACH and DETACH are command
# lines; with PROBE, probe_setup too. brokerd-nospare restarts the
# broker with --no-spare for its session and without after it.
no_session() { [ -z "$($ctl status | awk -F'\t' -v b="$busid" '$1 == b')" ]; }
with_brokerd() {
	local name=$1 attach_cmd=$2 detach_cmd=$3 with_probe=${4:-}
	[ "$name" != brokerd-nospare ] || restart_broker --no-spare
	$ctl export "$busid" >/dev/null
	[ "$name" = brokerd-nospare ] || wait_for 30 spare_ready || die "$name: no spare worker"
	timed_attach "$name" $attach_cmd
	wpid=$($ctl status | awk -F'\t' -v b="$busid" '$1 == b {print $4}')
	[ -n "$wpid" ] || die "$name: no session in the broker's status"
	timed_detach "$name" worker_reaped $detach_cmd
	wait_for 30 vhci_all_free || die "the vhci port stayed in use"
	if [ -n "$with_probe" ]; then
		[ "$name" = brokerd-nospare ] || wait_for 30 spare_ready || die "$name: no spare worker"
		probe_setup "$name" 3241 no_session
	fi
	$ctl unexport "$busid" >/dev/null
	[ "$name" != brokerd-nospare ] || restart_broker
}

: >/tmp/setup.txt
: >/tmp/stamps.txt
for round in $(seq "$rounds"); do
	log "--- round $round"
	if [ $((round % 2)) = 1 ]; then
		with_host
		with_brokerd brokerd "usbip --tcp-port 3241 attach -r 127.0.0.1 -b $busid" "usbip detach -p 0" probe
		with_brokerd brokerd-nospare "usbip --tcp-port 3241 attach -r 127.0.0.1 -b $busid" "usbip detach -p 0" probe
		with_brokerd brokerd+attach "$attach connect tcp:127.0.0.1:3241 $busid" "$attach detach --all"
	else
		with_brokerd brokerd+attach "$attach connect tcp:127.0.0.1:3241 $busid" "$attach detach --all"
		with_brokerd brokerd-nospare "usbip --tcp-port 3241 attach -r 127.0.0.1 -b $busid" "usbip detach -p 0" probe
		with_brokerd brokerd "usbip --tcp-port 3241 attach -r 127.0.0.1 -b $busid" "usbip detach -p 0" probe
		with_host
	fi
done
cat /tmp/setup.txt

# The breakdown: every logged step of the broker's and its worker's
# inside each timed session's window, in ms from the client's start,
# then the client's return, enumeration and configuration; medians over
# the rounds. usbip-host's sessions have no steps of their own (the
# kernel's); its client-side stamps are beside them.
echo
echo "Where the setup goes: ms from the client's start, medians over $rounds rounds"
awk '
	FNR == NR { n++; r[n] = $1; p[n] = $2; t0[n] = $3; tr[n] = $4; t1[n] = $5; t2[n] = $6; next }
	/ step [0-9]+\.[0-9]+ / {
		for (i = 1; i <= NF; i++) if ($i == "step") break
		t = $(i + 1); what = ""
		for (j = i + 2; j <= NF; j++) what = what " " $j
		# One name per step: pids, peers and addresses out.
		gsub(/ [0-9]+ /, " N ", what); gsub(/ tcp:[^ ]*/, "", what); gsub(/ [0-9]+$/, " N", what)
		# The next spare (spawned on the tick after a handover) is
		# off the path: its start is summed up apart.
		if (what ~ /spawning a spare/) { ss = t; in_spare = 1; next }
		if (what ~ /spare N cloned/) { if (ss) sc = sc " " (t - ss) * 1000; next }
		if (in_spare && what ~ /worker: (main|libusb|in the empty root|privileges|seccomp)/) {
			if (what ~ /seccomp/) { sr = sr " " (t - ss) * 1000; in_spare = 0 }
			next
		}
		for (k = 1; k <= n; k++)
			if (p[k] != "usbip-host" && t >= t0[k] && t <= t2[k]) {
				key = p[k] SUBSEP what
				if (!(key in seen)) { seen[key] = 1; order[p[k], ++cnt[p[k]]] = what; first[key] = (t - t0[k]) * 1000 }
				v[key] = v[key] " " (t - t0[k]) * 1000
			}
	}
	function med(list,   m, x, a, b, tmp) {
		m = split(list, x, " ")
		for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++)
			if (x[b] + 0 < x[a] + 0) { tmp = x[a]; x[a] = x[b]; x[b] = tmp }
		return m % 2 ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2
	}
	END {
		split("usbip-host brokerd brokerd-nospare brokerd+attach", servers, " ")
		for (s = 1; s <= 4; s++) {
			sv = servers[s]; ret = en = co = ""
			for (k = 1; k <= n; k++) if (p[k] == sv) {
				ret = ret " " (tr[k] - t0[k]) * 1000; en = en " " (t1[k] - t0[k]) * 1000; co = co " " (t2[k] - t0[k]) * 1000
			}
			if (co == "") continue
			print sv ":"
			# The steps in the order of their medians.
			for (c = 1; c <= cnt[sv]; c++) { w[c] = order[sv, c]; m[c] = med(v[sv SUBSEP w[c]]) }
			for (c = 1; c <= cnt[sv]; c++) for (d = c + 1; d <= cnt[sv]; d++)
				if (m[d] < m[c]) { x = m[c]; m[c] = m[d]; m[d] = x; x = w[c]; w[c] = w[d]; w[d] = x }
			for (c = 1; c <= cnt[sv]; c++)
				printf "%9.1f  %s (%d of %d sessions)\n", m[c], w[c], split(v[sv SUBSEP w[c]], tmp, " "), split(co, tmp2, " ")
			printf "%9.1f  client returned (the socket is in vhci_hcd)\n", med(ret)
			printf "%9.1f  import enumerated\n", med(en)
			printf "%9.1f  import configured\n", med(co)
		}
		if (sc != "")
			printf "The next spare, off the path: clone and id maps %.1f ms in the broker'"'"'s loop, sandboxed %.1f ms after its spawn (medians of %d)\n", med(sc), med(sr), split(sc, tmp, " ")
	}' /tmp/stamps.txt /tmp/broker.log

# Where brokerd's setup time goes: one session under strace, only the
# syscalls that mark its stages (the tracing slows each of them; the
# order and the gaps are what count).
$ctl export "$busid" >/dev/null
wait_for 30 spare_ready || die "no spare worker for the traced session"
strace -f -ttt -qq -o /tmp/setup.strace 2>/tmp/strace.err \
	-e trace=accept,accept4,clone,clone3,execve,openat,pivot_root,seccomp,sendmsg,recvmsg,ioctl \
	-p "$bpid" &
spid=$!
# strace starts slowly under TCG: time only once it has the broker.
traced() { ! grep -q '^TracerPid:[[:space:]]*0$' "/proc/$bpid/status"; }
wait_for 60 traced || die "strace did not attach to the broker"
sleep 0.5
t0=$EPOCHREALTIME
usbip --tcp-port 3241 attach -r 127.0.0.1 -b "$busid" >/dev/null || die "traced attach"
wait_exists "$vdev:1.0" 30 || die "traced attach: not configured"
t1=$EPOCHREALTIME
kill -INT "$spid"
wait "$spid" 2>/dev/null || true
echo
echo "brokerd under strace: client start $t0, configured $t1 ($(elapsed_ms "$t0" "$t1") ms, tracing included)"
awk -v t0="$t0" '
	# The stages: the accept, the clone into namespaces, the exec, the
	# worker asking the broker for the device, its first usbfs ioctl,
	# the first URB submitted.
	{ ms = ($2 - t0) * 1000 }
	/accept4?\(/ && !acc++ { printf "%8.1f ms  broker accepts the client\n", ms }
	/openat\(.*\.so/ && ex { lib = ms }
	/openat\(.*\/dev\/bus\/usb\// && !uo++ { printf "%8.1f ms  worker'"'"'s shared libraries loaded (the last at this time)\n%8.1f ms  broker opens the usbfs node for it\n", lib, ms }
	# With a spare the client goes to it over its channel (IPC_CLIENT,
	# type 0x85), and the clone that follows is the next spare.
	/sendmsg\(.*\\205\\0\\0\\0/ && !hs++ { printf "%8.1f ms  broker hands the client to its spare worker\n", ms }
	/clone\(/ && /CLONE_NEWUSER/ && !cl++ { printf "%8.1f ms  broker clones %s\n", ms, hs ? "the next spare (off the path)" : "the worker into new namespaces" }
	/execve\(/ && !ex++ { printf "%8.1f ms  worker execve\n", ms }
	/pivot_root/ && !pr++ { printf "%8.1f ms  worker pivots to the empty root\n", ms }
	/seccomp\(/ && !sc++ { printf "%8.1f ms  worker installs its seccomp filter\n", ms }
	/recvmsg\(/ && /SCM_RIGHTS/ && !rf++ { printf "%8.1f ms  worker receives the usbfs fd\n", ms }
	/ioctl\(.*USBDEVFS_SUBMITURB/ && !su++ { printf "%8.1f ms  worker submits its first URB\n", ms }
' /tmp/setup.strace
[ -s /tmp/setup.strace ] || { echo "strace recorded nothing:"; cat /tmp/strace.err; }
echo "($(wc -l </tmp/setup.strace) lines traced; the first ones:)"
head -3 /tmp/setup.strace | cut -c1-160
usbip detach -p 0 >/dev/null
wait_for 30 vhci_all_free || true
$ctl unexport "$busid" >/dev/null

# usbipd's steps the same way: it forks a child per connection, which
# reads the request, rescans sysfs for the exported devices, writes the
# socket into the stub's usbip_sockfd and answers.
usbip bind -b "$busid" >/dev/null
updpid=$(pgrep -x -o usbipd)
strace -f -ttt -qq -o /tmp/usbipd.strace 2>/tmp/strace.err \
	-e trace=accept,accept4,clone,clone3,fork,openat,write,sendto,send,recvfrom,read -p "$updpid" &
spid=$!
bpid_saved=$bpid bpid=$updpid
wait_for 60 traced || die "strace did not attach to usbipd"
bpid=$bpid_saved
sleep 0.5
t0=$EPOCHREALTIME
usbip attach -r 127.0.0.1 -b "$busid" >/dev/null || die "traced usbipd attach"
wait_exists "$vdev:1.0" 30 || die "traced usbipd attach: not configured"
t1=$EPOCHREALTIME
kill -INT "$spid"
wait "$spid" 2>/dev/null || true
echo
echo "usbipd under strace: client start $t0, configured $t1 ($(elapsed_ms "$t0" "$t1") ms, tracing included)"
awk -v t0="$t0" '
	{ ms = ($2 - t0) * 1000 }
	/accept4?\(/ && !acc++ { printf "%8.1f ms  usbipd accepts the client\n", ms }
	/clone3?\(|fork\(/ && !cl++ { printf "%8.1f ms  usbipd forks its child\n", ms }
	/openat\(.*\/sys\/.*usbip_sockfd/ && !so++ { printf "%8.1f ms  child opens the stub'"'"'s usbip_sockfd\n", ms; sf = 1 }
	sf && /write\(/ && !sw++ { printf "%8.1f ms  child hands the socket to the stub\n", ms }
	/openat\(.*\/sys\// && !sy++ { printf "%8.1f ms  child starts reading sysfs\n", ms }
	END { printf "(%d lines traced)\n", NR }
' /tmp/usbipd.strace
usbip detach -p 0 >/dev/null
wait_for 30 vhci_all_free || true
wait_for 30 stub_ready || true
usbip unbind -b "$busid" >/dev/null

echo
echo "Session setup and teardown on a dummy_hcd SourceSink gadget (high speed), $(uname -r), QEMU TCG, $rounds alternating rounds"
echo "milliseconds, medians over the rounds (setup from starting the client, teardown from starting its detach)"
awk '
	NF == 6 && $3 == "enumerated" { en[$2] = en[$2] " " $4; co[$2] = co[$2] " " $6 }
	NF == 6 && $3 == "gone" { go[$2] = go[$2] " " $4; re[$2] = re[$2] " " $6 }
	NF == 6 && $3 == "imported" { im[$2] = im[$2] " " $4; fu[$2] = fu[$2] " " $6 }
	function med(list,   n, v, i, j, t) {
		n = split(list, v, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	END {
		printf "%-15s %11s %11s %9s %9s %16s\n", "server", "enumerated", "configured", "gone", "ready", "configured ÷ ours"
		split("usbip-host brokerd brokerd-nospare brokerd+attach", order, " ")
		h = med(co["usbip-host"])
		for (k = 1; k <= 4; k++) {
			p = order[k]
			printf "%-15s %11.1f %11.1f %9.1f %9.1f %16.2f\n", p, med(en[p]), med(co[p]), med(go[p]), med(re[p]), h / med(co[p])
		}
		print "(the last column: usbip-host'"'"'s setup time over this path'"'"'s; 1.00 or more is no slower than usbipd)"
		print ""
		print "The server alone (usbip-probe, no vhci_hcd): from before the TCP connect to"
		printf "%-15s %13s %16s %18s\n", "server", "OP_REP_IMPORT", "first URB answer", "first URB ÷ ours"
		h = med(fu["usbip-host"])
		for (k = 1; k <= 3; k++) {
			p = order[k]
			printf "%-15s %13.1f %16.1f %18.2f\n", p, med(im[p]), med(fu[p]), h / med(fu[p])
		}
	}' /tmp/setup.txt
