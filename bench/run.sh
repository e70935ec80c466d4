#!/usr/bin/env bash
# run.sh: times tlscensus read against a bare libpcap loop over the same synthetic capture and
# prints a table. It prints figures and asserts nothing: the exit status is 0 unless a program
# failed to run. See bench/README.md for what each figure means.
#
#   BUILD=build CONNECTIONS=200000 RUNS=3 bench/run.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
CONNECTIONS=${CONNECTIONS:-200000}
RUNS=${RUNS:-3}
OUT=${OUT:-$here/out}

die() {
	echo "bench/run.sh: $*" >&2
	exit 1
}

# BUILD is taken relative to the current directory, else to the repository root.
if [ -d "$BUILD" ]; then
	build=$(cd "$BUILD" && pwd)
elif [ -d "$root/$BUILD" ]; then
	build=$(cd "$root/$BUILD" && pwd)
else
	die "no build directory $BUILD (meson setup build && ninja -C build, or set BUILD=)"
fi
tool=$build/src/tlscensus # since the stage-folder layout; before it, the build root
[ -x "$tool" ] || [ ! -x "$build/tlscensus" ] || tool=$build/tlscensus
bare=$build/bench/pcap_loop
[ -x "$tool" ] || die "$tool is missing: run ninja -C $build"
[ -x "$bare" ] || die "$bare is missing: run ninja -C $build"
case $CONNECTIONS in '' | *[!0-9]*) die "CONNECTIONS must be a number, not '$CONNECTIONS'" ;; esac
case $RUNS in '' | *[!0-9]* | 0) die "RUNS must be a positive number, not '$RUNS'" ;; esac
timer=/usr/bin/time
[ -x "$timer" ] || timer= # without GNU time the peak RSS column stays empty

mkdir -p "$OUT"
capture=$OUT/synth-$CONNECTIONS.pcap
if [ ! -s "$capture" ] || [ ! -s "$capture.info" ]; then
	echo "writing $capture ($CONNECTIONS connections)..." >&2
	start=$(date +%s.%N)
	python3 "$here/mkcapture.py" --connections "$CONNECTIONS" --out "$capture.tmp" \
		>"$capture.info.tmp" || die "mkcapture.py failed"
	mv "$capture.tmp" "$capture"
	mv "$capture.info.tmp" "$capture.info"
	echo "  done in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s" >&2
fi
info() { awk -v k="$1" '$1 == k { print $2 }' "$capture.info"; }
size=$(stat -c %s "$capture")
packets=$(info packets)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tcbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# An empty capture (the pcap file header alone): what a run costs before its first packet.
# Magic a1b2c3d4 little-endian, version 2.4, zone 0, sigfigs 0, snaplen 262144, Ethernet.
printf '\324\303\262\241\002\000\004\000%b\000\000\004\000\001\000\000\000' \
	'\000\000\000\000\000\000\000\000' >"$tmp/empty.pcap"

# once NAME CMD...: runs CMD once; appends "wall_us peak_kib cpu_s" to $tmp/NAME.
once() {
	local name=$1 t0 t1 res=0
	shift
	rm -f "$tmp"/*.db "$tmp"/*.db-wal "$tmp"/*.db-shm
	t0=$(date +%s%N)
	if [ -n "$timer" ]; then
		"$timer" -f '%M %U %S' -o "$tmp/usage" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || res=$?
	else
		echo '0 0 0' >"$tmp/usage"
		"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || res=$?
	fi
	t1=$(date +%s%N)
	[ "$res" = 0 ] || die "$name failed (status $res): $* -- $(tail -n 3 "$tmp/$name.err")"
	tail -n 1 "$tmp/usage" | awk -v w=$(((t1 - t0) / 1000)) '{ print w, $1, $2 + $3 }' \
		>>"$tmp/$name"
}

# stats NAME: "min median peak_kib median_cpu" of the runs, in seconds and KiB.
stats() {
	awk '{ w[NR] = $1 / 1e6; c[NR] = $3; if ($2 > r) r = $2 }
		function med(a, n,   i, j, t) {
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
					t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
				}
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		END { m = med(w, NR); printf "%.6f %.6f %d %.2f\n", w[1], m, r, med(c, NR) }' "$1"
}

# Warm the page cache so the first timed run reads from memory like the others.
cat "$capture" >/dev/null

# The programs take turns, run after run, so a machine that slows down for a while (other
# jobs, frequency changes) spreads its noise over all of them instead of one.
echo "timing $RUNS runs each over $capture..." >&2
for run in $(seq "$RUNS"); do
	once bare "$bare" "$capture"
	once full "$tool" read --quiet --db "$tmp/full.db" "$capture"
	[ "$run" != "$RUNS" ] ||
		handshakes=$("$tool" export --db "$tmp/full.db" --format ndjson | wc -l)
	once nolabel "$tool" read --quiet --no-label --db "$tmp/nolabel.db" "$capture"
	[ "$run" != "$RUNS" ] ||
		handshakes_nl=$("$tool" export --db "$tmp/nolabel.db" --format ndjson | wc -l)
	once empty "$tool" read --quiet --db "$tmp/empty.db" "$tmp/empty.pcap"
done
bare_packets=$(awk '$1 == "packets" { print $2 }' "$tmp/bare.out")

read -r bare_min bare_med bare_rss bare_cpu < <(stats "$tmp/bare")
read -r full_min full_med full_rss full_cpu < <(stats "$tmp/full")
read -r nl_min nl_med nl_rss nl_cpu < <(stats "$tmp/nolabel")
read -r empty_min empty_med empty_rss empty_cpu < <(stats "$tmp/empty")

row() { # label min median peak_kib cpu
	awk -v l="$1" -v mn="$2" -v md="$3" -v r="$4" -v c="$5" -v p="$packets" -v b="$size" \
		-v base="$bare_med" 'BEGIN {
		printf "%-27s %7.3f %8.3f %6.2f %10.0f %7.1f %6.2fx %8.1f\n",
			l, mn, md, c, p / md, b / md / 1e6, md / base, r / 1024 }'
}

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
version=$("$tool" --version 2>&1 | head -n 1)
# The commit of the tree the build directory was configured from, which need not be this one.
src=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["directories"]["source"])' \
	"$build/meson-info/meson-info.json" 2>/dev/null || echo "$root")
if commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null); then
	git -C "$src" diff --quiet HEAD -- 2>/dev/null || commit="$commit (modified tree)"
else
	commit="unknown (not a git tree)"
fi
cat <<EOF

tlscensus benchmark, $(date -u +%Y-%m-%d) on $(nproc) cores: $cpu
$version, commit $commit, built in $build

capture        $capture
  size         $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }')
  packets      $packets (pcap_loop read $bare_packets)
  connections  $CONNECTIONS
runs           $RUNS per program, taking turns, after one page-cache warm-up;
               seconds are wall clock except cpu s (user + system, median)

program                       min s median s  cpu s  packets/s    MB/s vs bare peak MiB
EOF
row "pcap_loop (bare libpcap)" "$bare_min" "$bare_med" "$bare_rss" "$bare_cpu"
row "tlscensus read" "$full_min" "$full_med" "$full_rss" "$full_cpu"
row "tlscensus read --no-label" "$nl_min" "$nl_med" "$nl_rss" "$nl_cpu"
awk -v mn="$empty_min" -v md="$empty_med" -v r="$empty_rss" -v c="$empty_cpu" 'BEGIN {
	printf "%-27s %7.3f %8.3f %6.2f %10s %7s %7s %8.1f\n",
		"tlscensus read, empty file", mn, md, c, "-", "-", "-", r / 1024 }'
# (awk reads a bare ">" in a printf argument list as a redirection: hence the parentheses.)
awk -v f="$full_med" -v n="$nl_med" -v b="$bare_med" -v e="$empty_med" \
	-v fc="$full_cpu" -v nc="$nl_cpu" 'BEGIN {
	printf "\nnDPI labelling share     %5.1f %% of wall time, %5.1f %% of cpu time%s\n",
		(f > 0 ? (f - n) / f * 100 : 0), (fc > 0 ? (fc - nc) / fc * 100 : 0),
		" ((with - without) / with)"
	printf "libpcap reading share    %5.1f %% of wall time (bare / with labels)\n",
		(f > 0 ? b / f * 100 : 0)
	printf "fixed cost per run       %5.3f s (empty capture: start-up, nDPI, database set-up)\n", e
}'
echo "handshakes recorded      $handshakes ($handshakes_nl with --no-label)" \
	"of $(info connections) connections generated"
exit 0
