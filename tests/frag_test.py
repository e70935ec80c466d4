#!/usr/bin/env python3
"""IP fragments end to end: the project's samples with every large IPv4 packet split into
fragments (in order, reversed, and with a duplicate), and IPv6 packets split with a fragment
header, must give exactly the export of the unfragmented sample.

usage: frag_test.py TLSCENSUS SAMPLES_DIR
"""
import os
import struct
import sys
import tempfile

from tclib import UNCOMPARED, Checks, Pcap, checksum, export, run, without, write_pcap

checks = Checks("frag")
check = checks.check


def frag_v4(eth, ip, size, ident):
    """RFC 791 fragmentation of one IPv4 packet into pieces of at most size payload bytes."""
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    hdr, payload = bytearray(ip[:ihl]), ip[ihl:total]
    out = []
    for off in range(0, len(payload), size):
        piece = payload[off:off + size]
        h = bytearray(hdr)
        more = off + size < len(payload)
        struct.pack_into("!H", h, 2, ihl + len(piece))
        struct.pack_into("!H", h, 4, ident)
        struct.pack_into("!H", h, 6, (0x2000 if more else 0) | (off // 8))
        struct.pack_into("!H", h, 10, 0)
        struct.pack_into("!H", h, 10, checksum(bytes(h)))
        out.append(eth + bytes(h) + piece)
    return out


def frag_v6(eth, ip, size, ident):
    """RFC 8200 4.5: the fragment header goes after the IPv6 header (no extension headers in
    the samples); every piece but the last is a multiple of 8 bytes."""
    plen = struct.unpack("!H", ip[4:6])[0]
    nh, payload = ip[6], ip[40:40 + plen]
    out = []
    for off in range(0, len(payload), size):
        piece = payload[off:off + size]
        more = off + size < len(payload)
        h = bytearray(ip[:40])
        h[6] = 44
        struct.pack_into("!H", h, 4, 8 + len(piece))
        fh = struct.pack("!BBHI", nh, 0, (off & 0xFFF8) | (1 if more else 0), ident)
        out.append(eth + bytes(h) + fh + piece)
    return out


def fragment(frames, order):
    out, ident = [], 0x4000
    for sec, usec, frame in frames:
        eth, ip = frame[:14], frame[14:]
        etype = struct.unpack("!H", frame[12:14])[0]
        if etype == 0x0800 and len(ip) > 600:
            pieces = frag_v4(eth, ip, 512, ident)
        elif etype == 0x86DD and len(ip) > 600:
            pieces = frag_v6(eth, ip, 512, ident)
        else:
            out.append((sec, usec, frame))
            continue
        ident += 1
        if order == "reversed":
            pieces.reverse()
        elif order == "duplicated":
            pieces = pieces[:1] + pieces
        out.extend((sec, usec, p) for p in pieces)
    return out


def census(tc, db, path):
    """The export of one capture read into a fresh database, without the keys not compared."""
    r = run([tc, "read", "--quiet", "--db", db, path])
    check(r.returncode == 0, "%s: read exit %s %s" % (path, r.returncode, r.stderr))
    return without(export(tc, db)[1], UNCOMPARED)


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("tls12-split-clienthello.pcap", "tls13-openssl.pcap", "tls12-ipv6.pcap"):
            src = os.path.join(samples, name)
            want = census(tc, os.path.join(tmp, name + ".db"), src)
            check(len(want) == 1, "%s: one record" % name)
            pcap = Pcap(src)
            for order in ("in-order", "reversed", "duplicated"):
                fr = fragment(pcap.packets, order)
                check(len(fr) > len(pcap.packets), "%s: something was fragmented" % name)
                out = write_pcap(os.path.join(tmp, "%s-%s.pcap" % (name, order)), pcap.header, fr)
                got = census(tc, out + ".db", out)
                check(got == want, "%s %s: export differs:\n  got  %s\n  want %s"
                      % (name, order, got, want))
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
