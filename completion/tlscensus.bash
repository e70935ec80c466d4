# bash completion for tlscensus. Commands come from `tlscensus --help` and each command's
# options from `tlscensus COMMAND --help`, so the completion cannot fall behind the program.
_tlscensus()
{
	local cur prev cmd opts
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		opts=$(tlscensus --help 2>/dev/null | awk '/^commands:/ { on = 1; next }
			on && /^  [a-z]+ / { print $1; next } on { exit }')
		COMPREPLY=($(compgen -W "$opts --help --version" -- "$cur"))
		return
	fi
	cmd=${COMP_WORDS[1]}
	case $prev in
	--db | -o | --output | --catalog | --hints | --credentials | --cacert | --log | --metrics)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-i | --interface)
		COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null) any" -- "$cur"))
		return
		;;
	--policy)
		# the built-in names as `report --help` lists them, and files
		opts=$(tlscensus report --help 2>/dev/null | grep -- '--policy' | sed 's/.*--policy [^ ]* *//' |
			tr ',' ' ' | grep -o '[a-z0-9]*' | grep -v -x -e or -e a -e policy -e file -e '')
		COMPREPLY=($(compgen -W "$opts" -f -- "$cur"))
		return
		;;
	--format)
		COMPREPLY=($(compgen -W "table csv json ndjson html md" -- "$cur"))
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		opts=$(tlscensus "$cmd" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _tlscensus tlscensus
