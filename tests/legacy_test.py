#!/usr/bin/env python3
"""The legacy command on the project's samples: attribution, policies, filters, grouping and
sorting, the provider catalog and software hints, the unknown bucket, hostile SNI.

Where no recorded sample shows a case, the test makes one from a sample with a small pcap
rewrite that keeps every length: the TLS_FALLBACK_SCSV put into a cipher list, a ClientHello cut
in half, the server's packets dropped, the SNI bytes replaced, timestamps or addresses moved.

usage: legacy_test.py TLSCENSUS SAMPLES_DIR
"""
import csv
import io
import json
import os
import re
import shutil
import sqlite3
import struct
import sys
import tempfile

import tclib
from tclib import (Checks, Pcap, client_hello, hello_fields, hello_offset, ipv4_tcp, plain,
                   set_address, set_sni, src_ip)

EXIT_USAGE, EXIT_DATABASE = 2, 5
checks = Checks("legacy")
check = checks.check
TC = SAMPLES = TMP = None


def run(args):
    return tclib.run([TC] + args, text=False)


def text(r):
    return r.stdout.decode("utf-8")


# ---------------------------------------------------------------- pcap rewriting

def replace_cipher(pcap, old, new):
    i, p = client_hello(pcap)
    frame = pcap.packets[i][2]
    cs, n = hello_fields(frame, p).ciphers
    for k in range(cs, cs + n, 2):
        if struct.unpack(">H", frame[k:k + 2])[0] == old:
            frame[k:k + 2] = struct.pack(">H", new)
            return pcap
    raise ValueError("cipher 0x%04x not offered" % old)


def cut_hello(pcap):
    """The capture ends in the middle of the ClientHello."""
    i, p = client_hello(pcap)
    frame = pcap.packets[i][2]
    ip, _, _, _ = ipv4_tcp(frame)
    keep = p + (len(frame) - p) // 2
    del frame[keep:]
    struct.pack_into(">H", frame, ip + 2, keep - ip)  # IPv4 total length
    pcap.packets = pcap.packets[:i + 1]
    return pcap


def drop_from(pcap, ip):
    pcap.packets = [p for p in pcap.packets if src_ip(p[2]) != ip]
    return pcap


def midstream(pcap):
    """The capture starts after the hellos: only application data and the close remain."""
    keep = []
    for p in pcap.packets:
        o = ipv4_tcp(p[2])
        if o and len(p[2]) > o[2] and p[2][o[2]] == 0x17:
            keep.append(p)
    pcap.packets = keep
    return pcap


def sample(name):
    return os.path.join(SAMPLES, name)


def tmp(name):
    return os.path.join(TMP, name)


# ---------------------------------------------------------------- helpers

def read(db, *paths, reread=False):
    if os.path.exists(db):
        os.unlink(db)
    r = run(["read", "--quiet", "--no-label", "--db", db] + (["--reread"] if reread else []) +
            list(paths))
    check(r.returncode in (0, 4), "read %s: exit %s: %s" % (paths, r.returncode, r.stderr))
    return db


def legacy_json(db, *args):
    r = run(["legacy", "--db", db, "--format", "json"] + list(args))
    if not check(r.returncode == 0, "legacy %s: exit %s: %s" % (args, r.returncode, r.stderr)):
        return {"entries": [], "unknown": {"total": -1}}
    return json.loads(r.stdout)


def by_sni(doc):
    return {(e["sni"] or "-", e["server_port"]): e for e in doc["entries"]}


def snis(doc):
    return sorted(e["sni"] or "port%d" % e["server_port"] for e in doc["entries"])


def export(db):
    return tclib.export(TC, db)[1]


def inert(data):
    """No byte a terminal acts on (only printable text, LF, and CR for CSV) and valid UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any((b < 0x20 and b not in (10, 13)) or b == 0x7f for b in data)


# ---------------------------------------------------------------- attribution

def check_attribution():
    cases = [("tls10-openssl.pcap", "client-limited"),
             ("tls13-client-vs-tls10-server.pcap", "server-limited"),
             ("tls10-client-vs-tls12-server.pcap", "failing"),
             ("tls12-gnutls-3des.pcap", "cipher")]
    for name, attr in cases:
        doc = legacy_json(read(tmp("one.db"), sample(name)))
        got = [e["attribution"] for e in doc["entries"]]
        check(got == [attr], "%s: attribution %s, expected %s" % (name, got, attr))

    # Fallback with TLS_FALLBACK_SCSV: the recorded sample when it is there...
    recorded = sample("tls-fallback-scsv.pcap")
    if os.path.exists(recorded):
        doc = legacy_json(read(tmp("one.db"), recorded))
        got = [(e["sni"], e["attribution"]) for e in doc["entries"]]
        check(got == [("fallback.example.test", "fallback")], "recorded fallback: %s" % got)
    rejected = sample("tls-fallback-rejected.pcap")
    if os.path.exists(rejected):
        # The server answers the fallback with inappropriate_fallback: failing comes first.
        doc = legacy_json(read(tmp("one.db"), rejected))
        got = [(e["sni"], e["attribution"]) for e in doc["entries"]]
        check(got == [("rejected.example.test", "failing")], "rejected fallback: %s" % got)

    # ...and always with bytes of our own: 0x5600 in tls10-openssl's cipher list, nothing else.
    scsv = replace_cipher(Pcap(sample("tls10-openssl.pcap")), 0x00ff, 0x5600).write(tmp("scsv.pcap"))
    db = read(tmp("scsv.db"), scsv)
    recs = export(db)
    check(len(recs) == 1 and recs[0]["fallback_scsv"] is True, "scsv rewrite: %s" % recs)
    got = [e["attribution"] for e in legacy_json(db)["entries"]]
    check(got == ["fallback"], "SCSV in the hello: attribution %s" % got)

    # A retry without SCSV: the recorded fallback with the SCSV taken out again. The lower hello
    # comes 52 ms after the failed TLS 1.3 attempt: fallback; two minutes later: not a retry.
    if os.path.exists(recorded):
        for delay, want in ((0, "fallback"), (120, "client-limited")):
            pc = Pcap(recorded)
            i, p = client_hello(pc)
            port = struct.unpack(">H", pc.packets[i][2][34:36])[0]
            # The second connection's hello is the one with the SCSV; move its packets.
            for q in pc.packets:
                o = ipv4_tcp(q[2])
                sport, dport = struct.unpack(">HH", q[2][o[1]:o[1] + 4])
                if port not in (sport, dport):
                    q[0] += delay
            for q in pc.packets:
                p = hello_offset(q[2])
                if p is None:
                    continue
                try:
                    cs, n = hello_fields(q[2], p).ciphers
                except (struct.error, IndexError):
                    continue
                for k in range(cs, cs + n, 2):
                    if q[2][k:k + 2] == b"\x56\x00":
                        q[2][k:k + 2] = b"\x00\x2f"
            path = pc.write(tmp("retry.pcap"))
            db = read(tmp("retry.db"), path)
            recs = export(db)
            check(not any(r["fallback_scsv"] for r in recs), "retry sample still has the SCSV")
            for args in ((), ("--since", "2020-01-01")):  # inventory, then the connection rows
                doc = legacy_json(db, *args)
                got = [e["attribution"] for e in doc["entries"]]
                check(got == [want], "retry after %d s %s: %s, expected %s"
                      % (delay, args, got, want))


# ---------------------------------------------------------------- policies

NIST_OK = {"0xc014", "0xc02c", "0xc02f", "0xc030", "0x1302", "0x1301"}
CLASS = {"0x000a": "3DES", "0x0005": "RC4", "0x003b": "NULL", "0xc018": "ANON"}


def expected_legacy(row, policy):
    """Independent of the C code: what each built-in policy flags, from expected.tsv."""
    version = row["version"] if row["version"] != "-" else row["client_max_version"]
    old = version in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1")
    cipher = row["cipher"] if row["cipher"] != "-" else None
    cls = CLASS.get(cipher)
    if policy in ("default", "pci"):
        return old or cls is not None
    if policy == "entra":
        return old or cls == "3DES"
    if policy == "tls12":
        return old
    if policy == "nist":
        return old or (cipher is not None and cipher not in NIST_OK)
    raise ValueError(policy)


def check_policies(db, table):
    for policy in ("default", "entra", "tls12", "nist", "pci"):
        doc = legacy_json(db, "--policy", policy)
        check(doc.get("policy") == policy, "policy name %r" % doc.get("policy"))
        got = sorted((e["server_port"], e["sni"] or "-") for e in doc["entries"])
        want = sorted((int(t["server_port"]), t["sni"]) for t in table
                      if expected_legacy(t, policy))
        check(got == want, "--policy %s:\n  got  %s\n  want %s" % (policy, got, want))
    entra = by_sni(legacy_json(db, "--policy", "entra"))
    check(("rc4.example.test", 8443) not in entra and ("null.example.test", 4433) not in entra,
          "entra flags RC4 or NULL, which Microsoft's definition leaves out")
    check(entra.get(("-", 8443), {}).get("reason") == "3DES cipher", "entra flags 3DES")
    pci = by_sni(legacy_json(db, "--policy", "pci"))
    check(pci.get(("rc4.example.test", 8443), {}).get("reason") == "RC4 cipher", "pci RC4")
    nist = by_sni(legacy_json(db, "--policy", "nist"))
    check(nist.get(("anon.example.test", 4433), {}).get("reason") == "cipher not in policy",
          "nist: anonymous suite not in SP 800-52r2's list")

    # A policy file of one's own, and its errors.
    mine = tmp("mine.policy")
    with open(mine, "w") as f:
        f.write("# TLS 1.3 only\nname only13\nmin-version TLSv1.3\n")
    doc = legacy_json(db, "--policy", mine)
    check(doc["policy"] == "only13", "own policy name %r" % doc["policy"])
    check(("gnutls12.example.test", 8443) in by_sni(doc), "own policy flags TLS 1.2")
    check(("tls13.example.test", 443) not in by_sni(doc), "own policy keeps TLS 1.3")
    with open(mine, "w") as f:
        f.write("name broken\n\nmin-version TLSv1.2\ndeny-cipher 3DES WEAK\n")
    r = run(["legacy", "--db", db, "--policy", mine])
    check(r.returncode == EXIT_USAGE and b"mine.policy:4: unknown cipher suite or class 'WEAK'"
          in r.stderr, "policy error with line number: %r" % r.stderr)
    r = run(["legacy", "--db", db, "--policy", "fips"])
    check(r.returncode == EXIT_USAGE and b"unknown policy 'fips'" in r.stderr
          and b"default, entra, nist, pci, pq, tls12" in r.stderr, "unknown policy: %r" % r.stderr)


# ---------------------------------------------------------------- filters

def check_filters(db, table):
    all_legacy = snis(legacy_json(db))
    n = len(all_legacy)
    check(n >= 8, "the samples give %d legacy entries" % n)
    # Time: every sample starts at 2024-01-01T00:00:00Z.
    for args, count in ((("--since", "2024-01-01"), n), (("--since", "2024-01-01T00:00:05Z"), 0),
                        (("--until", "2023-12-31T23:59:59Z"), 0),
                        (("--since", "2024-01-01", "--until", "2024-01-01T00:00:05"), n),
                        (("--since", "20000d"), n), (("--since", "7d"), 0),
                        (("--since", "@1704067100", "--until", "@1704067300"), n)):
        doc = legacy_json(db, *args)
        check(len(doc["entries"]) == count, "%s: %d entries, expected %d"
              % (args, len(doc["entries"]), count))
        check(doc["counted_from"] == "connections", "%s: counted from %s" % (args, doc["counted_from"]))
    check(legacy_json(db)["counted_from"] == "inventory", "no window: the inventory answers")

    # Addresses.
    for args, count in ((("--client", "10.99.0.0/24"), n), (("--client", "10.99.0.1"), n),
                        (("--client", "10.99.1.0/24"), 0), (("--client", "10.0.0.0/8"), n),
                        (("--server", "10.99.0.2/32"), n), (("--server", "10.99.0.1"), 0),
                        (("--client", "fd00:99::/64"), 0)):
        got = len(legacy_json(db, *args)["entries"])
        check(got == count, "%s: %d entries, expected %d" % (args, got, count))
    # IPv6: a policy that flags TLS 1.2 makes the IPv6 sample legacy.
    only13 = tmp("only13.policy")
    with open(only13, "w") as f:
        f.write("min-version TLSv1.3\n")
    v6 = [(e["client_ip"], e["server_ip"]) for e in
          legacy_json(db, "--policy", only13, "--client", "fd00:99::/64")["entries"]]
    check(v6 == [("fd00:99::1", "fd00:99::2")], "--client fd00:99::/64: %s" % v6)
    v6 = legacy_json(db, "--policy", only13, "--server", "fd00:99::2")["entries"]
    check(len(v6) == 1 and v6[0]["sni"] == "ipv6.example.test", "--server fd00:99::2: %s" % v6)
    check(not legacy_json(db, "--policy", only13, "--server", "fd00:98::/32")["entries"],
          "--server fd00:98::/32 matches nothing")

    # Names and ports.
    with_sni = sorted(s for s in all_legacy if not s.startswith("port"))
    check(snis(legacy_json(db, "--sni", "*.example.test")) == with_sni, "--sni glob")
    check(snis(legacy_json(db, "--sni", "TLS10.*")) == ["tls10.example.test"],
          "--sni is case-insensitive")
    check(not legacy_json(db, "--sni", "nomatch*")["entries"], "--sni without a match")
    for port in (4433, 8443):
        want = sorted((e["sni"] or "-") for e in legacy_json(db)["entries"]
                      if e["server_port"] == port)
        got = sorted((e["sni"] or "-") for e in legacy_json(db, "--port", str(port))["entries"])
        check(got == want and got, "--port %d: %s" % (port, got))

    # A capture with two clients at two times, for windows, address order, grouping, sorting.
    a = set_address(Pcap(sample("tls10-openssl.pcap")), "10.99.0.1", "10.99.0.10")
    a.shift(1790000000 - a.packets[0][0]).write(tmp("a.pcap"))             # 2026-09-21
    b = set_address(Pcap(sample("tls13-client-vs-tls10-server.pcap")), "10.99.0.1", "10.99.0.9")
    b.shift(1793534400 - b.packets[0][0]).write(tmp("b.pcap"))             # 2026-11-01T12:00Z
    c = Pcap(sample("tls12-gnutls-3des.pcap"))
    c.shift(1792000000 - c.packets[0][0]).write(tmp("c.pcap"))             # 2026-10-14
    # a.pcap twice (--reread: a read skips a capture it has read before)
    two = read(tmp("two.db"), tmp("a.pcap"), tmp("b.pcap"), tmp("c.pcap"), tmp("a.pcap"),
               reread=True)
    doc = legacy_json(two)
    order = [e["client_ip"] for e in doc["entries"]]
    check(order == ["10.99.0.1", "10.99.0.9", "10.99.0.10"], "numeric client order: %s" % order)
    for args, want in ((("--since", "2026-10-15"), ["oldserver.example.test"]),
                       (("--until", "2026-10-15"), ["port8443", "tls10.example.test"]),
                       (("--since", "2026-11-01T12:00:00Z"), ["oldserver.example.test"]),
                       (("--since", "2026-11-01T12:00:01Z"), []),
                       (("--since", "2026-10-01", "--until", "2026-10-31"), ["port8443"])):
        check(snis(legacy_json(two, *args)) == want, "%s: %s, expected %s"
              % (args, snis(legacy_json(two, *args)), want))
    tls10 = [e for e in doc["entries"] if e["sni"] == "tls10.example.test"]
    check(len(tls10) == 1 and tls10[0]["connections"] == 2, "read twice: one entry, 2 connections")
    sort = [e["client_ip"] for e in legacy_json(two, "--sort", "connections")["entries"]]
    check(sort[0] == "10.99.0.10", "--sort connections: %s" % sort)
    sort = [e["client_ip"] for e in legacy_json(two, "--sort", "last")["entries"]]
    check(sort == ["10.99.0.9", "10.99.0.1", "10.99.0.10"], "--sort last: %s" % sort)
    sort = [e["server_port"] for e in legacy_json(two, "--sort", "server")["entries"]]
    check(sort == [4433, 4433, 8443], "--sort server: %s" % sort)
    r = run(["legacy", "--db", two, "--group", "client", "--wide"])
    lines = text(r).splitlines()
    heads = [l for l in lines if l.startswith("client ")]
    check(heads == ["client 10.99.0.1: 1 entry, 1 connection (cipher 1)",
                    "client 10.99.0.9: 1 entry, 1 connection (server-limited 1)",
                    "client 10.99.0.10: 1 entry, 2 connections (client-limited 2)"],
          "--group client headings: %s" % heads)
    rows = [l for l in lines if l.startswith("  10.")]
    check(len(rows) == 3 and all(l.startswith("  10.99.0.2:") for l in rows),
          "--group client: rows start with the server, the client column is dropped: %s" % rows)
    doc = legacy_json(two, "--group", "server")
    check([g["server_ip"] for g in doc.get("groups", [])] == ["10.99.0.2"]
          and doc["groups"][0]["connections"] == 4, "--group server: %s" % doc.get("groups"))

    # Pruned connection rows (as --retain leaves them): a window falls back to the inventory.
    pruned = tmp("pruned.db")
    shutil.copy(two, pruned)
    with sqlite3.connect(pruned) as con:
        con.execute("DELETE FROM connections")
    doc = legacy_json(pruned, "--since", "2026-10-15")
    check(doc["counted_from"] == "inventory" and snis(doc) == ["oldserver.example.test"],
          "pruned: %s from %s" % (snis(doc), doc["counted_from"]))
    check(len(legacy_json(pruned)["entries"]) == 3, "pruned: the inventory keeps every entry")

    # Bad filter values are usage errors that name the option.
    for args, what in ((("--since", "yesterday"), b"--since"), (("--until", "2026-02-30"), b"--until"),
                       (("--client", "10.0.0.0/33"), b"--client"), (("--server", "x"), b"--server"),
                       (("--port", "0"), b"--port"), (("--port", "70000"), b"--port"),
                       (("--group", "sni"), b"--group"), (("--sort", "size"), b"--sort"),
                       (("--since", "2026-11-02", "--until", "2026-11-01"), b"--since is after")):
        r = run(["legacy", "--db", two] + list(args))
        check(r.returncode == EXIT_USAGE and what in r.stderr, "%s: exit %s, %r"
              % (args, r.returncode, r.stderr))


# ---------------------------------------------------------------- catalog and hints

def check_catalog_hints(db):
    cat = tmp("test.catalog")
    with open(cat, "w") as f:
        f.write("# test catalog\n"
                "tls10.example.test  2020-01-01  <TLSv1.2       Old Cloud  # a source\n"
                "*.example.test      2999-12-31  <TLSv1.2,3DES  Future Cloud\n")
    doc = legacy_json(db, "--catalog", cat)
    e = by_sni(doc)
    t10 = e.get(("tls10.example.test", 4433), {})
    check(t10.get("service") == "Old Cloud" and t10.get("deadline") == "failing since 2020-01-01",
          "catalog, past date: %s" % t10)
    old = e.get(("oldserver.example.test", 4433), {})
    check(old.get("service") == "Future Cloud" and old.get("deadline") == "fails on 2999-12-31",
          "catalog, future date: %s" % old)
    rc4 = e.get(("rc4.example.test", 8443), {})
    check(rc4.get("service") == "Future Cloud" and rc4.get("retired") is None,
          "a service that does not refuse RC4 gives no date: %s" % rc4)
    dated = [x["retired"] for x in legacy_json(db, "--catalog", cat, "--sort", "deadline")["entries"]]
    check(dated[0] == "2020-01-01" and dated[-1] is None and "2999-12-31" in dated,
          "--sort deadline: %s" % dated)
    r = run(["legacy", "--db", db, "--catalog", cat])
    check(b"failing since 2020-01-01" in r.stdout and b"fails on 2999-12-31" in r.stdout,
          "the table shows the deadlines")
    with open(cat, "w") as f:
        f.write("a.test 2026-01-01 <TLSv1.2 A\nb.test 2026-13-01 <TLSv1.2 B\n")
    r = run(["legacy", "--db", db, "--catalog", cat])
    check(r.returncode == EXIT_USAGE and b"test.catalog:2:" in r.stderr, "bad catalog: %r" % r.stderr)

    # The built-in catalog, on a sample whose SNI is rewritten to an Azure Batch account.
    batch = set_sni(Pcap(sample("tls10-openssl.pcap")), b"ab.batch.azure.com").write(tmp("batch.pcap"))
    doc = legacy_json(read(tmp("batch.db"), batch))
    got = [(x["service"], x["deadline"]) for x in doc["entries"]]
    check(got == [("Azure Batch", "failing since 2023-03-31")], "built-in catalog: %s" % got)

    # Software hints from a map of one's own.
    ja4 = [r["ja4"] for r in export(read(tmp("one.db"), sample("tls10-openssl.pcap")))][0]
    hints = tmp("hints.tsv")
    with open(hints, "w") as f:
        f.write("ja4\tja3\tsoftware\tnote\n%s\t-\tTestClient 1.0\tmade up\n" % ja4)
    e = by_sni(legacy_json(db, "--hints", hints))
    check(e.get(("tls10.example.test", 4433), {}).get("software") == "TestClient 1.0",
          "hint by ja4: %s" % e.get(("tls10.example.test", 4433)))
    check(e.get(("rc4.example.test", 8443), {}).get("software") is None, "no hint, no software")
    with open(hints, "w") as f:
        f.write("ja4\tja3\tsoftware\tnote\nonly-one-column\n")
    r = run(["legacy", "--db", db, "--hints", hints])
    check(r.returncode == EXIT_USAGE and b"hints.tsv:2:" in r.stderr, "bad hints: %r" % r.stderr)


# ---------------------------------------------------------------- unknown bucket

def check_unknown():
    cut = cut_hello(Pcap(sample("tls12-openssl.pcap"))).write(tmp("cut.pcap"))
    one = drop_from(Pcap(sample("tls10-openssl.pcap")), "10.99.0.2").write(tmp("onesided.pcap"))
    mid = midstream(Pcap(sample("tls12-gnutls.pcap"))).write(tmp("mid.pcap"))
    db = read(tmp("unknown.db"), cut, one, mid, sample("tls11-openssl.pcap"))
    status = sorted(r["parse_status"] for r in export(db))
    check(status == ["ok", "one_sided", "truncated"], "rewritten captures: %s" % status)
    doc = legacy_json(db)
    u = doc["unknown"]
    check((u["truncated"], u["one_sided"], u["midstream"], u["malformed"], u["total"]) ==
          (1, 1, 1, 0, 3), "unknown bucket: %s" % u)
    # The one-sided TLS 1.0 hello got no answer only because the capture missed it: unjudged.
    check([e["version"] for e in doc["entries"]] == ["TLSv1.1"], "entries: %s" % doc["entries"])
    check(doc["connections"] == 4 and doc["legacy_connections"] == 1, "counts: %s" % doc)
    r = run(["legacy", "--db", db])
    lines = text(r).splitlines()
    check(lines[-1] == "could not judge 3 connections: 1 truncated hello, 1 one-sided (one "
          "direction not captured), 1 midstream (capture began after the hellos)",
          "table: %r" % lines[-1:])
    check(len(lines) == 4 and lines[2] == "", "table: header, entry, blank, unknown: %r" % lines)
    rows = list(csv.reader(io.StringIO(text(run(["legacy", "--db", db, "--format", "csv"])))))
    unknown = sorted((r[10], r[7]) for r in rows[1:] if r[11] == "unknown")
    check(unknown == [("midstream", "1"), ("one_sided", "1"), ("truncated", "1")],
          "csv unknown rows: %s" % unknown)
    # Filters apply to the unknown bucket too.
    u = legacy_json(db, "--client", "10.99.1.0/24")["unknown"]
    check(u["total"] == 0, "--client filters the unknown bucket: %s" % u)
    u = legacy_json(db, "--sni", "*")["unknown"]
    check(u["midstream"] == 0 and u["one_sided"] == 1,
          "--sni: midstream connections have no name: %s" % u)
    # Nothing legacy, something unknown: the table still says both.
    db = read(tmp("unknown2.db"), cut)
    t = text(run(["legacy", "--db", db]))
    check(t.startswith("no legacy TLS connections found in ") and
          "could not judge 1 connection: 1 truncated hello" in t, "empty table: %r" % t)


# ---------------------------------------------------------------- hostile SNI

HOSTILE = [b"=cmd|' /C calc'!A0", b"<script>\x1b[31m\xff\xfe.ab"]


def check_hostile():
    paths = []
    for i, name in enumerate(HOSTILE):
        paths.append(set_sni(Pcap(sample("tls10-openssl.pcap")), name).write(tmp("h%d.pcap" % i)))
    db = read(tmp("hostile.db"), *paths)
    stored = {"=cmd|' /C calc'!A0", "<script>\\x1b[31m\\xff\\xfe.ab"}
    for fmt in ("table", "csv", "json"):
        r = run(["legacy", "--db", db, "--format", fmt])
        check(r.returncode == 0 and inert(r.stdout), "%s output is not inert: %r" % (fmt, r.stdout))
    doc = legacy_json(db)
    check({e["sni"] for e in doc["entries"]} == stored, "json sni: %s" % doc["entries"])
    rows = list(csv.reader(io.StringIO(text(run(["legacy", "--db", db, "--format", "csv"])))))
    cells = {r[3] for r in rows[1:]}
    check(cells == {"'=cmd|' /C calc'!A0", "<script>\\x1b[31m\\xff\\xfe.ab"},
          "csv sni cells (formula guarded): %s" % cells)
    check(all(len(r) == len(rows[0]) for r in rows), "csv rows keep their columns")
    t = text(run(["legacy", "--db", db]))
    check("<script>\\x1b[31m\\xff\\xfe.ab" in t and len(t.splitlines()) == 3, "table: %r" % t)
    # A glob matches the stored (escaped) text.
    check(len(legacy_json(db, "--sni", "*\\x1b*")["entries"]) == 1, "--sni on escaped text")


# ---------------------------------------------------------------- terminal layout

def on_terminal(args, cols, **env):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e.pop("COLUMNS", None)
    e.update(env)
    return tclib.on_terminal([TC] + args, cols, env=e)


def table_cells(line):
    return re.split(r"  +", line.strip())


def check_table(db):
    entries = legacy_json(db)["entries"]
    n = len(entries)
    piped = text(run(["legacy", "--db", db]))
    lines = piped.splitlines()
    check(len(lines) == n + 1, "piped table: one line per entry")
    check(table_cells(lines[0]) == ["CLIENT", "SNI", "VERSION", "ATTRIBUTION", "CONNS",
                                    "LAST SEEN"], "default header: %r" % lines[:1])
    check("\x1b" not in piped and "\u2026" not in piped, "piped: no colour, nothing cut")
    rows = [table_cells(l) for l in lines[1:]]
    check([r[1] for r in rows] == [e["sni"] or "-" for e in entries],
          "piped: every SNI whole, in the JSON's order: %s" % [r[1] for r in rows])
    check(all(re.fullmatch(r"\d{4}-\d\d-\d\d", r[-1]) for r in rows), "LAST SEEN is a date")
    wide = text(run(["legacy", "--db", db, "--wide"]))
    check(table_cells(wide.splitlines()[0])[:4] == ["CLIENT", "SERVER", "SNI", "ATTRIBUTION"]
          and len(table_cells(wide.splitlines()[0])) == 14, "--wide: all 14 columns")
    soft = [e["software"] for e in entries if e["software"]]
    check(soft and all(s in wide for s in soft) and "\u2026" not in wide,
          "--wide piped: software whole (%s)" % soft[:2])

    for cols in (80, 200):
        for args in ([], ["--wide"], ["--columns", "client,sni,software,version"]):
            what = "%d columns %s" % (cols, " ".join(args) or "default")
            rc, out = on_terminal(["legacy", "--db", db] + args, cols)
            lines = plain(out).splitlines()
            check(rc == 0 and len(lines) == n + 1, "%s: one line per entry (%d lines)"
                  % (what, len(lines)))
            check(max(len(l) for l in lines) <= cols, "%s: a line is wider than the terminal:"
                  "\n%s" % (what, plain(out)))
            head = table_cells(lines[0])
            if "SNI" not in head:
                continue
            k = head.index("SNI")
            for line, e in zip(lines[1:], entries):
                cell, sni = table_cells(line)[k], e["sni"] or "-"
                if cell == sni:
                    continue
                a, _, b = cell.partition("\u2026")
                check(sni.startswith(a) and sni.endswith(b) and len(b) >= len(a) and
                      len(b) >= 4, "%s: %r cut in the middle, its domain kept: %r"
                      % (what, sni, cell))
            if cols == 200 and not args:
                check("\u2026" not in out, "200 columns: the default columns whole")
        if cols == 80:
            check(head == ["CLIENT", "SNI", "SOFTWARE", "VERSION"], "--columns: %s" % head)
    rc, out = on_terminal(["legacy", "--db", db], 200)
    check("\x1b[33mclient-limited\x1b[0m" in out and "\x1b[31mTLSv1.0\x1b[0m" in out and
          "\x1b[34mcipher\x1b[0m" in out, "a terminal gets colour: %r" % out[:300])
    rc, out2 = on_terminal(["legacy", "--db", db], 200, NO_COLOR="1")
    check("\x1b" not in out2 and out2 == plain(out), "NO_COLOR: the same text, no colour")
    # No window size: $COLUMNS, else 80.
    rc, out = on_terminal(["legacy", "--db", db, "--wide"], 0, COLUMNS="100")
    check(max(len(l) for l in plain(out).splitlines()) <= 100 and
          max(len(l) for l in plain(out).splitlines()) > 80, "COLUMNS=100 is the width")
    rc, out = on_terminal(["legacy", "--db", db, "--wide"], 0)
    check(max(len(l) for l in plain(out).splitlines()) <= 80, "no window, no COLUMNS: 80")

    r = run(["legacy", "--db", db, "--columns", "client,bogus"])
    err = r.stderr.decode()
    check(r.returncode == EXIT_USAGE and "'bogus'" in err and "client-max" in err and
          "try 'tlscensus legacy --help'" in err and "usage:" not in err and
          len(err.splitlines()) == 2, "unknown column: one line and a hint: %r" % err)
    r = run(["legacy", "--db", db, "--frobnicate"])
    err = r.stderr.decode()
    check(r.returncode == EXIT_USAGE and err == "tlscensus: unknown option '--frobnicate'\n"
          "try 'tlscensus legacy --help'\n", "unknown option: %r" % err)
    r = run(["legacy", "--db"])
    check(r.returncode == EXIT_USAGE and b"missing value for option '--db'" in r.stderr,
          "missing value: %r" % r.stderr)

    lines = text(run(["legacy", "--db", db, "--limit", "2"])).splitlines()
    check(len(lines) == 4 and lines[3] == "... %d more entries (--limit 2)" % (n - 2),
          "--limit 2: %r" % lines)
    doc = legacy_json(db, "--limit", "2")
    check(len(doc["entries"]) == 2 and doc["more_entries"] == n - 2, "--limit 2 json")
    check("more_entries" not in legacy_json(db), "no more_entries without --limit")
    r = run(["legacy", "--db", db, "--limit", "0"])
    check(r.returncode == EXIT_USAGE, "--limit 0 is a usage error")
    r = run(["legacy", "--db", db, "--fail-on-legacy"])
    check(r.returncode == 1 and len(r.stdout.splitlines()) == n + 1,
          "--fail-on-legacy with legacy clients: exit 1, the table printed")
    modern = read(tmp("modern.db"), sample("tls13-openssl.pcap"))
    r = run(["legacy", "--db", modern, "--fail-on-legacy"])
    check(r.returncode == 0, "--fail-on-legacy without legacy clients: exit 0")


def main():
    global TC, SAMPLES, TMP
    TC, SAMPLES = os.path.abspath(sys.argv[1]), sys.argv[2]
    with open(os.path.join(SAMPLES, "expected.tsv"), newline="") as f:
        table = list(csv.DictReader(f, delimiter="\t"))
    with tempfile.TemporaryDirectory() as TMP:
        check_attribution()
        db = read(tmp("all.db"), *sorted({sample(t["file"]) for t in table}))
        check_policies(db, table)
        check_filters(db, table)
        check_catalog_hints(db)
        check_unknown()
        check_hostile()
        check_table(db)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
