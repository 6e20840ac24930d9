# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 14 item 10: the worker's Bulk-Only Transport read-ahead is
# transparent. usbip-bot-client runs the same BOT sequences (reads and a
# write, a short data stage with a stalled CSW, a clear-halt between data
# and CSW, an unlinked data request, Bulk-Only and port resets mid-
# command) against a worker with read-ahead and one without
# (--bot-readahead, --no-bot-readahead) on the same 8 MiB mass-storage gadget; the
# transcripts must be the same, reads bit-exact against the image. A data
# request of another length after the device gave the data: with
# read-ahead the session ends with a log line (nothing lost or invented),
# without it the device's first 512 bytes come. (fsck and bit-exact
# reads through usb-storage with read-ahead on: e2e-storage.)
. "$USBIP_REPO/tests/vm/lib.sh"

worker=$(build_dir)/daemons/worker/usbip-worker
client=$(build_dir)/tests/usbip-bot-client
image=/tmp/bot.img
make_storage_gadget $image 8
b=$GADGET_BUSID
node=$(usb_node "$b")
trap 'for m in on off; do echo "--- worker log ($m)"; cat /tmp/bot-$m.log; done' EXIT
scripts="read short-stall clear-halt unlink bot-reset port-reset other-length"

run() { # MODE PORT [WORKER OPTIONS]
	local mode=$1 port=$2 s rc
	shift 2
	$worker --device "$node" --listen tcp:127.0.0.1:$port "$@" 2>/tmp/bot-$mode.log &
	local wpid=$!
	wait_listening 127.0.0.1:$port
	for s in $scripts; do
		rc=0
		$client tcp:127.0.0.1:$port "$b" $s $image >/tmp/bot-$mode-$s.txt || rc=$?
		echo "exit $rc" >>/tmp/bot-$mode-$s.txt
	done
	kill $wpid
	wait $wpid || true
}
run on 3245 --bot-readahead
run off 3246 --no-bot-readahead

for s in $scripts; do
	[ $s = other-length ] && continue
	diff -u /tmp/bot-off-$s.txt /tmp/bot-on-$s.txt ||
		die "$s: the read-ahead changed what the client saw"
	grep -qx "exit 0" /tmp/bot-on-$s.txt || { cat /tmp/bot-on-$s.txt; die "$s failed"; }
	log "$s: the same $(wc -l </tmp/bot-on-$s.txt) replies with and without read-ahead"
done
grep -q "^submit: status 0 actual 512 data" /tmp/bot-off-other-length.txt ||
	die "other-length without read-ahead: not the device's 512 bytes"
grep -qx closed /tmp/bot-on-other-length.txt ||
	die "other-length with read-ahead: the session did not end"
grep -q "BOT read-ahead holds [0-9]* bytes" /tmp/bot-on.log ||
	die "other-length with read-ahead: no log line"
log "other-length: the device's 512 bytes without read-ahead; with it the session ends, logged"
grep -q "BOT read-ahead answered" /tmp/bot-on.log || die "nothing was read ahead"
! grep -q "BOT read-ahead" /tmp/bot-off.log || die "--no-bot-readahead read ahead"
log "PASS"
