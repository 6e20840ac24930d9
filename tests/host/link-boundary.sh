#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The privilege boundary, as the linker drew it: BINARY defines no symbol
# of any LIBRARY given (common/meson.build says which library belongs to
# which side), or, with :MODULE,... after the library, of those modules
# of it (wire for wire.c, op_io for op_io.c). Usage:
#
#   tests/host/link-boundary.sh BINARY [LIBRARY.a[:MODULE,...] | -u SYMBOL]...
#
# e.g. usbip-worker against libusbip-common-privileged.a (the worker must
# not carry the control-protocol or policy parser), usbip-brokerd against
# libusbip-common-worker.a, and against libusbip-common-shared.a:wire,op_io
# (the broker neither encodes nor parses USB/IP: its records are its own,
# and the worker puts them on the wire). "-u SYMBOL": BINARY neither
# defines nor calls SYMBOL: the broker links GnuTLS to sign (issue 15) but
# must never run a TLS handshake or read a TLS record, the peer-facing
# parsers, which stay in the worker.
set -euo pipefail
bin=$1
shift

# The global symbols LIBRARY defines, of the modules named (all if none).
symbols_of() { # LIBRARY MODULES
	nm --defined-only -g -A "$1" 2>/dev/null |
		awk -v only="$2" '
		BEGIN { n = split(only, m, ","); for (i = 1; i <= n; i++) want[m[i]] = 1 }
		NF == 3 && $2 ~ /[TDBR]/ {
			split($1, part, ":")
			module = part[2]
			sub(/.*\//, "", module)
			sub(/\..*/, "", module)
			if (only == "" || module in want)
				print $3
		}' | sort -u
}

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
for arg in "${libs[@]}"; do
	lib=${arg%%:*}
	modules=
	[ "$lib" = "$arg" ] || modules=${arg#*:}
	name=$(basename "$lib")${modules:+ ($modules)}
	forbidden=$(symbols_of "$lib" "$modules")
	[ -n "$forbidden" ] || { echo "$name: no symbols" >&2; exit 1; }
	found=$(comm -12 <(echo "$defined") <(echo "$forbidden"))
	if [ -n "$found" ]; then
		echo "$(basename "$bin") links $name:" $found >&2
		status=1
	else
		echo "$(basename "$bin"): nothing of $name"
	fi
done
exit $status
