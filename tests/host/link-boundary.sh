#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The privilege boundary, as the linker drew it: BINARY defines no symbol
# of any LIBRARY given (common/meson.build says which library belongs to
# which side). Usage:
#
#   tests/host/link-boundary.sh BINARY [LIBRARY.a | -u SYMBOL]...
#
# e.g. usbip-worker against libusbip-common-privileged.a (the worker must
# not carry the control-protocol or policy parser), usbip-brokerd against
# libusbip-common-worker.a. "-u SYMBOL": BINARY neither defines nor calls
# SYMBOL: the broker links GnuTLS to sign (issue 15) but must never run a
# TLS handshake or read a TLS record, the peer-facing parsers, which stay
# in the worker.
set -euo pipefail
bin=$1
shift
defined=$(nm --defined-only "$bin" | awk 'NF == 3 { print $3 }' | sort -u)
mentioned=$(nm "$bin" | awk '{ print $NF }' | sed 's/@.*//' | sort -u)
status=0
libs=()
while [ $# -gt 0 ]; do
	if [ "$1" = -u ]; then
		if grep -qx -- "$2" <<<"$mentioned"; then
			echo "$(basename "$bin") uses $2" >&2
			status=1
		else
			echo "$(basename "$bin"): no $2"
		fi
		shift 2
	else
		libs+=("$1")
		shift
	fi
done
for lib in "${libs[@]}"; do
	forbidden=$(nm --defined-only -g "$lib" 2>/dev/null |
		awk 'NF == 3 && $2 ~ /[TDBR]/ { print $3 }' | sort -u)
	[ -n "$forbidden" ] || { echo "$lib: no symbols" >&2; exit 1; }
	found=$(comm -12 <(echo "$defined") <(echo "$forbidden"))
	if [ -n "$found" ]; then
		echo "$(basename "$bin") links $(basename "$lib"):" $found >&2
		status=1
	else
		echo "$(basename "$bin"): nothing of $(basename "$lib")"
	fi
done
exit $status
