#!/usr/bin/env python3
"""synflood.py: writes a pcap of N SYN-only TCP flows (a SYN flood or a port scan): each SYN
from its own source address and port to 192.0.2.1:443, one microsecond apart, and nothing
else. bench/flood.sh reads it to measure the memory a tracked flow costs; tests/flood_test.py
uses a smaller one. Standard library only.

usage: synflood.py N OUT.pcap
"""
import struct
import sys


def checksum(data):
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    eth = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00"
    dst = bytes((192, 0, 2, 1))
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            src = bytes((10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff))
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xffff, 0x4000, 64, 6, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            tcp = struct.pack("!HHIIBBHHH", 1024 + i % 60000, 443, i * 7919 & 0xffffffff, 0,
                              0x50, 0x02, 65535, 0, 0)
            frame = eth + ip + tcp
            t = 1700000000 * 1000000 + i
            f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(frame), len(frame)))
            f.write(frame)


if __name__ == "__main__":
    main()
