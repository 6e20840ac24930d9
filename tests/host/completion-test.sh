#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The bash completions as bash runs them: each file, as built for
# installation, sources in a plain bash (no bash-completion package),
# registers its program, and completes commands, options and addresses,
# colons included (readline splits words at ':').
#
#   tests/host/completion-test.sh COMPLETIONS_DIR
set -uo pipefail
dir=$1
fails=0
for p in usbip-brokerd usbip-brokerctl usbip-attach usbip-worker; do
	# shellcheck source=/dev/null
	. "$dir/$p" || { echo "FAIL: $dir/$p does not source"; exit 1; }
	complete -p "$p" >/dev/null || { echo "FAIL: $p not registered"; exit 1; }
done

# complete LINE -> COMPREPLY, as readline would fill it for LINE<TAB>.
complete_line() {
	local prog=${1%% *} fn
	fn=$(complete -p "$prog" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
	COMP_LINE=$1
	COMP_POINT=${#COMP_LINE}
	COMP_WORDBREAKS=${COMP_WORDBREAKS:-$' \t\n"\'><=;|&(:'}
	read -ra COMP_WORDS <<<"$COMP_LINE"
	[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	"$fn" "$prog" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
}

# expect LINE WANT...: the replies, sorted, are exactly WANT.
expect() {
	local line=$1 got want
	shift
	complete_line "$line"
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	if [ "$got" = "$want" ]; then
		echo "ok   '$line' -> $got"
	else
		echo "FAIL '$line' -> '$got', want '$want'"
		fails=$((fails + 1))
	fi
}

expect "usbip-attach co" connect
expect "usbip-attach " list connect listen port detach
expect "usbip-attach list tc" tcp:
# After a colon readline holds "tls:" already: the reply is the rest.
expect "usbip-attach list tls:t" tcp:
expect "usbip-attach connect --re" --reconnect
expect "usbip-attach detach --a" --all
expect "usbip-attach listen --from vsock:" "*" 2
expect "usbip-attach --vers" --version
expect "usbip-brokerctl ex" export
expect "usbip-brokerctl --con" --control
expect "usbip-brokerctl export 1-1 --to vs" vsock:
expect "usbip-brokerctl list --j" --json
expect "usbip-brokerd --lis" --listen
expect "usbip-brokerd --listen vsock:" 2: "*:"
expect "usbip-brokerd --max-sessions " 
expect "usbip-worker --simulate k" keyboard keyboard:
expect "usbip-worker --once --exp" --export-to

if [ $fails -gt 0 ]; then
	echo "$fails completion(s) wrong"
	exit 1
fi
echo "all completions as expected"
