#!/usr/bin/env python3
"""peers.py: the TLS server and the client of the impaired recording (samples/impaired/).

server CERT KEY PORT: accepts TLS (1.2 and 1.3, ALPN answered when the client offers one),
answers one line and closes; one thread per connection.

client HOST PORT COUNT OUT.tsv: makes COUNT short connections, WORKERS at a time, varying the
offer (TLS 1.3 or 1.2 only, no ALPN or long ALPN lists that push the hello over several
segments), and writes one line per connection the client opened: its local port and how it
ended (ok: handshake done; failed: a TCP connection that did not finish its handshake).
"""
import socket
import ssl
import sys
import threading
from concurrent.futures import ThreadPoolExecutor


def serve(cert, key, port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(256)

    def one(conn):
        try:
            conn.settimeout(20)
            with ctx.wrap_socket(conn, server_side=True) as t:
                t.recv(100)
                t.sendall(b"hello from the impaired server\n")
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def offer(i):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    kind = i % 4
    if kind == 1:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if kind >= 2:
        # 12 or 40 names: the hello spans two or more segments at the recording's MSS.
        n = 12 if kind == 2 else 40
        ctx.set_alpn_protocols(["proto-%02d-%s" % (k, "x" * 20) for k in range(n)] + ["h2"])
    return ctx


def connect(host, port, i):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(15)
    try:
        s.connect((host, port))
    except OSError:
        s.close()
        return None  # no TCP connection: the client made none
    lport = s.getsockname()[1]
    status = "failed"
    try:
        with offer(i).wrap_socket(s, server_hostname="impaired-%d.example.test" % i) as t:
            status = "ok"
            t.sendall(b"GET\n")
            t.recv(100)
    except (OSError, ssl.SSLError):
        pass
    finally:
        s.close()
    return (lport, status, i)


def client(host, port, count, out, workers=4):
    with ThreadPoolExecutor(workers) as ex:
        rows = [r for r in ex.map(lambda i: connect(host, int(port), i), range(int(count))) if r]
    with open(out, "w") as f:
        f.write("client_port\tstatus\tsni\n")
        for lport, status, i in sorted(rows, key=lambda r: r[2]):
            f.write("%d\t%s\timpaired-%d.example.test\n" % (lport, status, i))
    ok = sum(1 for r in rows if r[1] == "ok")
    print("peers.py: %d connections, %d handshakes done" % (len(rows), ok), file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(*sys.argv[2:5])
    else:
        client(*sys.argv[2:6])
