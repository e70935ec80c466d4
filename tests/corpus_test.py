#!/usr/bin/env python3
"""Conformance on the shared third-party corpus (../shared/corpus), when it is present.

Reads every corpus capture into its own database, exports NDJSON, and runs the corpus's own
check.py over TLS-over-TCP records. Passes when no expected TCP connection is missing and the
agreement is at least the required figure. Exits 77 (meson's "skipped") without the corpus.

usage: corpus_test.py TLSCENSUS CORPUS_DIR [MIN_PERCENT]
"""
import os
import re
import subprocess
import sys
import tempfile


def main():
    tc, corpus = sys.argv[1], sys.argv[2]
    minimum = float(sys.argv[3]) if len(sys.argv) > 3 else 98.0
    pcaps = os.path.join(corpus, "pcaps")
    if not os.path.isdir(pcaps):
        print("corpus: %s not found, skipped" % corpus)
        return 77
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        for name in sorted(os.listdir(pcaps)):
            stem = re.sub(r"\.(pcapng|pcap|cap)$", "", name)
            db = os.path.join(tmp, stem + ".db")
            r = subprocess.run([tc, "read", "--quiet", "--db", db, os.path.join(pcaps, name)],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                print("FAIL: read %s: exit %d: %s" % (name, r.returncode, r.stderr), file=sys.stderr)
                failures += 1
                continue
            with open(os.path.join(out, stem + ".jsonl"), "w") as f:
                r = subprocess.run([tc, "export", "--db", db, "--format", "ndjson"], stdout=f,
                                   stderr=subprocess.PIPE, text=True, timeout=60)
            if r.returncode != 0:
                print("FAIL: export %s: %s" % (name, r.stderr), file=sys.stderr)
                failures += 1
        r = subprocess.run([sys.executable, os.path.join(corpus, "check.py"),
                            os.path.join(corpus, "expected"), out, "--transport", "tcp", "--rows", "0"],
                           capture_output=True, text=True)
    print(r.stdout)
    m = re.search(r"connections expected (\d+) / found (\d+) / missing (\d+)", r.stdout)
    c = re.search(r"conformance: ([\d.]+)%", r.stdout)
    if not m or not c:
        print("FAIL: check.py output not understood:\n" + r.stderr, file=sys.stderr)
        return 1
    if int(m.group(3)) != 0:
        print("FAIL: %s TCP connections missing" % m.group(3), file=sys.stderr)
        failures += 1
    if float(c.group(1)) < minimum:
        print("FAIL: conformance %s%% below %.1f%%" % (c.group(1), minimum), file=sys.stderr)
        failures += 1
    print("corpus: conformance %s%%, %s/%s TCP connections found, %d failures"
          % (c.group(1), m.group(2), m.group(1), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
