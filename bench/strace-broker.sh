# SPDX-License-Identifier: GPL-2.0-or-later
# Profiling aid, not a test: which syscalls usbip-brokerd makes in steady
# state (after start-up), over 10 s idle, an export, 10 device-list
# sessions, one import that reads the whole disk, and the unexport. Only
# the broker process is traced (strace -p, no -f): workers and the
# dialler are not the broker. The broker runs rootless, as the default
# unit runs it: uid 4242, the gadget's and its hub's nodes given to it
# (here by owner; the udev rule gives a group). The list goes into
# daemons/brokerd/README.md.
# Run: tests/vm/run.sh bench/strace-broker.sh (systemd as init, so that
# it can share a boot with tests/vm/scenarios/systemd-units.sh).
# guest-init: systemd
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
uid=4242
# After systemd-units.sh in the same boot its units and udev rule are
# installed: the gadget would go to their broker.
if [ -d /run/systemd/system ]; then
	rm -f /usr/local/lib/udev/rules.d/70-usbip-export.rules
	udevadm control --reload
	systemctl stop usbip-brokerd.service usbip-attach.socket usbip-attach.service 2>/dev/null || true
fi
make_storage_gadget /tmp/strace.img 32
want=$(sha256sum </tmp/strace.img | cut -d' ' -f1)
b=$(gadget_busid)
hub=usb${b%%-*}
chown $uid "$(usb_node "$b")" "$(usb_node "$hub")"
modprobe vhci-hcd
mkdir -p /tmp/ub
chown $uid /tmp/ub
printf 'allow id 1d6b:0104 from 127.0.0.1\n' >/tmp/ub/policy.conf
setpriv --reuid=$uid --regid=$uid --clear-groups --inh-caps=-all --bounding-set=-all \
	$bin/daemons/brokerd/usbip-brokerd --listen tcp:127.0.0.1:3240 --control /tmp/ub/ctl.sock \
	--policy /tmp/ub/policy.conf --worker "$bin/daemons/worker/usbip-worker" 2>/tmp/broker.log &
bpid=$!
wait_listening 127.0.0.1:3240
grep -q "rootless mode" /tmp/broker.log || die "the broker is not rootless: $(cat /tmp/broker.log)"
strace -qq -c -p $bpid -o /tmp/strace.txt &
spid=$!
sleep 10
$bin/daemons/brokerctl/usbip-brokerctl --socket /tmp/ub/ctl.sock export "$b"
for i in $(seq 10); do usbip list -r 127.0.0.1 >/dev/null; done
usbip attach -r 127.0.0.1 -b "$b"
check_vhci_disk "$want"
usbip detach -p 0
wait_detached
$bin/daemons/brokerctl/usbip-brokerctl --socket /tmp/ub/ctl.sock unexport "$b"
sleep 2
kill -INT $spid
wait $spid || true
cat /tmp/strace.txt
echo "steady-state syscalls: $(awk 'NR > 2 && $NF ~ /^[a-z_0-9]+$/ && $NF != "total" {print $NF}' /tmp/strace.txt | sort | tr '\n' ' ')"
kill $bpid
wait $bpid
cat /tmp/broker.log
log "PASS"
