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
# reads through usb-storage with read-ahead on: e2e-storage.) With a
# usbfs share of 64 KiB the read-ahead's reserve (12 KiB) takes the short
# READs' data but not the 32 KiB one's: the transcript is the same again.
. "$USBIP_REPO/tests/vm/lib.sh"

worker=$(build_dir)/daemons/worker/usbip-worker
client=$(build_dir)/tests/usbip-bot-client
image=/tmp/bot.img
make_storage_gadget $image 8
b=$GADGET_BUSID
node=$(usb_node "$b")
trap 'for m in on off small; do echo "--- worker log ($m)"; cat /tmp/bot-$m.log; done' EXIT
all_scripts="read short-stall clear-halt unlink bot-reset port-reset other-length"

run() { # MODE PORT [WORKER OPTIONS]
	local mode=$1 port=$2 s rc
	shift 2
	local scripts=${scripts:-$all_scripts}
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
scripts=read run small 3247 --bot-readahead --usbfs-share 64

for s in $all_scripts; do
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
diff -u /tmp/bot-off-read.txt /tmp/bot-small-read.txt ||
	die "a 64 KiB share: the read-ahead changed what the client saw"
set_aside=$(grep -o "[0-9]* KiB in flight, [0-9]* KiB more set aside for read-ahead" /tmp/bot-small.log) ||
	die "a 64 KiB share: no read-ahead reserve in the log"
case $set_aside in "0 KiB"* | *" 0 KiB more"* | *" 6[4-9] KiB more"*) die "a 64 KiB share: $set_aside" ;; esac
grep -q "BOT read-ahead answered" /tmp/bot-small.log ||
	die "a 64 KiB share: nothing read ahead"
log "read with a 64 KiB share ($set_aside): the same replies ($(grep -o 'answered [0-9]* requests' /tmp/bot-small.log))"
log "PASS"
