#!/usr/bin/env python3
"""Conformance on the shared third-party corpus (../shared/corpus), when it is present.

Reads every corpus capture into its own database, exports NDJSON, and runs the corpus's own
check.py three times: over TLS-over-TCP records, over UDP records (DTLS and QUIC), and over
every transport. Passes when no expected connection is missing and none is invented, TCP and
all transports agree on at least the required figure, and UDP records agree on every key.
Exits 77 (meson's "skipped") without the corpus.

usage: corpus_test.py TLSCENSUS CORPUS_DIR [MIN_PERCENT]
"""
import json
import os
import re
import sys
import tempfile

from tclib import Checks, ndjson, run


def counts(checks, text, what):
    """(expected, found, missing, extra, conformance) from check.py's summary, or None."""
    m = re.search(r"connections expected (\d+) / found (\d+) / missing (\d+) / extra (\d+)", text)
    c = re.search(r"conformance: ([\d.]+)%", text)
    if not checks.check(m is not None and c is not None, "check.py (%s) output not understood" % what):
        return None
    return tuple(int(x) for x in m.groups()) + (float(c.group(1)),)


def check_udp(checks, text):
    """DTLS and QUIC over UDP: every expected connection found, none invented, and the found
    records agree with the oracle on every key."""
    got = counts(checks, text, "udp")
    if not got:
        return
    expected, found, missing, extra, _ = got
    # 20 DTLS connections (ndpi, zeek and ja4 captures), the rest QUIC (171 of them).
    checks.check(expected >= 191, "only %d UDP connections expected: corpus changed?" % expected)
    checks.check(missing == 0, "%d UDP (DTLS/QUIC) connections missing" % missing)
    checks.check(extra == 0, "%d UDP records the oracle does not know" % extra)
    for line in text.splitlines():
        k = re.match(r"(\w+)\s+\d+\s+\d+\s+[\d.]+%\s+([\d.]+)% of", line)
        if k:
            checks.check(k.group(2) == "100.0", "UDP key %s agrees on %s%% of found records"
                         % (k.group(1), k.group(2)))
    print("corpus: UDP (DTLS and QUIC) %d found of %d expected, %d extra" % (found, expected, extra))


def check_all(checks, text, minimum):
    """Every transport together: the issue's figure (at least minimum, nothing missing or
    invented)."""
    got = counts(checks, text, "all transports")
    if not got:
        return
    expected, found, missing, extra, pct = got
    checks.check(missing == 0, "%d connections missing over all transports" % missing)
    checks.check(extra == 0, "%d records over all transports the oracle does not know" % extra)
    checks.check(pct >= minimum, "all-transport conformance %s%% below %.1f%%" % (pct, minimum))
    print("corpus: all transports %s%%, %d/%d connections found, %d extra" % (pct, found, expected, extra))


def check_layers(checks, corpus, out):
    """A record carries "quic_version" exactly when the oracle's record of that connection is
    QUIC (its "_layer"), and a JA4 starting with the transport's letter: t, d or q."""
    letter = {"tls": "t", "dtls": "d", "quic": "q"}
    seen = {"tls": 0, "dtls": 0, "quic": 0}
    edir = os.path.join(corpus, "expected")
    for name in sorted(os.listdir(edir)):
        path = os.path.join(out, name)
        if not os.path.exists(path):
            continue
        with open(os.path.join(edir, name)) as f:
            layers = {(e["transport"], e["client_ip"], e["client_port"], e["server_ip"],
                       e["server_port"]): e.get("_layer") for e in ndjson(f.read())}
        with open(path) as f:
            for rec in ndjson(f.read()):
                layer = layers.get((rec["transport"], rec["client_ip"], rec["client_port"],
                                    rec["server_ip"], rec["server_port"]))
                if layer not in seen:
                    continue
                seen[layer] += 1
                checks.check(("quic_version" in rec) == (layer == "quic"),
                             "%s: %s record %s:%s with quic_version %r" % (
                                 name, layer, rec["client_ip"], rec["client_port"],
                                 rec.get("quic_version")))
                if rec.get("ja4"):
                    checks.check(rec["ja4"][0] == letter[layer], "%s: %s record with JA4 %s"
                                 % (name, layer, rec["ja4"]))
    checks.check(seen["quic"] >= 171, "only %d QUIC records matched" % seen["quic"])
    print("corpus: records by layer %s" % json.dumps(seen, sort_keys=True))


def main():
    tc, corpus = sys.argv[1], sys.argv[2]
    minimum = float(sys.argv[3]) if len(sys.argv) > 3 else 98.0
    pcaps = os.path.join(corpus, "pcaps")
    if not os.path.isdir(pcaps):
        print("corpus: %s not found, skipped" % corpus)
        return 77
    checks = Checks("corpus")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        for name in sorted(os.listdir(pcaps)):
            stem = re.sub(r"\.(pcapng|pcap|cap)$", "", name)
            db = os.path.join(tmp, stem + ".db")
            r = run([tc, "read", "--quiet", "--db", db, os.path.join(pcaps, name)], timeout=60)
            if r.returncode != 0:
                checks.fail("read %s: exit %s: %s" % (name, r.returncode, r.stderr))
                continue
            r = run([tc, "export", "--db", db, "--format", "ndjson"], timeout=60)
            with open(os.path.join(out, stem + ".jsonl"), "w") as f:
                f.write(r.stdout)
            if r.returncode != 0:
                checks.fail("export %s: %s" % (name, r.stderr))
        r = run([sys.executable, os.path.join(corpus, "check.py"),
                 os.path.join(corpus, "expected"), out, "--transport", "tcp", "--rows", "0"])
        udp = run([sys.executable, os.path.join(corpus, "check.py"),
                   os.path.join(corpus, "expected"), out, "--transport", "udp", "--rows", "0"])
        every = run([sys.executable, os.path.join(corpus, "check.py"),
                     os.path.join(corpus, "expected"), out, "--rows", "0"])
        check_layers(checks, corpus, out)
    print(r.stdout)
    print(udp.stdout)
    print(every.stdout)
    check_udp(checks, udp.stdout)
    check_all(checks, every.stdout, minimum)
    m = re.search(r"connections expected (\d+) / found (\d+) / missing (\d+)", r.stdout)
    c = re.search(r"conformance: ([\d.]+)%", r.stdout)
    if not m or not c:
        checks.fail("check.py output not understood:\n" + r.stderr)
        return 1
    checks.check(int(m.group(3)) == 0, "%s TCP connections missing" % m.group(3))
    checks.check(float(c.group(1)) >= minimum, "conformance %s%% below %.1f%%" % (c.group(1), minimum))
    print("corpus: conformance %s%%, %s/%s TCP connections found, %d failures"
          % (c.group(1), m.group(2), m.group(1), len(checks.failures)))
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
