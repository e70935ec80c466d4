#!/usr/bin/env python3
"""Schema version 2 against version 1: the same export, byte for byte, and v1 databases
migrated in place without losing anything.

- tests/data/v1.db was written by tlscensus 0.1.0 (schema 1) from the samples in three runs,
  with a report recorded and five connection rows pruned (the inventory keeps them);
  v1.export.ndjson and v1.legacy.csv are what 0.1.0 printed for it.
- v1-samples.export.ndjson is 0.1.0's export of the samples read afresh, and
  v1-corpus.export.sha256 the hash of its export of the shared corpus (one read per capture,
  in name order): a fresh v2 database must export exactly the same.
- tests/data/v2.db was written by tlscensus 0.2.0 (schema 2) from the samples; v2.export.ndjson
  and v2.legacy.csv are what 0.2.0 printed for it. Version 3 only adds columns.
- tests/data/v6.db was written by tlscensus 0.3.0 at schema 6 (commit e614f42) from the samples
  in two runs, with a report recorded and three connection rows deleted (the inventory keeps
  them); v6.export.ndjson and v6.legacy.csv are what that build printed for it. Version 7 drops
  the time index for conn_minutes, the row id span of each minute: every row must be inside
  its minute's span after the migration, and every window query must find the same rows.
- tests/data/v7.db was written by tlscensus at schema 7 (commit 3a8c8da) from the samples in two
  runs (the top folder and clients/, then tunnels/, quic/ and pq/); v7.export.ndjson and
  v7.legacy.csv are what that build printed for it. Version 8 drops the UNIQUE index of names:
  every name keeps its id, and a name read again is found, not written twice.

usage: migrate_test.py TLSCENSUS SAMPLES_DIR DATA_DIR [CORPUS_DIR]
"""
import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile

from tclib import Checks, run

EXIT_DATABASE = 5
checks = Checks("migrate")
check = checks.check


def export_bytes(tc, db):
    r = run([tc, "export", "--db", db, "--format", "ndjson"], text=False)
    check(r.returncode == 0, "export of %s: exit %s %r" % (db, r.returncode, r.stderr[-300:]))
    check(r.returncode != 0 or all(b'"verdict": ' in line for line in r.stdout.splitlines()),
          "every record of %s carries the judge's keys" % db)
    return r.stdout


def strip_new(export):
    """An export without the keys added after 0.2 (NEW_KEYS), as older releases wrote it."""
    return b"".join(NEW_KEY_RE.sub(b"", line) for line in export.splitlines(keepends=True))


# Export keys added after 0.2. Each is written at the end of a record (quic_version and
# server_group only on a record that has a value for it; the judge's keys of 0.4 on every
# record, after them), so every record 0.2 wrote keeps its bytes once they are taken out; QUIC
# records are new in 0.3.
NEW_KEYS = ("quic_version", "server_group", "community_id", "cipher_name", "policy", "verdict",
            "reason", "attribution", "service", "deadline", "software")
NEW_KEY_RE = re.compile(rb', "(?:%s)": (?:"(?:[^"\\]|\\.)*"|-?[0-9]+|null|true|false)'
                        % b"|".join(k.encode() for k in NEW_KEYS))


def as_v02(export):
    """An export as 0.2 would have written it: without QUIC records and the newer keys."""
    return strip_new(b"".join(line for line in export.splitlines(keepends=True)
                              if b'"quic_version"' not in line))


PARTIAL_RE = re.compile(rb'"parse_status": "(truncated|malformed)"')
PRINT_RE = re.compile(rb'"(ja3|ja3_str|ja4)": "[^"]*"')


def partial_prints_aside(export):
    """0.1.0 computed JA3/JA4 over what a truncated or malformed ClientHello held before the
    damage; since 0.3 those are NULL (not the client's fingerprint). Set aside on both sides:
    tests/data/v1-corpus.export.sha256 hashes 0.1.0's corpus export after this function."""
    return b"".join(PRINT_RE.sub(lambda m: b'"' + m.group(1) + b'": null', line)
                    if PARTIAL_RE.search(line) else line
                    for line in export.splitlines(keepends=True))


def alpn_whole(got, want):
    """0.1.0 kept ALPN lists up to 512 bytes (samples/tls12-split-clienthello.pcap offers more);
    since 0.3 they are whole. A line of ours that differs from 0.1.0's only by an ALPN list
    that starts with 0.1.0's (and is longer) is taken as 0.1.0's line; anything else is left
    to differ."""
    out = []
    wants = want.splitlines(keepends=True)
    for i, line in enumerate(got.splitlines(keepends=True)):
        if i < len(wants) and line != wants[i]:
            a, b = json.loads(line), json.loads(wants[i])
            la, lb = a.get("alpn") or [], b.get("alpn") or []
            if len(la) > len(lb) and la[:len(lb)] == lb and \
                    dict(a, alpn=None) == dict(b, alpn=None):
                line = wants[i]
        out.append(line)
    return b"".join(out)


def read(tc, db, files):
    r = run([tc, "read", "--quiet", "--workers", "1", "--db", db] + files)
    check(r.returncode == 0, "read %s: exit %s %r" % (files[:2], r.returncode, r.stderr[-300:]))


def user_version(db):
    with sqlite3.connect(db) as c:
        return c.execute("PRAGMA user_version").fetchone()[0]


def empty_pcap(path):
    with open(path, "wb") as f:  # a pcap header and no packet: read opens the database only
        f.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))


def failed_index(db, what):
    """Schema v6: the partial index of failed connections tests its rows without an IN list
    (SQLite builds a temporary b-tree for one on every insert), and the inventory's retry
    lookup still finds it."""
    with sqlite3.connect(db) as c:
        sql = c.execute("SELECT sql FROM sqlite_master WHERE name = 'conn_failed'").fetchone()
        check(sql is not None and " IN " not in sql[0].upper() and "= 86" in sql[0],
              "%s: conn_failed without an IN list: %r" % (what, sql))
        plan = " ".join(str(r) for r in c.execute(
            "EXPLAIN QUERY PLAN SELECT count(*) FROM inventory_keys WHERE retry"))
        check("conn_failed" in plan, "%s: the retry lookup uses conn_failed: %s" % (what, plan))
        ops = [r[1] for r in c.execute(
            "EXPLAIN INSERT INTO conn (first_ts, last_ts, client_ip, client_port, server_ip, "
            "server_port, flags, status) VALUES (1, 2, 3, 4, 5, 6, 0, 0)")]
        check("OpenEphemeral" not in ops, "%s: an insert builds no temporary b-tree" % what)


def check_migration(tc, data, tmp):
    want_export = open(os.path.join(data, "v1.export.ndjson"), "rb").read()
    want_legacy = open(os.path.join(data, "v1.legacy.csv"), "rb").read()

    # The query commands never write: on a v1 file they say what to run.
    v1 = os.path.join(tmp, "v1.db")
    shutil.copy(os.path.join(data, "v1.db"), v1)
    for cmd in (["export", "--format", "ndjson"], ["legacy"], ["report", "--format", "md"]):
        r = run([tc] + cmd + ["--db", v1])
        check(r.returncode == EXIT_DATABASE and "tlscensus migrate --db " + v1 in r.stderr
              and "version 1" in r.stderr, "%s on v1: exit %s %r" % (cmd[0], r.returncode,
                                                                       r.stderr))
    check(user_version(v1) == 1, "a query command left the v1 file as it was")

    # read migrates (here with a capture that holds no packet), in place.
    pcap = os.path.join(tmp, "empty.pcap")
    empty_pcap(pcap)
    read(tc, v1, [pcap])
    check(user_version(v1) == CURRENT, "read migrated the file to version %d" % CURRENT)
    got = strip_new(export_bytes(tc, v1))
    check(got == want_export, "export after migration is 0.1.0's, byte for byte (%d vs %d bytes)"
          % (len(got), len(want_export)))
    r = run([tc, "legacy", "--db", v1, "--format", "csv"], text=False)
    check(r.returncode == 0 and r.stdout == want_legacy,
          "legacy after migration (the inventory with the pruned rows) is 0.1.0's")
    failed_index(v1, "migrated v1")
    minutes_cover(v1, "migrated v1")
    with sqlite3.connect(v1) as c:
        check(c.execute("SELECT count(*) FROM reports").fetchone()[0] == 1, "the report row stays")
        check(c.execute("SELECT count(*) FROM runs").fetchone()[0] == 4, "three runs + this one")
        inv = c.execute("SELECT sum(connections) FROM inventory").fetchone()[0]
        check(inv == 50, "the inventory still counts all 50 connections, pruned ones too: %s"
              % inv)

    # New rows after the migration land beside the old ones and are counted once.
    read(tc, v1, [os.path.join(data, "..", "..", "samples", "tls12-openssl.pcap")])
    with sqlite3.connect(v1) as c:
        n = c.execute("SELECT count(*) FROM connections").fetchone()[0]
        inv = c.execute("SELECT sum(connections) FROM inventory").fetchone()[0]
    check(n == 46 and inv == 51, "after a new read: %s rows, inventory %s" % (n, inv))

    # The migrate command does the same.
    v1b = os.path.join(tmp, "v1b.db")
    shutil.copy(os.path.join(data, "v1.db"), v1b)
    r = run([tc, "migrate", "--db", v1b])
    check(r.returncode == 0 and "schema version %d" % CURRENT in r.stdout, "migrate: %r" % r.stderr)
    check(strip_new(export_bytes(tc, v1b)) == want_export, "migrate: export unchanged")
    r = run([tc, "migrate", "--db", os.path.join(tmp, "missing.db")])
    check(r.returncode == EXIT_DATABASE and "missing.db" in r.stderr, "migrate of no file")


def migrated(tc, data, tmp, version, cmd):
    """A copy of tests/data/vN.db: the query command cmd refuses it and says what to run, then
    migrate brings it to the current version. Its path."""
    db = os.path.join(tmp, "v%d.db" % version)
    shutil.copy(os.path.join(data, "v%d.db" % version), db)
    r = run([tc, cmd, "--db", db])
    check(r.returncode == EXIT_DATABASE and "version %d" % version in r.stderr
          and "tlscensus migrate --db " + db in r.stderr, "%s on v%d: %r" % (cmd, version, r.stderr))
    r = run([tc, "migrate", "--db", db])
    check(r.returncode == 0 and user_version(db) == CURRENT,
          "migrate v%d: %r" % (version, r.stderr))
    return db


def legacy_unchanged(tc, db, want_file, what):
    r = run([tc, "legacy", "--db", db, "--format", "csv"], text=False)
    check(r.returncode == 0 and r.stdout == open(want_file, "rb").read(),
          "%s: legacy unchanged" % what)


def check_v2(tc, data, tmp):
    """A database made by 0.2.0 (schema 2) gains version 3's columns, empty, and keeps the rest."""
    v2 = migrated(tc, data, tmp, 2, "legacy")
    got = strip_new(export_bytes(tc, v2))
    want = open(os.path.join(data, "v2.export.ndjson"), "rb").read()
    check(got == want, "v2 -> v3: export unchanged (%d vs %d bytes)" % (len(got), len(want)))
    legacy_unchanged(tc, v2, os.path.join(data, "v2.legacy.csv"), "v2 -> v3")
    with sqlite3.connect(v2) as c:
        row = c.execute("SELECT count(*), count(sh_group), count(quic_version) "
                        "FROM connections").fetchone()
    check(row[0] == 34 and row[1] == 0 and row[2] == 0,
          "v2 -> v3: 34 rows, the new columns NULL: %s" % (row,))


JUDGE_KEY_RE = re.compile(rb', "(?:policy|verdict|reason|attribution|service|deadline|software)": '
                          rb'(?:"(?:[^"\\]|\\.)*"|-?[0-9]+|null|true|false)')


def minutes_cover(db, what):
    """Schema v7: no time index on conn; every row is inside its minute's conn_minutes span."""
    with sqlite3.connect(db) as c:
        idx = c.execute("SELECT name FROM sqlite_master WHERE name = 'conn_first_ts'").fetchone()
        check(idx is None, "%s: no index conn_first_ts" % what)
        bad = c.execute("SELECT count(*) FROM conn c WHERE NOT EXISTS (SELECT 1 FROM conn_minutes "
                        "m WHERE m.minute = CAST(c.first_ts / 60 AS INTEGER) AND c.id BETWEEN "
                        "m.lo AND m.hi)").fetchone()[0]
        n = c.execute("SELECT count(*) FROM conn").fetchone()[0]
        check(n > 0 and bad == 0, "%s: all %d rows inside their minute's span (%d outside)"
              % (what, n, bad))


def check_v6(tc, data, tmp):
    """A database made at schema 6 loses its time index for conn_minutes and keeps the rest."""
    v6 = migrated(tc, data, tmp, 6, "export")
    minutes_cover(v6, "migrated v6")
    got = JUDGE_KEY_RE.sub(b"", export_bytes(tc, v6))
    want = JUDGE_KEY_RE.sub(b"", open(os.path.join(data, "v6.export.ndjson"), "rb").read())
    check(got == want, "v6 -> v7: export unchanged (%d vs %d bytes)" % (len(got), len(want)))
    legacy_unchanged(tc, v6, os.path.join(data, "v6.legacy.csv"), "v6 -> v7")
    # A window: the same rows as the whole export holds in it.
    lines = [json.loads(line) for line in got.splitlines()]
    times = sorted(e["first_ts"] for e in lines)
    since, until = times[len(times) // 3], times[2 * len(times) // 3]
    r = run([tc, "export", "--db", v6, "--format", "ndjson", "--since", "@%.6f" % since,
             "--until", "@%.6f" % until])
    want_n = sum(1 for t in times if since <= t <= until)
    check(r.returncode == 0 and len(r.stdout.splitlines()) == want_n,
          "v6 -> v7: a window holds its %d rows: exit %s, %d lines %r" % (
              want_n, r.returncode, len(r.stdout.splitlines()), r.stderr[-200:]))
    with sqlite3.connect(v6) as c:
        check(c.execute("SELECT count(*) FROM reports").fetchone()[0] == 1, "v6: the report stays")
        inv = c.execute("SELECT sum(connections) FROM inventory").fetchone()[0]
        check(inv == 66, "v6: the inventory counts all 66 connections, deleted ones too: %s" % inv)


def names_unindexed(db, what):
    """Schema v8: names has no index on its text (the writer keeps its rows in memory), and
    each text is there once."""
    with sqlite3.connect(db) as c:
        idx = c.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                        "tbl_name = 'names'").fetchall()
        n, distinct = c.execute("SELECT count(*), count(DISTINCT name) FROM names").fetchone()
    check(idx == [], "%s: names has no index: %s" % (what, idx))
    check(n > 0 and n == distinct, "%s: %d names, each once (%d distinct)" % (what, n, distinct))
    return n


def check_v7(tc, data, samples, tmp):
    """A database made at schema 7 loses the UNIQUE index of names, keeps every name row with
    its id, and the names read again are found, not written twice."""
    src = os.path.join(data, "v7.db")
    with sqlite3.connect(src) as c:
        before = c.execute("SELECT id, name FROM names ORDER BY id").fetchall()
    v7 = migrated(tc, data, tmp, 7, "legacy")
    got = JUDGE_KEY_RE.sub(b"", export_bytes(tc, v7))
    want = JUDGE_KEY_RE.sub(b"", open(os.path.join(data, "v7.export.ndjson"), "rb").read())
    check(got == want, "v7 -> v8: export unchanged (%d vs %d bytes)" % (len(got), len(want)))
    legacy_unchanged(tc, v7, os.path.join(data, "v7.legacy.csv"), "v7 -> v8")
    with sqlite3.connect(v7) as c:
        after = c.execute("SELECT id, name FROM names ORDER BY id").fetchall()
        views = c.execute("SELECT count(*) FROM sqlite_master WHERE type = 'view'").fetchone()[0]
    check(after == before and len(before) == 47, "v7 -> v8: the same %d names with their ids (%d)"
          % (len(before), len(after)))
    check(views == 7, "v7 -> v8: the seven views are made again: %d" % views)
    names_unindexed(v7, "migrated v7")
    # The names the writer reads from the file at open are found there: the same captures
    # read again add connection rows and no name.
    files = sorted(glob.glob(os.path.join(samples, "*.pcap")))
    files += sorted(glob.glob(os.path.join(samples, "clients", "*.pcap")))
    run([tc, "read", "--quiet", "--reread", "--db", v7] + files)
    with sqlite3.connect(v7) as c:
        n = c.execute("SELECT count(*) FROM conn").fetchone()[0]
        snis = c.execute("SELECT count(DISTINCT sni) FROM conn WHERE id > 66").fetchone()[0]
    check(n > 66 and snis > 0, "v7: read again: %d rows, %d names" % (n, snis))
    check(names_unindexed(v7, "v7 read again") == len(before),
          "v7: the names read again are the rows that were there")


def check_fresh(tc, samples, data, corpus, tmp):
    db = os.path.join(tmp, "samples.db")
    files = sorted(glob.glob(os.path.join(samples, "*.pcap")))
    files += sorted(glob.glob(os.path.join(samples, "clients", "*.pcap")))
    files += sorted(glob.glob(os.path.join(samples, "tunnels", "*.pcap")))
    read(tc, db, files)
    failed_index(db, "new database")
    minutes_cover(db, "new database")
    names_unindexed(db, "new database")
    want = open(os.path.join(data, "v1-samples.export.ndjson"), "rb").read()
    got = alpn_whole(partial_prints_aside(as_v02(export_bytes(tc, db))), want)
    check(got == want, "samples: a v2 export is 0.1.0's byte for byte (%d vs %d bytes)"
          % (len(got), len(want)))
    if not corpus or not os.path.isdir(corpus):
        print("migrate: no shared corpus, its byte comparison skipped")
        return
    db = os.path.join(tmp, "corpus.db")
    for f in sorted(glob.glob(os.path.join(corpus, "pcaps", "*"))):
        run([tc, "read", "--quiet", "--db", db, f])  # some captures end truncated: exit 4
    want = open(os.path.join(data, "v1-corpus.export.sha256")).read().split()[0]
    got = hashlib.sha256(partial_prints_aside(as_v02(export_bytes(tc, db)))).hexdigest()
    check(got == want, "corpus: the v2 export hashes as 0.1.0's (%s vs %s)" % (got, want))


CURRENT = 8  # the schema version this build writes


def main():
    tc, samples, data = sys.argv[1], sys.argv[2], sys.argv[3]
    corpus = sys.argv[4] if len(sys.argv) > 4 else None
    tmp = tempfile.mkdtemp(prefix="tc-migrate-")
    try:
        check_migration(tc, data, tmp)
        check_v2(tc, data, tmp)
        check_v6(tc, data, tmp)
        check_v7(tc, data, samples, tmp)
        check_fresh(tc, samples, data, corpus, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
