# SPDX-License-Identifier: GPL-2.0-or-later
# The transport unit tests again, inside a kernel that has vsock_loopback,
# so that vsock connect/listen/accept runs for real instead of skipping.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=${USBIP_BUILD:-$USBIP_REPO/build}/tests/test-transport
[ -x "$bin" ] || die "$bin not built"
modprobe vsock_loopback
out=$("$bin" 2>&1) || { echo "$out"; die "transport tests failed in the guest"; }
echo "$out"
echo "$out" | grep -q "SKIP vsock" && die "vsock test skipped although vsock_loopback is loaded"
echo "$out" | grep -q "100%: Checks" || die "unexpected test output"
log "vsock transport verified"
