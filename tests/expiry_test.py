#!/usr/bin/env python3
"""Idle flows leave the flow table on time, and a full table evicts the flow idle longest,
though a flow moves in the table's LRU list at most once per grain (about a second) of capture
time (census.c, LRU_GRAIN_SHIFT). Built from bytes: TLS connections whose hellos are done,
then bare ACKs, which a flow counts but which open no flow of their own.

- --idle-timeout 2: connection A sends an ACK every 1.5 s up to 12 s and stays one flow with
  every packet counted; B, which fell silent at 0.13 s, is closed behind A (at most the
  timeout, a second of expiry ticks and a grain late), so its ACK at 5.5 s is counted nowhere.
- --max-flows 2: A busy, B silent, then C opens: B is evicted, not A, which keeps every packet.
- --max-flows 3, all within one grain: A, B and C open, A sends an ACK, D opens: B is evicted,
  not A (near its bound the table moves a flow at every packet).

usage: expiry_test.py TLSCENSUS
"""
import os
import sqlite3
import subprocess
import sys
import tempfile

from tclib import (TCP_ACK, TCP_PSH, TCP_SYN, Checks, tcp_frame, tls_client_hello,
                   tls_server_hello, write_pcap)

checks = Checks("expiry")
check = checks.check
PCAP_HEADER = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
T0 = 1700000000
SERVER = "192.0.2.1"


class Conn:
    """A client's TLS connection: its opening at time t, and bare ACKs after it."""

    def __init__(self, client, port, t, sni):
        self.client, self.port = client, port
        self.c, self.s = 1000 + port * 7, 5000 + port * 11
        ch, sh = tls_client_hello(sni), tls_server_hello()
        self.packets = [
            (t, tcp_frame(client, SERVER, port, 443, self.c, 0, TCP_SYN)),
            (t + 0.01, tcp_frame(SERVER, client, 443, port, self.s, self.c + 1,
                                 TCP_SYN | TCP_ACK)),
            (t + 0.02, tcp_frame(client, SERVER, port, 443, self.c + 1, self.s + 1,
                                 TCP_ACK | TCP_PSH, ch)),
            (t + 0.03, tcp_frame(SERVER, client, 443, port, self.s + 1, self.c + 1 + len(ch),
                                 TCP_ACK | TCP_PSH, sh)),
        ]
        self.next_c, self.next_s = self.c + 1 + len(ch), self.s + 1 + len(sh)

    def ack(self, t):
        self.packets.append((t, tcp_frame(self.client, SERVER, self.port, 443, self.next_c,
                                          self.next_s, TCP_ACK)))


def write(path, conns, base_us):
    """The connections' packets in time order, t seconds after base_us."""
    packets = sorted((p for c in conns for p in c.packets), key=lambda p: p[0])
    out = []
    for t, f in packets:
        us = base_us + int(round(t * 1e6))
        out.append((us // 1000000, us % 1000000, f))
    return write_pcap(path, PCAP_HEADER, out)


def read(tc, tmp, name, conns, *args, base_us=T0 * 1000000):
    pcap = write(os.path.join(tmp, name + ".pcap"), conns, base_us)
    db = os.path.join(tmp, name + ".db")
    subprocess.run([tc, "read", "--quiet", "--no-label", *args, "--db", db, pcap], check=True)
    con = sqlite3.connect(db)
    try:
        rows = dict(con.execute("SELECT client_port, client_packets FROM connections"))
        evicted = con.execute("SELECT flows_evicted FROM runs").fetchone()[0]
    finally:
        con.close()
    return rows, evicted


def busy_and_silent():
    a = Conn("10.0.0.1", 40001, 0.0, b"a.expiry.example.test")
    b = Conn("10.0.0.2", 40002, 0.1, b"b.expiry.example.test")
    for i in range(1, 9):
        a.ack(1.5 * i)  # 1.5 .. 12 s
    return a, b


def idle(tc, tmp):
    a, b = busy_and_silent()
    b.ack(5.5)
    rows, _ = read(tc, tmp, "idle", [a, b], "--idle-timeout", "2")
    check(rows.get(40001) == 10, "idle: the busy connection counts 10 client packets, not %s"
          % rows.get(40001))
    check(rows.get(40002) == 2, "idle: the silent connection was closed behind the busy one "
          "before its ACK at 5.5 s: %s client packets, expected 2" % rows.get(40002))
    check(len(rows) == 2, "idle: 2 connections, got %d" % len(rows))


def evict(tc, tmp):
    a, b = busy_and_silent()
    c = Conn("10.0.0.3", 40003, 6.0, b"c.expiry.example.test")
    c.ack(7.0)
    rows, evicted = read(tc, tmp, "evict", [a, b, c], "--max-flows", "2")
    check(evicted >= 1, "evict: a flow evicted (%s)" % evicted)
    check(rows.get(40001) == 10, "evict: the busy connection kept all 10 client packets, "
          "not %s (evicted instead of the silent one)" % rows.get(40001))
    check(rows.get(40002) == 2 and rows.get(40003) == 3,
          "evict: the silent one and the new one recorded: %s" % rows)


def evict_within_grain(tc, tmp):
    """The table goes round within one grain: a flow that just sent a packet is not the one
    evicted, though it has not moved since the grain began."""
    grain = 1 << 20
    base = (T0 * 1000000 // grain + 1) * grain  # a grain starts here; all below is in it
    a = Conn("10.0.1.1", 41001, 0.00, b"a.grain.example.test")
    b = Conn("10.0.1.2", 41002, 0.05, b"b.grain.example.test")
    c = Conn("10.0.1.3", 41003, 0.10, b"c.grain.example.test")
    a.ack(0.15)
    d = Conn("10.0.1.4", 41004, 0.20, b"d.grain.example.test")
    a.ack(0.25)
    a.ack(0.30)
    rows, evicted = read(tc, tmp, "grain", [a, b, c, d], "--max-flows", "3", base_us=base)
    check(evicted >= 1, "grain: a flow evicted (%s)" % evicted)
    check(rows.get(41001) == 5, "grain: the connection that had just sent an ACK kept all 5 "
          "client packets, not %s (evicted instead of the oldest idle one)" % rows.get(41001))
    check(len(rows) == 4 and rows.get(41002) == 2, "grain: four connections, the second "
          "evicted with its 2 client packets: %s" % rows)


def main():
    tc = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        idle(tc, tmp)
        evict(tc, tmp)
        evict_within_grain(tc, tmp)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
