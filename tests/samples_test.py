#!/usr/bin/env python3
"""Integration test over the project's own captures (samples/).

Each sample holds one TLS connection recorded between real openssl/gnutls peers; its facts
(verified with tshark when recorded) are in samples/expected.tsv. The test reads every sample
with the built binary and checks the export and the legacy listing against that table.

usage: samples_test.py TLSCENSUS SAMPLES_DIR
"""
import csv
import json
import os
import sqlite3
import sys
import tempfile

from tclib import Checks, export, run

checks = Checks("samples")
fail = checks.fail


def norm(v):
    return None if v in ("-", "") else v


def check_export(tc, db, rows):
    """rows: the file's lines of expected.tsv, one per connection, in time order."""
    name = rows[0]["file"]
    out, recs = export(tc, db)
    if out.returncode != 0:
        fail("%s: export exit %s: %s" % (name, out.returncode, out.stderr))
        return
    if len(recs) != len(rows):
        fail("%s: %d records, expected %d" % (name, len(recs), len(rows)))
        return
    for rec, row in zip(recs, rows):  # export is in time order too
        check_record(rec, row)


def check_record(rec, row):
    want = {
        "transport": "tcp",
        "client_ip": row["client_ip"],
        "server_ip": row["server_ip"],
        "server_port": int(row["server_port"]),
        "sni": norm(row["sni"]),
        "client_version": row["client_version"],
        "client_max_version": row["client_max_version"],
        "version": norm(row["version"]),
        "cipher": norm(row["cipher"]),
        "alert": norm(row["alert"]),
        "parse_status": "ok",
    }
    for key, value in want.items():
        if rec.get(key) != value:
            fail("%s: %s is %r, expected %r" % (row["file"], key, rec.get(key), value))
    for key in ("ja3", "ja4", "ciphers"):
        if not rec.get(key):
            fail("%s: %s missing" % (row["file"], key))
    # nDPI's label: these are TLS sessions to a test name, so nDPI says TLS and nothing more.
    if not str(rec.get("app") or "").startswith("TLS"):
        fail("%s: application label %r, expected nDPI's TLS" % (row["file"], rec.get("app")))
    if rec.get("version") and not rec.get("ja3s"):
        fail("%s: ja3s missing although a ServerHello was seen" % row["file"])


def check_legacy(tc, db, rows):
    """The legacy listing of one file: one entry per connection expected.tsv calls legacy."""
    name = rows[0]["file"]
    out = run([tc, "legacy", "--db", db, "--format", "json"])
    if out.returncode != 0:
        fail("%s: legacy exit %s: %s" % (name, out.returncode, out.stderr))
        return
    doc = json.loads(out.stdout)
    entries = doc["entries"]
    if doc["unknown"]["total"] != 0:
        fail("%s: %d connections could not be judged" % (name, doc["unknown"]["total"]))
    want = [row for row in rows if row["legacy"] == "yes"]
    if len(entries) != len(want):
        fail("%s: legacy lists %d rows, expected %d" % (name, len(entries), len(want)))
        return
    for row in want:
        same = [e for e in entries if e.get("sni") == norm(row["sni"])]
        if len(same) != 1:
            fail("%s: %d legacy rows for SNI %s" % (name, len(same), row["sni"]))
            continue
        check_legacy_entry(same[0], row)


def check_legacy_entry(got, row):
    if got.get("client_ip") != row["client_ip"] or got.get("server_port") != int(row["server_port"]):
        fail("%s: legacy row endpoints %r" % (row["file"], got))
    version = norm(row["version"]) or row["client_max_version"]
    if not str(got.get("version", "")).startswith(version):
        fail("%s: legacy version %r, expected %s" % (row["file"], got.get("version"), version))
    if norm(row["cipher"]) and not got.get("cipher"):
        fail("%s: legacy row has no cipher name" % row["file"])


def check_hello_count(db, name):
    """Regression: the ClientHello after a HelloRetryRequest was not counted (hello_count 1)."""
    with sqlite3.connect(db) as con:
        got = [r[0] for r in con.execute("SELECT hello_count FROM connections WHERE hrr = 1")]
    want = [2] if "hrr" in name else []
    if got != want:
        fail("%s: hello_count of HRR connections %s, want %s" % (name, got, want))


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    with open(os.path.join(samples, "expected.tsv"), newline="") as f:
        table = list(csv.DictReader(f, delimiter="\t"))
    if not table:
        fail("expected.tsv is empty")
    # A file may hold several connections (a fallback: the failed attempt, then the retry).
    files = {}
    for row in table:
        files.setdefault(row["file"], []).append(row)
    with tempfile.TemporaryDirectory() as tmp:
        for name, rows in files.items():
            db = os.path.join(tmp, name + ".db")
            r = run([tc, "read", "--quiet", "--db", db, os.path.join(samples, name)])
            if r.returncode != 0:
                fail("%s: read exit %s: %s" % (name, r.returncode, r.stderr))
                continue
            check_export(tc, db, rows)
            check_legacy(tc, db, rows)
            check_hello_count(db, name)

        # All samples in one run: the legacy listing names exactly the legacy recordings.
        db = os.path.join(tmp, "all.db")
        paths = [os.path.join(samples, name) for name in files]
        r = run([tc, "read", "--quiet", "--db", db] + paths)
        if r.returncode != 0:
            fail("all samples: read exit %s: %s" % (r.returncode, r.stderr))
        out = run([tc, "legacy", "--db", db, "--format", "json"])
        rows = json.loads(out.stdout)["entries"] if out.returncode == 0 else []
        got = sorted((x["server_port"], x.get("sni") or "-", x["version"]) for x in rows)
        want = sorted((int(t["server_port"]), t["sni"],
                       norm(t["version"]) or t["client_max_version"] + " (offered)")
                      for t in table if t["legacy"] == "yes")
        if got != want:
            fail("legacy over all samples:\n  got  %s\n  want %s" % (got, want))
        table_out = run([tc, "legacy", "--db", db])
        n_legacy = sum(1 for t in table if t["legacy"] == "yes")
        if table_out.returncode != 0 or len(table_out.stdout.splitlines()) != n_legacy + 1:
            fail("legacy table: expected a header and %d rows, got:\n%s" % (n_legacy, table_out.stdout))
        csv_out = run([tc, "legacy", "--db", db, "--format", "csv"])
        if csv_out.returncode != 0 or len(list(csv.reader(csv_out.stdout.splitlines()))) != n_legacy + 1:
            fail("legacy csv: expected a header and %d rows" % n_legacy)

    # Counted per row of expected.tsv (its export, its legacy entry), per file (hello_count) and
    # three over all samples.
    return checks.summary(count=len(table) * 2 + len(files) + 3)


if __name__ == "__main__":
    sys.exit(main())
