"""Delay-based rate controller (pure; fed with receiver reports).

Only *queuing delay* (one-way delay above the minimum ever seen) moves the
rate; random loss does not, so a lossy long path is filled.  Equations
(docs/design/transfer-protocol.md, "Congestion control"), with g = min(1, dt/rtt):

  slow start:  x <- x * 2^g                      until q > T/2 (or heavy loss),
               then x <- min(x, delivery rate) and steady state begins
  steady, e = q/T:
      q <  T:  x <- x + g * (Ki * (1 - e) * sqrt(x * S) + Kp * max(0, 1 - 4e) * x - Kf * e * x)
      q >= T:  x <- x + g * (min(goal, x * (1 - Kf)) - x),
               goal = delivery * (1 - min((q - T)/H, 0.5))   (drain the excess in ~H s)
  heavy loss (> loss_ceiling in an interval: a queue overflowing without
  measurable delay): x <- x * (1 - g/2).  Random loss below it changes nothing.

The increase is sub-linear in x and the Kf decrease proportional to x, so
two flows seeing the same queue converge to the same rate (at equilibrium
Ki*(1-e)*sqrt(x*S) = Kf*e*x has one solution x for a given q).  Defaults
Ki=0.5, Kp=0, Kf=0.1, H=0.5 s, T=25 ms were chosen with the fluid model in
tests/unit/test_transfer_congestion.py.  x is clamped to
[min_rate, cap].  Rates are bytes per second, times seconds.
"""
from __future__ import annotations

import math

S = 125_000.0          # 1 Mbit/s in bytes/s: scale of the additive increase


class DelayController:
    def __init__(self, initial_rate: float, cap: float = 0.0, target_delay: float = 0.025,
                 min_rate: float = 64_000.0, ki: float = 0.5, kp: float = 0.0,
                 horizon: float = 0.5, kf: float = 0.1, loss_ceiling: float = 0.2):
        self.target = target_delay
        self.min_rate = min_rate
        self.cap = cap            # 0: no cap
        self.ki, self.kp, self.horizon, self.kf = ki, kp, horizon, kf
        self.loss_ceiling = loss_ceiling
        self.slow_start = True
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
               loss: float) -> float:
        """One report covering ``dt`` seconds: returns the new sending rate.

        qdelay: queuing delay (s) the receiver saw; delivery_rate: bytes/s it
        received; loss: fraction of packets lost in the interval (0..1)."""
        if dt <= 0:
            return self.rate
        g = min(1.0, dt / max(rtt, 0.001))
        x, t = self.rate, self.target
        if loss > self.loss_ceiling:
            self.slow_start = False
            x *= 1 - g / 2
        elif self.slow_start:
            if qdelay > t / 2:
                self.slow_start = False
                if delivery_rate > 0:
                    x = min(x, delivery_rate)
            else:
                x *= 2 ** g
        elif qdelay < t:
            e = qdelay / t
            x += g * (self.ki * (1 - e) * math.sqrt(x * S)
                      + self.kp * max(0.0, 1 - 4 * e) * x - self.kf * e * x)
        elif delivery_rate > 0:
            goal = delivery_rate * (1 - min((qdelay - t) / self.horizon, 0.5))
            x += g * (min(goal, x * (1 - self.kf)) - x)
        else:
            x *= 1 - g * 0.25
        if self.cap and self.slow_start and x >= self.cap:
            self.slow_start = False   # at the cap: nothing more to probe
        self.rate = self._clamp(x)
        return self.rate
