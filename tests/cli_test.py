#!/usr/bin/env python3
"""The command line: help, version, usage errors, and bad input files.

Bad input must give a clear message naming the file, a documented non-zero exit code, and
must not lose what was already recorded (from other files of the same run, or from the part
of a truncated file before the cut).

usage: cli_test.py TLSCENSUS SAMPLES_DIR
"""
import os
import shutil
import sqlite3
import sys
import tempfile

from tclib import Checks, export, run

EXIT_USAGE, EXIT_CAPTURE, EXIT_TRUNCATED, EXIT_DATABASE = 2, 3, 4, 5
checks = Checks("cli")
check = checks.check


def count(db):
    with sqlite3.connect(db) as c:
        return c.execute("select count(*) from connections").fetchone()[0]


def check_script_paths(tc, samples):
    """Regression: the stage-folder layout moved the binary to BUILD/src/tlscensus and demo.sh
    (the README's first command) still ran build/tlscensus. The scripts that run the binary
    from a build directory must name it where meson puts it."""
    build = os.path.dirname(os.path.dirname(os.path.abspath(tc)))  # BUILD/src/tlscensus
    rel = os.path.relpath(os.path.abspath(tc), build)
    root = os.path.dirname(os.path.abspath(samples))
    for script in ("demo.sh", os.path.join("samples", "clients", "fingerprints.py")):
        text = open(os.path.join(root, script)).read()
        check(("build/" + rel) in text or ('"build", "%s"' % '", "'.join(rel.split("/"))) in text,
              "%s runs the binary at build/%s" % (script, rel))


def main():
    tc, samples = sys.argv[1], sys.argv[2]
    good = os.path.join(samples, "tls12-openssl.pcap")
    other = os.path.join(samples, "tls13-openssl.pcap")
    check_script_paths(tc, samples)

    r = run([tc, "--version"])
    check(r.returncode == 0 and r.stdout.startswith("tlscensus "), "--version")
    for sub in ("read", "capture", "legacy", "report", "export", "migrate"):
        r = run([tc, sub, "--help"])
        check(r.returncode == 0 and "usage: tlscensus " + sub in r.stdout, sub + " --help")
    r = run([tc, "--help"])
    check(r.returncode == 0 and "legacy" in r.stdout, "--help")
    r = run([tc, "frobnicate"])
    check(r.returncode == EXIT_USAGE and "unknown command 'frobnicate'" in r.stderr, "unknown command")
    r = run([tc])
    check(r.returncode == EXIT_USAGE, "no command")
    r = run([tc, "export", "--format", "csv"])
    check(r.returncode == EXIT_USAGE and "'csv'" in r.stderr, "export --format csv")
    # A usage error is one line and a hint, for every command; never the whole help.
    for sub in ("read", "capture", "legacy", "report", "export", "migrate"):
        r = run([tc, sub, "--no-such-option"])
        check(r.returncode == EXIT_USAGE and r.stderr == "tlscensus: unknown option "
              "'--no-such-option'\ntry 'tlscensus %s --help'\n" % sub,
              "%s: a bad option is one line and a hint: %r" % (sub, r.stderr))
        r = run([tc, sub, "--db"])
        check(r.returncode == EXIT_USAGE and "missing value for option '--db'" in r.stderr and
              "usage:" not in r.stderr, "%s --db without a value: %r" % (sub, r.stderr))
    r = run([tc, "frobnicate"])
    check(r.stderr == "tlscensus: unknown command 'frobnicate'\ntry 'tlscensus --help'\n",
          "unknown command: one line and a hint: %r" % r.stderr)
    r = run([tc, "legacy", "--format", "xml"])
    check(r.returncode == EXIT_USAGE and "'xml'" in r.stderr, "legacy --format xml")
    r = run([tc, "read"])
    check(r.returncode == EXIT_USAGE, "read without files")
    r = run([tc, "capture"])
    check(r.returncode == EXIT_USAGE and "-i IFACE" in r.stderr, "capture without an interface")
    r = run([tc, "capture", "-i", "tcnosuchif0", "--db", os.devnull + ".db"])
    check(r.returncode == EXIT_CAPTURE and "'tcnosuchif0'" in r.stderr,
          "capture on a missing interface names it: %r" % r.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "t.db")
        missing = os.path.join(tmp, "nope.pcap")
        empty = os.path.join(tmp, "empty.pcap")
        text = os.path.join(tmp, "notes.pcap")
        cut = os.path.join(tmp, "cut.pcap")
        open(empty, "wb").close()
        with open(text, "w") as f:
            f.write("this is not a capture\n" * 20)
        data = open(other, "rb").read()
        # Cut inside the last packet: every packet before it stays readable.
        with open(cut, "wb") as f:
            f.write(data[: len(data) - 20])

        # Query commands on a database that does not exist: an error naming it, nothing created.
        r = run([tc, "legacy", "--db", db])
        check(r.returncode == EXIT_DATABASE and db in r.stderr, "legacy on missing db: %r" % r.stderr)
        check(not os.path.exists(db), "legacy must not create the database")

        # A directory stands for its captures; one without any is an unreadable source.
        nocaps = os.path.join(tmp, "no-captures")
        os.mkdir(nocaps)
        shutil.copy(text, nocaps)
        for i, (path, what) in enumerate(((missing, "missing"), (empty, "empty"),
                                          (text, "not a capture"),
                                          (nocaps, "directory without captures"))):
            r = run([tc, "read", "--quiet", "--db", db, good, path])
            check(r.returncode == EXIT_CAPTURE, "%s file: exit %s" % (what, r.returncode))
            check(path in r.stderr, "%s file: message names the file: %r" % (what, r.stderr))
            check("Segmentation" not in r.stderr and "Assertion" not in r.stderr, what + ": crash")
            # Reads are idempotent: the good file, read by the first run, is skipped after.
            check(i == 0 or ("already read into " + db in r.stderr and good in r.stderr),
                  "%s file: the good one is skipped with a note: %r" % (what, r.stderr))
        check(count(db) == 1, "good file recorded once beside the bad ones: %d" % count(db))
        r = run([tc, "read", "--db", db, empty])
        check("empty" in r.stderr, "empty file is called empty: %r" % r.stderr)
        r = run([tc, "read", "--db", db, text])
        check("not a pcap or pcapng" in r.stderr, "non-capture is named as such: %r" % r.stderr)
        r = run([tc, "read", "--db", db, missing])
        check("No such file" in r.stderr, "missing file says so: %r" % r.stderr)

        db2 = os.path.join(tmp, "cut.db")
        r = run([tc, "read", "--quiet", "--db", db2, good, cut])
        check(r.returncode == EXIT_TRUNCATED, "truncated: exit %s" % r.returncode)
        check(cut in r.stderr and "cut short" in r.stderr, "truncated: message %r" % r.stderr)
        _, recs = export(tc, db2)
        snis = sorted(x["sni"] for x in recs)
        check(snis == ["legacy.example.test", "tls13.example.test"],
              "records before the cut kept: %r" % snis)

        # Standard input, and the summary line when piped.
        db3 = os.path.join(tmp, "stdin.db")
        with open(good, "rb") as f:
            r = run([tc, "read", "--db", db3, "-"], stdin=f)
        check(r.returncode == 0 and count(db3) == 1, "read from stdin")
        check("1 TLS connections recorded" in r.stderr, "summary line: %r" % r.stderr)
        r = run([tc, "read", "--progress", "--db", db3, good])
        check("100.0%" in r.stderr and "handshakes" in r.stderr, "progress line: %r" % r.stderr)

        # A database path that cannot be created names the database.
        r = run([tc, "read", "--db", os.path.join(tmp, "no", "such", "dir.db"), good])
        check(r.returncode == EXIT_DATABASE and "dir.db" in r.stderr, "bad db path: %r" % r.stderr)
        # A file that is not a database is refused, and left alone.
        shutil.copy(text, os.path.join(tmp, "text.db"))
        r = run([tc, "read", "--db", os.path.join(tmp, "text.db"), good])
        check(r.returncode == EXIT_DATABASE and "text.db" in r.stderr, "non-db file: %r" % r.stderr)
        check(open(os.path.join(tmp, "text.db")).read() == open(text).read(), "non-db left alone")

    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
