#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs what building and testing usbip-broker needs on Debian 12
# (bookworm): the build chain, the libraries, clang's libFuzzer, and what the
# guest scenarios boot and use (QEMU, Debian's kernel, a static busybox, the
# upstream usbip tools), and what building the Debian package takes.
# Run as root.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root (apt-get needs it)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
	gcc clang libclang-rt-14-dev meson ninja-build pkg-config \
	check libusb-1.0-0-dev libudev-dev libseccomp-dev libcap-ng-dev libsystemd-dev libgnutls28-dev \
	tshark \
	qemu-system-x86 linux-image-amd64 busybox-static kmod cpio gzip \
	usbip iproute2 procps coreutils alsa-utils sox strace groff-base \
	usbutils e2fsprogs util-linux passwd python3 \
	systemd udev \
	dpkg-dev debhelper fakeroot lintian
