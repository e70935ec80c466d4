"""What the Python integration tests (tests/*_test.py) share: counting checks, running the
built binary, reading its NDJSON export, and rewriting the samples' pcap files.

Standard library only; each test imports what it uses and keeps its own checks. Nothing here
asserts anything about tlscensus itself.
"""
import collections
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios


# ---------------------------------------------------------------- checks


class Checks:
    """Counts a test's checks and failures and prints its summary line."""

    def __init__(self, name):
        self.name = name
        self.count = 0
        self.failures = []

    def check(self, cond, msg):
        """One check: a false cond is a failure named by msg. Returns cond."""
        self.count += 1
        if not cond:
            self.fail(msg)
        return cond

    def fail(self, msg):
        """A failure found outside check(), by a test that counts its checks itself."""
        self.failures.append(msg)
        print("FAIL: " + msg, file=sys.stderr)

    def summary(self, count=None):
        """Prints `NAME: N checks, M failed` and returns the exit code. count: the number of
        checks, for a test that does not count them with check()."""
        print("%s: %d checks, %d failed" % (self.name, self.count if count is None else count,
                                            len(self.failures)))
        return 1 if self.failures else 0


# ---------------------------------------------------------------- processes


def run(argv, timeout=None, **kw):
    """A finished process with its output captured, as text unless text=False. Never an
    exception: one that times out or cannot start comes back with returncode None and the
    reason in stderr."""
    kw.setdefault("text", True)
    if "input" not in kw:
        kw.setdefault("stdin", subprocess.DEVNULL)  # never the terminal's or meson's
    text = kw["text"]
    try:
        return subprocess.run(argv, capture_output=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""  # bytes on POSIX, even with text=True
        if isinstance(out, str):
            out = out.encode()
        return _unfinished(argv, out.decode(errors="replace") if text else out,
                           "timed out after %d s" % timeout, text)
    except OSError as e:
        return _unfinished(argv, "" if text else b"", str(e), text)


def _unfinished(argv, out, reason, text):
    return subprocess.CompletedProcess(argv, None, out, reason if text else reason.encode())


def on_terminal(argv, cols, env=None, rows=40):
    """Runs argv with its standard output on a pseudo-terminal of cols columns (0: a window
    size the program cannot learn, so it falls back to $COLUMNS). Returns (exit code, output
    text); output post-processing (LF to CRLF) is off, so lines come back as written."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    p = subprocess.Popen(argv, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the program closed its end
            break
        if not chunk:
            break
        out += chunk
    p.communicate(timeout=60)
    os.close(master)
    return p.returncode, out.decode("utf-8")


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(text):
    """text without its ANSI colour sequences."""
    return ANSI.sub("", text)


def ndjson(text):
    """The records of NDJSON text, one per non-empty line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def export(tc, db, **kw):
    """`tlscensus export --format ndjson` of a database: (the finished process, its records,
    none unless it exited 0)."""
    r = run([tc, "export", "--db", db, "--format", "ndjson"], **kw)
    return r, ndjson(r.stdout) if r.returncode == 0 else []


# Export keys left out when two reads of the same connection are compared: the capture times
# (the same bytes, but no need to depend on it) and the nDPI application label.
UNCOMPARED = {"first_ts", "last_ts", "app"}


def without(rows, keys):
    """Copies of the rows (dicts) without the given keys."""
    return [{k: v for k, v in row.items() if k not in keys} for row in rows]


# ---------------------------------------------------------------- pcap files

_MAGIC_LE = (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")  # microsecond, nanosecond
_MAGIC_BE = (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d")
LINKTYPE_ETHERNET = 1


def _endian(header):
    return "<" if header[:4] in _MAGIC_LE else ">"


class Pcap:
    """A classic pcap file of Ethernet frames, as the samples are. packets: a list of
    [sec, subsec, bytearray frame] for the caller to change in place."""

    def __init__(self, path):
        data = open(path, "rb").read()
        if len(data) < 24 or data[:4] not in _MAGIC_LE + _MAGIC_BE:
            raise ValueError("%s: not a classic pcap file" % path)
        self.header = data[:24]
        e = _endian(self.header)
        if struct.unpack_from(e + "I", data, 20)[0] != LINKTYPE_ETHERNET:
            raise ValueError("%s: not an Ethernet capture" % path)
        self.packets = []
        off = 24
        while off + 16 <= len(data):
            sec, subsec, caplen, _ = struct.unpack_from(e + "IIII", data, off)
            self.packets.append([sec, subsec, bytearray(data[off + 16:off + 16 + caplen])])
            off += 16 + caplen

    def write(self, path):
        return write_pcap(path, self.header, self.packets)

    def shift(self, seconds):
        for p in self.packets:
            p[0] += seconds
        return self


def write_pcap(path, header, packets):
    """Writes (sec, subsec, frame) packets after a pcap file header; returns path."""
    e = _endian(header)
    with open(path, "wb") as f:
        f.write(header)
        for sec, subsec, frame in packets:
            f.write(struct.pack(e + "IIII", sec, subsec, len(frame), len(frame)))
            f.write(frame)
    return path


# ---------------------------------------------------------------- IPv4, TCP and the ClientHello


def checksum(data):
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_tcp(frame):
    """Offsets in an Ethernet/IPv4/TCP frame: (IPv4 header, TCP header, payload, end of the
    IPv4 packet); None for any other frame."""
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ip = 14
    tcp = ip + (frame[ip] & 15) * 4
    end = ip + struct.unpack_from("!H", frame, ip + 2)[0]
    return ip, tcp, tcp + (frame[tcp + 12] >> 4) * 4, end


def src_ip(frame):
    return ".".join(str(b) for b in frame[26:30])


def fix_checksums(frame):
    """Recomputes the IPv4 header and TCP checksums of an Ethernet/IPv4/TCP frame."""
    o = ipv4_tcp(frame)
    if not o:
        return
    ip, tcp, _, end = o
    frame[ip + 10:ip + 12] = b"\0\0"
    frame[ip + 10:ip + 12] = struct.pack("!H", checksum(bytes(frame[ip:tcp])))
    frame[tcp + 16:tcp + 18] = b"\0\0"
    pseudo = bytes(frame[ip + 12:ip + 20]) + struct.pack("!BBH", 0, 6, end - tcp)
    frame[tcp + 16:tcp + 18] = struct.pack("!H", checksum(pseudo + bytes(frame[tcp:end])))


def hello_offset(frame):
    """Where the TLS record starts in a frame whose TCP payload begins with a ClientHello
    record; None for any other frame."""
    o = ipv4_tcp(frame)
    if o and len(frame) > o[2] + 5 and frame[o[2]] == 0x16 and frame[o[2] + 5] == 1:
        return o[2]
    return None


def client_hello(pcap):
    """(packet index, record offset) of the first ClientHello that starts a segment."""
    for i, (_, _, frame) in enumerate(pcap.packets):
        p = hello_offset(frame)
        if p is not None:
            return i, p
    raise ValueError("no ClientHello in one IPv4 segment")


Hello = collections.namedtuple("Hello", "version ciphers extensions_at sni")


def hello_fields(frame, p):
    """Offsets inside the ClientHello record at p: the version, the cipher list (start,
    length), the extensions' total length, and the SNI host name (start, length) or None."""
    body = p + 9  # record header, handshake header
    sid = body + 2 + 32
    cs = sid + 1 + frame[sid]
    cs_len = struct.unpack_from("!H", frame, cs)[0]
    comp = cs + 2 + cs_len
    ext_at = comp + 1 + frame[comp]
    ext, end = ext_at + 2, ext_at + 2 + struct.unpack_from("!H", frame, ext_at)[0]
    sni = None
    while ext + 4 <= end:
        typ, n = struct.unpack_from("!HH", frame, ext)
        if typ == 0:  # server_name: list length, name type, name length, name
            sni = (ext + 9, struct.unpack_from("!H", frame, ext + 7)[0])
        ext += 4 + n
    return Hello(body, (cs + 2, cs_len), ext_at, sni)


def _add(frame, at, size, delta):
    value = (int.from_bytes(frame[at:at + size], "big") + delta) % (1 << 8 * size)
    frame[at:at + size] = value.to_bytes(size, "big")


def set_sni(pcap, name):
    """Gives the first ClientHello of a capture of one IPv4 connection the server name `name`
    (bytes, any length): every length that covers the name moves with it (record, handshake,
    extensions, server_name, its list, IPv4 total length), and so do the client's later
    sequence numbers and the server's acknowledgements; checksums are fixed."""
    i, p = client_hello(pcap)
    frame = pcap.packets[i][2]
    hello = hello_fields(frame, p)
    if hello.sni is None:
        raise ValueError("the first ClientHello has no server_name")
    at, old = hello.sni
    delta = len(name) - old
    frame[at:at + old] = name
    ip = ipv4_tcp(frame)[0]
    # record, handshake, extensions, server_name extension, its list, the name; IPv4 packet
    for field, size in ((p + 3, 2), (p + 6, 3), (hello.extensions_at, 2),
                        (at - 7, 2), (at - 5, 2), (at - 2, 2), (ip + 2, 2)):
        _add(frame, field, size, delta)
    fix_checksums(frame)
    if delta:
        client = frame[26:30]
        for _, _, later in pcap.packets[i + 1:]:
            o = ipv4_tcp(later)
            if o:  # the client's sequence number, the server's acknowledgement number
                _add(later, o[1] + 4 if later[26:30] == client else o[1] + 8, 4, delta)
                fix_checksums(later)
    return pcap


def set_address(pcap, old, new):
    """Every occurrence of IPv4 address old (dotted), as source or destination, becomes new;
    checksums are fixed."""
    o, n = bytes(int(x) for x in old.split(".")), bytes(int(x) for x in new.split("."))
    for _, _, frame in pcap.packets:
        if o not in (frame[26:30], frame[30:34]):
            continue
        if frame[26:30] == o:
            frame[26:30] = n
        if frame[30:34] == o:
            frame[30:34] = n
        fix_checksums(frame)
    return pcap


def set_port(pcap, address, old, new):
    """TCP port old of IPv4 address (dotted) becomes new, as source and as destination;
    checksums are fixed."""
    ip = bytes(int(x) for x in address.split("."))
    old, new = struct.pack("!H", old), struct.pack("!H", new)
    for _, _, frame in pcap.packets:
        o = ipv4_tcp(frame)
        if not o:
            continue
        if frame[26:30] == ip and frame[o[1]:o[1] + 2] == old:
            frame[o[1]:o[1] + 2] = new
        elif frame[30:34] == ip and frame[o[1] + 2:o[1] + 4] == old:
            frame[o[1] + 2:o[1] + 4] = new
        else:
            continue
        fix_checksums(frame)
    return pcap


def endpoints(pcap):
    """((client address, port), (server address, port)) of the first ClientHello."""
    i, _ = client_hello(pcap)
    frame = pcap.packets[i][2]
    tcp = ipv4_tcp(frame)[1]
    sport, dport = struct.unpack_from("!HH", frame, tcp)
    return (src_ip(frame), sport), (".".join(str(b) for b in frame[30:34]), dport)


def set_client_port(pcap, port):
    """The client of a capture of one IPv4 connection (the first ClientHello's source) uses
    TCP port `port`. Copies of one sample at other times thus stay separate flows."""
    (client, old), _ = endpoints(pcap)
    return set_port(pcap, client, old, port)


# ---------------------------------------------------------------- frames from bytes

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def ip4(text):
    return bytes(int(x) for x in text.split("."))


def vec(prefix, body):
    """body after its length in `prefix` bytes (a TLS vector)."""
    return len(body).to_bytes(prefix, "big") + body


def tls_client_hello(sni):
    """A TLS record holding a small TLS 1.3 ClientHello: two suites, the SNI, versions 1.3."""
    ext = struct.pack("!H", 0) + vec(2, vec(2, b"\x00" + vec(2, sni)))
    body = (b"\x03\x03" + bytes(32) + b"\x00" + vec(2, b"\x13\x01\xc0\x2f") + b"\x01\x00" +
            vec(2, ext + struct.pack("!HH", 43, 3) + b"\x02\x03\x04"))
    return b"\x16\x03\x01" + vec(2, b"\x01" + vec(3, body))


def tls_server_hello():
    """A TLS record holding its answer: TLS_AES_128_GCM_SHA256, TLS 1.3."""
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x13\x01" + b"\x00" + vec(
        2, struct.pack("!HHH", 43, 2, 0x0304))
    return b"\x16\x03\x03" + vec(2, b"\x02" + vec(3, body))


def tcp_frame(src, dst, sport, dport, seq, ack, flags, payload=b"", doff=5):
    """An Ethernet/IPv4/TCP frame with valid checksums; src and dst dotted IPv4 addresses.
    doff: the TCP data offset in words (a lie below 5 is kept as given)."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      doff << 4, flags, 65535, 0, 0) + b"\0" * (max(doff, 5) * 4 - 20)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6,
                     0, ip4(src), ip4(dst))
    frame = bytearray(b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp + payload)
    fix_checksums(frame)
    return frame


def streams(pcap):
    """The two byte streams of the first TCP connection of a capture, as (client, server):
    each direction's payloads in sequence order, retransmissions dropped. The client is the
    side that sent the first SYN."""
    first, parts = None, {}
    for _, _, frame in pcap.packets:
        o = ipv4_tcp(frame)
        if not o:
            continue
        src = bytes(frame[26:30])
        if first is None and frame[o[1] + 13] & TCP_SYN:
            first = src
        seq = struct.unpack_from("!I", frame, o[1] + 4)[0]
        if o[3] > o[2]:
            parts.setdefault(src, {}).setdefault(seq, bytes(frame[o[2]:o[3]]))
    out = []
    for side in sorted(parts, key=lambda s: s != first):
        seqs = sorted(parts[side])
        data, nxt = b"", seqs[0]
        for s in seqs:
            if s == nxt:
                data += parts[side][s]
                nxt = s + len(parts[side][s])
        out.append(data)
    return out[0], out[1]
