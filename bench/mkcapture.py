#!/usr/bin/env python3
# mkcapture.py: writes a large synthetic pcap of TLS-over-TCP sessions for bench/run.sh and
# bench/replay.sh. Every connection is a distinct flow with a full handshake, some application
# data (none with --data-packets 0) and a FIN exchange; connections are interleaved so the
# reader's flow table holds ~1000 at once.
# Standard library only, deterministic for a given seed, and never used by the test suite.
"""Write a synthetic Ethernet/IPv4/TCP pcap of TLS sessions (see bench/README.md)."""

import argparse
import random
import struct
import sys

# --- TLS: built field by field after RFC 8446 section 4 (and RFC 5246 for 1.0-1.2) ---------

TLS10, TLS11, TLS12, TLS13 = 0x0301, 0x0302, 0x0303, 0x0304

# (highest version, weight): most clients offer 1.3, a tail still stops at 1.0/1.1.
VERSION_MIX = ((TLS13, 60), (TLS12, 25), (TLS11, 5), (TLS10, 10))

# Cipher offers per highest version, and what the server picks for each.
OFFERS = {
    TLS13: (0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
            0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035),
    TLS12: (0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC027, 0xC013, 0xC014,
            0x009C, 0x009D, 0x003C, 0x002F, 0x0035, 0x000A, 0x00FF),
    TLS11: (0xC013, 0xC014, 0x0033, 0x0039, 0x002F, 0x0035, 0x000A, 0x0005, 0x0004, 0x00FF),
    TLS10: (0xC013, 0xC014, 0x0033, 0x0039, 0x002F, 0x0035, 0x000A, 0x0005, 0x0004, 0x00FF),
}
# A 1.0 server choice that is sometimes 3DES or RC4, so the legacy query has work to do.
CHOICES = {TLS13: (0x1301,), TLS12: (0xC02F,), TLS11: (0xC013,),
           TLS10: (0x002F, 0x000A, 0x0005, 0xC013)}

GROUPS_13 = (0x001D, 0x0017, 0x0018)     # x25519, secp256r1, secp384r1
GROUPS_OLD = (0x0017, 0x0018, 0x0019)
SIGALGS = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201)
ALPNS = ((b"h2", b"http/1.1"), (b"http/1.1",), (b"h2",), ())

HS_CLIENT_HELLO, HS_SERVER_HELLO, HS_CERTIFICATE, HS_SERVER_HELLO_DONE = 1, 2, 11, 14
HS_CLIENT_KEY_EXCHANGE = 16
CT_CCS, CT_HANDSHAKE, CT_APPDATA = 20, 22, 23


def u16(v):
    return struct.pack(">H", v)


def vec8(body):
    return struct.pack(">B", len(body)) + body


def vec16(body):
    return struct.pack(">H", len(body)) + body


def vec24(body):
    return struct.pack(">I", len(body))[1:] + body


def ext(etype, body):
    return struct.pack(">HH", etype, len(body)) + body


def handshake(mtype, body):
    return struct.pack(">B", mtype) + vec24(body)


def record(ctype, version, fragment):
    return struct.pack(">BHH", ctype, version, len(fragment)) + fragment


def u16_list(values):
    return b"".join(struct.pack(">H", v) for v in values)


def grease(n):
    """The GREASE value (RFC 8701) number n % 16: 0x?A?A with both nibbles equal."""
    n &= 15
    return (n << 12) | 0x0A00 | (n << 4) | 0x0A


def hello_middle(version, alpn, with_groups):
    """The ClientHello extensions that do not change from one connection to the next."""
    exts = [ext(0x0017, b""),        # extended_master_secret
            ext(0xFF01, b"\x00")]    # renegotiation_info
    if with_groups:
        groups = GROUPS_13 if version == TLS13 else GROUPS_OLD
        exts.append(ext(0x000A, vec16(u16_list(groups))))  # supported_groups
        exts.append(ext(0x000B, vec8(b"\x00")))            # ec_point_formats: uncompressed
    exts.append(ext(0x0023, b""))                           # session_ticket
    if alpn:
        exts.append(ext(0x0010, vec16(b"".join(vec8(p) for p in alpn))))
    if version >= TLS12:
        exts.append(ext(0x000D, vec16(u16_list(SIGALGS))))  # signature_algorithms
    if version == TLS13:
        exts.append(ext(0x002B, vec8(u16_list((TLS13, TLS12)))))  # supported_versions
        exts.append(ext(0x002D, vec8(b"\x01")))                    # psk_dhe_ke
    return b"".join(exts)


class HelloMaker:
    """ClientHellos; the fixed parts are built once per (version, ALPN, groups) shape."""

    def __init__(self):
        self.middles = {}
        self.suites = {v: u16_list(OFFERS[v]) for v in OFFERS}

    def make(self, rnd, sid, key, version, host, alpn_idx, with_groups, grease_seed):
        """ClientHello record; version is the highest the client offers."""
        shape = (version, alpn_idx, with_groups)
        middle = self.middles.get(shape)
        if middle is None:
            middle = hello_middle(version, ALPNS[alpn_idx], with_groups)
            self.middles[shape] = middle
        suites = self.suites[version]
        sni = ext(0x0000, vec16(b"\x00" + vec16(host)))  # one host_name entry
        if version == TLS13:
            exts = sni + middle + ext(0x0033, vec16(u16(0x001D) + vec16(key)))  # key_share
        else:
            exts = sni + middle
        if grease_seed is not None:
            # Chrome-like: a GREASE suite first, an empty GREASE extension first and a
            # one-byte one last, so JA3's GREASE filtering has something to remove.
            suites = u16(grease(grease_seed)) + suites
            exts = (ext(grease(grease_seed >> 4), b"") + exts +
                    ext(grease(grease_seed >> 8), b"\x00"))
        body = (u16(min(version, TLS12)) + rnd + vec8(sid) + vec16(suites) + b"\x01\x00" +
                vec16(exts))
        # Record-layer version 0x0301 for compatibility, as RFC 8446 section 5.1 recommends.
        return record(CT_HANDSHAKE, TLS10, handshake(HS_CLIENT_HELLO, body))


def server_hello(rnd, sid, key, version, suite, alpn):
    """ServerHello message (no record header): the version and suite already chosen."""
    legacy = min(version, TLS12)
    exts = []
    if version == TLS13:
        exts.append(ext(0x002B, u16(TLS13)))
        exts.append(ext(0x0033, u16(0x001D) + vec16(key)))
    else:
        exts.append(ext(0xFF01, b"\x00"))
        if suite >= 0xC000:
            exts.append(ext(0x000B, vec8(b"\x00")))
        if alpn:
            exts.append(ext(0x0010, vec16(vec8(alpn[0]))))
    body = u16(legacy) + rnd + vec8(sid) + u16(suite) + b"\x00" + vec16(b"".join(exts))
    return handshake(HS_SERVER_HELLO, body)


def make_chain(rng, size):
    """A Certificate message body of about size bytes: two DER-looking blobs."""
    blobs = []
    for n in (size * 3 // 5, size * 2 // 5):
        inner = rng.randbytes(n - 4)
        blobs.append(vec24(b"\x30\x82" + struct.pack(">H", len(inner)) + inner))
    return handshake(HS_CERTIFICATE, vec24(b"".join(blobs)))


# --- Capture: pcap (LINKTYPE_ETHERNET), IPv4, TCP ----------------------------------------

PCAP_GLOBAL = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
PCAP_REC = struct.Struct("<IIII")
# Ethernet addresses (12 bytes), ethertype, IPv4 header (no options), TCP header.
FRAME = struct.Struct(">12sHBBHHHBBHIIHHIIBBHHH")
MACS = (bytes.fromhex("020000000002" "020000000001"),   # client -> server: dst, src
        bytes.fromhex("020000000001" "020000000002"))   # server -> client
# MSS 1460, NOP, window scale 7, NOP, NOP, SACK permitted: 12 bytes.
SYN_OPTS = bytes.fromhex("020405b4010303070101" "0402")
MSS = 1448

FIN, SYN, PSH, ACK = 0x01, 0x02, 0x08, 0x10


def segments(data, first=MSS):
    """Splits a flight into MSS-sized segments."""
    return [data[i:i + first] for i in range(0, len(data), first)] or [b""]


def flow_addresses(i):
    """Distinct (client ip, client port) for every i below 65000 * 28000; 200 servers."""
    cip = 0x0A000001 + (i % 65000)                        # 10.0.0.1 ...
    cport = 32768 + (i // 65000) % 28000
    sidx = ((i * 2654435761) >> 7) % 200
    if sidx < 100:
        sip = 0xCB007100 + sidx + 1                       # 203.0.113.0/24, TEST-NET-3
    else:
        sip = 0xC6336400 + sidx - 99                      # 198.51.100.0/24, TEST-NET-2
    return cip, cport, sip


class Builder:
    """Builds each connection's frames; the payload bytes are shared where they may be."""

    def __init__(self, rng, data_packets=None):
        self.rng = rng
        # None: the default mix of about ten data segments; 0: handshake and FINs only.
        self.data_packets = data_packets
        self.hellos = HelloMaker()
        self.chains = [make_chain(rng, rng.randrange(2300, 2700)) for _ in range(16)]
        pool = rng.randbytes(1 << 16)
        # Application data: one record of 1395 bytes of ciphertext per 1400-byte segment, in
        # 32 variants that a random byte & 31 picks from.
        self.appdata = [record(CT_APPDATA, TLS12, pool[o:o + 1395])
                        for o in range(0, 60000, 1500)][:32]
        # TLS 1.3: EncryptedExtensions..Finished as one ~2.5 KiB encrypted record.
        self.enc_flight = [record(CT_APPDATA, TLS12, pool[o:o + n])
                           for o, n in ((100, 2400), (3000, 2650), (7000, 2550), (12000, 2500))]
        self.ccs = record(CT_CCS, TLS12, b"\x01")
        self.fin12 = record(CT_HANDSHAKE, TLS12, pool[20000:20040])
        self.fin13 = record(CT_APPDATA, TLS12, pool[21000:21053])
        self.ticket = record(CT_APPDATA, TLS12, pool[22000:22250])
        # ClientKeyExchange: an ECDHE point (RFC 8422 5.7) or an RSA-encrypted premaster
        # secret (RFC 5246 7.4.7.1), whichever the chosen suite calls for.
        self.cke_ecdhe = record(CT_HANDSHAKE, TLS12,
                                handshake(HS_CLIENT_KEY_EXCHANGE, vec8(pool[23000:23065])))
        self.cke_rsa = record(CT_HANDSHAKE, TLS12,
                              handshake(HS_CLIENT_KEY_EXCHANGE, vec16(pool[24000:24256])))
        self.shd = record(CT_HANDSHAKE, TLS12, handshake(HS_SERVER_HELLO_DONE, b""))
        self.mix = []
        for v, w in VERSION_MIX:
            self.mix += [v] * w
        self.frame = FRAME.pack

    def plan(self, i, rb):
        """The connection's segments: [(dir, tcp flags, payload, options)], dir 0 = client."""
        version = self.mix[(rb[160] << 8 | rb[161]) % len(self.mix)]
        alpn_idx = rb[162] % len(ALPNS) if version >= TLS12 else len(ALPNS) - 1
        grease_seed = rb[163] << 4 | rb[164] >> 4 if version == TLS13 and rb[165] < 180 else None
        ch = self.hellos.make(rb[0:32], rb[32:64], rb[64:96], version, b"host%d.bench.test" % i,
                              alpn_idx, version >= TLS12 or rb[166] < 128, grease_seed)
        choices = CHOICES[version]
        suite = choices[rb[167] % len(choices)]
        # A TLS 1.3 server echoes the client's legacy session id (RFC 8446 4.1.3).
        sid = rb[32:64] if version == TLS13 else rb[128:160]
        sh = server_hello(rb[96:128], sid, rb[128:160], version, suite, ALPNS[alpn_idx])
        if version == TLS13:
            # The certificate travels encrypted after the compatibility CCS (RFC 8446 D.4).
            flight = (record(CT_HANDSHAKE, TLS12, sh) + self.ccs +
                      self.enc_flight[rb[168] % len(self.enc_flight)])
            client_fin = self.ccs + self.fin13
            server_fin = self.ticket
        else:
            rv = min(version, TLS12)
            flight = (record(CT_HANDSHAKE, rv, sh) +
                      record(CT_HANDSHAKE, rv, self.chains[rb[168] % len(self.chains)]) +
                      self.shd)
            cke = self.cke_ecdhe if suite >= 0xC000 else self.cke_rsa
            client_fin = cke + self.ccs + self.fin12
            server_fin = self.ccs + self.fin12
        pk = [(0, SYN, b"", SYN_OPTS), (1, SYN | ACK, b"", SYN_OPTS), (0, ACK, b"", b""),
              (0, PSH | ACK, ch, b"")]
        segs = segments(flight)
        for n, seg in enumerate(segs):
            pk.append((1, ACK | (PSH if n == len(segs) - 1 else 0), seg, b""))
        pk.append((0, ACK, b"", b""))
        pk.append((0, PSH | ACK, client_fin, b""))
        pk.append((1, PSH | ACK, server_fin, b""))
        app = self.appdata
        if self.data_packets is None:
            # Ten data segments on average: a request, a response of 6..10 segments, a request.
            pk.append((0, PSH | ACK, app[rb[170] & 31], b""))
            nresp = 6 + rb[169] % 5
            for n in range(nresp):
                pk.append((1, ACK | (PSH if n == nresp - 1 else 0), app[rb[171 + n] & 31], b""))
            pk.append((0, ACK, b"", b""))
            pk.append((0, PSH | ACK, app[rb[181] & 31], b""))
        elif self.data_packets:
            # Exactly data_packets segments: a request, then a response of the rest, acked.
            pk.append((0, PSH | ACK, app[rb[170] & 31], b""))
            nresp = self.data_packets - 1
            for n in range(nresp):
                pk.append((1, ACK | (PSH if n == nresp - 1 else 0),
                           app[(rb[171 + n % 10] + n) & 31], b""))
            if nresp:
                pk.append((0, ACK, b"", b""))
        pk.append((0, FIN | ACK, b"", b""))
        pk.append((1, FIN | ACK, b"", b""))
        pk.append((0, ACK, b"", b""))
        return pk

    def connection(self, i):
        """The connection's frames without their pcap headers: [(headers, payload, length)]."""
        rb = self.rng.randbytes(192)
        cip, cport, sip = flow_addresses(i)
        # Per direction: MACs, source, destination, ports, TTL, window.
        ends = ((MACS[0], cip, sip, cport, 443, 64, 502), (MACS[1], sip, cip, 443, cport, 57, 501))
        # IPv4 header checksum (RFC 791): the words that never change, summed once.
        fixed = 0x4500 + 0x4000 + (6 | 64 << 8) + (cip >> 16) + (cip & 0xFFFF) + (sip >> 16) + \
            (sip & 0xFFFF)
        csum = (fixed, fixed - (7 << 8))
        seq = [int.from_bytes(rb[182:186], "big"), int.from_bytes(rb[186:190], "big")]
        ipid = [rb[190] << 8, rb[191] << 8]
        frame = self.frame
        out = []
        append = out.append
        for d, flags, payload, opts in self.plan(i, rb):
            mac, src, dst, sport, dport, ttl, win = ends[d]
            olen = len(opts)
            plen = len(payload)
            tot = 40 + olen + plen
            me = ipid[d]
            s = csum[d] + tot + me
            s = (s & 0xFFFF) + (s >> 16)
            s = (s & 0xFFFF) + (s >> 16)
            sq = seq[d]
            # TCP checksum left zero, as in captures taken with checksum offload.
            h = frame(mac, 0x0800, 0x45, 0, tot, me, 0x4000, ttl, 6, ~s & 0xFFFF, src, dst,
                      sport, dport, sq, seq[d ^ 1] if flags & ACK else 0, (5 + olen // 4) << 4,
                      flags, win, 0, 0)
            append((h + opts if olen else h, payload, 14 + tot))
            seq[d] = (sq + plen + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF
            ipid[d] = (me + 1) & 0xFFFF
        return out


def write_capture(out, nconn, concurrent, seed, step_us, data_packets=None):
    """Writes the capture; returns (packets, bytes)."""
    b = Builder(random.Random(seed), data_packets)
    pack_rec = PCAP_REC.pack
    buf = bytearray(PCAP_GLOBAL)
    ts_s, ts_us = 1700000000, 0
    packets = 0
    nslots = min(concurrent, nconn)
    frames = [b.connection(k) for k in range(nslots)]
    # Where each open connection is; a negative position is rounds still to wait, which
    # staggers the first connections so the open set is not one batch in lockstep.
    pos = [-(k % 23) for k in range(nslots)]
    started = nslots
    active = nslots
    with open(out, "wb") as f:
        while active:
            for k in range(nslots):
                fr = frames[k]
                if fr is None:
                    continue
                idx = pos[k]
                pos[k] = idx + 1
                if idx < 0:
                    continue
                h, p, n = fr[idx]
                buf += pack_rec(ts_s, ts_us, n, n)
                buf += h
                buf += p
                ts_us += step_us
                if ts_us >= 1000000:
                    ts_s += ts_us // 1000000
                    ts_us %= 1000000
                packets += 1
                if idx + 1 == len(fr):
                    pos[k] = 0
                    if started < nconn:
                        frames[k] = b.connection(started)
                        started += 1
                    else:
                        frames[k] = None
                        active -= 1
            if len(buf) > (8 << 20):
                f.write(buf)
                del buf[:]
        f.write(buf)
        nbytes = f.tell()
    return packets, nbytes


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--connections", type=int, default=200000,
                    help="TLS connections to write (default 200000)")
    ap.add_argument("--out", default="bench.pcap", help="output file (default bench.pcap)")
    ap.add_argument("--concurrent", type=int, default=1000,
                    help="connections open at once, interleaved round-robin (default 1000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--step-us", type=int, default=10,
                    help="microseconds between packets (default 10)")
    ap.add_argument("--data-packets", type=int, default=None, metavar="N",
                    help="application-data segments per connection: 0 for handshake, CCS "
                         "and FINs only (12 packets, ~4.0 KB a connection), N for a request "
                         "and N-1 response segments (default: 8 to 12, ~18.8 KB)")
    a = ap.parse_args()
    if a.connections < 1 or a.connections > 65000 * 28000 or a.concurrent < 1:
        ap.error("--connections must be 1..1820000000 and --concurrent at least 1")
    if a.data_packets is not None and a.data_packets < 0:
        ap.error("--data-packets must be 0 or more")
    packets, nbytes = write_capture(a.out, a.connections, a.concurrent, a.seed, a.step_us,
                                    a.data_packets)
    # One "name value" pair per line, like pcap_loop: bench/run.sh reads them.
    print("connections %d" % a.connections)
    print("packets %d" % packets)
    print("bytes %d" % nbytes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
