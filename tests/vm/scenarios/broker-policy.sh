# SPDX-License-Identifier: GPL-2.0-or-later
# The policy keeps holding after the first check (issue 12, items 11, 12):
#   a "nothing but storage" rule (with-interface match-all { 08:*:* })
#   exports a pure mass-storage gadget and refuses a composite one that
#   is a disk and a keyboard, both 1d6b:0104;
#   a reload that denies an imported device ends its live session and
#   gives the device back to usb-storage;
#   a reload whose rule no longer names an --to destination ends the
#   live export session and gives the device back, and one that drops
#   the destination of an export that is redialling stops the redials;
#   a device without its configuration yet is denied by a deny on
#   keyboards that a later allow would have let pass, and judged on its
#   interfaces once configured;
#   a device that takes another configuration while exported (storage
#   in the first, a keyboard in the second) is judged again on its new
#   interfaces and unexported.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
attach=$bin/daemons/attach/usbip-attach
trap 'echo "--- broker log"; cat /tmp/broker.log' EXIT

make_storage_gadget /tmp/a.img 1 0
a=$GADGET_BUSID
make_composite_gadget /tmp/c.img 1 1
c=$GADGET_BUSID
want=$(sha256sum </tmp/a.img | cut -d' ' -f1)
modprobe vhci-hcd
wait_for 10 test -e /sys/bus/usb/devices/$a:1.0/driver || die "usb-storage did not bind $a"

storage_only='allow with-interface match-all { 08:*:* } from 127.0.0.1 to tcp:127.0.0.1:4010
deny'
start_broker 3240 "$storage_only"
policy() { printf '%s\n' "$1" >/tmp/broker-policy.conf && $ctl reload; }
# usb-storage's again, not usbfs's (a worker's claim is a driver too).
given_back() { readlink "/sys/bus/usb/devices/$a:1.0/driver" | grep -q '/usb-storage$'; }
not_exported() { $ctl list | grep -qP "^$a\t.*\tno\t"; }

log "--- nothing but storage: the disk goes, the disk with a keyboard does not"
$ctl list | tee /tmp/list
grep -qP "^$a\t.*\tallow:1\t" /tmp/list || die "the storage gadget is not allowed by line 1"
grep -qP "^$c\t.*\tdeny:2\t" /tmp/list || die "the storage+keyboard gadget is not denied by line 2"
set +e
$ctl export "$c" 2>/tmp/export.err; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "policy denies" /tmp/export.err || die "export of the composite: exit $rc, $(cat /tmp/export.err)"

log "--- a device without its configuration yet: no rule on interfaces decides"
policy 'deny with-interface one-of { 03:*:* }
allow id 1d6b:0104 from 127.0.0.1
deny'
echo 0 >/sys/bus/usb/devices/$c/bConfigurationValue
wait_for 10 sh -c "! test -e /sys/bus/usb/devices/$c:1.0" || die "$c kept its interfaces"
$ctl list | grep -qP "^$c\t.*\tdeny:1\t" || die "an unconfigured keyboard slipped past the deny on keyboards"
set +e
$ctl export "$c" 2>/dev/null; rc=$?
set -e
[ $rc -eq 1 ] || die "export of an unconfigured keyboard: exit $rc, want 1"
echo 1 >/sys/bus/usb/devices/$c/bConfigurationValue
wait_for 10 test -e /sys/bus/usb/devices/$c:1.1 || die "$c did not take its configuration again"
$ctl list | grep -qP "^$c\t.*\tdeny:1\t" || die "the configured keyboard is not denied by line 1"
$ctl list | grep -qP "^$a\t.*\tallow:2\t" || die "the storage gadget is not allowed by line 2"
policy "$storage_only"
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
$attach listen tcp:127.0.0.1:4010 --from 127.0.0.1 2>/tmp/listen.log &
lpid=$!
wait_listening 127.0.0.1:4010
$ctl export "$a" --to tcp:127.0.0.1:4010
check_vhci_disk "$want"
policy 'allow with-interface match-all { 08:*:* } from 127.0.0.1 to tcp:127.0.0.1:4011
deny'
wait_detached
wait_for 10 given_back || die "$a was not given back after its destination was dropped"
started=$(grep -c "session started, worker [0-9]* exporting $a" /tmp/broker.log)
sleep 3 # the listener still listens: a redial would have come back by now
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
before=$(failures)
# Backoff 1, 2, 4 s (+ up to a quarter, + the 1 s timer): the attempt
# after the second or third falls in here.
sleep 6
[ "$(failures)" -eq "$before" ] || die "the broker kept redialling a dropped destination"
wait_for 10 given_back || die "$a was not given back after its destination was dropped"
grep -q "its rule no longer names the destination; unexporting it" /tmp/broker.log || die "no log of the dropped destination"

log "--- a device that takes another configuration while exported"
echo "" >/sys/kernel/config/usb_gadget/composite1-one/UDC
composite_gone() { ! gadget_busid 1; }
wait_for 10 composite_gone || die "the composite gadget did not go away"
make_composite_gadget /tmp/t.img 1 1 two
t=$GADGET_BUSID
policy "$storage_only"
$ctl list | grep -qP "^$t\t.*\tallow:1\t" || die "$t in its storage configuration is not allowed by line 1"
$ctl export "$t"
# What an importer's SET_CONFIGURATION does to it, done here directly:
# the keyboard configuration is what the policy refuses.
echo 2 >/sys/bus/usb/devices/$t/bConfigurationValue
wait_for 10 grep -q "$t (configured): the policy denies it now; unexporting it" /tmp/broker.log ||
	die "the broker did not judge $t again in its new configuration"
wait_for 10 sh -c "$ctl list | grep -qP '^$t\t.*\tno\tdeny:2\t'" || die "$t, now a keyboard, is still exported"

stop_broker
log "the policy holds after the first check"
