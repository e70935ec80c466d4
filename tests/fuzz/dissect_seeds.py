#!/usr/bin/env python3
"""Seeds for fuzz_dissect from the samples: each TCP sample's first two directions, in the
harness's format {split, step, bytes of A, bytes of B} (split: where A ends, in 255ths).
Segments are taken in capture order, which the samples keep. Each QUIC sample (samples/quic)
gives a datagram seed: step byte 0xbf (datagrams of 64 * 23 = 1472 bytes), each side's first
datagrams padded with zeros to that size, so the client's Initials arrive whole.

usage: dissect_seeds.py SAMPLES_DIR OUT_DIR
"""
import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tclib import Pcap  # noqa: E402

MAX_DIR = 6000  # bytes per direction: the hellos and a little more
DGRAM = 64 * 23  # the harness's datagram size for step byte 0xbf


def tcp_payload(frame):
    """(direction key, payload) of an Ethernet IPv4/IPv6 TCP frame, else None."""
    etype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if etype == 0x0800 and len(ip) >= 20 and ip[9] == 6:
        hl, end, src = (ip[0] & 15) * 4, struct.unpack("!H", ip[2:4])[0], ip[12:16]
    elif etype == 0x86DD and len(ip) >= 40 and ip[6] == 6:
        hl, end, src = 40, 40 + struct.unpack("!H", ip[4:6])[0], ip[8:24]
    else:
        return None
    tcp = ip[hl:end]
    if len(tcp) < 20:
        return None
    return (bytes(src), bytes(tcp[0:2])), bytes(tcp[(tcp[12] >> 4) * 4:])


def udp_payload(frame):
    """(source address, payload) of an Ethernet IPv4/IPv6 UDP frame, else None."""
    etype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if etype == 0x0800 and len(ip) >= 20 and ip[9] == 17:
        hl, src = (ip[0] & 15) * 4, bytes(ip[12:16])
    elif etype == 0x86DD and len(ip) >= 40 and ip[6] == 17:
        hl, src = 40, bytes(ip[8:24])
    else:
        return None
    return src, bytes(ip[hl + 8:])


def quic_seeds(samples, out):
    n = 0
    quic = os.path.join(samples, "quic")
    for name in sorted(os.listdir(quic)) if os.path.isdir(quic) else []:
        if not name.endswith(".pcap"):
            continue
        sides = {}
        for _, _, frame in Pcap(os.path.join(quic, name)).packets:
            dg = udp_payload(frame)
            if dg and len(dg[1]) <= DGRAM and len(sides.setdefault(dg[0], [])) < 3:
                sides[dg[0]].append(dg[1] + bytes(DGRAM - len(dg[1])))
        a, b = (b"".join(v) for v in (list(sides.values()) + [[], []])[:2])
        if not a:
            continue
        split = min(255, -(-len(a) * 255 // (len(a) + len(b))))
        seed = bytes([split, 0xbf]) + a + b
        with open(os.path.join(out, hashlib.sha1(seed).hexdigest()), "wb") as f:
            f.write(seed)
        n += 1
    return n


def main():
    samples, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    n = 0
    for name in sorted(os.listdir(samples)):
        if not name.endswith(".pcap"):
            continue
        dirs = {}
        for _, _, frame in Pcap(os.path.join(samples, name)).packets:
            seg = tcp_payload(frame)
            if seg and seg[1]:
                dirs.setdefault(seg[0], bytearray()).extend(seg[1])
        streams = [bytes(v[:MAX_DIR]) for v in dirs.values()][:2] + [b""]
        a, b = streams[0], streams[1]
        if not a:
            continue
        split = min(255, -(-len(a) * 255 // (len(a) + len(b))))
        for step in (5, 63):
            seed = bytes([split, step]) + a + b
            with open(os.path.join(out, hashlib.sha1(seed).hexdigest()), "wb") as f:
                f.write(seed)
            n += 1
    n += quic_seeds(samples, out)
    print("%d seeds in %s" % (n, out))


if __name__ == "__main__":
    main()
