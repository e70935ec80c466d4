#!/usr/bin/env python3
"""IP fragments end to end: the project's samples with every large IPv4 packet split into
fragments (in order, reversed, and with a duplicate), and IPv6 packets split with a fragment
header, must give exactly the export of the unfragmented sample.

usage: frag_test.py TLSCENSUS SAMPLES_DIR
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

failures = []
checks = 0


def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        failures.append(msg)
        print("FAIL: " + msg, file=sys.stderr)


def read_pcap(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic != 0xA1B2C3D4:
        raise SystemExit("%s: expected a little-endian microsecond pcap" % path)
    header, frames, off = data[:24], [], 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        frames.append((sec, usec, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return header, frames


def write_pcap(path, header, frames):
    with open(path, "wb") as f:
        f.write(header)
        for sec, usec, frame in frames:
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            f.write(frame)


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


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


def export(tc, db, path):
    r = subprocess.run([tc, "read", "--quiet", "--db", db, path], capture_output=True, text=True)
    check(r.returncode == 0, "%s: read exit %d %s" % (path, r.returncode, r.stderr))
    r = subprocess.run([tc, "export", "--db", db, "--format", "ndjson"], capture_output=True, text=True)
    recs = [json.loads(x) for x in r.stdout.splitlines()]
    for rec in recs:
        for k in ("first_ts", "last_ts", "app"):
            rec.pop(k, None)
    return recs


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("tls12-split-clienthello.pcap", "tls13-openssl.pcap", "tls12-ipv6.pcap"):
            src = os.path.join(samples, name)
            want = export(tc, os.path.join(tmp, name + ".db"), src)
            check(len(want) == 1, "%s: one record" % name)
            header, frames = read_pcap(src)
            for order in ("in-order", "reversed", "duplicated"):
                fr = fragment(frames, order)
                check(len(fr) > len(frames), "%s: something was fragmented" % name)
                out = os.path.join(tmp, "%s-%s.pcap" % (name, order))
                write_pcap(out, header, fr)
                got = export(tc, out + ".db", out)
                check(got == want, "%s %s: export differs:\n  got  %s\n  want %s"
                      % (name, order, got, want))
    print("frag: %d checks, %d failed" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
