#!/usr/bin/env bash
# replay.sh: replays a synthetic capture with tcpreplay from one network namespace, over a veth
# pair, into `tlscensus capture` running in another, samples the capture's memory and CPU every
# second and prints a table. It prints figures and asserts nothing: the exit status is 0 unless
# something failed to run. Needs root; no packet leaves the two namespaces it creates.
#
#   CONNECTIONS=1000000 RATE="topspeed 100000" LABELS=both bench/replay.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
CONNECTIONS=${CONNECTIONS:-1000000}
DATA_PACKETS=${DATA_PACKETS:-0}   # mkcapture.py --data-packets; 'default' for its usual mix
CONCURRENT=${CONCURRENT:-1000}    # mkcapture.py --concurrent
RATE=${RATE:-topspeed}            # one replay per word: topspeed, N (packets/s) or Nmbps
LABELS=${LABELS:-yes}             # yes, no (--no-label) or both
WORKERS=${WORKERS:-}              # capture --workers; empty for its default (the cores)
RUN_AS=${RUN_AS:-}                # tlscensus -Z; empty for its default (tlscensus, else nobody)
USR1_EVERY=${USR1_EVERY:-5}       # seconds between SIGUSR1 statistics lines
SETTLE=${SETTLE:-3}               # seconds to wait after the replay before checking for idle
SERIES=${SERIES:-20}              # about this many lines of RSS series per run
MTU=${MTU:-1500}                  # the frames mkcapture.py writes are at most 1502 bytes
OUT=${OUT:-$here/out}
KEEP=${KEEP:-}                    # non-empty: keep the temporary directory and its databases

die() {
	echo "bench/replay.sh: $*" >&2
	exit 1
}
note() { echo "replay.sh: $*" >&2; }
number() { case $2 in '' | *[!0-9]*) die "$1 must be a number, not '$2'" ;; esac; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, veth pair, live capture)"
if [ -d "$BUILD" ]; then
	build=$(cd "$BUILD" && pwd)
elif [ -d "$root/$BUILD" ]; then
	build=$(cd "$root/$BUILD" && pwd)
else
	die "no build directory $BUILD (meson setup build && ninja -C build, or set BUILD=)"
fi
# The binary sits in src/ since the stage-folder layout, at the top before it.
exe=$build/src/tlscensus
[ -x "$exe" ] || exe=$build/tlscensus
[ -x "$exe" ] || die "$build/src/tlscensus is missing: run ninja -C $build"
command -v tcpreplay >/dev/null || die "tcpreplay is missing: apt-get install -y tcpreplay"
command -v ip >/dev/null || die "ip is missing: apt-get install -y iproute2"
number CONNECTIONS "$CONNECTIONS"
number CONCURRENT "$CONCURRENT"
number USR1_EVERY "$USR1_EVERY"
number SETTLE "$SETTLE"
number SERIES "$SERIES"
number MTU "$MTU"
[ "$DATA_PACKETS" = default ] || number DATA_PACKETS "$DATA_PACKETS"
case $LABELS in
yes) label_runs="yes" ;;
no) label_runs="no" ;;
both) label_runs="yes no" ;;
*) die "LABELS must be yes, no or both, not '$LABELS'" ;;
esac
for r in $RATE; do
	case $r in
	topspeed | *[0-9]mbps) ;;
	'' | *[!0-9]*) die "RATE words must be topspeed, a number of packets/s or Nmbps, not '$r'" ;;
	esac
done

# --- the capture: written once per shape and reused ----------------------------------------
if [ "$DATA_PACKETS" = default ]; then
	name=synth-$CONNECTIONS # the same file run.sh writes
	per_conn=18800
	mkopts=()
else
	name=synth-$CONNECTIONS-data$DATA_PACKETS
	per_conn=$((4100 + DATA_PACKETS * 1420))
	mkopts=(--data-packets "$DATA_PACKETS")
fi
[ "$CONCURRENT" = 1000 ] || name=$name-c$CONCURRENT
mkdir -p "$OUT"
capture=$OUT/$name.pcap
if [ ! -s "$capture" ] || [ ! -s "$capture.info" ]; then
	need=$((CONNECTIONS * per_conn / 1000000 + 1024)) # MB, with a margin
	avail=$(df -Pm "$OUT" | awk 'NR == 2 { print $4 }')
	[ "$avail" -gt "$need" ] || die "$capture needs about $need MB, $OUT has $avail MB free"
	note "writing $capture ($CONNECTIONS connections, about $((need - 1024)) MB)..."
	start=$(date +%s)
	python3 "$here/mkcapture.py" --connections "$CONNECTIONS" --concurrent "$CONCURRENT" \
		"${mkopts[@]}" --out "$capture.tmp" >"$capture.info.tmp" || die "mkcapture.py failed"
	mv "$capture.tmp" "$capture"
	mv "$capture.info.tmp" "$capture.info"
	note "  done in $(($(date +%s) - start)) s"
fi
info() { awk -v k="$1" '$1 == k { print $2 }' "$capture.info"; }
cap_packets=$(info packets)
cap_conns=$(info connections)

# --- a private copy of the binary: others may rebuild build/ while this runs ---------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tcreplay.XXXXXX")
chmod 0755 "$tmp"
mkdir "$tmp/db"
chmod 0777 "$tmp/db" # tlscensus drops root (to RUN_AS or nobody) before it opens the database
cp "$exe" "$tmp/tlscensus"
bin=$tmp/tlscensus
version=$("$bin" --version 2>&1 | head -n 1)
src=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["directories"]["source"])' \
	"$build/meson-info/meson-info.json" 2>/dev/null || echo "$root")
if commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null); then
	git -C "$src" diff --quiet HEAD -- 2>/dev/null || commit="$commit (modified tree)"
else
	commit="unknown (not a git tree)"
fi
binsum=$(sha256sum "$bin" | cut -c1-12)
built=$(date -u -r "$exe" '+%Y-%m-%d %H:%M UTC')
z_opt=()
[ -z "$RUN_AS" ] || z_opt=(-Z "$RUN_AS")

# --- two namespaces and a veth pair --------------------------------------------------------
ns_a=tcreplay-$$-a
ns_b=tcreplay-$$-b
va=tcr$$a
vb=tcr$$b
cap_pid=
sampler_pid=
replay_pid=
cleanup() {
	set +e
	[ -z "$sampler_pid" ] || kill "$sampler_pid" 2>/dev/null
	[ -z "$replay_pid" ] || kill "$replay_pid" 2>/dev/null
	if [ -n "$cap_pid" ]; then
		kill -TERM "$cap_pid" 2>/dev/null
		wake 2>/dev/null
		for i in $(seq 100); do
			[ -d "/proc/$cap_pid" ] && [ "$(state "$cap_pid")" != Z ] || break
			sleep 0.1
		done
		kill -KILL "$cap_pid" 2>/dev/null
		wait "$cap_pid" 2>/dev/null
	fi
	ip netns del "$ns_a" 2>/dev/null
	ip netns del "$ns_b" 2>/dev/null
	if [ -n "$KEEP" ]; then note "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns_a"
ip netns add "$ns_b"
for ns in "$ns_a" "$ns_b"; do
	# No IPv6 on the veth ends: their router solicitations would be captured too.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
done
ip link add "$va" netns "$ns_a" mtu "$MTU" type veth peer name "$vb" netns "$ns_b" mtu "$MTU"
# No offloads: GRO on the capturing end would merge segments before the capture sees them.
ip netns exec "$ns_a" ethtool -K "$va" gro off gso off tso off >/dev/null 2>&1 || true
ip netns exec "$ns_b" ethtool -K "$vb" gro off gso off tso off >/dev/null 2>&1 || true
ip -n "$ns_a" link set "$va" up
ip -n "$ns_b" link set "$vb" up

# netdev NS IFACE: "rx_packets rx_drop tx_packets tx_drop" of IFACE in NS.
netdev() {
	ip netns exec "$1" cat /proc/net/dev |
		awk -v i="$2" '{ sub(/:/, " ") } $1 == i { print $3, $5, $11, $13 }'
}

# wake: one frame into the capturing end, ethertype 0x88b5 (IEEE 802 local experimental). With
# no packet arriving, `tlscensus capture` only notices SIGTERM once one does (see README).
wake() {
	ip netns exec "$ns_a" python3 -c 'import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
s.send(bytes.fromhex("020000000002" "020000000001" "88b5") +
       b"tlscensus bench wake-up".ljust(46, b"\0"))' \
		"$va"
}

# state PID: the process state letter (R, S, D, Z...), empty once it is gone.
state() { awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null || true; }

hz=$(getconf CLK_TCK)
page_kib=$(($(getconf PAGESIZE) / 1024))

# proc_ticks PID: user + system clock ticks of PID, all threads; empty once it is gone. (awk,
# not bash's read: read takes /proc files in small pieces that may come from different moments.)
proc_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || true
}

# sampler PID FILE: once a second appends "usec rss_kib ticks rx_packets replay_ticks
# machine_busy machine_total tid:ticks,..." (the capture's ticks, the packets its veth end has
# received, tcpreplay's ticks, /proc/stat jiffies), and while tcpreplay runs sends SIGUSR1
# every USR1_EVERY seconds (logged in FILE.usr1), until $tmp/stop appears. Only during the
# replay: on a quiet interface the signal may wait for the next packet to be noticed.
sampler() {
	local pid=$1 out=$2 k=0 rp
	while [ ! -e "$tmp/stop" ] && [ -d "/proc/$pid" ]; do
		rp=$(cat "$tmp/replay.pid" 2>/dev/null) || rp=
		grep -sH '' "/proc/$pid/statm" "/proc/$pid/stat" "/proc/$pid/net/dev" /proc/stat \
			${rp:+"/proc/$rp/stat"} /proc/"$pid"/task/*/stat |
			awk -v now="${EPOCHREALTIME/./}" -v pid="$pid" -v rp="$rp" -v vb="$vb" \
				-v page="$page_kib" '
			BEGIN { statm = "/proc/" pid "/statm"; stat = "/proc/" pid "/stat"
				dev = "/proc/" pid "/net/dev"; rstat = "/proc/" rp "/stat"
				task = "/proc/" pid "/task/" }
			{ i = index($0, ":"); f = substr($0, 1, i - 1); $0 = substr($0, i + 1) }
			f == statm { rss = $2 * page }
			f == stat { sub(/^.*\) /, ""); cpu = $12 + $13 }
			f == rstat && rp != "" { sub(/^.*\) /, ""); rcpu = $12 + $13 }
			f == dev { sub(/:/, " "); if ($1 == vb) rx = $3 }
			f == "/proc/stat" && $1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8 + $9
				tot = busy + $5 + $6 }
			index(f, task) == 1 { split(f, p, "/"); sub(/^.*\) /, "")
				thr = thr (thr == "" ? "" : ",") p[5] ":" ($12 + $13) }
			END { print now, rss + 0, cpu + 0, rx + 0, rcpu + 0, busy + 0, tot + 0,
				thr == "" ? "-" : thr }' >>"$out"
		if [ -n "$rp" ] && [ $((k % USR1_EVERY)) = 0 ] && [ "$k" != 0 ]; then
			kill -USR1 "$pid" 2>/dev/null && echo "${EPOCHREALTIME/./}" >>"$out.usr1"
		fi
		k=$((k + 1))
		sleep 1
	done
}

# One capture, one replay: run LABEL RATE NUMBER. Leaves its figures in $tmp/run.N.
runs=0
run() {
	local label=$1 rate=$2 n=$3 label_opt=() rate_opt=() err=$tmp/capture.$3.err i t0 t1
	local before_a before_b after_a after_b rc=0 a b t2 t3 wakes
	[ "$label" = yes ] || label_opt=(--no-label)
	case $rate in
	topspeed) rate_opt=(--topspeed) ;;
	*mbps) rate_opt=(--mbps="${rate%mbps}") ;;
	*) rate_opt=(--pps="$rate") ;;
	esac
	rm -f "$tmp"/db/* "$tmp/stop" "$tmp/replay.pid"
	before_a=$(netdev "$ns_a" "$va")
	before_b=$(netdev "$ns_b" "$vb")
	ip netns exec "$ns_b" "$bin" capture -i "$vb" --db "$tmp/db/bench.db" "${z_opt[@]}" \
		"${label_opt[@]}" ${WORKERS:+--workers "$WORKERS"} 2>"$err" &
	cap_pid=$!
	# ip netns exec execs the command in place, so $! is tlscensus itself; check rather than
	# sample the memory of a wrapper.
	for i in $(seq 100); do
		[ "$(readlink "/proc/$cap_pid/exe" 2>/dev/null)" = "$bin" ] && break
		sleep 0.1
	done
	[ "$(readlink "/proc/$cap_pid/exe" 2>/dev/null)" = "$bin" ] ||
		die "pid $cap_pid is not $bin: $(cat "$err")"
	for i in $(seq 100); do
		grep -q 'capturing on' "$err" && break
		kill -0 "$cap_pid" 2>/dev/null || die "tlscensus capture failed: $(cat "$err")"
		sleep 0.1
	done
	sampler "$cap_pid" "$tmp/samples.$n" &
	sampler_pid=$!
	sleep 2 # two idle samples first: the RSS before any packet

	note "run $n: replaying $capture at $rate, labels $label..."
	t0=${EPOCHREALTIME/./}
	ip netns exec "$ns_a" tcpreplay -i "$va" --no-flow-stats "${rate_opt[@]}" "$capture" \
		>"$tmp/replay.$n.out" 2>&1 &
	replay_pid=$!
	echo "$replay_pid" >"$tmp/replay.pid"
	wait "$replay_pid" || rc=$?
	t1=${EPOCHREALTIME/./}
	replay_pid=
	[ "$rc" = 0 ] || die "tcpreplay failed (status $rc): $(tail -n 3 "$tmp/replay.$n.out")"

	# Settle: SETTLE seconds, then until the capture uses under 5 % of a core for a second.
	sleep "$SETTLE"
	for i in $(seq 120); do
		a=$(proc_ticks "$cap_pid")
		sleep 1
		b=$(proc_ticks "$cap_pid")
		[ $((b - a)) -gt $((hz / 20)) ] || break
	done
	t2=${EPOCHREALTIME/./}
	touch "$tmp/stop"
	wait "$sampler_pid" || true
	sampler_pid=
	# One more statistics line, then the stop: the line shows the state the exit flush starts
	# from (the flags are read together once pcap_dispatch returns).
	kill -USR1 "$cap_pid"
	echo "${EPOCHREALTIME/./}" >>"$tmp/samples.$n.usr1"
	sleep 0.5
	kill -TERM "$cap_pid"
	# Up to ten minutes for the flush. tlscensus reads its signal flags between pcap_dispatch
	# calls, and on a quiet interface that call may wait for the next packet: whenever the
	# process has used no CPU for 2 s, send it one wake-up frame.
	wakes=0
	a=$(proc_ticks "$cap_pid")
	for i in $(seq 6000); do
		case $(state "$cap_pid") in '' | Z | X) break ;; esac
		if [ $((i % 20)) = 0 ]; then
			b=$(proc_ticks "$cap_pid")
			if [ "${b:-0}" = "${a:-0}" ]; then
				wake
				wakes=$((wakes + 1))
			fi
			a=$b
		fi
		sleep 0.1
	done
	rc=0
	wait "$cap_pid" || rc=$?
	t3=${EPOCHREALTIME/./}
	cap_pid=
	after_a=$(netdev "$ns_a" "$va")
	after_b=$(netdev "$ns_b" "$vb")
	[ -s "$tmp/db/bench.db" ] || die "no database after the run: $(cat "$err")"

	{
		echo "label $label"
		echo "rate $rate"
		echo "exit $rc"
		echo "wakes $wakes"
		echo "t0 $t0"
		echo "t1 $t1"
		echo "t2 $t2"
		echo "t3 $t3"
		awk '/^Actual:/ { print "offered", $2; print "offered_bytes", substr($4, 2);
				print "replay_s", $(NF - 1) }
			/Failed packets:/ { print "failed", $NF }
			/Retried packets \(ENOBUFS\)/ { print "enobufs", $NF }
			/Retried packets \(EAGAIN\)/ { print "eagain", $NF }' "$tmp/replay.$n.out"
		set -- $before_a $after_a
		echo "veth_sent $((${7} - ${3}))"
		echo "veth_tx_drop $((${8} - ${4}))"
		set -- $before_b $after_b
		echo "veth_delivered $((${5} - ${1}))"
		echo "veth_rx_drop $((${6} - ${2}))"
		echo "db_bytes $(cat "$tmp"/db/bench.db* | wc -c)"
		python3 - "$tmp/db/bench.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cols = ("packets", "handshakes", "kernel_drops", "queue_drops", "flows", "flows_evicted",
        "undecodable", "hello_truncated", "hello_malformed", "not_ip")
row = db.execute("SELECT %s FROM runs ORDER BY id DESC LIMIT 1" % ", ".join(cols)).fetchone()
for c, v in zip(cols, row or [None] * len(cols)):
    print("run_%s %d" % (c, v or 0))
n, distinct = db.execute("SELECT count(*), count(DISTINCT client_ip || ' ' || client_port) "
                         "FROM connections").fetchone()
print("rows", n)
print("rows_distinct", distinct)
EOF
	} >"$tmp/run.$n"
	runs=$n
}

cat "$capture" >/dev/null # into the page cache: tcpreplay then reads it from memory
n=0
for label in $label_runs; do
	for rate in $RATE; do
		n=$((n + 1))
		run "$label" "$rate" "$n"
	done
done

# --- the tables ----------------------------------------------------------------------------
get() { awk -v k="$2" '$1 == k { print $2 }' "$tmp/run.$1"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# series N: the samples of run N as "t_s rss_kib cpu% busiest% delivered% replay_cpu% busy%
# phase", phase 0 before the replay, 1 during (up to the first sample after its end), 2 while
# settling; t from the replay's start, percentages of one core over the second before.
series() {
	awk -v t0="$(get "$1" t0)" -v t1="$(get "$1" t1)" -v hz="$hz" -v total="$cap_packets" '
		NF == 8 && $2 > 0 {
			nt = split($8, th, ",")
			b = 0
			for (i = 1; i <= nt; i++) {
				split(th[i], kv, ":")
				if (kv[1] in prev && kv[2] - prev[kv[1]] > b) b = kv[2] - prev[kv[1]]
				cur[kv[1]] = kv[2]
			}
			for (k in cur) prev[k] = cur[k]
			if (n++) {
				dt = ($1 - pu) / 1e6
				ph = $1 < t0 ? 0 : (done ? 2 : 1)
				if ($1 > t1) done = 1
				busy = $7 > pt ? ($6 - pb) / ($7 - pt) * 100 : 0
				printf "%.1f %d %.1f %.1f %.2f %.1f %.1f %d\n", ($1 - t0) / 1e6, $2,
					($3 - pc) / hz / dt * 100, b / hz / dt * 100,
					($4 - rx0) / total * 100, ($5 >= pr ? $5 - pr : $5) / hz / dt * 100,
					busy, ph
			} else {
				rx0 = $4
			}
			pu = $1; pc = $3; pr = $5; pb = $6; pt = $7
		}' "$tmp/samples.$1"
}

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
cat <<EOF

tlscensus live capture replay, $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores: $cpu
$version, commit $commit, built $built, sha256 $binsum... (copied from $build)
tcpreplay $(tcpreplay --version 2>&1 | awk 'NR == 1 { print $3 }'), kernel $(uname -r),\
 veth MTU $MTU
capture      $capture
  size       $(awk -v b="$(stat -c %s "$capture")" 'BEGIN { printf "%.1f MB", b / 1e6 }')
  packets    $cap_packets
  connections $cap_conns (each a distinct flow; about $CONCURRENT open at once)
capture side ip netns exec $ns_b tlscensus capture -i $vb --db DB ${z_opt[*]:-(drops root to its default user)}
replay side  ip netns exec $ns_a tcpreplay -i $va --no-flow-stats --topspeed|--pps=N CAPTURE
EOF

for n in $(seq "$runs"); do
	label=$(get "$n" label)
	rate=$(get "$n" rate)
	series "$n" >"$tmp/series.$n"
	# The statistics lines as numbers: received, kernel, interface, decoded, recorded,
	# truncated, malformed, tracked, evicted, lost. The last one is printed at exit, the one
	# before it just before SIGTERM: their difference is the exit flush of the open flows.
	# the total line only (with several workers a line per worker precedes it)
	grep ' received, ' "$tmp/capture.$n.err" | grep -v ' worker [0-9]*: ' | sed 's/^tlscensus: [^:]*: //' |
		tr -c '0-9\n' ' ' >"$tmp/stats.$n"
	read -r _ _ _ _ pre_rec _ _ pre_open _ pre_lost < <(tail -n 2 "$tmp/stats.$n" | head -n 1) || true
	read -r _ _ _ _ end_rec _ _ _ _ end_lost < <(tail -n 1 "$tmp/stats.$n") || true
	echo
	echo "== run $n: RATE=$rate, $([ "$label" = yes ] && echo "labels (nDPI)" || echo "--no-label")"
	awk -v offered="$(get "$n" offered)" -v secs="$(get "$n" replay_s)" \
		-v failed="$(get "$n" failed)" -v enobufs="$(get "$n" enobufs)" \
		-v eagain="$(get "$n" eagain)" -v sent="$(get "$n" veth_sent)" \
		-v txd="$(get "$n" veth_tx_drop)" -v deliv="$(get "$n" veth_delivered)" \
		-v rxd="$(get "$n" veth_rx_drop)" -v pk="$(get "$n" run_packets)" \
		-v kd="$(get "$n" run_kernel_drops)" -v qd="$(get "$n" run_queue_drops)" \
		-v hs="$(get "$n" run_handshakes)" -v rows="$(get "$n" rows)" \
		-v distinct="$(get "$n" rows_distinct)" -v conns="$cap_conns" \
		-v flows="$(get "$n" run_flows)" -v ev="$(get "$n" run_flows_evicted)" \
		-v und="$(get "$n" run_undecodable)" -v tr="$(get "$n" run_hello_truncated)" \
		-v mal="$(get "$n" run_hello_malformed)" -v db="$(get "$n" db_bytes)" \
		-v settle="$(awk -v a="$(get "$n" t1)" -v b="$(get "$n" t2)" 'BEGIN { print (b - a) / 1e6 }')" \
		-v stop="$(awk -v a="$(get "$n" t2)" -v b="$(get "$n" t3)" 'BEGIN { print (b - a) / 1e6 }')" \
		-v rc="$(get "$n" exit)" -v wakes="$(get "$n" wakes)" -v fl_open="$pre_open" \
		-v fl_rec="$((end_rec - pre_rec))" -v fl_lost="$((end_lost - pre_lost))" 'BEGIN {
		f = "  %-28s %12s  %s\n"
		printf f, "packets offered", offered, "tcpreplay: " failed " failed, " enobufs \
			" ENOBUFS and " eagain " EAGAIN retries"
		printf f, "seconds", sprintf("%.2f", secs), "tcpreplay, first packet to last"
		printf f, "packets/s offered", sprintf("%.0f", secs > 0 ? offered / secs : 0), ""
		printf f, "veth: sent / delivered", sent " / " deliv, "dropped by veth: " txd \
			" sending, " rxd " receiving (never seen by the capture)"
		printf f, "packets captured", pk, "runs.packets" (wakes ? "; " wakes " wake-up " \
			"frame" (wakes > 1 ? "s" : "") " sent after SIGTERM" : "")
		printf f, "kernel drops", kd, "runs.kernel_drops (pcap_stats: socket buffer full)"
		printf f, "queue drops", qd, "runs.queue_drops (records lost to a full writer queue)"
		printf f, "handshakes recorded", hs, "runs.handshakes"
		printf f, "exit flush", fl_rec " / " fl_lost, "recorded / lost to the full queue " \
			"after SIGTERM, of " fl_open " flows still open"
		printf f, "connection rows", rows, "count(*) from connections (" distinct \
			" distinct client ip:port)"
		printf f, "connections in the capture", conns, "not recorded: " conns - rows
		printf f, "flows / evicted", flows " / " ev, "runs.flows, runs.flows_evicted"
		printf f, "undecodable / trunc / malf", und " / " tr " / " mal, \
			"runs.undecodable, hello_truncated, hello_malformed"
		printf f, "database size", sprintf("%.1f MB", db / 1e6), "db + wal + shm at exit"
		printf f, "settle, stop", sprintf("%.1f s, %.1f s", settle, stop), \
			"end of replay to idle; SIGTERM to exit (flush), exit status " rc
		if (conns - rows > 0 && kd + qd + txd + rxd + failed + ev == 0 && pk >= offered)
			printf "  NOTE: %d connections missing with no drop counted anywhere\n", conns - rows
		if (pk + kd + wakes < deliv)
			printf "  NOTE: %d packets delivered to the veth neither captured nor counted " \
				"as dropped\n", deliv - pk - kd - wakes
	}'
	# RSS and CPU during the replay (phase 1) and at each quarter of the packets delivered.
	# (mawk has no asort: the median comes from sort.)
	awk -v idle="$(awk '$8 == 0 { r = $2 } END { print r + 0 }' "$tmp/series.$n")" \
		-v med="$(awk '$8 == 1 { print $2 }' "$tmp/series.$n" | sort -n |
			awk '{ r[NR] = $1 }
				END { if (NR) print NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2 }')" '
		$8 == 1 { n++; mn = n == 1 || $2 < mn ? $2 : mn; mx = $2 > mx ? $2 : mx; c += $3
			b = $4 > b ? $4 : b; bs += $4; rc += $6; busy += $7 }
		$8 == 1 { for (q = 1; q <= 4; q++) if (!(q in at) && $5 >= q * 25 - 0.01) at[q] = $2 }
		$8 == 1 { last = $2 }
		$8 == 2 { final = $2 }
		END {
			if (!n) { print "  (no samples during the replay)"; exit }
			printf "  %-28s %12s  %s\n", "RSS min / median / max", sprintf("%.1f / %.1f / %.1f", \
				mn / 1024, med / 1024, mx / 1024), "MiB, " n " one-second samples during the replay"
			s = ""
			for (q = 1; q <= 4; q++)
				s = s sprintf("%s%.1f", q > 1 ? " / " : "", (q in at ? at[q] : last) / 1024)
			printf "  %-28s %12s  %s\n", "RSS at 25/50/75/100 % flows", s, \
				"MiB, by packets delivered to the capturing veth end"
			printf "  %-28s %12s  %s\n", "RSS idle before, after", sprintf("%.1f, %.1f", \
				idle / 1024, (final ? final : last) / 1024), "MiB (after: once settled)"
			printf "  %-28s %12s  %s\n", "cpu during the replay", sprintf("%.0f %%", c / n), \
				sprintf("of one core; busiest thread %.0f %% avg, %.0f %% max; tcpreplay " \
				"%.0f %%; machine %.0f %% busy", bs / n, b, rc / n, busy / n)
		}' "$tmp/series.$n"
	# A compact series: every k-th sample, the last one of the replay, and the settled one.
	total=$(wc -l <"$tmp/series.$n")
	step=$(((total + SERIES - 1) / SERIES))
	[ "$step" -gt 0 ] || step=1
	echo "  RSS series (one one-second sample in $step; t from the replay's start):"
	echo "        t s  delivered %   RSS MiB   cpu %  busiest %  tcpreplay %  machine busy %"
	awk -v k="$step" '
		function row(m) { printf "    %7.1f %12.2f %9.1f %7.0f %10.0f %12.0f %15.0f%s\n",
			$1, $5, $2 / 1024, $3, $4, $6, $7, m }
		{ ph[NR] = $8; line[NR] = $0 }
		END {
			for (i = 1; i <= NR; i++) {
				$0 = line[i]
				last_replay = ph[i] == 1 && ph[i + 1] != 1
				if ((i - 1) % k == 0 || last_replay || i == NR)
					row(ph[i] == 0 ? "  (idle)" : ph[i] == 2 ? "  (settling)" : \
						last_replay ? "  (replay ends)" : "")
			}
		}' "$tmp/series.$n"
	# The SIGUSR1 statistics lines, numbers only, with the time each was asked for; the last
	# line is the one tlscensus prints as it exits.
	echo "  statistics lines (SIGUSR1 every $USR1_EVERY s during the replay and once before SIGTERM;" \
		"the last printed at exit):"
	echo "        t s    received  kernel drop    decoded   recorded  tracked   evicted  queue lost"
	awk -v t0="$(get "$n" t0)" -v f="$tmp/samples.$n.usr1" '
			{ t = (getline u <f) > 0 ? sprintf("%7.1f", (u - t0) / 1e6) : "   exit"
			  printf "    %s %11d %12d %10d %10d %8d %9d %11d\n", t, $1, $2 + $3, $4, $5,
				$8, $9, $10 }' "$tmp/stats.$n"
	grep -v -e ' received, ' -e 'capturing on' "$tmp/capture.$n.err" | sed 's/^/  stderr: /' || true
done

if [ "$runs" -gt 1 ]; then
	echo
	echo "summary"
	echo "  run  rate      labels  offered pps  captured   kernel drop  queue drop   rows       not recorded  RSS max MiB  db MB"
	for n in $(seq "$runs"); do
		awk -v n="$n" -v rate="$(get "$n" rate)" -v l="$(get "$n" label)" \
			-v o="$(get "$n" offered)" -v s="$(get "$n" replay_s)" \
			-v pk="$(get "$n" run_packets)" -v kd="$(get "$n" run_kernel_drops)" \
			-v qd="$(get "$n" run_queue_drops)" -v rows="$(get "$n" rows)" -v c="$cap_conns" \
			-v rss="$(awk '$8 == 1 && $2 > m { m = $2 } END { print m + 0 }' "$tmp/series.$n")" \
			-v db="$(get "$n" db_bytes)" 'BEGIN {
			printf "  %-4d %-9s %-7s %11.0f %-10d %-12d %-11d %-10d %-13d %11.1f %6.1f\n",
				n, rate, l, (s > 0 ? o / s : 0), pk, kd, qd, rows, c - rows, rss / 1024, db / 1e6 }'
	done
fi
exit 0
