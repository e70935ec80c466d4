#!/usr/bin/env python3
"""QUIC on the project's own captures (samples/quic/, recorded by samples/quic/record.sh between
Debian's ngtcp2 client and server): every connection's record against samples/quic/expected.tsv
(whose ClientHello facts tshark confirmed where it reads the version; the alert of a handshake
refused in an Initial's CONNECTION_CLOSE), one flow per connection, QUIC records absent from the
legacy listing (TLS 1.3 everywhere), and rewrites of
quic-v1.pcap: only its short-header datagrams plus DNS open no flow; a changed byte in the
client's Initial, or the Initial cut short, gives no record and no error; quic-large.pcap (a
ClientHello over two Initials) with those Initials swapped or repeated gives the same record. Then the report's
transport split over the TLS samples and these together, in CSV, Markdown and HTML, and the
legacy listing under a policy that calls their suite legacy.

usage: quic_samples_test.py TLSCENSUS SAMPLES_DIR
"""
import csv
import json
import os
import re
import struct
import sys
import tempfile

from tclib import Checks, Pcap, checksum, export, run, write_pcap

checks = Checks("quic_samples")
check = checks.check

SUMMARY = re.compile(r"(\d+) flows, (\d+) TLS connections recorded \((\d+) truncated, (\d+) malformed\)")


def norm(v):
    return None if v in ("-", "") else v


def read(tc, db, pcap):
    """Reads pcap into db; returns (flows, records, truncated, malformed), or None."""
    r = run([tc, "read", "--db", db, pcap], timeout=60)
    check(r.returncode == 0, "read %s: exit %s: %s" % (os.path.basename(pcap), r.returncode, r.stderr))
    m = SUMMARY.search(r.stderr)
    check(m is not None, "read %s: no summary line in %r" % (os.path.basename(pcap), r.stderr))
    return tuple(int(x) for x in m.groups()) if m else None


def check_file(tc, tmp, quic, name, rows):
    db = os.path.join(tmp, name + ".db")
    got = read(tc, db, os.path.join(quic, name))
    check(got == (len(rows), len(rows), 0, 0),
          "%s: flows/records/truncated/malformed %s, expected %d connections, all whole"
          % (name, got, len(rows)))
    out, recs = export(tc, db)
    check(out.returncode == 0, "%s: export exit %s" % (name, out.returncode))
    if not check(len(recs) == len(rows), "%s: %d records, expected %d" % (name, len(recs), len(rows))):
        return
    for rec, row in zip(recs, rows):
        want = {
            "transport": "udp",
            "client_ip": row["client_ip"],
            "server_ip": row["server_ip"],
            "server_port": int(row["server_port"]),
            "sni": row["sni"],
            "alpn": [row["alpn"]],
            "client_max_version": "TLSv1.3",
            "version": norm(row["version"]),
            "cipher": norm(row["cipher"]),
            "ja3": row["ja3"],
            "alert": norm(row["alert"]),
            "quic_version": row["quic_version"],
            "parse_status": "ok",
        }
        for key, value in want.items():
            check(rec.get(key) == value, "%s: %s is %r, expected %r" % (name, key, rec.get(key), value))
        check(str(rec.get("ja4", "")).startswith("q13d"),
              "%s: ja4 %r is not a QUIC (q) TLS 1.3 fingerprint" % (name, rec.get("ja4")))
        check(bool(rec.get("ja3s")) == bool(norm(row["version"])), "%s: ja3s %r" % (name, rec.get("ja3s")))
        # quic_version comes right after the keys 0.2 wrote (ja4 was its last)
        keys = list(rec)
        check("quic_version" in keys and keys[keys.index("ja4") + 1] == "quic_version",
              "%s: quic_version does not follow ja4: %r" % (name, keys[-12:]))
    r = run([tc, "legacy", "--db", db, "--format", "json"])
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    check(doc.get("entries") == [] and doc.get("unknown", {}).get("total") == 0,
          "%s: legacy listing %r, expected nothing legacy and nothing unjudged" % (name, r.stdout[:300]))


# ---------------------------------------------------------------- rewritten captures


def udp4(frame):
    """(UDP payload offset, payload) of an Ethernet/IPv4/UDP frame, else None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    at = 14 + (frame[14] & 15) * 4 + 8
    return at, bytes(frame[at:])


def with_payload(frame, payload):
    """The Ethernet/IPv4/UDP frame with another payload; lengths and IPv4 checksum redone,
    UDP checksum zero (none, RFC 768)."""
    ihl = (frame[14] & 15) * 4
    f = bytearray(frame[:14 + ihl + 8]) + payload
    struct.pack_into("!H", f, 16, ihl + 8 + len(payload))
    struct.pack_into("!H", f, 24, 0)
    struct.pack_into("!H", f, 24, checksum(bytes(f[14:14 + ihl])))
    struct.pack_into("!HH", f, 14 + ihl + 4, 8 + len(payload), 0)
    return f


def dns_query(template, qid):
    """A DNS query for quic.example.test (RFC 1035 4.1) to port 53, from a sample's frame."""
    name = b"".join(bytes([len(p)]) + p for p in b"quic.example.test".split(b".")) + b"\0"
    f = with_payload(template, struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + name + b"\0\1\0\1")
    ihl = (f[14] & 15) * 4
    struct.pack_into("!H", f, 14 + ihl + 2, 53)
    return f


def check_reordered(tc, tmp, quic):
    """quic-large's ClientHello spans two Initials in two datagrams: the second one first (as
    a reordering path delivers them), or each sent twice, gives the same record."""
    src = Pcap(os.path.join(quic, "quic-large.pcap"))
    want = export(tc, read_db(tc, tmp, "large", os.path.join(quic, "quic-large.pcap")))[1]
    # The client's Initials (long header, v1 Initial type); past the first two, they are
    # retransmissions, left out so that the hello must come from the two.
    initials = [i for i, p in enumerate(src.packets) if udp4(p[2])
                and p[2][26:30] == src.packets[0][2][26:30] and udp4(p[2])[1][0] & 0xf0 == 0xc0]
    check(len(initials) >= 2, "quic-large.pcap holds %d client Initials" % len(initials))
    first, second = initials[0], initials[1]
    kept = [p for i, p in enumerate(src.packets) if i not in initials[2:]]
    swapped = list(kept)
    swapped[first], swapped[second] = swapped[second], swapped[first]
    doubled = list(kept)
    doubled.insert(second + 1, kept[first])
    doubled.insert(first, kept[second])
    for label, pkts in (("swapped", swapped), ("doubled", doubled)):
        path = write_pcap(os.path.join(tmp, label + ".pcap"), src.header, pkts)
        got = export(tc, read_db(tc, tmp, label, path))[1]
        keys = ("sni", "ciphers", "alpn", "ja3", "ja4", "version", "cipher", "ja3s", "parse_status",
                "quic_version")
        check(len(got) == 1 and len(want) == 1 and
              all(got[0].get(k) == want[0].get(k) for k in keys),
              "quic-large with its Initials %s: %s, expected %s" % (label, got, want))


def read_db(tc, tmp, name, pcap):
    db = os.path.join(tmp, name + ".db")
    read(tc, db, pcap)
    return db


def check_rewrites(tc, tmp, quic):
    src = Pcap(os.path.join(quic, "quic-v1.pcap"))
    frames = [p for p in src.packets if udp4(p[2])]
    first = frames[0][2]
    # Short headers only (every 1-RTT datagram of the connection), and DNS queries whose ID
    # makes the first byte look like a long header with the fixed bit, or not.
    short = [p for p in frames if not udp4(p[2])[1][0] & 0x80]
    check(len(short) >= 3, "quic-v1.pcap holds %d short-header datagrams" % len(short))
    dns = [[frames[0][0], frames[0][1], dns_query(first, qid)] for qid in (0xc3c3, 0x1234, 0xffff)]
    path = write_pcap(os.path.join(tmp, "noflow.pcap"), src.header, dns + short)
    got = read(tc, os.path.join(tmp, "noflow.db"), path)
    check(got is not None and got[0] == 0 and got[1] == 0,
          "short headers and DNS opened flows or records: %s" % (got,))

    # The client's Initial with one ciphertext byte changed: it does not authenticate, so no
    # hello, and the server's Initial cannot be opened without the client's: no record.
    at, payload = udp4(first)
    bad = bytearray(payload)
    bad[300] ^= 0x40
    pkts = [[frames[0][0], frames[0][1], with_payload(first, bytes(bad))]] + frames[1:]
    path = write_pcap(os.path.join(tmp, "forged.pcap"), src.header, pkts)
    got = read(tc, os.path.join(tmp, "forged.db"), path)
    check(got is not None and got[1] == 0, "a forged Initial gave a record: %s" % (got,))

    # Cut: the Initial alone, shortened at several points (as a short snap length would).
    for cut in (1, 7, 20, 40, 200, len(payload) - 17, len(payload) - 1):
        pkts = [[frames[0][0], frames[0][1], with_payload(first, payload[:cut])]]
        path = write_pcap(os.path.join(tmp, "cut.pcap"), src.header, pkts)
        got = read(tc, os.path.join(tmp, "cut%d.db" % cut), path)
        check(got is not None and got[1] == 0, "an Initial cut at %d gave a record: %s" % (cut, got))


def check_report(tc, tmp, samples, quic_rows):
    """The summary's transport split: TCP rows are samples/expected.tsv's, QUIC ones ours."""
    with open(os.path.join(samples, "expected.tsv"), newline="") as f:
        tcp_rows = len(list(csv.DictReader(f, delimiter="\t")))
    db = os.path.join(tmp, "all.db")
    pcaps = sorted(os.path.join(samples, n) for n in os.listdir(samples) if n.endswith(".pcap"))
    pcaps += sorted(os.path.join(samples, "quic", n)
                    for n in os.listdir(os.path.join(samples, "quic")) if n.endswith(".pcap"))
    r = run([tc, "read", "--quiet", "--db", db] + pcaps, timeout=120)
    check(r.returncode == 0, "read of all samples: exit %s %s" % (r.returncode, r.stderr))
    r = run([tc, "report", "--db", db, "--format", "csv"])
    rows = dict(tuple(line.split(",")[1:3]) for line in r.stdout.splitlines()
                if line.startswith("summary,"))
    for key, want in (("tcp_connections", tcp_rows), ("dtls_connections", 0),
                      ("quic_connections", quic_rows), ("connections", tcp_rows + quic_rows)):
        check(rows.get(key) == str(want), "report csv %s %r, expected %d" % (key, rows.get(key), want))
    split = "By transport: %d over TCP, 0 DTLS, %d QUIC." % (tcp_rows, quic_rows)
    for fmt in ("md", "html"):
        r = run([tc, "report", "--db", db, "--format", fmt])
        check(split in r.stdout, "report %s has no %r" % (fmt, split))


def check_legacy_listing(tc, tmp, quic, table):
    """QUIC connections go through the legacy room like any other: under a policy that calls
    their suite legacy, every one is listed, by SNI, with its QUIC JA4."""
    db = os.path.join(tmp, "quic.db")
    pcaps = sorted(os.path.join(quic, n) for n in os.listdir(quic) if n.endswith(".pcap"))
    r = run([tc, "read", "--quiet", "--db", db] + pcaps, timeout=60)
    check(r.returncode == 0, "read of samples/quic: exit %s" % r.returncode)
    policy = os.path.join(tmp, "aes128.policy")
    with open(policy, "w") as f:
        f.write("name aes128\ndescription test: TLS_AES_128_GCM_SHA256 is legacy\ndeny-cipher 0x1301\n")
    r = run([tc, "legacy", "--db", db, "--policy", policy, "--format", "json"])
    entries = json.loads(r.stdout)["entries"] if r.returncode == 0 else []
    conns = {}
    for row in table:
        if row["cipher"] == "0x1301":  # a connection without a ServerHello has no suite to deny
            conns[row["sni"]] = conns.get(row["sni"], 0) + 1
    got = {e["sni"]: e["connections"] for e in entries}
    check(got == conns, "legacy entries %s, expected %s" % (got, conns))
    check(all(str(e.get("ja4", "")).startswith("q") for e in entries), "legacy JA4 not QUIC's")


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    quic = os.path.join(samples, "quic")
    with open(os.path.join(quic, "expected.tsv"), newline="") as f:
        table = list(csv.DictReader(f, delimiter="\t"))
    files = {}
    for row in table:
        files.setdefault(row["file"], []).append(row)
    pcaps = sorted(n for n in os.listdir(quic) if n.endswith(".pcap"))
    check(sorted(files) == pcaps, "expected.tsv lists %s, samples/quic holds %s" % (sorted(files), pcaps))
    with tempfile.TemporaryDirectory() as tmp:
        for name, rows in sorted(files.items()):
            check_file(tc, tmp, quic, name, rows)
        check_rewrites(tc, tmp, quic)
        check_reordered(tc, tmp, quic)
        check_report(tc, tmp, samples, len(table))
        check_legacy_listing(tc, tmp, quic, table)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
