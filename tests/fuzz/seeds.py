#!/usr/bin/env python3
"""Seeds for the harnesses that dissect_seeds.py and decode_seeds.py do not cover, from the
project's own samples and byte builders (never third-party captures):

  sslv2      SSLv2 CLIENT-HELLO and SERVER-HELLO record bodies, built field by field
  preamble   STARTTLS dialogues (SMTP, IMAP, POP3, FTP, XMPP), a PostgreSQL SSLRequest, an HTTP
             CONNECT and a PROXY v1 line, each followed by a sample's ClientHello record
  datafiles  the built-in policies, the provider catalog and the head of the hints file
  pipeline   every sample capture cut to 48 KiB, the impaired recording's first 48 KiB, and
             small captures built here (late copies after FIN, a SYN flood, fragments)

usage: seeds.py ROOT OUT_DIR     (ROOT: the checkout; writes OUT_DIR/<harness>/)
"""
import glob
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from tclib import (TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, Pcap, streams,  # noqa: E402
                   tcp_frame)

PCAP_HEADER = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
CUT = 48 * 1024


def put(out, name, data):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def sslv2(out):
    specs = bytes.fromhex("0700c0" "050080" "030080" "00002f" "000035" "005600")
    chal = bytes(range(16))
    for version in (0x0002, 0x0301, 0x0303):
        body = struct.pack("!BHHHH", 1, version, len(specs), 0, len(chal)) + specs + chal
        put(out, "sslv2", body)
    cert = b"\x30\x03\x02\x01\x01"
    conn = bytes(16)
    body = struct.pack("!BBBHHHH", 4, 0, 1, 0x0002, len(cert), 6, len(conn)) + cert + \
        specs[:6] + conn
    put(out, "sslv2", body)


def preamble(out, root):
    client, _ = streams(Pcap(os.path.join(root, "samples", "tls12-openssl.pcap")))
    hello = client[:5 + int.from_bytes(client[3:5], "big")]
    talks = [b"220 mx ESMTP\r\nEHLO c\r\n250-mx\r\n250 STARTTLS\r\nSTARTTLS\r\n220 go\r\n",
             b"* OK IMAP4rev1\r\na STARTTLS\r\na OK begin\r\n",
             b"+OK POP3\r\nSTLS\r\n+OK\r\n",
             b"220 ftp\r\nAUTH TLS\r\n234 AUTH TLS ok\r\n",
             b"<stream:stream to='x'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
             b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
             struct.pack("!II", 8, 80877103),
             b"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test\r\n\r\n",
             b"PROXY TCP4 192.0.2.1 192.0.2.2 40000 443\r\n"]
    for t in talks:
        put(out, "preamble", t + hello)
    put(out, "preamble", hello)


def datafiles(out, root):
    for p in sorted(glob.glob(os.path.join(root, "policies", "*.policy"))):
        put(out, "datafiles", open(p, "rb").read())
    put(out, "datafiles", open(os.path.join(root, "data", "providers.catalog"), "rb").read())
    hints = open(os.path.join(root, "data", "fingerprints.tsv"), "rb").read()
    put(out, "datafiles", b"\n".join(hints.split(b"\n")[:40]) + b"\n")


def built_captures():
    """Small captures from bytes: a connection with late copies after its FIN, a SYN flood
    of 30 flows, a ClientHello over IPv4 fragments."""
    client, server = streams(Pcap(os.path.join(HERE, "..", "..", "samples",
                                               "tls13-openssl.pcap")))
    c, s, cli, srv = 1000, 5000, "10.1.0.1", "10.1.0.2"
    f = [tcp_frame(cli, srv, 40000, 443, c, 0, TCP_SYN),
         tcp_frame(srv, cli, 443, 40000, s, c + 1, TCP_SYN | TCP_ACK),
         tcp_frame(cli, srv, 40000, 443, c + 1, s + 1, TCP_ACK | TCP_PSH, client[:300]),
         tcp_frame(cli, srv, 40000, 443, c + 301, s + 1, TCP_ACK | TCP_PSH, client[300:600]),
         tcp_frame(srv, cli, 443, 40000, s + 1, c + 601, TCP_ACK | TCP_PSH, server[:1200]),
         tcp_frame(cli, srv, 40000, 443, c + 601, s + 1201, TCP_ACK | TCP_FIN),
         tcp_frame(srv, cli, 443, 40000, s + 1201, c + 602, TCP_ACK | TCP_FIN)]
    late = f + [f[3], f[2]]
    yield PCAP_HEADER + b"".join(struct.pack("<IIII", 1700000000 + i // 7, i, len(x), len(x)) +
                                 bytes(x) for i, x in enumerate(late))
    flood = [tcp_frame("10.2.%d.%d" % (i // 250, i % 250), srv, 1024 + i, 443, i, 0, TCP_SYN)
             for i in range(30)]
    yield PCAP_HEADER + b"".join(struct.pack("<IIII", 1700000000, i, len(x), len(x)) + bytes(x)
                                 for i, x in enumerate(flood))


def pipeline(out, root):
    for p in sorted(glob.glob(os.path.join(root, "samples", "**", "*.pcap"), recursive=True)):
        put(out, "pipeline", open(p, "rb").read()[:CUT])
    for data in built_captures():
        put(out, "pipeline", data)


def main():
    root, out = sys.argv[1], sys.argv[2]
    sslv2(out)
    preamble(out, root)
    datafiles(out, root)
    pipeline(out, root)
    for h in ("sslv2", "preamble", "datafiles", "pipeline"):
        print("%d seeds in %s" % (len(os.listdir(os.path.join(out, h))), os.path.join(out, h)))


if __name__ == "__main__":
    main()
