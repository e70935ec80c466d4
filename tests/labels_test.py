#!/usr/bin/env python3
"""Application labels from the ClientHello (label.c's fast path) against nDPI's packet DPI on
every flow (TLSCENSUS_LABEL_DPI=1): the exports, labels included, must be the same byte for
byte on the samples and, when ../shared is there, on every capture of the shared corpus.

usage: labels_test.py TLSCENSUS SAMPLES_DIR [CORPUS_DIR]
"""
import glob
import os
import shutil
import sys
import tempfile

from tclib import Checks, run

checks = Checks("labels")
check = checks.check


def export_of(tc, db, files, dpi):
    env = dict(os.environ)
    env.pop("TLSCENSUS_LABEL_DPI", None)
    if dpi:
        env["TLSCENSUS_LABEL_DPI"] = "1"
    for f in files:  # one read per file, as a user would; a truncated corpus capture exits 4
        run([tc, "read", "--quiet", "--db", db, f], env=env)
    r = run([tc, "export", "--db", db, "--format", "ndjson"], text=False)
    check(r.returncode == 0, "export of %s" % db)
    return r.stdout


def compare(tc, tmp, name, files):
    fast = export_of(tc, os.path.join(tmp, name + "-hello.db"), files, False)
    dpi = export_of(tc, os.path.join(tmp, name + "-dpi.db"), files, True)
    check(fast.count(b"\n") > 0, "%s: records exported" % name)
    if fast == dpi:
        check(True, name)
        return
    a, b = fast.splitlines(), dpi.splitlines()
    diff = [(x, y) for x, y in zip(a, b) if x != y][:3]
    check(False, "%s: labels differ between the hello and packet DPI (%d vs %d lines): %r"
          % (name, len(a), len(b), diff))


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    corpus = sys.argv[3] if len(sys.argv) > 3 else None
    tmp = tempfile.mkdtemp(prefix="tc-labels-")
    try:
        files = sorted(glob.glob(os.path.join(samples, "*.pcap")) +
                       glob.glob(os.path.join(samples, "*", "*.pcap")))
        compare(tc, tmp, "samples", files)
        if corpus and os.path.isdir(corpus):
            compare(tc, tmp, "corpus", sorted(glob.glob(os.path.join(corpus, "pcaps", "*"))))
        else:
            print("labels: no shared corpus, compared on the samples only")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
