#!/usr/bin/env python3
"""What tlscensus hands to SIEMs and analysts: `export` with the judge's keys and filters, the
`--log` stream of `read` (the same lines, written while the run goes on, opened again on SIGHUP
as logrotate wants), the logrotate snippet, and the README's analyst queries on the named views.

The Community ID is checked against an implementation of the public spec written here with
hashlib (the C one is checked against the spec's own published values in test_community_id).

usage: siem_test.py TLSCENSUS SAMPLES_DIR SOURCE_ROOT
"""
import base64
import datetime
import hashlib
import ipaddress
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

import tclib
from tclib import Checks, Pcap, ndjson, set_address

EXIT_USAGE = 2
checks = Checks("siem")
check = checks.check
TC = SAMPLES = ROOT = TMP = None

OLD_KEYS = ["transport", "client_ip", "client_port", "server_ip", "server_port", "sni",
            "client_version", "client_versions", "client_max_version", "ciphers", "alpn",
            "version", "cipher", "ja3", "ja3s", "first_ts", "last_ts", "alert", "app",
            "parse_status", "parse_error", "ja3_str", "ja3s_str", "hrr", "fallback_scsv", "ja4"]
NEW_KEYS = ["community_id", "cipher_name", "policy", "verdict", "reason", "attribution",
            "service", "deadline", "software"]


def run(args, **kw):
    return tclib.run([TC] + args, timeout=120, **kw)


def tmp(name):
    return os.path.join(TMP, name)


def community_id(saddr, sport, daddr, dport, proto, seed=0):
    """Community ID v1 from its public description: seed, ordered addresses, protocol, a pad
    byte, ordered ports; SHA-1; base64."""
    a, b = ipaddress.ip_address(saddr).packed, ipaddress.ip_address(daddr).packed
    if (a, sport) > (b, dport):
        a, b, sport, dport = b, a, dport, sport
    data = struct.pack("!H", seed) + a + b + struct.pack("!BBHH", proto, 0, sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def export(db, *args):
    r = run(["export", "--db", db] + list(args))
    check(r.returncode == 0, "export %s: exit %s %r" % (args, r.returncode, r.stderr))
    return ndjson(r.stdout) if r.returncode == 0 else []


def entry_key(x):
    return (x["client_ip"], x["server_ip"], x["server_port"], x["sni"] or "")


def legacy_entries(db, policy):
    """entry key -> {(reason, attribution, service, deadline)} of legacy's entries."""
    r = run(["legacy", "--db", db, "--format", "json", "--policy", policy])
    entries = {}
    for e in json.loads(r.stdout)["entries"]:
        entries.setdefault(entry_key(e), set()).add((e["reason"], e["attribution"],
                                                     e["service"], e["deadline"]))
    return entries


def check_export(db):
    plain = run(["export", "--db", db])
    named = run(["export", "--db", db, "--format", "ndjson"])
    check(plain.returncode == 0 and plain.stdout == named.stdout and plain.stdout,
          "export without --format is ndjson")
    records = ndjson(plain.stdout)
    for x in records:
        keys = list(x)
        old = [k for k in keys if k not in NEW_KEYS and k != "server_group"]
        check(old == OLD_KEYS, "the older keys, in their order: %s" % old)
        check(keys[-len(NEW_KEYS):] == NEW_KEYS, "the new keys last, in order: %s" % keys[-9:])
        want = community_id(x["client_ip"], x["client_port"], x["server_ip"], x["server_port"],
                            6 if x["transport"] == "tcp" else 17)
        check(x["community_id"] == want, "community_id of %s: %s, want %s"
              % (entry_key(x), x["community_id"], want))
        check(x["verdict"] in ("legacy", "ok", "unknown") and x["policy"] == "default",
              "verdict and policy: %s %s" % (x["verdict"], x["policy"]))
        if x["verdict"] != "legacy":
            check(all(x[k] is None for k in NEW_KEYS[4:]), "no reason unless legacy: %s" % x)
    by_sni = {x["sni"]: x for x in records}
    names = {x["cipher"]: x["cipher_name"] for x in records}
    check(names.get("0x000a") == "TLS_RSA_WITH_3DES_EDE_CBC_SHA" and names.get(None, 0) is None
          and names.get("0x1302") == "TLS_AES_256_GCM_SHA384", "cipher_name: %s" % names)
    # The verdicts are the legacy command's, policy by policy.
    for policy in ("default", "entra", "pq"):
        recs = records if policy == "default" else export(db, "--policy", policy)
        flagged = {}
        for x in recs:
            if x["verdict"] == "legacy":
                flagged.setdefault(entry_key(x), set()).add((x["reason"], x["attribution"],
                                                             x["service"], x["deadline"]))
        entries = legacy_entries(db, policy)
        check(flagged == entries and entries,
              "%s: export's legacy records are legacy's entries:\n  %s\n  %s"
              % (policy, sorted(flagged.items()), sorted(entries.items())))
        check(all(x["policy"] == policy for x in recs), "%s named in every record" % policy)
    check(by_sni["rc4.example.test"]["verdict"] == "legacy" and
          {x["sni"]: x for x in export(db, "--policy", "entra")}["rc4.example.test"]["verdict"]
          == "ok", "RC4 is legacy by default, not under entra")
    # Service and deadline from a catalog, as legacy names them.
    cat = tmp("test.catalog")
    with open(cat, "w") as f:
        f.write("tls10.example.test  2020-01-01  <TLSv1.2       Old Cloud\n"
                "*.example.test      2999-12-31  <TLSv1.2,3DES  Future Cloud\n")
    got = {x["sni"]: x for x in export(db, "--catalog", cat) if x["sni"]}
    check((got["tls10.example.test"]["service"], got["tls10.example.test"]["deadline"]) ==
          ("Old Cloud", "failing since 2020-01-01") and
          (got["oldserver.example.test"]["service"], got["oldserver.example.test"]["deadline"])
          == ("Future Cloud", "fails on 2999-12-31") and
          got["rc4.example.test"]["deadline"] is None and
          got["tls13.example.test"]["service"] is None, "--catalog: service and deadline")
    # Filters.
    n = len(records)
    got = export(db, "--sni", "old*")
    check(sorted(x["sni"] for x in got) == ["oldclient.example.test", "oldserver.example.test"],
          "--sni old*: %s" % [x["sni"] for x in got])
    check(len(export(db, "--client", "10.99.0.0/24")) == sum(
        1 for x in records if x["client_ip"].startswith("10.99.0.")) and
        export(db, "--client", "192.0.2.0/24") == [], "--client")
    check(export(db, "--server", "10.99.0.2") != [] and len(export(db, "--server", "fd00::/8")) ==
          sum(1 for x in records if ":" in x["server_ip"]), "--server")
    check({x["server_port"] for x in export(db, "--port", "8443")} == {8443}, "--port")
    check(len(export(db, "--since", "2024-01-01", "--until", "2024-01-02")) == n and
          export(db, "--since", "2030-01-01") == [] and export(db, "--until", "2023-01-01") == [],
          "--since and --until")
    for args, what in ((["--format", "csv"], "'csv'"), (["--group", "client"], "--group"),
                       (["--since", "yesterday"], "'yesterday'")):
        r = run(["export", "--db", db] + args)
        check(r.returncode == EXIT_USAGE and what in r.stderr and "usage:" not in r.stderr,
              "export %s: %r" % (args, r.stderr))
    return records


def without_last(rows):
    return sorted((tuple(sorted((k, json.dumps(v)) for k, v in x.items() if k != "last_ts"))
                   for x in rows))


def check_log(records):
    samples = sorted(os.path.join(SAMPLES, f) for f in os.listdir(SAMPLES) if f.endswith(".pcap"))
    db, log = tmp("log.db"), tmp("log.ndjson")
    r = run(["read", "--quiet", "--db", db, "--log", log] + samples)
    check(r.returncode == 0, "read --log: %r" % r.stderr)
    lines = open(log).read().splitlines()
    check(without_last(ndjson("\n".join(lines))) == without_last(records),
          "the log's lines are the export's records (last_ts aside)")
    # Appended to, never truncated.
    run(["read", "--quiet", "--db", tmp("log2.db"), "--log", log,
         os.path.join(SAMPLES, "tls13-openssl.pcap")])
    check(open(log).read().splitlines()[:len(lines)] == lines and
          len(open(log).read().splitlines()) == len(lines) + 1, "--log appends")
    r = run(["read", "--db", tmp("log3.db"), "--log", "-", "--policy", "entra",
             os.path.join(SAMPLES, "tls12-gnutls-3des.pcap")])
    out = ndjson(r.stdout)
    check(r.returncode == 0 and len(out) == 1 and out[0]["policy"] == "entra" and
          out[0]["verdict"] == "legacy" and out[0]["reason"] == "3DES cipher" and
          "TLS connections recorded" in r.stderr, "--log - --policy entra: %r %r"
          % (r.stdout[:200], r.stderr))
    r = run(["read", "--db", tmp("log4.db"), "--policy", "entra", samples[0]])
    check(r.returncode == EXIT_USAGE and "--log" in r.stderr, "--policy needs --log: %r"
          % r.stderr)
    r = run(["read", "--db", tmp("log4.db"), "--log", tmp("no/such/dir.ndjson"), samples[0]])
    check(r.returncode == EXIT_USAGE and "no/such/dir.ndjson" in r.stderr,
          "an unopenable log names itself: %r" % r.stderr)
    r = run(["read", "--db", tmp("log4.db"), "--log", log, "--policy", "nosuch", samples[0]])
    check(r.returncode == EXIT_USAGE and "nosuch" in r.stderr, "--policy unknown: %r" % r.stderr)


def wait_for(cond, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def count_lines(path):
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def check_rotation():
    """A read from a pipe kept open: its lines reach the file while it runs; after the file is
    renamed and SIGHUP sent, the rest go to a new file by the same name, no line lost or cut."""
    base = Pcap(os.path.join(SAMPLES, "tls10-openssl.pcap"))
    client = tclib.src_ip(base.packets[0][2])

    def batch(net):
        packets = []
        for i in range(40):
            p = Pcap(os.path.join(SAMPLES, "tls10-openssl.pcap"))
            packets += set_address(p, client, "10.%d.0.%d" % (net, i + 1)).packets
        data = b""
        for sec, sub, frame in packets:
            data += struct.pack("<IIII", sec, sub, len(frame), len(frame)) + bytes(frame)
        return data

    db, log = tmp("rot.db"), tmp("rot.ndjson")
    p = subprocess.Popen([TC, "read", "--quiet", "--db", db, "--log", log, "-"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(base.header + batch(1))
    p.stdin.flush()
    # The writer takes records from a file reader 32 at a time: at least 32 lines, while the
    # read still waits for more input.
    check(wait_for(lambda: count_lines(log) >= 32), "lines reach the log while read runs (%d)"
          % count_lines(log))
    check(p.poll() is None, "read is still running")
    os.rename(log, log + ".1")
    p.send_signal(signal.SIGHUP)
    check(wait_for(lambda: os.path.exists(log)), "SIGHUP: the log is opened again by name")
    p.stdin.write(batch(2))
    p.stdin.close()
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    check(p.returncode == 0, "read survives SIGHUP and ends well: %s %r" % (p.returncode, err))
    old, new = open(log + ".1").read(), open(log).read()
    check(old.endswith("\n") and new.endswith("\n"), "both files end with a whole line")
    recs_old, recs_new = ndjson(old), ndjson(new)
    clients = sorted(x["client_ip"] for x in recs_old + recs_new)
    want = sorted("10.%d.0.%d" % (n, i + 1) for n in (1, 2) for i in range(40))
    check(clients == want, "every connection logged once across the two files")
    check(all(x["client_ip"].startswith("10.2.") for x in recs_new[-40:]) and
          not any(x["client_ip"].startswith("10.2.") for x in recs_old),
          "what came after SIGHUP is in the new file only")


def check_logrotate():
    path = os.path.join(ROOT, "logrotate", "tlscensus")
    text = open(path).read()
    check(re.search(r"^/var/log/tlscensus/\*\.ndjson \{$", text, re.M) and
          re.search(r"postrotate\n.*--signal=SIGHUP 'tlscensus-capture@\*\.service'.*\n\s*endscript",
                    text, re.S) and "create 0640 tlscensus tlscensus" in text,
          "logrotate/tlscensus rotates the stream and sends SIGHUP")


def readme_queries():
    text = open(os.path.join(ROOT, "README.md")).read()
    part = text[text.index("Three analyst queries"):]
    return re.findall(r"```sql\n(.*?)```", part, re.S)[:3]


def sql(db, query):
    r = tclib.run(["sqlite3", "-json", db, query], timeout=60)
    check(r.returncode == 0 and not r.stderr, "sqlite3: %r on %s" % (r.stderr, query[:60]))
    return json.loads(r.stdout or "[]")


def check_sql(db, records):
    day, servers, runs = readme_queries()
    legacy = [x for x in records if x["verdict"] == "legacy"]
    got = sql(db, day)
    check(got == [{"day": "2024-01-01", "clients": len({x["client_ip"] for x in legacy}),
                   "connections": len(legacy)}],
          "legacy per day matches the judge's records: %s vs %d" % (got, len(legacy)))
    got = sql(db, servers)
    want = {}
    for x in records:
        if x["version"] in ("TLSv1.0", "TLSv1.1"):
            k = (x["server_ip"], x["server_port"], x["version"])
            want[k] = want.get(k, 0) + 1
    check({(r["server_ip"], r["server_port"], r["version_name"]): r["connections"] for r in got}
          == want and all(r["last_seen"] == "2024-01-01T00:00:00Z" for r in got),
          "servers on TLS 1.0/1.1: %s vs %s" % (got, want))
    got = sql(db, runs)
    check(len(got) == 1 and got[0]["connections"] == sql(
        db, "SELECT count(*) AS n FROM connections")[0]["n"] and got[0]["drops"] == 0 and
        got[0]["legacy_versions"] == sum(1 for x in records if x["version"] in
                                         ("TLSv1.0", "TLSv1.1")) and
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", got[0]["run_started_time"]),
        "per run: %s" % got)
    # ISO times are the unix ones.
    for r in sql(db, "SELECT first_ts, first_time, last_ts, last_time FROM connections_named"):
        for ts, iso in ((r["first_ts"], r["first_time"]), (r["last_ts"], r["last_time"])):
            want = datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc)
            check(iso == want.strftime("%Y-%m-%dT%H:%M:%SZ"), "%s is %s" % (iso, ts))
    # Joins without an ambiguous column, unqualified names.
    for q in ("SELECT conn_id, run_id, run_source, first_time, version_name "
              "FROM connections_named JOIN runs_named USING (run_id)",
              "SELECT conn_id, connections, first_seen_time, last_time, run_command "
              "FROM connections_named JOIN inventory_named USING (client_ip, server_ip, "
              "server_port) JOIN runs_named USING (run_id)",
              "SELECT id, first_time, reason, run_kernel_drops FROM legacy_connections "
              "JOIN runs_named USING (run_id)"):
        check(sql(db, q) != [], "a join, unqualified: %s" % q)
    inv = sql(db, "SELECT sum(connections) AS n, count(*) AS rows, sum(sni IS NULL) AS nosni, "
                  "sum(version IS NULL) AS nover FROM inventory_named")[0]
    check(inv["n"] == len(sql(db, "SELECT id FROM connections WHERE ch_version IS NOT NULL OR "
                                  "sh_version IS NOT NULL")) and inv["nosni"] > 0 and
          inv["nover"] > 0, "inventory_named: counts, NULL for none: %s" % inv)


def main():
    global TC, SAMPLES, ROOT, TMP
    TC, SAMPLES, ROOT = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
    with tempfile.TemporaryDirectory(prefix="tc_siem_") as TMP:
        samples = sorted(os.path.join(SAMPLES, f) for f in os.listdir(SAMPLES)
                         if f.endswith(".pcap"))
        db = tmp("samples.db")
        r = run(["read", "--quiet", "--db", db] + samples)
        if not check(r.returncode == 0, "read the samples: %r" % r.stderr):
            return checks.summary()
        records = check_export(db)
        check_log(records)
        check_rotation()
        check_logrotate()
        check_sql(db, records)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
