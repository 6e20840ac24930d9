# SPDX-License-Identifier: GPL-2.0-or-later
# The worker's USB/IP semantics and its refusals, with a scripted client
# (usbip-probe) against the real mass-storage gadget: unlink before and
# after completion, 64 URBs in flight, and one session per malformed
# request of shared NOTES section 2. Each malformed request must end its
# session with one log line naming the field, while the worker goes on
# serving the next client.
. "$USBIP_REPO/tests/vm/lib.sh"

worker=$(build_dir)/daemons/worker/usbip-worker
probe=$(build_dir)/tests/usbip-probe
make_storage_gadget /tmp/proto.img 8
node=$(usb_node 1-1)
$worker --device "$node" --listen tcp:127.0.0.1:3242 2>/tmp/worker.log &
wpid=$!
trap 'echo "--- worker log"; cat /tmp/worker.log' EXIT
wait_listening 127.0.0.1:3242

for script in unlink-pending unlink-completed inflight-64; do
	$probe tcp:127.0.0.1:3242 1-1 $script || die "$script"
done

check_hostile tcp:127.0.0.1:3242 1-1 /tmp/worker.log $wpid

# Still serving a healthy client after all of that.
$probe tcp:127.0.0.1:3242 1-1 inflight-64 || die "the worker stopped serving"
log "usbip-worker protocol and refusals verified"
