#!/usr/bin/env python3
"""Live capture: `tlscensus capture` on one end of a veth pair while real openssl and gnutls
clients and servers make handshakes across it.

Two network namespaces (client, server) made here are joined by one veth pair and nothing else:
no route, no bridge, no link to the host's namespace, so no packet can leave the machine. The
capture runs inside the server's namespace on the server's end. Checks:

  handshakes  TLS 1.0, 1.1, 1.2, 1.3, 3DES (gnutls), a TLS 1.0 client refused by a TLS 1.2
              server, a TLS 1.3 client held to TLS 1.0: one record each, right version, cipher
              and alert; `legacy` lists exactly the legacy ones
  privileges  the capture runs as the unprivileged user (all four uids and gids, every thread,
              no capabilities), the database is 0640 and its own; -Z root keeps root
  SIGUSR1     prints the statistics and the capture goes on
  readers     `legacy` and sqlite3 beside the writer never fail nor see a locked database
  SIGTERM     right after the last of 20 handshakes: all 20 recorded, the run ended, exit 0
  quiet link  SIGTERM, SIGUSR1 and --duration are served when no packet arrives
  kill -9     after the commit interval: a sound database with every record, the run left
              open; a new capture on the same database goes on
  replay      the samples copied into some 2000 connections, sent with tcpreplay --topspeed:
              packets and connections sent, received, dropped and recorded are printed and
              must account for each other; what was recorded must equal a read of the file

usage: live_test.py TLSCENSUS SAMPLES_DIR   (exit 77, skipped, without root or `ip netns`)
"""
import atexit
import glob
import json
import os
import pwd
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

import tclib
from tclib import Checks, Pcap, write_pcap

SKIP = 77
TAG = "tcl%d" % os.getpid()  # namespace and device names: unique per run, at most 15 bytes
NS_CLI, NS_SRV = TAG + "c", TAG + "s"
DEV_CLI, DEV_SRV = TAG + "c", TAG + "s"
MAC_CLI, MAC_SRV = "02:00:00:00:98:01", "02:00:00:00:98:02"
CLI4, SRV4 = "10.98.0.1", "10.98.0.2"
# As in samples/record.sh: openssl 3 refuses TLS 1.0/1.1 handshakes at its default level.
OLD = "DEFAULT@SECLEVEL=0"
STOP_WAIT = 5.0  # seconds a capture may take to end after SIGTERM (it flushes first)
REPLAY_CONNS = 2000

checks = Checks("live")
check = checks.check
procs = []  # every process started here; killed at the end whatever happened
state = {"net": False, "tmp": None}


def info(msg):
    print("live: " + msg, flush=True)


def ns(name, argv):
    return ["ip", "netns", "exec", name] + list(argv)


def run(argv, timeout=20, **kw):
    """tclib.run with a time limit: a hung process comes back unfinished, the test goes on."""
    return tclib.run(argv, timeout=timeout, **kw)


def must(argv):
    r = run(argv)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), (r.stderr or r.stdout).strip()))
    return r


def query(db, sql, args=()):
    """Rows of one query; the connection is closed before returning, so a reader run as root
    never leaves a -wal or -shm file that the unprivileged capture could not open."""
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


# --- setup ------------------------------------------------------------------------------------


def can_run():
    if os.geteuid() != 0 or not shutil.which("ip"):
        return False
    probe = TAG + "p"
    r = run(["ip", "netns", "add", probe])
    run(["ip", "netns", "del", probe])
    return r.returncode == 0


def need_tools():
    """Installs what is missing; returns the names still missing."""
    want = {"openssl": "openssl", "gnutls-cli": "gnutls-bin", "gnutls-serv": "gnutls-bin",
            "ss": "iproute2", "sqlite3": "sqlite3"}
    missing = sorted({pkg for cmd, pkg in want.items() if not shutil.which(cmd)})
    if missing:
        apt_install(missing)
    return sorted({pkg for cmd, pkg in want.items() if not shutil.which(cmd)})


def apt_install(pkgs):
    if not shutil.which("apt-get"):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    argv = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + list(pkgs)
    if run(argv, timeout=180, env=env).returncode == 0:
        return True
    run(["apt-get", "update", "-qq"], timeout=180, env=env)
    return run(argv, timeout=180, env=env).returncode == 0


def net_up():
    state["net"] = True
    for n in (NS_CLI, NS_SRV):
        must(["ip", "netns", "add", n])
    must(["ip", "link", "add", DEV_CLI, "netns", NS_CLI, "type", "veth", "peer", "name", DEV_SRV,
          "netns", NS_SRV])
    for n, dev, mac, addr in ((NS_CLI, DEV_CLI, MAC_CLI, CLI4), (NS_SRV, DEV_SRV, MAC_SRV, SRV4)):
        must(["ip", "-n", n, "link", "set", "lo", "up"])
        must(["ip", "-n", n, "link", "set", dev, "address", mac, "mtu", "1500"])
        # No IPv6 on the link: no router solicitations or MLD reports among the packets counted.
        must(ns(n, ["sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6" % dev]))
        # Offloads off, as in samples/record.sh: wire-sized segments, as on a physical NIC.
        if shutil.which("ethtool"):
            if run(ns(n, ["ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off", "tx",
                          "off"])).returncode != 0:
                run(ns(n, ["ethtool", "-K", dev, "tso", "off", "gso", "off", "tx", "off"]))
        must(["ip", "-n", n, "addr", "add", addr + "/24", "dev", dev])
        must(["ip", "-n", n, "link", "set", dev, "up"])


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
    if state["net"]:
        for n in (NS_CLI, NS_SRV):
            # Whatever still runs in our own namespaces was started by this test.
            r = run(["ip", "netns", "pids", n])
            for pid in (r.stdout or "").split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            run(["ip", "netns", "del", n])
        state["net"] = False
    if state["tmp"] and not os.environ.get("KEEP_WORK"):
        shutil.rmtree(state["tmp"], ignore_errors=True)
        state["tmp"] = None


def make_cert(d):
    cn = "live.example.test"
    must(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
          "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:%s,DNS:*.live.test" % cn,
          "-keyout", os.path.join(d, "rsa.key"), "-out", os.path.join(d, "rsa.crt")])
    return os.path.join(d, "rsa.crt"), os.path.join(d, "rsa.key")


# --- processes in the namespaces --------------------------------------------------------------


def start(name, argv, log):
    f = open(log, "w")
    p = subprocess.Popen(ns(name, argv), stdin=subprocess.DEVNULL, stdout=f,
                         stderr=subprocess.STDOUT)
    f.close()
    procs.append(p)
    return p


def listening(port):
    r = run(ns(NS_SRV, ["ss", "-Hltn", "sport = :%d" % port]))
    return bool((r.stdout or "").strip())


def start_server(tmp, port, argv):
    log = os.path.join(tmp, "server-%d.log" % port)
    p = start(NS_SRV, argv, log)
    for _ in range(100):
        if listening(port):
            return p
        if p.poll() is not None:
            break
        time.sleep(0.1)
    check(False, "server on port %d did not start: %s" % (port, open(log).read()[-500:]))
    return p


def nudge():
    """One SYN across the link (and the RST it earns): wakes a capture waiting for a packet."""
    code = "import socket,sys; s=socket.socket(); s.settimeout(1); s.connect_ex((sys.argv[1], 9))"
    run(ns(NS_CLI, [sys.executable, "-c", code, SRV4]), timeout=10)


def handshake(argv):
    return run(ns(NS_CLI, argv), timeout=15)


def ossl(port, sni, *opts):
    return ["openssl", "s_client", "-connect", "%s:%d" % (SRV4, port), "-servername", sni] + list(opts)


def gnutls(port, sni, *opts):
    return ["gnutls-cli", "--insecure", "-p", str(port), SRV4, "--sni-hostname", sni] + list(opts)


def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open("/proc/%s/stat" % d).read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d))
    return kids


def is_capture(pid):
    try:
        argv = open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")
    except OSError:
        return False
    return argv[0].endswith(b"tlscensus") and b"capture" in argv


def real_pid(pid):
    """The tlscensus process itself: `ip netns exec` execs it, but look below it in case not."""
    todo = [pid]
    while todo:
        p = todo.pop(0)
        if is_capture(p):
            return p
        todo += children_of(p)
    return pid


def proc_status(pid, tid=None):
    path = "/proc/%d/status" % pid if tid is None else "/proc/%d/task/%s/status" % (pid, tid)
    out = {}
    for line in open(path):
        k, _, v = line.partition(":")
        out[k] = v.split()
    return out


class Capture:
    """`tlscensus capture` on the server's end of the link, in the server's namespace."""

    def __init__(self, tc, tmp, name, db, args=()):
        self.name = name
        self.log = os.path.join(tmp, name + ".capture.log")
        self.proc = start(NS_SRV, [tc, "capture", "-i", DEV_SRV, "--db", db] + list(args), self.log)
        self.nudges = 0
        self.rc = None
        deadline = time.time() + 20
        while time.time() < deadline and "capturing on" not in self.output():
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.ready = "capturing on" in self.output()
        check(self.ready, "%s: capture did not start: %s" % (name, self.output()[-500:]))
        self.pid = real_pid(self.proc.pid)

    def output(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stats_lines(self):
        return [l for l in self.output().splitlines() if " received, " in l]

    def usr1(self, what, wait=2.0):
        """Asks for the statistics line; True when it came within `wait` seconds. A capture
        that answers only once a packet arrives fails, and a nudge lets the test go on."""
        before = len(self.stats_lines())
        os.kill(self.pid, signal.SIGUSR1)
        if self._wait(lambda: len(self.stats_lines()) > before, wait):
            return True
        self.nudges += 1
        nudge()
        late = self._wait(lambda: len(self.stats_lines()) > before, wait)
        check(False, "%s: no statistics line %.0f s after SIGUSR1 (%s); %s" % (
            self.name, wait, what, "it came only once a packet arrived" if late else
            "none even after a packet"))
        return late

    def stop(self, sig=signal.SIGTERM, what="SIGTERM"):
        """Signals the capture and returns its exit code. One still running STOP_WAIT seconds
        later fails; a packet across the link then shows whether it was waiting for one."""
        t0 = time.time()
        os.kill(self.pid, sig)
        try:
            self.rc = self.proc.wait(STOP_WAIT)
            self.stop_s = time.time() - t0
            return self.rc
        except subprocess.TimeoutExpired:
            pass
        self.nudges += 1
        nudge()
        try:
            self.rc = self.proc.wait(STOP_WAIT)
            check(False, "%s: capture still running %.0f s after %s; it ended only once a packet "
                  "arrived (its poll does not wake up on a quiet link)" % (self.name, STOP_WAIT, what))
        except subprocess.TimeoutExpired:
            check(False, "%s: capture still running %.0f s after %s, even after a packet; killed" %
                  (self.name, 2 * STOP_WAIT, what))
            self.proc.kill()
            self.rc = self.proc.wait()
        self.stop_s = time.time() - t0
        return self.rc

    @staticmethod
    def _wait(cond, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if cond():
                return True
            time.sleep(0.05)
        return cond()


def export(tc, db):
    r, recs = tclib.export(tc, db, timeout=60)
    check(r.returncode == 0, "export %s: exit %s: %s" % (db, r.returncode, r.stderr))
    return recs


def legacy(tc, db):
    r = run([tc, "legacy", "--db", db, "--format", "json"], timeout=60)
    if not check(r.returncode == 0, "legacy %s: exit %s: %s" % (db, r.returncode, r.stderr)):
        return []
    doc = json.loads(r.stdout or "[]")
    # A list of rows, or an object that holds them under "entries" beside its totals.
    return doc["entries"] if isinstance(doc, dict) else doc


def by_sni(recs):
    out = {}
    for r in recs:
        out.setdefault(r["sni"], []).append(r)
    return out


# --- 1, 4, 5, 6: handshakes, privileges, SIGUSR1, readers -------------------------------------

# name (SNI label), server port, client command, version, cipher (None: any), alert,
# client's highest version, legacy
def scenarios():
    return [
        ("tls10", 4410, lambda s: ossl(4410, s, "-tls1", "-cipher", OLD),
         "TLSv1.0", None, None, "TLSv1.0", True),
        ("tls11", 4411, lambda s: ossl(4411, s, "-tls1_1", "-cipher", OLD),
         "TLSv1.1", None, None, "TLSv1.1", True),
        ("tls12", 4412, lambda s: ossl(4412, s, "-tls1_2"), "TLSv1.2", None, None, "TLSv1.2", False),
        ("tls13", 4413, lambda s: ossl(4413, s), "TLSv1.3", None, None, "TLSv1.3", False),
        ("3des", 8443, lambda s: gnutls(8443, s, "--priority", "NONE:+VERS-TLS1.2:+3DES-CBC:+RSA:"
                                        "+SHA1:+COMP-NULL:+SIGN-ALL:+CTYPE-X509"),
         "TLSv1.2", "0x000a", None, "TLSv1.2", True),
        # A TLS 1.0-only client, a TLS 1.2-only server: protocol_version, no ServerHello.
        ("oldclient", 4412, lambda s: ossl(4412, s, "-tls1", "-cipher", OLD),
         None, None, "fatal:protocol_version", "TLSv1.0", True),
        # A current client, a server that stops at TLS 1.0.
        ("oldserver", 4410, lambda s: ossl(4410, s, "-min_protocol", "TLSv1", "-max_protocol",
                                           "TLSv1.3", "-cipher", OLD),
         "TLSv1.0", None, None, "TLSv1.3", True),
    ]


def start_servers(tmp, crt, key):
    ossl_srv = ["openssl", "s_server", "-rev", "-cert", crt, "-key", key, "-accept"]
    start_server(tmp, 4410, ossl_srv + ["4410", "-tls1", "-cipher", OLD])
    start_server(tmp, 4411, ossl_srv + ["4411", "-tls1_1", "-cipher", OLD])
    start_server(tmp, 4412, ossl_srv + ["4412", "-tls1_2"])
    start_server(tmp, 4413, ossl_srv + ["4413"])
    start_server(tmp, 8443, ["gnutls-serv", "--echo", "--disable-client-cert", "-p", "8443",
                             "--x509certfile", crt, "--x509keyfile", key,
                             "--priority", "NORMAL:-VERS-TLS1.3:+3DES-CBC:+RSA"])


class Readers(threading.Thread):
    """`legacy` and sqlite3 in a loop beside the capture's writer, as an operator would."""

    def __init__(self, tc, db, least):
        super().__init__(daemon=True)
        self.tc, self.db, self.least = tc, db, least
        self.stop, self.rounds, self.errors = False, 0, []

    def run(self):
        while not self.stop or self.rounds < self.least:
            for argv in ([self.tc, "legacy", "--db", self.db, "--format", "json"],
                         ["sqlite3", self.db, "select count(*) from connections"]):
                r = run(argv, timeout=20)
                text = (r.stdout or "") + (r.stderr or "")
                if r.returncode != 0 or "locked" in text or "busy" in text.lower():
                    self.errors.append("%s: exit %s: %s" % (argv[0], r.returncode, text.strip()[:200]))
            self.rounds += 1
            time.sleep(0.02)


def unprivileged_user():
    for name in ("tlscensus", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    return None


def check_privileges(cap, db):
    user = unprivileged_user()
    if not check(user is not None, "no tlscensus or nobody user to expect"):
        return
    uid, gid = str(user.pw_uid), str(user.pw_gid)
    check(is_capture(cap.pid), "privileges: no tlscensus process below pid %d" % cap.proc.pid)
    tids = os.listdir("/proc/%d/task" % cap.pid)
    for tid in tids:
        st = proc_status(cap.pid, tid)
        check(st["Uid"] == [uid] * 4, "privileges: thread %s Uid %s, want %s x4" % (tid, st["Uid"], uid))
        check(st["Gid"] == [gid] * 4, "privileges: thread %s Gid %s, want %s x4" % (tid, st["Gid"], gid))
        check(int(st["CapEff"][0], 16) == 0 and int(st["CapPrm"][0], 16) == 0,
              "privileges: thread %s CapEff %s CapPrm %s" % (tid, st["CapEff"], st["CapPrm"]))
        check("0" not in st.get("Groups", []), "privileges: thread %s in group 0: %s" % (tid, st["Groups"]))
    for path in (db, db + "-wal"):
        if path.endswith("-wal") and not os.path.exists(path):
            continue
        s = os.stat(path)
        check(s.st_mode & 0o777 == 0o640, "privileges: %s mode %o, want 640" % (path, s.st_mode & 0o777))
        check(s.st_uid == user.pw_uid, "privileges: %s owned by uid %d, want %s" % (path, s.st_uid, uid))
    info("capture runs as %s (uid %s, gid %s), %d threads, no capabilities; database 0640" %
         (user.pw_name, uid, gid, len(tids)))


def test_handshakes(tc, tmp, crt, key):
    db = os.path.join(tmp, "main.db")
    start_servers(tmp, crt, key)
    cap = Capture(tc, tmp, "handshakes", db)
    if not cap.ready:
        return
    check_privileges(cap, db)
    # SIGUSR1 on a quiet link first: the capture has seen no TLS yet.
    cap.usr1("quiet link")
    readers = Readers(tc, db, 20)
    readers.start()
    outs = {}
    todo = scenarios()
    for i, (name, port, client, *_rest) in enumerate(todo):
        outs[name] = handshake(client(name + ".live.test"))
        if i == 2:
            cap.usr1("while handshakes go on")
            line = cap.stats_lines()[-1] if cap.stats_lines() else ""
            check("received" in line and "TLS connections recorded" in line,
                  "SIGUSR1: statistics line %r" % line)
            check(cap.alive(), "SIGUSR1 stopped the capture")
    readers.stop = True
    readers.join(120)
    check(not readers.errors, "readers beside the capture: %d of %d rounds failed, first: %s" % (
        len(readers.errors), readers.rounds, readers.errors[:1]))
    info("%d rounds of `legacy` and sqlite3 beside the capture, %d failed" %
         (readers.rounds, len(readers.errors)))
    check(cap.alive(), "capture still running after the handshakes and SIGUSR1")
    rc = cap.stop()
    check(rc == 0, "handshakes: capture exit %s after SIGTERM: %s" % (rc, cap.output()[-500:]))
    info("capture ended %.2f s after SIGTERM" % cap.stop_s)

    recs = export(tc, db)
    sni = by_sni(recs)
    want = {name + ".live.test" for name, *_ in todo}
    check(set(sni) == want, "handshakes: SNIs recorded %s, want %s" % (sorted(map(str, sni)), sorted(want)))
    check(len(recs) == len(todo), "handshakes: %d records, want %d" % (len(recs), len(todo)))
    for name, port, _, version, cipher, alert, cmax, _ in todo:
        got = sni.get(name + ".live.test", [])
        hint = "(client said: %s)" % (outs[name].stdout + outs[name].stderr)[-300:].replace("\n", " ")
        if not check(len(got) == 1, "%s: %d records, want 1 %s" % (name, len(got), hint)):
            continue
        r = got[0]
        check((r["client_ip"], r["server_ip"], r["server_port"]) == (CLI4, SRV4, port),
              "%s: endpoints %s -> %s:%s" % (name, r["client_ip"], r["server_ip"], r["server_port"]))
        check(r["version"] == version, "%s: version %s, want %s %s" % (name, r["version"], version, hint))
        if version is None:
            check(r["cipher"] is None, "%s: cipher %s without a ServerHello" % (name, r["cipher"]))
        elif cipher:
            check(r["cipher"] == cipher, "%s: cipher %s, want %s" % (name, r["cipher"], cipher))
        else:
            check(bool(r["cipher"]), "%s: no cipher" % name)
        check(r["alert"] == alert, "%s: alert %s, want %s" % (name, r["alert"], alert))
        check(r["client_max_version"] == cmax, "%s: client max %s, want %s" % (name, r["client_max_version"], cmax))
        check(r["parse_status"] == "ok", "%s: parse_status %s" % (name, r["parse_status"]))

    leg = legacy(tc, db)
    want_leg = {name + ".live.test" for name, *_, is_legacy in todo if is_legacy}
    got_leg = [x["sni"] for x in leg]
    check(sorted(map(str, got_leg)) == sorted(want_leg), "legacy lists %s, want %s" % (got_leg, sorted(want_leg)))
    for x in leg:
        check(x["connections"] == 1 and x["client_ip"] == CLI4, "legacy row %s" % x)
        if x["sni"] == "3des.live.test":
            check(x["cipher"] == "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "legacy 3DES cipher %s" % x["cipher"])
        if x["sni"] == "oldclient.live.test":
            check(x["version"] == "TLSv1.0 (offered)" and x["negotiated"] is False,
                  "legacy refused client: %s" % x)

    runs = query(db, "select handshakes, ended from runs")
    check(len(runs) == 1 and runs[0][0] == len(todo) and runs[0][1] is not None,
          "handshakes: runs row (handshakes, ended) %s" % runs)
    inv = dict(query(db, "select sni, sum(connections) from inventory group by sni"))
    check(inv == {s: 1 for s in want}, "inventory %s" % inv)


# --- 2: SIGTERM right after the last handshake ------------------------------------------------


def test_sigterm_flush(tc, tmp, n=20):
    db = os.path.join(tmp, "flush.db")
    log, prom = os.path.join(tmp, "flush.ndjson"), os.path.join(tmp, "flush.prom")
    cap = Capture(tc, tmp, "flush", db, ["-Z", "root", "--log", log, "--metrics", prom])
    if not cap.ready:
        return
    check(os.path.exists(prom) and "tlscensus_handshakes_total{interface=\"%s\"} 0\n" % DEV_SRV
          in open(prom).read(), "--metrics: the file is there from the start")
    st = proc_status(cap.pid)
    check(st["Uid"] == ["0"] * 4, "-Z root: Uid %s, want 0 x4" % st["Uid"])
    want = []
    for i in range(n):
        if i == n // 2:
            # logrotate halfway: the lines so far reach the file while the capture runs; the
            # file is renamed, SIGHUP makes the capture open a new one by the same name.
            check(cap._wait(lambda: os.path.exists(log) and
                            sum(1 for _ in open(log)) >= n // 2, 10),
                  "--log: lines written while the capture runs")
            os.rename(log, log + ".1")
            os.kill(cap.pid, signal.SIGHUP)
            check(cap._wait(lambda: os.path.exists(log), 10) and cap.alive(),
                  "--log: SIGHUP opened the file again, the capture goes on")
        sni = "flush-%02d.live.test" % i
        want.append(sni)
        # Two servers, two versions: the records must not depend on which one answered.
        handshake(ossl(4413, sni) if i % 2 else ossl(4412, sni, "-tls1_2"))
    rc = cap.stop()  # no pause: the last handshake has just ended
    check(rc == 0, "SIGTERM flush: exit %s: %s" % (rc, cap.output()[-500:]))
    got = sorted(r["sni"] or "" for r in export(tc, db))
    check(got == want, "SIGTERM flush: %d of %d handshakes recorded, missing %s" % (
        len(got), n, sorted(set(want) - set(got))))
    runs = query(db, "select ended, handshakes from runs")
    check(len(runs) == 1 and runs[0][0] is not None and runs[0][1] == n,
          "SIGTERM flush: runs (ended, handshakes) %s" % runs)
    # --log: every connection, as export has it; --metrics: the final counters.
    rotated = [json.loads(l) for l in open(log + ".1")] if os.path.exists(log + ".1") else []
    logged = [json.loads(l) for l in open(log)] if os.path.exists(log) else []
    check(sorted(r["sni"] for r in logged) == want[n // 2:],
          "--log: after SIGHUP the lines go to the new file: %s" % [r["sni"] for r in logged])
    logged += rotated
    exported = {r["client_port"]: r for r in export(tc, db)}
    check(sorted(r["sni"] for r in logged) == want and all(
        {k: v for k, v in r.items() if k != "last_ts"} ==
        {k: v for k, v in exported.get(r["client_port"], {}).items() if k != "last_ts"}
        for r in logged), "--log: the export's records, one line each (%d)" % len(logged))
    text = open(prom).read() if os.path.exists(prom) else ""
    check("tlscensus_handshakes_total{interface=\"%s\"} %d\n" % (DEV_SRV, n) in text and
          "# TYPE tlscensus_kernel_drops_total counter\n" in text and
          "tlscensus_log_drops_total{interface=\"%s\"} 0\n" % DEV_SRV in text and
          not os.path.exists(prom + ".tmp"), "--metrics at exit: %r" % text[:300])
    info("SIGTERM right after %d handshakes: %d recorded, exit %s in %.2f s" % (n, len(got), rc, cap.stop_s))


# --- quiet link: --duration ---------------------------------------------------------------------


def test_duration(tc, tmp):
    db = os.path.join(tmp, "duration.db")
    cap = Capture(tc, tmp, "duration", db, ["--duration", "1s"])
    if not cap.ready:
        return
    t0 = time.time()
    try:
        rc = cap.proc.wait(1 + STOP_WAIT)
    except subprocess.TimeoutExpired:
        nudge()
        try:
            rc = cap.proc.wait(STOP_WAIT)
            check(False, "--duration 1s on a quiet link: still running after %.0f s; it ended "
                  "only once a packet arrived" % (1 + STOP_WAIT))
        except subprocess.TimeoutExpired:
            cap.proc.kill()
            rc = cap.proc.wait()
            check(False, "--duration 1s: still running after %.0f s, even after a packet; killed" %
                  (1 + 2 * STOP_WAIT))
    check(rc == 0, "--duration 1s: exit %s: %s" % (rc, cap.output()[-300:]))
    runs = query(db, "select ended from runs")
    check(len(runs) == 1 and runs[0][0] is not None, "--duration: run ended %s" % runs)
    info("--duration 1s on a quiet link: exit %s after %.1f s" % (rc, time.time() - t0))


# --- 3b: --retain prunes old connection rows, the inventory keeps the history ------------------


def test_retain(tc, tmp, samples):
    """Rows recorded in 2024 (the samples' time) are older than --retain 30d: the capture prunes
    them as it starts, while the inventory, and so the legacy answer, keeps them."""
    db = os.path.join(tmp, "retain.db")
    r = run([tc, "read", "--quiet", "--db", db, os.path.join(samples, "tls10-openssl.pcap"),
             os.path.join(samples, "tls12-openssl.pcap")])
    check(r.returncode == 0, "retain: read samples: %s" % r.stderr)
    os.chmod(db, 0o666)
    for extra in ("-wal", "-shm"):
        if os.path.exists(db + extra):
            os.chmod(db + extra, 0o666)
    before = query(db, "select count(*) from connections")[0][0]
    legacy_before = legacy(tc, db)
    cap = Capture(tc, tmp, "retain", db, ["--retain", "30d", "--duration", "2s"])
    if not cap.ready:
        return
    try:
        rc = cap.proc.wait(2 + 2 * STOP_WAIT)
    except subprocess.TimeoutExpired:
        cap.proc.kill()
        rc = cap.proc.wait()
    check(rc == 0, "retain: capture exit %s: %s" % (rc, cap.output()[-300:]))
    after = query(db, "select count(*) from connections")[0][0]
    inventory = query(db, "select sum(connections) from inventory")[0][0]
    check(before == 2 and after == 0, "retain: connection rows %s before, %s after" % (before, after))
    check(inventory == 2, "retain: inventory keeps %s connections" % inventory)
    legacy_after = legacy(tc, db)
    check(legacy_after == legacy_before and len(legacy_after) == 1,
          "retain: legacy answer changed by pruning: %s -> %s" % (legacy_before, legacy_after))
    info("--retain 30d: %d old connection rows pruned, inventory kept %s, legacy unchanged"
         % (before - after, inventory))


# --- 3: kill -9 and a new capture on the same database ----------------------------------------


def test_kill9(tc, tmp, n=5):
    db = os.path.join(tmp, "kill.db")
    cap = Capture(tc, tmp, "kill9", db)
    if not cap.ready:
        return
    want = ["kill-%d.live.test" % i for i in range(n)]
    for sni in want:
        handshake(ossl(4413, sni))
    time.sleep(2.5)  # more than the writer's one-second commit interval
    os.kill(cap.pid, signal.SIGKILL)
    try:
        rc = cap.proc.wait(STOP_WAIT)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == -signal.SIGKILL, "kill -9: exit %s" % rc)
    check(query(db, "pragma integrity_check") == [("ok",)], "kill -9: integrity_check %s" %
          query(db, "pragma integrity_check"))
    got = sorted(r[0] for r in query(db, "select sni from connections"))
    check(got == want, "kill -9: records committed before the kill %s, want %s" % (got, want))
    runs = query(db, "select id, ended from runs")
    check(len(runs) == 1 and runs[0][1] is None, "kill -9: run left open (ended NULL): %s" % runs)

    cap2 = Capture(tc, tmp, "after-kill9", db)
    if not cap2.ready:
        return
    handshake(ossl(4413, "restart.live.test"))
    rc = cap2.stop()
    check(rc == 0, "capture after kill -9: exit %s: %s" % (rc, cap2.output()[-500:]))
    runs = query(db, "select id, ended, handshakes from runs order by id")
    check(len(runs) == 2 and runs[0][1] is None and runs[1][1] is not None and runs[1][2] == 1,
          "capture after kill -9: runs (id, ended, handshakes) %s" % runs)
    got = sorted(r[0] for r in query(db, "select sni from connections"))
    check(got == sorted(want + ["restart.live.test"]), "capture after kill -9: records %s" % got)
    info("kill -9 after %d handshakes: %d kept, database ok; the next capture added run %d" %
         (n, len([g for g in got if g.startswith("kill-")]), len(runs)))


# --- 7: replay at top speed -------------------------------------------------------------------


def tcp_at(frame):
    """Offset of the TCP header in an Ethernet frame, or None."""
    et, off = struct.unpack_from("!H", frame, 12)[0], 14
    while et in (0x8100, 0x88a8):
        et, off = struct.unpack_from("!H", frame, off + 2)[0], off + 4
    if et == 0x0800 and frame[off + 9] == 6:
        return off + (frame[off] & 15) * 4
    if et == 0x86DD and frame[off + 6] == 6:
        return off + 40
    return None


def client_ports(pkts):
    """The client ports of a sample's TCP connections (the sources of the SYNs), or None
    when it holds something else: UDP, or a connection caught after its SYN."""
    ports, tcp = [], 0
    for _, _, f in pkts:
        t = tcp_at(f)
        if t is None:
            return None
        tcp += 1
        if f[t + 13] & 0x12 == 0x02:  # SYN without ACK: sent by the client
            port = struct.unpack_from("!H", f, t)[0]
            if port not in ports:
                ports.append(port)
    return ports or None


def build_replay(samples, out, conns):
    """Copies of the samples, round-robin, each connection of each copy with a client port of
    its own. Only the port changes; checksums are left stale (tlscensus does not check them).
    Returns (connections, packets, samples used, copies)."""
    loaded, head = [], None
    for path in sorted(glob.glob(os.path.join(samples, "*.pcap"))):
        pcap = Pcap(path)
        ports = client_ports(pcap.packets)
        if ports:
            head = head or pcap.header
            loaded.append((pcap.packets, ports))
    per_round = sum(len(ports) for _, ports in loaded)
    copies = -(-conns // per_round)
    replay, port = [], 20000
    for _ in range(copies):
        for pkts, ports in loaded:
            new = {old: port + i for i, old in enumerate(ports)}
            port += len(ports)
            for sec, usec, frame in pkts:
                frame = bytearray(frame)
                t = tcp_at(frame)
                for at in (t, t + 2):
                    old = struct.unpack_from("!H", frame, at)[0]
                    if old in new:
                        struct.pack_into("!H", frame, at, new[old])
                replay.append((sec, usec, frame))
    write_pcap(out, head, replay)
    return copies * per_round, len(replay), len(loaded), copies


def tcpreplay_figures(text):
    def num(pattern):
        m = re.search(pattern, text)
        return int(m.group(1)) if m else None

    return {"actual": num(r"Actual: (\d+) packets"), "ok": num(r"Successful packets:\s+(\d+)"),
            "failed": num(r"Failed packets:\s+(\d+)"), "retried": num(r"Retried packets \(ENOBUFS\):\s+(\d+)"),
            "seconds": float(re.search(r"packets \(\d+ bytes\) sent in ([\d.]+) seconds", text).group(1))
            if re.search(r"packets \(\d+ bytes\) sent in ([\d.]+) seconds", text) else None}


def record_key(r):
    return (r["client_port"], r["server_port"], r["sni"], r["version"], r["cipher"], r["alert"],
            r["client_max_version"], r["ja3"], r["ja3s"], r["hrr"], r["parse_status"])


def test_replay(tc, tmp, samples):
    if not shutil.which("tcpreplay") and not apt_install(["tcpreplay"]):
        info("replay: skipped (tcpreplay not installable)")
        return
    pcap = os.path.join(tmp, "replay.pcap")
    conns, npkts, nsamples, copies = build_replay(samples, pcap, REPLAY_CONNS)
    # The connections replayed are those a read of the same file records.
    off = os.path.join(tmp, "replay-read.db")
    rr = run([tc, "read", "--quiet", "--db", off, pcap], timeout=120)
    check(rr.returncode == 0, "read of the replay file: exit %s: %s" % (rr.returncode, rr.stderr))
    offline = sorted(map(record_key, export(tc, off)))
    check(len(offline) == conns, "replay file: a read records %d connections, built %d" %
          (len(offline), conns))
    conns = len(offline)

    db = os.path.join(tmp, "replay.db")
    # Only IP: no ARP among the packets counted (the link is otherwise quiet).
    cap = Capture(tc, tmp, "replay", db, ["-f", "not arp"])
    if not cap.ready:
        return
    r = run(ns(NS_CLI, ["tcpreplay", "--topspeed", "-i", DEV_CLI, pcap]), timeout=120)
    check(r.returncode == 0, "tcpreplay: exit %s: %s" % (r.returncode, (r.stderr or r.stdout)[-500:]))
    fig = tcpreplay_figures((r.stdout or "") + (r.stderr or ""))
    sent = fig["ok"] if fig["ok"] is not None else fig["actual"] or 0
    # Let the capture catch up: the writer commits once a second, so a count that stays put
    # for two seconds means the packets in the kernel buffer have been read.
    last, still, deadline = -1, 0.0, time.time() + 20
    while time.time() < deadline and still < 2.0:
        n = query(db, "select count(*) from connections")[0][0]
        still = still + 0.25 if n == last else 0.0
        last = n
        time.sleep(0.25)
    rc = cap.stop()
    check(rc == 0, "replay: capture exit %s: %s" % (rc, cap.output()[-500:]))
    cols = [c[1] for c in query(db, "pragma table_info(runs)")]
    qd = "queue_drops" if "queue_drops" in cols else "0"
    packets, kdrops, qdrops, handshakes = query(
        db, "select packets, kernel_drops, %s, handshakes from runs" % qd)[0]
    packets, kdrops, qdrops = packets or 0, kdrops or 0, qdrops or 0
    live = sorted(map(record_key, export(tc, db)))
    recorded = len(live)
    received = re.findall(r": (\d+) received, (\d+) dropped by the kernel", cap.output())
    received = int(received[-1][0]) if received else None

    info("replay: %d copies of %d samples = %d connections, %d packets; tcpreplay --topspeed sent "
         "%s (%s failed, %s retried on ENOBUFS) in %s s" % (copies, nsamples, conns, npkts, sent,
                                                           fig["failed"], fig["retried"], fig["seconds"]))
    info("replay: capture received %s, decoded %s (runs.packets), %d kernel drops, %d queue drops; "
         "%d of %d connections recorded (runs.handshakes %s)%s" % (
             received, packets, kdrops, qdrops, recorded, conns, handshakes,
             "; %d of the packets were nudges" % (2 * cap.nudges) if cap.nudges else ""))

    check(sent == npkts, "replay: tcpreplay sent %s of %d packets" % (sent, npkts))
    check(recorded <= conns, "replay: %d connections recorded, more than the %d sent" % (recorded, conns))
    # Every record is a row; export leaves out the rows with no hello (midstream, after the
    # kernel dropped the hellos), so the counter is compared with the table.
    rows = query(db, "select count(*) from conn")[0][0]
    check(handshakes == rows and recorded <= rows,
          "replay: runs.handshakes %s, %d rows, %d exported" % (handshakes, rows, recorded))
    extra = 2 * cap.nudges  # a nudge is a SYN and its RST
    if kdrops == 0 and qdrops == 0:
        check(sent <= packets <= sent + extra, "replay: %s packets decoded of %s sent, no drop counted"
              % (packets, sent))
        check(recorded == conns, "replay: %d of %d connections recorded, no drop counted" % (recorded, conns))
        diff = [k for k in live if k not in offline][:3]
        check(live == offline, "replay: live records differ from a read of the file, e.g. %s" % diff)
    else:
        # A lost packet spoils at most one connection; a lost record is one connection.
        check(packets + kdrops >= sent, "replay: %d decoded + %d dropped < %d sent" % (packets, kdrops, sent))
        whole = conns - kdrops
        check(recorded + qdrops >= whole, "replay: %d recorded + %d lost to the queue < %d connections "
              "whose packets all arrived (at least)" % (recorded, qdrops, whole))


# --- main -------------------------------------------------------------------------------------


def build_vxlan_split(samples, out, copies):
    """Copies of the VXLAN sample in which the two directions of each inner connection come
    with different outer UDP source ports (as two VTEPs choose them), so the kernel's fanout
    hash, which sees the outer headers, may send them to two workers. Returns (connections,
    packets)."""
    pkts = Pcap(os.path.join(samples, "tunnels", "vxlan-3des.pcap"))
    first_src = bytes(pkts.packets[0][2][26:30])
    inner_tcp = 14 + 20 + 8 + 8 + 14 + 20  # outer Ethernet, IPv4, UDP, VXLAN; inner Eth, IPv4
    client_port = struct.unpack_from("!H", pkts.packets[0][2], inner_tcp)[0]
    out_pkts = []
    for k in range(copies):
        for sec, usec, frame in pkts.packets:
            frame = bytearray(frame)
            forward = bytes(frame[26:30]) == first_src
            struct.pack_into("!H", frame, 34, (40000 if forward else 50000) + k)
            for at in (inner_tcp, inner_tcp + 2):
                if struct.unpack_from("!H", frame, at)[0] == client_port:
                    struct.pack_into("!H", frame, at, 10000 + k)
            out_pkts.append((sec, usec, frame))
    write_pcap(out, pkts.header, out_pkts)
    return copies, len(out_pkts)


def test_workers_tunnel(tc, tmp, samples):
    """Two workers in one fanout group, VXLAN whose directions differ in their outer headers:
    each inner connection is recorded once, whole, as a read of the same file records it."""
    if not shutil.which("tcpreplay"):
        info("workers: skipped (no tcpreplay)")
        return
    pcap = os.path.join(tmp, "vxlan-split.pcap")
    conns, npkts = build_vxlan_split(samples, pcap, 200)
    off = os.path.join(tmp, "vxlan-read.db")
    rr = run([tc, "read", "--quiet", "--workers", "1", "--db", off, pcap], timeout=120)
    check(rr.returncode == 0, "workers: read of the VXLAN file: %s" % rr.stderr)
    offline = sorted(map(record_key, export(tc, off)))
    check(len(offline) == conns, "workers: a read records %d of %d" % (len(offline), conns))
    db = os.path.join(tmp, "vxlan-live.db")
    cap = Capture(tc, tmp, "workers", db, ["-f", "not arp", "--workers", "2",
                                           "--stats-every", "1"])
    if not cap.ready:
        return
    r = run(ns(NS_CLI, ["tcpreplay", "--pps", "4000", "-i", DEV_CLI, pcap]), timeout=120)
    check(r.returncode == 0, "workers: tcpreplay: %s" % (r.stderr or r.stdout)[-300:])
    time.sleep(2.5)
    # while it runs, each worker's counters are in run_workers (--stats-every 1)
    running = query(db, "select worker, packets from run_workers order by worker")
    check([w[0] for w in running] == [0, 1] and all(w[1] > 0 for w in running),
          "workers: run_workers while capturing: %r" % running)
    rc = cap.stop()
    check(rc == 0, "workers: capture exit %s: %s" % (rc, cap.output()[-500:]))
    live = sorted(map(record_key, export(tc, db)))
    kdrops = query(db, "select kernel_drops from runs")[0][0] or 0
    m = re.findall(r"(\d+) tunnelled frames passed to the worker", cap.output())
    passed = int(m[-1]) if m else None
    lines = [l for l in cap.output().splitlines() if "worker 1:" in l or "worker 0:" in l]
    info("workers: %d connections, %d packets at 4000/s into 2 workers: %d recorded, %s frames "
         "passed between workers, %d kernel drops" % (conns, npkts, len(live), passed, kdrops))
    check(passed is not None and passed > 0,
          "workers: no tunnelled frame went to its inner flow's worker (%s)" % passed)
    check(len(lines) == 2, "workers: a statistics line per worker: %r" % lines)
    per = query(db, "select worker, packets, handshakes, kernel_drops, queue_drops "
                    "from run_workers order by worker")
    total = query(db, "select packets, handshakes, kernel_drops, queue_drops from runs")[0]
    check([w[0] for w in per] == [0, 1] and
          all(sum(w[i + 1] for w in per) == (total[i] or 0) for i in range(4)),
          "workers: run_workers sum to the run's counters: %r vs %r" % (per, total))
    if kdrops == 0:
        check(live == offline, "workers: records differ from a read of the same file (%d vs %d)"
              % (len(live), len(offline)))


def main():
    if len(sys.argv) != 3:
        print("usage: live_test.py TLSCENSUS SAMPLES_DIR", file=sys.stderr)
        return 2
    tc, samples = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if not can_run():
        print("live: skipped (needs root and ip netns)")
        return SKIP
    missing = need_tools()
    if missing:
        print("live: skipped (needs %s, not installable)" % " ".join(missing))
        return SKIP
    t0 = time.time()
    atexit.register(cleanup)
    # meson stops a test that overruns with SIGTERM: clean up then too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    tmp = state["tmp"] = tempfile.mkdtemp(prefix="tlscensus-live.")
    os.chmod(tmp, 0o777)  # the capture writes its database as an unprivileged user
    try:
        net_up()
        crt, key = make_cert(tmp)
        test_handshakes(tc, tmp, crt, key)
        test_sigterm_flush(tc, tmp)
        test_duration(tc, tmp)
        test_retain(tc, tmp, samples)
        test_kill9(tc, tmp)
        test_replay(tc, tmp, samples)
        test_workers_tunnel(tc, tmp, samples)
    except Exception as e:  # a broken setup is a failure, and the cleanup still runs
        import traceback
        traceback.print_exc()
        check(False, "setup: %s" % e)
    finally:
        if checks.failures and os.environ.get("KEEP_WORK"):
            info("work directory kept: " + tmp)
        cleanup()
    info("%.1f s" % (time.time() - t0))
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
