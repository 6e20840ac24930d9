# SPDX-License-Identifier: GPL-2.0-or-later
# The installed units under systemd as PID 1, as a packaged system runs
# them: `meson install`, sysusers and tmpfiles, then a policy-matching
# gadget appears; udev's rule asks the broker's policy, starts
# usbip-export@BUSID, which pulls in usbip-brokerd (Type=notify, hardened);
# the broker dials usbip-attach.socket, socket activation attaches the
# device to vhci_hcd and the disk reads back bit-exact. Unbinding the
# gadget ends the session and stops the unit; binding it again starts it
# all over. The broker runs rootless, as the unit ships it: its own user,
# no capability, the usbfs nodes given to it by the udev rule, workers
# mapped to its uid. Last, the root-mode drop-in, and the same export
# through it. Prints systemd-analyze security for both modes.
# guest-init: systemd
. "$USBIP_REPO/tests/vm/lib.sh"

build=$(build_dir)
[ "$(cat /proc/1/comm)" = systemd ] || die "PID 1 is $(cat /proc/1/comm), not systemd"
trap 'echo "--- journal of the units"; journalctl -b --no-pager -o short-monotonic \
	-u usbip-brokerd.service -u "usbip-export@*" -u usbip-attach.service -u usbip-attach.socket \
	-u systemd-udevd.service | tail -80; dmesg | grep "type=1326" | tail -3' EXIT

log "--- meson install into the guest's /usr/local"
meson install -C "$build" --no-rebuild --quiet >/tmp/install.log 2>&1 ||
	{ cat /tmp/install.log; die "meson install failed"; }
etc=/usr/local/etc/usbip-broker
units=/usr/local/lib/systemd/system
for f in "$units/usbip-brokerd.service" "$units/usbip-export@.service" \
	"$units/usbip-attach.service" "$units/usbip-attach.socket" \
	/usr/local/share/usbip-broker/usbip-brokerd-root.conf \
	/usr/local/lib/udev/rules.d/70-usbip-export.rules \
	/usr/local/lib/sysusers.d/usbip-broker.conf /usr/local/lib/tmpfiles.d/usbip-broker.conf \
	/usr/local/sbin/usbip-brokerd /usr/local/libexec/usbip-worker; do
	[ -e "$f" ] || die "not installed: $f"
done
# What a package's scripts do after installing.
systemd-sysusers usbip-broker.conf
systemd-tmpfiles --create usbip-broker.conf
getent group usbip-broker >/dev/null || die "sysusers made no group usbip-broker"
getent group usbip-usb >/dev/null || die "sysusers made no group usbip-usb"
buid=$(id -u usbip-broker) || die "sysusers made no user usbip-broker"
[ "$(id -gn usbip-broker)" = usbip-broker ] || die "usbip-broker's primary group is $(id -gn usbip-broker)"
[ -d /run/vhci_hcd ] || die "tmpfiles made no /run/vhci_hcd"

# As shipped, the importing side is a unix socket only root opens.
systemctl daemon-reload
systemctl start usbip-attach.socket
stat -c "%U %a %F" /run/usbip-attach.sock | tee /tmp/asock
grep -qx "root 600 socket" /tmp/asock || die "the shipped usbip-attach.socket is not a root-only unix socket"
systemctl stop usbip-attach.socket

# The importing side listens on 3241 here: the broker has 3240 on the same
# (loopback) host. An empty ListenStream= drops the unit's own list; a
# loopback socket takes --from 127.0.0.1 (usbip-broker-units(7)).
mkdir -p /etc/systemd/system/usbip-attach.socket.d /etc/systemd/system/usbip-attach.service.d
printf '[Socket]\nListenStream=\nListenStream=127.0.0.1:3241\n' \
	>/etc/systemd/system/usbip-attach.socket.d/test.conf
printf '[Service]\nEnvironment="USBIP_ATTACH_OPTIONS=--from 127.0.0.1"\n' \
	>/etc/systemd/system/usbip-attach.service.d/from.conf
mkdir -p "$etc"
cat >"$etc/policy.conf" <<'POLICY'
# the test gadget goes to the importer on this host as soon as it appears
allow id 1d6b:0104 serial 0001 to tcp:127.0.0.1:3241 auto
deny
POLICY
systemctl daemon-reload
udevadm control --reload
systemctl start usbip-attach.socket
systemctl is-active usbip-brokerd.service && die "the broker runs before any device asked for it"
modprobe vhci-hcd

image=/tmp/units.img
want=
plugged() {
	log "--- gadget bound: udev, usbip-export@$b, the broker, usbip-attach"
	wait_for 60 systemctl is-active -q usbip-export@$b.service ||
		{ systemctl status --no-pager "usbip-export@$b.service" || true; die "udev did not start usbip-export@$b"; }
	udevadm info /sys/bus/usb/devices/$b | grep -q 'USBIP_BROKER_POLICY=auto' ||
		die "udev has no policy verdict on $b"
	check_vhci_disk "$want"
	systemctl is-active -q usbip-attach.service || die "socket activation started no usbip-attach"
	# The worker's claim shows as "usbfs"; the host's driver must not.
	drv=$(basename "$(readlink /sys/bus/usb/devices/$b:1.0/driver)")
	[ "$drv" = usbfs ] || die "the exported device's interface has driver '$drv', not the worker's usbfs claim"
}

# nodes: the usbfs nodes of the gadget and of its hub, with owners.
nodes() {
	local hub=usb${b%%-*}
	stat -c "%U:%G %a %n" "$(usb_node "$b")" "$(usb_node "$hub")"
}

make_storage_gadget "$image" 16
b=$GADGET_BUSID
want=$(sha256sum <"$image" | cut -d' ' -f1)
plugged

log "--- the broker as systemd runs it"
systemctl show -p Type -p ActiveState -p StatusText usbip-brokerd.service | tee /tmp/show
grep -qx 'Type=notify' /tmp/show || die "the broker is not Type=notify"
grep -q '^StatusText=1 exported, 1 session' /tmp/show || die "the broker's status text is not live"
bpid=$(systemctl show -p MainPID --value usbip-brokerd.service)
grep -E '^(NoNewPrivs|Seccomp|CapEff|CapBnd):' "/proc/$bpid/status" | tee /tmp/bstatus
grep -qP '^NoNewPrivs:\t1$' /tmp/bstatus || die "the broker runs without NoNewPrivileges"
grep -qP '^Seccomp:\t2$' /tmp/bstatus || die "the broker runs without a system call filter"
# Rootless: its own uid, and no capability even in its bounding set.
grep -E '^Uid:' "/proc/$bpid/status" | tee -a /tmp/bstatus
grep -qP "^Uid:\t$buid\t$buid\t$buid\t$buid$" /tmp/bstatus || die "the broker is not usbip-broker ($buid)"
grep -qP '^CapBnd:\t0+$' /tmp/bstatus || die "the broker's bounding set is not empty"
grep -qP '^CapEff:\t0+$' /tmp/bstatus || die "the broker has capabilities"
journalctl -b --no-pager -u usbip-brokerd.service | grep -q "rootless mode: workers run as uid $buid" ||
	die "the broker did not say it runs rootless"
# udev gave the broker's group the gadget's node and its hub's.
nodes | tee /tmp/nodes
[ "$(awk '$1":"$2 != "root:usbip-usb:664"' /tmp/nodes)" = "" ] || die "the exported device's or hub's node is not root:usbip-usb 0664"
id usbip-broker | grep -q "(usbip-usb)" || die "usbip-broker is not in usbip-usb"
[ "$(getent group usbip-usb | cut -d: -f4)" = usbip-broker ] || die "usbip-usb has other members"
wpid=$(pgrep -f -P "$bpid" usbip-worker | head -1)
[ -n "$wpid" ] || die "no worker under the broker"
grep -E '^(Uid|NoNewPrivs|Seccomp|CapEff):' "/proc/$wpid/status" | tee /tmp/wstatus
# Without root the kernel maps a worker to the broker's own uid.
grep -qP "^Uid:\t$buid\t" /tmp/wstatus || die "the worker does not run as the broker's uid $buid"
grep -qP '^Seccomp:\t2$' /tmp/wstatus || die "the worker has no filter"
grep -qP '^CapEff:\t0+$' /tmp/wstatus || die "the worker has capabilities"
[ "$(readlink /proc/$wpid/ns/pid)" != "$(readlink /proc/$bpid/ns/pid)" ] || die "the worker shares the broker's pid namespace"
[ "$(ps -o sid= -p "$wpid")" != "$(ps -o sid= -p "$bpid")" ] || die "the worker is in the broker's session"
systemd-analyze security --no-pager usbip-brokerd.service | tail -1 | tee /tmp/score
score=$(sed -n 's/.*usbip-brokerd.service: \([0-9.]*\).*/\1/p' /tmp/score)
log "exposure, rootless (default): $score"
[ -n "$score" ] && [ "${score%.*}${score#*.}" -lt 20 ] || die "the default unit's exposure '$score' is not below 2.0"
stat -c "%U:%G %a %n" /run/usbip-broker /run/usbip-broker/control.sock | tee /tmp/perm
grep -qx "usbip-broker:usbip-broker 660 /run/usbip-broker/control.sock" /tmp/perm || die "the control socket is not usbip-broker:usbip-broker 0660"
useradd -M -N -G usbip-broker ubmember
useradd -M -N ubother
as() { setpriv --reuid="$1" --regid=nogroup --init-groups /usr/local/sbin/usbip-brokerctl list; }
as ubmember | grep -q "^$b" || die "a member of usbip-broker cannot list"
set +e
as ubother 2>/tmp/other.err; rc=$?
set -e
cat /tmp/other.err
[ $rc -eq 1 ] && grep -q "permission denied" /tmp/other.err ||
	die "a non-member got exit $rc from brokerctl, want 1 and 'permission denied'"

log "--- gadget unbound: the session ends and the unit stops"
g=/sys/kernel/config/usb_gadget/storage
echo "" >$g/UDC
wait_detached
wait_for 30 sh -c "! systemctl is-active -q usbip-export@$b.service" ||
	die "usbip-export@$b still active with the device gone"
# Rootless, the broker hears of the removal from udevd, after the rule
# has run: the ended session's redial may find the device gone first.
wait_for 10 sh -c "journalctl -b --no-pager -u usbip-brokerd.service | grep -q 'unexported $b'" ||
	die "the broker did not log the device's going"
vhci_all_free || die "a vhci port is still in use"

log "--- gadget bound again: everything comes back"
echo dummy_udc.0 >$g/UDC
wait_for 20 gadget_busid || die "gadget did not enumerate again"
[ "$(gadget_busid)" = "$b" ] || die "the gadget came back as $(gadget_busid), not $b"
plugged

log "--- systemctl stop usbip-export@$b unexports"
systemctl stop usbip-export@$b.service
wait_detached
wait_for 10 test -e /sys/bus/usb/devices/$b:1.0/driver || die "usb-storage did not get $b back"
systemctl stop usbip-brokerd.service

# --- issue 16, items 6 and 8: reload, priorities, export@ by hand -------
log "--- usbip-export@ started by hand stays up and exports"
ctl=/usr/local/sbin/usbip-brokerctl
[ -d "$etc/export" ] || die "meson install made no $etc/export/"
for p in usbip-brokerd usbip-brokerctl usbip-attach usbip-worker; do
	[ -f /usr/local/share/bash-completion/completions/$p ] || die "no bash completion installed for $p"
done
# "allow", not "auto", and plugged again under it: udev wants no unit
# for the gadget (its device unit from the "auto" plug would still want
# one), only the administrator does; a unit nothing else wants must not
# be stopped as unneeded.
cp "$etc/policy.conf" /tmp/policy.auto
printf 'allow id 1d6b:0104 serial 0001\ndeny\n' >"$etc/policy.conf"
echo "" >$g/UDC
wait_for 20 test ! -e /sys/bus/usb/devices/$b || die "the gadget did not go"
echo dummy_udc.0 >$g/UDC
wait_for 20 gadget_busid || die "gadget did not enumerate again"
[ "$(gadget_busid)" = "$b" ] || die "the gadget came back as $(gadget_busid), not $b"
udevadm settle
udevadm info /sys/bus/usb/devices/$b | grep -q 'USBIP_BROKER_POLICY=allow' ||
	die "udev's verdict on $b is not allow"
# udevadm settle waits for udevd, not for systemd, which reads the same
# events from udevd's monitor afterwards: under load its device unit can
# still carry the "auto" plug's wants for a moment, so wait for the new
# verdict rather than read it once.
wanted_by_none() {
	systemctl show -p WantedBy -p RequiredBy -p BoundBy usbip-export@$b.service >/tmp/wanted
	grep -qx 'WantedBy=' /tmp/wanted
}
wait_for 15 wanted_by_none || {
	cat /tmp/wanted; die "something still wants usbip-export@$b: not a start by hand"; }
systemctl start usbip-export@$b.service || die "starting usbip-export@$b by hand failed"
sleep 3
systemctl is-active -q usbip-export@$b.service ||
	die "usbip-export@$b, started by hand, did not stay up"
$ctl list | grep -P "^$b\t.*\tyes\tallow:1\t" ||
	{ $ctl list; die "the hand-started unit did not export $b"; }

log "--- systemctl reload fails on a refused policy; journalctl -p err says why"
printf 'allow id 1d6b:0104 colour red\n' >"$etc/policy.conf"
systemctl reload usbip-brokerd.service && die "systemctl reload succeeded with a refused policy"
journalctl -b --no-pager -p err -u usbip-brokerd.service | tee /tmp/err.log
grep -q "policy not reloaded.*policy.conf:1: unknown word 'colour'" /tmp/err.log ||
	die "journalctl -p err does not show the broker's refusal"
# The old policy stays, and so does the export.
$ctl list | grep -qP "^$b\t.*\tyes\tallow:1\t" || die "the refused reload changed the policy"
printf 'allow id 1d6b:0104 serial 0001\ndeny\n' >"$etc/policy.conf"
systemctl reload usbip-brokerd.service || die "systemctl reload failed with a good policy"
journalctl -b --no-pager -p info..info -u usbip-brokerd.service | grep -q "usbip-brokerd: ready" ||
	die "the broker's plain events are not at priority info"
systemctl stop usbip-export@$b.service usbip-brokerd.service
cp /tmp/policy.auto "$etc/policy.conf"
log "--- root mode: the shipped drop-in, the same export"
mkdir -p /etc/systemd/system/usbip-brokerd.service.d
ln -s /usr/local/share/usbip-broker/usbip-brokerd-root.conf \
	/etc/systemd/system/usbip-brokerd.service.d/root.conf
systemctl daemon-reload
systemctl start usbip-export@$b.service
# Read once already: here it is enough that it arrives.
wait_for 60 vhci_disk || die "no disk behind vhci_hcd in root mode"
bpid=$(systemctl show -p MainPID --value usbip-brokerd.service)
grep -qP '^Uid:\t0\t' "/proc/$bpid/status" || die "the root-mode broker is not root"
# SETUID SETGID KILL: bits 7 6 5.
grep -qP '^CapBnd:\t00000000000000e0$' "/proc/$bpid/status" || die "the root-mode bounding set is not the drop-in's three"
wpid=$(pgrep -f -P "$bpid" usbip-worker | head -1)
[ -n "$wpid" ] && grep -qP '^Uid:\t65534\t' "/proc/$wpid/status" || die "the root-mode worker does not run as 65534"
systemd-analyze security --no-pager usbip-brokerd.service | tail -1 | tee /tmp/score
log "exposure, root mode: $(sed -n 's/.*usbip-brokerd.service: \([0-9.]*\).*/\1/p' /tmp/score)"
systemctl stop usbip-export@$b.service
wait_detached
systemctl stop usbip-brokerd.service
rm /etc/systemd/system/usbip-brokerd.service.d/root.conf
systemctl daemon-reload
log "PASS"
