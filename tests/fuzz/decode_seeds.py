#!/usr/bin/env python3
"""Seeds for fuzz_decode from the samples: each capture's first frames alone (the harness
decodes an input as one frame under every link type), and each capture as a frame sequence in
the harness's format, {link index, time step, u16 length, frame}, also with its large packets
IP-fragmented in order, reversed and duplicated as frag_test.py does.

usage: decode_seeds.py SAMPLES_DIR OUT_DIR
"""
import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from frag_test import fragment  # noqa: E402
from tclib import Pcap  # noqa: E402

ETHERNET = 1  # index 1 of the harness's link type table is DLT_EN10MB
MAX_LEN = 16384


def sequence(frames):
    out = bytearray()
    for _, _, frame in frames:
        rec = struct.pack("!BBH", ETHERNET, 0, len(frame)) + bytes(frame)
        if len(out) + len(rec) > MAX_LEN:
            break
        out += rec
    return bytes(out)


def main():
    samples, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    seeds = set()
    for d in (samples, os.path.join(samples, "tunnels")):
        for name in sorted(os.listdir(d)):
            if not name.endswith(".pcap"):
                continue
            try:
                pcap = Pcap(os.path.join(d, name))
            except ValueError:
                continue
            seeds.update(bytes(f) for _, _, f in pcap.packets[:6])
            seeds.add(sequence(pcap.packets))
            for order in ("in-order", "reversed", "duplicated"):
                seeds.add(sequence(fragment(pcap.packets, order)))
    for s in seeds:
        with open(os.path.join(out, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)
    print("%d seeds in %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
