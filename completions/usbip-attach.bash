# bash completion for usbip-attach(8)
_usbip_attach() {
	local w verb= n=0
	_usbip_broker_words
	case $_usbip_prev in
	--from) _usbip_broker_nets; return ;;
	--from-group)
		mapfile -t COMPREPLY < <(compgen -g -- "$_usbip_cur")
		return ;;
	--key | --peers) _usbip_broker_files; return ;;
	--allow | --fd | --timeout | --peer) COMPREPLY=(); return ;;
	esac
	# The command, and how many words follow it.
	for w in "${_usbip_line_words[@]:1}"; do
		if [ -n "$verb" ]; then
			[[ $w == -* ]] || n=$((n + 1))
			continue
		fi
		case $w in
		list | connect | listen | port | detach) verb=$w ;;
		esac
	done
	if [[ $_usbip_cur == -* ]]; then
		case $verb in
		connect) _usbip_broker_reply --reconnect --fd --timeout --key \
			--peer --peers ;;
		listen) _usbip_broker_reply --from --from-group --allow --fd \
			--timeout --key --peer --peers ;;
		list) _usbip_broker_reply --fd --timeout --key --peer --peers ;;
		detach) _usbip_broker_reply --all ;;
		*) _usbip_broker_reply --timeout --help --version ;;
		esac
		return
	fi
	case $verb in
	'') _usbip_broker_reply list connect listen port detach ;;
	list | listen) _usbip_broker_address ;;
	connect) [ $n -eq 0 ] && _usbip_broker_address || COMPREPLY=() ;;
	*) COMPREPLY=() ;;
	esac
}
complete -F _usbip_attach usbip-attach
