#!/usr/bin/env bash
# check.sh: reads every samples/*.pcap with tshark and prints the facts listed in
# expected.tsv (one row per TLS connection), then compares them with expected.tsv.
# tshark is the independent referee here; it is not needed to build or test tlscensus.
#
# Usage: samples/check.sh           compare with expected.tsv (exit 1 on a difference)
#        samples/check.sh --print   print the facts only
#        samples/check.sh --names   print the facts with IANA cipher and alert names
export LC_ALL=C
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v tshark >/dev/null 2>&1 || {
	echo "check.sh: needs tshark (apt-get install -y tshark)" >&2
	exit 2
}

HEADER=$'file\tclient_ip\tserver_ip\tserver_port\tsni\tclient_version\tclient_max_version\tversion\tcipher\talert\tlegacy'

# One line per frame holding a ClientHello, ServerHello or alert, in frame order.
# Only an alert sent before the stream's first ChangeCipherSpec counts: later ones
# are encrypted (tshark shows no level), except under a NULL cipher, where the
# closing close_notify would be readable but says nothing about the handshake.
frames() {
	tshark -r "$1" -o tls.desegment_ssl_records:TRUE -o tcp.desegment_tcp_streams:TRUE \
		-Y 'tls.handshake.type == 1 || tls.handshake.type == 2 || tls.alert_message.level || tls.change_cipher_spec' \
		-T fields -E separator=/t -E occurrence=a -E aggregator=, \
		-e tcp.stream -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e tcp.dstport \
		-e tls.handshake.type -e tls.handshake.version \
		-e tls.handshake.extensions.supported_version -e tls.handshake.extensions_server_name \
		-e tls.handshake.ciphersuite -e tls.alert_message.level -e tls.alert_message.desc \
		-e tls.change_cipher_spec \
		2>/dev/null
}

# "V <tab> field <tab> number <tab> name" lines for the cipher suite and alert tables.
names() {
	tshark -G values 2>/dev/null |
		awk -F'\t' '$1 == "V" && ($2 == "tls.handshake.ciphersuite" || $2 == "tls.alert_message.desc")'
}

# Folds the frames of one capture into one row per TCP stream.
ROWS_AWK=$(
	cat <<'AWK'
BEGIN {
	while ((getline line < tab) > 0) {
		split(line, v, "\t")
		if (v[2] == "tls.handshake.ciphersuite")
			suite[sprintf("0x%04x", v[3])] = v[4]
		else {
			dn = tolower(v[4]); gsub(/ /, "_", dn); desc[v[3]] = dn
		}
	}
	vname["0x0300"] = "SSLv3"; vname["0x0301"] = "TLSv1.0"; vname["0x0302"] = "TLSv1.1"
	vname["0x0303"] = "TLSv1.2"; vname["0x0304"] = "TLSv1.3"
}
function ver(h) { return (h in vname) ? vname[h] : h }
function grease(h) { return h ~ /^0x[0-9a-f]a[0-9a-f]a$/ }
# Versions compare as "x0303" strings so no awk reads "0x0303" as a number.
function below(h, than) { return ("x" substr(h, 3)) < ("x" substr(than, 3)) }
# Highest entry of a comma-separated version list, GREASE values left out.
function maxver(list,   n, a, i, best) {
	n = split(list, a, ","); best = ""
	for (i = 1; i <= n; i++)
		if (!grease(a[i]) && (best == "" || below(best, a[i]))) best = a[i]
	return best
}
function has(list, x,   n, a, i) {
	n = split(list, a, ",")
	for (i = 1; i <= n; i++) if (a[i] == x) return 1
	return 0
}
{
	s = $1
	if (!(s in seen)) { seen[s] = 1; order[++ns] = s; alert[s] = "-"; sver[s] = "-"; cs[s] = "-" }
	if (has($7, "1") && !(s in cver)) {
		cip[s] = $2 $3; sip[s] = $4 $5; port[s] = $6
		split($8, hv, ","); cver[s] = hv[1]
		cmax[s] = ($9 != "") ? maxver($9) : hv[1]
		sni[s] = ($10 != "") ? $10 : "-"
	}
	if (has($7, "2")) {
		# The last ServerHello wins: after a HelloRetryRequest comes the real one.
		split($8, hv, ",")
		sver[s] = ($9 != "") ? $9 : hv[1]
		cs[s] = $11
	}
	if ($14 != "") ccs[s] = 1
	if ($12 != "" && alert[s] == "-" && !(s in ccs)) {
		split($12, l, ","); split($13, d, ",")
		alert[s] = (l[1] == 2 ? "fatal" : l[1] == 1 ? "warning" : l[1]) ":" \
			((d[1] in desc) ? desc[d[1]] : d[1])
	}
}
END {
	for (i = 1; i <= ns; i++) {
		s = order[i]
		name = (cs[s] in suite) ? suite[cs[s]] : "-"
		old = below(sver[s] != "-" ? sver[s] : cmax[s], "0x0303")
		if (name ~ /3DES|RC4|_DES_|NULL|EXPORT|anon/) old = 1
		row = file OFS cip[s] OFS sip[s] OFS port[s] OFS sni[s] OFS ver(cver[s]) OFS \
			ver(cmax[s]) OFS ver(sver[s]) OFS cs[s] OFS alert[s] OFS (old ? "yes" : "no")
		if (with_names) row = row OFS name
		print row
	}
}
AWK
)

facts() {
	local with_names=$1 f tab
	tab=$(mktemp)
	names >"$tab"
	echo "$HEADER"
	for f in "$HERE"/*.pcap; do
		frames "$f" | awk -F'\t' -v OFS='\t' -v file="$(basename "$f")" -v tab="$tab" \
			-v with_names="$with_names" "$ROWS_AWK"
	done
	rm -f "$tab"
}

case "${1:-}" in
--print) facts 0 ;;
--names) facts 1 ;;
"")
	if diff -u "$HERE/expected.tsv" <(facts 0); then
		echo "check.sh: every capture matches expected.tsv" >&2
	else
		echo "check.sh: captures differ from expected.tsv (- expected, + found)" >&2
		exit 1
	fi
	;;
*)
	echo "usage: $0 [--print | --names]" >&2
	exit 2
	;;
esac
