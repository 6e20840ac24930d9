#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A manual page must render without a single warning (groff's own checks
# plus the man macros' style checks).
out=$(groff -man -ww -z -rCHECKSTYLE=3 "$1" 2>&1)
[ -z "$out" ] && exit 0
echo "$out"
exit 1
