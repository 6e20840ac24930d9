#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped usbip-attach.socket lets only root call: a caller there puts
# a USB device into the kernel. Every ListenStream= must be an absolute
# unix socket path in /run, and SocketMode= must be 0600 (systemd's
# default is 0666, every local user); SocketUser= and SocketGroup=, if
# set, must be root. A loopback address fails too: every local user
# reaches it. Opening more is the administrator's drop-in, with --from
# (usbip-broker-units(7)).
#   check-attach-socket.sh SOCKET_UNIT
set -euo pipefail
unit=$1
n=0 status=0
setting() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$unit"; }
while IFS= read -r value; do
	n=$((n + 1))
	case $value in
	/run/*) ;;
	*) echo "FAIL: $unit: ListenStream=$value is not a unix socket in /run: other users or machines reach it" >&2; status=1 ;;
	esac
done < <(setting ListenStream)
[ $n -gt 0 ] || { echo "FAIL: $unit has no ListenStream=" >&2; exit 1; }
mode=$(setting SocketMode | tail -1)
[ "$mode" = 0600 ] || { echo "FAIL: $unit: SocketMode=${mode:-(unset: 0666)}, not 0600" >&2; status=1; }
for key in SocketUser SocketGroup; do
	owner=$(setting $key | tail -1)
	[ -z "$owner" ] || [ "$owner" = root ] || { echo "FAIL: $unit: $key=$owner, not root" >&2; status=1; }
done
[ $status = 0 ] && echo "$unit: $n ListenStream=, all unix sockets in /run, mode 0600"
exit $status
