#!/usr/bin/env python3
"""Storage faults: a full disk, databases that are not ours to write, and idempotent reads.

- Disk full during read (60,000 connections, about 4.5 MB of database, on a 3 MiB tmpfs, as
  root; skipped when mount is not permitted): exit 5, one message naming the database, saying
  what is kept and what to do; the summary counts what the database holds; the file passes
  integrity_check. After space is freed the same read records every connection exactly once
  (the cut read's rows are replaced), and a third read skips the file.
- Databases refused, each with exit 5, a message naming the file and saying what to do, and
  the file unchanged: a truncated tlscensus database, another program's SQLite file, a schema
  newer than this build, a database in a directory the user cannot write.
- Idempotent reads: a capture read twice (or under another name) is recorded once, with a note;
  --reread reads it again; a changed file is read.

usage: storage_test.py TLSCENSUS SAMPLES_DIR
"""
import hashlib
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile

from tclib import (TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, Checks, run, tcp_frame,
                   tls_client_hello, tls_server_hello, write_pcap)

checks = Checks("storage")
check = checks.check
EXIT_DATABASE = 5
PCAP_HEADER = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")


def many_connections(path, n):
    """n short TLS connections, each with its own SNI and client address."""
    sh = tls_server_hello()
    packets = []
    for i in range(n):
        cli = "10.%d.%d.%d" % (100 + i // 65536, i // 256 % 256, i % 256)
        srv, port, c, s = "192.0.2.1", 1024 + i % 60000, 1000 + i, 7000 + i
        ch = tls_client_hello(b"host-%02d.storage.example.test" % (i % 50))
        frames = [tcp_frame(cli, srv, port, 443, c, 0, TCP_SYN),
                  tcp_frame(srv, cli, 443, port, s, c + 1, TCP_SYN | TCP_ACK),
                  tcp_frame(cli, srv, port, 443, c + 1, s + 1, TCP_ACK | TCP_PSH, ch),
                  tcp_frame(srv, cli, 443, port, s + 1, c + 1 + len(ch), TCP_ACK | TCP_PSH, sh),
                  tcp_frame(cli, srv, port, 443, c + 1 + len(ch), s + 1 + len(sh),
                            TCP_ACK | TCP_FIN),
                  tcp_frame(srv, cli, 443, port, s + 1 + len(sh), c + 2 + len(ch),
                            TCP_ACK | TCP_FIN)]
        packets += [(1700000000 + i // 1000, (i % 1000) * 1000 + k, f)
                    for k, f in enumerate(frames)]
    return write_pcap(path, PCAP_HEADER, packets)


def count(db, sql="SELECT count(*) FROM connections"):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest() if os.path.exists(path) else None


def disk_full(tc, tmp):
    full = os.path.join(tmp, "full")
    os.mkdir(full)
    m = run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", full])
    if m.returncode != 0:
        print("storage: cannot mount a tmpfs (%s); disk-full case skipped" % m.stderr.strip())
        return
    try:
        n = 60000
        pcap = many_connections(os.path.join(tmp, "many.pcap"), n)
        db = os.path.join(full, "census.db")
        r = run([tc, "read", "--db", db, pcap], timeout=120)
        lines = r.stderr.splitlines()
        check(r.returncode == EXIT_DATABASE, "disk full: exit %s, expected 5" % r.returncode)
        check(len(lines) == 2, "disk full: one message and the summary, got %d lines: %s"
              % (len(lines), lines[:5]))
        msg = lines[0] if lines else ""
        check(db in msg and "full" in msg and "Free space" in msg and "read again" in msg,
              "disk full: the message names the database, the cause, what to do: %r" % msg)
        kept = count(db)
        check(0 < kept < n, "disk full: %d of %d kept" % (kept, n))
        check(("%d TLS connections recorded" % kept) in r.stderr,
              "disk full: the summary counts what the database holds (%d): %r" % (kept, lines))
        check(("keeps the %d connections" % kept) in msg, "disk full: message says %d kept: %r"
              % (kept, msg))
        check(count(db, "PRAGMA integrity_check") == "ok", "disk full: integrity_check")
        # Space freed: the same read records each connection once.
        run(["mount", "-o", "remount,size=64m", full])
        r = run([tc, "read", "--quiet", "--db", db, pcap], timeout=120)
        check(r.returncode == 0, "after freeing space: exit %s: %s" % (r.returncode, r.stderr))
        check("was cut" in r.stderr and pcap in r.stderr,
              "after freeing space: a note that the cut read is replaced: %r" % r.stderr)
        got = count(db)
        uniq = count(db, "SELECT count(DISTINCT client_ip || ':' || client_port) FROM connections")
        check(got == n and uniq == n, "after freeing space: %d rows, %d distinct, expected %d"
              % (got, uniq, n))
        r = run([tc, "read", "--quiet", "--db", db, pcap], timeout=120)
        check(r.returncode == 0 and "already read" in r.stderr and count(db) == n,
              "third read: skipped: exit %s, %d rows: %r" % (r.returncode, count(db), r.stderr))
    finally:
        run(["umount", full])


def refused(tc, samples, tmp):
    good = os.path.join(tmp, "good.db")
    sample = os.path.join(samples, "tls12-openssl.pcap")
    run([tc, "read", "--quiet", "--db", good, sample])
    data = open(good, "rb").read()
    cases = []
    for name, body in (("truncated.db", data[:5000]), ("stub.db", data[:100])):
        open(os.path.join(tmp, name), "wb").write(body)
        cases.append((name, "damaged"))
    other = os.path.join(tmp, "other.db")
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE notes (t TEXT)")
    con.execute("INSERT INTO notes VALUES ('mine')")
    con.commit()
    con.close()
    cases.append(("other.db", "another program"))
    newer = os.path.join(tmp, "newer.db")
    shutil.copy(good, newer)
    con = sqlite3.connect(newer)
    con.execute("PRAGMA user_version = 99")
    con.close()
    cases.append(("newer.db", "newer tlscensus"))
    for name, says in cases:
        path = os.path.join(tmp, name)
        before = digest(path)
        for argv in (["read", "--quiet", "--db", path, sample], ["legacy", "--db", path]):
            r = run([tc] + argv)
            check(r.returncode == EXIT_DATABASE, "%s: %s: exit %s" % (name, argv[0], r.returncode))
            check(path in r.stderr and says in r.stderr,
                  "%s: %s: the message names it and says %r: %r" % (name, argv[0], says, r.stderr))
        check(digest(path) == before, "%s: unchanged" % name)
        check(not os.path.exists(path + "-wal") or os.path.getsize(path + "-wal") == 0,
              "%s: no journal written" % name)
    # A read-only directory, as a user that cannot write it (root writes anywhere).
    if os.geteuid() != 0:
        print("storage: not root; read-only directory case skipped")
        return
    ro = os.path.join(tmp, "ro")
    os.mkdir(ro)
    db = os.path.join(ro, "census.db")
    shutil.copy(good, db)
    nobody = 65534
    os.chown(db, nobody, nobody)
    os.chmod(tmp, 0o755)
    os.chmod(ro, 0o755)
    before = digest(db)
    r = run([tc, "read", "--quiet", "--db", db, sample], preexec_fn=lambda: os.setuid(nobody))
    check(r.returncode == EXIT_DATABASE, "read-only directory: exit %s" % r.returncode)
    check(db in r.stderr and "directory" in r.stderr and "writable" in r.stderr,
          "read-only directory: the message names the file and says why: %r" % r.stderr)
    check(digest(db) == before, "read-only directory: unchanged")


def idempotent(tc, samples, tmp):
    db = os.path.join(tmp, "idem.db")
    a = os.path.join(samples, "tls12-openssl.pcap")
    b = os.path.join(samples, "tls13-openssl.pcap")
    r = run([tc, "read", "--quiet", "--db", db, a, b])
    check(r.returncode == 0 and count(db) == 2, "first read: %s rows" % count(db))
    r = run([tc, "read", "--quiet", "--db", db, a, b])
    check(r.returncode == 0 and count(db) == 2 and r.stderr.count("already read") == 2,
          "second read: skipped both with a note: %d rows, %r" % (count(db), r.stderr))
    copy = os.path.join(tmp, "renamed.pcap")
    shutil.copy(a, copy)
    r = run([tc, "read", "--quiet", "--db", db, copy])
    check(count(db) == 2 and "already read" in r.stderr and a in r.stderr,
          "a copy under another name is the same capture: %d rows, %r" % (count(db), r.stderr))
    r = run([tc, "read", "--quiet", "--db", db, a, a])
    check(count(db) == 2, "the same file twice in one read: %d rows" % count(db))
    r = run([tc, "read", "--quiet", "--reread", "--db", db, a])
    check(r.returncode == 0 and count(db) == 3 and "already" not in r.stderr,
          "--reread reads it again: %d rows, %r" % (count(db), r.stderr))
    changed = os.path.join(tmp, "changed.pcap")
    data = bytearray(open(a, "rb").read())
    data[24 + 4:24 + 8] = struct.pack("<I", 123)  # the first packet's microseconds
    open(changed, "wb").write(data)
    r = run([tc, "read", "--quiet", "--db", db, changed])
    check(count(db) == 4 and "already" not in r.stderr, "a changed file is read: %d rows"
          % count(db))
    r = run([tc, "read", "--quiet", "--db", db, "-"], input=open(a, "rb").read(), text=False)
    check(r.returncode == 0 and count(db) == 5, "standard input is always read: %d rows"
          % count(db))
    con = sqlite3.connect(db)
    rows = con.execute("SELECT path, status, length(hash) FROM inputs ORDER BY id").fetchall()
    con.close()
    check(rows and all(s == "read" and n == 64 for _, s, n in rows),
          "inputs: every file read whole, with its hash: %s" % rows)
    identity_hash(tc, a, tmp)


def identity_of(path):
    """A capture's identity as 0.3 defined it: SHA-256 of its size (8 bytes, little-endian),
    its first MiB and, for a file over 2 MiB, its last MiB (the MiB after the first else)."""
    data = open(path, "rb").read()
    span = 1 << 20
    h = hashlib.sha256(struct.pack("<Q", len(data)) + data[:span])
    h.update(data[len(data) - span:] if len(data) > 2 * span else data[span:])
    return h.hexdigest()


def identity_hash(tc, sample, tmp):
    """The stored identity stays what earlier releases wrote (databases remember files by
    it), whoever computes the SHA-256: a small file, and one over 2 MiB."""
    data = open(sample, "rb").read()
    big = os.path.join(tmp, "big.pcap")
    with open(big, "wb") as f:
        f.write(data[:24])
        n = 0
        while n < 5 << 19:
            f.write(data[24:])
            n += len(data) - 24
    for path in (sample, big):
        db = os.path.join(tmp, "identity-%s.db" % os.path.basename(path))
        r = run([tc, "read", "--quiet", "--db", db, path])
        con = sqlite3.connect(db)
        got = con.execute("SELECT hash FROM inputs").fetchall()
        con.close()
        check(r.returncode == 0 and got == [(identity_of(path),)],
              "%s: identity %s, want %s" % (path, got, identity_of(path)))


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="tc-storage-")
    try:
        idempotent(tc, samples, tmp)
        refused(tc, samples, tmp)
        disk_full(tc, tmp)
    finally:
        subprocess.run(["umount", os.path.join(tmp, "full")], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
