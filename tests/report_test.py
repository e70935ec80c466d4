#!/usr/bin/env python3
"""The report command: HTML, Markdown and CSV from a database of the samples.

Checks that the report lists the legacy clients with their attribution, service and deadline,
agrees with `legacy --format json`, draws the trend on the right day, shows the coverage
figures, exits 1 with --fail-on-legacy only when a legacy client is listed, opens the window
of `--since last` where the previous report ended and lists what changed, and keeps a hostile
SNI inert in every format. A dated -o keeps the report of another window (NAME-2.html); TLS 1.3
drafts are named; long trends carry the year and name their bars; demo.sh's month
(scripts/demo_db.py) shows falling legacy clients, catalogued services with their cutoffs and
real changes. With chromium installed, the HTML is also rendered headless: the DOM must hold
every section and the chart, a screenshot must come out, and the demo's report, laid out at
1280 and at 390 px (a phone), must break no word, run no text over its cell, leave no table out
of reach, fit the screen and draw chart text at least 11 px high.

The samples all date from 2024-01-01; the test makes captures of other days, other clients and
other server names by rewriting copies of them (timestamps, addresses, the SNI bytes of the
ClientHello with every length that covers them).

usage: report_test.py TLSCENSUS SAMPLES_DIR
"""
import csv
import html
import io
import json
import os
import re
import shutil
import sqlite3
import struct
import sys
import tempfile
import time

import tclib
from tclib import (Checks, Pcap, client_hello, fix_checksums, hello_offset, set_address,
                   set_sni, src_ip)

EXIT_LEGACY, EXIT_USAGE, EXIT_DATABASE, EXIT_OUTPUT = 1, 2, 5, 6
DAY = 86400
JAN1 = 1704067200  # 2024-01-01T00:00:00Z, the samples' time
HOSTILE_SNI = b"=cmd|' /C calc'!A0<script>alert(1)</script>\x1b[31m\xff|`x`*[a](b)"

checks = Checks("report_test")
check = checks.check


def run(args, **kw):
    """Output as bytes: the hostile-SNI checks look at every byte."""
    return tclib.run(args, text=False, **kw)


# ---------------------------------------------------------------- captures


def rewrite(src, dst, days=0, client_ip=None, sni=None):
    """A copy of an IPv4 sample, days later, from another client, to another server name."""
    pcap = Pcap(src).shift(days * DAY)
    i, _ = client_hello(pcap)
    client = src_ip(pcap.packets[i][2])
    if sni is not None:
        set_sni(pcap, sni)
    if client_ip:
        set_address(pcap, client, client_ip)
    pcap.write(dst)


# ---------------------------------------------------------------- outputs


def csv_blocks(text):
    """The report's CSV: blocks separated by an empty line, each row led by its section."""
    rows = {}
    for block in text.replace("\r\n", "\n").strip("\n").split("\n\n"):
        table = list(csv.reader(io.StringIO(block)))
        head = table[0]
        for row in table[1:]:
            rows.setdefault(row[0], []).append(dict(zip(head, row)))
    return rows


def pairs(rows):
    return {r["field"]: r["value"] for r in rows}


def text_of(doc):
    """What a reader sees of an HTML document: tags out, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", doc))


def section(doc, name):
    m = re.search(r'<section id="%s">(.*?)</section>' % name, doc, re.S)
    return m.group(1) if m else ""


def md_cells(line):
    """Cells of a Markdown table row, split on pipes that are not escaped."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


class Tool:
    def __init__(self, exe, work):
        self.exe, self.work = exe, work

    def read(self, db, *pcaps):
        r = run([self.exe, "read", "--quiet", "--db", db] + list(pcaps))
        check(r.returncode == 0, "read %s: %s" % (pcaps, r.stderr.decode(errors="replace")))

    def report(self, db, *args):
        return run([self.exe, "report", "--db", db] + list(args))

    def legacy_json(self, db, *args):
        r = run([self.exe, "legacy", "--db", db, "--format", "json"] + list(args))
        check(r.returncode == 0, "legacy --format json " + " ".join(args))
        return json.loads(r.stdout)


# ---------------------------------------------------------------- checks


def check_agrees_with_legacy(t, db):
    window = ["--since", "2024-01-01", "--until", "2024-01-02"]
    want = t.legacy_json(db, *window)
    r = t.report(db, "--format", "csv", "--no-record", *window)
    check(r.returncode == 0, "report csv exit code %s: %s" % (r.returncode, r.stderr))
    rows = csv_blocks(r.stdout.decode())
    summary = pairs(rows.get("summary", []))
    check(summary.get("connections") == str(want["connections"]),
          "csv connections %s, legacy json %s" % (summary.get("connections"), want["connections"]))
    check(summary.get("legacy_connections") == str(want["legacy_connections"]),
          "csv legacy_connections agrees with legacy json")
    check(summary.get("legacy_entries") == str(len(want["entries"])), "csv legacy_entries")
    key = lambda e: (e["client_ip"], e["server_ip"], str(e["server_port"]), e["sni"] or "",
                     e["attribution"], str(e["connections"]))
    got = sorted(key(e) for e in rows.get("legacy", []))
    check(got == sorted(key(e) for e in want["entries"]),
          "csv legacy rows are legacy json's entries:\n%s\n%s" % (got, want["entries"]))
    clients = {e["client_ip"] for e in want["entries"]}
    check(summary.get("legacy_clients") == str(len(clients)), "csv legacy_clients")
    for e in rows.get("legacy", []):
        check(e["advice"] == want["advice"].get(e["attribution"]), "csv advice of " + e["sni"])
    trend = rows.get("trend", [])
    check([d["day"] for d in trend] == ["2024-01-01"], "trend has one day, 2024-01-01: %s" % trend)
    check(trend and trend[0]["total"] == str(want["connections"]), "trend total")
    unknown = want["unknown"]
    cover = pairs(rows.get("coverage", []))
    for k in ("truncated", "malformed", "one_sided", "midstream"):
        check(cover.get(k) == str(unknown[k]), "coverage %s = legacy json unknown" % k)
    with sqlite3.connect(db) as c:
        runs, packets = c.execute("select count(*), sum(packets) from runs").fetchone()
    check(cover.get("runs") == str(runs) and cover.get("packets") == str(packets),
          "coverage runs and packets from the runs table: %s" % cover)
    for k in ("kernel_drops", "queue_drops", "flows_evicted"):
        check(cover.get(k) == "0", "coverage %s present and 0" % k)
    return want


def check_html_and_md(t, db, want, out):
    window = ["--since", "2024-01-01", "--until", "2024-01-02", "--no-record"]
    r = t.report(db, "--format", "html", "-o", out, *window)
    check(r.returncode == 0 and os.path.exists(out), "html report written: %s" % r.stderr)
    doc = open(out, encoding="utf-8").read()
    for sid in ("summary", "legacy", "trend", "changes", "coverage"):
        check('<section id="%s">' % sid in doc, "html section " + sid)
    check(not re.search(r"<script|<link|<img|src=|@import|url\(http", doc, re.I),
          "html has no script and no external asset")
    text = text_of(doc)
    legacy = text_of(section(doc, "legacy"))
    for e in want["entries"]:
        check(e["client_ip"] in legacy, "html lists client " + e["client_ip"])
        if e["sni"]:
            check(e["sni"] in legacy, "html lists " + e["sni"])
        check(want["advice"][e["attribution"]] in legacy, "html advice for " + e["attribution"])
        if e["software"]:
            check(e["software"] in legacy, "html software hint " + e["software"])
        check(e["ja4"] in legacy, "html JA4 " + e["ja4"])
    check("failing now" in legacy, "html: a refused connection is failing now")
    check(re.search(r"%d\s*legacy connections" % want["legacy_connections"], text) is not None,
          "html summary card of legacy connections")
    trend = section(doc, "trend")
    check("<svg" in trend and "<rect" in trend and "2024-01-01" in trend, "html trend chart")
    check("TLSv1.3" in trend and "TLSv1.0" in trend, "html trend legend")
    cover = text_of(section(doc, "coverage"))
    check("One-sided" in cover and "Kernel drops" in cover and "Flows evicted" in cover,
          "html coverage lines")

    r = t.report(db, "--format", "md", *window)
    check(r.returncode == 0, "md report")
    md = r.stdout.decode()
    for head in ("## Summary", "## Legacy clients", "## Trend", "## Changes since the previous",
                 "## Coverage"):
        check(head in md, "md " + head)
    day = [l for l in md.splitlines() if l.startswith("| 2024-01-01 |")]
    check(len(day) == 1 and md_cells(day[0])[-1] == str(want["connections"]),
          "md trend row of 2024-01-01 totals %d" % want["connections"])
    rows = [md_cells(l) for l in md.splitlines() if l.startswith("| 10.") or l.startswith("| fd")]
    check(len(rows) == len(want["entries"]) and all(len(c) == 13 for c in rows),
          "md: one 13-cell row per entry")


def check_fail_on_legacy(t, samples, work):
    legacy_db = os.path.join(work, "fail.db")
    t.read(legacy_db, os.path.join(samples, "tls10-openssl.pcap"))
    out = os.path.join(work, "fail.html")
    r = t.report(legacy_db, "--fail-on-legacy", "--no-record", "-o", out)
    check(r.returncode == EXIT_LEGACY, "--fail-on-legacy on a legacy database exits 1, not %s"
          % r.returncode)
    check(os.path.getsize(out) > 1000, "--fail-on-legacy still writes the report")
    r = t.report(legacy_db, "--no-record", "-o", out)
    check(r.returncode == 0, "without --fail-on-legacy the exit code is 0")
    clean_db = os.path.join(work, "clean.db")
    t.read(clean_db, os.path.join(samples, "tls13-openssl.pcap"),
           os.path.join(samples, "tls12-openssl.pcap"))
    r = t.report(clean_db, "--fail-on-legacy", "--no-record", "--format", "md")
    check(r.returncode == 0, "--fail-on-legacy on a clean database exits 0, not %s: %s"
          % (r.returncode, r.stderr))
    check(b"No client used legacy TLS" in r.stdout, "clean report says so")


def check_output_and_errors(t, db, work):
    pattern = os.path.join(work, "reports", "legacy-%Y-%m-%d.html")
    os.makedirs(os.path.dirname(pattern))
    r = t.report(db, "--no-record", "-o", pattern)
    dated = time.strftime(pattern)
    check(r.returncode == 0 and os.path.exists(dated), "-o expands %%Y-%%m-%%d: %s" % dated)
    check(os.listdir(os.path.dirname(pattern)) == [os.path.basename(dated)],
          "no temporary file left beside the report")
    r = t.report(db, "-o", os.path.join(work, "reports", "x.csv"), "--no-record")
    check(r.stdout == b"" and open(os.path.join(work, "reports", "x.csv")).read().startswith(
        "section,field,value"), "-o x.csv picks the CSV format")
    with sqlite3.connect(db) as c:
        before = c.execute("select count(*) from sqlite_master where name = 'reports'").fetchone()
    r = t.report(db, "-o", os.path.join(work, "missing-dir", "r.html"))
    check(r.returncode == EXIT_OUTPUT and b"missing-dir" in r.stderr,
          "unwritable -o: exit 6 naming the file, not %s" % r.returncode)
    with sqlite3.connect(db) as c:
        after = c.execute("select count(*) from sqlite_master where name = 'reports'").fetchone()
    check(before == after, "a report that could not be written is not remembered")
    for args, what in ((["--format", "pdf"], b"'pdf'"), (["--since", "yesterday"], b"yesterday"),
                       (["--group", "client"], b"--group"), (["--top", "0"], b"--top"),
                       (["--policy", "nosuch"], b"nosuch")):
        r = t.report(db, *args)
        check(r.returncode == EXIT_USAGE and what in r.stderr,
              "report %s: usage error (%s) %s" % (args, r.returncode, r.stderr))
    r = t.report(os.path.join(work, "none.db"))
    check(r.returncode == EXIT_DATABASE, "missing database: exit 5")
    r = run([t.exe, "report", "--help"])
    check(r.returncode == 0 and b"usage: tlscensus report" in r.stdout and b"--fail-on-legacy"
          in r.stdout, "report --help")


def check_since_last(t, samples, work):
    db = os.path.join(work, "weekly.db")
    t.read(db, *sorted(os.path.join(samples, f) for f in os.listdir(samples)
                       if f.endswith(".pcap")))
    r = t.report(db, "--since", "last", "--until", "2024-01-02", "--format", "csv")
    check(r.returncode == 0, "first --since last report: %s" % r.stderr)
    first = csv_blocks(r.stdout.decode())
    check(pairs(first["report"]).get("since") == "", "first --since last: from the first record")
    check(first.get("changes", [{}])[0].get("change") == "no_previous_report",
          "first report has no previous one")
    check("10.99.0.1" in {e["client_ip"] for e in first.get("legacy", [])},
          "10.99.0.1 is legacy on 2024-01-01")

    # Two days later: 10.99.0.1 speaks only TLS 1.3 now, 10.99.0.7 appears with TLS 1.0.
    later = [os.path.join(work, "later-%d.pcap" % i) for i in range(2)]
    rewrite(os.path.join(samples, "tls13-openssl.pcap"), later[0], days=2)
    rewrite(os.path.join(samples, "tls10-openssl.pcap"), later[1], days=2,
            client_ip="10.99.0.7", sni=b"login.microsoftonline.com")
    t.read(db, *later)
    r = t.report(db, "--since", "last", "--until", "2024-01-04", "--format", "csv")
    check(r.returncode == 0, "second --since last report: %s" % r.stderr)
    second = csv_blocks(r.stdout.decode())
    head = pairs(second["report"])
    check(head.get("since") == "2024-01-02T00:00:00Z",
          "--since last opens where the previous report ended: %s" % head.get("since"))
    changes = {(c["change"], c["client_ip"]) for c in second.get("changes", [])}
    check(("new_legacy", "10.99.0.7") in changes, "10.99.0.7 is a new legacy client: %s" % changes)
    check(("migrated", "10.99.0.1") in changes, "10.99.0.1 migrated: %s" % changes)
    legacy = second.get("legacy", [])
    check([(e["client_ip"], e["service"], e["deadline"]) for e in legacy] ==
          [("10.99.0.7", "Microsoft Entra ID", "failing since 2022-01-31")],
          "the new client's service and deadline: %s" % legacy)
    days = {d["day"]: d["total"] for d in second.get("trend", [])}
    check(days == {"2024-01-02": "0", "2024-01-03": "2"},
          "trend of the second window: %s" % days)
    with sqlite3.connect(db) as c:
        rows = c.execute("select since, until, policy, scope, legacy_clients from reports "
                         "order by id").fetchall()
    check(len(rows) == 2 and rows[0][0] is None and rows[1][0] == JAN1 + DAY and
          json.loads(rows[1][4]) == ["10.99.0.7"] and rows[1][2] == "default" and rows[1][3] == "",
          "the reports table remembers both: %s" % rows)
    r = t.report(db, "--since", "last", "--until", "2024-01-05", "--format", "html",
                 "--no-record")
    doc = r.stdout.decode()
    changes = text_of(section(doc, "changes"))
    check("New legacy clients (0)" in changes and "Migrated to modern TLS (0)" in changes and
          re.search(r"Not seen in this window \(1\).*10\.99\.0\.7", changes, re.S),
          "third report compares with the second: 10.99.0.7 not seen since: %s" % changes)
    # A different policy or filter is a different series: its first report has no previous.
    r = t.report(db, "--since", "last", "--policy", "entra", "--format", "csv", "--no-record")
    check(csv_blocks(r.stdout.decode())["changes"][0]["change"] == "no_previous_report",
          "another policy starts its own series")

    # A custom catalog gives a date still to come.
    catalog = os.path.join(work, "future.catalog")
    with open(catalog, "w") as f:
        f.write("login.microsoftonline.com  2099-12-31  <TLSv1.2  Future Login Service\n")
    r = t.report(db, "--since", "2024-01-03", "--until", "2024-01-04", "--catalog", catalog,
                 "--no-record", "--format", "html")
    legacy_text = text_of(section(r.stdout.decode(), "legacy"))
    check("fails on 2099-12-31" in legacy_text and "Future Login Service" in legacy_text,
          "a cutoff to come reads 'fails on': %s" % legacy_text[-300:])


def window_of(doc):
    m = re.search(r'<meta name="tlscensus-window" content="([^"]*)">', doc)
    return m.group(1) if m else None


def check_dated_reports(t, samples, work):
    """Issue 11, section 4: a second scheduled report on the same day (-o legacy-%Y-%m-%d)
    once replaced the first while --since last had moved past its window, and that window's
    report was lost. A dated file of another window is kept; the new one gets -2, -3."""
    db = os.path.join(work, "dated.db")
    t.read(db, os.path.join(samples, "tls10-openssl.pcap"))
    later = os.path.join(work, "dated-later.pcap")
    rewrite(os.path.join(samples, "tls13-openssl.pcap"), later, days=2)
    t.read(db, later)
    out = os.path.join(work, "dated")
    os.makedirs(out)
    pattern = os.path.join(out, "legacy-%Y-%m-%d.html")
    first = t.report(db, "--since", "last", "--until", "2024-01-02", "-o", pattern)
    second = t.report(db, "--since", "last", "--until", "2024-01-04", "-o", pattern)
    check(first.returncode == 0 and second.returncode == 0, "two dated reports: %s %s"
          % (first.stderr, second.stderr))
    base = time.strftime(pattern)
    other = base[:-len(".html")] + "-2.html"
    check(sorted(os.listdir(out)) == sorted(map(os.path.basename, (base, other))),
          "both reports of the day are kept: %s" % os.listdir(out))
    if not (os.path.exists(base) and os.path.exists(other)):
        return
    a, b = (open(f, encoding="utf-8").read() for f in (base, other))
    check((window_of(a) or "").startswith("../2024-01-02T00:00:00Z;"),
          "the first file keeps the first window: %s" % window_of(a))
    check((window_of(b) or "").startswith("2024-01-02T00:00:00Z/2024-01-04T00:00:00Z;"),
          "the second file holds the second window: %s" % window_of(b))
    check("TLSv1.0" in text_of(section(a, "legacy")) and
          "No client used legacy TLS" in text_of(section(b, "legacy")),
          "each file is its own window's report")
    check(os.path.basename(other).encode() in second.stderr and b"another window" in
          second.stderr, "the second report says where it went: %s" % second.stderr)
    with sqlite3.connect(db) as c:
        paths = [p for (p,) in c.execute("select path from reports order by id")]
    check(paths == [base, other], "the reports table names each file: %s" % paths)
    check(os.path.basename(base) in text_of(section(b, "changes")),
          "the second report names the first one's file")
    # The same window again is the same report: it replaces its own file, no third one.
    r = t.report(db, "--since", "2024-01-02", "--until", "2024-01-04", "-o", pattern,
                 "--no-record")
    check(r.returncode == 0 and len(os.listdir(out)) == 2, "the same window replaces its own "
          "file: %s" % os.listdir(out))
    r = t.report(db, "--since", "2024-01-03", "--until", "2024-01-04", "--format", "md",
                 "-o", os.path.join(out, "legacy-%Y-%m-%d.md"), "--no-record")
    r = t.report(db, "--since", "2024-01-01", "--until", "2024-01-04", "--format", "md",
                 "-o", os.path.join(out, "legacy-%Y-%m-%d.md"), "--no-record")
    check(len([f for f in os.listdir(out) if f.endswith(".md")]) == 2,
          "Markdown files carry their window too: %s" % os.listdir(out))
    csvs = os.path.join(out, "week-%V.csv")
    for until in ("2024-01-03", "2024-01-04"):
        t.report(db, "--since", "2024-01-01", "--until", until, "-o", csvs, "--no-record")
    check(len([f for f in os.listdir(out) if f.endswith(".csv")]) == 2,
          "CSV files carry their window too: %s" % os.listdir(out))
    # A name without a date is one file, replaced whole, as documented.
    fixed = os.path.join(out, "latest.html")
    for until in ("2024-01-02", "2024-01-04"):
        t.report(db, "--since", "2024-01-01", "--until", until, "-o", fixed, "--no-record")
    check(not os.path.exists(os.path.join(out, "latest-2.html")) and
          "2024-01-04T00:00:00Z;" in (window_of(open(fixed).read()) or ""),
          "-o without a date replaces the file")


def set_server_version(pcap, version):
    """The ServerHello's supported_versions (TLS 1.3) says version instead of 0x0304."""
    done = 0
    for _, _, frame in pcap.packets:
        at = frame.find(b"\x00\x2b\x00\x02\x03\x04", 54)
        if at > 0 and hello_offset(frame) is None:
            frame[at + 4:at + 6] = struct.pack("!H", version)
            fix_checksums(frame)
            done += 1
    check(done == 1, "one ServerHello rewritten to 0x%04x" % version)
    return pcap


def check_drafts(t, samples, work):
    """TLS 1.3 drafts are named in the report, in every format; legacy and export keep the
    value, as FORMAT.md spells it."""
    db = os.path.join(work, "drafts.db")
    pcaps = []
    for i, (v, name) in enumerate(((0x7f17, "TLS 1.3 draft 23"), (0x7f1c, "TLS 1.3 draft 28"),
                                   (0xfb1a, "TLS 1.3 draft 26 (Facebook)"),
                                   (0x7e01, "TLS 1.3 experiment 1 (Chrome)"))):
        pcap = Pcap(os.path.join(samples, "tls13-openssl.pcap"))
        set_address(set_server_version(pcap, v), "10.99.0.2", "10.99.3.%d" % (i + 1))
        pcaps.append(pcap.write(os.path.join(work, "draft-%04x.pcap" % v)))
    t.read(db, *pcaps)
    names = ["TLS 1.3 draft 23", "TLS 1.3 draft 28", "TLS 1.3 draft 26 (Facebook)",
             "TLS 1.3 experiment 1 (Chrome)"]
    for fmt in ("html", "md", "csv"):
        out = t.report(db, "--format", fmt, "--no-record").stdout.decode()
        for name in names:
            check(name in (text_of(out) if fmt == "html" else out),
                  "%s report names %s" % (fmt, name))
        check("0x7f17" not in out and "0xfb1a" not in out, "%s report: no draft as hex" % fmt)
    r, records = tclib.export(t.exe, db)
    check(sorted(x["version"] for x in records) == ["0x7e01", "0x7f17", "0x7f1c", "0xfb1a"],
          "export keeps the hex values: %s" % [x["version"] for x in records])


def trend_svg_ticks(doc, cls):
    m = re.search(r'<figure class="%s">(.*?)</figure>' % cls, section(doc, "trend"), re.S)
    return re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', m.group(1)) if m else []


def check_long_trend(t, samples, work):
    """Over long spans the trend's ticks carry the year and its bars are named for what they
    span: 7 days a week, and past 3.5 years of days 30-day periods, doubled to fit (60 days
    over sixteen years) - never 'day'."""
    src = os.path.join(samples, "tls13-openssl.pcap")
    # 2008 to 2024, 5,700 days (read refuses times in the future)
    for name, span, unit in (("year", (0, 400), "week"),
                             ("decade", (-5700, 0), "60-day period")):
        db = os.path.join(work, "long-%s.db" % name)
        pcaps = [os.path.join(work, "long-%s-%d.pcap" % (name, d)) for d in span]
        for p, d in zip(pcaps, span):
            rewrite(src, p, days=d)
        t.read(db, *pcaps)
        doc = t.report(db, "--no-record").stdout.decode()
        trend = section(doc, "trend")
        note = text_of(trend)
        check(("Connections per %s by negotiated version" % unit) in note,
              "%s: the trend is per %s: %s" % (name, unit, note[:200]))
        check(not re.search(r"\bper day\b|\bA day\b", note + trend),
              "%s: no bar of the trend is called a day" % name)
        check(('aria-label="TLS connections per %s' % unit) in trend, "%s: chart label" % name)
        for cls in ("chart-wide", "chart-narrow"):
            ticks = trend_svg_ticks(doc, cls)
            check(len(ticks) >= 2 and all(re.fullmatch(r"\d{4}-\d\d-\d\d", x) for x in ticks),
                  "%s, %s: every tick has its year: %s" % (name, cls, ticks))
            years = {x[:4] for x in ticks}
            check(len(years) > 1 or cls == "chart-narrow",  # three ticks may share a year
                  "%s, %s: the ticks span years: %s" % (name, cls, years))
        md = t.report(db, "--format", "md", "--no-record").stdout.decode()
        check(("Connections per %s (UTC)" % unit) in md, "%s: Markdown names the bar" % name)
    # A month within one year: MM-DD ticks and the year once, under the axis.
    db = os.path.join(work, "month.db")
    pcaps = [os.path.join(work, "month-%d.pcap" % d) for d in (0, 29)]
    for p, d in zip(pcaps, (0, 29)):
        rewrite(src, p, days=d)
    t.read(db, *pcaps)
    doc = t.report(db, "--no-record").stdout.decode()
    ticks = trend_svg_ticks(doc, "chart-wide")
    check(ticks and all(re.fullmatch(r"\d\d-\d\d", x) for x in ticks) and
          "day (UTC), 2024" in section(doc, "trend"), "a month: MM-DD ticks, the year below: %s"
          % ticks)


def check_demo(t, samples, work):
    """demo.sh's month (issue 11, section 5): scripts/demo_db.py makes six weeks of re-timed
    copies of the samples; two reports a week apart must show legacy clients falling, the
    catalogued services with their cutoffs, first and last seen apart, and real changes.
    Returns the second report's HTML page, for the layout checks."""
    pcap = os.path.join(work, "demo.pcap")
    script = os.path.join(os.path.dirname(os.path.abspath(samples)), "scripts", "demo_db.py")
    r = tclib.run([sys.executable, script, pcap], timeout=120)
    check(r.returncode == 0 and os.path.exists(pcap), "demo_db.py: %s" % r.stderr[-300:])
    if r.returncode != 0:
        return None
    db = os.path.join(work, "demo.db")
    t.read(db, pcap)
    page = os.path.join(work, "demo-report.html")
    for since, until, out in (("2026-01-17", "2026-02-16", "demo-last-week.csv"),
                              ("2026-01-24", "2026-02-23", "demo-report.csv")):
        r = t.report(db, "--since", since, "--until", until, "-o", os.path.join(work, out))
        check(r.returncode == 0, "demo report %s: %s" % (out, r.stderr))
    r = t.report(db, "--since", "2026-01-24", "--until", "2026-02-23", "-o", page, "--no-record")
    rows = csv_blocks(open(os.path.join(work, "demo-report.csv")).read())
    trend = rows.get("trend", [])
    check(len(trend) == 30, "demo: a trend of 30 days: %d" % len(trend))
    legacy_cols = ("TLSv1.0", "TLSv1.1", "no ServerHello")
    per_day = [sum(int(d.get(c, 0) or 0) for c in legacy_cols) for d in trend]
    check(len(per_day) == 30 and sum(per_day[:7]) > 1.5 * sum(per_day[-7:]) > 0,
          "demo: legacy connections fall over the month: %s" % per_day)
    legacy = rows.get("legacy", [])
    services = {(e["service"], e["deadline"]) for e in legacy if e["service"]}
    for want in (("Azure Blob Storage", "failing since 2026-02-03"),
                 ("Azure Files", "failing since 2026-02-03"),
                 ("Azure Resource Manager", "failing now; service cutoff 2025-03-01")):
        check(want in services, "demo: %s with its cutoff: %s" % (want, services))
    check(any(e["service"] == "Azure Blob Storage" and e["attribution"] == "failing"
              for e in legacy), "demo: the Blob Storage client is refused after the cutoff")
    check(sum(e["first_seen"] != e["last_seen"] for e in legacy) == len(legacy) > 5,
          "demo: every entry seen over days, first and last seen apart")
    changes = {(c["change"], c["client_ip"]) for c in rows.get("changes", [])}
    check(("new_legacy", "10.10.0.16") in changes and ("migrated", "10.10.0.14") in changes,
          "demo: changes since last week: %s" % changes)
    return page


def pq_report(t, samples, work):
    """An HTML report under --policy pq (its own sections and tables), of samples/pq and the
    recorded samples, for the layout checks."""
    db = os.path.join(work, "pq.db")
    pq = os.path.join(samples, "pq")
    t.read(db, *sorted(os.path.join(d, f) for d in (samples, pq) for f in os.listdir(d)
                       if f.endswith(".pcap")))
    page = os.path.join(work, "pq-report.html")
    r = t.report(db, "--policy", "pq", "--no-record", "-o", page)
    check(r.returncode == 0 and '<section id="pq">' in open(page).read(),
          "a --policy pq report: %s" % r.stderr)
    return page


def check_hostile(t, samples, work):
    db = os.path.join(work, "hostile.db")
    pcap = os.path.join(work, "hostile.pcap")
    rewrite(os.path.join(samples, "tls10-openssl.pcap"), pcap, sni=HOSTILE_SNI)
    t.read(db, pcap)
    want = t.legacy_json(db)
    check(len(want["entries"]) == 1 and want["entries"][0]["sni"].startswith("=cmd|"),
          "the rewritten capture is read with its hostile SNI: %s" % want["entries"])
    for fmt in ("html", "md", "csv"):
        r = t.report(db, "--format", fmt, "--no-record")
        out = r.stdout
        check(r.returncode == 0, "hostile %s report" % fmt)
        check(b"\x1b" not in out, "%s: no ESC byte" % fmt)
        if fmt != "csv":  # CSV is data: a spreadsheet runs formulas, not markup
            check(b"<script" not in out.lower(), "%s: no raw <script" % fmt)
        try:
            out.decode("utf-8")
        except UnicodeDecodeError:
            check(False, "%s: valid UTF-8" % fmt)
        check(b"\\x1b[31m" in out or b"\\\\x1b" in out, "%s: ESC shown as \\x1b" % fmt)
        check(b"\\xff" in out or b"\\\\xff" in out, "%s: the invalid byte shown as \\xff" % fmt)
        if fmt == "csv":
            rows = csv_blocks(out.decode())
            sni = rows["legacy"][0]["sni"]
            check(sni.startswith("'=cmd|"), "csv: formula neutralised: %r" % sni)
        if fmt == "md":
            rows = [md_cells(l) for l in out.decode().splitlines() if l.startswith("| 10.99")]
            check(len(rows) == 1 and len(rows[0]) == 13,
                  "md: the pipes in the SNI do not split the row: %s" % rows)
            check("\\|" in out.decode() and "\\`x\\`" in out.decode() and "\\[a\\]" in out.decode(),
                  "md: pipe, backtick and link brackets escaped")
        if fmt == "html":
            check(b"&lt;script&gt;alert(1)&lt;/script&gt;" in out, "html: markup escaped")


def chromium_exe():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


# Run inside a copy of the report (the report itself has no script): measures the laid-out
# page and writes what it found into the DOM of the page around it, which --dump-dom prints.
LAYOUT_PROBE = r"""<script>
(function () {
  var out = {width: innerWidth, page: document.documentElement.scrollWidth, fonts: 0,
             minFont: 1e9, broken: [], overflow: [], unreachable: [], cards: 0, charts: []};
  function shown(el) { return el.getClientRects().length > 0; }
  document.querySelectorAll("figure").forEach(function (f) {
    if (shown(f)) out.charts.push(f.className);
  });
  document.querySelectorAll("svg text").forEach(function (t) {
    if (!shown(t)) return;
    var m = t.getScreenCTM(), px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
    out.fonts++;
    out.minFont = Math.min(out.minFont, px);
  });
  // A word split over two lines ("fail" / "ing"): its range has boxes on two lines. Only
  // long tokens (.wrap, .mono: server names, JA4, suite names) may break.
  var walk = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  for (var n; (n = walk.nextNode());) {
    var el = n.parentElement;
    if (el.closest("svg, .wrap, .mono") || !shown(el)) continue;
    var re = /\S+/g, m;
    while ((m = re.exec(n.data))) {
      var r = document.createRange();
      r.setStart(n, m.index);
      r.setEnd(n, m.index + m[0].length);
      var tops = {};
      Array.prototype.forEach.call(r.getClientRects(), function (b) {
        if (b.width > 0) tops[Math.round(b.top)] = 1;
      });
      if (Object.keys(tops).length > 1) out.broken.push(m[0]);
    }
  }
  // Text wider than its cell runs into the next one (headers over each other).
  document.querySelectorAll("th, td").forEach(function (c) {
    if (shown(c) && c.scrollWidth > c.clientWidth + 1)
      out.overflow.push(c.textContent.trim().slice(0, 40));
  });
  // A table wider than the screen must sit in a box that scrolls sideways.
  document.querySelectorAll("table").forEach(function (t) {
    if (!shown(t) || t.getBoundingClientRect().right <= innerWidth + 0.5) return;
    var box = t.parentElement;
    if (!box.classList.contains("scroll") || getComputedStyle(box).overflowX !== "auto" ||
        box.getBoundingClientRect().right > innerWidth + 0.5)
      out.unreachable.push(t.textContent.trim().slice(0, 40));
  });
  document.querySelectorAll("table.stack tr").forEach(function (tr) {
    if (getComputedStyle(tr).display === "block" && tr.querySelector("td")) out.cards++;
  });
  var top = parent.document, pre = top.createElement("pre");
  pre.id = "layout-probe";
  pre.textContent = JSON.stringify(out);
  top.body.appendChild(pre);
})();
</script>
"""


def chromium_exe():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def png_size(path):
    png = open(path, "rb").read(24) if os.path.exists(path) else b""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        return None
    return struct.unpack("!II", png[16:24])


def framed(doc, path, width, height):
    """A page that shows doc in a width x height frame: headless Chromium lays a window out at
    least 500 px wide, a frame as wide as it is told. srcdoc keeps the frame's origin, so a
    script in it may write into the page."""
    with open(path, "w", encoding="utf-8") as f:
        f.write('<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0}'
                'iframe{border:0;display:block}</style></head><body><iframe width="%d" '
                'height="%d" srcdoc="%s"></iframe></body></html>'
                % (width, height, html.escape(doc, quote=True)))
    return "file://" + os.path.abspath(path)


def check_layout(run_chromium, page, work, width, height):
    """The report laid out at width x height: no word broken, no text over its cell, no table
    out of reach, no page wider than the screen, chart text at least 11 px."""
    doc = open(page, encoding="utf-8").read().replace("</body>", LAYOUT_PROBE + "</body>")
    url = framed(doc, os.path.join(work, "probe-%d.html" % width), width, height)
    r = run_chromium(["--window-size=%d,%d" % (max(width, 500), height), "--dump-dom", url])
    m = re.search(r'<pre id="layout-probe">(.*?)</pre>', r.stdout.decode(errors="replace"))
    check(m is not None, "layout probe at %d px ran: %s" % (width, r.stderr[-300:]))
    if not m:
        return None
    got = json.loads(html.unescape(m.group(1)))
    what = "at %d px: " % width
    check(got["width"] == width, what + "the page is laid out %s px wide" % got["width"])
    check(got["page"] <= width, what + "the page is %s px wide, no wider than the screen"
          % got["page"])
    check(not got["broken"], what + "no word broken over two lines: %s" % got["broken"][:10])
    check(not got["overflow"], what + "no text wider than its cell: %s" % got["overflow"][:10])
    check(not got["unreachable"], what + "every wide table scrolls: %s" % got["unreachable"])
    check(got["fonts"] > 10 and got["minFont"] >= 11,
          what + "chart text at least 11 px: %d texts, smallest %.1f px"
          % (got["fonts"], got["minFont"]))
    return got


def check_chromium(page, work, phone_page=None, pq_page=None):
    exe = chromium_exe()
    if not exe:
        print("report_test: chromium is not installed: skipping the headless rendering "
              "(apt-get install -y chromium)")
        return False
    profile = tempfile.mkdtemp(dir=work)
    base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--user-data-dir=" + profile]
    url = "file://" + os.path.abspath(page)
    r = run(base + ["--dump-dom", url], timeout=120)
    dom = r.stdout.decode(errors="replace")
    check(r.returncode == 0 and "</html>" in dom, "chromium --dump-dom: %s %s"
          % (r.returncode, r.stderr[-500:]))
    for sid in ("summary", "legacy", "trend", "changes", "coverage"):
        check('id="%s"' % sid in dom, "rendered DOM has section " + sid)
    check(re.search(r"<svg[^>]*>.*<rect.*</svg>", dom, re.S) is not None, "rendered DOM has the chart")
    check("<script" not in dom, "rendered DOM has no script")
    shot = os.path.join(work, "report.png")
    r = run(base + ["--hide-scrollbars", "--screenshot=" + shot, "--window-size=1280,2000", url],
            timeout=120)
    ok = os.path.exists(shot) and os.path.getsize(shot) > 20000
    check(ok and png_size(shot) == (1280, 2000),
          "chromium screenshot: a 1280x2000 PNG of some substance (%s, %s)"
          % (r.returncode, r.stderr[-300:]))

    # Issue 11, section 5: on a phone the report broke words ("fail ing"), ran headers into
    # each other, cut tables off and drew chart text 4 px high.
    chromium = lambda args: run(base + args, timeout=120)
    phone_page = phone_page or page
    desk = check_layout(chromium, phone_page, work, 1280, 2000)
    if desk:
        check(desk["charts"] == ["chart-wide"], "desktop: the wide chart only: %s" % desk["charts"])
        check(desk["cards"] == 0, "desktop: the entries are a table")
    phone = check_layout(chromium, phone_page, work, 390, 844)
    if phone:
        check(phone["charts"] == ["chart-narrow"], "phone: the narrow chart only: %s"
              % phone["charts"])
        check(phone["cards"] > 3, "phone: the entries are cards: %d" % phone["cards"])
    # The post-quantum section's tables (per client, per day) on the phone too.
    if pq_page:
        check_layout(chromium, pq_page, work, 390, 844)
    # The window is at least 500 px wide; the screenshot is its left 390 px: the frame.
    shot = os.path.join(work, "phone.png")
    url = framed(open(phone_page, encoding="utf-8").read(), os.path.join(work, "phone.html"),
                 390, 844)
    r = run(base + ["--hide-scrollbars", "--screenshot=" + shot, "--window-size=390,844", url],
            timeout=120)
    check(png_size(shot) == (390, 844) and os.path.getsize(shot) > 10000,
          "chromium screenshot at 390x844 (%s, %s)" % (r.returncode, r.stderr[-300:]))
    return True


def main():
    exe, samples = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="report_test.")
    try:
        t = Tool(exe, work)
        db = os.path.join(work, "samples.db")
        t.read(db, *sorted(os.path.join(samples, f) for f in os.listdir(samples)
                           if f.endswith(".pcap")))
        want = check_agrees_with_legacy(t, db)
        page = os.path.join(work, "report.html")
        check_html_and_md(t, db, want, page)
        check_fail_on_legacy(t, samples, work)
        check_output_and_errors(t, db, work)
        check_since_last(t, samples, work)
        check_dated_reports(t, samples, work)
        check_drafts(t, samples, work)
        check_long_trend(t, samples, work)
        check_hostile(t, samples, work)
        demo = check_demo(t, samples, work)
        check_chromium(page, work, demo, pq_report(t, samples, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(checks.summary())


if __name__ == "__main__":
    main()
