#!/usr/bin/env python3
"""Conformance on the shared third-party corpus (../shared/corpus), when it is present.

Reads every corpus capture into its own database, exports NDJSON, and runs the corpus's own
check.py over TLS-over-TCP records. Passes when no expected TCP connection is missing and the
agreement is at least the required figure. Exits 77 (meson's "skipped") without the corpus.

usage: corpus_test.py TLSCENSUS CORPUS_DIR [MIN_PERCENT]
"""
import os
import re
import sys
import tempfile

from tclib import Checks, run


def check_udp(checks, text):
    """DTLS over UDP is dissected, QUIC not yet: whatever UDP record is produced must agree
    with the oracle on every key, none may be invented, and the DTLS records must be there."""
    m = re.search(r"connections expected (\d+) / found (\d+) / missing (\d+) / extra (\d+)", text)
    if not checks.check(m is not None, "check.py --transport udp output not understood"):
        return
    found, extra = int(m.group(2)), int(m.group(4))
    # The corpus holds 20 DTLS connections (ndpi, zeek and ja4 captures); the rest are QUIC.
    checks.check(found >= 20, "only %d UDP (DTLS) connections found" % found)
    checks.check(extra == 0, "%d UDP records the oracle does not know" % extra)
    for line in text.splitlines():
        k = re.match(r"(\w+)\s+\d+\s+\d+\s+[\d.]+%\s+([\d.]+)% of", line)
        if k:
            checks.check(k.group(2) == "100.0", "UDP key %s agrees on %s%% of found records"
                         % (k.group(1), k.group(2)))
    print("corpus: UDP (DTLS) %d found of %s expected, %d extra" % (found, m.group(1), extra))


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
                   os.path.join(corpus, "expected"), out, "--transport", "udp", "--quiet"])
    print(r.stdout)
    check_udp(checks, udp.stdout)
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
