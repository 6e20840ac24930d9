# SPDX-License-Identifier: GPL-2.0-or-later
# The policy keeps holding after the first check (issue 12, items 11, 12):
#   a "nothing but storage" rule (with-interface match-all { 08:*:* })
#   exports a pure mass-storage gadget and refuses a composite one that
#   is a disk and a keyboard, both 1d6b:0104;
#   a reload that denies an imported device ends its live session and
#   gives the device back to usb-storage;
#   a reload whose rule no longer names an --to destination ends the
#   live export session and gives the device back, and one that drops
#   the destination of an export that is redialling stops the redials.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
attach=$bin/daemons/attach/usbip-attach
trap 'echo "--- broker log"; cat /tmp/broker.log' EXIT

make_storage_gadget /tmp/a.img 8 0
a=$GADGET_BUSID
make_composite_gadget /tmp/c.img 8 1
c=$GADGET_BUSID
want=$(sha256sum </tmp/a.img | cut -d' ' -f1)
modprobe vhci-hcd
wait_for 10 test -e /sys/bus/usb/devices/$a:1.0/driver || die "usb-storage did not bind $a"

storage_only='allow with-interface match-all { 08:*:* } from 127.0.0.1 to tcp:127.0.0.1:4010
deny'
start_broker 3240 "$storage_only"
policy() { printf '%s\n' "$1" >/tmp/broker-policy.conf && $ctl reload; }
given_back() { test -e "/sys/bus/usb/devices/$a:1.0/driver"; }
not_exported() { $ctl list | grep -qP "^$a\t.*\tno\t"; }

log "--- nothing but storage: the disk goes, the disk with a keyboard does not"
$ctl list | tee /tmp/list
grep -qP "^$a\t.*\tallow:1$" /tmp/list || die "the storage gadget is not allowed by line 1"
grep -qP "^$c\t.*\tdeny:2$" /tmp/list || die "the storage+keyboard gadget is not denied by line 2"
set +e
$ctl export "$c" 2>/tmp/export.err; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "policy denies" /tmp/export.err || die "export of the composite: exit $rc, $(cat /tmp/export.err)"
$ctl export "$a"

log "--- a reload that denies a device ends its live session"
$attach connect tcp:127.0.0.1:3240 "$a"
check_vhci_disk "$want"
policy 'allow id 1d6b:0104 serial 0099 from 127.0.0.1
deny'
wait_detached
wait_for 10 given_back || die "$a was not given back to usb-storage"
wait_for 10 sh -c "! $ctl status | grep -q '^$a'" || die "the session on $a lingers"
not_exported || die "$a still exported after a reload that denies it"
grep -q "$a (reload): the policy denies it now; unexporting it" /tmp/broker.log || die "no log of the unexport"
$attach detach --all 2>/dev/null || true

log "--- a reload that drops the destination of a live export --to"
policy "$storage_only"
$attach listen tcp:127.0.0.1:4010 2>/tmp/listen.log &
lpid=$!
wait_listening 127.0.0.1:4010
$ctl export "$a" --to tcp:127.0.0.1:4010
check_vhci_disk "$want"
policy 'allow with-interface match-all { 08:*:* } from 127.0.0.1 to tcp:127.0.0.1:4011
deny'
wait_detached
wait_for 10 given_back || die "$a was not given back after its destination was dropped"
started=$(grep -c "session started, worker [0-9]* exporting $a" /tmp/broker.log)
sleep 4 # the listener still listens: a redial would have come back by now
[ "$(grep -c "session started, worker [0-9]* exporting $a" /tmp/broker.log)" -eq "$started" ] ||
	die "the broker dialled a destination the policy no longer names"
kill $lpid
wait $lpid 2>/dev/null || true

log "--- a reload that drops the destination of a redialling export"
policy "$storage_only"
$ctl export "$a" --to tcp:127.0.0.1:4010 # nobody listens: it redials
failures() { grep -c "export $a to tcp:127.0.0.1:4010:" /tmp/broker.log || true; }
wait_for 10 sh -c "[ \$(grep -c 'export $a to tcp:127.0.0.1:4010:' /tmp/broker.log) -ge 2 ]" ||
	die "the broker did not redial"
policy 'allow with-interface match-all { 08:*:* } from 127.0.0.1 to tcp:127.0.0.1:4011
deny'
wait_for 10 given_back || die "$a was not given back after its destination was dropped"
before=$(failures)
sleep 5 # backoff 1, 2, 4 s: another attempt would fall in here
[ "$(failures)" -eq "$before" ] || die "the broker kept redialling a dropped destination"
grep -q "its rule no longer names the destination; unexporting it" /tmp/broker.log || die "no log of the dropped destination"

stop_broker
log "the policy holds after the first check"
