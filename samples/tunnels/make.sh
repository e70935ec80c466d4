#!/bin/sh
# Regenerate every tunnelled capture listed in manifest.tsv from the plain samples in
# samples/ with wrap.py. The output depends on the inputs alone, so running this again on
# the same samples gives the same bytes; --check only verifies that, writing nothing.
#
# usage: samples/tunnels/make.sh [--check]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
samples=$(dirname "$here")
check=0
case "${1:-}" in
--check) check=1 ;;
"") ;;
*) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# manifest.tsv: file, encapsulation, inner sample; the first line is a header.
tail -n +2 "$here/manifest.tsv" | while IFS="$(printf '\t')" read -r file encap inner; do
	python3 "$here/wrap.py" "$encap" "$samples/$inner" "$tmp/$file"
	if [ "$check" = 1 ]; then
		if cmp -s "$tmp/$file" "$here/$file"; then
			echo "same     $file"
		else
			echo "DIFFERS  $file (run $0 to regenerate)"
			: >"$tmp/differs"
		fi
	else
		mv "$tmp/$file" "$here/$file"
		printf '%-26s %-12s %-26s %6d bytes\n' "$file" "$encap" "$inner" \
			"$(wc -c <"$here/$file")"
	fi
done
# The loop runs in a subshell, so a difference is passed out as a file.
[ ! -e "$tmp/differs" ]
