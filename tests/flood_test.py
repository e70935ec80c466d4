#!/usr/bin/env python3
"""Hostile traffic: a SYN flood costs little per flow, and a lying TCP header is counted.

- 200,000 SYN-only flows (bench/synflood.py) at the default --max-flows: every flow tracked,
  none recorded, and the memory they cost (peak RSS over that of a one-flow file, per flow)
  under 250 bytes, so a million stay under 256 MiB (bench/flood.sh measures the million).
  0.2 held a stream and handshake state and nDPI's state per flow: about 1.8 KiB.
- TCP headers with a data offset below 5 words, bare and inside a VXLAN tunnel: each counted
  as undecodable (runs.undecodable), none opens a flow.

usage: flood_test.py TLSCENSUS
"""
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile

from tclib import TCP_SYN, Checks, checksum, ip4, tcp_frame, write_pcap

checks = Checks("flood")
check = checks.check
HERE = os.path.dirname(os.path.abspath(__file__))
PCAP_HEADER = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
MAX_BYTES_PER_FLOW = 250


def peak_rss_kib(argv):
    """Peak RSS of a child (KiB) and its exit status."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    p.stderr.close()
    return usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def runs(db, cols):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT %s FROM runs" % cols).fetchone()
    finally:
        con.close()


def sanitized(tc):
    """An AddressSanitizer build: its shadow memory and redzones make RSS say nothing."""
    r = subprocess.run(["ldd", tc], capture_output=True, text=True)
    return "libasan" in r.stdout


def flood(tc, tmp):
    gen = os.path.join(HERE, "..", "bench", "synflood.py")
    n = 200000
    rss = {}
    for count in (1, n):
        pcap = os.path.join(tmp, "flood%d.pcap" % count)
        subprocess.run([sys.executable, gen, str(count), pcap], check=True)
        db = os.path.join(tmp, "flood%d.db" % count)
        rss[count], rc = peak_rss_kib([tc, "read", "--quiet", "--db", db, pcap])
        check(rc == 0, "flood of %d: exit %d" % (count, rc))
        flows, handshakes = runs(db, "flows, handshakes")
        check(flows == count and handshakes == 0, "flood of %d: %s flows, %s records"
              % (count, flows, handshakes))
    per_flow = (rss[n] - rss[1]) * 1024 / n
    print("flood: %d SYN-only flows: peak RSS %d KiB (one flow: %d KiB), %.0f bytes per flow"
          % (n, rss[n], rss[1], per_flow))
    if sanitized(tc):
        print("flood: AddressSanitizer build; the memory bound is checked by the plain build")
        return
    check(per_flow < MAX_BYTES_PER_FLOW, "%.0f bytes per SYN-only flow, the bound is %d"
          % (per_flow, MAX_BYTES_PER_FLOW))


def data_offset(tc, tmp):
    frames = [tcp_frame("10.0.0.1", "10.0.0.2", 1234, 443, 1, 0, TCP_SYN, b"", doff=d)
              for d in (0, 1, 4)]
    inner = bytes(frames[2])
    vx = b"\x08\x00\x00\x00\x00\x00\x01\x00" + inner  # VXLAN, VNI 1
    udp = struct.pack("!HHHH", 5555, 4789, 8 + len(vx), 0) + vx
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     ip4("192.168.0.1"), ip4("192.168.0.2"))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    frames.append(b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + udp)
    pcap = write_pcap(os.path.join(tmp, "doff.pcap"), PCAP_HEADER,
                      [(1700000000, i, f) for i, f in enumerate(frames)])
    db = os.path.join(tmp, "doff.db")
    subprocess.run([tc, "read", "--quiet", "--db", db, pcap], check=True)
    packets, undecodable, flows = runs(db, "packets, undecodable, flows")
    check(packets == 4 and undecodable == 4 and flows == 0,
          "data offset < 5: %s packets, %s undecodable, %s flows (expected 4, 4, 0)"
          % (packets, undecodable, flows))


def main():
    tc = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        data_offset(tc, tmp)
        flood(tc, tmp)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
