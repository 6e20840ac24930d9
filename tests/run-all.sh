#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The whole test suite, as CI runs it and as a newcomer should:
#
#   tests/run-all.sh [STAGE...]
#
# Stages, in order (all by default):
#   build   gcc, -Werror, every dependency required         -> build/
#   unit    Check unit tests and the tshark cross-check      (build/)
#   asan    the same tests built with ASan and UBSan         -> build-asan/
#   fuzz    clang + libFuzzer, each target FUZZ_SECONDS (60) -> build-fuzz/
#   vm      the guest scenarios on a real kernel under QEMU  (build/vm/)
#   adversarial  every attacker tool at once against one live broker
#           while a healthy session reads bit-exact (tests/vm/adversarial.sh)
#                                                            (build/vm-adversarial/)
#   deb     the Debian packages: dpkg-buildpackage, lintian, installed
#           in the guest and used (tests/host/deb-test.sh)   -> build-deb/
#
# Ends with one line "N passed, N failed" counting the stages.
set -uo pipefail

cd "$(dirname "$0")/.."
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(build unit asan fuzz vm adversarial deb)
fuzz_seconds=${FUZZ_SECONDS:-60}
passed=0 failed=0 failures=()

features=(-Dlibusb=enabled -Dudev=enabled -Dseccomp=enabled -Dcapng=enabled -Dsystemd=enabled -Dgnutls=enabled)

configure() { # DIR [meson args...]
	local dir=$1
	shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

stage_build() {
	configure build -Dwerror=true -Dtest_hooks=true "${features[@]}" && ninja -C build
}

stage_unit() {
	[ -f build/build.ninja ] || stage_build || return 1
	meson test -C build --print-errorlogs --num-processes 2
}

stage_asan() {
	configure build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false "${features[@]}" &&
		ninja -C build-asan &&
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --print-errorlogs --num-processes 2
}

stage_fuzz() {
	CC=clang configure build-fuzz -Dwerror=true -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false &&
		ninja -C build-fuzz &&
		tests/run-fuzzers.sh build-fuzz "$fuzz_seconds"
}

stage_vm() {
	[ -f build/build.ninja ] || stage_build || return 1
	ninja -C build && tests/vm/run.sh -o build/vm
}

stage_adversarial() {
	[ -f build/build.ninja ] || stage_build || return 1
	ninja -C build && tests/vm/run.sh -o build/vm-adversarial tests/vm/adversarial.sh
}

stage_deb() {
	tests/host/deb-test.sh
}

for s in "${stages[@]}"; do
	case $s in
	build | unit | asan | fuzz | vm | adversarial | deb) ;;
	*) echo "unknown stage '$s' (build unit asan fuzz vm adversarial deb)" >&2; exit 2 ;;
	esac
	echo "=== stage $s"
	t0=$(date +%s)
	if "stage_$s"; then
		passed=$((passed + 1))
		echo "=== stage $s: passed in $(($(date +%s) - t0)) s"
	else
		failed=$((failed + 1))
		failures+=("$s")
		echo "=== stage $s: FAILED after $(($(date +%s) - t0)) s"
	fi
done

[ $failed -eq 0 ] || echo "failed stages: ${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
