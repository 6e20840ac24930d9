# bash completion for usbip-brokerctl(8)
_usbip_brokerctl() {
	local w verb=
	_usbip_broker_words
	case $_usbip_prev in
	--control | --socket) _usbip_broker_files; return ;;
	--to) _usbip_broker_address; return ;;
	--out) _usbip_broker_files -d; return ;;
	esac
	for w in "${_usbip_line_words[@]:1}"; do
		case $w in
		list | status | export | unexport | reload | keygen | pin)
			verb=$w; break ;;
		esac
	done
	case $verb in
	'') [[ $_usbip_cur == -* ]] &&
		_usbip_broker_reply --control --help --version ||
		_usbip_broker_reply list status export unexport reload \
			keygen pin ;;
	list | status) _usbip_broker_reply --json ;;
	export)
		[[ $_usbip_cur == -* ]] && _usbip_broker_reply --to ||
			_usbip_broker_busids ;;
	unexport) _usbip_broker_busids ;;
	keygen) _usbip_broker_reply --out ;;
	pin) _usbip_broker_files ;;
	*) COMPREPLY=() ;;
	esac
}
complete -F _usbip_brokerctl usbip-brokerctl
