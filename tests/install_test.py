#!/usr/bin/env python3
"""What `meson install` and the Debian package put where, and that what they say agrees with
the program.

- meson install --destdir: the binary, tlscensus(1), the units (ExecStart = the installed
  binary), bash completion, the policies and catalog as examples;
- the manual holds every command of `tlscensus --help` and every option of each command's
  --help (it is written from them at build time; this catches a command the writer misses);
- bash completion completes commands and a command's options;
- systemd-analyze verify accepts the units;
- dpkg-buildpackage -b (when debhelper is installed): the package's files, its dependencies,
  the system user made by postinst, and lintian without errors or warnings.

The package is built from the source tree with its own flags, whatever the build directory's;
test.sh's sanitizer build passes --no-package, so it is built once per run, in the plain build.

usage: install_test.py BUILD_DIR SOURCE_DIR [--no-package]
"""
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

from tclib import Checks, run

checks = Checks("install")
check = checks.check


def options_of(text):
    return sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text)))


def commands_of(main_help):
    out, on = [], False
    for line in main_help.splitlines():
        if line.strip() == "commands:":
            on = True
        elif on:
            m = re.match(r"^  ([a-z]+)\s", line)
            if not m:
                break
            out.append(m.group(1))
    return out


def manual_covers(tc, troff, where):
    text = troff.replace("\\-", "-").replace("\\e", "\\")
    main = run([tc, "--help"]).stdout
    cmds = commands_of(main)
    check(len(cmds) >= 6, "%s: commands in --help: %r" % (where, cmds))
    for cmd in cmds:
        check(re.search(r"^\.SS %s$" % cmd, text, re.M) is not None,
              "%s: no section for '%s'" % (where, cmd))
        body = text.split(".SS %s\n" % cmd, 1)[-1].split(".SS ", 1)[0]
        missing = [o for o in options_of(run([tc, cmd, "--help"]).stdout) if o not in body]
        check(not missing, "%s: %s options missing from its section: %r" % (where, cmd, missing))


def units_verify(unitdir, binary, tmp):
    """systemd-analyze verify on copies whose ExecStart names a binary that exists here."""
    if not shutil.which("systemd-analyze"):
        print("install: no systemd-analyze, units not verified")
        return
    d = os.path.join(tmp, "units")
    os.makedirs(d, exist_ok=True)
    paths = []
    for u in sorted(glob.glob(os.path.join(unitdir, "tlscensus*"))):
        text = open(u).read()
        text = re.sub(r"ExecStart=\S*/tlscensus", "ExecStart=" + binary, text)
        paths.append(os.path.join(d, os.path.basename(u)))
        with open(paths[-1], "w") as f:
            f.write(text)
    # a template is verified through an instance
    inst = [p.replace("@.service", "@lo.service") if p.endswith("@.service") else p for p in paths]
    for p, i in zip(paths, inst):
        if p != i:
            shutil.copy(p, i)
    r = run(["systemd-analyze", "verify"] + [i for i in inst if "@.service" not in i],
            timeout=60)
    bad = [l for l in (r.stderr or "").splitlines()
           if "tlscensus" in l and "sys-subsystem-net-devices" not in l]
    check(r.returncode == 0 and not bad, "systemd-analyze verify: %s" % (r.stderr or "")[-800:])


def check_meson_install(build, tmp):
    dest = os.path.join(tmp, "dest")
    r = run(["meson", "install", "-C", build, "--no-rebuild", "--destdir", dest, "--quiet"],
            timeout=300)
    check(r.returncode == 0, "meson install: %s" % (r.stderr or r.stdout)[-500:])
    files = [os.path.relpath(os.path.join(d, f), dest) for d, _, fs in os.walk(dest) for f in fs]
    def one(pattern):
        got = [f for f in files if re.search(pattern, f)]
        check(len(got) == 1, "meson install: %s: %r" % (pattern, got))
        return os.path.join(dest, got[0]) if got else None
    binary = one(r"bin/tlscensus$")
    man = one(r"share/man/man1/tlscensus\.1$")
    one(r"bash-completion/completions/tlscensus$")
    one(r"share/tlscensus/providers\.catalog$")
    for pol in ("default", "entra", "nist", "pci", "tls12", "pq"):
        one(r"share/tlscensus/policies/%s\.policy$" % pol)
    cap = one(r"systemd/system/tlscensus-capture@\.service$")
    one(r"systemd/system/tlscensus-report\.(service)$")
    one(r"systemd/system/tlscensus-report\.timer$")
    if cap and binary:
        want = "/" + os.path.relpath(binary, dest)
        execs = re.findall(r"^ExecStart=(\S+)", open(cap).read(), re.M)
        check(execs == [want], "capture unit runs %r, installed binary %s" % (execs, want))
    if man and binary:
        manual_covers(binary, open(man).read(), "meson install")
    return dest, binary


def check_completion(src, binary, tmp):
    if not shutil.which("bash"):
        return
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir, exist_ok=True)
    link = os.path.join(bindir, "tlscensus")
    if not os.path.exists(link):
        os.symlink(binary, link)
    script = os.path.join(src, "completion", "tlscensus.bash")
    def complete(words):
        code = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _tlscensus; '
                'printf "%%s\\n" "${COMPREPLY[@]}"' % (script, " ".join(words), len(words) - 1))
        r = run(["bash", "-c", code], env=dict(os.environ, PATH=bindir + ":" + os.environ["PATH"]))
        return r.stdout.split()
    check(complete(["tlscensus", "rep"]) == ["report"], "completion: rep -> %r" %
          complete(["tlscensus", "rep"]))
    got = complete(["tlscensus", "legacy", "--fo"])
    check("--format" in got, "completion: legacy --fo -> %r" % got)
    got = complete(["tlscensus", "report", "--policy", "p"])
    check("pq" in got and "pci" in got, "completion: --policy p -> %r" % got)


def check_package(src, tmp):
    if not (shutil.which("dpkg-buildpackage") and os.path.exists("/usr/bin/dh")):
        print("install: dpkg-buildpackage or debhelper missing; the package is not built "
              "(apt-get install dpkg-dev debhelper fakeroot lintian)")
        return
    tree = os.path.join(tmp, "tree")
    files = run(["git", "-C", src, "ls-files", "-z", "--cached", "--others",
                 "--exclude-standard"]).stdout
    names = [f for f in files.split("\0") if f] if files else None
    if names:
        for f in names:
            s = os.path.join(src, f)
            if os.path.isfile(s):
                os.makedirs(os.path.dirname(os.path.join(tree, f)), exist_ok=True)
                shutil.copy2(s, os.path.join(tree, f))
    else:  # not a git checkout: the tree without build directories
        shutil.copytree(src, tree, ignore=shutil.ignore_patterns("build*", "obj-*", ".git"))
    r = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree, timeout=1200)
    check(r.returncode == 0, "dpkg-buildpackage: %s" % (r.stdout + r.stderr)[-1500:])
    debs = glob.glob(os.path.join(tmp, "tlscensus_*_*.deb"))
    check(len(debs) == 1, "one package built: %r" % debs)
    if not debs:
        return
    deb = debs[0]
    listing = run(["dpkg-deb", "-c", deb]).stdout
    for path in ("./usr/bin/tlscensus", "./usr/share/man/man1/tlscensus.1.gz",
                 "./lib/systemd/system/tlscensus-capture@.service",
                 "./lib/systemd/system/tlscensus-report.timer",
                 "./usr/share/bash-completion/completions/tlscensus",
                 "./usr/share/tlscensus/policies/pq.policy",
                 "./usr/share/tlscensus/providers.catalog", "./usr/share/doc/tlscensus/copyright"):
        check(re.search(r" %s$" % re.escape(path), listing, re.M) is not None,
              "package lacks %s" % path)
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    for lib in ("libpcap0.8", "libndpi4.2", "libsqlite3-0", "adduser"):
        check(lib in depends, "package Depends lacks %s: %s" % (lib, depends.strip()))
    x = os.path.join(tmp, "x")
    run(["dpkg-deb", "-x", deb, x])
    run(["dpkg-deb", "-e", deb, os.path.join(x, "DEBIAN")])
    unit = open(os.path.join(x, "lib/systemd/system/tlscensus-capture@.service")).read()
    check("ExecStart=/usr/bin/tlscensus capture" in unit, "package unit runs /usr/bin/tlscensus")
    post = open(os.path.join(x, "DEBIAN", "postinst")).read()
    check("adduser --system" in post and "/var/lib/tlscensus" in post,
          "postinst makes the system user and /var/lib/tlscensus")
    man = gzip.open(os.path.join(x, "usr/share/man/man1/tlscensus.1.gz"), "rt").read()
    manual_covers(os.path.join(x, "usr/bin/tlscensus"), man, "package")
    units_verify(os.path.join(x, "lib/systemd/system"), os.path.join(x, "usr/bin/tlscensus"),
                 tmp)
    if shutil.which("lintian"):
        r = run(["lintian", "--tag-display-limit", "0", deb], timeout=600)
        tags = [l for l in (r.stdout or "").splitlines() if re.match(r"^[EW]: ", l)]
        check(not tags, "lintian: %r" % tags)
        print("install: lintian: %d errors or warnings" % len(tags))
    print("install: package %s built and checked" % os.path.basename(deb))


def main():
    build, src = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="tc-install-")
    try:
        dest, binary = check_meson_install(build, tmp)
        if binary:
            check_completion(src, binary, tmp)
            cap_dir = os.path.dirname(glob.glob(os.path.join(dest, "**", "tlscensus-report.timer"),
                                                recursive=True)[0])
            units_verify(cap_dir, binary, tmp)
        if "--no-package" in sys.argv[3:]:
            print("install: the Debian package is built in the plain build's run, not here")
        else:
            check_package(src, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
