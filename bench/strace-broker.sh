# SPDX-License-Identifier: GPL-2.0-or-later
# Profiling aid, not a test: which syscalls usbip-brokerd makes in steady
# state (after start-up and one export), over 10 s idle, 10 device-list
# sessions, and one import that reads the whole disk. Only the broker
# process is traced (strace -p, no -f): workers are not the broker.
# Run: tests/vm/run.sh bench/strace-broker.sh
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
make_storage_gadget /tmp/strace.img 32
want=$(sha256sum </tmp/strace.img | cut -d' ' -f1)
modprobe vhci-hcd
printf 'allow id 1d6b:0104 from 127.0.0.1\n' >/tmp/policy.conf
$bin/daemons/brokerd/usbip-brokerd --listen tcp:127.0.0.1:3240 --control /run/ub.sock \
	--policy /tmp/policy.conf --worker "$bin/daemons/worker/usbip-worker" 2>/tmp/broker.log &
bpid=$!
wait_listening 127.0.0.1:3240
$bin/daemons/brokerctl/usbip-brokerctl --socket /run/ub.sock export 1-1
strace -c -p $bpid -o /tmp/strace.txt &
spid=$!
sleep 10
for i in $(seq 10); do usbip list -r 127.0.0.1 >/dev/null; done
usbip attach -r 127.0.0.1 -b 1-1
check_vhci_disk "$want"
usbip detach -p 0
wait_detached
sleep 2
kill -INT $spid
wait $spid || true
cat /tmp/strace.txt
kill $bpid
