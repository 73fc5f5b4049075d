"""Delay-based rate controller (pure; fed with filtered receiver reports).

Only *queuing delay* (one-way delay above the minimum ever seen) moves the
rate; random loss does not, so a lossy long path is filled.  Equations
(docs/design/transfer-protocol.md, "Congestion control"), with
g = min(1, dt/rtt), q the filtered queuing delay and d the delivery rate
(both from Signals, below), T the target delay:

  slow start:  x <- x * G^g  (G = 1.5 per RTT)   until q > T/4 (or heavy loss),
               then x <- min(x, 0.85 r) (drain the overshoot) and steady state
               (r: the recent delivery rate, Signals.recent_delivery: while a
               queue stands, the bottleneck's rate; d lags it)
  steady, e = q/T:
      q <  T:  x <- x + g * (Ki * (1 - e) * sqrt(x * S) + Kp * max(0, 1 - 4e) * x - Kf * e * x)
               and, when a queue stands (q > 2 ms), x <- max(x, 0.85 r): do
               not let it drain to zero and idle the link after a cut
      q >= T:  x <- x + g * (min(goal, x * (1 - Kd)) - x),
               goal = d * (1 - min((q - T)/H, 0.5))      (drain the excess in ~H s)
  heavy loss (> loss_ceiling in an interval: a queue overflowing without
  measurable delay), at most once per RTT: x <- max(x/2, min(x, d)).
  Random loss below it changes nothing.
  growth guard: in steady state an increase stops at 1.15 d + 4 Mbit/s and,
  when a queue stands, at r + (1 - e) * sqrt(x * S) (never a cut); in slow
  start x <= 2 d + 4 Mbit/s.

The increase is sub-linear in x and the Kf decrease proportional to x, so
two flows seeing the same queue converge to the same rate (at equilibrium
Ki*(1-e)*sqrt(x*S) = Kf*e*x has one solution x for a given q); Ki/Kf = 50
puts that equilibrium at e/(1-e) = 50*sqrt(S/x): q ~ 0.8 T at 100 Mbit/s,
~0.6 T at 1 Gbit/s, well above the few ms of scheduling noise of a busy
host.  Defaults Ki=1, Kp=0, Kf=0.02, Kd=0.05, H=0.2 s, T=25 ms, floor 0.85,
approach 1 were chosen with the fluid model in
tests/unit/test_transfer_congestion.py and runs on the WAN emulator
(bench/transfer/single.py): a higher floor or a gentler cut (Kd 0, H 0.3 s)
fills a lossy path a little better but two flows at 1 Gbit/s x 100 ms no
longer converge within 20 % in the model's 35 s.  x is clamped to
[min_rate, cap].  Rates are bytes per second, times seconds.
"""
from __future__ import annotations

import math
from collections import deque

S = 125_000.0          # 1 Mbit/s in bytes/s: scale of the additive increase


class DelayController:
    def __init__(self, initial_rate: float, cap: float = 0.0, target_delay: float = 0.025,
                 min_rate: float = 64_000.0, ki: float = 1.0, kp: float = 0.0,
                 horizon: float = 0.2, kf: float = 0.02, loss_ceiling: float = 0.2,
                 headroom: float = 1.15, growth: float = 1.5, exit_share: float = 0.25,
                 kd: float = 0.05, exit_drain: float = 0.85, floor: float = 0.85,
                 busy_queue: float = 0.002, approach: float = 1.0):
        self.target = target_delay
        self.min_rate = min_rate
        self.cap = cap            # 0: no cap
        self.ki, self.kp, self.horizon, self.kf, self.kd = ki, kp, horizon, kf, kd
        self.loss_ceiling = loss_ceiling
        self.headroom = headroom
        self.growth, self.exit_share, self.exit_drain = growth, exit_share, exit_drain
        self.floor, self.busy_queue, self.approach = floor, busy_queue, approach
        self.slow_start = True
        self.clock = 0.0            # sum of the dt of every update (seconds)
        self.recover_until = 0.0    # heavy loss ignored until then (one cut per RTT)
        self.rate = self._clamp(initial_rate)

    def _clamp(self, x: float) -> float:
        if self.cap:
            x = min(x, self.cap)
        return max(x, self.min_rate)

    def set_cap(self, cap: float) -> None:
        """A new cap (bytes/s, 0 = none) from the user or the server's share."""
        self.cap = cap
        self.rate = self._clamp(self.rate)

    def update(self, dt: float, rtt: float, qdelay: float, delivery_rate: float,
               loss: float, recent_delivery: float = 0.0) -> float:
        """One report covering ``dt`` seconds: returns the new sending rate.

        qdelay: queuing delay (s) the receiver saw; delivery_rate: bytes/s it
        received; loss: fraction of packets lost in the interval (0..1);
        recent_delivery: bytes/s received over a short recent window (0:
        unknown, ``delivery_rate`` is used) -- while a queue stands, this is
        the bottleneck's rate."""
        recent = recent_delivery or delivery_rate
        if dt <= 0:
            return self.rate
        self.clock += dt
        now = self.clock
        g = min(1.0, dt / max(rtt, 0.001))
        x, t = self.rate, self.target
        if loss > self.loss_ceiling:
            # the queue overflows: send no faster than what gets through (then
            # the overflow stops and the delay rules drain the queue), at most
            # halving, once per round trip (later reports describe packets
            # sent before this cut)
            self.slow_start = False
            if now >= self.recover_until:
                self.recover_until = now + rtt
                x = max(x / 2, min(x, delivery_rate)) if delivery_rate > 0 else x / 2
        elif self.slow_start:
            if qdelay > t * self.exit_share:
                # the queue seen is a round trip old and still growing: go below
                # what arrives so that the overshoot drains
                self.slow_start = False
                if recent > 0:
                    x = min(x, self.exit_drain * recent)
            else:
                x *= self.growth ** g
        elif qdelay < t:
            e = qdelay / t
            x += g * (self.ki * (1 - e) * math.sqrt(x * S)
                      + self.kp * max(0.0, 1 - 4 * e) * x - self.kf * e * x)
            if qdelay > self.busy_queue and recent > 0:
                # a queue stands (the bottleneck is busy) but is below target:
                # a rate below what arrives would only drain it to zero and
                # leave the link idle, so come back up to what arrives
                x = max(x, self.floor * recent)
        elif delivery_rate > 0:
            goal = delivery_rate * (1 - min((qdelay - t) / self.horizon, 0.5))
            x += g * (min(goal, x * (1 - self.kd)) - x)
        else:
            x *= 1 - g * 0.25
        if delivery_rate > 0:
            # do not grow far ahead of what arrives (a CPU-starved sender or
            # receiver would otherwise let x grow without bound).  In steady
            # state this only stops growth, never cuts (only delay and heavy
            # loss decrease x: a sender briefly starved of CPU must not ratchet
            # its rate down); slow start, whose delivery lags x by about one
            # growth step, is brought back to twice what arrives.
            if self.slow_start:
                x = min(x, (self.growth + 0.5) * delivery_rate + 8 * self.min_rate)
            elif x > self.rate:
                x = min(x, max(self.rate, self.headroom * delivery_rate + 8 * self.min_rate))
                if qdelay > self.busy_queue and recent > 0:
                    # a queue stands: what arrives is the bottleneck's rate; grow
                    # past it by at most approach*(1 - q/T)*sqrt(x*S) (the scale of
                    # the increase: relatively more for a small flow, so flows
                    # still converge), so the queue nears the target instead of
                    # overshooting it by an RTT of growth
                    ahead = recent + (self.approach * max(0.0, 1 - qdelay / t)
                                      * math.sqrt(x * S))
                    x = min(x, max(self.rate, ahead))
        if self.cap and self.slow_start and x >= self.cap:
            self.slow_start = False   # at the cap: nothing more to probe
        self.rate = self._clamp(x)
        return self.rate


class Signals:
    """The sender's filter between receiver reports and the controller (pure).

    Reports come every few ms and their raw figures are noisy on a busy host:
    one late scheduling of the path (or of either end) makes every packet of
    a report interval look queued, and a report interval's byte count is
    bursty.  A real queue persists, so the controller is fed

      qdelay   = min of the reported queuing delays over the last ``w`` s
                 (LEDBAT's filter: a spike shorter than ``w`` never shows),
      delivery = bytes the receiver newly held over the last ``w2`` s
                 (from the cumulative "blocks held" of the reports),

    with w = clamp(rtt/4, 25 ms, 100 ms) and w2 = clamp(rtt, 100 ms, 500 ms);
    and the recent delivery over clamp(rtt/2, 25 ms, 100 ms), which follows a
    change of the bottleneck's rate (or the end of slow start) sooner."""

    def __init__(self, block_size: int):
        """``block_size``: bytes one held block stands for (the sender passes
        its packets' size on the wire, the unit of the sending rate)."""
        self.block_size = block_size
        self.q: deque[tuple[float, float]] = deque()     # (time, qdelay), time ascending
        self.held: deque[tuple[float, int]] = deque()    # (time, blocks held)

    def add(self, now: float, qdelay: float, held: int) -> None:
        self.q.append((now, qdelay))
        self.held.append((now, held))

    def qdelay(self, now: float, rtt: float, short: bool = False) -> float:
        """``short``: the last report's figure only (slow start, where a late
        reaction overflows the queue costs more than an early exit)."""
        if short and self.q:
            return self.q[-1][1]
        w = min(max(rtt / 4, 0.025), 0.1)
        q = self.q
        while len(q) > 1 and q[0][0] < now - w:
            q.popleft()
        return min(x for _, x in q) if q else 0.0

    def delivery(self, now: float, rtt: float) -> float:
        """Bytes/s; 0 until the window holds two reports."""
        w = min(max(rtt, 0.1), 0.5)
        h = self.held
        while len(h) > 2 and h[1][0] <= now - w:
            h.popleft()
        if len(h) < 2 or h[-1][0] <= h[0][0]:
            return 0.0
        return (h[-1][1] - h[0][1]) * self.block_size / (h[-1][0] - h[0][0])

    def recent_delivery(self, now: float, rtt: float) -> float:
        """Bytes/s over the last ``clamp(rtt/2, 25 ms, 100 ms)`` (call after
        ``delivery``, which keeps the reports); 0 until two reports."""
        w = min(max(rtt / 2, 0.025), 0.1)
        h = self.held
        if len(h) < 2:
            return 0.0
        i = len(h) - 2
        while i > 0 and h[i][0] > now - w:
            i -= 1
        if h[-1][0] <= h[i][0]:
            return 0.0
        return (h[-1][1] - h[i][1]) * self.block_size / (h[-1][0] - h[i][0])
