#!/usr/bin/env bash
# flood.sh: the memory a SYN flood costs. Writes N SYN-only flows (bench/synflood.py, default
# a million, the default --max-flows), reads them with tlscensus and prints peak RSS, the RSS
# of a one-flow file, and the bytes per tracked flow.
# Usage: bench/flood.sh [N] [TLSCENSUS]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
N=${1:-1000000}
TC=${2:-$HERE/../build/src/tlscensus}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 "$HERE/synflood.py" "$N" "$T/flood.pcap"
python3 "$HERE/synflood.py" 1 "$T/one.pcap"
peak() { /usr/bin/time -f %M "$TC" read --quiet --db "$T/$2.db" "$1" 2>&1 >/dev/null | tail -1; }
big=$(peak "$T/flood.pcap" big)
one=$(peak "$T/one.pcap" one)
awk -v n="$N" -v big="$big" -v one="$one" 'BEGIN {
	printf "%d SYN-only flows: peak RSS %.1f MiB (one flow: %.1f MiB), %.0f bytes per flow\n",
	       n, big / 1024, one / 1024, (big - one) * 1024 / n }'
