#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Host half of broker-tls: tshark on the first 60 packets of each flow
# (connect to the broker's tls: listener, port 4210; the broker's dial to
# usbip-attach listen, port 4211), as the guest captured them on lo. Each
# flow must show a ServerHello with TLS 1.3 (0x0304),
# TLS_AES_128_GCM_SHA256 (0x1301) and x25519 (29), and TLS application
# data records (in TLS 1.3 every record after the ServerHello is one).
# Prints the negotiated parameters; the signature scheme is encrypted in
# TLS 1.3, so it comes from the worker's log line.
set -euo pipefail
results=$1
pcap=$results/broker-tls.pcap
[ -s "$pcap" ] || { echo "no capture at $pcap"; exit 1; }
fields=$(tshark -r "$pcap" -d tcp.port==4210,tls -d tcp.port==4211,tls -T fields \
	-E separator='|' -e tcp.stream -e tcp.srcport -e tls.handshake.type \
	-e tls.handshake.extensions.supported_version -e tls.handshake.ciphersuite \
	-e tls.handshake.extensions_key_share_group -e tls.record.opaque_type 2>/dev/null)
hellos=$(awk -F'|' '$3 ~ /(^|,)2(,|$)/ { print "stream " $1 " (server port " $2 "): ServerHello version " $4 ", suite " $5 ", group " $6 }' <<<"$fields")
echo "$hellos"
data=$(awk -F'|' '$7 ~ /23/' <<<"$fields" | wc -l)
echo "frames with TLS application data records: $data of $(wc -l <<<"$fields")"
grep -h "TLS: TLS1.3" "$results/broker-tls.log" | head -1 | sed 's/^/worker: /'
[ "$(grep -c "version 0x0304, suite 0x1301, group 29$" <<<"$hellos")" = 2 ] ||
	{ echo "not two ServerHellos with TLS 1.3, TLS_AES_128_GCM_SHA256, x25519"; exit 1; }
[ "$data" -gt 20 ] || { echo "too little TLS application data"; exit 1; }
echo "the capture shows TLS 1.3 application data on both flows"
