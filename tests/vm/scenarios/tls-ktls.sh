# SPDX-License-Identifier: GPL-2.0-or-later
# The TLS foundation on Debian's kernel: identities from usbip-brokerctl
# keygen, a pinned TLS 1.3 handshake (common/tls_handshake.c) and the
# record layer handed to the kernel (kTLS): 32 MiB each way bit-exact
# through plain read()/write() with AES-128-GCM, ChaCha20-Poly1305 too,
# data queued before the kernel took over, the server end under the
# worker's seccomp filter, and a byte flipped on the wire refused with
# EBADMSG. Also the unit tests, whose kTLS branch needs tls.ko, and a
# comparison with GnuTLS's userspace records and no TLS.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
pair=$bin/tests/tls-pair
ctl=$bin/daemons/brokerctl/usbip-brokerctl
[ -x "$pair" ] && [ -x "$bin/tests/test-tls" ] || die "build first (with -Dgnutls=enabled)"

modprobe tls || die "no tls.ko for $(uname -r)"
[ -r /proc/net/tls_stat ] || die "tls.ko loaded but no /proc/net/tls_stat"
stat_of() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat; }

# Identities as an administrator makes them.
keys=/tmp/tls-keys
mkdir -p $keys
server_pin=$($ctl keygen --out $keys/server) || die "keygen failed"
client_pin=$($ctl keygen --out $keys/client) || die "keygen failed"
[ "$(stat -c %a $keys/server/identity.key)" = 600 ] || die "identity.key is not 0600"
[ "$(stat -c %a $keys/server/identity.pub)" = 644 ] || die "identity.pub is not 0644"
[ "$($ctl pin $keys/server/identity.pub)" = "$server_pin" ] || die "pin of identity.pub differs"
before=$(sha256sum $keys/server/identity.key)
$ctl keygen --out $keys/server 2>/dev/null && die "keygen overwrote a key"
[ "$(sha256sum $keys/server/identity.key)" = "$before" ] || die "identity.key changed"
log "identities: server $server_pin, client $client_pin"

out=$(CK_RUN_CASE=ktls "$bin/tests/test-tls" 2>&1) || { echo "$out"; die "unit tests failed with tls.ko"; }
echo "$out" | grep "^kTLS:\|Checks"
echo "$out" | grep -q "through the kernel's record layer (AES-128-GCM)" || die "the unit tests did not reach kTLS"
echo "$out" | grep -q "modprobe tls" && die "a unit test did not find tls.ko"

tx0=$(stat_of TlsTxSw)
out=$("$pair" --server-key $keys/server/identity.key --client-key $keys/client/identity.key 2>&1) ||
	{ echo "$out"; die "32 MiB over kTLS failed"; }
echo "$out"
echo "$out" | grep -q "^server: TLS1.3 AES-128-GCM X25519 EdDSA-Ed25519 peer $client_pin signatures 1" ||
	die "the server did not see the client's pin"
echo "$out" | grep -q "^client: TLS1.3 AES-128-GCM X25519 EdDSA-Ed25519 peer $server_pin signatures 1" ||
	die "the client did not see the server's pin"
echo "$out" | grep -q "tls_stat TlsCurrTxSw[[:space:]]*2$" || die "kTLS sockets not counted while open"
[ "$(stat_of TlsTxSw)" -ge $((tx0 + 2)) ] || die "TlsTxSw did not grow"
log "AES-128-GCM: 32 MiB each way bit-exact over kTLS"

out=$("$pair" --cipher chacha20 --bytes 2M 2>&1) || { echo "$out"; die "ChaCha20 over kTLS failed"; }
echo "$out" | grep "CHACHA20\|MB/s"
echo "$out" | grep -q "CHACHA20-POLY1305" || die "not ChaCha20"

# The client writes while the server still holds off the kernel: what
# was queued before TLS_RX must decrypt (the handshake read nothing more).
out=$("$pair" --bytes 2M --server-delay 500 2>&1) || { echo "$out"; die "data queued before kTLS was lost"; }
log "2 MiB queued before the server's kTLS came through"

# The server end as the worker will be: its seccomp allowlist loaded
# before the handshake (read/write transport), kTLS and plain USB/IP-like
# traffic after it.
out=$("$pair" --bytes 2M --worker-filter 2>&1) || { echo "$out"; dmesg | grep type=1326 | tail -3; die "the handshake or kTLS needs a syscall the worker's filter lacks"; }
echo "$out" | grep -q "the worker's seccomp filter is loaded" || die "the filter was not loaded"
log "handshake and kTLS under the worker's seccomp filter"

errors0=$(stat_of TlsDecryptError)
out=$("$pair" --bytes 2M --tamper 1M 2>&1) || { echo "$out"; die "a flipped byte was not refused"; }
echo "$out" | grep "flipped\|refused\|read at"
echo "$out" | grep -q "Bad message" || die "no EBADMSG"
[ "$(stat_of TlsDecryptError)" -gt "$errors0" ] || die "TlsDecryptError did not count it"
log "a flipped byte on the wire: EBADMSG, TlsDecryptError $errors0 -> $(stat_of TlsDecryptError)"

# GnuTLS's records in userspace and no TLS, for comparison: figures for
# this guest (TCG emulates the crypto), not for hardware.
for m in ktls userspace plain; do
	out=$("$pair" --mode $m --bytes 8M 2>&1) || { echo "$out"; die "--mode $m failed"; }
	echo "$out" | grep "MB/s" | sed "s/^/$m: /"
done
cat /proc/net/tls_stat
log "tls-ktls verified"
