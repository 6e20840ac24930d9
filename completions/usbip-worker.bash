# bash completion for usbip-worker(8)
_usbip_worker() {
	_usbip_broker_words
	case $_usbip_prev in
	--listen | --client | --export-to) _usbip_broker_address; return ;;
	--device)
		local f list=()
		while IFS= read -r f; do
			[ -d "$f" ] && f=$f/
			list+=("$f")
		done < <(compgen -f -- "${_usbip_cur:-/dev/bus/usb/}")
		_usbip_broker_reply "${list[@]}"
		return ;;
	--simulate)
		_usbip_broker_reply keyboard keyboard: audio-loopback zero
		return ;;
	--busid) _usbip_broker_busids; return ;;
	--broker-fd | --device-fd | --peer | --usbfs-share)
		COMPREPLY=(); return ;;
	esac
	_usbip_broker_reply --broker-fd --device --device-fd --simulate \
		--busid --listen --client --export-to --peer --once \
		--empty-root --no-sandbox --usbfs-share --help --version
}
complete -F _usbip_worker usbip-worker
