#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the build into a scratch DESTDIR and runs systemd-analyze verify
# on every unit there, with the paths inside rewritten to the scratch tree
# (verify checks that ExecStart's programs exist). Prints the broker's
# security exposure in the default (rootless) unit and with the root-mode
# drop-in, and fails if the default's is not below 2.0 (issue 13).
#   check-units.sh BUILD_DIR PREFIX
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
# exposure UNIT_FILE: the overall score, as "1.9".
exposure() {
	systemd-analyze security --offline=yes "$1" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
rootless=$(exposure "$check/usbip-brokerd.service")
# A drop-in is read after the unit: appended, it means the same.
root_conf=$(find "$dest" -name usbip-brokerd-root.conf)
mkdir -p "$dest/root"
cat "$check/usbip-brokerd.service" "$root_conf" >"$dest/root/usbip-brokerd.service"
root=$(exposure "$dest/root/usbip-brokerd.service")
echo "exposure (systemd-analyze security --offline=yes): rootless (default) $rootless, root mode $root"
if [ -z "$rootless" ] || [ -z "$root" ]; then
	echo "no exposure score" >&2; status=1
elif [ "${rootless%.*}${rootless#*.}" -ge 20 ]; then
	echo "FAIL: the default unit's exposure $rootless is not below 2.0" >&2; status=1
fi
exit $status
