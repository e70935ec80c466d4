#!/usr/bin/env python3
"""Directories of captures: `read DIR` reads the capture files in it in the time order of their
first frames (not by name), skipping what is not a capture; `read --follow DIR` reads each
rotated file once it is closed while a writer rotates files beside it, and never a file still
being written.

usage: follow_test.py TLSCENSUS SAMPLES_DIR
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

from tclib import Checks, Pcap, run, write_pcap

checks = Checks("follow")
check = checks.check


def snis(tc, db):
    r = run([tc, "export", "--format", "ndjson", "--db", db])
    return sorted(json.loads(l)["sni"] or "" for l in r.stdout.splitlines() if l)


def pcap_bytes(pcap, packets):
    path = tempfile.mktemp()
    write_pcap(path, pcap.header, packets)
    data = open(path, "rb").read()
    os.unlink(path)
    return data


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="tc-follow-")
    try:
        names = ("tls12-openssl", "tls13-openssl", "tls10-openssl")
        caps = [Pcap(os.path.join(samples, n + ".pcap")) for n in names]
        want = {}
        for n, c in zip(names, caps):
            db = os.path.join(tmp, n + ".db")
            run([tc, "read", "--quiet", "--db", db, os.path.join(samples, n + ".pcap")])
            want[n] = snis(tc, db)

        # read DIR: names in reverse time order, a text file and a hidden capture beside them.
        d = os.path.join(tmp, "dir")
        os.mkdir(d)
        for i, (n, c) in enumerate(zip(names, caps)):
            c.shift(86400 * (i + 1))
            c.write(os.path.join(d, "z%d-%s.pcap" % (9 - i, n)))
        with open(os.path.join(d, "SHA256SUMS"), "w") as f:
            f.write("not a capture\n")
        shutil.copy(os.path.join(samples, "tls11-openssl.pcap"), os.path.join(d, ".partial"))
        db = os.path.join(tmp, "dir.db")
        r = run([tc, "read", "--quiet", "--db", db, d])
        check(r.returncode == 0, "read DIR: exit %s %r" % (r.returncode, r.stderr))
        with sqlite3.connect(db) as c:
            rows = c.execute("SELECT first_ts FROM connections ORDER BY id").fetchall()
        times = [t for (t,) in rows]
        check(len(times) == sum(len(v) for v in want.values()) and times == sorted(times),
              "read DIR: files in time order, not name order (%d rows)" % len(times))
        check(sorted(snis(tc, db)) == sorted(sum(want.values(), [])),
              "read DIR: only the three captures: %r" % snis(tc, db))

        # read --follow while a writer rotates files.
        ring = os.path.join(tmp, "ring")
        os.mkdir(ring)
        db = os.path.join(tmp, "follow.db")
        log = open(os.path.join(tmp, "follow.log"), "w")
        p = subprocess.Popen([tc, "read", "--follow", "--settle", "20", "--db", db, ring],
                             stdout=log, stderr=subprocess.STDOUT)
        try:
            first = os.path.join(ring, "ring_00001.pcap")
            with open(first, "wb") as f:
                f.write(pcap_bytes(caps[0], caps[0].packets))
            # the second file is written in two halves, 3 s apart: it must not be read half
            second = os.path.join(ring, "ring_00002.pcap")
            data = pcap_bytes(caps[1], caps[1].packets)
            half = len(data) // 2
            with open(second, "wb") as f:
                f.write(data[:half])
                f.flush()
                time.sleep(3)
                f.write(data[half:])
            with open(os.path.join(ring, "ring_00003.pcap"), "wb") as f:
                f.write(pcap_bytes(caps[2], caps[2].packets))
            # ring_00001 and _00002 are closed (newer files exist); _00003 is the newest and
            # changed less than --settle ago: it is not read yet.
            deadline = time.time() + 20
            expect = sorted(want["tls12-openssl"] + want["tls13-openssl"])
            got = []
            while time.time() < deadline:
                if os.path.exists(db):
                    got = sorted(snis(tc, db))
                    if got == expect:
                        break
                time.sleep(0.5)
            time.sleep(1.5)  # two more scans: nothing else may be read
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
            log.close()
        out = open(os.path.join(tmp, "follow.log")).read()
        got = sorted(snis(tc, db))
        check(rc == 0, "read --follow: exit %s after SIGTERM: %s" % (rc, out[-400:]))
        check(got == expect, "read --follow: the two closed files, once each, the newest not "
              "yet: %r (want %r): %s" % (got, expect, out[-400:]))
        check("2 files" in out, "read --follow: its summary counts 2 files: %r" % out[-300:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
