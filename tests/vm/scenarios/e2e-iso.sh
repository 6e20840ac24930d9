# qemu: -device qemu-xhci,id=xhci -audiodev wav,id=snd0,path=@RESULTS@/e2e-iso.wav,out.frequency=48000,out.channels=2,out.format=s16 -device usb-audio,audiodev=snd0,bus=xhci.0
# SPDX-License-Identifier: GPL-2.0-or-later
# Isochronous end to end: QEMU's usb-audio (a full-speed UAC1 speaker, iso
# OUT) exported by usbip-brokerd, served by its sandboxed worker, imported
# by usbip-attach into vhci_hcd and driven by snd-usb-audio. A 10 s 48 kHz
# stereo test tone is played, 440 Hz left and 1000 Hz right; what the
# device received lands in a wav on the host, which e2e-iso.host-check.sh
# compares with the tone.
. "$USBIP_REPO/tests/vm/lib.sh"

bin=$(build_dir)
attach=$bin/daemons/attach/usbip-attach
command -v aplay >/dev/null && command -v sox >/dev/null || die "alsa-utils and sox are needed"

modprobe xhci_pci
wait_for 20 local_busid 46f4:0002 || die "QEMU's usb-audio did not enumerate"
busid=$(local_busid 46f4:0002)
log "usb-audio at $busid ($(cat /sys/bus/usb/devices/$busid/speed) Mb/s)"
modprobe vhci-hcd
start_broker 3246 "allow id 46f4:* from 127.0.0.1"
trap 'echo "--- broker log"; cat /tmp/broker.log' EXIT
$ctl export "$busid"
$attach connect tcp:127.0.0.1:3246 "$busid"

# snd-usb-audio only now: the local device's interfaces are the worker's.
modprobe snd-usb-audio
wait_for 30 vhci_class_device "/sys/class/sound/card*" || die "no sound card behind vhci_hcd"
card=$(cat "$(vhci_class_device "/sys/class/sound/card*")/number")
log "card $card: $(cat /proc/asound/card$card/id)"
sox -n -r 48000 -c 2 -b 16 /tmp/tone.wav synth 10 sine 440 sine 1000 vol 0.5
aplay -q -D "plughw:$card,0" /tmp/tone.wav || die "aplay failed"
sleep 1
$ctl status | grep -P "^$busid\t" | tee /tmp/status
urbs=$(awk -F'\t' '{ print $6 }' /tmp/status)
[ "${urbs:-0}" -gt 1000 ] || die "the status shows ${urbs:-no} URBs for 10 s of audio"
$attach detach --all
wait_for 10 sh -c "grep -q 'session ended' /tmp/broker.log" || die "the session did not end"
stop_broker
log "tone played through the broker's worker"
