#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package, built and used as an administrator would:
#
#   tests/host/deb-test.sh [--no-guest]
#
# copies the tree (committed or not, build output left out) to
# build-deb/src, builds the binary packages there with
# `dpkg-buildpackage -us -uc -b` (debian/rules runs the unit suite only),
# runs lintian on them (build-deb/lintian.txt; any error or warning that
# debian/*.lintian-overrides does not explain fails the test), then boots
# the guest once with tests/host/deb-guest.sh, which installs the .debs
# with dpkg -i and runs the demo's export and attach from the installed
# paths. --no-guest stops after lintian. Needs root for the guest only.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
out=$repo/build-deb
guest=1
[ "${1:-}" != --no-guest ] || guest=0

for tool in dpkg-buildpackage dh lintian fakeroot; do
	command -v $tool >/dev/null || { echo "deb-test: $tool missing (tests/install-deps.sh installs it)" >&2; exit 2; }
done

rm -rf "$out"
mkdir -p "$out/src"
# The package builds from what is in the worktree, not from a build dir.
tar -C "$repo" -c --exclude='./build*' --exclude=./.git --exclude='./obj-*' . |
	tar -C "$out/src" -x
t0=$(date +%s)
(cd "$out/src" &&
	DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
		nice dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 ||
	{ tail -60 "$out/build.log"; echo "deb-test: dpkg-buildpackage failed (log: $out/build.log)" >&2; exit 1; }
echo "deb-test: dpkg-buildpackage took $(($(date +%s) - t0)) s"
ls "$out"/*.deb

# Tags with overrides are shown as such (O:) and do not fail.
status=0
lintian --info --show-overrides --fail-on error,warning "$out"/*.changes \
	>"$out/lintian.txt" 2>&1 || status=$?
cat "$out/lintian.txt"
[ $status -eq 0 ] || { echo "deb-test: lintian found errors or warnings" >&2; exit 1; }
echo "deb-test: lintian: no errors or warnings"

# The test hooks (-Dtest_hooks=true, devices.c) are not in the packaged
# broker: their environment variables' names would be in its strings.
mkdir -p "$out/unpacked"
for deb in "$out"/*.deb; do dpkg-deb -x "$deb" "$out/unpacked"; done
brokerd=$(find "$out/unpacked" -type f -name usbip-brokerd | head -1)
[ -n "$brokerd" ] || { echo "deb-test: no usbip-brokerd in the packages" >&2; exit 1; }
! grep -qa USBIP_BROKER_TEST_ "$brokerd" ||
	{ echo "deb-test: the packaged usbip-brokerd has the test hooks (USBIP_BROKER_TEST_*)" >&2; exit 1; }
echo "deb-test: the packaged usbip-brokerd has no test hooks"

# What each package holds, for the reader of the log.
for deb in "$out"/*.deb; do
	echo "--- $(basename "$deb")"
	dpkg-deb -c "$deb" | awk '{ print $6 }' | grep -v '/$'
	dpkg-deb -I "$deb" conffiles 2>/dev/null | sed 's/^/conffile: /' || true
done

[ $guest -eq 1 ] || exit 0
tests/vm/run.sh -o "$out/vm" tests/host/deb-guest.sh
