#!/usr/bin/env python3
"""Capture files built from bytes: the layouts and the lies that the in-place reader
(src/capture/pcapfile.c) and libpcap's path (standard input) must both survive.

- pcapng with an Ethernet and a raw-IP interface in one section: both hellos recorded
  (libpcap alone refuses a file with two link types).
- pcapng in big-endian order, nanosecond and 2^-20 s resolutions, if_tsoffset: exact times.
- a frame stamped 0xffffffff (before 1970 as libpcap reads it): counted, given the previous
  frame's time, and no date after the real ones; standard input gets no wild date either.
- headers that lie (snaplen 0 and 2^31, caplen > len, caplen > snaplen): read whole.
- a record claiming 4 GB, a pcapng block claiming more than the file, a section without the
  byte-order magic: exit 4, every frame before it kept, the message names the file.
- a file past the size where the page tables are left to a thread of their own (pcapfile.c,
  the pager): 300 connections between 30 MiB of other frames, all recorded as the one they
  copy; and the same file cut by a lying record after 24 MiB: exit 4, every connection before
  the cut recorded.

usage: capfile_test.py TLSCENSUS SAMPLES_DIR
"""
import os
import shutil
import struct
import sys
import tempfile

from tclib import (UNCOMPARED, Checks, Pcap, checksum, client_hello, export, run, set_client_port,
                   without)

checks = Checks("capfile")
check = checks.check

EXIT_TRUNCATED = 4


def pcap_bytes(packets, linktype=1, snaplen=262144, endian="<", magic=0xa1b2c3d4, lens=None):
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for i, (sec, sub, frame) in enumerate(packets):
        orig = lens[i] if lens else len(frame)
        out.append(struct.pack(endian + "IIII", sec, sub, len(frame), orig) + bytes(frame))
    return b"".join(out)


def ng_block(e, btype, body):
    body = bytes(body) + b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def ng_shb(e):
    return ng_block(e, 0x0a0d0d0a, struct.pack(e + "IHHq", 0x1a2b3c4d, 1, 0, -1))


def ng_option(e, code, value):
    return struct.pack(e + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def ng_idb(e, linktype, tsresol=None, tsoffset=None):
    body = struct.pack(e + "HHI", linktype, 0, 262144)
    opts = b""
    if tsresol is not None:
        opts += ng_option(e, 9, bytes([tsresol]))
    if tsoffset is not None:
        opts += ng_option(e, 14, struct.pack(e + "q", tsoffset))
    if opts:
        body += opts + struct.pack(e + "HH", 0, 0)
    return ng_block(e, 1, body)


def ng_epb(e, iface, units, frame):
    return ng_block(e, 6, struct.pack(e + "IIIII", iface, units >> 32, units & 0xffffffff,
                                      len(frame), len(frame)) + bytes(frame))


def udp_filler(n, size=1400):
    """n Ethernet/IPv4/UDP frames of `size` payload bytes to the discard port (RFC 863): frames
    that open no flow, only there to make a file long."""
    out = []
    for i in range(n):
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + size, i & 0xffff, 0, 64,
                                   17, 0, bytes([192, 0, 2, 7]), bytes([192, 0, 2, 9])))
        struct.pack_into("!H", ip, 10, checksum(bytes(ip)))
        udp = struct.pack("!HHHH", 5000, 9, 8 + size, 0)
        out.append(b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + bytes(ip) + udp + bytes(size))
    return out


def long_file(tc, tmp, b):
    """The read of a file the pager walks: more than PCAPFILE_POPULATE * 2 (16 MiB)."""
    filler = udp_filler(72)  # about 100 KiB after each connection
    packets, copies, hellos = [], 300, []
    for i in range(copies):
        c = Pcap.__new__(Pcap)
        c.packets = [[sec + i, sub, bytearray(fr)] for sec, sub, fr in b]
        set_client_port(c, 20000 + i)
        t = c.packets[-1][0]
        hellos.append(len(packets) + client_hello(c)[0])
        packets += c.packets + [[t, 900000, f] for f in filler]
    data = pcap_bytes(packets)
    check(len(data) > 24 << 20, "long file: %d bytes, past the pager's threshold" % len(data))
    db0 = os.path.join(tmp, "one.db")
    with open(os.path.join(tmp, "one.pcap"), "wb") as f:
        f.write(pcap_bytes(b))
    run([tc, "read", "--quiet", "--db", db0, os.path.join(tmp, "one.pcap")])
    _, want = export(tc, db0)
    want = without(want, UNCOMPARED | {"client_port", "community_id"})
    r, _, recs = records(tc, tmp, "long.pcap", data)
    ports = sorted(x["client_port"] for x in recs)
    check(ports == list(range(20000, 20000 + copies)),
          "long file: every connection recorded once: %d of %d" % (len(recs), copies))
    same = [x for x in without(recs, UNCOMPARED | {"client_port", "community_id"}) if [x] == want]
    check(len(want) == 1 and len(same) == copies,
          "long file: each record as the one it copies: %d of %d" % (len(same), copies))
    # The same file with a record claiming 4 GB after 24 MiB: the walk stops there, with the
    # pager running ahead of it.
    at, off, n = 24 << 20, 24, 0
    while off + 16 + len(packets[n][2]) <= at:
        off += 16 + len(packets[n][2])
        n += 1
    want_cut = {20000 + i for i, h in enumerate(hellos) if h < n}  # their ClientHello is read
    cut = data[:off] + struct.pack("<IIII", packets[0][0], 0, 0xffffffff, 0xffffffff) + \
        data[off + 16:]
    r, path, recs = records(tc, tmp, "long-cut.pcap", cut, expect=EXIT_TRUNCATED)
    got = sorted(x["client_port"] for x in recs)
    check(path in r.stderr and "cut short" in r.stderr and got == sorted(want_cut) and
          0 < len(got) < copies,
          "long file cut after 24 MiB: exit 4, the %d connections before the cut: %d, %r" % (
              len(want_cut), len(got), r.stderr[-300:]))


def records(tc, tmp, name, data, stdin=False, expect=0):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    db = os.path.join(tmp, name + ".db")
    if stdin:
        with open(path, "rb") as f:
            r = run([tc, "read", "--quiet", "--db", db, "-"], stdin=f)
    else:
        r = run([tc, "read", "--quiet", "--db", db, path])
    check(r.returncode == expect, "%s: exit %s (want %s): %r" % (name, r.returncode, expect,
                                                               r.stderr[-400:]))
    check("Segmentation" not in r.stderr and "Sanitizer" not in r.stderr, name + ": crash")
    _, recs = export(tc, db)
    return r, path, recs


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="tc-capfile-")
    try:
        a = Pcap(os.path.join(samples, "tls12-openssl.pcap")).packets
        b = Pcap(os.path.join(samples, "tls13-openssl.pcap")).packets
        want_a = "legacy.example.test"
        t0 = a[0][0]

        # Two interfaces, two link types: Ethernet, and raw IP (the frames without their
        # Ethernet header), each holding one connection.
        for e, name in (("<", "mixed-le.pcapng"), (">", "mixed-be.pcapng")):
            data = ng_shb(e) + ng_idb(e, 1) + ng_idb(e, 101, tsresol=9)
            for sec, sub, fr in a:
                data += ng_epb(e, 0, sec * 10**6 + sub, fr)
            for sec, sub, fr in b:
                data += ng_epb(e, 1, (sec + 5) * 10**9 + sub * 1000, fr[14:])
            r, _, recs = records(tc, tmp, name, data)
            snis = sorted(x["sni"] or "" for x in recs)
            check(len(recs) == 2 and want_a in snis,
                  "%s: both interfaces' connections recorded: %r" % (name, snis))
            times = sorted(x["first_ts"] for x in recs)
            check(len(times) == 2 and abs(times[0] - (t0 + a[0][1] / 1e6)) < 1e-6 and
                  abs(times[1] - (b[0][0] + 5 + b[0][1] / 1e6)) < 1e-6,
                  "%s: times per interface resolution: %r" % (name, times))

        # 2^-20 s units and an offset of 1000 s.
        data = ng_shb("<") + ng_idb("<", 1, tsresol=0x80 | 20, tsoffset=1000)
        for sec, sub, fr in a:
            data += ng_epb("<", 0, ((sec - 1000) << 20) + (sub << 20) // 10**6, fr)
        _, _, recs = records(tc, tmp, "binary-resolution.pcapng", data)
        check(len(recs) == 1 and abs(recs[0]["first_ts"] - (t0 + a[0][1] / 1e6)) < 2e-6,
              "2^-20 resolution and if_tsoffset: %r" % [x["first_ts"] for x in recs])

        # A frame stamped 0xffffffff in the middle of a connection.
        bad = [list(p) for p in a]
        bad[2][0] = 0xffffffff
        for via_stdin in (False, True):
            name = "bad-time-stdin.pcap" if via_stdin else "bad-time.pcap"
            r, path, recs = records(tc, tmp, name, pcap_bytes(bad), stdin=via_stdin)
            last = max((x["last_ts"] for x in recs), default=None)
            real_last = a[-1][0] + a[-1][1] / 1e6
            check(len(recs) == 1 and last is not None and last <= real_last + 1e-6,
                  "bad time (%s): no date past the capture's: %r" % (
                      "stdin" if via_stdin else "file", last))
            check("1 frames carry a time before 1970" in r.stderr and
                  ("-:" if via_stdin else path) in r.stderr,
                  "bad time: counted and named: %r" % r.stderr)
        r = run([tc, "legacy", "--db", os.path.join(tmp, "bad-time.pcap.db"), "--format",
                 "csv"])
        check("586524" not in r.stdout and "2106" not in r.stdout, "legacy dates sane")

        # Headers that lie, yet hold whole frames.
        for name, kw in (("snaplen0", {"snaplen": 0}), ("snaplen2g", {"snaplen": 1 << 31}),
                         ("caplen-over-len", {"lens": [len(p[2]) - 10 for p in a]}),
                         ("caplen-over-snaplen", {"snaplen": 64}),
                         ("big-endian", {"endian": ">"}),
                         ("nanosecond", {"magic": 0xa1b23c4d})):
            pk = a
            if name == "nanosecond":
                pk = [[s, u * 1000, f] for s, u, f in a]
            _, _, recs = records(tc, tmp, name + ".pcap", pcap_bytes(pk, **kw))
            check(len(recs) == 1 and recs[0]["sni"] == want_a and
                  abs(recs[0]["first_ts"] - (t0 + a[0][1] / 1e6)) < 1e-6,
                  "%s: read whole: %r" % (name, [(x["sni"], x["first_ts"]) for x in recs]))

        # Damage after the first connection: exit 4, the first connection kept.
        whole = pcap_bytes(a + [[b[0][0] + 9, 0, f] for _, _, f in b])
        cut = len(pcap_bytes(a))
        four_gb = whole[:cut] + struct.pack("<IIII", b[0][0], 0, 0xffffffff, 0xffffffff) + \
            whole[cut + 16:]
        r, path, recs = records(tc, tmp, "4gb-record.pcap", four_gb, expect=EXIT_TRUNCATED)
        check([x["sni"] for x in recs] == [want_a] and path in r.stderr and
              "cut short" in r.stderr, "4 GB record: %r %r" % ([x["sni"] for x in recs],
                                                             r.stderr))
        data = ng_shb("<") + ng_idb("<", 1)
        for sec, sub, fr in a:
            data += ng_epb("<", 0, sec * 10**6 + sub, fr)
        lying = data + struct.pack("<II", 6, 1 << 20) + b"\0" * 64
        r, path, recs = records(tc, tmp, "lying-block.pcapng", lying, expect=EXIT_TRUNCATED)
        check([x["sni"] for x in recs] == [want_a] and path in r.stderr,
              "pcapng block longer than the file: %r" % r.stderr)
        nobom = data + ng_block("<", 0x0a0d0d0a, struct.pack("<IHHq", 0x12345678, 1, 0, -1))
        r, path, recs = records(tc, tmp, "no-bom.pcapng", nobom, expect=EXIT_TRUNCATED)
        check([x["sni"] for x in recs] == [want_a] and "byte-order" in r.stderr,
              "section without byte-order magic: %r" % r.stderr)
        # A second section (other byte order) after the first: both read.
        two = data + ng_shb(">") + ng_idb(">", 1)
        for sec, sub, fr in b:
            two += ng_epb(">", 0, (sec + 9) * 10**6 + sub, fr)
        _, _, recs = records(tc, tmp, "two-sections.pcapng", two)
        check(len(recs) == 2, "two sections in two byte orders: %d records" % len(recs))

        long_file(tc, tmp, b)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
