"""The forwarder: one process, two TUN devices (one in each namespace), one
LinkModel per direction.

    python -m bench.wan.emulator --ns-a A --ns-b B --dev wan0 \
        --rate-mbps 100 --delay-ms 50 --loss 0.01 [--reorder P] [--stats FILE]

It creates the TUN device ``--dev`` inside each namespace (setns, then
TUNSETIFF: a TUN device lives in the namespace it was created in), prints
``ready`` on stdout, then forwards raw IP packets A->B and B->A, holding each
until the time its direction's model releases it.  The devices are not
persistent: they vanish when this process exits.  On SIGTERM/SIGINT it writes
its counters as JSON to ``--stats`` (when given) and exits 0.  Addresses, MTU
and routes are set by topology.py, not here.

The loop is built for packet rate: select() with a microsecond timeout on the
earliest release, non-blocking reads drained in batches, a deque per
direction for in-order packets (their release times are monotonic) and a
small heap only for the packets chosen for reordering.
"""
from __future__ import annotations

import argparse
import ctypes
import fcntl
import heapq
import json
import os
import select
import signal
import struct
import sys
import time
from collections import deque

from bench.wan.link import LinkModel

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(name: str) -> None:
    """Move this process into network namespace ``name`` (ip netns's file)."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def open_tun(dev: str) -> int:
    """Create TUN device ``dev`` in the current namespace; return its fd."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class Direction:
    """Packets read from ``src`` are written to ``dst`` when ``model`` says."""

    def __init__(self, src: int, dst: int, model: LinkModel, bufsize: int):
        self.src, self.dst, self.model, self.bufsize = src, dst, model, bufsize
        self.line: deque = deque()      # (release, packet), release ascending
        self.held: list = []            # heap of (release, seq, packet): reordered
        self.seq = 0
        self.late_sum = 0.0             # how late packets left, summed (fidelity)
        self.late_max = 0.0
        self.sent = 0
        self.write_errors = 0

    def ingest(self, now: float, batch: int = 256) -> None:
        model = self.model
        offer, line, src, size = model.offer, self.line, self.src, self.bufsize
        for _ in range(batch):
            try:
                pkt = os.read(src, size)
            except BlockingIOError:
                return
            release = offer(len(pkt), now)
            if release is None:
                continue
            if model.last_reordered:
                self.seq += 1
                heapq.heappush(self.held, (release, self.seq, pkt))
            else:
                line.append((release, pkt))

    def flush(self, now: float) -> float | None:
        """Write every packet due by ``now``; return the next due time."""
        line, held = self.line, self.held
        while line and line[0][0] <= now:
            self._send(*line.popleft(), now)
        while held and held[0][0] <= now:
            release, _, pkt = heapq.heappop(held)
            self._send(release, pkt, now)
        nxt = line[0][0] if line else None
        if held and (nxt is None or held[0][0] < nxt):
            nxt = held[0][0]
        return nxt

    def _send(self, release: float, pkt: bytes, now: float) -> None:
        late = now - release
        self.late_sum += late
        if late > self.late_max:
            self.late_max = late
        try:
            os.write(self.dst, pkt)
            self.sent += 1
        except OSError:
            self.write_errors += 1      # e.g. the far device is down

    def stats(self) -> dict:
        d = self.model.stats.as_dict()
        d.update(sent=self.sent, write_errors=self.write_errors,
                 late_mean_us=round(1e6 * self.late_sum / self.sent, 1) if self.sent else 0.0,
                 late_max_us=round(1e6 * self.late_max, 1))
        return d


class _Stop(Exception):
    pass


def _stop(*_):
    raise _Stop


def run(a_to_b: Direction, b_to_a: Direction) -> None:
    fds = [a_to_b.src, b_to_a.src]
    by_fd = {a_to_b.src: a_to_b, b_to_a.src: b_to_a}
    mono, sel = time.monotonic, select.select
    timeout = None
    while True:
        ready = sel(fds, (), (), timeout)[0]
        now = mono()
        for fd in ready:
            by_fd[fd].ingest(now)
        n1, n2 = a_to_b.flush(now), b_to_a.flush(now)
        nxt = n1 if n2 is None or (n1 is not None and n1 < n2) else n2
        timeout = None if nxt is None else max(0.0, nxt - mono())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ns-a", required=True)
    p.add_argument("--ns-b", required=True)
    p.add_argument("--dev", default="wan0")
    p.add_argument("--rate-mbps", type=float, required=True)
    p.add_argument("--delay-ms", type=float, required=True, help="one-way, each direction")
    p.add_argument("--loss", type=float, default=0.0, help="each direction")
    p.add_argument("--reorder", type=float, default=0.0)
    p.add_argument("--reorder-delay-ms", type=float, default=5.0)
    p.add_argument("--queue-bytes", type=int, default=None)
    p.add_argument("--mtu", type=int, default=1500)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--stats", default=None)
    p.add_argument("--rt", action="store_true",
                   help="run under SCHED_FIFO so other busy processes delay packets less")
    a = p.parse_args(argv)

    if a.rt:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        except OSError:
            pass                        # not permitted: run at normal priority

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    enter_netns(a.ns_a)
    fd_a = open_tun(a.dev)
    enter_netns(a.ns_b)
    fd_b = open_tun(a.dev)

    def model(seed):
        return LinkModel(rate_bps=a.rate_mbps * 1e6, delay=a.delay_ms / 1000, loss=a.loss,
                         reorder=a.reorder, reorder_delay=a.reorder_delay_ms / 1000,
                         queue_bytes=a.queue_bytes, seed=seed)
    seed_b = None if a.seed is None else a.seed + 1
    bufsize = max(a.mtu, 1500) + 64
    fwd = Direction(fd_a, fd_b, model(a.seed), bufsize)
    rev = Direction(fd_b, fd_a, model(seed_b), bufsize)
    print("ready", flush=True)
    try:
        run(fwd, rev)
    except _Stop:
        pass
    if a.stats:
        with open(a.stats, "w") as f:
            json.dump({"a_to_b": fwd.stats(), "b_to_a": rev.stats()}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
