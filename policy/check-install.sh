#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `meson install` never writes over an administrator's policy: installs
# the build into a fresh DESTDIR (the default policy must appear), then
# into one that already holds a changed policy.conf, and into one where
# policy.conf is a symlink to the administrator's file elsewhere (both
# must be left as they were, content, mode and link).
#   check-install.sh BUILD_DIR POLICY_PATH DEFAULT_CONF
set -euo pipefail
build=$1 policy=$2 default=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
install_into() { DESTDIR=$1 meson install -C "$build" --quiet --no-rebuild >/dev/null; }

fresh=$scratch/fresh
install_into "$fresh"
cmp "$default" "$fresh$policy" || fail "a fresh install has no default $policy"
echo "fresh DESTDIR: default policy installed"

kept=$scratch/kept
mkdir -p "$(dirname "$kept$policy")"
printf '# the administrator'"'"'s\nallow id 1050:0407 from 10.0.0.0/8\ndeny\n' >"$kept$policy"
chmod 0640 "$kept$policy"
cp -p "$kept$policy" "$scratch/before"
install_into "$kept"
cmp "$scratch/before" "$kept$policy" || fail "install wrote over an existing $policy"
[ "$(stat -c %a "$kept$policy")" = 640 ] || fail "install changed the mode of $policy"
install_into "$kept"
cmp "$scratch/before" "$kept$policy" || fail "a second install wrote over $policy"
echo "existing policy.conf: untouched by two installs"

linked=$scratch/linked
mkdir -p "$(dirname "$linked$policy")"
printf 'deny\n' >"$scratch/elsewhere"
ln -s "$scratch/elsewhere" "$linked$policy"
install_into "$linked"
[ -L "$linked$policy" ] && [ "$(cat "$scratch/elsewhere")" = deny ] ||
	fail "install replaced or wrote through a symlinked $policy"
rm "$linked$policy"
ln -s "$scratch/nowhere" "$linked$policy"
install_into "$linked"
[ ! -e "$scratch/nowhere" ] || fail "install wrote through a dangling symlink at $policy"
echo "symlinked policy.conf: untouched"
