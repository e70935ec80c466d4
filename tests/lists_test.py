#!/usr/bin/env python3
"""Whole lists: a ClientHello's lists reach the database as long as the hello holds them.

ClientHellos built from bytes with 16, 20, 30 and 80 ALPN names of 60 bytes (0.2 kept 2 to 8
of them), 3000 cipher suites, 300 extensions, 400 groups and signature algorithms and 200 key
shares, each over several TCP segments: every entry is stored, in wire order, `ch_trunc` is 0,
JA3 and JA4 are computed, and the export lists every ALPN name.

usage: lists_test.py TLSCENSUS
"""
import json
import os
import sqlite3
import struct
import sys
import tempfile

from tclib import TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, Checks, export, run, tcp_frame, write_pcap

checks = Checks("lists")
check = checks.check
CLI, SRV = "10.96.0.1", "10.96.0.2"


def u16(v):
    return struct.pack("!H", v)


def vec(prefix, body):
    return len(body).to_bytes(prefix, "big") + body


def ext(typ, body):
    return u16(typ) + vec(2, body)


def client_hello(n_alpn):
    """A ClientHello record (over as many records as it needs) and its expected lists."""
    alpn = [("proto-%02d-" % k + "x" * 60)[:60].encode() for k in range(n_alpn)]
    ciphers = [0xc100 + i for i in range(3000)]
    groups = [0x0100 + i for i in range(400)]
    sigalgs = [0x0400 + i for i in range(400)]
    shares = [0x0200 + i for i in range(200)]
    exts = [ext(0, vec(2, b"\x00" + vec(2, b"lists.example.test"))),
            ext(16, vec(2, b"".join(vec(1, a) for a in alpn))),
            ext(10, vec(2, b"".join(u16(g) for g in groups))),
            ext(13, vec(2, b"".join(u16(s) for s in sigalgs))),
            ext(43, vec(1, u16(0x0304) + u16(0x0303))),
            ext(51, vec(2, b"".join(u16(g) + vec(2, b"\x01") for g in shares)))]
    exts += [ext(0xfe00 - i, b"") for i in range(294)]
    body = (u16(0x0303) + bytes(32) + vec(1, b"") + vec(2, b"".join(u16(c) for c in ciphers)) +
            vec(1, b"\x00") + vec(2, b"".join(exts)))
    msg = b"\x01" + vec(3, body)
    records = b"".join(b"\x16\x03\x01" + vec(2, msg[i:i + 16384])
                       for i in range(0, len(msg), 16384))
    want = {"alpn": [a.decode() for a in alpn], "ciphers": ciphers, "groups": groups,
            "sig_algs": sigalgs, "key_shares": shares, "ext_n": len(exts)}
    return records, want


def connection(sport, records, t0):
    frames, c, s = [], 1000, 90000
    frames.append(tcp_frame(CLI, SRV, sport, 443, c, 0, TCP_SYN))
    frames.append(tcp_frame(SRV, CLI, 443, sport, s, c + 1, TCP_SYN | TCP_ACK))
    seq = c + 1
    for i in range(0, len(records), 1400):
        frames.append(tcp_frame(CLI, SRV, sport, 443, seq, s + 1, TCP_ACK | TCP_PSH,
                                records[i:i + 1400]))
        seq += len(records[i:i + 1400])
    frames.append(tcp_frame(CLI, SRV, sport, 443, seq, s + 1, TCP_ACK | TCP_FIN))
    frames.append(tcp_frame(SRV, CLI, 443, sport, s + 1, seq + 1, TCP_ACK | TCP_FIN))
    return [(t0, i * 1000, f) for i, f in enumerate(frames)]


def main():
    tc = sys.argv[1]
    cases = (16, 20, 30, 80)
    with tempfile.TemporaryDirectory() as tmp:
        packets, wants = [], {}
        for i, n in enumerate(cases):
            records, want = client_hello(n)
            packets += connection(41000 + i, records, 1700000000 + i)
            wants[41000 + i] = want
        pcap = write_pcap(os.path.join(tmp, "lists.pcap"), bytes.fromhex(
            "d4c3b2a1020004000000000000000000ffff000001000000"), packets)
        db = os.path.join(tmp, "lists.db")
        r = run([tc, "read", "--quiet", "--db", db, pcap], timeout=60)
        check(r.returncode == 0, "read: exit %s: %s" % (r.returncode, r.stderr))
        con = sqlite3.connect(db)
        rows = con.execute("SELECT client_port, alpn, ciphers, groups, sig_algs, key_shares, "
                           "extensions, ch_trunc, parse_status, ja3, ja4 FROM connections"
                           ).fetchall()
        con.close()
        check(len(rows) == len(cases), "%d rows for %d hellos" % (len(rows), len(cases)))
        for port, alpn, ciphers, groups, sigalgs, shares, exts, trunc, status, ja3, ja4 in rows:
            w = wants[port]
            n = len(w["alpn"])
            check(status == "ok" and trunc == 0 and ja3 and ja4,
                  "%d names: status %s, ch_trunc %s, ja3 %s, ja4 %s" % (n, status, trunc, ja3,
                                                                       ja4))
            check(json.loads(alpn) == w["alpn"], "%d names: %d stored" % (
                n, len(json.loads(alpn or "[]"))))
            for name, got in (("ciphers", ciphers), ("groups", groups), ("sig_algs", sigalgs),
                              ("key_shares", shares)):
                check(json.loads(got) == w[name], "%d names: %s: %d of %d stored" % (
                    n, name, len(json.loads(got or "[]")), len(w[name])))
            check(len(json.loads(exts)) == w["ext_n"], "%d names: %d of %d extensions" % (
                n, len(json.loads(exts or "[]")), w["ext_n"]))
        _, recs = export(tc, db)
        check(sorted(len(x["alpn"]) for x in recs) == list(cases),
              "export alpn lengths %s" % sorted(len(x["alpn"] or []) for x in recs))
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
