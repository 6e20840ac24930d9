# bash completion for usbip-brokerd(8)
_usbip_brokerd() {
	_usbip_broker_words
	case $_usbip_prev in
	--listen) _usbip_broker_address; return ;;
	--from) _usbip_broker_nets; return ;;
	--control | --worker | --policy) _usbip_broker_files; return ;;
	--control-group)
		mapfile -t COMPREPLY < <(compgen -g -- "$_usbip_cur")
		return ;;
	--export | --query-policy) _usbip_broker_busids; return ;;
	--max-sessions | --rate | --max-per-peer | --import-timeout | \
		--usbfs-memory-mb)
		COMPREPLY=(); return ;;
	esac
	_usbip_broker_reply --listen --from --control --control-group \
		--worker --max-sessions --export --policy --rate \
		--max-per-peer --import-timeout --no-spare --query-policy \
		--usbfs-memory-mb --help --version
}
complete -F _usbip_brokerd usbip-brokerd
