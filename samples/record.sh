#!/usr/bin/env bash
# record.sh: records the sample TLS handshakes in samples/*.pcap.
# Real openssl and gnutls clients and servers talk across one veth pair between two
# network namespaces made here; neither namespace has a route anywhere else, so no
# packet can leave the machine. Certificates are throwaway and never written to samples/.
#
# Usage: sudo samples/record.sh [SCENARIO...]   (no SCENARIO: record them all)
#        samples/record.sh --list
# samples/clients/record.sh sources this file for its namespaces and capture() and runs
# its own main.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS_CLI=tlsc-cli
NS_SRV=tlsc-srv
DEV_CLI=tlsc-c
DEV_SRV=tlsc-s
MAC_CLI=02:00:00:00:99:01
MAC_SRV=02:00:00:00:99:02
CLI4=10.99.0.1
SRV4=10.99.0.2
CLI6=fd00:99::1
SRV6=fd00:99::2
# Every capture is shifted so that its first packet is at this instant
# (2024-01-01T00:00:00Z); the gaps between packets are left as recorded.
EPOCH=1704067200
WORK=
BG_PIDS=()
# capture() writes NAME.pcap here and sends CAPTURE_SAY (printf %b) to the client's
# stdin; samples/clients/record.sh changes both.
CAPTURE_OUT=$HERE
CAPTURE_SAY='hello from tlscensus\n'

# Cipher string for the TLS 1.0/1.1 scenarios. Some openssl 3 builds refuse those
# versions at their default security level (their handshakes sign with SHA-1 or
# MD5+SHA-1); level 0 makes the scenarios work on all of them. -tls1/-tls1_1 then
# pin both the lowest and the highest version.
OLD='DEFAULT@SECLEVEL=0'

die() {
	echo "record.sh: $*" >&2
	exit 1
}

need_tools() {
	local missing=() pair
	for pair in tcpdump:tcpdump gnutls-cli:gnutls-bin gnutls-serv:gnutls-bin \
		openssl:openssl ip:iproute2 ss:iproute2 ethtool:ethtool perl:perl-base \
		timeout:coreutils; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "record.sh: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		$(printf '%s\n' "${missing[@]}" | sort -u)
}

cleanup() {
	local pid
	for pid in "${BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	net_down
	[ -n "$WORK" ] && [ -z "${KEEP_WORK:-}" ] && rm -rf "$WORK"
}

net_down() {
	ip netns del "$NS_CLI" 2>/dev/null || true
	ip netns del "$NS_SRV" 2>/dev/null || true
}

# Two namespaces joined by one veth pair and nothing else: no default route, no
# bridge, no link to the host's namespace.
net_up() {
	local ns dev mac
	net_down
	ip netns add "$NS_CLI"
	ip netns add "$NS_SRV"
	ip link add "$DEV_CLI" netns "$NS_CLI" type veth peer name "$DEV_SRV" netns "$NS_SRV"
	for ns in "$NS_CLI" "$NS_SRV"; do
		if [ "$ns" = "$NS_CLI" ]; then dev=$DEV_CLI mac=$MAC_CLI; else dev=$DEV_SRV mac=$MAC_SRV; fi
		ip -n "$ns" link set lo up
		ip -n "$ns" link set "$dev" address "$mac" mtu 1500
		# Offloads off so the capture holds wire-sized segments (no 64 KiB GSO
		# frames) with real checksums, as a capture from a physical NIC would.
		ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 ||
			ip netns exec "$ns" ethtool -K "$dev" tso off gso off tx off >/dev/null
		ip -n "$ns" link set "$dev" up
	done
	ip -n "$NS_CLI" addr add "$CLI4/24" dev "$DEV_CLI"
	ip -n "$NS_SRV" addr add "$SRV4/24" dev "$DEV_SRV"
	ip -n "$NS_CLI" addr add "$CLI6/64" dev "$DEV_CLI" nodad
	ip -n "$NS_SRV" addr add "$SRV6/64" dev "$DEV_SRV" nodad
}

make_certs() {
	local cn=legacy.example.test
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=$cn" \
		-addext "subjectAltName=DNS:$cn,DNS:*.example.test" \
		-keyout "$WORK/rsa.key" -out "$WORK/rsa.crt" 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
		-days 3650 -subj "/CN=$cn" -addext "subjectAltName=DNS:$cn,DNS:*.example.test" \
		-keyout "$WORK/ec.key" -out "$WORK/ec.crt" 2>/dev/null
}

# Moves the first packet of pcap $1 to $EPOCH and every other packet by the same
# amount, writing $2. tcpdump writes the classic pcap format in host byte order.
retime() {
	perl -e '
		my ($in, $out, $epoch) = @ARGV;
		open(my $fh, "<:raw", $in) or die "$in: $!\n";
		local $/; my $d = <$fh>; close $fh;
		my $magic = unpack("V", $d);
		my $unit = $magic == 0xa1b2c3d4 ? 1e6 : $magic == 0xa1b23c4d ? 1e9 :
			die "$in: not a little-endian pcap\n";
		my ($off, $t0) = (24, undef);
		while ($off + 16 <= length $d) {
			my ($s, $f, $len) = unpack("V3", substr($d, $off, 12));
			my $t = $s * $unit + $f;
			$t0 //= $t;
			my $n = $t - $t0 + $epoch * $unit;
			substr($d, $off, 8) = pack("V2", int($n / $unit), $n % $unit);
			$off += 16 + $len;
		}
		open($fh, ">:raw", $out) or die "$out: $!\n";
		print $fh $d; close $fh;' "$1" "$2" "$EPOCH"
}

wait_listen() {
	local port=$1 i
	for i in $(seq 50); do
		ip netns exec "$NS_SRV" ss -Hltn "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	die "server on port $port did not start; see $WORK/$NAME.srv.log"
}

# capture NAME PORT SERVER-COMMAND... -- CLIENT-COMMAND...
# Runs the server in one namespace and the client in the other, captures the one
# connection on the server's side of the veth pair and writes $CAPTURE_OUT/NAME.pcap.
capture() {
	local name=$1 port=$2 srv=() cli=() pid_dump pid_srv i
	shift 2
	while [ "$1" != "--" ]; do
		srv+=("$1")
		shift
	done
	shift
	cli=("$@")
	NAME=$name
	echo "record.sh: $name" >&2

	ip netns exec "$NS_SRV" tcpdump -i "$DEV_SRV" -s 0 -U -n --immediate-mode -w "$WORK/$name.pcap" \
		"tcp port $port" 2>"$WORK/$name.dump.log" &
	pid_dump=$!
	BG_PIDS+=("$pid_dump")
	for i in $(seq 50); do
		grep -qs 'listening on' "$WORK/$name.dump.log" && break
		sleep 0.1
	done

	(cd "$WORK" && exec ip netns exec "$NS_SRV" "${srv[@]}") </dev/null \
		>"$WORK/$name.srv.log" 2>&1 &
	pid_srv=$!
	BG_PIDS+=("$pid_srv")
	wait_listen "$port"

	# A line of data each way, then the client's stdin ends and it closes the
	# connection (close_notify, then FIN); the pause lets the echo come back first.
	{
		printf '%b' "$CAPTURE_SAY"
		sleep 1
	} | (cd "$WORK" && ip netns exec "$NS_CLI" timeout 10 "${cli[@]}") \
		>"$WORK/$name.cli.log" 2>&1 || true

	for i in $(seq 20); do
		kill -0 "$pid_srv" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid_srv" 2>/dev/null || true
	wait "$pid_srv" 2>/dev/null || true
	sleep 0.5
	kill -INT "$pid_dump" 2>/dev/null || true
	wait "$pid_dump" 2>/dev/null || true
	# Both are reaped: forget them, so cleanup never signals a reused pid.
	BG_PIDS=()
	retime "$WORK/$name.pcap" "$CAPTURE_OUT/$name.pcap"
}

# --- servers and clients ----------------------------------------------------------
# These print a command line that capture() takes unquoted: no argument holds a space.

# s_server -rev answers each line with the line reversed: a little data each way.
ossl_srv() {
	local port=$1
	shift
	echo openssl s_server -rev -naccept 1 -accept "$port" -cert rsa.crt -key rsa.key "$@"
}

gnutls_srv() {
	local port=$1
	shift
	echo gnutls-serv --echo --disable-client-cert -p "$port" --x509certfile rsa.crt --x509keyfile rsa.key "$@"
}

# --- scenarios ----------------------------------------------------------------------

SCENARIOS=(
	tls10-openssl tls11-openssl tls12-openssl tls13-openssl tls13-openssl-hrr
	tls12-openssl-null tls12-openssl-anon
	tls12-gnutls-3des tls12-gnutls-rc4 tls12-gnutls tls13-gnutls
	tls13-client-vs-tls10-server tls10-client-vs-tls12-server
	tls12-split-clienthello tls12-ipv6
	tls-fallback-scsv tls-fallback-rejected
)

rec_tls10-openssl() {
	capture tls10-openssl 4433 $(ossl_srv 4433) -tls1 -cipher "$OLD" -- \
		openssl s_client -connect "$SRV4:4433" -servername tls10.example.test \
		-tls1 -cipher "$OLD"
}

# No SNI here on purpose: a legacy client that sends none.
rec_tls11-openssl() {
	capture tls11-openssl 4433 $(ossl_srv 4433) -tls1_1 -cipher "$OLD" -- \
		openssl s_client -connect "$SRV4:4433" -noservername -tls1_1 -cipher "$OLD"
}

rec_tls12-openssl() {
	capture tls12-openssl 443 $(ossl_srv 443) -tls1_2 -alpn h2,http/1.1 -- \
		openssl s_client -connect "$SRV4:443" -servername legacy.example.test \
		-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -alpn h2,http/1.1
}

rec_tls13-openssl() {
	capture tls13-openssl 443 $(ossl_srv 443) -- \
		openssl s_client -connect "$SRV4:443" -servername tls13.example.test
}

# The client's only key share is X25519; the server takes P-256 only, so it sends a
# HelloRetryRequest and the client sends a second ClientHello.
rec_tls13-openssl-hrr() {
	capture tls13-openssl-hrr 443 $(ossl_srv 443) -groups P-256 -- \
		openssl s_client -connect "$SRV4:443" -servername hrr.example.test \
		-groups X25519:P-256
}

# TLS_RSA_WITH_NULL_SHA256: authenticated but not encrypted.
rec_tls12-openssl-null() {
	capture tls12-openssl-null 4433 $(ossl_srv 4433) -tls1_2 -cipher 'NULL-SHA256@SECLEVEL=0' -- \
		openssl s_client -connect "$SRV4:4433" -servername null.example.test \
		-tls1_2 -cipher 'NULL-SHA256@SECLEVEL=0'
}

# TLS_ECDH_anon_WITH_AES_128_CBC_SHA: encrypted but the server is not authenticated.
rec_tls12-openssl-anon() {
	capture tls12-openssl-anon 4433 $(ossl_srv 4433) -tls1_2 -cipher 'AECDH-AES128-SHA@SECLEVEL=0' -- \
		openssl s_client -connect "$SRV4:4433" -servername anon.example.test \
		-tls1_2 -cipher 'AECDH-AES128-SHA@SECLEVEL=0'
}

# Debian's openssl 3.0 has no 3DES or RC4 in TLS; gnutls still has both when asked.
# The client offers exactly one suite so the server has no other choice.
rec_tls12-gnutls-3des() {
	capture tls12-gnutls-3des 8443 $(gnutls_srv 8443) \
		--priority 'NORMAL:-VERS-TLS1.3:+3DES-CBC:+RSA' -- \
		gnutls-cli --insecure -p 8443 "$SRV4" \
		--priority 'NONE:+VERS-TLS1.2:+3DES-CBC:+RSA:+SHA1:+COMP-NULL:+SIGN-ALL:+CTYPE-X509'
}

rec_tls12-gnutls-rc4() {
	capture tls12-gnutls-rc4 8443 $(gnutls_srv 8443) \
		--priority 'NORMAL:-VERS-TLS1.3:+ARCFOUR-128:+RSA' -- \
		gnutls-cli --insecure -p 8443 "$SRV4" --sni-hostname rc4.example.test \
		--priority 'NONE:+VERS-TLS1.2:+ARCFOUR-128:+RSA:+SHA1:+COMP-NULL:+SIGN-ALL:+CTYPE-X509'
}

# ECDSA certificate, so an ECDHE_ECDSA suite.
rec_tls12-gnutls() {
	capture tls12-gnutls 8443 gnutls-serv --echo --disable-client-cert -p 8443 --x509certfile ec.crt \
		--x509keyfile ec.key --priority 'NORMAL:-VERS-TLS1.3' -- \
		gnutls-cli --insecure -p 8443 "$SRV4" --sni-hostname gnutls12.example.test \
		--alpn http/1.1
}

rec_tls13-gnutls() {
	capture tls13-gnutls 8443 $(gnutls_srv 8443) -- \
		gnutls-cli --insecure -p 8443 "$SRV4" --sni-hostname gnutls13.example.test
}

# A current client (TLS 1.0 to 1.3 offered) meets a server that stops at TLS 1.0.
rec_tls13-client-vs-tls10-server() {
	capture tls13-client-vs-tls10-server 4433 $(ossl_srv 4433) -tls1 -cipher "$OLD" -- \
		openssl s_client -connect "$SRV4:4433" -servername oldserver.example.test \
		-min_protocol TLSv1 -max_protocol TLSv1.3 -cipher "$OLD"
}

# A TLS 1.0-only client meets a TLS 1.2-only server: fatal protocol_version alert.
rec_tls10-client-vs-tls12-server() {
	capture tls10-client-vs-tls12-server 4433 $(ossl_srv 4433) -tls1_2 -- \
		openssl s_client -connect "$SRV4:4433" -servername oldclient.example.test \
		-tls1 -cipher "$OLD"
}

# About 1.9 KB of ALPN names make the ClientHello longer than one 1460-byte segment.
rec_tls12-split-clienthello() {
	local alpn= i
	for i in $(seq -w 1 60); do
		alpn+="x-tlscensus-filler-protocol-$i,"
	done
	alpn+=http/1.1
	capture tls12-split-clienthello 443 $(ossl_srv 443) -tls1_2 -alpn http/1.1 -- \
		openssl s_client -connect "$SRV4:443" -servername split.example.test \
		-tls1_2 -alpn "$alpn"
}

rec_tls12-ipv6() {
	capture tls12-ipv6 443 $(ossl_srv 443) -6 -tls1_2 -- \
		openssl s_client -connect "[$SRV6]:443" -servername ipv6.example.test -tls1_2
}

# --- fallback retries: two connections in one file -------------------------------------
# Before TLS 1.3, a browser whose handshake failed tried again at once with a lower
# version. RFC 7507 has the retry carry TLS_FALLBACK_SCSV (0x5600) so that a server
# able to do better can refuse it. The client in both scenarios is a two-step shell
# retry around s_client: the first attempt, and only if it fails, a retry pinned to
# TLS 1.0 with -fallback_scsv. The first attempt fails within milliseconds, so the
# two ClientHellos are well under a second apart. The server takes two connections.

# The server stops at TLS 1.0; the first attempt asks for TLS 1.2 at least and gets a
# protocol_version alert; the retry at TLS 1.0 with the SCSV succeeds, because 1.0 is
# the best this server can do.
rec_tls-fallback-scsv() {
	# shellcheck disable=SC2016 # $1, $2, $3 are the inner sh's
	capture tls-fallback-scsv 4433 openssl s_server -rev -naccept 2 -accept 4433 \
		-cert rsa.crt -key rsa.key -tls1 -cipher "$OLD" -- \
		sh -c 'openssl s_client -connect "$1" -servername "$2" -min_protocol TLSv1.2 </dev/null ||
			exec openssl s_client -connect "$1" -servername "$2" -tls1 -cipher "$3" -fallback_scsv' \
		sh "$SRV4:4433" fallback.example.test "$OLD"
}

# The server speaks TLS 1.0 to 1.2 but only ECDHE suites; the first attempt (TLS 1.2,
# RSA key exchange only) fails with handshake_failure. The retry at TLS 1.0 carries the
# SCSV, and since the server could have done TLS 1.2 it answers inappropriate_fallback
# (86) before it looks at the suites: the downgrade defence working as designed.
rec_tls-fallback-rejected() {
	# shellcheck disable=SC2016 # $1, $2, $3 are the inner sh's
	capture tls-fallback-rejected 4433 openssl s_server -rev -naccept 2 -accept 4433 \
		-cert rsa.crt -key rsa.key -min_protocol TLSv1 -max_protocol TLSv1.2 \
		-cipher 'ECDHE@SECLEVEL=0' -- \
		sh -c 'openssl s_client -connect "$1" -servername "$2" -tls1_2 -cipher AES128-SHA </dev/null ||
			exec openssl s_client -connect "$1" -servername "$2" -tls1 -cipher "$3" -fallback_scsv' \
		sh "$SRV4:4433" rejected.example.test "AES128-SHA@SECLEVEL=0"
}

# --- main -----------------------------------------------------------------------------

main() {
	local s todo=()
	if [ "${1:-}" = "--list" ]; then
		printf '%s\n' "${SCENARIOS[@]}"
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || die "needs root for network namespaces and tcpdump: sudo $0"
	todo=("$@")
	[ ${#todo[@]} -eq 0 ] && todo=("${SCENARIOS[@]}")
	for s in "${todo[@]}"; do
		declare -F "rec_$s" >/dev/null || die "no scenario '$s' (see $0 --list)"
	done
	need_tools
	WORK=$(mktemp -d /tmp/tlscensus-record.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	net_up
	make_certs
	for s in "${todo[@]}"; do
		"rec_$s"
	done
	if [ -x "$HERE/check.sh" ] && command -v tshark >/dev/null 2>&1; then
		"$HERE/check.sh"
	else
		echo "record.sh: done; install tshark and run samples/check.sh to verify" >&2
	fi
}

# Run only when executed; when sourced, the caller has its own main.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
