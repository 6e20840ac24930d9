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

# hostile script -> the field the worker's log line must name
while read -r name field; do
	before=$(grep -c "refused\|malformed" /tmp/worker.log || true)
	$probe tcp:127.0.0.1:3242 1-1 "hostile-$name" || die "hostile-$name"
	wait_for 5 sh -c "[ \$(grep -c 'refused\|malformed' /tmp/worker.log) -gt $before ]" ||
		die "hostile-$name: no refusal logged"
	line=$(grep "refused\|malformed" /tmp/worker.log | tail -1)
	case "$line" in
	*": $field = "*) log "hostile-$name: $line" ;;
	*) die "hostile-$name: expected field '$field' in: $line" ;;
	esac
	kill -0 $wpid 2>/dev/null || die "the worker died on hostile-$name"
done <<'ROWS'
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

# Still serving a healthy client after all of that.
$probe tcp:127.0.0.1:3242 1-1 inflight-64 || die "the worker stopped serving"
log "usbip-worker protocol and refusals verified"
