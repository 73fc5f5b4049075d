"""The pure model of one direction of an emulated WAN link.

A packet offered at time ``now`` goes through, in order:

1. **random loss** — dropped with probability ``loss`` (Bernoulli, one draw
   per packet, from the link's own ``random.Random`` so runs are repeatable
   with a seed);
2. **the bottleneck** — a FIFO served at ``rate_bps``: its departure time is
   ``max(now, previous departure) + size*8/rate`` (serialisation time).  The
   queue is drop-tail with a limit in bytes (default one bandwidth-delay
   product of the round trip); its occupancy is derived from the backlog in
   time, so nothing is stored per queued packet;
3. **the delay line** — the packet is released ``delay`` seconds after it
   leaves the bottleneck;
4. **reordering** — with probability ``reorder`` it is held back a further
   ``reorder_delay`` seconds, so packets sent after it overtake it.

``offer()`` returns the release time (or None when dropped); the caller
(emulator.py) holds the packet until then.  Nothing here does I/O or reads a
clock: time is always passed in, which is what makes it testable.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class LinkStats:
    offered: int = 0
    delivered_bytes: int = 0
    dropped_loss: int = 0
    dropped_queue: int = 0
    reordered: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class LinkModel:
    """One direction: ``rate_bps`` bits/s (0 = unlimited), ``delay`` one-way
    seconds, ``loss`` and ``reorder`` probabilities in [0, 1),
    ``reorder_delay`` extra seconds, ``queue_bytes`` the bottleneck limit
    (None = one BDP of the round trip 2*delay, at least 64 KiB)."""
    rate_bps: float
    delay: float
    loss: float = 0.0
    reorder: float = 0.0
    reorder_delay: float = 0.005
    queue_bytes: int | None = None
    seed: int | None = None
    stats: LinkStats = field(default_factory=LinkStats)

    def __post_init__(self):
        if self.rate_bps < 0 or self.delay < 0 or self.reorder_delay < 0:
            raise ValueError("rate, delay and reorder_delay must be >= 0")
        for name in ("loss", "reorder"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")
        if self.queue_bytes is None:
            self.queue_bytes = default_queue_bytes(self.rate_bps, 2 * self.delay)
        if self.queue_bytes <= 0:
            raise ValueError("queue_bytes must be > 0")
        self._rng = random.Random(self.seed)
        self.last_reordered = False     # whether offer() just held a packet back
        self._busy_until = 0.0          # when the bottleneck finishes its backlog
        self._sec_per_byte = 8.0 / self.rate_bps if self.rate_bps else 0.0

    def backlog_bytes(self, now: float) -> float:
        """Bytes waiting in the bottleneck at ``now``."""
        if not self._sec_per_byte:
            return 0.0
        return max(0.0, self._busy_until - now) / self._sec_per_byte

    def offer(self, size: int, now: float) -> float | None:
        """Accept a packet of ``size`` bytes at ``now``; return the time it
        leaves the far end, or None when it is lost or the queue is full."""
        st = self.stats
        st.offered += 1
        self.last_reordered = False
        if self.loss and self._rng.random() < self.loss:
            st.dropped_loss += 1
            return None
        start = self._busy_until if self._busy_until > now else now
        if self._sec_per_byte:
            # Drop-tail: a packet that does not fit in the queue is dropped.
            # An empty queue always accepts one packet, whatever its size.
            if start > now and (start - now) / self._sec_per_byte + size > self.queue_bytes:
                st.dropped_queue += 1
                return None
            self._busy_until = start + size * self._sec_per_byte
        else:
            self._busy_until = start
        release = self._busy_until + self.delay
        if self.reorder and self._rng.random() < self.reorder:
            st.reordered += 1
            self.last_reordered = True
            release += self.reorder_delay
        st.delivered_bytes += size
        return release


def default_queue_bytes(rate_bps: float, rtt: float) -> int:
    """One bandwidth-delay product, at least 64 KiB (so a clean slow link
    still holds a few full-size packets)."""
    return max(65536, int(rate_bps * rtt / 8))


def mathis_bps(mss: int, rtt: float, loss: float) -> float:
    """The Mathis et al. estimate of Reno's steady-state throughput,
    MSS/RTT * 1.22/sqrt(p), in bits per second."""
    if loss <= 0:
        return float("inf")
    return mss * 8 / rtt * 1.22 / loss ** 0.5
