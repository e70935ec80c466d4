#!/usr/bin/env python3
"""Impaired traffic: late retransmissions and duplicates never invent a connection.

- samples/impaired/lossy.pcap (recorded by samples/impaired/record.sh: short connections over
  a path that delays with jitter, loses and duplicates 3 % both ways): one record per
  connection the client made (samples/impaired/connections.tsv), by 5-tuple, each with the
  SNI the client sent and status ok, and no record the client did not make.
- a ClientHello whose second segment the capture lost (tls12-split-clienthello.pcap without
  it): recorded truncated, with no JA3, JA3 string or JA4 (a partial offer is not the client's
  fingerprint), and the whole one keeps all three.
- built from a sample's bytes: a ClientHello over two segments, then after FIN (and after RST)
  late copies of both segments, of the server's hello and of the SYN: still one record. A new
  SYN on the same ports with a new sequence number is a new connection: two records.

usage: impaired_test.py TLSCENSUS SAMPLES_DIR
"""
import os
import sqlite3
import sys
import tempfile

from tclib import (TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, Checks, Pcap, client_hello, ipv4_tcp, run,
                   streams, tcp_frame, write_pcap)

checks = Checks("impaired")
check = checks.check
CLI, SRV = "10.97.1.1", "10.97.1.2"


def recording(tc, samples, tmp):
    here = os.path.join(samples, "impaired")
    db = os.path.join(tmp, "lossy.db")
    r = run([tc, "read", "--quiet", "--db", db, os.path.join(here, "lossy.pcap")], timeout=60)
    if not check(r.returncode == 0, "read lossy.pcap: exit %s: %s" % (r.returncode, r.stderr)):
        return
    rows = connections(db)
    made = {}
    for line in open(os.path.join(here, "connections.tsv")).read().splitlines()[1:]:
        port, status, sni = line.split("\t")
        made[int(port)] = (status, sni)
    seen = {}
    for row in rows:
        seen.setdefault(row["client_port"], []).append(row)
    invented = sorted(set(seen) - set(made))
    check(not invented, "records for connections the client never made: ports %s" % invented)
    twice = sorted(p for p, rs in seen.items() if len(rs) > 1)
    check(not twice, "connections recorded more than once: ports %s" % twice)
    for port, (status, sni) in sorted(made.items()):
        rs = seen.get(port, [])
        if status != "ok":
            check(len(rs) <= 1, "port %d: a failed connection recorded %d times" % (port, len(rs)))
            continue
        if not check(len(rs) == 1, "port %d: %d records for one connection" % (port, len(rs))):
            continue
        check(rs[0]["parse_status"] == "ok" and rs[0]["sni"] == sni,
              "port %d: %s, sni %r (expected ok, %r)" % (port, rs[0]["parse_status"],
                                                         rs[0]["sni"], sni))
    check(len(rows) == sum(1 for s, _ in made.values() if s == "ok"),
          "%d records for %d connections" % (len(rows), len(made)))


def connections(db):
    """Every connection row (the export leaves out those without a hello, as a late copy's
    midstream record would be)."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute(
        "SELECT client_port, parse_status, sni FROM connections ORDER BY first_ts")]
    con.close()
    return rows


class Conn:
    """One built TCP connection: frames from the client's and the server's stream."""

    def __init__(self, sport, isn_c, isn_s, client, server):
        self.sport, self.c, self.s = sport, isn_c, isn_s
        self.client, self.server = client, server
        self.frames = []
        self.t = 0

    def add(self, from_client, seq, ack, flags, payload=b""):
        self.t += 1000
        if from_client:
            f = tcp_frame(CLI, SRV, self.sport, 443, seq, ack, flags, payload)
        else:
            f = tcp_frame(SRV, CLI, 443, self.sport, seq, ack, flags, payload)
        self.frames.append((self.t, f))
        return f

    def handshake(self, close):
        """SYN, SYN-ACK, the ClientHello in two segments, the server's bytes, then close
        ('fin' or 'rst'). Returns the frames a late copy may repeat."""
        c, s, ch, sv = self.c, self.s, self.client, self.server
        syn = self.add(1, c, 0, TCP_SYN)
        self.add(0, s, c + 1, TCP_SYN | TCP_ACK)
        self.add(1, c + 1, s + 1, TCP_ACK)
        half = len(ch) // 2
        seg1 = self.add(1, c + 1, s + 1, TCP_ACK | TCP_PSH, ch[:half])
        seg2 = self.add(1, c + 1 + half, s + 1, TCP_ACK | TCP_PSH, ch[half:])
        srv = self.add(0, s + 1, c + 1 + len(ch), TCP_ACK | TCP_PSH, sv)
        end_c, end_s = c + 1 + len(ch), s + 1 + len(sv)
        if close == "fin":
            self.add(1, end_c, end_s, TCP_ACK | TCP_FIN)
            self.add(0, end_s, end_c + 1, TCP_ACK | TCP_FIN)
            self.add(1, end_c + 1, end_s + 1, TCP_ACK)
        else:
            self.add(0, end_s, end_c, TCP_RST | TCP_ACK)
        return syn, seg1, seg2, srv


def built(tc, samples, tmp):
    client, server = streams(Pcap(os.path.join(samples, "tls13-openssl.pcap")))
    client, server = client[:client.index(b"\x14\x03\x03")], server  # the ClientHello record
    frames = []
    cases = {}
    for i, close in enumerate(("fin", "rst")):
        conn = Conn(40000 + i, 1000 + i * 7919, 5000000 + i, client, server)
        syn, seg1, seg2, srv = conn.handshake(close)
        for late in (seg2, seg1, srv, syn, seg1, seg2):  # a second, later, out-of-order copy
            conn.frames.append((conn.t + 500000, late))
            conn.t += 500000
        frames += [(i * 10 + 1, t, f) for t, f in conn.frames]
        cases[40000 + i] = (1, "late copies after %s" % close.upper())
    # Port reuse: the same ports, a new SYN with a sequence number far from the old one.
    conn = Conn(40010, 77777, 9000000, client, server)
    conn.handshake("fin")
    conn.t += 2000000
    conn.c, conn.s = 77777 + 300000000, 9000000 + 123456789
    conn.handshake("fin")
    frames += [(30, t, f) for t, f in conn.frames]
    cases[40010] = (2, "port reused by a new SYN")
    pcap = write_pcap(os.path.join(tmp, "late.pcap"), bytes.fromhex(
        "d4c3b2a1020004000000000000000000ffff000001000000"),
        [(1700000000 + base, t, f) for base, t, f in frames])
    db = os.path.join(tmp, "late.db")
    r = run([tc, "read", "--quiet", "--db", db, pcap], timeout=60)
    if not check(r.returncode == 0, "read late.pcap: exit %s: %s" % (r.returncode, r.stderr)):
        return
    rows = connections(db)
    for port, (want, what) in cases.items():
        rs = [r for r in rows if r["client_port"] == port]
        check(len(rs) == want, "%s: %d records, expected %d (%s)" % (
            what, len(rs), want, [r["parse_status"] for r in rs]))
        check(all(r["parse_status"] == "ok" and r["sni"] for r in rs),
              "%s: statuses %s" % (what, [(r["parse_status"], r["sni"]) for r in rs]))


def lost_segment(tc, samples, tmp):
    pcap = Pcap(os.path.join(samples, "tls12-split-clienthello.pcap"))
    i, _ = client_hello(pcap)
    client = pcap.packets[i][2][26:30]
    for j in range(i + 1, len(pcap.packets)):
        o = ipv4_tcp(pcap.packets[j][2])
        if o and pcap.packets[j][2][26:30] == client and o[3] > o[2]:
            del pcap.packets[j]
            break
    for name, p in (("whole", Pcap(os.path.join(samples, "tls12-split-clienthello.pcap"))),
                    ("lost", pcap)):
        db = os.path.join(tmp, name + ".db")
        run([tc, "read", "--quiet", "--db", db, p.write(os.path.join(tmp, name + ".pcap"))])
        con = sqlite3.connect(db)
        rows = con.execute("SELECT parse_status, ja3, ja3_str, ja4 FROM connections").fetchall()
        con.close()
        if name == "whole":
            check(len(rows) == 1 and rows[0][0] == "ok" and all(rows[0][1:]),
                  "whole split hello: %s" % rows)
        else:
            check(len(rows) == 1 and rows[0][0] == "truncated" and rows[0][1:] == (None,) * 3,
                  "hello without its second segment: %s (expected truncated, no prints)" % rows)


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        recording(tc, samples, tmp)
        built(tc, samples, tmp)
        lost_segment(tc, samples, tmp)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
