# SPDX-License-Identifier: GPL-2.0-or-later
# usbip-worker in place of the kernel's usbip-host: a mass-storage gadget
# served from userspace through libusb, imported by usbip-attach and by
# upstream usbip attach, and offered in the device-initiated direction.
# Every import must read back bit-exact.
. "$USBIP_REPO/tests/vm/lib.sh"

worker=$(build_dir)/daemons/worker/usbip-worker
attach=$(build_dir)/daemons/attach/usbip-attach
[ -x "$worker" ] && [ -x "$attach" ] || die "build first"

trap 'echo "--- worker logs"; cat /tmp/worker*.log 2>/dev/null' EXIT
image=/tmp/worker.img
make_storage_gadget "$image" 32
want=$(sha256sum <"$image" | cut -d' ' -f1)
modprobe vhci-hcd
node=$(usb_node 1-1)
log "serving $node"

log "--- import with usbip-attach"
$worker --device "$node" --listen tcp:127.0.0.1:3241 2>/tmp/worker.log &
wpid=$!
wait_listening 127.0.0.1:3241
$attach list tcp:127.0.0.1:3241 | tee /tmp/list
grep -q "1-1: 1d6b:0104 high-speed" /tmp/list || die "the worker's device list lacks 1-1"
$attach connect tcp:127.0.0.1:3241 1-1
check_vhci_disk "$want"
log "--- the serving worker is confined"
grep -E '^(Seccomp|NoNewPrivs|CapEff|CapPrm|CapBnd):' /proc/$wpid/status
grep -q '^Seccomp:[[:space:]]*2$' /proc/$wpid/status || die "worker not under a seccomp filter"
grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/$wpid/status || die "worker lacks no_new_privs"
grep -q '^CapEff:[[:space:]]*0000000000000000$' /proc/$wpid/status || die "worker kept capabilities"
$attach detach --all
wait_detached

log "--- import with upstream usbip"
usbip --tcp-port 3241 list -r 127.0.0.1 | grep -q "1-1:" || die "upstream usbip list does not see 1-1"
usbip --tcp-port 3241 attach -r 127.0.0.1 -b 1-1
check_vhci_disk "$want"
usbip detach -p 0
wait_detached
kill $wpid
wait $wpid || true
cat /tmp/worker.log
grep -q "session ended (client left)" /tmp/worker.log || die "the worker did not log a clean end"

log "--- device-initiated: the worker dials usbip-attach listen"
$attach listen tcp:127.0.0.1:4010 --from 127.0.0.1 2>/tmp/listen.log &
lpid=$!
wait_listening 127.0.0.1:4010
$worker --device "$node" --export-to tcp:127.0.0.1:4010 2>/tmp/worker-export.log &
wpid=$!
check_vhci_disk "$want"
$attach detach --all
wait_detached
wait $wpid || die "the exporting worker failed"
kill $lpid
cat /tmp/worker-export.log
log "--- the filter kills a forbidden syscall (test-hook build)"
set +e
USBIP_WORKER_TEST_FORBIDDEN_SYSCALL=1 $worker --device "$node" --listen tcp:127.0.0.1:3249 2>/tmp/worker-probe.log
rc=$?
set -e
log "probe exit status $rc"
[ $rc -eq 159 ] || die "expected death by SIGSYS (159), got $rc"
log "usbip-worker verified"
