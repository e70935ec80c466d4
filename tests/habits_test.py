#!/usr/bin/env python3
"""tcpdump habits: read -r, read -f (BPF, on mapped files and on standard input), read -c,
tlscensus help CMD, capture -D, and the capture that cannot open its database after dropping
root, which must say as which user.

usage: habits_test.py TLSCENSUS SAMPLES_DIR
"""
import collections
import glob
import json
import os
import shutil
import sqlite3
import sys
import tempfile

from tclib import Checks, run

checks = Checks("habits")
check = checks.check


def ports(tc, db):
    r = run([tc, "export", "--format", "ndjson", "--db", db])
    return collections.Counter(json.loads(l)["server_port"] for l in r.stdout.splitlines() if l)


def read(tc, db, args, stdin=None):
    if stdin:
        with open(stdin, "rb") as f:
            return run([tc, "read", "--quiet", "--db", db] + args, stdin=f)
    return run([tc, "read", "--quiet", "--db", db] + args)


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="tc-habits-")
    try:
        files = sorted(glob.glob(os.path.join(samples, "*.pcap")))
        db = lambda name: os.path.join(tmp, name + ".db")
        read(tc, db("all"), files)
        every = ports(tc, db("all"))
        check(every[443] and every[8443] and every[4433], "samples hold ports 443, 8443, 4433: %r"
              % every)

        # -r FILE, as tcpdump reads
        args = []
        for f in files:
            args += ["-r", f]
        r = read(tc, db("r"), args)
        check(r.returncode == 0 and ports(tc, db("r")) == every, "read -r: %r" % r.stderr)

        # -f BPF on mapped files, and on standard input (libpcap's reader)
        r = read(tc, db("f"), ["-f", "tcp port 8443"] + files)
        got = ports(tc, db("f"))
        check(r.returncode == 0 and got == {8443: every[8443]},
              "read -f 'tcp port 8443': %r %r" % (dict(got), r.stderr))
        one = [f for f in files if f.endswith("tls12-openssl.pcap")][0]
        r = read(tc, db("f-stdin"), ["-f", "not tcp port 443", "-"], stdin=one)
        check(r.returncode == 0 and sum(ports(tc, db("f-stdin")).values()) == 0,
              "read -f on standard input filters too: %r" % r.stderr)
        r = read(tc, db("f-bad"), ["-f", "tcp port nonsense", one])
        check(r.returncode == 2 and "tcp port nonsense" in r.stderr and "\n\n" not in r.stderr,
              "a bad filter is a usage error naming it: %r" % r.stderr)

        # -c COUNT: frames read, over all files
        r = read(tc, db("c"), ["-c", "5"] + files)
        with sqlite3.connect(db("c")) as c:
            n = c.execute("SELECT packets FROM runs").fetchone()[0]
        check(r.returncode == 0 and n == 5, "read -c 5 reads 5 frames: %s" % n)
        r = read(tc, db("c2"), ["-c", "5", "--workers", "2"] + files)
        with sqlite3.connect(db("c2")) as c:
            n = c.execute("SELECT packets FROM runs").fetchone()[0]
        check(r.returncode == 0 and n == 5, "read -c 5 with two workers: %s" % n)

        # help CMD is CMD --help
        a, b = run([tc, "help", "report"]), run([tc, "report", "--help"])
        check(a.returncode == 0 and a.stdout == b.stdout and "usage: tlscensus report" in a.stdout,
              "help report = report --help")
        r = run([tc, "help", "nosuch"])
        check(r.returncode == 2 and "nosuch" in r.stderr, "help of an unknown command: %r" %
              r.stderr)

        # capture -D lists what libpcap can open
        r = run([tc, "capture", "-D"])
        check(r.returncode == 0 and any(l.split(".", 1)[-1].startswith("lo ")
                                        for l in r.stdout.splitlines()),
              "capture -D lists lo: %r %r" % (r.stdout, r.stderr))

        # Dropping root to nobody, then a database nobody may not write: said so.
        if os.geteuid() == 0:
            locked = os.path.join(tmp, "locked")
            os.mkdir(locked, 0o700)
            r = run([tc, "capture", "-i", "lo", "-Z", "nobody", "--duration", "1s",
                     "--db", os.path.join(locked, "x.db")], timeout=30)
            check(r.returncode == 5 and "as user nobody (-Z)" in r.stderr and "x.db" in r.stderr,
                  "capture as nobody on a locked directory: exit %s %r" % (r.returncode,
                                                                         r.stderr))
        else:
            print("habits: not root, the -Z case skipped")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
