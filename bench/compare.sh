#!/usr/bin/env bash
# compare.sh: runs the libpcap floor, tlscensus read and ndpiReader over one capture, paired
# (the three take turns, run after run), and prints their figures beside the capture's ground
# truth. It prints and asserts nothing: the exit status is 0 unless something could not run.
#
#   bench/compare.sh CAPTURE [RUNS]          (RUNS defaults to 3; see bench/README.md)
#
# CAPTURE is one of the shared bench captures (../shared/bench/make_bench_pcap.sh DIR), with
# its ground truth in CAPTURE.stats.json beside it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
me=bench/compare.sh

die() {
	echo "$me: $*" >&2
	exit 1
}

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $me CAPTURE [RUNS]"
capture=$1
runs=${2:-3}
case $runs in '' | *[!0-9]* | 0) die "RUNS must be a positive number, not '$runs'" ;; esac
[ -f "$capture" ] || die "capture $capture: no such file (make the bench captures with" \
	"../shared/bench/make_bench_pcap.sh DIR)"
[ -r "$capture" ] || die "capture $capture: not readable"
stats=$capture.stats.json
[ -f "$stats" ] || die "ground truth $stats: no such file (it is written beside the capture" \
	"by make_bench_pcap.sh; without it there is nothing to count the records against)"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))["packets"]' "$stats" 2>/dev/null ||
	die "ground truth $stats: not a bench stats file (no \"packets\" key, or not JSON)"

# The floor: libpcap's pcap_dispatch touching one byte per packet, built here, not in a tree.
loop_src=${BASELINE_LOOP:-$root/../shared/bench/baseline_loop.c}
[ -f "$loop_src" ] || die "floor source $loop_src: no such file (set BASELINE_LOOP=)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tccompare.XXXXXX")
if [ -n "${KEEP:-}" ]; then
	trap 'echo "$me: kept $tmp" >&2' EXIT
else
	trap 'rm -rf "$tmp"' EXIT
fi
gcc -O2 -o "$tmp/loop" "$loop_src" -lpcap 2>"$tmp/loop.cc" ||
	die "could not build $loop_src: $(tail -n 3 "$tmp/loop.cc")"

# tlscensus: TLSCENSUS, else a release build of this checkout, made if missing.
if [ -n "${TLSCENSUS:-}" ]; then
	[ -x "$TLSCENSUS" ] || die "TLSCENSUS=$TLSCENSUS: not an executable file"
	# absolute: the programs run from a directory of their own
	tool=$(realpath -- "$TLSCENSUS")
else
	build=$root/build-release
	if [ ! -d "$build" ]; then
		echo "$me: meson setup $build --buildtype=release" >&2
		meson setup "$build" "$root" --buildtype=release >"$tmp/setup.log" 2>&1 ||
			die "meson setup $build failed: $(tail -n 5 "$tmp/setup.log")"
	fi
	echo "$me: ninja -C $build" >&2
	ninja -C "$build" >"$tmp/ninja.log" 2>&1 ||
		die "ninja -C $build failed: $(tail -n 5 "$tmp/ninja.log")"
	# src/tlscensus since the stage-folder layout, tlscensus before it.
	tool=$build/src/tlscensus
	[ -x "$tool" ] || tool=$build/tlscensus
	[ -x "$tool" ] || die "no tlscensus in $build/src or $build after ninja -C $build"
fi

# GNU time gives the peak RSS of the program alone (apt-get install time).
timer=/usr/bin/time
[ -x "$timer" ] || timer=

# ndpiReader (Debian libndpi-bin): optional, its rows say when it is missing.
ndpi=${NDPIREADER:-$(command -v ndpiReader || true)}
[ -z "$ndpi" ] || [ -x "$ndpi" ] || ndpi=

python3 - "$capture" "$stats" "$runs" "$tmp" "$tmp/loop" "$tool" "$ndpi" \
	"${NO_LABEL:-}" "$timer" <<'EOF'
import csv, json, os, sqlite3, statistics, subprocess, sys, time

capture, stats_path, runs, tmp, loop, tool, ndpi, no_label, timer = sys.argv[1:]
runs = int(runs)
truth = json.load(open(stats_path))
packets = truth["packets"]
size = os.path.getsize(capture)


def say(*a):
    print(*a, file=sys.stderr, flush=True)


def fail(msg):
    say("bench/compare.sh: " + msg)
    sys.exit(1)


def run(name, argv):
    """Runs argv once; returns wall s, cpu s, peak KiB, /proc io counters, exit status."""
    out = open(os.path.join(tmp, name + ".out"), "wb")
    err = open(os.path.join(tmp, name + ".err"), "wb")
    usage = os.path.join(tmp, name + ".usage")
    # GNU time forks the program from its own small process: a program forked from here would
    # carry this Python's resident set in its peak RSS.
    wrap = [timer, "-f", "%M %U %S", "-o", usage] if timer else []
    t0 = time.monotonic()
    p = subprocess.Popen(wrap + argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=tmp)
    # Wait without reaping, so that /proc/PID/io still holds the counters (GNU time's include
    # those of the program it reaped).
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
    wall = time.monotonic() - t0
    io = {}
    try:
        for line in open("/proc/%d/io" % p.pid):
            k, v = line.split(":")
            io[k] = int(v)
    except OSError:
        pass
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    out.close()
    err.close()
    rss, cpu = ru.ru_maxrss, ru.ru_utime + ru.ru_stime
    if timer:
        try:
            rss, user, sys_ = open(usage).read().split("\n")[-2].split()
            rss, cpu = int(rss), float(user) + float(sys_)
        except (OSError, IndexError, ValueError):
            rss, cpu = 0, float("nan")
    return {"wall": wall, "cpu": cpu, "rss": rss, "io": io, "status": p.returncode}


def tail(name, n=3):
    try:
        lines = open(os.path.join(tmp, name + ".err"), errors="replace").read().splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-n:])


def rm(*paths):
    for path in paths:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(path + suffix)
            except FileNotFoundError:
                pass


def version(argv, pick):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    for line in (r.stdout + r.stderr).splitlines():
        if pick in line:
            return line.strip()
    return "unknown"


# What is measured.
tools = [{"key": "floor", "label": "libpcap floor (dispatch)",
          "argv": [loop, capture, "dispatch"]}]
db = {}
for key, extra in [("read", [])] + ([("nolabel", ["--no-label"])] if no_label else []):
    db[key] = os.path.join(tmp, key + ".db")
    tools.append({"key": key, "label": "tlscensus read" + (" --no-label" if extra else ""),
                  "argv": [tool, "read", "--quiet"] + extra + ["--db", db[key], capture]})
ndpi_csv = os.path.join(tmp, "ndpi.csv")
ndpi_version = "not installed (apt-get install libndpi-bin)"
if ndpi:
    ndpi_version = version([ndpi, "-h"], "nDPI").replace("Welcome to ", "")
    tools.append({"key": "ndpi", "label": "ndpiReader",
                  "argv": [ndpi, "-i", capture, "-q", "-C", ndpi_csv]})
for t in tools:
    t["runs"] = []

# Warm the page cache, so that every timed run reads the capture from memory: before each round,
# since ndpiReader's 3.8 GiB on bench-flows pushed part of the capture out of it (the floor's
# next run read from disk, 1.45 s against 0.65).
def warm():
    with open(capture, "rb") as f:
        while f.read(1 << 20):
            pass


say("timing %d paired runs over %s..." % (runs, capture))
dbinfo = {}
for i in range(runs):
    warm()
    done = []
    for t in tools:
        if t.get("failed"):
            continue
        if t["key"] in db:
            rm(db[t["key"]])
        if t["key"] == "ndpi":
            rm(ndpi_csv)
        r = run(t["key"], t["argv"])
        if t["key"] == "ndpi" and r["status"] != 0:
            t["failed"] = "failed (status %d): %s" % (r["status"], tail("ndpi"))
            say("ndpiReader " + t["failed"] + "; going on without it")
            continue
        # tlscensus exits 4 for a truncated capture, with its records kept.
        if r["status"] != 0 and not (t["key"] in db and r["status"] == 4):
            fail("%s failed (status %d): %s -- %s" % (t["label"], r["status"],
                                                      " ".join(t["argv"]), tail(t["key"])))
        if t["key"] in db:
            path = db[t["key"]]
            exit_bytes = sum(os.path.getsize(path + s) for s in ("", "-wal", "-shm")
                             if os.path.exists(path + s))
            c = sqlite3.connect(path)
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            rows = c.execute("SELECT count(*) FROM connections").fetchone()[0]
            c.close()
            r["db"] = {"exit_bytes": exit_bytes, "bytes": os.path.getsize(path), "rows": rows}
        t["runs"].append(r)
        done.append("%s %.2f s" % (t["key"], r["wall"]))
    say("  run %d/%d: %s" % (i + 1, runs, ", ".join(done)))

floor = tools[0]
loop_out = open(os.path.join(tmp, "floor.out")).read().split()
loop_packets = int(loop_out[1]) if len(loop_out) > 1 else -1


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def mib(kib):
    return kib / 1024


# Header.
cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
build = os.path.dirname(os.path.abspath(tool))
if not os.path.exists(os.path.join(build, "meson-info")):
    build = os.path.dirname(build)  # the binary is in the build tree's src/
src = None
try:
    src = json.load(open(os.path.join(build, "meson-info", "meson-info.json")))[
        "directories"]["source"]
except (OSError, ValueError, KeyError):
    pass
commit = "unknown (not in a meson build directory)"
if src:
    r = subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    if r.returncode == 0:
        commit = r.stdout.strip()
        if subprocess.run(["git", "-C", src, "diff", "--quiet", "HEAD", "--"]).returncode:
            commit += " (modified tree)"
        commit += " in " + src
buildtype = "unknown"
try:
    for o in json.load(open(os.path.join(build, "meson-info", "intro-buildoptions.json"))):
        if o["name"] == "buildtype":
            buildtype = o["value"]
except (OSError, ValueError, KeyError):
    pass
conns = truth.get("connections", {})
print()
print("tlscensus compare, %s on %d cores: %s" % (time.strftime("%Y-%m-%d %H:%M UTC",
      time.gmtime()), os.cpu_count(), cpu))
print("tlscensus   %s, %s, %s build, commit %s" % (tool, version([tool, "--version"],
      "tlscensus"), buildtype, commit))
print("ndpiReader  %s%s" % (ndpi + ", " if ndpi else "", ndpi_version))
print("capture     %s: %.1f MB, %d packets (the floor counted %d), %s" % (
    capture, size / 1e6, packets, loop_packets,
    ", ".join("%s %s" % (k, v) for k, v in conns.items())))
print("runs        %d per program, taking turns, each round after a page-cache warm-up; wall clock"
      " except cpu (user + sys); medians" % runs)
print()

# The table.
head = "%-27s %8s %8s %8s %11s %8s %9s %9s" % ("program", "min s", "median s", "cpu s",
                                              "packets/s", "vs floor", "pair med", "peak MiB")
print(head)
print("-" * len(head))
fw = [r["wall"] for r in floor["runs"]]
for t in tools:
    if t.get("failed") and not t["runs"]:
        print("%-27s %s" % (t["label"], t["failed"]))
        continue
    w = [r["wall"] for r in t["runs"]]
    m = med(w)
    pairs = [a / b for a, b in zip(w, fw) if b > 0]
    print("%-27s %8.3f %8.3f %8.2f %11.0f %7.2fx %8.2fx %9.1f" % (
        t["label"], min(w), m, med([r["cpu"] for r in t["runs"]]), packets / m,
        m / med(fw), med(pairs), mib(max(r["rss"] for r in t["runs"]))))
if not ndpi:
    print("%-27s %s" % ("ndpiReader", ndpi_version))
print("(vs floor: median over the floor's median; pair med: median of the per-run ratios)")
if not timer:
    print("(no GNU time at /usr/bin/time: peak MiB includes this script's Python, forked)")
print()
for t in tools:
    if t["runs"]:
        print("%-27s wall s per run: %s" % (t["label"], " ".join("%.3f" % r["wall"]
                                                                 for r in t["runs"])))
byk = {t["key"]: t for t in tools}
if "ndpi" in byk and byk["ndpi"]["runs"] and not byk["ndpi"].get("failed"):
    nw = [r["wall"] for r in byk["ndpi"]["runs"]]
    rw = [r["wall"] for r in byk["read"]["runs"]]
    print("%-27s %.2fx (ndpiReader median / read median), %.2fx (median of the pairs)" % (
        "ndpiReader vs read", med(nw) / med(rw), med([a / b for a, b in zip(nw, rw)])))
print()

# The database, and what was written to get it.
for key in db:
    t = byk[key]
    d = t["runs"][-1]["db"]
    io = t["runs"][-1]["io"]
    print("%s, last run:" % t["label"])
    print("  database    %d connection rows; %.1f MB at exit (db + wal + shm), %.1f MB after"
          " wal_checkpoint(TRUNCATE): %.0f bytes per connection" % (
              d["rows"], d["exit_bytes"] / 1e6, d["bytes"] / 1e6,
              d["bytes"] / d["rows"] if d["rows"] else float("nan")))
    if io:
        print("  written     %.1f MB through write() (wchar), %.1f MB to storage (write_bytes):"
              " %.1fx the final database; %.1f MB read (rchar)" % (
                  io.get("wchar", 0) / 1e6, io.get("write_bytes", 0) / 1e6,
                  io.get("write_bytes", 0) / d["bytes"] if d["bytes"] else float("nan"),
                  io.get("rchar", 0) / 1e6))
print()

# Records against the ground truth.
gt = truth.get("ground_truth", {})
names = {769: "TLS1.0", 770: "TLS1.1", 771: "TLS1.2", 772: "TLS1.3", 768: "SSL3.0", 2: "SSL2.0"}


def line(what, got, want):
    if want is None:
        print("  %-44s %9d" % (what, got))
    else:
        print("  %-44s %9d of %9d%s" % (what, got, want, "" if got == want else
                                         "   (%+d)" % (got - want)))


def q(c, sql):
    return c.execute(sql).fetchone()[0] or 0


for key in db:
    c = sqlite3.connect(db[key])
    print("records, %s (last run) against %s:" % (byk[key]["label"], os.path.basename(stats_path)))
    line("packets decoded (runs.packets)", q(c, "SELECT packets FROM runs ORDER BY id DESC"),
         packets)
    line("connection rows", q(c, "SELECT count(*) FROM connections"), None)
    line("with a ClientHello (TLS connections)",
         q(c, "SELECT count(*) FROM connections WHERE ch_version IS NOT NULL"), conns.get("tls"))
    line("with a ServerHello",
         q(c, "SELECT count(*) FROM connections WHERE sh_version IS NOT NULL"), conns.get("tls"))
    line("parse_status 'ok'",
         q(c, "SELECT count(*) FROM connections WHERE parse_status = 'ok'"), conns.get("tls"))
    line("ClientHello messages (sum of hello_count)",
         q(c, "SELECT sum(hello_count) FROM connections"), gt.get("client_hello_msgs"))
    line("HelloRetryRequest connections (hrr = 1)",
         q(c, "SELECT count(*) FROM connections WHERE hrr = 1"),
         truth.get("tls_helloretry_conns"))
    line("with an SNI",
         q(c, "SELECT count(*) FROM connections WHERE sni IS NOT NULL AND sni <> ''"),
         gt.get("tls_conns_with_sni"))
    line("distinct SNI", q(c, "SELECT count(DISTINCT sni) FROM connections WHERE sni <> ''"),
         gt.get("distinct_sni"))
    line("with an nDPI label (app_label)",
         q(c, "SELECT count(*) FROM connections WHERE app_label IS NOT NULL AND "
              "app_label <> ''"), None)
    got = {names.get(v, str(v)): n for v, n in c.execute(
        "SELECT version, count(*) FROM connections WHERE version IS NOT NULL GROUP BY 1")}
    want = gt.get("negotiated_version_per_conn", {})
    for v in sorted(set(got) | set(want)):
        line("negotiated " + v, got.get(v, 0), want.get(v, 0) if want else None)
    want = gt.get("negotiated_cipher_per_conn")
    if want:
        got = {"0x%04x" % v: n for v, n in c.execute(
            "SELECT cipher, count(*) FROM connections WHERE cipher IS NOT NULL GROUP BY 1")}
        same = sum(1 for k in want if got.get(k, 0) == want[k])
        off = ["%s %d of %d" % (k, got.get(k, 0), want.get(k, 0))
               for k in sorted(set(got) | set(want)) if got.get(k, 0) != want.get(k, 0)]
        print("  %-44s %9d of %9d suites%s" % ("negotiated suites, count exact", same,
                                              len(want), ("; off: " + ", ".join(off[:8])
                                                          if off else "")))
    c.close()
    print()

if "ndpi" in byk and byk["ndpi"]["runs"] and os.path.exists(ndpi_csv):
    flows = tls = hello = server = sni = 0
    with open(ndpi_csv, newline="", errors="replace") as f:
        rd = csv.reader(f)
        hdr = [h.lstrip("#") for h in next(rd, [])]
        col = {h: i for i, h in enumerate(hdr)}

        def get(row, name):
            i = col.get(name)
            return row[i] if i is not None and i < len(row) else ""

        for row in rd:
            flows += 1
            if "TLS" in get(row, "ndpi_proto"):
                tls += 1
                sni += get(row, "server_name_sni") != ""
            hello += get(row, "ja3c") != ""
            server += get(row, "ja3s") != ""
    print("records, ndpiReader (last run, its -C CSV):")
    line("flows", flows, None)
    line("labelled TLS (ndpi_proto)", tls, conns.get("tls"))
    line("with a JA3 (a ClientHello parsed)", hello, conns.get("tls"))
    line("with a JA3S (a ServerHello parsed)", server, conns.get("tls"))
    line("labelled TLS with an SNI", sni, gt.get("tls_conns_with_sni"))
EOF
