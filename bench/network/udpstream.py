"""A paced UDP stream to an echo server, counting what comes back.

    python udpstream.py HOST PORT [--rate 50] [--grace 3]

Sends datagrams numbered 0, 1, 2, ... at ``--rate`` per second (paced on a
monotonic schedule, so a late wake-up sends the missed ones at once rather
than lowering the rate) until its stdin closes or it gets SIGTERM/SIGINT, then
waits ``--grace`` seconds for late echoes and prints one JSON line:
``{"sent", "received", "lost", "lost_seqs" (first 50), "duplicates",
"seconds", "rate"}``.  Prints ``READY`` on stdout once it sends, so a caller
knows the stream runs.  Run it inside a namespace with ``ip netns exec``.
Used by tests/e2e/test_network_restart_safety.py and bench/network/run.py."""
from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

MAGIC = b"STRS"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--grace", type=float, default=3.0)
    args = ap.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        stop.set()
    threading.Thread(target=watch_stdin, daemon=True).start()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((args.host, args.port))
    seen: set[int] = set()
    dups = 0
    sent = 0
    interval = 1.0 / args.rate

    def receive(deadline: float | None) -> None:
        nonlocal dups
        while True:
            timeout = 0.0 if deadline is None else max(0.0, deadline - time.monotonic())
            r, _, _ = select.select([sock], [], [], timeout)
            if not r:
                return
            try:
                data = sock.recv(2048)
            except OSError:        # ICMP unreachable surfaced as ECONNREFUSED
                continue
            if len(data) >= 8 and data[:4] == MAGIC:
                seq = struct.unpack("!I", data[4:8])[0]
                if seq in seen:
                    dups += 1
                seen.add(seq)

    start = time.monotonic()
    print("READY", flush=True)
    while not stop.is_set():
        due = start + sent * interval
        now = time.monotonic()
        if now < due:
            receive(None)
            stop.wait(min(due - now, 0.005))
            continue
        try:
            sock.send(MAGIC + struct.pack("!I", sent) + b"x" * 56)
        except OSError:
            pass                   # counted as sent (and lost): the stream must not stop
        sent += 1
        receive(None)
    elapsed = time.monotonic() - start
    receive(time.monotonic() + args.grace)
    lost = sorted(set(range(sent)) - seen)
    print(json.dumps({"sent": sent, "received": len(seen & set(range(sent))), "lost": len(lost),
                      "lost_seqs": lost[:50], "duplicates": dups,
                      "seconds": round(elapsed, 2),
                      "rate": round(sent / elapsed, 1) if elapsed else 0.0}), flush=True)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
