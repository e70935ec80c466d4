#!/usr/bin/env bash
# test.sh: the whole test suite. Installs what is missing, then builds and runs every test
# twice: a normal build, and one with AddressSanitizer and UndefinedBehaviorSanitizer.
# Ends with the line "N passed, N failed" (counted over both builds).
set -uo pipefail
cd "$(dirname "$0")"
. scripts/deps.sh
# Real peers and a browser for the live and report tests (each skips itself without them).
tlscensus_install_deps valgrind openssl gnutls-bin iproute2 tcpreplay chromium \
	dpkg-dev debhelper fakeroot lintian
# The fleet test's central server (ClickHouse 18.16 in Debian 12; the test starts its own
# instance on loopback and skips itself when the package is missing).
tlscensus_install_optional clickhouse-server clickhouse-client

status=0
for variant in build-test:none build-asan:address,undefined; do
	dir=${variant%%:*}
	san=${variant#*:}
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" --buildtype=debugoptimized -Db_sanitize="$san" -Db_lundef=false \
			>"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; status=1; continue; }
	fi
	ninja -C "$dir" || { status=1; continue; }
	echo "== meson test ($dir, sanitize=$san)"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
done

python3 - build-test build-asan <<'PY'
import json, os, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for d in sys.argv[1:]:
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        counts["FAIL"] += 1
        continue
    for line in open(log):
        r = json.loads(line)["result"]
        key = "OK" if r in ("OK", "EXPECTEDFAIL") else "SKIP" if r == "SKIP" else "FAIL"
        counts[key] += 1
print("%d passed, %d failed, %d skipped" % (counts["OK"], counts["FAIL"], counts["SKIP"]))
PY
exit $status
