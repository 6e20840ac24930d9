#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Host half of e2e-iso: the wav QEMU's usb-audio recorded must hold the
# 10 s tone (440 Hz left, 1000 Hz right) with at most 1% of its length
# lost. The comparison trims
# leading and trailing silence, then checks the length (soxi), and for
# each channel alone the frequency (sox stat's rough frequency, a
# zero-crossing count; on the two channels interleaved it means nothing)
# and the RMS amplitude (a sine at half scale has 0.354; QEMU's usb-audio
# at its default volume records 0.333).
set -euo pipefail
results=$1
wav=$results/e2e-iso.wav
[ -s "$wav" ] || { echo "no recording at $wav"; exit 1; }
trimmed=$(mktemp --suffix=.wav)
trap 'rm -f "$trimmed"' EXIT
sox "$wav" "$trimmed" silence 1 0.01 1% reverse silence 1 0.01 1% reverse
length=$(soxi -D "$trimmed")
echo "recorded: $(soxi -D "$wav") s in all, $length s of tone"
status=0
awk -v l="$length" 'BEGIN {
	if (l < 9.90) { print "tone too short: more than 1% lost"; exit 1 }
	if (l > 10.10) { print "tone too long: more arrived than was played"; exit 1 }
}' || status=1
for ch in 1 2; do
	want=$([ $ch -eq 1 ] && echo 440 || echo 1000)
	stat=$(sox "$trimmed" -n remix $ch stat 2>&1)
	freq=$(echo "$stat" | awk '/Rough[[:space:]]+frequency/ { print $3 }')
	rms=$(echo "$stat" | awk '/RMS[[:space:]]+amplitude/ { print $3 }')
	echo "channel $ch: rough frequency $freq Hz, RMS amplitude $rms"
	awk -v f="$freq" -v r="$rms" -v w="$want" 'BEGIN {
		if (f < w * 0.98 || f > w * 1.02) { print "wrong frequency: want " w " Hz"; exit 1 }
		if (r < 0.30 || r > 0.38) { print "wrong amplitude"; exit 1 }
	}' || status=1
done
[ $status -eq 0 ] && echo "tone intact"
exit $status
