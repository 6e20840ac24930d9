#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Compares our decoding of the golden vectors with Wireshark's usbip
# dissector, field by field. An independent decoder that reads the same
# bytes the same way is the evidence that the vectors (and so the codec
# they test) match the protocol as others implement it.
#   crosscheck-tshark.sh CROSSCHECK_BINARY
set -euo pipefail
bin=${1:?usage: $0 CROSSCHECK_BINARY}
if ! command -v tshark >/dev/null; then
	echo "SKIP: tshark is not installed (apt-get install tshark), nothing to cross-check against"
	exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

FIELDS="usbip.version usbip.operation usbip.status usbip.busid usbip.bus_num
usbip.dev_num usbip.speed usbip.idVendor usbip.idProduct
usbip.number_of_devices usbip.urb usbip.sequence_no usbip.devid
usbip.endpoint_number usbip.endpoint_number.direction
usbip.transfer_buffer_length usbip.actual_length usbip.iso.num_of_packets"

"$bin" "$work/vectors.pcap" >"$work/ours"
args=()
for f in $FIELDS; do args+=(-e "$f"); done
tshark -r "$work/vectors.pcap" -d tcp.port==3240,usbip -T fields \
	-E occurrence=l "${args[@]}" 2>/dev/null >"$work/theirs"

if ! diff -u "$work/theirs" "$work/ours"; then
	echo "crosscheck: our decoding differs from tshark's (- tshark, + ours)" >&2
	exit 1
fi
n=$(wc -l <"$work/ours")
[ "$n" -ge 13 ] || { echo "crosscheck: only $n packets compared" >&2; exit 1; }
echo "crosscheck: $n vectors, $(echo $FIELDS | wc -w) fields each, identical to tshark $(tshark --version 2>/dev/null | head -1 | awk '{print $3}')"
