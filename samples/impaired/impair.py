#!/usr/bin/env python3
"""impair.py: a userspace netem between two interfaces, for recording impaired traffic.

Frames that arrive on one interface leave on the other after a random delay (base plus
uniform jitter, so segments overtake each other), some are dropped and some are sent twice,
independently in both directions. It stands in for `tc qdisc ... netem delay D J loss L
duplicate P` on kernels built without sch_netem (the recording VM has none). ARP and other
non-IP frames pass unharmed, so the link comes up. Runs until SIGTERM.

Usage: impair.py IF_A IF_B --delay-ms 10 --jitter-ms 8 --loss 0.03 --dup 0.03 [--seed N]
"""
import argparse
import heapq
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("if_a")
    ap.add_argument("if_b")
    ap.add_argument("--delay-ms", type=float, default=10.0)
    ap.add_argument("--jitter-ms", type=float, default=8.0)
    ap.add_argument("--loss", type=float, default=0.03)
    ap.add_argument("--dup", type=float, default=0.03)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)

    socks = {}
    for name in (a.if_a, a.if_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        socks[name] = s
    other = {a.if_a: socks[a.if_b], a.if_b: socks[a.if_a]}
    by_fd = {s.fileno(): name for name, s in socks.items()}
    queue = []  # (due, n, socket, frame)
    n = 0
    stats = {"in": 0, "lost": 0, "dup": 0, "out": 0}
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    signal.signal(signal.SIGINT, lambda *_: running.__setitem__(0, False))

    while running[0]:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
                stats["out"] += 1
            except OSError:
                pass
        timeout = max(0.0, queue[0][0] - now) if queue else 0.2
        try:
            ready, _, _ = select.select(list(socks.values()), [], [], timeout)
        except InterruptedError:
            continue
        for s in ready:
            frame, addr = s.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue  # our own send, seen by the tap
            out = other[by_fd[s.fileno()]]
            ethertype = int.from_bytes(frame[12:14], "big") if len(frame) >= 14 else 0
            if ethertype not in (0x0800, 0x86DD):
                out.send(frame)
                continue
            stats["in"] += 1
            if rng.random() < a.loss:
                stats["lost"] += 1
                continue
            copies = 2 if rng.random() < a.dup else 1
            stats["dup"] += copies - 1
            for _ in range(copies):
                d = a.delay_ms + rng.uniform(-a.jitter_ms, a.jitter_ms)
                n += 1
                heapq.heappush(queue, (time.monotonic() + max(0.0, d) / 1000.0, n, out, frame))
    print("impair.py: %(in)d IP frames in, %(lost)d lost, %(dup)d duplicated, %(out)d out" % stats,
          file=sys.stderr)


if __name__ == "__main__":
    main()
