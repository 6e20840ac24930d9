#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped usbip-attach.socket listens only where this machine alone
# can call: a caller there puts a USB device into the kernel. Every
# ListenStream= must be a loopback address with its port, or an absolute
# unix socket path; a bare port, a wildcard, a host address or vsock
# fails. Opening it is the administrator's drop-in (usbip-broker-units(7)).
#   check-attach-socket.sh SOCKET_UNIT
set -euo pipefail
unit=$1
n=0 status=0
while IFS= read -r value; do
	n=$((n + 1))
	case $value in
	127.[0-9]*.[0-9]*.[0-9]*:[0-9]* | "[::1]:"[0-9]*) ;;
	/run/*) ;;
	*) echo "FAIL: $unit: ListenStream=$value can be reached from other machines" >&2; status=1 ;;
	esac
done < <(sed -n 's/^[[:space:]]*ListenStream[[:space:]]*=[[:space:]]*//p' "$unit")
[ $n -gt 0 ] || { echo "FAIL: $unit has no ListenStream=" >&2; exit 1; }
[ $status = 0 ] && echo "$unit: $n ListenStream=, all local"
exit $status
