#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Boots Debian's kernel under QEMU (TCG: no KVM needed) with this machine's
# root file system as a read-only virtio-9p lower layer under a tmpfs
# overlay, runs guest scenarios, and reports each one's result and log.
# Binaries built here are visible in the guest at the same path.
#
#   tests/vm/run.sh [-o OUT] [-k KERNEL] [SCENARIO...]
#
# SCENARIO names a file in tests/vm/scenarios without .sh, or is the path
# of a scenario file elsewhere (bench/storage.sh); with none given every
# file in tests/vm/scenarios runs. NAME.host-check.sh beside a scenario is
# its host half, run after the guest powers off. A scenario that needs
# QEMU devices of its own says so in a line "# qemu: ARGS"; scenarios are
# grouped into one boot per distinct set. A line "# guest-init: systemd"
# boots that scenario's group with systemd as PID 1 (stage2-init hands
# over to it and runs the scenarios as a service). Results:
# OUT/results/NAME.log and OUT/results/summary (NAME PASS|FAIL SECONDS),
# and the guest console in OUT/console.log. Exit status 0 only when every
# requested scenario passed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/build/vm
kernel=
memory=${VM_MEMORY:-2048}
timeout_s=${VM_TIMEOUT:-1200}

while getopts "o:k:" opt; do
	case $opt in
	o) out=$OPTARG ;;
	k) kernel=$OPTARG ;;
	*) echo "usage: $0 [-o OUT] [-k KERNEL] [SCENARIO...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

if [ $# -eq 0 ]; then
	set -- $(cd "$here/scenarios" && ls *.sh | grep -v '\.host-\(check\|during\)\.sh$' | sed 's/\.sh$//')
fi
for s in "$@"; do
	case $s in
	*/*) [ -f "$repo/$s" ] || { echo "no scenario file $repo/$s" >&2; exit 2; } ;;
	*) [ -f "$here/scenarios/$s.sh" ] || { echo "no scenario '$s' in $here/scenarios" >&2; exit 2; } ;;
	esac
done

if [ -z "$kernel" ]; then
	# The newest kernel whose modules are installed here.
	for k in $(ls /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
		v=${k#/boot/vmlinuz-}
		if [ -d "/lib/modules/$v/kernel/drivers/usb/usbip" ]; then
			kernel=$k
			break
		fi
	done
fi
[ -n "$kernel" ] || { echo "no kernel with usbip modules in /boot; install linux-image-amd64" >&2; exit 2; }
kver=${kernel#/boot/vmlinuz-}
[ -r "$kernel" ] || { echo "cannot read $kernel" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 missing; install qemu-system-x86" >&2; exit 2; }
busybox=$(command -v busybox || true)
# ldd fails on a static binary, which is what the initramfs needs.
[ -n "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 || { echo "a static busybox is needed; install busybox-static" >&2; exit 2; }
case "$repo" in *[[:space:]]*) echo "the repository path must not contain spaces" >&2; exit 2 ;; esac

rm -rf "$out"
mkdir -p "$out/initramfs/bin" "$out/initramfs/modules" "$out/results"

# Stage one: a busybox initramfs with just what mounting the host root takes.
cp "$busybox" "$out/initramfs/bin/busybox"
n=0
for m in virtio_pci 9pnet_virtio 9p overlay; do
	modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
	n=$((n + 1))
	cp "$ko" "$out/initramfs/modules/$(printf %02d "$n")-$(basename "$ko")"
done
cp "$here/stage1-init" "$out/initramfs/init"
chmod +x "$out/initramfs/init"
(cd "$out/initramfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"

echo "vm: kernel $kver, scenarios: $*"

scenario_file() {
	case $1 in
	*/*) echo "$repo/$1" ;;
	*) echo "$here/scenarios/$1.sh" ;;
	esac
}

# A scenario may ask for QEMU devices of its own in a line
# "# qemu: ARGS" (@RESULTS@ stands for the results directory, which the
# host reads afterwards; @MONITOR@ for a unix socket path for QEMU's
# monitor). Scenarios that ask for the same run in one boot.
qemu_extra() {
	sed -n 's/^# qemu: //p' "$(scenario_file "$1")" | head -1 |
		sed "s|@RESULTS@|$out/results|g; s|@MONITOR@|$out/monitor.sock|g"
}

# NAME.host-during.sh beside a scenario runs on the host while its boot
# runs, with the results directory (where the guest can leave it word)
# and the monitor socket path: it does what only QEMU can, such as typing
# on an emulated keyboard.
start_host_halves() { # SCENARIO...
	local s during
	for s in "$@"; do
		during=$(dirname "$(scenario_file "$s")")/$(basename "$s" .sh).host-during.sh
		[ -f "$during" ] || continue
		bash "$during" "$out/results" "$out/monitor.sock" \
			>"$out/results/$(basename "$s" .sh).host-during.log" 2>&1 &
		host_halves+=($!)
	done
}

guest_init() {
	sed -n 's/^# guest-init: //p' "$(scenario_file "$1")" | head -1
}

boot() { # EXTRA INIT SCENARIO...
	local extra=$1 init=$2
	shift 2
	# shellcheck disable=SC2086 # EXTRA is a list of arguments
	timeout --foreground "$timeout_s" qemu-system-x86_64 \
		-machine q35 -accel tcg -cpu max -smp 2 -m "$memory" \
		-nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$kernel" -initrd "$out/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 usbip.stage2=$here/stage2-init usbip.scenarios=$(IFS=,; echo "$*") usbip.repo=$repo${init:+ usbip.init=$init}" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs local,path="$out/results",mount_tag=results,security_model=none,multidevs=remap \
		-device virtio-rng-pci \
		$extra ${VM_QEMU_EXTRA:-} \
		</dev/null >>"$out/console.log" 2>&1
}

start=$(date +%s.%N)
qemu_status=0
done_list=" "
for s in "$@"; do
	case "$done_list" in *" $s "*) continue ;; esac
	extra=$(qemu_extra "$s")
	init=$(guest_init "$s")
	group=()
	for t in "$@"; do
		case "$done_list" in *" $t "*) continue ;; esac
		if [ "$(qemu_extra "$t")" = "$extra" ] && [ "$(guest_init "$t")" = "$init" ]; then
			group+=("$t")
			done_list="$done_list$t "
		fi
	done
	host_halves=()
	start_host_halves "${group[@]}"
	set +e
	boot "$extra" "$init" "${group[@]}"
	rc=$?
	[ ${#host_halves[@]} -eq 0 ] || kill "${host_halves[@]}" 2>/dev/null
	wait "${host_halves[@]}" 2>/dev/null
	set -e
	[ $rc -eq 0 ] || qemu_status=$rc
done
end=$(date +%s.%N)

status=0
[ $qemu_status -eq 124 ] && echo "vm: guest timed out after ${timeout_s}s" >&2
boot=$(sed -n 's/^boot //p' "$out/results/summary" 2>/dev/null | head -1)
for path in "$@"; do
	s=$(basename "$path" .sh)
	line=$(grep "^$s " "$out/results/summary" 2>/dev/null || true)
	if [ -z "$line" ]; then
		echo "vm: $s: NO RESULT (see $out/console.log)"
		status=1
		continue
	fi
	# A scenario's host half, NAME.host-check.sh beside it, judges what
	# only the host can see (such as what a QEMU device recorded).
	check=$(dirname "$(scenario_file "$path")")/$s.host-check.sh
	case "$line" in
	"$s PASS"*)
		if [ -f "$check" ] && ! bash "$check" "$out/results" >"$out/results/$s.host-check.log" 2>&1; then
			line="$s FAIL(host check) ${line##* }"
		fi
		;;
	esac
	[ -f "$check" ] && cat "$out/results/$s.host-check.log"
	echo "vm: $line"
	case "$line" in
	"$s PASS"*) ;;
	*)
		status=1
		echo "----- $s log (last 60 lines) -----"
		tail -60 "$out/results/$s.log" 2>/dev/null || true
		echo "-----"
		;;
	esac
done
printf 'vm: %s s from QEMU start to power off; kernel boot to first scenario: %s s\n' \
	"$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')" "${boot:-?}"
[ $status -eq 0 ] || { echo "----- console (last 40 lines) -----"; tail -40 "$out/console.log"; }
exit $status
