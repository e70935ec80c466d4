#!/usr/bin/env python3
"""Post-quantum readiness end to end: samples/pq rebuilt from bytes and compared, then each
attribution class of --policy pq (ready, hrr-cost, draft-only, client-limited, server-limited)
through read -> legacy (JSON, CSV, table) and report (CSV, Markdown, HTML), on the built PQ
samples and on recorded classical ones (X25519, P-256 after a HelloRetryRequest, TLS 1.2).

Usage: pq_test.py TLSCENSUS SAMPLES_DIR PQ_SAMPLES_BINARY
"""
import csv
import io
import json
import os
import sqlite3
import sys
import tempfile

import tclib
from tclib import Checks, Pcap, client_hello, set_address, src_ip

checks = Checks("pq")
check = checks.check

# client address -> (sample, expected attribution or "ready", server group, hrr)
CASES = {
    "10.99.1.1": ("tls13-openssl.pcap", "client-limited", "x25519", False),
    "10.99.1.2": ("tls13-openssl-hrr.pcap", "client-limited", "secp256r1", True),
    "10.99.1.3": ("tls12-openssl.pcap", "client-limited", None, False),
    "10.99.2.1": ("pq/pq-x25519mlkem768.pcap", "ready", "X25519MLKEM768", False),
    "10.99.2.2": ("pq/pq-mlkem768.pcap", "ready", "MLKEM768", False),
    "10.99.2.3": ("pq/pq-hrr.pcap", "hrr-cost", "X25519MLKEM768", True),
    "10.99.2.4": ("pq/pq-draft.pcap", "draft-only", "X25519Kyber768Draft00", False),
    "10.99.2.5": ("pq/pq-server-classical.pcap", "server-limited", "x25519", False),
}
CLASSES = ("hrr-cost", "draft-only", "client-limited", "server-limited")


def tc(*args):
    return tclib.run([TC] + list(args), timeout=60)


def ok(r, what):
    check(r.returncode == 0, "%s: exit %s: %s" % (what, r.returncode, r.stderr))
    return r.stdout if r.returncode == 0 else ""


def build_db(tmp):
    """One database, each case from its own client address."""
    paths = []
    for client, (name, _, _, _) in sorted(CASES.items()):
        pcap = Pcap(os.path.join(SAMPLES, name))
        i, _ = client_hello(pcap)
        set_address(pcap, src_ip(pcap.packets[i][2]), client)
        paths.append(pcap.write(os.path.join(tmp, client + ".pcap")))
    db = os.path.join(tmp, "pq.db")
    ok(tc("read", "--quiet", "--no-label", "--db", db, *paths), "read")
    return db


def check_samples(tmp):
    """samples/pq is exactly what pq_samples writes (bytes), and every case is in it."""
    out = os.path.join(tmp, "rebuilt")
    os.mkdir(out)
    r = tclib.run([PQ_SAMPLES, out])
    check(r.returncode == 0, "pq_samples: exit %s: %s" % (r.returncode, r.stderr))
    built = sorted(os.listdir(out))
    shipped = sorted(f for f in os.listdir(os.path.join(SAMPLES, "pq")) if f.endswith(".pcap"))
    check(built == shipped, "samples/pq holds what pq_samples writes: %s vs %s" % (built, shipped))
    for f in built:
        same = open(os.path.join(out, f), "rb").read() == \
            open(os.path.join(SAMPLES, "pq", f), "rb").read()
        check(same, "samples/pq/%s is byte for byte what pq_samples writes" % f)
    listed = tclib.run([PQ_SAMPLES, "--list"]).stdout.split()
    check(sorted(listed) == built, "pq_samples --list names the files it writes")


def check_export(db):
    """server_group: the last of the recorded keys (the judge's follow), by name, only on TLS
    1.3 records."""
    r, rows = tclib.export(TC, db)
    check(r.returncode == 0 and len(rows) == len(CASES), "export: %d records" % len(rows))
    for row, line in zip(rows, r.stdout.splitlines()):
        want = CASES.get(row["client_ip"], (None, None, None, None))[2]
        check(row.get("server_group") == want,
              "export %s: server_group %r, want %r" % (row["client_ip"], row.get("server_group"), want))
        if want:
            check(', "ja4": ' in line and ', "server_group": "%s", "community_id": ' % want in line
                  and line.index('"server_group"') > line.index('"ja4"'),
                  "export: server_group after ja4, before the judge's keys")
        else:
            check('"server_group"' not in line, "export: no server_group without a value")


def check_named(db):
    """connections_named.sh_group_name, from the reference table tls_groups."""
    c = sqlite3.connect(db)
    got = dict(c.execute("SELECT client_ip, sh_group_name FROM connections_named"))
    kinds = dict(c.execute("SELECT name, kind FROM tls_groups"))
    c.close()
    check(got == {k: v[2] for k, v in CASES.items()}, "connections_named.sh_group_name %r" % got)
    check(kinds.get("X25519MLKEM768") == "hybrid" and kinds.get("MLKEM768") == "ML-KEM"
          and kinds.get("X25519Kyber768Draft00") == "draft" and kinds.get("x25519") == "ECDHE",
          "tls_groups kinds")


def check_legacy(db, *window):
    what = "legacy --policy pq %s" % " ".join(window)
    doc = json.loads(ok(tc("legacy", "--db", db, "--policy", "pq", "--format", "json", *window),
                        what) or "{}")
    entries = {e["client_ip"]: e for e in doc.get("entries", [])}
    for client, (name, attr, group, hrr) in sorted(CASES.items()):
        e = entries.get(client)
        if attr == "ready":
            check(e is None, "%s: %s (%s) is not listed" % (what, client, name))
            continue
        if not check(e is not None, "%s: %s (%s) listed" % (what, client, name)):
            continue
        check(e["attribution"] == attr, "%s: %s (%s) is %s, want %s"
              % (what, client, name, e["attribution"], attr))
        check(e["server_group"] == group and e["hrr"] == hrr,
              "%s: %s group %r hrr %r" % (what, client, e["server_group"], e["hrr"]))
    check(doc.get("ready_clients") == [{"client_ip": "10.99.2.1", "connections": 1},
                                       {"client_ip": "10.99.2.2", "connections": 1}],
          "%s: ready clients %r" % (what, doc.get("ready_clients")))
    check(doc.get("key_exchange") == {"ready": 2, "pq": 3, "draft": 1, "classical": 3,
                                      "no_group": 1, "no_facts": 0},
          "%s: key_exchange %r" % (what, doc.get("key_exchange")))
    for a in CLASSES:
        check(a in doc.get("advice", {}), "%s: advice for %s" % (what, a))
    return doc


def check_legacy_formats(db):
    rows = list(csv.reader(io.StringIO(ok(tc("legacy", "--db", db, "--policy", "pq",
                                              "--format", "csv"), "legacy csv"))))
    head = rows[0] if rows else []
    check(head[-2:] == ["server_group", "hrr"], "legacy csv: the group columns come last")
    by = {r[0]: dict(zip(head, r)) for r in rows[1:]}
    for client, (_, attr, group, hrr) in CASES.items():
        row = by.get(client, {})
        check(row.get("attribution") == attr, "legacy csv: %s is %r" % (client, row.get("attribution")))
        if attr != "ready":
            check(row.get("server_group") == (group or "") and row.get("hrr") == str(int(hrr)),
                  "legacy csv: %s group columns %r" % (client, row))
        else:
            check(row.get("connections") == "1", "legacy csv: ready row of %s" % client)
    table = ok(tc("legacy", "--db", db, "--policy", "pq"), "legacy table")
    check("X25519MLKEM768 after HelloRetryRequest" in table and "draft group "
          "X25519Kyber768Draft00" in table, "legacy table: the reasons name the groups")
    check("key exchange: 2 of 8 judged connections ready under policy 'pq'; 3 hybrid or ML-KEM"
          in table, "legacy table: the key-exchange line")
    # Without group rules nothing changes shape.
    doc = json.loads(ok(tc("legacy", "--db", db, "--format", "json"), "legacy default") or "{}")
    check("key_exchange" not in doc and all("server_group" not in e for e in doc["entries"]),
          "legacy default: no key-exchange keys")
    head = ok(tc("legacy", "--db", db, "--format", "csv"), "legacy default csv").splitlines()[0]
    check(head.endswith(",ja3,ja4"), "legacy default csv: the header as before")


def csv_block(text, section):
    rows = list(csv.reader(io.StringIO(text)))
    head = None
    out = []
    for r in rows:
        if r and r[0] == "section":
            head = r
        elif r and r[0] == section and head:
            out.append(dict(zip(head, r)))
    return out


def check_report(db):
    text = ok(tc("report", "--db", db, "--policy", "pq", "--format", "csv", "--no-record"),
              "report pq csv")
    kx = {r["field"]: r["value"] for r in csv_block(text, "key_exchange")}
    check(kx.get("pq_connections") == "3" and kx.get("connections") == "8"
          and kx.get("pq_share") == "0.3750", "report csv: key_exchange block %r" % kx)
    pq = {r["client_ip"]: r for r in csv_block(text, "pq")}
    check(sorted(pq) == sorted(CASES), "report csv: one pq row per client: %s" % sorted(pq))
    for client, (_, attr, _, _) in CASES.items():
        row = pq.get(client, {})
        want = {a: "0" for a in CLASSES + ("ready",)}
        want[attr] = "1"
        got = {a: row.get(a) for a in want}
        check(got == want and row.get("connections") == "1",
              "report csv: %s counts %r, want %r" % (client, got, want))
    trend = {r["day"]: r for r in csv_block(text, "pq_trend")}
    check(sorted(trend) == ["2024-01-01", "2024-01-02"], "report csv: trend days %s" % sorted(trend))
    check(trend.get("2024-01-01", {}).get("pq") == "0"
          and trend.get("2024-01-01", {}).get("classical") == "2"
          and trend.get("2024-01-01", {}).get("no_group") == "1", "report csv: day 1 classical")
    check(trend.get("2024-01-02", {}).get("pq") == "3"
          and trend.get("2024-01-02", {}).get("draft") == "1"
          and trend.get("2024-01-02", {}).get("classical") == "1", "report csv: day 2 has PQ")
    legacy = {r["sni"]: r["attribution"] for r in csv_block(text, "legacy")}
    check(legacy.get("pq-hrr.example.test") == "hrr-cost"
          and legacy.get("pq-draft.example.test") == "draft-only"
          and legacy.get("pq-classical.example.test") == "server-limited",
          "report csv: legacy rows carry the classes %r" % legacy)
    text = ok(tc("report", "--db", db, "--format", "csv", "--no-record"), "report default csv")
    check(csv_block(text, "pq") == [] and csv_block(text, "pq_trend") == [],
          "report default: no post-quantum section")
    kx = {r["field"]: r["value"] for r in csv_block(text, "key_exchange")}
    check(kx.get("pq_connections") == "3", "report default: the key-exchange line all the same")
    for fmt, title in (("md", "## Post-quantum readiness"), ("html", "<h2>Post-quantum readiness</h2>")):
        pq = ok(tc("report", "--db", db, "--policy", "pq", "--format", fmt, "--no-record"), fmt)
        plain = ok(tc("report", "--db", db, "--format", fmt, "--no-record"), fmt)
        check(title in pq and title not in plain, "report %s: the section only with --policy pq" % fmt)
        for s in (pq, plain):
            check("Post-quantum key exchange:" in s and "3 of 8 connections (37.5%)" in s,
                  "report %s: the summary line" % fmt)


def check_policy_file(tmp, db):
    """Group rules from a file: only X25519MLKEM768 counts, so pure ML-KEM is client-limited."""
    path = os.path.join(tmp, "hybrid.policy")
    open(path, "w").write("name hybrid\nrequire-group X25519MLKEM768\n")
    doc = json.loads(ok(tc("legacy", "--db", db, "--policy", path, "--format", "json"), "file") or "{}")
    entries = {e["client_ip"]: e["attribution"] for e in doc.get("entries", [])}
    check(entries.get("10.99.2.2") == "client-limited", "hybrid.policy: ML-KEM alone %r" % entries.get("10.99.2.2"))
    check(entries.get("10.99.2.3") is None, "hybrid.policy: no deny-hrr, the HRR client passes")
    check(doc.get("ready_clients", [{}])[0].get("client_ip") == "10.99.2.1", "hybrid.policy: ready")
    open(path, "w").write("name bad\n\nrequire-group PQ X25519MLKEM999\n")
    r = tc("legacy", "--db", db, "--policy", path)
    check(r.returncode != 0 and "hybrid.policy:3: unknown group 'X25519MLKEM999'" in r.stderr,
          "a bad group names the file and line: %r" % r.stderr)


def check_pruned(db):
    """A connection folded into inventory_kept has no key-exchange facts: not judged on them."""
    c = sqlite3.connect(db)
    c.execute("DELETE FROM connections WHERE sni = 'pq-draft.example.test'")
    c.commit()
    c.close()
    doc = json.loads(ok(tc("legacy", "--db", db, "--policy", "pq", "--format", "json"), "pruned") or "{}")
    check(doc.get("key_exchange", {}).get("no_facts") == 1 and doc["key_exchange"]["draft"] == 0,
          "pruned: counted without facts %r" % doc.get("key_exchange"))
    check(all(e["client_ip"] != "10.99.2.4" for e in doc.get("entries", [])),
          "pruned: the draft client is not judged on what is gone")


OLD_INVENTORY = """CREATE VIEW inventory AS
SELECT client_ip, server_ip, server_port, sni, version, cipher, ch_max_version, ja3, ja4,
  alert_desc, fallback_scsv, retry, parse_status, count(*) AS connections,
  min(first_ts) AS first_seen, max(first_ts) AS last_seen FROM inventory_keys
GROUP BY client_ip, server_ip, server_port, sni, version, cipher, ch_max_version, ja3,
  ja4, alert_desc, fallback_scsv, retry, parse_status"""


def check_old_views(tmp, db):
    """Views an older tlscensus made (read-only commands leave them): the legacy listing works
    as before, the key-exchange rules judge nothing and say how to mend it; migrate mends it."""
    old = os.path.join(tmp, "old-views.db")
    open(old, "wb").write(open(db, "rb").read())
    c = sqlite3.connect(old)
    keys = c.execute("SELECT sql FROM sqlite_master WHERE name = 'inventory_keys'").fetchone()[0]
    cut = keys.index(",\n  coalesce(ch.groups")
    keys = keys[:cut] + keys[keys.index("\nFROM conn c"):]
    c.executescript("DROP VIEW inventory; DROP VIEW inventory_keys; %s; %s; "
                    "UPDATE meta SET value = 'older' WHERE key = 'views_hash';"
                    % (keys, OLD_INVENTORY))
    c.close()
    v13 = os.path.join(tmp, "v13.policy")
    open(v13, "w").write("min-version TLSv1.3\n")  # lists the TLS 1.2 sample
    for policy in ("default", v13):
        want = ok(tc("legacy", "--db", db, "--policy", policy, "--format", "csv"), policy)
        r = tc("legacy", "--db", old, "--policy", policy, "--format", "csv")
        check(ok(r, "legacy on old views") == want and "tlscensus migrate --db" in r.stderr,
              "old views: the %s listing as before, and a warning: %r" % (policy, r.stderr))
        if policy == v13:
            check("10.99.1.3" in want, "old views: the TLS 1.2 sample is listed under v13")
    doc = json.loads(ok(tc("legacy", "--db", old, "--policy", "pq", "--format", "json"), "pq old") or "{}")
    check(doc.get("entries") == [] and doc.get("key_exchange", {}).get("no_facts") == len(CASES),
          "old views: nothing judged on the key exchange %r" % doc.get("key_exchange"))
    ok(tc("migrate", "--db", old), "migrate")
    r = tc("legacy", "--db", old, "--policy", "pq", "--format", "json")
    doc = json.loads(ok(r, "pq after migrate") or "{}")
    check(doc.get("key_exchange", {}).get("ready") == 2 and "warning" not in r.stderr,
          "migrate brings the views back: %r" % doc.get("key_exchange"))


def main():
    global TC, SAMPLES, PQ_SAMPLES
    TC, SAMPLES, PQ_SAMPLES = sys.argv[1], sys.argv[2], sys.argv[3]
    with tempfile.TemporaryDirectory(prefix="tc-pq-") as tmp:
        check_samples(tmp)
        db = build_db(tmp)
        check_export(db)
        check_named(db)
        check_legacy(db)
        check_legacy(db, "--since", "2023-12-31")  # from the connection rows
        check_legacy_formats(db)
        check_report(db)
        check_policy_file(tmp, db)
        check_old_views(tmp, db)
        check_pruned(db)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
