# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the four completions: meson puts a copy of this in front of
# each, so that every file bash-completion loads on demand stands alone.
# It needs plain bash only, not bash-completion's helpers.

# The word being completed and the one before it, whole: readline splits
# words at ':' (COMP_WORDBREAKS), and addresses are full of colons.
_usbip_broker_words() {
	local line=${COMP_LINE:0:COMP_POINT} rest
	_usbip_cur=${line##*[[:space:]]}
	rest=${line%"$_usbip_cur"}
	rest=${rest%"${rest##*[![:space:]]}"}
	_usbip_prev=${rest##*[[:space:]]}
	read -ra _usbip_line_words <<<"$rest"
}

# COMPREPLY: those of the candidates that start with the current word,
# less what readline already holds before the word's last colon.
_usbip_broker_reply() {
	local c strip
	COMPREPLY=()
	for c in "$@"; do
		[[ $c == "$_usbip_cur"* ]] && COMPREPLY+=("$c")
	done
	if [[ $_usbip_cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
		strip=${_usbip_cur%"${_usbip_cur##*:}"}
		COMPREPLY=("${COMPREPLY[@]#"$strip"}")
	fi
	# A scheme or a directory goes on: no space after it.
	for c in "${COMPREPLY[@]}"; do
		if [[ $c == *: || $c == */ ]]; then
			compopt -o nospace 2>/dev/null
			break
		fi
	done
}

_usbip_broker_files() { # [-d]: directories only
	local f list=()
	while IFS= read -r f; do
		[ -d "$f" ] && f=$f/
		list+=("$f")
	done < <(compgen "${1:--f}" -- "$_usbip_cur")
	_usbip_broker_reply "${list[@]}"
}

# Addresses (transport.h): the schemes, then paths after unix:.
_usbip_broker_address() {
	local f list=()
	case $_usbip_cur in
	unix:* | tls:unix:*)
		local scheme=${_usbip_cur%%unix:*}unix:
		while IFS= read -r f; do
			[ -d "$f" ] && f=$f/
			list+=("$scheme$f")
		done < <(compgen -f -- "${_usbip_cur#"$scheme"}")
		_usbip_broker_reply "${list[@]}"
		;;
	vsock:*)
		_usbip_broker_reply vsock:2: vsock:*: ;;
	*)
		_usbip_broker_reply tcp: vsock: unix: fd: fc-vsock: \
			tls:tcp: tls:vsock: tls:unix: tls:fd: ;;
	esac
}

# The busids of the USB devices present (not their interfaces or hubs'
# roots).
_usbip_broker_busids() {
	local d list=()
	for d in /sys/bus/usb/devices/*; do
		d=${d##*/}
		[[ $d =~ ^[0-9]+-[0-9.]+$ ]] && list+=("$d")
	done
	_usbip_broker_reply "${list[@]}"
}

# The peer sets of --from and the policy's from.
_usbip_broker_nets() {
	_usbip_broker_reply any unix vsock:*  vsock:2 127.0.0.1 ::1
}
