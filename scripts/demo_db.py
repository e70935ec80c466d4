#!/usr/bin/env python3
"""demo_db.py: six weeks of a small site's TLS traffic, made from the project's own recorded
samples, for the report demo.sh writes (and the README's screenshot of it).

Every connection is a copy of one recorded capture (samples/*.pcap, samples/clients/*.pcap)
moved to another time, given another client and server address, client port and server name
(tests/tclib.py rewrites the bytes and fixes lengths and checksums); no handshake is made up.
The weeks are fixed, 2026-01-12 to 2026-02-22, so the demo reads the same every time and
spans the day Azure Storage stopped accepting TLS 1.0 and 1.1 (2026-02-03 in
data/providers.catalog). What happens in them:

  - a backup job (openssl, TLS 1.0) writes to Azure Blob Storage every night; from the cutoff
    the service refuses it, and it keeps retrying: already failing;
  - a Java service (TLS 1.0 to Azure Files) is fixed on 2026-01-29, before the cutoff;
  - a deployment script (openssl, TLS 1.0) is refused by Azure Resource Manager, whose
    cutoff passed in 2025, every night;
  - a Go agent, a Python script and an ERP client (3DES) are fixed on 2026-01-21,
    2026-02-09 and 2026-02-11; an old appliance (TLS 1.1) and a build box (curl, TLS 1.0)
    are not;
  - the intranet wiki's server, capped at TLS 1.0, is upgraded on 2026-02-05;
  - a new device with TLS 1.0 appears on 2026-02-18;
  - eight workstations and servers use TLS 1.2 and 1.3 throughout, to Entra ID, GitHub,
    AWS and Azure.

usage: demo_db.py OUT.pcap     (prints what it wrote on stderr)
"""
import calendar
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from tclib import (Pcap, endpoints, set_address, set_client_port, set_port, set_sni,  # noqa: E402
                   write_pcap)

DAY = 86400
SAMPLE_TIME = 1704067200  # 2024-01-01: every sample's first packet
SAMPLE_CLIENT, SAMPLE_SERVER = "10.99.0.1", "10.99.0.2"


def date(text):
    return calendar.timegm(tuple(int(x) for x in text.split("-")) + (0, 0, 0))


START, DAYS = date("2026-01-12"), 42  # Monday 2026-01-12 to Sunday 2026-02-22

# name -> (address, server name; None: the sample's own, which may be none)
SERVERS = {
    "blob": ("10.20.0.10", b"contoso.blob.core.windows.net"),
    "files": ("10.20.0.11", b"contoso.file.core.windows.net"),
    "entra": ("10.20.0.20", b"login.microsoftonline.com"),
    "github": ("10.20.0.30", b"api.github.com"),
    "s3": ("10.20.0.40", b"s3.eu-west-1.amazonaws.com"),
    "arm": ("10.20.0.50", b"management.azure.com"),
    "wiki": ("10.20.1.5", b"wiki.corp.example"),
    "ldap": ("10.20.1.6", b"ldap.corp.example"),
    "erp": ("10.20.1.7", None),  # reached by address: the 3DES sample has no server name
    "erp-new": ("10.20.1.7", b"erp.corp.example"),
    "reports": ("10.20.1.8", b"reports.corp.example"),
    "metrics": ("10.20.1.9", b"metrics.corp.example"),
    "artifacts": ("10.20.1.10", b"artifacts.corp.example"),
    "printer": ("10.20.1.11", b"printer.corp.example"),
}

S, C = "samples/", "samples/clients/"
# address, hours ("day" 07-19 UTC, "night" 01-04), connections a working day (a third of it
# on weekends), phases: (from date, sample, server), each until the next; sample None: absent.
CLIENTS = [
    ("10.10.0.11", "night", 2, [("2026-01-12", S + "tls10-openssl.pcap", "blob"),
                                ("2026-02-03", S + "tls10-client-vs-tls12-server.pcap", "blob")]),
    ("10.10.0.12", "day", 6, [("2026-01-12", C + "java-tls10.pcap", "files"),
                              ("2026-01-29", C + "java-default.pcap", "files")]),
    ("10.10.0.13", "day", 4, [("2026-01-12", C + "python-tls10.pcap", "reports"),
                              ("2026-02-09", C + "python-default.pcap", "reports")]),
    ("10.10.0.14", "day", 5, [("2026-01-12", C + "go-tls10.pcap", "metrics"),
                              ("2026-01-21", C + "go-default.pcap", "metrics")]),
    ("10.10.0.20", "night", 1, [("2026-01-12", S + "tls10-client-vs-tls12-server.pcap",
                                 "arm")]),
    ("10.10.0.15", "day", 2, [("2026-01-12", C + "curl-tls10.pcap", "artifacts")]),
    ("10.10.0.16", "day", 3, [("2026-01-12", None, None),
                              ("2026-02-18", C + "gnutls-tls10.pcap", "printer")]),
    ("10.10.0.17", "day", 3, [("2026-01-12", C + "openssl-tls11.pcap", "ldap")]),
    ("10.10.0.18", "day", 3, [("2026-01-12", S + "tls12-gnutls-3des.pcap", "erp"),
                              ("2026-02-11", S + "tls12-gnutls.pcap", "erp-new")]),
    ("10.10.0.19", "day", 4, [("2026-01-12", S + "tls13-client-vs-tls10-server.pcap", "wiki"),
                              ("2026-02-05", S + "tls13-openssl.pcap", "wiki")]),
]
MODERN = [  # (address, sample, servers it talks to)
    ("10.10.0.30", C + "curl-default.pcap", ("github", "s3")),
    ("10.10.0.31", C + "wget-default.pcap", ("github", "wiki")),
    ("10.10.0.32", C + "go-http.pcap", ("s3", "arm")),
    ("10.10.0.33", C + "python-default.pcap", ("entra", "blob")),
    ("10.10.0.34", C + "java-default.pcap", ("entra", "files")),
    ("10.10.0.35", S + "tls13-gnutls.pcap", ("arm", "entra")),
    ("10.10.0.36", S + "tls12-openssl.pcap", ("s3", "reports")),
    ("10.10.0.37", S + "tls13-openssl-hrr.pcap", ("entra", "github")),
]
for address, sample, servers in MODERN:
    for i, server in enumerate(servers):
        CLIENTS.append((address, "day", 3 - i, [("2026-01-12", sample, server)]))


def phase_on(phases, t):
    current = (None, None)
    for start, sample, server in phases:
        if t >= date(start):
            current = (sample, server)
    return current


def connections(rng):
    """(time, client, sample, server) of every connection, in no order."""
    out = []
    for d in range(DAYS):
        day = START + d * DAY
        weekend = (d % 7) >= 5
        for client, hours, per_day, phases in CLIENTS:
            sample, server = phase_on(phases, day)
            if not sample:
                continue
            n = per_day if not weekend else max(1, per_day // 3)
            if hours == "night":  # a nightly job runs every night, and retries when refused
                n = 3 if "vs-tls12" in sample else per_day
            for _ in range(n):
                lo, hi = (1, 4) if hours == "night" else (7, 19)
                t = day + rng.randrange(lo * 3600, hi * 3600)
                out.append((t, client, sample, server))
    return out


def copy_of(path, t, client, server, port):
    pcap = Pcap(os.path.join(ROOT, path)).shift(t - SAMPLE_TIME)
    address, sni = SERVERS[server]
    if sni is not None:
        set_sni(pcap, sni)
    set_address(pcap, SAMPLE_CLIENT, client)
    set_address(pcap, SAMPLE_SERVER, address)
    set_port(pcap, address, endpoints(pcap)[1][1], 443)  # recorded on 4433 and 8443 too
    return set_client_port(pcap, port)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    rng = random.Random(11)  # the same weeks every time
    conns = sorted(connections(rng))
    packets, header, port = [], None, {}
    for t, client, sample, server in conns:
        port[client] = port.get(client, 20000 + rng.randrange(20000)) + 1
        pcap = copy_of(sample, t, client, server, port[client])
        header = header or pcap.header
        packets.extend(pcap.packets)
    packets.sort(key=lambda p: (p[0], p[1]))
    write_pcap(sys.argv[1], header, packets)
    print("%s: %d connections, %d packets, %s to %s" % (
        sys.argv[1], len(conns), len(packets), "2026-01-12", "2026-02-22"), file=sys.stderr)


if __name__ == "__main__":
    main()
