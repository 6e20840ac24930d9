#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Host half of e2e-hid, run while the guest boots: when the guest says it
# reads the imported keyboard (RESULTS/e2e-hid.ready), type "usbip" and
# Enter on QEMU's usb-kbd through the monitor's sendkey.
#   e2e-hid.host-during.sh RESULTS MONITOR_SOCKET
set -euo pipefail
results=$1 monitor=$2
for _ in $(seq 1200); do
	[ -e "$results/e2e-hid.ready" ] && break
	sleep 1
done
[ -e "$results/e2e-hid.ready" ] || { echo "the guest never got ready"; exit 1; }
sleep 1
python3 - "$monitor" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(5)
time.sleep(0.5)
s.recv(4096)  # the greeting
for key in ["u", "s", "b", "i", "p", "ret"]:
    s.sendall(("sendkey %s\n" % key).encode())
    time.sleep(0.4)
    print("sent", key)
s.close()
PY
