#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer harnesses (clang, -Dfuzz=true: every library they reach is
# built with coverage and ASan/UBSan), makes their seeds from the project's own samples and
# byte builders, runs each harness for a given time at the lowest CPU priority, and prints
# per harness the runs, executions per second, coverage (edges), features, corpus size and
# findings. Crashes are left in OUT/crashes/HARNESS/ for a regression test.
#
# Usage: scripts/fuzz.sh [-t SECONDS] [-j PARALLEL] [-o OUT] [--smoke] [HARNESS...]
#   -t SECONDS  per harness (default 1800)
#   -j N        harnesses run at once (default 1)
#   -o OUT      build and work directory (default build-fuzz)
#   --smoke     20 s each, and fail when a harness's coverage is under its floor
#               (tests/fuzz/floors.tsv) or it finds anything: the CI check that no harness rots
# Exit 77 (skipped) when clang cannot build a libFuzzer binary.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECS=1800 JOBS=1 OUT=$ROOT/build-fuzz SMOKE=0
HARNESSES=()
while [ $# -gt 0 ]; do
	case $1 in
	-t) SECS=$2; shift 2 ;;
	-j) JOBS=$2; shift 2 ;;
	-o) OUT=$2; shift 2 ;;
	--smoke) SMOKE=1; SECS=20; shift ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) HARNESSES+=("$1"); shift ;;
	esac
done
[ ${#HARNESSES[@]} -gt 0 ] ||
	HARNESSES=(fuzz_dissect fuzz_sslv2 fuzz_preamble fuzz_decode fuzz_datafiles fuzz_pipeline)

CC=${FUZZ_CC:-clang}
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ return d && n; }\n' \
	>"$probe/p.c"
if ! command -v "$CC" >/dev/null ||
	! "$CC" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>/dev/null; then
	echo "fuzz.sh: $CC cannot build a libFuzzer binary (apt-get install clang); skipped"
	exit 77
fi

if [ ! -f "$OUT/build.ninja" ]; then
	CC=$CC meson setup "$OUT" "$ROOT" -Dfuzz=true --buildtype=debugoptimized >/dev/null
fi
nice -n 19 ninja -C "$OUT" $(printf 'tests/%s ' "${HARNESSES[@]}") >/dev/null

SEEDS=$OUT/fuzz-seeds
if [ ! -d "$SEEDS/pipeline" ]; then
	python3 "$ROOT/tests/fuzz/dissect_seeds.py" "$ROOT/samples" "$SEEDS/dissect" >/dev/null
	python3 "$ROOT/tests/fuzz/decode_seeds.py" "$ROOT/samples" "$SEEDS/decode" >/dev/null
	python3 "$ROOT/tests/fuzz/seeds.py" "$ROOT" "$SEEDS" >/dev/null
fi

seeds_of() { case $1 in fuzz_dissect) echo dissect ;; fuzz_decode) echo decode ;;
	*) echo "${1#fuzz_}" ;; esac; }
maxlen_of() { case $1 in fuzz_pipeline) echo 65536 ;; fuzz_decode) echo 16384 ;;
	*) echo 8192 ;; esac; }

run_one() {
	local h=$1 corpus=$OUT/fuzz-corpus/$1 crashes=$OUT/crashes/$1 log=$OUT/fuzz-logs/$1.log
	mkdir -p "$corpus" "$crashes" "$OUT/fuzz-logs"
	# Seeds join the corpus once; later runs start from what earlier ones found.
	nice -n 19 "$OUT/tests/$h" -max_total_time="$SECS" -max_len="$(maxlen_of "$h")" \
		-timeout=25 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
		"$corpus" "$SEEDS/$(seeds_of "$h")" >"$log" 2>&1 || true
}

export -f run_one seeds_of maxlen_of
export OUT SEEDS SECS
printf '%s\n' "${HARNESSES[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one {}'

status=0
printf '%-16s %12s %10s %8s %8s %8s %8s\n' harness runs exec/s cov ft corpus findings
for h in "${HARNESSES[@]}"; do
	log=$OUT/fuzz-logs/$h.log
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
	found=$(find "$OUT/crashes/$h" -type f | wc -l)
	printf '%-16s %12s %10s %8s %8s %8s %8s\n' "$h" "${runs:-?}" "${eps:-?}" "${cov:-?}" \
		"${ft:-?}" "${corp:-?}" "$found"
	if [ "$found" -gt 0 ] || grep -q 'ERROR: \(AddressSanitizer\|libFuzzer\|UndefinedBehavior\)' \
		"$log"; then
		echo "fuzz.sh: $h found something: $OUT/crashes/$h/, log $log"
		status=1
	fi
	if [ "$SMOKE" = 1 ]; then
		floor=$(awk -v h="$h" '$1 == h { print $2 }' "$ROOT/tests/fuzz/floors.tsv")
		if [ -z "$cov" ] || [ "$cov" -lt "${floor:-1}" ]; then
			echo "fuzz.sh: $h: coverage ${cov:-none} under its floor ${floor:-1}" \
				"(tests/fuzz/floors.tsv): is the harness or its instrumentation broken?"
			status=1
		fi
	fi
done
exit $status
