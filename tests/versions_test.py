#!/usr/bin/env python3
"""Every protocol version name in every output format: `legacy` table, CSV and JSON, `report`
HTML, Markdown and CSV, and `export --format ndjson`. Once one copy of version_text wrote
"DTLSv1.2" into 8 bytes, so `legacy` printed "DTLSv1."; every printer now calls the one
tc_version_text, and this test holds each of them to the whole name.

The database comes from versions_db (tests/versions_db.c), which writes one connection per
version through the store: server 192.0.2.(10 + i) negotiated VERSIONS[i].

usage: versions_test.py TLSCENSUS VERSIONS_DB
"""
import csv
import io
import json
import os
import re
import sys
import tempfile

import tclib
from tclib import Checks

checks = Checks("versions")
check = checks.check

# (negotiated, the ClientHello's legacy_version, the client's highest offer), as printed.
VERSIONS = [
    ("SSLv2", "SSLv2", "SSLv2"),
    ("SSLv3", "SSLv3", "SSLv3"),
    ("TLSv1.0", "TLSv1.0", "TLSv1.0"),
    ("TLSv1.1", "TLSv1.1", "TLSv1.1"),
    ("TLSv1.2", "TLSv1.2", "TLSv1.2"),
    ("TLSv1.3", "TLSv1.2", "TLSv1.3"),
    ("DTLSv1.0", "DTLSv1.0", "DTLSv1.0"),
    ("DTLSv1.2", "DTLSv1.2", "DTLSv1.2"),
    ("DTLSv1.3", "DTLSv1.2", "DTLSv1.3"),
    ("0x0305", "TLSv1.2", "TLSv1.2"),  # no name: the value; the client's best known is 1.2
]
SERVERS = {"192.0.2.%d" % (10 + i): v for i, v in enumerate(VERSIONS)}

# A name cut short: "DTLSv1." or "TLSv1" without its minor digit, "SSLv" without its number.
CUT = re.compile(r"(?:D?TLSv1(?!\.\d)|SSLv(?![23]))")


def run(tc, args):
    r = tclib.run([tc] + args, timeout=60)
    check(r.returncode == 0, "%s exits 0 (got %s: %s)" % (" ".join(args), r.returncode,
                                                         r.stderr.strip()))
    return r.stdout


def no_cut_names(what, text):
    for m in CUT.finditer(text):
        check(False, "%s: a cut version name %r at %d: %r" % (
            what, m.group(0), m.start(), text[max(0, m.start() - 40):m.end() + 20]))
    check(True, "%s: no cut version name" % what)


def each_server(what, found):
    """found: server IP -> (negotiated, client max) as printed (None for a field not shown)."""
    for ip, (version, _, best) in SERVERS.items():
        got = found.get(ip)
        check(got is not None, "%s: an entry for server %s (%s)" % (what, ip, version))
        if got is None:
            continue
        check(got[0] == version, "%s: server %s version %r, want %r" % (what, ip, got[0],
                                                                         version))
        if got[1] is not None:
            check(got[1] == best, "%s: server %s client max %r, want %r" % (what, ip, got[1],
                                                                             best))


def table_versions(what, out):
    """server IP -> (VERSION, CLIENT MAX) of a legacy table with those columns."""
    lines = tclib.plain(out).splitlines()
    head = re.split(r"  +", lines[0]) if lines else []
    check("VERSION" in head and "CLIENT MAX" in head and "SERVER" in head,
          "%s: a header line: %r" % (what, head))
    found = {}
    for line in lines[1:]:
        cells = re.split(r"  +", line)
        if len(cells) == len(head) and "SERVER" in head:
            ip = cells[head.index("SERVER")].rsplit(":", 1)[0]
            found[ip] = (cells[head.index("VERSION")], cells[head.index("CLIENT MAX")])
    return found


def legacy_table(tc, db):
    out = run(tc, ["legacy", "--db", db, "--wide"])
    no_cut_names("legacy table", out)
    each_server("legacy table", table_versions("legacy table", out))
    out = run(tc, ["legacy", "--db", db])
    no_cut_names("legacy table, default columns", out)
    check(all(v in out for v, _, _ in VERSIONS), "legacy table, default columns: every version")
    # On terminals of 80 and 200 columns: names are never cut to fit.
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    for cols in (80, 200):
        for args in ([], ["--wide"], ["--columns", "server,version,client-max,sni,software"]):
            what = "legacy table on %d columns %s" % (cols, " ".join(args))
            rc, out = tclib.on_terminal([tc, "legacy", "--db", db] + args, cols, env=env)
            check(rc == 0, "%s: exit %s" % (what, rc))
            no_cut_names(what, tclib.plain(out))
            check(max(len(l) for l in tclib.plain(out).splitlines()) <= cols,
                  "%s: fits" % what)
            if args and args[0] == "--columns":
                each_server(what, table_versions(what, out))
            else:
                check(all(v in tclib.plain(out) for v, _, _ in VERSIONS),
                      "%s: every version" % what)


def legacy_csv(tc, db):
    out = run(tc, ["legacy", "--db", db, "--format", "csv"])
    no_cut_names("legacy csv", out)
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    each_server("legacy csv", {r["server_ip"]: (r["version"], r["client_max_version"])
                               for r in rows})


def legacy_json(tc, db):
    out = run(tc, ["legacy", "--db", db, "--format", "json"])
    no_cut_names("legacy json", out)
    doc = json.loads(out)
    each_server("legacy json", {e["server_ip"]: (e["version"], e["client_max_version"])
                                for e in doc["entries"]})


def report_csv(tc, db):
    out = run(tc, ["report", "--db", db, "--format", "csv", "--no-record", "--until",
                   "2030-01-01"])
    no_cut_names("report csv", out)
    check("0xffffffff" not in out, "report csv: SSL 2.0 has no suite to name, not 0xffffffff")
    found, mix, header = {}, set(), {}
    for row in csv.reader(io.StringIO(out, newline="")):
        if len(row) > 1 and row[0] == "section":
            header[row[1]] = row  # each section's own header line
        elif row and row[0] == "legacy" and "attribution" in header:
            h = header["attribution"]
            e = dict(zip(h, row))
            found[e["server_ip"]] = (e["version"], e["client_max_version"])
        elif row and row[0] == "versions":
            mix.add(row[1])
    each_server("report csv", found)
    for version, _, _ in VERSIONS:
        check(version in mix, "report csv: %s in the versions section" % version)


def report_md(tc, db):
    out = run(tc, ["report", "--db", db, "--format", "md", "--no-record", "--until",
                   "2030-01-01"])
    no_cut_names("report md", out)
    check("0xffffffff" not in out, "report md: SSL 2.0 has no suite to name, not 0xffffffff")
    found, head = {}, None
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if "Using" in cells and "Server" in cells:
            head = cells
        elif head and len(cells) == len(head) and cells[head.index("Server")] != "---":
            ip = cells[head.index("Server")].rsplit(":", 1)[0]
            found[ip] = (cells[head.index("Using")], cells[head.index("Client offers up to")])
    each_server("report md", found)
    for version, _, _ in VERSIONS:
        check(re.search(r"^\| %s( \(legacy\))? \| 1 \|" % re.escape(version), out, re.M),
              "report md: %s in the table of versions" % version)


def report_html(tc, db):
    out = run(tc, ["report", "--db", db, "--format", "html", "--no-record", "--until",
                   "2030-01-01"])
    no_cut_names("report html", out)
    check("0xffffffff" not in out, "report html: SSL 2.0 has no suite to name, not 0xffffffff")
    found = {}
    for line in out.splitlines():
        m = re.search(r"(192\.0\.2\.\d+):443</div>", line)
        v = re.search(r'<span class="tag [a-z]+">([^<]*)</span>', line)
        best = re.search(r"the client offers up to ([^<]*)</div>", line)
        if m and v:
            found[m.group(1)] = (v.group(1), best.group(1) if best else None)
    each_server("report html", found)
    for version, _, _ in VERSIONS:
        check('">%s</span></td><td class="n">1</td>' % version in out,
              "report html: %s in the table of versions" % version)


def export(tc, db):
    r, records = tclib.export(tc, db, timeout=60)
    check(r.returncode == 0, "export exits 0")
    no_cut_names("export", r.stdout)
    each_server("export", {x["server_ip"]: (x["version"], x["client_max_version"])
                           for x in records})
    for x in records:
        want = SERVERS.get(x["server_ip"])
        if want:
            check(x["client_version"] == want[1], "export: server %s client_version %r, want %r"
                  % (x["server_ip"], x["client_version"], want[1]))
            # The judge's keys (also the --log stream's): a version below 1.2 is the reason,
            # named whole.
            old = want[0] in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "DTLSv1.0")
            check(x["verdict"] == "legacy" and (x["reason"] or "").startswith(want[0])
                  == old, "export: server %s (%s) reason %r" % (x["server_ip"], want[0],
                                                               x["reason"]))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: versions_test.py TLSCENSUS VERSIONS_DB")
    tc, maker = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="tc_versions_") as tmp:
        db = os.path.join(tmp, "versions.db")
        r = tclib.run([maker, db], timeout=60)
        if not check(r.returncode == 0, "versions_db writes the database: %s" % r.stderr):
            return checks.summary()
        for test in (legacy_table, legacy_csv, legacy_json, report_csv, report_md, report_html,
                     export):
            test(tc, db)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
