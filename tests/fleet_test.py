#!/usr/bin/env python3
"""fleet_test.py: two sensors shipped to a real ClickHouse (Debian's clickhouse-server, started
on loopback with a throwaway data directory by clickhouse_server.sh), then `legacy` and `report`
over ClickHouse compared with the same commands on one local database holding both sensors'
records. Then the outbox: a server that is down (ship retries, gives up with exit 7, resumes),
records sent twice (counted once), `ship` killed with SIGKILL mid-run (resumes, nothing lost or
doubled), `ship --follow` beside a writer, and `capture --ship` when run as root.

usage: fleet_test.py TLSCENSUS SAMPLES_DIR CORPUS_DIR SERVER_SCRIPT
Exit 77 (skipped) when clickhouse-server is missing or will not start.
"""
import glob
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import base64

TLSCENSUS, SAMPLES, CORPUS, SERVER = sys.argv[1:5]
USER, PASSWORD = "tlscensus", "fleet-test-secret"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def run(*args, env=None, check_rc=None, **kw):
    p = subprocess.run([TLSCENSUS, *args], capture_output=True, text=True, env=env, **kw)
    if check_rc is not None and p.returncode != check_rc:
        print("  command:", " ".join(args), "->", p.returncode, p.stderr.strip()[:2000])
    return p


def server(cmd, work, port=None, https_port=None):
    env = dict(os.environ)
    if port:
        env["CH_HTTP_PORT"] = str(port)
    if https_port:
        env["CH_HTTPS_PORT"] = str(https_port)
    return subprocess.run(["bash", SERVER, cmd, work, USER, PASSWORD], capture_output=True,
                          text=True, env=env)


def sql(url, query):
    req = urllib.request.Request(url + "/", data=query.encode())
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    req.add_header("Authorization", "Basic " + token)
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read().decode()


def local_count(db):
    with sqlite3.connect(db) as c:
        return c.execute("SELECT count(*) FROM conn").fetchone()[0]


def central_count(url, sensor, database="tlscensus"):
    return int(sql(url, f"SELECT count() FROM {database}.connections FINAL "
                        f"WHERE sensor = '{sensor}'").strip() or 0)


def report_lines(text):
    # the database's name and the moment the report ran are all that may differ
    return [l for l in text.splitlines()
            if not l.startswith(("report,database,", "report,generated,", "report,until,",
                                 "report,window,"))]


def compare(what, local_args, central_args, env, report=False):
    a = run(*local_args, env=env)
    b = run(*central_args, env=env)
    if report:
        same = a.returncode == b.returncode == 0 and report_lines(a.stdout) == report_lines(b.stdout)
    else:
        same = a.returncode == b.returncode == 0 and a.stdout == b.stdout
    check(same and len(a.stdout) > 100, f"{what}: the same over ClickHouse as over SQLite "
          f"({len(a.stdout)} bytes)")
    if not same:
        print("  local rc", a.returncode, a.stderr[:500], "\n  central rc", b.returncode,
              b.stderr[:500])
        la, lb = ((report_lines(x.stdout) if report else x.stdout.splitlines()) for x in (a, b))
        for i, (x, y) in enumerate(zip(la, lb)):
            if x != y:
                print("  first difference, line", i + 1, "\n  <", x[:300], "\n  >", y[:300])
                break


def read(db, files, env):
    p = run("read", "--quiet", "--db", db, *files, env=env)
    check(p.returncode in (0, 4), f"read {len(files)} captures into {os.path.basename(db)} "
          f"(rc {p.returncode})")


def main():
    if not os.path.exists(SERVER):
        print("SKIP: no", SERVER)
        return 77
    work = tempfile.mkdtemp(prefix="tlscensus-fleet-")
    ch_dir = os.path.join(work, "clickhouse")
    started = server("start", ch_dir)
    if started.returncode != 0:
        print("SKIP: ClickHouse could not be started:", started.stderr.strip())
        shutil.rmtree(work, ignore_errors=True)
        return 77
    url = started.stdout.split()[0]
    port = int(url.rsplit(":", 1)[1])
    print("ClickHouse", sql(url, "SELECT version()").strip(), "at", url, flush=True)
    try:
        return scenario(work, ch_dir, url, port)
    finally:
        server("stop", ch_dir)
        if not failures:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("work directory kept:", work)


def scenario(work, ch_dir, url, port):
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("TLSCENSUS_CLICKHOUSE")}
    env = dict(base_env, TLSCENSUS_CLICKHOUSE_USER=USER, TLSCENSUS_CLICKHOUSE_PASSWORD=PASSWORD)
    cred = os.path.join(work, "credentials")
    with open(cred, "w") as f:
        f.write(f"{USER}:{PASSWORD}\n")
    os.chmod(cred, 0o600)

    # the samples: TLS, DTLS, post-quantum key shares and QUIC
    samples = sorted(glob.glob(os.path.join(SAMPLES, "*.pcap")) +
                     glob.glob(os.path.join(SAMPLES, "pq", "*.pcap")) +
                     glob.glob(os.path.join(SAMPLES, "quic", "*.pcap")))
    corpus = sorted(glob.glob(os.path.join(CORPUS, "pcaps", "*")))[::2]
    if not corpus:  # without ../shared: the client stacks' captures are the second sensor
        print("no shared corpus: the second sensor reads samples/clients/")
        corpus = sorted(glob.glob(os.path.join(SAMPLES, "clients", "*.pcap")))
    a_db, b_db, both = (os.path.join(work, n) for n in ("a.db", "b.db", "both.db"))
    read(a_db, samples, base_env)
    read(b_db, corpus, base_env)
    read(both, samples, base_env)
    read(both, corpus, base_env)

    # credentials never on the command line, and a wrong password is refused by name
    p = run("ship", "--db", a_db, "--to", url.replace("://", f"://{USER}:{PASSWORD}@"),
            "--sensor", "a", env=base_env)
    check(p.returncode == 2 and "--credentials" in p.stderr,
          "a URL with user:password is refused (exit 2), pointing at --credentials")
    p = run("ship", "--db", a_db, "--to", url, "--sensor", "a", "--give-up-after", "1s",
            env=dict(base_env, TLSCENSUS_CLICKHOUSE_USER=USER,
                     TLSCENSUS_CLICKHOUSE_PASSWORD="wrong"))
    check(p.returncode == 7 and "refused the user" in p.stderr and "outbox" in p.stderr,
          "a wrong password: exit 7, the server's refusal named, the rows stay in the outbox")

    # sensor a with the credentials file, in small batches; sensor b from the environment
    t0 = time.time()
    p = run("ship", "--db", a_db, "--to", url, "--sensor", "a", "--credentials", cred,
            "--batch", "7", env=base_env, check_rc=0)
    check(p.returncode == 0, "ship sensor a (batches of 7, --credentials FILE)")
    p = run("ship", "--db", b_db, "--to", url, "--sensor", "b", env=env, check_rc=0)
    print("  " + p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "", flush=True)
    check(p.returncode == 0, f"ship sensor b ({local_count(b_db)} rows, environment "
          f"credentials) in {time.time() - t0:.2f} s")
    check(central_count(url, "a") == local_count(a_db) and
          central_count(url, "b") == local_count(b_db),
          "every row of both sensors is in ClickHouse, once")
    with sqlite3.connect(a_db) as c:
        view = [r[1] for r in c.execute("PRAGMA table_info(connections)")]
    central = set(sql(url, "SELECT name FROM system.columns WHERE database = 'tlscensus' AND "
                           "table = 'connections'").split())
    check(set(view) <= central and {"sensor", "retry", "summarized", "has_hello"} <= central,
          f"ClickHouse's connections has every column of the SQLite view ({len(view)}), "
          f"missing: {sorted(set(view) - central)}")
    p = run("ship", "--db", a_db, "--to", url, "--sensor", "a", env=env)
    check(p.returncode == 0 and "shipped 0 connection rows" in p.stderr,
          "a second ship sends nothing new")
    p = run("ship", "--db", a_db, "--to", url, "--sensor", "other", env=env)
    check(p.returncode != 0 and "twice" in p.stderr,
          "shipping the same database under another sensor name is refused")

    def same_everything(tag):
        ch = ["--clickhouse", url]
        for extra in ([], ["--policy", "nist"], ["--policy", "pq"], ["--group", "server"],
                      ["--sort", "connections"],
                      ["--since", "2001-01-01"], ["--until", "2020-01-01"], ["--sni", "*.com"],
                      ["--client", "10.0.0.0/8"], ["--port", "443"]):
            compare(f"{tag}: legacy --format json {' '.join(extra)}",
                    ["legacy", "--db", both, "--format", "json", *extra],
                    ["legacy", *ch, "--format", "json", *extra], env)
        compare(f"{tag}: legacy --format csv --policy pci",
                ["legacy", "--db", both, "--format", "csv", "--policy", "pci"],
                ["legacy", *ch, "--format", "csv", "--policy", "pci"], env)
        compare(f"{tag}: legacy --sensor a against sensor a's own database",
                ["legacy", "--db", a_db, "--format", "json"],
                ["legacy", *ch, "--sensor", "a", "--format", "json"], env)
        for extra in ([], ["--since", "2015-01-01", "--until", "2030-01-01"],
                      ["--policy", "entra", "--client", "10.0.0.0/8"], ["--policy", "pq"]):
            compare(f"{tag}: report --format csv {' '.join(extra)}",
                    ["report", "--db", both, "--format", "csv", "--no-record", *extra],
                    ["report", *ch, "--format", "csv", "--no-record", *extra], env, report=True)

    same_everything("two sensors")

    # a batch sent again (an acknowledgement lost): counted once
    with sqlite3.connect(a_db) as c:
        c.execute("UPDATE ship_state SET last_id = 0")
    p = run("ship", "--db", a_db, "--to", url, "--sensor", "a", env=env, check_rc=0)
    raw = int(sql(url, "SELECT count() FROM tlscensus.connections WHERE sensor = 'a'"))
    check(p.returncode == 0 and central_count(url, "a") == local_count(a_db) and
          raw >= local_count(a_db),
          f"sensor a sent twice: {raw} rows stored before merging, counted once")
    compare("resent: legacy --format json", ["legacy", "--db", both, "--format", "json"],
            ["legacy", "--clickhouse", url, "--format", "json"], env)

    # the server goes away: ship retries, gives up (exit 7), and resumes where it stopped
    more = sorted(glob.glob(os.path.join(SAMPLES, "clients", "*.pcap")))
    central_count_cached = central_count(url, "a")
    https_port = None
    if os.path.exists(os.path.join(ch_dir, "https_url")):
        https_port = open(os.path.join(ch_dir, "https_url")).read().strip().rsplit(":", 1)[1]
    server("stop", ch_dir)
    read(a_db, more, base_env)
    read(both, more, base_env)
    p = run("ship", "--db", a_db, "--to", url, "--sensor", "a", "--give-up-after", "3s",
            env=env)
    check(p.returncode == 7 and "outbox" in p.stderr and "tlscensus ship again" in p.stderr,
          "server down: ship retries, then exits 7 saying the records stay in the outbox")
    with sqlite3.connect(a_db) as c:
        err = c.execute("SELECT last_error FROM ship_state").fetchone()[0]
    check(err and url in err, "ship_state keeps why the last attempt failed")
    st = run("ship", "--db", a_db, "--status", env=env)
    pending = local_count(a_db) - central_count_cached
    check(st.returncode == 0 and f"sensor a, " in st.stdout and f"{pending} pending" in st.stdout
          and "last error: ClickHouse at" in st.stdout,
          f"ship --status: {pending} pending and the last error ({st.stdout.strip()[:160]})")
    retrying = subprocess.Popen([TLSCENSUS, "ship", "--db", a_db, "--to", url, "--sensor", "a",
                                 "--give-up-after", "5m"], env=env, stderr=subprocess.PIPE,
                                text=True)
    time.sleep(4)
    check(retrying.poll() is None, "ship keeps retrying while the server is down")
    restarted = server("start", ch_dir, port, https_port)
    check(restarted.returncode == 0, "the server starts again on the same port and data")
    try:
        _, err_text = retrying.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        retrying.kill()
        _, err_text = retrying.communicate()
    check(retrying.returncode == 0 and "trying again" in err_text,
          "ship backed off while the server was away and finished once it was back")
    check(central_count(url, "a") == local_count(a_db),
          "after the outage: every row of sensor a in ClickHouse, once")
    st = run("ship", "--db", a_db, "--status", env=env)
    check(" 0 pending" in st.stdout and "last error" not in st.stdout,
          "ship --status after the outage: nothing pending, no error")
    same_everything("after the outage")

    # kill -9 mid-run, in a database of its own: resume, nothing lost or doubled
    killed = None
    for delay in (0.6, 0.3, 0.15, 0.05):
        sql(url, "DROP DATABASE IF EXISTS killtest")
        with sqlite3.connect(b_db) as c:
            c.execute("DELETE FROM ship_state WHERE destination LIKE '%/killtest'")
        proc = subprocess.Popen([TLSCENSUS, "ship", "--db", b_db, "--to", url, "--sensor", "b",
                                 "--database", "killtest", "--batch", "1"], env=env,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with sqlite3.connect(b_db) as c:
            row = c.execute("SELECT last_id FROM ship_state WHERE destination LIKE "
                            "'%/killtest'").fetchone()
            top = c.execute("SELECT max(id) FROM conn").fetchone()[0]
        if row and 0 < row[0] < top:
            killed = row[0]
            break
    check(killed is not None, f"ship killed with SIGKILL mid-run (after row {killed})")
    p = run("ship", "--db", b_db, "--to", url, "--sensor", "b", "--database", "killtest",
            env=env, check_rc=0)
    check(p.returncode == 0 and central_count(url, "b", "killtest") == local_count(b_db),
          "resumed after kill -9: every row once")
    compare("after kill -9: legacy --format json",
            ["legacy", "--db", b_db, "--format", "json"],
            ["legacy", "--clickhouse", url, "--database", "killtest", "--format", "json"], env)

    # --ttl: months older than the limit leave connections; the inventory keeps their summary
    def entries(args):
        p = run("legacy", "--clickhouse", url, "--database", "killtest", "--format", "json",
                *args, env=env)
        return json.loads(p.stdout)["entries"] if p.returncode == 0 else None
    before = entries([])
    months = sql(url, "SELECT count(DISTINCT partition) FROM system.parts WHERE active AND "
                      "database = 'killtest' AND table = 'connections'")
    p = run("ship", "--db", b_db, "--to", url, "--sensor", "b", "--database", "killtest",
            "--ttl", "3650d", env=env)
    left = int(sql(url, "SELECT count() FROM killtest.connections FINAL"))
    after = entries([])
    check(p.returncode == 0 and "dropped the connections of" in p.stderr and
          0 < left < local_count(b_db),
          f"--ttl 3650d dropped whole months ({months.strip()} months before; "
          f"{left} of {local_count(b_db)} rows left)")
    check(before is not None and before == after,
          "after --ttl the inventory still lists every legacy client the same way")
    p = run("legacy", "--clickhouse", url, "--database", "killtest", "--format", "json",
            "--since", "2001-01-01", env=env)
    check(p.returncode == 0 and json.loads(p.stdout)["counted_from"] == "inventory",
          "a window reaching into dropped months is answered from the inventory")

    # a sensor that pruned (--retain) before it first shipped: its inventory_kept goes too
    p_db = os.path.join(work, "p.db")
    shutil.copy(b_db, p_db)
    with sqlite3.connect(p_db) as c:
        cut = c.execute("SELECT first_ts FROM conn ORDER BY first_ts LIMIT 1 OFFSET 100"
                        ).fetchone()[0]
        c.execute("DELETE FROM connections WHERE first_ts < ?", (cut,))
        kept = c.execute("SELECT count(*), sum(connections) FROM inventory_kept").fetchone()
    p = run("ship", "--db", p_db, "--to", url, "--sensor", "p", "--database", "pruned",
            env=env, check_rc=0)
    check(p.returncode == 0 and kept[0] > 0 and
          int(sql(url, "SELECT sum(connections) FROM pruned.inventory_kept FINAL")) == kept[1],
          f"pruned before shipping: the {kept[0]} inventory_kept rows ({kept[1]} connections) "
          "shipped too")
    for extra in ([], ["--since", "2010-01-01"], ["--policy", "nist"], ["--policy", "pq"]):
        compare(f"pruned sensor: legacy --format json {' '.join(extra)}",
                ["legacy", "--db", p_db, "--format", "json", *extra],
                ["legacy", "--clickhouse", url, "--database", "pruned", "--format", "json",
                 *extra], env)
    compare("pruned sensor: report --format csv",
            ["report", "--db", p_db, "--format", "csv", "--no-record"],
            ["report", "--clickhouse", url, "--database", "pruned", "--format", "csv",
             "--no-record"], env, report=True)

    # https: the certificate is verified (a self-signed one only with --cacert)
    https_file = os.path.join(ch_dir, "https_url")
    if os.path.exists(https_file):
        https = open(https_file).read().strip()
        ca = os.path.join(ch_dir, "tls", "cert.pem")
        p = run("ship", "--db", a_db, "--to", https, "--sensor", "a", "--database", "tls",
                "--give-up-after", "1s", env=env)
        check(p.returncode == 7 and "certificate" in p.stderr,
              "https: an unverifiable certificate is refused (exit 7, says why)")
        p = run("ship", "--db", a_db, "--to", https, "--sensor", "a", "--database", "tls",
                "--cacert", ca, env=env, check_rc=0)
        check(p.returncode == 0 and central_count(url, "a", "tls") == local_count(a_db),
              "https with --cacert: every row shipped")
        compare("https: legacy --format json", ["legacy", "--db", a_db, "--format", "json"],
                ["legacy", "--clickhouse", https, "--cacert", ca, "--database", "tls",
                 "--format", "json"], env)
    else:
        print("https: skipped (no openssl to make a certificate)")

    # ship --follow beside a writer: rows go as they are committed
    c_db = os.path.join(work, "c.db")
    read(c_db, samples[:3], base_env)
    follow = subprocess.Popen([TLSCENSUS, "ship", "--db", c_db, "--to", url, "--sensor", "c",
                               "--follow"], env=env, stderr=subprocess.PIPE, text=True)
    read(c_db, samples[3:], base_env)
    deadline = time.time() + 60
    while time.time() < deadline and central_count(url, "c") != local_count(c_db):
        time.sleep(0.5)
    check(central_count(url, "c") == local_count(c_db), "ship --follow sent the rows a "
          "writer added while it ran")
    follow.send_signal(signal.SIGTERM)
    follow.communicate(timeout=30)
    check(follow.returncode == 130, "ship --follow stops on SIGTERM (exit 130)")

    # --sensor filters, and a report remembered in ClickHouse for --since last
    p = run("report", "--clickhouse", url, "--sensor", "a", "--format", "csv", env=env)
    q = run("report", "--clickhouse", url, "--sensor", "a", "--since", "last", "--format",
            "csv", env=env)
    check(p.returncode == 0 and q.returncode == 0 and
          "changes,no_previous_report" in p.stdout and
          "changes,no_previous_report" not in q.stdout,
          "report --clickhouse remembers its report there: --since last finds it")
    p = run("legacy", "--clickhouse", url, "--database", "nothing_here", env=env)
    check(p.returncode == 5 and "tlscensus ship" in p.stderr,
          "an empty ClickHouse database: exit 5, saying to ship first")

    capture_ship(work, url, env, lambda: server("stop", ch_dir),
                 lambda: server("start", ch_dir, port, https_port))
    return 1 if failures else 0


def capture_ship(work, url, env, stop_server, start_server):
    """capture --ship on the loopback interface while tcpreplay sends the samples (root); then
    again while the server is down: the capture is not held up, the rows wait in the outbox."""
    if os.geteuid() != 0 or not shutil.which("tcpreplay"):
        print("capture --ship: skipped (needs root and tcpreplay)")
        return
    db = os.path.join(work, "live.db")

    def capture(files):
        cap = subprocess.Popen([TLSCENSUS, "capture", "-i", "lo", "-f", "tcp port 4433 or tcp "
                                "port 8443", "--db", db, "-Z", "root", "--duration", "6s",
                                "--no-label", "--ship", url, "--sensor", "live"],
                               env=env, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        for f in files:
            subprocess.run(["tcpreplay", "-q", "-i", "lo", "--topspeed", f],
                           capture_output=True)
        t0 = time.time()
        _, err = cap.communicate(timeout=120)
        return cap.returncode, err, time.time() - t0

    replay = sorted(glob.glob(os.path.join(SAMPLES, "tls1*.pcap")))
    rc, err, _ = capture(replay[:6])
    if rc not in (0, 130) or not os.path.exists(db):
        check(False, f"capture --ship ran (rc {rc}): {err[-500:]}")
        return
    n = local_count(db)
    check(n > 0 and central_count(url, "live") == n,
          f"capture --ship: the {n} connections captured are in ClickHouse")
    stop_server()
    rc, err, tail = capture(replay[6:12])
    m = local_count(db)
    check(rc in (0, 130) and m > n and "outbox" in err and tail < 30,
          f"capture --ship with the server down: exit {rc}, {m - n} more connections "
          f"recorded, the capture ended on time ({tail:.1f} s after the replay), the rows "
          "wait in the outbox")
    start_server()
    p = run("ship", "--db", db, "--to", url, "--sensor", "live", env=env, check_rc=0)
    check(p.returncode == 0 and central_count(url, "live") == m,
          "once the server is back, ship sends what the capture could not")


if __name__ == "__main__":
    sys.exit(main())
