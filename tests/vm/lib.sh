# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers the guest scenarios source. Each scenario runs under bash -e as
# root in the guest; a failing command fails the scenario.

log() { echo "[$(cut -d' ' -f1 /proc/uptime)] $*"; }
die() {
	log "FAIL: $*"
	echo "--- kernel log, last 40 lines ---"
	dmesg | tail -40
	exit 1
}

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
	local limit=$1 i=0
	shift
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le $((limit * 10)) ] || return 1
		sleep 0.1
	done
}

# make_storage_gadget IMAGE MIB [N]: a configfs mass-storage gadget
# backed by a new random IMAGE of MIB MiB, bound to dummy_hcd's UDC number
# N (0 by default; dummy_hcd is loaded with two, dummy_udc.0 and .1, each
# with its own host bus). It enumerates on dummy_hcd's host side as
# GADGET_BUSID: 1-1 for UDC 0 when dummy_hcd is loaded before vhci_hcd, as
# the scenarios that name 1-1 do. Gadget N has serial 000(N+1).
make_storage_gadget() {
	local image=$1 mib=$2 n=${3:-0}
	local g=/sys/kernel/config/usb_gadget/storage${n#0}
	# No udev in the guest: nothing loads class drivers on its own.
	modprobe usb-storage
	modprobe sd_mod
	modprobe dummy_hcd num=2
	modprobe libcomposite
	modprobe usb_f_mass_storage
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
	[ -d /sys/kernel/config/usb_gadget ] || die "no usb_gadget in configfs"
	dd if=/dev/urandom of="$image" bs=1M count="$mib" status=none
	mkdir -p $g/strings/0x409 $g/configs/c.1/strings/0x409 $g/functions/mass_storage.0
	echo 0x1d6b >$g/idVendor
	echo 0x0104 >$g/idProduct
	echo 0x0100 >$g/bcdDevice
	echo usbip-broker >$g/strings/0x409/manufacturer
	echo "test disk" >$g/strings/0x409/product
	echo "000$((n + 1))" >$g/strings/0x409/serialnumber
	echo storage >$g/configs/c.1/strings/0x409/configuration
	echo 1 >$g/functions/mass_storage.0/stall
	echo "$image" >$g/functions/mass_storage.0/lun.0/file
	ln -s $g/functions/mass_storage.0 $g/configs/c.1/
	echo "dummy_udc.$n" >$g/UDC
	wait_for 20 gadget_busid "$n" || die "the gadget did not enumerate on dummy_hcd.$n"
	GADGET_BUSID=$(gadget_busid "$n")
	local d=/sys/bus/usb/devices/$GADGET_BUSID
	log "gadget $GADGET_BUSID: $(cat $d/idVendor):$(cat $d/idProduct) $(cat $d/speed) Mb/s"
}

# gadget_busid [N]: the busid of the device on dummy_hcd.N's host side
# (1-1 when dummy_hcd is the first bus, later when vhci_hcd, with up to 16
# buses, came first).
gadget_busid() {
	local d n=${1:-0}
	for d in /sys/bus/usb/devices/*-*; do
		case ${d##*/} in *:*) continue ;; esac
		case "$(readlink -f "$d")" in
		*/dummy_hcd.$n/*) [ -e "$d/idVendor" ] && { echo "${d##*/}"; return 0; } ;;
		esac
	done
	return 1
}

# gadget_disk [N]: the block device of gadget N on this side (usb-storage
# bound to the gadget directly, not through vhci_hcd).
gadget_disk() {
	local b n=${1:-0}
	for b in /sys/block/sd*; do
		case "$(readlink -f "$b/device")" in
		*/dummy_hcd.$n/*) echo "/dev/${b##*/}"; return 0 ;;
		esac
	done
	return 1
}

# The block device of a disk that came in through vhci_hcd, found through
# sysfs: the name alone says nothing (sda is reused across drivers).
vhci_disk() {
	local b
	b=$(vhci_class_device "/sys/block/sd*") || return 1
	echo "/dev/${b##*/}"
}

# Every vhci_hcd port free again (state 4 on every hs and ss line).
vhci_all_free() {
	! awk '$1 ~ /^(hs|ss)$/ && $3 != 4 { used = 1 } END { exit !used }' \
		/sys/devices/platform/vhci_hcd.0/status*
}

no_vhci_disk() { ! vhci_disk >/dev/null; }

# vhci_class_device GLOB: the first /sys/class entry matching GLOB (such
# as /sys/class/input/event*) whose device came in through vhci_hcd.
vhci_class_device() {
	local e
	for e in $1; do
		case "$(readlink -f "$e/device")" in
		*vhci_hcd*) echo "$e"; return 0 ;;
		esac
	done
	return 1
}

# local_busid VID:PID: the busid of a device with these ids that did not
# come in through vhci_hcd (the original, not its import).
local_busid() {
	local d
	for d in /sys/bus/usb/devices/*-*; do
		case ${d##*/} in *:*) continue ;; esac
		[ "$(cat "$d/idVendor" 2>/dev/null):$(cat "$d/idProduct" 2>/dev/null)" = "$1" ] || continue
		case "$(readlink -f "$d")" in *vhci_hcd*) continue ;; esac
		echo "${d##*/}"
		return 0
	done
	return 1
}

# The busid of the first device that came in through vhci_hcd.
vhci_busid() {
	local d
	for d in /sys/bus/usb/devices/*-*; do
		case ${d##*/} in *:*) continue ;; esac
		case "$(readlink -f "$d")" in
		*/vhci_hcd.*) echo "${d##*/}"; return 0 ;;
		esac
	done
	return 1
}

# usbip-host's view of BUSID: 1 available, 2 in use (SDEV_ST_*).
stub_status() { cat "/sys/bus/usb/devices/$1/usbip_status" 2>/dev/null; }
stub_available() { [ "$(stub_status "$1")" = 1 ]; }

# Waits for a disk behind vhci_hcd and checks an O_DIRECT read of all of
# it against the sha256 WANT.
check_vhci_disk() {
	local want=$1 disk got
	wait_for 30 vhci_disk || die "no disk appeared behind vhci_hcd"
	disk=$(vhci_disk)
	got=$(dd if="$disk" bs=1M iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || die "$disk reads differently from the image"
	log "$disk behind vhci_hcd reads back bit-exact"
}

# start_healthy_reader DISK SHA256: reads DISK end to end in the
# background, pass after pass, each checked against SHA256, until
# stop_healthy_reader. The healthy session beside hostile ones.
start_healthy_reader() {
	local disk=$1 want=$2
	rm -f /tmp/stop /tmp/healthy.result
	(
		n=0
		until [ -e /tmp/stop ] && [ $n -gt 0 ]; do
			got=$(dd if="$disk" bs=64k iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
			[ "$got" = "$want" ] || { echo "BAD pass $n" >/tmp/healthy.result; exit 1; }
			n=$((n + 1))
		done
		echo "OK $n" >/tmp/healthy.result
	) &
	readpid=$!
}

# stop_healthy_reader WHAT: the reader must still be running after WHAT
# and end with every pass bit-exact; /tmp/healthy.result says how many.
stop_healthy_reader() {
	kill -0 "$readpid" 2>/dev/null || die "the healthy reader ended during $1: $(cat /tmp/healthy.result)"
	touch /tmp/stop
	wait "$readpid" || die "the healthy session read differently during $1: $(cat /tmp/healthy.result)"
}

wait_detached() {
	wait_for 30 no_vhci_disk || die "the vhci disk did not go away"
}

build_dir() { echo "${USBIP_BUILD:-$USBIP_REPO/build}"; }

# /dev/bus/usb/BBB/DDD of a busid.
usb_node() {
	printf '/dev/bus/usb/%03d/%03d\n' "$(cat /sys/bus/usb/devices/$1/busnum)" \
		"$(cat /sys/bus/usb/devices/$1/devnum)"
}

# wait_port HOST:PORT: until something listens there.
wait_listening() {
	wait_for 10 sh -c "ss -ltn | grep -q ' $1 '" || die "nothing listens on $1"
}

# Undoes what a scenario may have left: daemons, vhci attachments, gadgets.
# stage2-init runs it between scenarios so that each starts clean.
guest_reset() {
	local g port f
	pkill -KILL -x usbipd 2>/dev/null
	pkill -KILL -f usbip-worker 2>/dev/null
	pkill -KILL -f usbip-attach 2>/dev/null
	for f in /sys/devices/platform/vhci_hcd.0/status*; do
		[ -e "$f" ] || continue
		awk '$1 ~ /^(hs|ss)$/ && $3 != 4 { print $2 + 0 }' "$f" |
			while read -r port; do
				echo "$port" >/sys/devices/platform/vhci_hcd.0/detach
			done
	done 2>/dev/null
	rm -rf /run/vhci_hcd
	for g in /sys/kernel/config/usb_gadget/*; do
		[ -d "$g" ] || continue
		echo "" >"$g/UDC" 2>/dev/null
		find "$g/configs" -maxdepth 2 -type l -delete 2>/dev/null
		rmdir "$g"/configs/*/strings/* "$g"/configs/* "$g"/functions/* \
			"$g"/strings/* "$g" 2>/dev/null
	done
	# Logs and images of the last scenario: a log greps only its own
	# scenario's lines, and 128 MiB images leave the guest's memory.
	rm -rf /tmp/* /run/test-broker
	sleep 0.5
	return 0
}

# start_broker PORT POLICY [BROKERD-ARGS...]: usbip-brokerd listening on
# tcp:127.0.0.1:PORT with the policy text POLICY, its control socket in
# /run/test-broker, its log appended to /tmp/broker.log. Sets bpid and
# ctl (the usbip-brokerctl command line for it).
start_broker() {
	local port=$1 policy=$2 bin
	shift 2
	bin=$(build_dir)
	printf '%s\n' "$policy" >/tmp/broker-policy.conf
	mkdir -p /run/test-broker
	"$bin/daemons/brokerd/usbip-brokerd" --listen "tcp:127.0.0.1:$port" \
		--control /run/test-broker/control.sock --policy /tmp/broker-policy.conf \
		--rate 1000 --worker "$bin/daemons/worker/usbip-worker" "$@" 2>>/tmp/broker.log &
	bpid=$!
	ctl="$bin/daemons/brokerctl/usbip-brokerctl --socket /run/test-broker/control.sock"
	wait_listening "127.0.0.1:$port"
}

# tls_keygen DIR WHO...: an Ed25519 identity for each WHO, all made at
# once in the background (GnuTLS's start is slow under TCG: a scenario
# may begin them before its gadget comes up), in DIR/WHO/identity.key
# with its pin in DIR/WHO.pin. tls_pins waits for them.
tls_keygen() {
	local who
	tls_keys_dir=$1
	shift
	tls_keys_who=("$@")
	tls_keygen_pids=()
	mkdir -p "$tls_keys_dir"
	for who in "$@"; do
		"$(build_dir)/daemons/brokerctl/usbip-brokerctl" keygen \
			--out "$tls_keys_dir/$who" >"$tls_keys_dir/$who.pin" &
		tls_keygen_pids+=($!)
	done
}

# tls_pins: waits for tls_keygen's identities; sets WHO_pin to each WHO's
# pin (SHA256:...) and WHO_key to its private key's file.
tls_pins() {
	local pid who pin
	for pid in "${tls_keygen_pids[@]}"; do
		wait "$pid" || die "keygen failed"
	done
	for who in "${tls_keys_who[@]}"; do
		pin=$(cat "$tls_keys_dir/$who.pin")
		[ -n "$pin" ] || die "keygen $who: no pin"
		printf -v "${who}_pin" %s "$pin"
		printf -v "${who}_key" %s "$tls_keys_dir/$who/identity.key"
	done
}

# start_tls_broker PORT RULES [BROKERD-ARGS...]: start_broker with the
# policy RULES (those that pin keys: "from key:PIN") and then "deny", and
# with the identity tls_keygen made for "broker" (--key), which it must
# have loaded: its pin is in the log.
start_tls_broker() {
	local port=$1 rules=$2
	shift 2
	start_broker "$port" "$rules
deny" --key "$broker_key" "$@"
	grep -q "TLS identity .*: $broker_pin" /tmp/broker.log || die "the broker did not load its key"
}

# broker_has_spare: the broker (bpid) has its spare worker, started and
# sandboxed before a client; its channel is one of the broker's fds, so
# fd counts meant to find leaks are taken with one in place.
broker_has_spare() {
	local c
	for c in $(cat /proc/"$bpid"/task/*/children 2>/dev/null); do
		tr '\0' ' ' </proc/"$c"/cmdline 2>/dev/null | grep -q -- ' --spare ' && return 0
	done
	return 1
}

# stop_broker: SIGTERM; it must end its sessions and exit 0.
stop_broker() {
	kill -TERM "$bpid"
	wait "$bpid" || die "the broker's exit status was not 0"
}

# check_refused ADDR BUSID LOG PID: usbip-probe sends each malformed
# request named on stdin ("ROW FIELD" lines: the probe's hostile-ROW and
# the field its refusal must name) to BUSID at ADDR, one session each.
# Each must be refused: the probe sees the connection closed without a
# reply, and LOG gains a refusal naming FIELD. PID, unless empty, must
# survive every one. Adds to hostile_count.
check_refused() {
	local addr=$1 busid=$2 logf=$3 pid=$4 probe name field before line
	probe=$(build_dir)/tests/usbip-probe
	while read -r name field; do
		before=$(grep -c "refused\|malformed" "$logf" || true)
		$probe "$addr" "$busid" "hostile-$name" || die "hostile-$name"
		wait_for 5 sh -c "[ \$(grep -c 'refused\|malformed' '$logf') -gt $before ]" ||
			die "hostile-$name: no refusal logged"
		line=$(grep "refused\|malformed" "$logf" | tail -1)
		case "$line" in
		*": $field = "*) log "hostile-$name: $line" ;;
		*) die "hostile-$name: expected field '$field' in: $line" ;;
		esac
		[ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || die "$pid died on hostile-$name"
		hostile_count=$((hostile_count + 1))
	done
}

# check_hostile ADDR BUSID LOG [PID]: check_refused with every malformed
# request of shared NOTES section 2, on a mass-storage gadget (bulk IN
# ep 1, OUT ep 2). Sets hostile_count.
check_hostile() {
	hostile_count=0
	check_refused "$1" "$2" "$3" "${4:-}" <<-'ROWS'
	ep16 ep
	direction direction
	no-endpoint ep
	wrong-direction ep
	huge-length transfer_buffer_length
	devid devid
	duplicate-seqnum seqnum
	wlength wLength
	setup-direction bmRequestType
	set-address bRequest
	iso-packets-on-bulk number_of_packets
	too-many-packets number_of_packets
	unknown-command command
	longer-payload command
	reply-as-request command
	ROWS
}

# check_standard_requests ADDR BUSID LOG [PID]: check_refused with the
# standard requests the server carries out itself (SET_ADDRESS,
# SET_CONFIGURATION, SET_INTERFACE, CLEAR_FEATURE) in every shape but the
# one it acts on: each would reach the device raw. Sets hostile_count.
check_standard_requests() {
	hostile_count=0
	check_refused "$1" "$2" "$3" "${4:-}" <<-'ROWS'
	std-set-address-in bRequest
	std-set-address-endpoint bRequest
	std-set-configuration-in bmRequestType
	std-set-configuration-in-header-in bmRequestType
	std-set-configuration-interface bmRequestType
	std-set-configuration-endpoint bmRequestType
	std-set-configuration-other bmRequestType
	std-set-configuration-wlength wLength
	std-set-interface-in bmRequestType
	std-set-interface-device bmRequestType
	std-set-interface-endpoint bmRequestType
	std-set-interface-other bmRequestType
	std-set-interface-wlength wLength
	std-clear-halt-in bmRequestType
	std-clear-halt-other bmRequestType
	std-clear-halt-wlength wLength
	std-clear-feature-device-in bmRequestType
	std-clear-feature-interface-in bmRequestType
	ROWS
}

# make_composite_gadget IMAGE MIB N [LAYOUT]: like make_storage_gadget,
# but with a boot keyboard (hid) besides the mass-storage function. LAYOUT
# "one" (default): both in configuration 1, the stick that is a disk and
# types. "two": storage in configuration 1 (the one the host picks), the
# keyboard alone in configuration 2, for a device that becomes another
# once it is reconfigured. Same ids (1d6b:0104), serial c0mp (one) or
# c0n2 (two); sets GADGET_BUSID.
make_composite_gadget() {
	local image=$1 mib=$2 n=$3 layout=${4:-one}
	local g=/sys/kernel/config/usb_gadget/composite$n-$layout
	local hid_config=c.1 serial=c0mp
	[ "$layout" = one ] || { hid_config=c.2; serial=c0n2; }
	modprobe usb-storage
	modprobe dummy_hcd num=2
	modprobe libcomposite
	modprobe usb_f_mass_storage
	modprobe usb_f_hid
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
	dd if=/dev/urandom of="$image" bs=1M count="$mib" status=none
	mkdir -p $g/strings/0x409 $g/configs/c.1/strings/0x409 \
		$g/configs/$hid_config/strings/0x409 \
		$g/functions/mass_storage.0 $g/functions/hid.0
	echo 0x1d6b >$g/idVendor
	echo 0x0104 >$g/idProduct
	echo usbip-broker >$g/strings/0x409/manufacturer
	echo "disk and keyboard" >$g/strings/0x409/product
	echo $serial >$g/strings/0x409/serialnumber
	echo storage >$g/configs/c.1/strings/0x409/configuration
	echo keyboard >$g/configs/$hid_config/strings/0x409/configuration
	echo "$image" >$g/functions/mass_storage.0/lun.0/file
	echo 1 >$g/functions/hid.0/protocol
	echo 1 >$g/functions/hid.0/subclass
	echo 8 >$g/functions/hid.0/report_length
	# A boot keyboard's report descriptor (HID 1.11, appendix E.6).
	printf '\x05\x01\x09\x06\xa1\x01\x05\x07\x19\xe0\x29\xe7\x15\x00\x25\x01\x75\x01\x95\x08\x81\x02\x95\x01\x75\x08\x81\x03\x95\x05\x75\x01\x05\x08\x19\x01\x29\x05\x91\x02\x95\x01\x75\x03\x91\x03\x95\x06\x75\x08\x15\x00\x25\x65\x05\x07\x19\x00\x29\x65\x81\x00\xc0' \
		>$g/functions/hid.0/report_desc
	ln -s $g/functions/mass_storage.0 $g/configs/c.1/
	ln -s $g/functions/hid.0 $g/configs/$hid_config/
	echo "dummy_udc.$n" >$g/UDC
	wait_for 20 gadget_busid "$n" || die "the composite gadget did not enumerate on dummy_hcd.$n"
	GADGET_BUSID=$(gadget_busid "$n")
	wait_for 10 test -e "/sys/bus/usb/devices/$GADGET_BUSID:1.0" || die "the composite gadget has no interface"
	if [ "$layout" = one ]; then
		wait_for 10 test -e "/sys/bus/usb/devices/$GADGET_BUSID:1.1" ||
			die "the composite gadget has no second interface"
	fi
	log "composite gadget $GADGET_BUSID ($layout): configuration $(cat /sys/bus/usb/devices/$GADGET_BUSID/bConfigurationValue), interfaces $(cat /sys/bus/usb/devices/$GADGET_BUSID:1.*/bInterfaceClass | tr '\n' ' ')"
}
