#!/usr/bin/env bash
# record.sh: records samples/impaired/lossy.pcap, short TLS connections over a link that
# delays with jitter (segments overtake each other), loses and duplicates frames both ways (5 %),
# and connections.tsv, the connections the client made (local port, how each ended).
# Three network namespaces: the client, the server, and between them a forwarder
# (impair.py, a userspace netem: this VM's kernel has no sch_netem) whose output both ways
# is the capture, as a span port behind a lossy path would see it. No route leaves them.
#
# Usage: sudo samples/impaired/record.sh [COUNT] [SEED]     (200 connections, seed 1)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
COUNT=${1:-200}
SEED=${2:-1}
NS_C=tlsr-cli NS_M=tlsr-mid NS_S=tlsr-srv
CLI=10.97.0.1 SRV=10.97.0.2
MAC_C=02:00:00:00:97:01 MAC_S=02:00:00:00:97:02
WORK=$(mktemp -d)
PIDS=()

down() {
	local pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	for ns in $NS_C $NS_M $NS_S; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap down EXIT

for ns in $NS_C $NS_M $NS_S; do ip netns del "$ns" 2>/dev/null || true; ip netns add "$ns"; done
ip link add tlsr-c netns $NS_C type veth peer name tlsr-mc netns $NS_M
ip link add tlsr-s netns $NS_S type veth peer name tlsr-ms netns $NS_M
for pair in $NS_C:tlsr-c $NS_M:tlsr-mc $NS_M:tlsr-ms $NS_S:tlsr-s; do
	ns=${pair%%:*} dev=${pair#*:}
	ip -n "$ns" link set lo up
	# Offloads off: wire-sized segments, so the forwarder and the capture see what a NIC
	# would (and a GRO-merged frame cannot exceed the other side's MTU).
	ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 ||
		ip netns exec "$ns" ethtool -K "$dev" tso off gso off tx off >/dev/null
	ip -n "$ns" link set "$dev" up
done
ip -n $NS_M link set tlsr-mc promisc on
ip -n $NS_M link set tlsr-ms promisc on
ip -n $NS_C link set tlsr-c address $MAC_C
ip -n $NS_S link set tlsr-s address $MAC_S
ip -n $NS_C addr add $CLI/24 dev tlsr-c
ip -n $NS_S addr add $SRV/24 dev tlsr-s
ip -n $NS_C neigh add $SRV lladdr $MAC_S dev tlsr-c nud permanent
ip -n $NS_S neigh add $CLI lladdr $MAC_C dev tlsr-s nud permanent
# A small MSS both ways: a ClientHello with a long ALPN list spans several segments, so a
# late copy of one of them is a partial hello.
ip -n $NS_C route change 10.97.0.0/24 dev tlsr-c advmss 200
ip -n $NS_S route change 10.97.0.0/24 dev tlsr-s advmss 200

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 30 \
	-subj /CN=impaired.example.test -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

ip netns exec $NS_M python3 "$HERE/impair.py" tlsr-mc tlsr-ms --delay-ms 10 --jitter-ms 10 \
	--loss 0.05 --dup 0.05 --seed "$SEED" 2>"$WORK/impair.log" &
PIDS+=($!)
# What the forwarder sends out, on either side, is the impaired traffic both ways.
ip netns exec $NS_M tcpdump -i any -Q out -n -s 0 -U -w "$WORK/raw.pcap" tcp 2>"$WORK/tcpdump.log" &
PIDS+=($!)
ip netns exec $NS_S python3 "$HERE/peers.py" server "$WORK/cert.pem" "$WORK/key.pem" 4433 &
PIDS+=($!)
for i in $(seq 50); do
	ip netns exec $NS_S ss -Hltn 'sport = :4433' | grep -q . && break
	sleep 0.1
done
sleep 1
ip netns exec $NS_C python3 "$HERE/peers.py" client $SRV 4433 "$COUNT" "$HERE/connections.tsv"
# Late retransmissions and duplicates drain, then the capture stops.
sleep 3
for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
PIDS=()
cat "$WORK/impair.log" >&2
cp "$WORK/raw.pcap" "$HERE/lossy.pcap"
echo "record.sh: $HERE/lossy.pcap ($(stat -c %s "$HERE/lossy.pcap") bytes), $HERE/connections.tsv" >&2
