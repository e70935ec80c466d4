#!/usr/bin/env python3
"""Tunnelled captures (samples/tunnels/) must give the same census as the plain sample inside.

Each file in samples/tunnels/manifest.tsv is one of the project's own samples with every
frame wrapped in a tunnel (GRE, ERSPAN, VXLAN, Geneve, MPLS, PPPoE, IP-in-IP, GTP-U...) by
samples/tunnels/wrap.py. The test reads the wrapped file and its inner sample into separate
databases and compares the exports key by key: the decoder must reach the inner endpoints and
lose no packet on the way. Timestamps and the application label are left out of the
comparison; the legacy listing must match too, and agree with samples/expected.tsv.

usage: tunnels_test.py TLSCENSUS SAMPLES_DIR
"""
import csv
import json
import os
import re
import sys
import tempfile

from tclib import UNCOMPARED, Checks, export, run, without

# Not compared in the legacy listing: the capture times.
IGNORED_LEGACY = {"first_seen", "last_seen"}
# Summary counters that must match: every tunnelled frame has to reach TCP.
COUNTERS = ("packets", "TCP", "flows", "TLS connections recorded", "truncated", "malformed")

checks = Checks("tunnels")
check = checks.check


def counters(stderr):
    """The numbers of the read summary line, by name; {} if there is no such line."""
    found = {}
    for name in COUNTERS:
        m = re.search(r"(\d+) %s\b" % re.escape(name), stderr)
        if m:
            found[name] = int(m.group(1))
    return found


def census(tc, db, path):
    """Read one capture into a fresh database: (summary counters, export rows, legacy rows),
    or None after recording the failure."""
    name = os.path.basename(path)
    r = run([tc, "read", "--db", db, path])
    if not check(r.returncode == 0, "%s: read exit %s: %s" % (name, r.returncode, r.stderr)):
        return None
    out, recs = export(tc, db)
    if not check(out.returncode == 0, "%s: export exit %s: %s" % (name, out.returncode, out.stderr)):
        return None
    leg = run([tc, "legacy", "--db", db, "--format", "json"])
    if not check(leg.returncode == 0, "%s: legacy exit %s: %s" % (name, leg.returncode, leg.stderr)):
        return None
    return counters(r.stderr), recs, json.loads(leg.stdout)["entries"]


def compare(label, got, want, ignored):
    """Key-by-key comparison of two lists of records; names every key that differs."""
    got, want = without(got, ignored), without(want, ignored)
    if not check(len(got) == len(want), "%s: %d records, the inner sample gives %d"
                 % (label, len(got), len(want))):
        return
    for i, (g, w) in enumerate(zip(got, want)):
        for key in sorted(set(g) | set(w)):
            check(g.get(key) == w.get(key), "%s: record %d: %s is %r, inner sample gives %r"
                  % (label, i, key, g.get(key), w.get(key)))


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    tunnels = os.path.join(samples, "tunnels")
    with open(os.path.join(tunnels, "manifest.tsv"), newline="") as f:
        manifest = list(csv.DictReader(f, delimiter="\t"))
    with open(os.path.join(samples, "expected.tsv"), newline="") as f:
        expected = {row["file"]: row for row in csv.DictReader(f, delimiter="\t")}
    check(len(manifest) > 0, "manifest.tsv lists no file")

    # Every capture in the directory is listed, so none is silently left untested.
    on_disk = sorted(n for n in os.listdir(tunnels) if n.endswith(".pcap"))
    listed = sorted(row["file"] for row in manifest)
    check(on_disk == listed, "samples/tunnels: files %s, manifest lists %s" % (on_disk, listed))

    legacy_inner = set()
    with tempfile.TemporaryDirectory() as tmp:
        inner_cache = {}
        for row in manifest:
            label = "%s (%s over %s)" % (row["file"], row["encapsulation"], row["inner"])
            inner = row["inner"]
            if inner not in inner_cache:
                db = os.path.join(tmp, "inner-" + inner + ".db")
                inner_cache[inner] = census(tc, db, os.path.join(samples, inner))
            want = inner_cache[inner]
            got = census(tc, os.path.join(tmp, row["file"] + ".db"),
                         os.path.join(tunnels, row["file"]))
            if want is None or got is None:
                continue
            want_n, want_recs, want_legacy = want
            got_n, got_recs, got_legacy = got

            check(len(want_recs) == 1, "%s: inner sample gives %d records, expected 1"
                  % (inner, len(want_recs)))
            for name in COUNTERS:
                if name in want_n:
                    check(got_n.get(name) == want_n[name], "%s: summary '%s' is %r, inner "
                          "sample gives %d" % (label, name, got_n.get(name), want_n[name]))
            compare(label, got_recs, want_recs, UNCOMPARED)
            compare(label + " legacy", got_legacy, want_legacy, IGNORED_LEGACY)

            # The legacy listing names the inner session exactly when expected.tsv says so.
            exp = expected.get(inner)
            if check(exp is not None, "%s: inner sample not in expected.tsv" % label):
                is_legacy = exp["legacy"] == "yes"
                if is_legacy:
                    legacy_inner.add(inner)
                ok = len(got_legacy) == (1 if is_legacy else 0)
                if ok and is_legacy:
                    g = got_legacy[0]
                    ok = (g.get("client_ip") == exp["client_ip"]
                          and g.get("server_ip") == exp["server_ip"]
                          and g.get("server_port") == int(exp["server_port"]))
                check(ok, "%s: legacy lists %r, expected.tsv says legacy=%s for %s:%s"
                      % (label, got_legacy, exp["legacy"], exp["server_ip"],
                         exp["server_port"]))
    check(len(legacy_inner) >= 2, "legacy inner samples: %s; at least 2 wanted" % sorted(legacy_inner))

    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
