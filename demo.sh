#!/usr/bin/env bash
# demo.sh: the main job on the bundled samples. Installs what is missing, builds, reads every
# capture in samples/ into build/samples.db, and lists the clients that still use legacy TLS.
# Then what a team sees after a month: six weeks of a small site made from re-timed copies of
# the samples (scripts/demo_db.py) in build/demo.db, last week's report and this week's, and
# (with chromium) docs/report.png, the README's picture, from this week's.
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

# Six weeks, 2026-01-12 to 2026-02-22, across Azure Storage's TLS 1.0/1.1 cutoff (2026-02-03).
# Each report covers 30 days; the second, a week later, lists what changed since the first.
echo
rm -f build/demo.db build/demo.db-wal build/demo.db-shm
python3 scripts/demo_db.py build/demo.pcap
build/src/tlscensus read --quiet --db build/demo.db build/demo.pcap
build/src/tlscensus report --db build/demo.db --since 2026-01-17 --until 2026-02-16 \
	-o build/demo-report-last-week.html
build/src/tlscensus report --db build/demo.db --since 2026-01-24 --until 2026-02-23 \
	-o build/demo-report.html
echo "a month: build/demo-report.html (last week's: build/demo-report-last-week.html)"
if python3 scripts/screenshot.py build/demo-report.html docs/report.png 2>/dev/null; then
	echo "picture: docs/report.png"
fi
