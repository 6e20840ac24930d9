# SPDX-License-Identifier: GPL-2.0-or-later
# The worker started as the broker will start it (common/namespace.c): new
# user, mount, net, pid, ipc and uts namespaces, root mapped to 65534
# outside, an empty read-only root, only its own fds, and the seccomp
# filter. It must still serve the gadget bit-exact.
. "$USBIP_REPO/tests/vm/lib.sh"

worker=$(build_dir)/daemons/worker/usbip-worker
attach=$(build_dir)/daemons/attach/usbip-attach
spawn=$(build_dir)/tests/spawn-worker
image=/tmp/ns.img
make_storage_gadget "$image" 16
want=$(sha256sum <"$image" | cut -d' ' -f1)
modprobe vhci-hcd
# usb-storage would hold the interface: the broker will take it; here the
# worker's libusb does, which a user namespace may not. Unbind first.
echo 1-1:1.0 >/sys/bus/usb/drivers/usb-storage/unbind

$spawn "$worker" "$(usb_node 1-1)" 1-1 tcp:127.0.0.1:3243 >/tmp/spawn.out 2>/tmp/worker.log &
spid=$!
trap 'echo "--- worker log"; cat /tmp/worker.log' EXIT
wait_listening 127.0.0.1:3243
wpid=$(head -1 /tmp/spawn.out)
log "worker pid $wpid"

$attach connect tcp:127.0.0.1:3243 1-1
check_vhci_disk "$want"

for ns in user mnt net pid ipc uts; do
	mine=$(readlink /proc/1/ns/$ns)
	its=$(readlink /proc/$wpid/ns/$ns)
	log "$ns: init $mine, worker $its"
	[ "$mine" != "$its" ] || die "the worker shares the $ns namespace"
done
grep -E '^(Uid|Gid|Seccomp|NoNewPrivs|CapEff):' /proc/$wpid/status
grep -q '^Uid:[[:space:]]*65534' /proc/$wpid/status || die "the worker is not 65534 outside"
grep -q '^Seccomp:[[:space:]]*2$' /proc/$wpid/status || die "no seccomp filter"
grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/$wpid/status || die "no no_new_privs"
grep -q '^CapEff:[[:space:]]*0000000000000000$' /proc/$wpid/status || die "capabilities left"
[ -z "$(ls -A /proc/$wpid/root/)" ] || die "the worker's root is not empty: $(ls /proc/$wpid/root/)"
log "the worker's root is empty"
for fd in /proc/$wpid/fd/*; do
	n=${fd##*/}
	target=$(readlink "$fd")
	echo "fd $n -> $target"
	[ "$n" -le 2 ] && continue
	case "$target" in
	socket:* | anon_inode:* | /dev/bus/usb/*) ;;
	*) die "the worker holds fd $n -> $target" ;;
	esac
done

$attach detach --all
wait_detached
kill $spid 2>/dev/null || true
log "namespaced worker verified"
