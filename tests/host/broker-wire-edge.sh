#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The broker's records are its own (daemons/brokerd/README.md): a USB/IP
# type or wire constant appears in its sources only where a worker is
# answered, devlist_entry_of in sessions.[ch]. link-boundary.sh checks
# that the broker links no codec; this checks that no other file of it
# leans on the wire's layout. Usage:
#
#   tests/host/broker-wire-edge.sh SOURCE_DIR    (daemons/brokerd)
set -euo pipefail
dir=${1:?usage: $0 daemons/brokerd}
pattern='struct usbip_|usbip_(op|urb|iso|fault)_|USBIP_(BUSID_LEN|PATH_LEN|MAX_|SPEED_|ST_|OP_|URB_|DEVICE_LEN|INTERFACE_LEN)'
found=$(grep -nE "$pattern" "$dir"/*.[ch] | grep -vE '/sessions\.[ch]:' || true)
if [ -n "$found" ]; then
	echo "USB/IP wire names outside the broker's IPC edge (sessions.c):" >&2
	echo "$found" >&2
	exit 1
fi
echo "the broker names USB/IP types only in sessions.[ch]"
