#!/usr/bin/env python3
"""Wrap every frame of an Ethernet pcap in one tunnel encapsulation, as a mirror port,
a cloud traffic mirror or a routed tunnel would deliver it.

Only the framing is added: the inner frame (or its IP packet) and every timestamp are kept
byte for byte, so a reader must find the same TLS sessions in the output as in the input.
The output is a function of the input alone (no clock, no randomness).

usage: wrap.py ENCAPSULATION INPUT.pcap OUTPUT.pcap
       wrap.py --list
"""
import struct
import sys
import zlib

# Outer addresses come from documentation ranges (RFC 5737, RFC 3849, RFC 7042) so they can
# never be mistaken for the inner endpoints (10.99.0.x and fd00:99::x in samples/).
# Routed tunnels have two ends: A faces the TLS client, B the server; traffic flows both ways.
TUN_A4, TUN_B4 = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
TUN_A6 = bytes.fromhex("20010db8000000000000000000000001")
TUN_B6 = bytes.fromhex("20010db8000000000000000000000002")
# A mirror sends one way only: from the switch or cloud mirror source to the collector.
MIR_SRC4, MIR_DST4 = bytes([198, 51, 100, 10]), bytes([198, 51, 100, 20])
# GTP-U: the radio side (eNodeB/gNB, where the client is) and the user-plane function.
RAN4, UPF4 = bytes([203, 0, 113, 1]), bytes([203, 0, 113, 2])
MAC_A, MAC_B = bytes.fromhex("00005e005301"), bytes.fromhex("00005e005302")
MAC_MIR_SRC, MAC_MIR_DST = bytes.fromhex("00005e005310"), bytes.fromhex("00005e005320")

ET_IPV4, ET_IPV6, ET_VLAN, ET_QINQ = 0x0800, 0x86DD, 0x8100, 0x88A8
ET_MPLS, ET_PPPOE_SESSION, ET_TEB = 0x8847, 0x8864, 0x6558
ET_ERSPAN_2, ET_ERSPAN_3 = 0x88BE, 0x22EB
IPPROTO_IPIP, IPPROTO_UDP, IPPROTO_IPV6, IPPROTO_GRE = 4, 17, 41, 47
UDP_VXLAN, UDP_GENEVE, UDP_GTPU = 4789, 6081, 2152

GRE_C, GRE_K, GRE_S = 0x8000, 0x2000, 0x1000


class Frame:
    """One input frame, split into its Ethernet header and IP packet."""

    def __init__(self, ts_sec, ts_frac, data):
        self.ts_sec, self.ts_frac, self.data = ts_sec, ts_frac, data
        if len(data) < 14:
            raise ValueError("frame shorter than an Ethernet header")
        self.dst, self.src = data[0:6], data[6:12]
        (self.ethertype,) = struct.unpack("!H", data[12:14])
        ip = data[14:]
        if self.ethertype == ET_IPV4 and len(ip) >= 20 and ip[0] >> 4 == 4:
            (n,) = struct.unpack("!H", ip[2:4])
            self.ip_src, self.ip_dst = ip[12:16], ip[16:20]
        elif self.ethertype == ET_IPV6 and len(ip) >= 40 and ip[0] >> 4 == 6:
            n = 40 + struct.unpack("!H", ip[4:6])[0]
            self.ip_src, self.ip_dst = ip[8:24], ip[24:40]
        else:
            raise ValueError("ethertype 0x%04x: only untagged IPv4/IPv6 frames are wrapped"
                             % self.ethertype)
        if n > len(ip):
            raise ValueError("IP packet cut short (%d of %d bytes)" % (len(ip), n))
        # Drop Ethernet padding: a tunnel that carries the IP packet carries only the packet.
        self.ip = ip[:n]


# ---- checksums and the headers every encapsulation shares ----

def csum(data):
    """RFC 1071 Internet checksum (one's complement of the one's complement sum)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ether(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, ident, payload):
    """RFC 791 header without options; DF set, since nothing here is ever fragmented."""
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000,
                      64, proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def ipv6(src, dst, next_header, payload):
    """RFC 8200 header: traffic class 0, flow label 0, hop limit 64."""
    return struct.pack("!IHBB", 6 << 28, len(payload), next_header, 64) + src + dst + payload


def udp4(src, dst, sport, dport, payload, with_checksum):
    """RFC 768. A zero checksum means 'none' over IPv4; VXLAN asks for that (RFC 7348 5)."""
    length = 8 + len(payload)
    c = 0
    if with_checksum:
        pseudo = src + dst + struct.pack("!BBH", 0, IPPROTO_UDP, length)
        c = csum(pseudo + struct.pack("!HHHH", sport, dport, length, 0) + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, c) + payload


def gre(proto, payload, checksum=False, key=None, seq=None):
    """RFC 2784 with the RFC 2890 key and sequence number extensions, version 0."""
    flags = (GRE_C if checksum else 0) | (GRE_K if key is not None else 0) | \
        (GRE_S if seq is not None else 0)
    opt = b""
    if checksum:
        opt += struct.pack("!HH", 0, 0)  # checksum, then Reserved1
    if key is not None:
        opt += struct.pack("!I", key)
    if seq is not None:
        opt += struct.pack("!I", seq & 0xFFFFFFFF)
    hdr = struct.pack("!HH", flags, proto) + opt
    if checksum:
        # RFC 2784 2.5: over the GRE header and payload, with the checksum field zero.
        hdr = hdr[:4] + struct.pack("!H", csum(hdr + payload)) + hdr[6:]
    return hdr + payload


def entropy_port(f):
    """RFC 7348 5: the outer UDP source port is a hash of the inner flow, in 49152-65535.
    Hashing the sorted inner addresses gives both directions the same port."""
    return 49152 + zlib.crc32(b"".join(sorted([f.ip_src, f.ip_dst]))) % 16384


# ---- the encapsulations ----

class Wrapper:
    """State shared across frames: which side is the client, and per-direction counters."""

    def __init__(self, encap, first, frac_per_100us):
        self.encap = encap
        self.frac_per_100us = frac_per_100us  # 100 for microsecond pcaps, 100000 for nano
        self.client = first.ip_src  # the first frame is the client's SYN
        self.counters = {}

    def count(self, name):
        n = self.counters.get(name, 0)
        self.counters[name] = n + 1
        return n

    def routed(self, f):
        """Outer (src, dst, src MAC, dst MAC, from client?) of a two-way tunnel."""
        if f.ip_src == self.client:
            return TUN_A4, TUN_B4, MAC_A, MAC_B, True
        return TUN_B4, TUN_A4, MAC_B, MAC_A, False

    def over_ipv4(self, f, proto, payload):
        src, dst, smac, dmac, _ = self.routed(f)
        return ether(dmac, smac, ET_IPV4, ipv4(src, dst, proto, 1 + self.count(src), payload))

    def mirror(self, proto, payload):
        return ether(MAC_MIR_DST, MAC_MIR_SRC, ET_IPV4,
                     ipv4(MIR_SRC4, MIR_DST4, proto, 1 + self.count("mirror"), payload))

    def erspan3_hdr(self, f, subheader):
        """ERSPAN type III (draft-foschiano-erspan-03 4.2): Ver 2, VLAN 0, COS 0, BSO 0, T 0,
        session 200; timestamp in 100 us units (Gra 00), low 32 bits here and the high 32 bits
        in the platform subheader when there is one; SGT 0, P 0, FT 0 (Ethernet frame),
        HW ID 5, D 0 for frames from the client (ingress) and 1 for replies, O = subheader."""
        ts = f.ts_sec * 10000 + f.ts_frac // self.frac_per_100us
        d = 0 if f.ip_src == self.client else 1
        hw_id, o = 5, 1 if subheader else 0
        word2 = (0 << 15) | (0 << 10) | (hw_id << 4) | (d << 3) | (0 << 1) | o
        hdr = struct.pack("!HHIHH", (2 << 12) | 0, 200, ts & 0xFFFFFFFF, 0, word2)
        if subheader:
            # Platf ID 3: port ID/index 7 in the first word, upper timestamp bits in the second.
            hdr += struct.pack("!II", (3 << 26) | 7, ts >> 32)
        return hdr

    def wrap(self, f):
        e = self.encap
        if e == "gre":
            return self.over_ipv4(f, IPPROTO_GRE, gre(f.ethertype, f.ip))
        if e == "gre-key-seq":
            key = 0x00010203
            seq = self.count("seq" + f.ip_src.hex())
            return self.over_ipv4(f, IPPROTO_GRE,
                                  gre(f.ethertype, f.ip, checksum=True, key=key, seq=seq))
        if e == "gre-eth":
            # NVGRE (RFC 7637) shape: K set, key = 24-bit virtual subnet ID + 8-bit flow ID.
            key = (0x00ABCD << 8) | (zlib.crc32(f.ip_src + f.ip_dst) & 0xFF)
            return self.over_ipv4(f, IPPROTO_GRE, gre(ET_TEB, f.data, key=key))
        if e == "erspan1":
            return self.mirror(IPPROTO_GRE, gre(ET_ERSPAN_2, f.data))
        if e == "erspan2":
            # draft-foschiano-erspan-03 4.1: Ver 1, VLAN 0, COS 0, En 0 (untagged), T 0,
            # session 100; Reserved 0, Index 3 (the mirrored port).
            hdr = struct.pack("!HHI", (1 << 12) | 0, 100, 3)
            return self.mirror(IPPROTO_GRE,
                               gre(ET_ERSPAN_2, hdr + f.data, seq=self.count("seq")))
        if e in ("erspan3", "erspan3-sub"):
            hdr = self.erspan3_hdr(f, e == "erspan3-sub")
            return self.mirror(IPPROTO_GRE,
                               gre(ET_ERSPAN_3, hdr + f.data, seq=self.count("seq")))
        if e == "vxlan":
            # RFC 7348 5: flags with only I set, 24 reserved bits, VNI, 8 reserved bits.
            hdr = struct.pack("!II", 0x08 << 24, 0x000C0A << 8)
            return self.mirror(IPPROTO_UDP, udp4(MIR_SRC4, MIR_DST4, entropy_port(f), UDP_VXLAN,
                                                 hdr + f.data, False))
        if e == "geneve":
            # RFC 8926 3.5 option: class 0xFF01 (experimental use range), type 0x01,
            # length 1 (4 bytes of data after the 4-byte option header).
            opt = struct.pack("!HBB", 0xFF01, 0x01, 1) + struct.pack("!I", 0x5EC0FFEE)
            # RFC 8926 3.4: Ver 0, Opt Len in 4-byte words, O 0, C 0, protocol, VNI, reserved.
            hdr = struct.pack("!BBHI", len(opt) // 4, 0, ET_TEB, 0x00C0DE << 8) + opt
            return self.mirror(IPPROTO_UDP, udp4(MIR_SRC4, MIR_DST4, entropy_port(f),
                                                 UDP_GENEVE, hdr + f.data, True))
        if e == "mpls":
            # RFC 3032 2.1: label 20 bits, TC 3, S (bottom of stack) 1, TTL 8.
            # A transport label, then a service (VPN) label at the bottom of the stack.
            stack = struct.pack("!II", (16004 << 12) | (0 << 9) | (0 << 8) | 64,
                                (24001 << 12) | (0 << 9) | (1 << 8) | 64)
            return ether(f.dst, f.src, ET_MPLS, stack + f.ip)
        if e == "pppoe-qinq":
            # IEEE 802.1ad S-tag (VID 100) then 802.1Q C-tag (VID 200), PCP 0, DEI 0.
            tags = struct.pack("!HHH", 100, ET_VLAN, 200)
            ppp_proto = 0x0021 if f.ethertype == ET_IPV4 else 0x0057
            ppp = struct.pack("!H", ppp_proto) + f.ip
            # RFC 2516 4: VER 1, TYPE 1, CODE 0 (session data), SESSION_ID, LENGTH of PPP.
            pppoe = struct.pack("!BBHH", 0x11, 0x00, 0x0042, len(ppp)) + ppp
            return f.dst + f.src + struct.pack("!H", ET_QINQ) + tags + \
                struct.pack("!H", ET_PPPOE_SESSION) + pppoe
        if e == "ipip":
            self.need(f, ET_IPV4)
            return self.over_ipv4(f, IPPROTO_IPIP, f.ip)
        if e == "6in4":
            self.need(f, ET_IPV6)
            return self.over_ipv4(f, IPPROTO_IPV6, f.ip)
        if e == "4in6":
            self.need(f, ET_IPV4)
            fwd = f.ip_src == self.client
            src, dst = (TUN_A6, TUN_B6) if fwd else (TUN_B6, TUN_A6)
            smac, dmac = (MAC_A, MAC_B) if fwd else (MAC_B, MAC_A)
            return ether(dmac, smac, ET_IPV6, ipv6(src, dst, IPPROTO_IPIP, f.ip))
        if e in ("gtpu", "gtpu-seq"):
            return self.gtpu(f, e == "gtpu-seq")
        raise ValueError("unknown encapsulation " + e)

    def gtpu(self, f, with_seq):
        """3GPP TS 29.281 5.1: version 1, PT 1, E 0, S, PN 0; type 255 (G-PDU); length of
        what follows the first 8 bytes; TEID of the receiving end. Uplink (client side) goes
        from the radio node to the UPF."""
        up = f.ip_src == self.client
        teid = 0x1000A001 if up else 0x2000B002
        opt = b""
        flags = 0x30
        if with_seq:
            flags |= 0x02
            # Sequence number, N-PDU number (not valid: PN 0), next extension type 0 (none).
            opt = struct.pack("!HBB", self.count("gtp" + str(up)) & 0xFFFF, 0, 0)
        hdr = struct.pack("!BBHI", flags, 0xFF, len(opt) + len(f.ip), teid) + opt
        src, dst = (RAN4, UPF4) if up else (UPF4, RAN4)
        smac, dmac = (MAC_A, MAC_B) if up else (MAC_B, MAC_A)
        u = udp4(src, dst, UDP_GTPU, UDP_GTPU, hdr + f.ip, True)
        return ether(dmac, smac, ET_IPV4, ipv4(src, dst, IPPROTO_UDP, 1 + self.count(src), u))

    @staticmethod
    def need(f, ethertype):
        if f.ethertype != ethertype:
            raise ValueError("this encapsulation needs %s inner packets"
                             % ("IPv4" if ethertype == ET_IPV4 else "IPv6"))


ENCAPSULATIONS = ["gre", "gre-key-seq", "gre-eth", "erspan1", "erspan2", "erspan3",
                  "erspan3-sub", "vxlan", "geneve", "mpls", "pppoe-qinq", "ipip", "6in4",
                  "4in6", "gtpu", "gtpu-seq"]


# ---- classic pcap in and out ----

MAGIC_US, MAGIC_NS = 0xA1B2C3D4, 0xA1B23C4D
LINKTYPE_ETHERNET = 1


def read_pcap(path):
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 24:
        raise ValueError("%s: too short for a pcap header" % path)
    for bo in "<>":
        (magic,) = struct.unpack(bo + "I", data[:4])
        if magic in (MAGIC_US, MAGIC_NS):
            break
    else:
        raise ValueError("%s: not a classic pcap file (pcapng is not read here)" % path)
    _, _, _, _, snaplen, linktype = struct.unpack(bo + "HHiIII", data[4:24])
    if linktype & 0x0FFFFFFF != LINKTYPE_ETHERNET:
        raise ValueError("%s: link type %d, expected 1 (Ethernet)" % (path, linktype))
    frames, off = [], 24
    while off < len(data):
        if off + 16 > len(data):
            raise ValueError("%s: truncated record header at offset %d" % (path, off))
        ts_sec, ts_frac, caplen, origlen = struct.unpack(bo + "IIII", data[off:off + 16])
        body = data[off + 16:off + 16 + caplen]
        if len(body) != caplen or caplen != origlen:
            raise ValueError("%s: frame at offset %d is cut short" % (path, off))
        try:
            frames.append(Frame(ts_sec, ts_frac, body))
        except ValueError as err:
            raise ValueError("%s frame %d: %s" % (path, len(frames) + 1, err)) from None
        off += 16 + caplen
    return magic, snaplen, frames


def write_pcap(path, magic, frames):
    out = [struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 262144, LINKTYPE_ETHERNET)]
    for ts_sec, ts_frac, data in frames:
        out.append(struct.pack("<IIII", ts_sec, ts_frac, len(data), len(data)) + data)
    with open(path, "wb") as fh:
        fh.write(b"".join(out))


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(ENCAPSULATIONS))
        return 0
    if len(argv) != 4 or argv[1] not in ENCAPSULATIONS:
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        print("encapsulations: " + " ".join(ENCAPSULATIONS), file=sys.stderr)
        return 2
    encap, src, dst = argv[1:]
    try:
        magic, _, frames = read_pcap(src)
        if not frames:
            raise ValueError("%s: no frames" % src)
        w = Wrapper(encap, frames[0], 100000 if magic == MAGIC_NS else 100)
        out = []
        for i, f in enumerate(frames, 1):
            try:
                out.append((f.ts_sec, f.ts_frac, w.wrap(f)))
            except ValueError as err:
                raise ValueError("%s frame %d: %s" % (src, i, err)) from None
    except (OSError, ValueError) as err:
        print("wrap.py: %s" % err, file=sys.stderr)
        return 1
    write_pcap(dst, magic, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
