#!/usr/bin/env bash
# demo.sh: the main job on the bundled samples. Installs what is missing, builds, reads every
# capture in samples/ into build/samples.db, and lists the clients that still use legacy TLS.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/deps.sh
tlscensus_install_deps

[ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized >/dev/null
ninja -C build >/dev/null

rm -f build/samples.db build/samples.db-wal build/samples.db-shm
build/src/tlscensus read --db build/samples.db samples/*.pcap
echo
build/src/tlscensus legacy --db build/samples.db
echo
echo "database: build/samples.db   (try: build/src/tlscensus export --db build/samples.db --format ndjson)"
build/src/tlscensus report --db build/samples.db --no-record -o build/samples-report.html
echo "report:   build/samples-report.html"
