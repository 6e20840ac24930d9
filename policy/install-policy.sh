#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# meson's install script for the policy: puts the default at TARGET (under
# $DESTDIR) only when nothing is there, not even a dangling symlink, so
# that an administrator's policy survives every install and upgrade.
#   install-policy.sh DEFAULT TARGET
set -eu
default=$1
target=${DESTDIR:-}$2
if [ -e "$target" ] || [ -L "$target" ]; then
	echo "Keeping $target (the default is in $(basename "$default") of the data directory)"
	exit 0
fi
install -D -m 0644 "$default" "$target"
echo "Installing the default policy to $target"
