"""The delay-based rate controller (stratus/transfer/congestion.py), fed with
synthetic samples and driven through a fluid model of one bottleneck queue."""
from __future__ import annotations

import random
from collections import deque

from stratus.transfer.congestion import DelayController

MBIT = 125_000.0


def feed(cc, steps, q=0.0, loss=0.0, delivery=0.0, dt=0.01, rtt=0.1):
    for _ in range(steps):
        cc.update(dt, rtt, q, delivery, loss)
    return cc.rate


def test_slow_start_doubles_per_rtt_without_queue():
    cc = DelayController(10 * MBIT)
    feed(cc, 10)                                      # one RTT in 10 reports
    assert 19 * MBIT < cc.rate < 21 * MBIT
    feed(cc, 30)
    assert cc.rate > 150 * MBIT and cc.slow_start


def test_random_loss_alone_does_not_cut_the_rate():
    for loss in (0.01, 0.05, 0.1):
        cc = DelayController(100 * MBIT)
        cc.slow_start = False
        before = cc.rate
        rng = random.Random(1)
        for _ in range(200):
            cc.update(0.01, 0.1, 0.0, 99 * MBIT, loss * rng.random() * 2)
        assert cc.rate >= before, loss


def test_slow_start_exits_on_queue_to_the_delivery_rate():
    cc = DelayController(200 * MBIT)
    cc.update(0.01, 0.1, 0.02, 100 * MBIT, 0.0)       # q > T/2
    assert not cc.slow_start and cc.rate == 100 * MBIT


def test_rising_delay_cuts_the_rate():
    cc = DelayController(100 * MBIT)
    cc.slow_start = False
    rates = [feed(cc, 10, q=q, delivery=100 * MBIT) for q in (0.03, 0.06, 0.1, 0.2)]
    assert rates == sorted(rates, reverse=True) and rates[-1] < 80 * MBIT


def test_heavy_loss_without_delay_backs_off():
    cc = DelayController(100 * MBIT)
    feed(cc, 10, loss=0.5)
    assert cc.rate < 100 * MBIT and not cc.slow_start


def test_cap_and_floor():
    cc = DelayController(1 * MBIT, cap=50 * MBIT)
    feed(cc, 200)
    assert cc.rate == 50 * MBIT
    cc.set_cap(10 * MBIT)
    assert cc.rate == 10 * MBIT
    feed(cc, 500, q=1.0, delivery=1.0)
    assert cc.rate == cc.min_rate


def simulate(capacity, rtt, loss, starts, seconds, dt=0.01, buffer=0.2):
    """Fluid model: flows share a FIFO queue of ``capacity`` bytes/s; each
    sees the queue (and its delivery share) one RTT late."""
    flows = [DelayController(1.25e6) for _ in starts]
    feedback = [deque() for _ in starts]
    delivered = [0.0] * len(starts)
    q, t, lag, trace = 0.0, 0.0, int(rtt / dt), []
    while t < seconds:
        active = [i for i, s in enumerate(starts) if t >= s]
        total = sum(flows[i].rate for i in active)
        q = max(0.0, q + (total - capacity) / capacity * dt)
        overflow = 0.0
        if q > buffer:
            overflow, q = (q - buffer) / q, buffer
        out = capacity if q > 0 else min(total, capacity)
        for i in active:
            share = flows[i].rate / total * out * (1 - loss)
            delivered[i] += share * dt
            feedback[i].append((q, share))
            if len(feedback[i]) > lag:
                qq, sh = feedback[i].popleft()
                flows[i].update(dt, rtt + qq, qq, sh, loss + overflow)
        t += dt
        trace.append([f.rate for f in flows])
    return delivered, trace


def test_lossy_long_path_is_filled():
    # 100 Mbit/s, RTT 100 ms, 1 % random loss: >= 85 % of capacity delivered
    delivered, _ = simulate(100 * MBIT, 0.1, 0.01, [0.0], 20.0)
    assert delivered[0] / (100 * MBIT * 20.0) >= 0.85


def test_reaches_link_rate_within_a_few_rtts():
    _, trace = simulate(100 * MBIT, 0.1, 0.0, [0.0], 1.0)
    assert max(r[0] for r in trace[:80]) >= 90 * MBIT      # within 8 RTTs


def test_two_flows_converge_to_similar_rates():
    for capacity, rtt in ((100 * MBIT, 0.1), (1000 * MBIT, 0.01)):
        _, trace = simulate(capacity, rtt, 0.0, [0.0, 5.0], 40.0)
        tail = trace[-1000:]
        a = sum(r[0] for r in tail) / len(tail)
        b = sum(r[1] for r in tail) / len(tail)
        assert abs(a - b) / max(a, b) < 0.2, (capacity, a / MBIT, b / MBIT)
        assert (a + b) > 0.8 * capacity
