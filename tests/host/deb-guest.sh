# SPDX-License-Identifier: GPL-2.0-or-later
# The guest half of tests/host/deb-test.sh: installs the packages it built
# (build-deb/*.deb) with dpkg -i into this guest's overlay root, checks
# what the maintainer scripts did, that the administrator's policy
# survives a reinstall, and runs the demo's export and attach from the
# installed paths only (no --worker: the broker finds the packaged
# worker by itself).
. "$USBIP_REPO/tests/vm/lib.sh"

debs=$USBIP_REPO/build-deb
ls "$debs"/usbip-broker_*.deb "$debs"/usbip-attach_*.deb >/dev/null || die "no packages in $debs"
# The overlay root is the build host's: nothing of ours may be there yet.
for f in /usr/sbin/usbip-brokerd /usr/sbin/usbip-attach /etc/usbip-broker/policy.conf; do
	[ ! -e "$f" ] || die "$f exists before the install"
done
# man-db's trigger re-indexes every page of the 9p root: minutes under
# TCG. Without this file it does nothing.
rm -f /var/lib/man-db/auto-update
dpkg -i "$debs"/usbip-broker_*.deb "$debs"/usbip-attach_*.deb || die "dpkg -i failed"
dpkg-query -W -f='${Package} ${Version} ${Status}\n' usbip-broker usbip-attach

log "installed files and what the maintainer scripts made"
for f in /usr/sbin/usbip-brokerd /usr/sbin/usbip-brokerctl /usr/sbin/usbip-attach \
	/usr/libexec/usbip-worker /lib/systemd/system/usbip-brokerd.service \
	/lib/systemd/system/usbip-export@.service /lib/systemd/system/usbip-attach.socket \
	/lib/systemd/system/usbip-attach.service /lib/udev/rules.d/70-usbip-export.rules \
	/usr/lib/sysusers.d/usbip-broker.conf /usr/lib/tmpfiles.d/usbip-broker.conf \
	/usr/lib/tmpfiles.d/usbip-attach.conf /usr/share/man/man8/usbip-brokerd.8.gz \
	/usr/share/man/man8/usbip-attach.8.gz; do
	[ -e "$f" ] || die "$f is not installed"
done
getent group usbip-broker || die "the sysusers entry made no usbip-broker group"
[ "$(stat -c '%a %U %G' /run/usbip-broker)" = "750 root usbip-broker" ] ||
	die "/run/usbip-broker is $(stat -c '%a %U %G' /run/usbip-broker)"
[ -d /run/vhci_hcd ] || die "the tmpfiles entry made no /run/vhci_hcd"
dpkg-query -W -f='${Conffiles}\n' usbip-broker | grep -q ' /etc/usbip-broker/policy.conf ' ||
	die "the policy is not a conffile"
# The shipped policy denies everything: its only rule is a bare deny.
[ "$(grep -v '^#' /etc/usbip-broker/policy.conf | grep -v '^[[:space:]]*$')" = deny ] ||
	die "the shipped policy is not deny-all"
# Installed disabled: nothing listens after the install.
[ "$(systemctl is-enabled usbip-brokerd.service 2>/dev/null || true)" = disabled ] ||
	die "usbip-brokerd.service is $(systemctl is-enabled usbip-brokerd.service) after the install"

log "the administrator's policy survives a reinstall"
cat >/etc/usbip-broker/policy.conf <<'POLICY'
# the demo disk, to importers on this machine
allow id 1d6b:0104 from 127.0.0.1
deny
POLICY
sum=$(sha256sum </etc/usbip-broker/policy.conf)
dpkg -i --force-confnew "$debs"/usbip-broker_*.deb >/dev/null ||
	die "the reinstall failed"
[ "$(sha256sum </etc/usbip-broker/policy.conf)" = "$sum" ] ||
	die "the reinstall replaced the administrator's policy"

log "the demo's export and attach, from the installed paths"
mkdir -p /tmp/demo-files
head -c 65536 /dev/urandom >/tmp/demo-files/payload
make_storage_gadget /tmp/demo.img 16 >/dev/null
echo "" >/sys/kernel/config/usb_gadget/storage/UDC
mke2fs -q -F -t ext4 -d /tmp/demo-files /tmp/demo.img
echo dummy_udc.0 >/sys/kernel/config/usb_gadget/storage/UDC
wait_for 20 gadget_busid || die "the gadget did not come back"
b=$(gadget_busid)
wait_for 20 test -e "/sys/bus/usb/devices/$b:1.0/driver" || die "usb-storage did not bind"

# The packaged defaults: policy in /etc, worker in /usr/libexec, control
# socket in /run/usbip-broker with the packaged group.
/usr/sbin/usbip-brokerd --listen tcp:127.0.0.1:3240 --control-group usbip-broker 2>/tmp/broker.log &
bpid=$!
trap 'kill $bpid 2>/dev/null || true' EXIT
wait_listening 127.0.0.1:3240
/usr/sbin/usbip-brokerctl list | tee /tmp/list.txt
# Issue 16 item 7 on a real device: hwdb names, show, generate-policy.
grep -q "Linux Foundation" /tmp/list.txt || die "list has no hwdb vendor name"
/usr/sbin/usbip-brokerctl show "$b" | tee /tmp/show.txt
grep -q "^interface  *0 08:06:50 mass storage" /tmp/show.txt || die "show has no storage interface"
grep -q "^policy  *allow (rule at /etc/usbip-broker/policy.conf:2)" /tmp/show.txt ||
	die "show does not name the deciding rule"
grep -q "^serial  *0001" /tmp/show.txt || die "show has no serial"
/usr/sbin/usbip-brokerctl generate-policy | tee /tmp/generated.conf
grep -qx 'allow id 1d6b:0104 serial "0001" with-interface equals { 08:06:50 }' /tmp/generated.conf ||
	die "generate-policy wrote no rule for the gadget"
# The generated rule, given importers, lets the gadget out: the broker
# reloads it and the export below runs under it.
sed -i 's/^allow id 1d6b:0104 .*/& from 127.0.0.1/' /tmp/generated.conf
cp /tmp/generated.conf /etc/usbip-broker/policy.conf
/usr/sbin/usbip-brokerctl reload || die "the broker refused the generated policy"
/usr/sbin/usbip-brokerctl export "$b" || die "export failed"
/usr/sbin/usbip-brokerctl show "$b" | grep -q "^exported  *yes" || die "show does not say exported"
modprobe vhci-hcd
/usr/sbin/usbip-attach connect tcp:127.0.0.1:3240 "$b" || die "attach failed"
wait_for 30 vhci_disk || die "no disk appeared behind vhci_hcd"
/usr/sbin/usbip-brokerctl status
/usr/sbin/usbip-brokerctl show "$b" | grep -q "^session  *import by " ||
	die "show has no session: $(/usr/sbin/usbip-brokerctl show "$b")"
grep -q "worker /usr/libexec/usbip-worker" /tmp/broker.log || die "the broker did not use the packaged worker"
mkdir -p /mnt/demo
mount -o ro "$(vhci_disk)" /mnt/demo
cmp /mnt/demo/payload /tmp/demo-files/payload || die "the file read through the import differs"
umount /mnt/demo
log "the file on the imported disk reads back bit-exact"
/usr/sbin/usbip-attach port | tee /tmp/port.txt
grep -q "1d6b:0104 Linux Foundation" /tmp/port.txt || die "port has no hwdb names"
/usr/sbin/usbip-attach detach --all
wait_detached
/usr/sbin/usbip-brokerctl unexport "$b"
wait_for 20 test -e "/sys/bus/usb/devices/$b:1.0/driver" || die "usb-storage did not get the device back"
# show's dial state: an export --to a destination nobody listens on is
# redialled with backoff, and show says when the next attempt is.
cat >/etc/usbip-broker/policy.conf <<'POLICY'
allow id 1d6b:0104 to unix:/tmp/absent.sock
deny
POLICY
/usr/sbin/usbip-brokerctl reload || die "reload failed"
/usr/sbin/usbip-brokerctl export "$b" --to unix:/tmp/absent.sock || die "export --to failed"
wait_for 20 sh -c "/usr/sbin/usbip-brokerctl show $b | grep -q '^dial  *next in [0-9]* s (backoff [1-9]'" ||
	die "show has no redial state: $(/usr/sbin/usbip-brokerctl show "$b")"
/usr/sbin/usbip-brokerctl show "$b" | grep -E '^(exported|export_to|session|dial) '
/usr/sbin/usbip-brokerctl unexport "$b"
kill -TERM $bpid
wait $bpid || die "the broker's exit status was not 0"
trap - EXIT

log "remove and purge"
dpkg --purge usbip-broker usbip-attach || die "purge failed"
[ ! -e /etc/usbip-broker/policy.conf ] || die "purge left the policy"
[ ! -e /usr/sbin/usbip-brokerd ] || die "purge left usbip-brokerd"
cat /tmp/broker.log
