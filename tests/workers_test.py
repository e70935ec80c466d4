#!/usr/bin/env python3
"""`read --workers N`: every worker walks the files and keeps its own flows; the records and
the run's counters must be those of one worker, order aside.

- the samples (plain, clients, tunnels: inner flows owned by the inner 5-tuple) and, when
  ../shared exists, the shared corpus, at 1, 2 and 3 workers;
- one larger file: every sample merged into one capture, time-shifted copy after copy;
- standard input with --workers 2 is read by one worker (it can be read once only).

usage: workers_test.py TLSCENSUS SAMPLES_DIR [CORPUS_DIR]
"""
import glob
import os
import shutil
import sqlite3
import sys
import tempfile

from tclib import Checks, Pcap, run, write_pcap

checks = Checks("workers")
check = checks.check

COUNTERS = ("packets", "bytes", "not_ip", "undecodable", "fragments", "reassembled",
            "tcp_packets", "flows", "handshakes", "hello_truncated", "hello_malformed")


def read(tc, db, files, workers, stdin=None):
    argv = [tc, "read", "--quiet", "--workers", str(workers), "--db", db]
    if stdin:
        with open(stdin, "rb") as f:
            r = run(argv + ["-"], stdin=f, text=False, timeout=300)
    else:
        r = run(argv + files, text=False, timeout=300)
    check(r.returncode in (0, 4), "read --workers %d: exit %s %r" % (workers, r.returncode,
                                                                     r.stderr[-300:]))
    e = run([tc, "export", "--format", "ndjson", "--db", db], text=False, timeout=120)
    with sqlite3.connect(db) as c:
        runs = c.execute("SELECT %s FROM runs ORDER BY id DESC LIMIT 1" % ", ".join(COUNTERS))
        counters = dict(zip(COUNTERS, runs.fetchone()))
        per = c.execute("SELECT worker, packets, flows, handshakes FROM run_workers WHERE "
                        "run_id = (SELECT max(id) FROM runs) ORDER BY worker").fetchall()
    # run_workers: a row per worker when there are several, summing to the run's total
    if workers == 1 or stdin:
        check(per == [], "read --workers 1: no run_workers rows: %r" % per)
    else:
        check([w[0] for w in per] == list(range(workers)),
              "read --workers %d: a run_workers row per worker: %r" % (workers, per))
        for i, key in ((1, "packets"), (2, "flows"), (3, "handshakes")):
            check(sum(w[i] for w in per) == counters[key],
                  "run_workers' %s sum to the run's %d: %r" % (key, counters[key], per))
        if counters["handshakes"] >= 20:
            check(all(w[3] > 0 for w in per), "every worker recorded some: %r" % per)
    return sorted(e.stdout.splitlines()), counters, r.stderr


def same(tc, tmp, name, files, counts=(1, 2, 3)):
    base = None
    for n in counts:
        db = os.path.join(tmp, "%s-%d.db" % (name, n))
        recs, counters, _ = read(tc, db, files, n)
        if base is None:
            base = (recs, counters)
            check(len(recs) > 0, "%s: records at 1 worker" % name)
            continue
        check(recs == base[0], "%s: %d workers give other records (%d vs %d)" % (
            name, n, len(recs), len(base[0])))
        diff = {k: (counters[k], base[1][k]) for k in COUNTERS if counters[k] != base[1][k]}
        check(not diff, "%s: %d workers count otherwise: %r" % (name, n, diff))
    return base


def merged(samples, out):
    """Every sample in one capture, each in a time slot of its own (its connections closed
    before the next round repeats them), three rounds; all Ethernet, as the samples are."""
    files = sorted(glob.glob(os.path.join(samples, "*.pcap")) +
                   glob.glob(os.path.join(samples, "clients", "*.pcap")) +
                   glob.glob(os.path.join(samples, "tunnels", "*.pcap")))
    head, pkts, t = None, [], 0
    for rnd in range(3):
        for f in files:
            p = Pcap(f)
            head = head or p.header
            t += 100
            for sec, usec, frame in p.packets:
                pkts.append((sec + t, usec, frame))
    write_pcap(out, head, pkts)
    return len(pkts)


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    corpus = sys.argv[3] if len(sys.argv) > 3 else None
    tmp = tempfile.mkdtemp(prefix="tc-workers-")
    try:
        files = sorted(glob.glob(os.path.join(samples, "*.pcap")))
        files += sorted(glob.glob(os.path.join(samples, "clients", "*.pcap")))
        files += sorted(glob.glob(os.path.join(samples, "tunnels", "*.pcap")))
        recs, _ = same(tc, tmp, "samples", files)
        print("workers: samples: %d records at 1, 2 and 3 workers" % len(recs))

        big = os.path.join(tmp, "merged.pcap")
        n = merged(samples, big)
        recs, counters = same(tc, tmp, "merged", [big], counts=(1, 2))
        print("workers: one file of %d packets: %d records at 1 and 2 workers" % (n, len(recs)))

        one, c1, _ = read(tc, os.path.join(tmp, "stdin-1.db"), None, 1, stdin=big)
        two, c2, _ = read(tc, os.path.join(tmp, "stdin-2.db"), None, 2, stdin=big)
        check(one == two == recs and c1 == c2 == counters,
              "standard input with --workers 2: the same as one worker")

        if corpus and os.path.isdir(os.path.join(corpus, "pcaps")):
            cfiles = sorted(glob.glob(os.path.join(corpus, "pcaps", "*")))
            recs, _ = same(tc, tmp, "corpus", cfiles, counts=(1, 2))
            print("workers: corpus: %d records at 1 and 2 workers" % len(recs))
        else:
            print("workers: no shared corpus, its comparison skipped")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
