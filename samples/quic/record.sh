#!/usr/bin/env bash
# record.sh: records the sample QUIC handshakes in samples/quic/*.pcap.
# Debian 12's ngtcp2 tools (gtlsclient, gtlsserver: ngtcp2 over GnuTLS) talk HTTP/3 across
# one veth pair between two network namespaces made here, with no route anywhere else, so
# no packet leaves the machine. The certificate is throwaway and never written to samples/.
# The namespaces are not samples/record.sh's (tlsc-*), so both can run at once.
#
# Usage: sudo samples/quic/record.sh [SCENARIO...]   (no SCENARIO: record them all)
#        samples/quic/record.sh --list
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS_CLI=tlsq-cli
NS_SRV=tlsq-srv
DEV_CLI=tlsq-c
DEV_SRV=tlsq-s
MAC_CLI=02:00:00:00:98:01
MAC_SRV=02:00:00:00:98:02
CLI4=10.99.0.1
SRV4=10.99.0.2
CLI6=fd00:99::1
SRV6=fd00:99::2
EPOCH=1704067200 # first packet of every capture: 2024-01-01T00:00:00Z
WORK=
BG_PIDS=()

die() {
	echo "record.sh: $*" >&2
	exit 1
}

need_tools() {
	local missing=() pair
	for pair in tcpdump:tcpdump gtlsclient:ngtcp2-client gtlsserver:ngtcp2-server \
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
	ip netns del "$NS_CLI" 2>/dev/null || true
	ip netns del "$NS_SRV" 2>/dev/null || true
	rm -rf "/etc/netns/$NS_CLI"
	[ -n "$WORK" ] && [ -z "${KEEP_WORK:-}" ] && rm -rf "$WORK"
}

net_up() {
	local ns dev mac
	ip netns del "$NS_CLI" 2>/dev/null || true
	ip netns del "$NS_SRV" 2>/dev/null || true
	ip netns add "$NS_CLI"
	ip netns add "$NS_SRV"
	ip link add "$DEV_CLI" netns "$NS_CLI" type veth peer name "$DEV_SRV" netns "$NS_SRV"
	for ns in "$NS_CLI" "$NS_SRV"; do
		if [ "$ns" = "$NS_CLI" ]; then dev=$DEV_CLI mac=$MAC_CLI; else dev=$DEV_SRV mac=$MAC_SRV; fi
		ip -n "$ns" link set lo up
		ip -n "$ns" link set "$dev" address "$mac" mtu 1500
		# No segmentation offload: every datagram is captured as the wire carries it.
		ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 ||
			ip netns exec "$ns" ethtool -K "$dev" tso off gso off tx off >/dev/null
		ip -n "$ns" link set "$dev" up
	done
	ip -n "$NS_CLI" addr add "$CLI4/24" dev "$DEV_CLI"
	ip -n "$NS_SRV" addr add "$SRV4/24" dev "$DEV_SRV"
	ip -n "$NS_CLI" addr add "$CLI6/64" dev "$DEV_CLI" nodad
	ip -n "$NS_SRV" addr add "$SRV6/64" dev "$DEV_SRV" nodad
	# gtlsclient sends "localhost" as SNI for an address; names come from the client
	# namespace's own hosts file (ip netns exec mounts /etc/netns/NAME/hosts on /etc/hosts).
	mkdir -p "/etc/netns/$NS_CLI"
	{
		printf '%s' "$SRV4"
		printf ' %s.example.test' quic v2 compat vn retry resume loss large nocipher
		printf '\n%s ipv6.example.test\n' "$SRV6"
	} >"/etc/netns/$NS_CLI/hosts"
}

make_cert() {
	local cn=quic.example.test
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
		-days 3650 -subj "/CN=$cn" -addext "subjectAltName=DNS:$cn,DNS:*.example.test" \
		-keyout "$WORK/ec.key" -out "$WORK/ec.crt" 2>/dev/null
}

# Moves the first packet to $EPOCH and the others by the same amount (as samples/record.sh).
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
		ip netns exec "$NS_SRV" ss -Hlun "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	die "server on port $port did not start; see $WORK/$NAME.srv.log"
}

# client NAME [OPTION...]: one HTTP/3 GET of / from the client namespace to NAME.example.test
# (its SNI); the client leaves once the stream is closed (a 404 from the empty htdocs is fine).
client() {
	local host=$1.example.test
	shift
	(cd "$WORK" && ip netns exec "$NS_CLI" timeout 20 gtlsclient --exit-on-all-streams-close \
		"$@" "$host" 4433 "https://$host:4433/") >>"$WORK/$NAME.cli.log" 2>&1 || true
}

# capture NAME SERVER-OPTION... -- CLIENT-RUN...: the server listens on port 4433 with the
# given options; CLIENT-RUN (a function name and its arguments) makes the connections;
# tcpdump on the server's end of the veth pair writes NAME.pcap.
capture() {
	local name=$1 srv=() pid_dump pid_srv i
	shift
	while [ "$1" != "--" ]; do
		srv+=("$1")
		shift
	done
	shift
	NAME=$name
	echo "record.sh: $name" >&2
	ip netns exec "$NS_SRV" tcpdump -i "$DEV_SRV" -s 0 -U -n --immediate-mode \
		-w "$WORK/$name.pcap" "udp port 4433" 2>"$WORK/$name.dump.log" &
	pid_dump=$!
	BG_PIDS+=("$pid_dump")
	for i in $(seq 50); do
		grep -qs 'listening on' "$WORK/$name.dump.log" && break
		sleep 0.1
	done
	mkdir -p "$WORK/htdocs"
	(cd "$WORK" && exec ip netns exec "$NS_SRV" gtlsserver -q -d htdocs "${srv[@]}" \
		"$SRV_ADDR" 4433 ec.key ec.crt) </dev/null >"$WORK/$name.srv.log" 2>&1 &
	pid_srv=$!
	BG_PIDS+=("$pid_srv")
	wait_listen 4433
	"$@"
	sleep 0.5
	kill "$pid_srv" 2>/dev/null || true
	wait "$pid_srv" 2>/dev/null || true
	kill -INT "$pid_dump" 2>/dev/null || true
	wait "$pid_dump" 2>/dev/null || true
	BG_PIDS=()
	retime "$WORK/$name.pcap" "$HERE/$name.pcap"
}

SRV_ADDR=$SRV4

# --- scenarios ----------------------------------------------------------------------

SCENARIOS=(quic-v1 quic-v2draft quic-v1-to-v2draft quic-vn quic-retry quic-resume
	quic-loss quic-ipv6 quic-large quic-no-cipher)

rec_quic-v1() {
	capture quic-v1 -- client quic -q
}

# The client's first Initial is already QUIC v2 (draft-ietf-quic-v2's provisional number).
rec_quic-v2draft() {
	capture quic-v2draft -- client v2 -q -v v2draft
}

# Compatible version negotiation (RFC 9368): the client starts in v1 and lists v2draft, the
# server prefers v2draft and answers in it; the client's later Initials follow.
rec_quic-v1-to-v2draft() {
	capture quic-v1-to-v2draft --preferred-versions v2draft -- \
		client compat -q --other-versions v2draft,v1
}

# The client's first Initial is in a version nobody speaks: a Version Negotiation, then the
# client starts over in v1.
rec_quic-vn() {
	capture quic-vn -- client vn -q -v 0x1a2a3a4a \
		--preferred-versions v1
}

# The server validates the address first (-V): a Retry with a new connection ID; the client's
# next Initials, and the server's, are keyed from it.
rec_quic-retry() {
	capture quic-retry -V -- client retry -q
}

# Two connections: the first leaves a session ticket and transport parameters, the second
# resumes with them (pre_shared_key, and 0-RTT data).
resume_twice() {
	client resume -q --session-file sess.pem --tp-file tp.txt
	sleep 0.3
	client resume -q --session-file sess.pem --tp-file tp.txt
}

rec_quic-resume() {
	rm -f "$WORK/sess.pem" "$WORK/tp.txt"
	capture quic-resume -- resume_twice
}

# Initial datagrams (v1, first byte 0xc0..0xcf) each way in a pcap: client's, server's.
initials() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, n = 24, {0x01: 0, 0x02: 0}
while off + 16 <= len(d):
    cap = struct.unpack_from("<I", d, off + 8)[0]
    f = d[off + 16:off + 16 + cap]
    off += 16 + cap
    if len(f) > 42 and f[12:14] == b"\x08\x00" and f[23] == 17 and f[42] & 0xf0 == 0xc0:
        n[f[29]] = n.get(f[29], 0) + 1
print(n[0x01], n[0x02])
PY
}

# Both peers drop half of what they receive (after the capture saw it) and a fifth of what
# they send: Initials retransmitted both ways, CRYPTO data repeated and re-split. Loss is
# random: recorded again until each side resent an Initial (at most 10 tries).
rec_quic-loss() {
	local i c s
	for i in $(seq 10); do
		capture quic-loss --tx-loss 0.2 --rx-loss 0.5 -- \
			client loss -q --tx-loss 0.2 --rx-loss 0.5
		read -r c s < <(initials "$HERE/quic-loss.pcap")
		[ "$c" -ge 2 ] && [ "$s" -ge 2 ] && return 0
	done
	die "quic-loss: no Initial was resent in 10 tries"
}

rec_quic-ipv6() {
	SRV_ADDR=$SRV6
	capture quic-ipv6 -- client ipv6 -q
	SRV_ADDR=$SRV4
}

# A ClientHello of about 1.5 kB, as a post-quantum key share makes Chrome's: an FFDHE 8192
# key share (1024 bytes) beside X25519's; it spans two Initial packets in two datagrams.
rec_quic-large() {
	capture quic-large --groups=-GROUP-ALL:+GROUP-FFDHE8192:+GROUP-X25519 -- \
		client large -q --groups=-GROUP-ALL:+GROUP-FFDHE8192:+GROUP-X25519
}

# No suite in common (the client offers AES-256-GCM only, the server takes AES-128-GCM only):
# the server ends the handshake in its Initial with a CONNECTION_CLOSE carrying the TLS alert
# handshake_failure (RFC 9001 4.8: error code 0x100 + 40).
rec_quic-no-cipher() {
	capture quic-no-cipher --ciphers=NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM -- \
		client nocipher -q --ciphers=NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-256-GCM
}

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
	WORK=$(mktemp -d /tmp/tlscensus-quic.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	net_up
	make_cert
	for s in "${todo[@]}"; do
		"rec_$s"
	done
}

main "$@"
