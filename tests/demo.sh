#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo: on a fresh Debian 12 machine, as root,
#
#   tests/demo.sh
#
# installs what it needs, builds, boots Debian's kernel under QEMU and
# there shows a USB device (an emulated mass-storage gadget) exported by
# usbip-brokerd and attached by usbip-attach, with lsusb and a read from
# the device, each step explained as it runs. About 2 minutes once
# installed. --no-install skips the package step.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

if [ "${1:-}" != --no-install ]; then
	say "Installing the build chain, the libraries, QEMU, a kernel and the upstream usbip tools (tests/install-deps.sh)"
	bash tests/install-deps.sh >/tmp/usbip-broker-demo-install.log 2>&1 ||
		{ tail -20 /tmp/usbip-broker-demo-install.log; exit 1; }
	echo "done (log: /tmp/usbip-broker-demo-install.log)"
fi

say "Building with meson and ninja into build/"
if [ -f build/build.ninja ]; then
	ninja -C build >/dev/null
else
	meson setup build -Dlibusb=enabled -Dudev=enabled -Dseccomp=enabled \
		-Dcapng=enabled -Dsystemd=enabled >/dev/null
	ninja -C build >/dev/null
fi
ls build/daemons/*/usbip-* | grep -v '\.p$'

say "Booting Debian's kernel under QEMU (software emulation, no KVM needed); the guest's steps follow"
out=build/demo
log=$out/results/demo-guest.log
rm -rf "$out"
tests/vm/run.sh -o "$out" tests/demo-guest.sh >/tmp/usbip-broker-demo-vm.log 2>&1 &
vm=$!
# The guest writes its log into a directory shared with this host: show
# it as it grows.
until [ -e "$log" ] || ! kill -0 $vm 2>/dev/null; do sleep 1; done
tail -n +1 -F "$log" 2>/dev/null &
tailer=$!
status=0
wait $vm || status=$?
sleep 1
kill $tailer 2>/dev/null || true
wait $tailer 2>/dev/null || true
if [ $status -eq 0 ]; then
	say "Done. Next: the whole test suite, tests/run-all.sh"
else
	say "The demo failed; QEMU's side is in /tmp/usbip-broker-demo-vm.log"
	tail -20 /tmp/usbip-broker-demo-vm.log
fi
exit $status
