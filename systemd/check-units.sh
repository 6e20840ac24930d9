#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the build into a scratch DESTDIR and runs systemd-analyze verify
# on every unit there, with the paths inside rewritten to the scratch tree
# (verify checks that ExecStart's programs exist). Prints the broker's
# security exposure.   check-units.sh BUILD_DIR PREFIX
set -euo pipefail
build=$1 prefix=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
DESTDIR=$dest meson install -C "$build" --quiet --no-rebuild >/dev/null
units=$(find "$dest" -path '*systemd/system/*' \( -name '*.service' -o -name '*.socket' \))
[ -n "$units" ] || { echo "no units installed" >&2; exit 1; }
check=$dest/check
mkdir -p "$check"
for u in $units; do
	sed "s|$prefix/|$dest$prefix/|g" "$u" >"$check/$(basename "$u")"
done
status=0
for u in "$check"/*; do
	name=$(basename "$u")
	# A template is verified through an instance.
	[ "${name%@.service}" != "$name" ] && u=$check/${name%@.service}@1-1.service
	if out=$(systemd-analyze verify --man=no "$u" 2>&1) && [ -z "$out" ]; then
		echo "verify $name: clean"
	else
		echo "verify $name:"; echo "$out"; status=1
	fi
done
systemd-analyze security --offline=yes "$check/usbip-brokerd.service" 2>/dev/null |
	grep 'Overall exposure' || true
exit $status
