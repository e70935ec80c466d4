#!/usr/bin/env python3
"""Hostile capture files built from bytes: each is read as far as it can be, with one clear
warning, in bounded memory, and the connection after the hostile part is still recorded.

- Time going backwards: a connection, then frames stamped an hour and a day earlier, then
  another connection: both recorded, one warning that counts the frames and says how far back.
- 100,000 one-byte IPv4 fragments (every offset of a datagram, and random offsets of others,
  none ever whole): counted, one warning, peak RSS under 64 MiB more than a plain read.
- 50 IPv6 extension headers before a TCP header (the decoder follows 16): counted as
  undecodable with a warning; the same packet with 3 of them is decoded.

usage: hostile_test.py TLSCENSUS SAMPLES_DIR
"""
import os
import random
import sqlite3
import struct
import subprocess
import sys
import tempfile

from tclib import Checks, Pcap, checksum, ip4, write_pcap

checks = Checks("hostile")
check = checks.check
ETH = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01"
HEADER = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")


def runs(db, cols):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT %s FROM runs" % cols).fetchone()
    finally:
        con.close()


def records(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM connections WHERE parse_status = 'ok'"
                           ).fetchone()[0]
    finally:
        con.close()


def read(tc, db, pcap):
    p = subprocess.Popen([tc, "read", "--quiet", "--db", db, pcap], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    return os.waitstatus_to_exitcode(status), err, usage.ru_maxrss


def sample(samples, name, shift):
    """A sample's packets, moved to start `shift` seconds after 2024-01-01."""
    p = Pcap(os.path.join(samples, name))
    t0 = p.packets[0][0]
    return [(sec - t0 + 1704067200 + shift, sub, f) for sec, sub, f in p.packets]


def backwards(tc, samples, tmp):
    a = sample(samples, "tls12-openssl.pcap", 86400 * 2)
    b = sample(samples, "tls13-openssl.pcap", 86400 * 2 + 60)
    stray = [(1704067200 + 86400 * 2 - 3600, 0, a[0][2]), (1704067200 + 86400, 0, a[1][2])]
    pcap = write_pcap(os.path.join(tmp, "back.pcap"), HEADER, a + stray + b)
    db = os.path.join(tmp, "back.db")
    rc, err, _ = read(tc, db, pcap)
    check(rc == 0, "time backwards: exit %s" % rc)
    check(records(db) == 2, "time backwards: %d connections recorded, expected 2" % records(db))
    lines = [l for l in err.splitlines() if "stamped earlier" in l]
    check(len(lines) == 1 and "2 frames" in lines[0] and pcap in lines[0] and
          "(up to 8640" in lines[0], "time backwards: one warning: %r" % err)


def fragments(tc, samples, tmp):
    def frag(off8, data, ident):
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), ident, 0x2000 | off8, 64, 6,
                         0, ip4("10.5.0.1"), ip4("10.5.0.2"))
        return ETH + b"\x08\x00" + ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:] + data
    rng = random.Random(7)
    pk = [(1704067200, i, frag(i, b"x", 1)) for i in range(8192)]  # every offset, one datagram
    pk += [(1704067201 + i // 500000, i % 1000000, frag(rng.randrange(8192), b"y",
                                                        2 + rng.randrange(4000)))
           for i in range(100000 - 8192)]
    after = sample(samples, "tls12-openssl.pcap", 10)
    pcap = write_pcap(os.path.join(tmp, "frags.pcap"), HEADER, pk + after)
    plain = write_pcap(os.path.join(tmp, "plain.pcap"), HEADER, after)
    rc, err, rss = read(tc, os.path.join(tmp, "frags.db"), pcap)
    _, _, rss_plain = read(tc, os.path.join(tmp, "plain.db"), plain)
    check(rc == 0, "fragments: exit %s" % rc)
    held, whole = runs(os.path.join(tmp, "frags.db"), "fragments, reassembled")
    check(held == 100000 and whole == 0, "fragments: %s held, %s whole" % (held, whole))
    check(records(os.path.join(tmp, "frags.db")) == 1, "fragments: the connection after them")
    check(err.count("IP fragments") == 1 and "100000" in err, "fragments: one warning: %r" % err)
    if "libasan" not in subprocess.run(["ldd", tc], capture_output=True, text=True).stdout:
        check(rss - rss_plain < 64 * 1024, "fragments: %d KiB more than a plain read" %
              (rss - rss_plain))


def extensions(tc, samples, tmp):
    def v6(n):
        tcp = struct.pack("!HHIIBBHHH", 1234, 443, 1, 0, 0x50, 2, 65535, 0, 0)
        body = b"".join(bytes([60 if k < n - 1 else 6, 0]) + bytes(6) for k in range(n))
        ip = struct.pack("!IHBB16s16s", 0x60000000, len(body) + len(tcp), 0 if n else 6, 64,
                         bytes(15) + b"\x01", bytes(15) + b"\x02")
        return ETH + b"\x86\xdd" + ip + body + tcp
    after = sample(samples, "tls12-openssl.pcap", 10)
    pcap = write_pcap(os.path.join(tmp, "ext.pcap"), HEADER,
                      [(1704067200, 0, v6(50)), (1704067200, 1, v6(3))] + after)
    db = os.path.join(tmp, "ext.db")
    rc, err, _ = read(tc, db, pcap)
    undecodable, flows = runs(db, "undecodable, flows")
    check(rc == 0 and undecodable == 1, "50 extension headers: exit %s, %s undecodable"
          % (rc, undecodable))
    check(flows == 2 and records(db) == 1, "50 extension headers: %s flows (the 3-header SYN "
          "and the connection after), %d recorded" % (flows, records(db)))
    check(err.count("could not be decoded") == 1 and "1 frames" in err,
          "50 extension headers: one warning: %r" % err)


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        backwards(tc, samples, tmp)
        fragments(tc, samples, tmp)
        extensions(tc, samples, tmp)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
