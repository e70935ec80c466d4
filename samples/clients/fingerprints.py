#!/usr/bin/env python3
"""fingerprints.py: turns the client captures (samples/clients/*.pcap, described by manifest.tsv)
into the rows of data/fingerprints.tsv: one row per distinct (JA4, JA3), naming every stack that
sends that ClientHello. The fingerprints come from the built tlscensus (read, then export), so the
file says what the program itself computes; it does not record anything or touch the network.

usage: samples/clients/fingerprints.py [--write | --check] [TLSCENSUS]
  (neither)  print the file that --write would write
  --write    rewrite data/fingerprints.tsv: the header, the comment block and the rows made here;
             every other row (one whose note cites no samples/clients capture) is kept, after them
  --check    exit 1 if data/fingerprints.tsv lacks any row made here, or has one that differs
  TLSCENSUS  the binary to use (default: build/src/tlscensus)
"""
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap

CLIENTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(CLIENTS))
DATA = os.path.join(ROOT, "data", "fingerprints.tsv")
HEADER = ["ja4", "ja3", "software", "note"]
# A row made here cites its captures as [samples/clients/NAME.pcap]; this is how --write tells
# its own rows from the ones people add by hand.
CITE = re.compile(r"\[samples/clients/[^\]\t]+\.pcap\]")


def die(msg):
    print("fingerprints.py: " + msg, file=sys.stderr)
    sys.exit(1)


def read_manifest():
    path = os.path.join(CLIENTS, "manifest.tsv")
    if not os.path.exists(path):
        die("%s is missing: record the captures first (sudo samples/clients/record.sh)" % path)
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def fingerprint(tc, pcap, tmp):
    """(ja4, ja3) of the one ClientHello in pcap, as tlscensus exports it."""
    db = os.path.join(tmp, os.path.basename(pcap) + ".db")
    r = subprocess.run([tc, "read", "--quiet", "--db", db, pcap], capture_output=True, text=True)
    if r.returncode != 0:
        die("%s: tlscensus read exit %d: %s" % (pcap, r.returncode, r.stderr.strip()))
    r = subprocess.run([tc, "export", "--db", db, "--format", "ndjson"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        die("%s: tlscensus export exit %d: %s" % (pcap, r.returncode, r.stderr.strip()))
    recs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    if len(recs) != 1 or not recs[0].get("ja4") or not recs[0].get("ja3"):
        die("%s: expected one connection with JA4 and JA3, tlscensus exported %d"
            % (pcap, len(recs)))
    return recs[0]["ja4"], recs[0]["ja3"]


def made_rows(tc, manifest):
    """Rows in manifest order, stacks with the same fingerprint merged into one."""
    groups = {}
    with tempfile.TemporaryDirectory() as tmp:
        for m in manifest:
            key = fingerprint(tc, os.path.join(CLIENTS, m["file"]), tmp)
            groups.setdefault(key, []).append(m)
    rows = []
    for (ja4, ja3), members in groups.items():
        software = []
        for m in members:
            if m["software"] not in software:
                software.append(m["software"])
        note = "; ".join("%s [samples/clients/%s]" % (m["setting"], m["file"]) for m in members)
        # The distinctive part first: reports cut this column short.
        rows.append([ja4, ja3, " / ".join(software) + ", Debian 12", note])
    return rows


def comments(manifest):
    packages = []
    for m in manifest:
        for p in m["packages"].split(", "):
            if p not in packages:
                packages.append(p)
    text = [
        "ClientHello fingerprints of known TLS client software, one row per distinct (ja4, ja3);"
        " stacks that send the same ClientHello share a row, joined by /. Columns, tab-separated:"
        " ja4, ja3 (MD5 hex), software, note.",
        "Rows whose note cites [samples/clients/NAME.pcap] come from real handshakes that"
        " samples/clients/record.sh recorded in network namespaces on Debian 12, fingerprinted by"
        " tlscensus read + export; samples/clients/fingerprints.py --write remakes them and keeps"
        " every other row. Debian packages then: "
        + ", ".join(sorted(packages)) + ".",
        "Add your own rows below in the same four columns (note: where and how the client was"
        " seen); lines starting with # are comments.",
    ]
    lines = []
    for para in text:
        lines += textwrap.wrap(para, width=94, break_on_hyphens=False) + [""]
    return [("# " + line).rstrip() for line in lines[:-1]]


def read_data():
    """(rows made here, other rows) of the current data/fingerprints.tsv."""
    mine, others = [], []
    if not os.path.exists(DATA):
        return mine, others
    with open(DATA, newline="") as f:
        for line in f.read().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if fields == HEADER:
                continue
            (mine if len(fields) >= 4 and CITE.search(fields[3]) else others).append(fields)
    return mine, others


def main(argv):
    mode = argv[0] if argv and argv[0] in ("--write", "--check") else None
    rest = argv[1:] if mode else argv
    if len(rest) > 1 or (rest and rest[0].startswith("-")):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    tc = rest[0] if rest else os.path.join(ROOT, "build", "src", "tlscensus")
    if not os.access(tc, os.X_OK):
        die("%s is not there: build it first (ninja -C build)" % tc)
    manifest = read_manifest()
    rows = made_rows(tc, manifest)
    if mode == "--check":
        mine, _ = read_data()
        if sorted(mine) != sorted(rows):
            want = {tuple(r) for r in rows}
            have = {tuple(r) for r in mine}
            for r in sorted(want - have):
                print("missing: " + "\t".join(r), file=sys.stderr)
            for r in sorted(have - want):
                print("stale:   " + "\t".join(r), file=sys.stderr)
            die("%s differs from the captures; run %s --write" % (DATA, sys.argv[0]))
        print("fingerprints.py: %s matches the %d captures" % (DATA, len(manifest)),
              file=sys.stderr)
        return 0
    _, others = read_data()
    # The header comes first: the loader (hints_parse in src/catalog.c) knows it only as line 1.
    lines = ["\t".join(HEADER)] + comments(manifest) + ["\t".join(r) for r in rows + others]
    text = "\n".join(lines) + "\n"
    if mode != "--write":
        sys.stdout.write(text)
        return 0
    os.makedirs(os.path.dirname(DATA), exist_ok=True)
    with open(DATA + ".tmp", "w") as f:
        f.write(text)
    os.replace(DATA + ".tmp", DATA)
    print("fingerprints.py: wrote %d rows from %d captures (%d other rows kept) to %s"
          % (len(rows), len(manifest), len(others), DATA), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
