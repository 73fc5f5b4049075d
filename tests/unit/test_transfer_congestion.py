"""The delay-based rate controller and its input filter
(stratus/transfer/congestion.py), fed with synthetic samples and driven
through a fluid model of one bottleneck queue (also with the delay spikes of
a busy host)."""
from __future__ import annotations

import random
from collections import deque

from stratus.transfer.congestion import DelayController, Signals

MBIT = 125_000.0


def feed(cc, steps, q=0.0, loss=0.0, delivery=0.0, dt=0.01, rtt=0.1):
    for _ in range(steps):
        cc.update(dt, rtt, q, delivery, loss)
    return cc.rate


def test_slow_start_grows_half_per_rtt_without_queue():
    cc = DelayController(10 * MBIT)
    feed(cc, 10)                                      # one RTT in 10 reports
    assert 14.5 * MBIT < cc.rate < 15.5 * MBIT
    feed(cc, 60)
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


def test_slow_start_exits_on_queue_below_the_delivery_rate():
    cc = DelayController(200 * MBIT)
    cc.update(0.01, 0.1, 0.005, 100 * MBIT, 0.0)      # q < T/4: keeps growing
    assert cc.slow_start and cc.rate > 200 * MBIT
    cc.update(0.01, 0.1, 0.008, 100 * MBIT, 0.0)      # q > T/4: drain the overshoot
    assert not cc.slow_start and cc.rate == 85 * MBIT


def test_slow_start_exit_drains_below_the_recent_delivery_not_the_lagging_one():
    # the long-window delivery still shows the ramp (60); what arrives now (100)
    # is the bottleneck's rate: exit to 85 % of that, not of 60
    cc = DelayController(150 * MBIT)
    cc.update(0.01, 0.1, 0.01, 60 * MBIT, 0.0, recent_delivery=100 * MBIT)
    assert not cc.slow_start and abs(cc.rate - 85 * MBIT) < 1


def test_a_standing_queue_below_target_brings_the_rate_back_to_what_arrives():
    cc = DelayController(60 * MBIT)                   # cut earlier by a deep queue
    cc.slow_start = False
    cc.update(0.01, 0.1, 0.010, 100 * MBIT, 0.01, recent_delivery=100 * MBIT)
    assert cc.rate >= 85 * MBIT                       # not drained to zero first
    cc = DelayController(60 * MBIT)                   # no queue: the link is not busy,
    cc.slow_start = False                             # what arrives says nothing more
    cc.update(0.01, 0.1, 0.0, 100 * MBIT, 0.01, recent_delivery=100 * MBIT)
    assert cc.rate < 65 * MBIT


def test_growth_slows_to_the_bottleneck_rate_as_the_queue_nears_target():
    for q, most in ((0.005, 1.3), (0.02, 1.1), (0.0245, 1.02)):
        cc = DelayController(100 * MBIT)
        cc.slow_start = False
        feed_recent = [cc.update(0.01, 0.1, q, 100 * MBIT, 0.0, recent_delivery=100 * MBIT)
                       for _ in range(50)]
        assert max(feed_recent) <= most * 100 * MBIT, q


def test_random_loss_and_queuing_delay_hold_the_rate_at_the_bottleneck():
    # 1 % random loss with a queue near target: the rate stays near what the
    # link delivers; the same with the queue growing past target goes below it
    rng = random.Random(3)
    cc = DelayController(100 * MBIT)
    cc.slow_start = False
    for _ in range(300):
        cc.update(0.01, 0.1, 0.02, 99 * MBIT, 0.02 * rng.random(), recent_delivery=99 * MBIT)
    assert 90 * MBIT <= cc.rate <= 110 * MBIT
    for _ in range(30):
        cc.update(0.01, 0.1, 0.06, 99 * MBIT, 0.02 * rng.random(), recent_delivery=99 * MBIT)
    assert cc.rate < 90 * MBIT


def test_slow_start_stays_near_what_arrives():
    # a sender that cannot reach its rate (CPU-starved) must not let x run away
    cc = DelayController(10 * MBIT)
    feed(cc, 100, delivery=10 * MBIT)
    assert cc.slow_start and cc.rate <= 2 * 10 * MBIT + 8 * cc.min_rate


def test_steady_growth_stops_ahead_of_delivery_but_never_cuts():
    cc = DelayController(50 * MBIT)
    cc.slow_start = False
    feed(cc, 200, delivery=40 * MBIT)                 # no queue, yet only 40 arrive
    capped = cc.rate
    assert capped <= 1.15 * 40 * MBIT + 8 * cc.min_rate + 1
    feed(cc, 50, delivery=5 * MBIT)                   # a starved moment: no cut
    assert cc.rate == capped


def test_rising_delay_cuts_the_rate():
    cc = DelayController(100 * MBIT)
    cc.slow_start = False
    rates = [feed(cc, 10, q=q, delivery=100 * MBIT) for q in (0.03, 0.06, 0.1, 0.2)]
    assert rates == sorted(rates, reverse=True) and rates[-1] < 80 * MBIT


def test_heavy_loss_without_delay_backs_off_once_per_rtt():
    cc = DelayController(100 * MBIT)
    feed(cc, 10, loss=0.5)                            # no delivery figure: halve
    assert cc.rate == 50 * MBIT and not cc.slow_start
    cc = DelayController(100 * MBIT)
    cc.slow_start = False
    feed(cc, 10, loss=0.5, delivery=80 * MBIT)        # one RTT of reports: one cut
    assert cc.rate == 80 * MBIT
    feed(cc, 2, loss=0.5, delivery=20 * MBIT)         # next RTT: at most halving
    assert cc.rate == 40 * MBIT


def test_cap_and_floor():
    cc = DelayController(1 * MBIT, cap=50 * MBIT)
    feed(cc, 200)
    assert cc.rate == 50 * MBIT
    cc.set_cap(10 * MBIT)
    assert cc.rate == 10 * MBIT
    feed(cc, 500, q=1.0, delivery=1.0)
    assert cc.rate == cc.min_rate


def simulate(capacity, rtt, loss, starts, seconds, dt=0.01, buffer=0.2, spikes=0.0, seed=1):
    """Fluid model: flows share a FIFO queue of ``capacity`` bytes/s; each
    sees the queue (and its delivery share) one RTT late, through the
    sender's filter (Signals) as in stratus/transfer/sender.py.  ``spikes``:
    rate (1/s) of delay spikes of 20-150 ms lasting 20-150 ms (a busy host
    scheduling the path late) plus a few ms of exponential jitter."""
    rng = random.Random(seed)
    flows = [DelayController(2.5e6) for _ in starts]
    sigs = [Signals(1) for _ in starts]
    held = [0.0] * len(starts)
    feedback = [deque() for _ in starts]
    delivered = [0.0] * len(starts)
    q, t, lag, trace = 0.0, 0.0, int(rtt / dt), []
    spike_until = spike = 0.0
    while t < seconds:
        active = [i for i, s in enumerate(starts) if t >= s]
        total = sum(flows[i].rate for i in active)
        q = max(0.0, q + (total - capacity) / capacity * dt)
        overflow = 0.0
        if q > buffer:
            overflow, q = (q - buffer) / q, buffer
        out = capacity if q > 0 else min(total, capacity)
        noise = 0.0
        if spikes:
            if t > spike_until and rng.random() < spikes * dt:
                spike_until, spike = t + rng.uniform(0.02, 0.15), rng.uniform(0.02, 0.15)
            noise = (spike if t < spike_until else 0.0) + rng.expovariate(1 / 0.003)
        for i in active:
            share = flows[i].rate / total * out * (1 - loss)
            delivered[i] += share * dt
            held[i] += share * dt
            feedback[i].append((q + noise, held[i]))
            if len(feedback[i]) > lag:
                qq, h = feedback[i].popleft()
                sig, cc = sigs[i], flows[i]
                sig.add(t, qq, h)
                r = rtt + qq
                cc.update(dt, r, sig.qdelay(t, r, short=cc.slow_start), sig.delivery(t, r),
                          loss + overflow, sig.recent_delivery(t, r))
        t += dt
        trace.append([f.rate for f in flows] + [q, overflow])
    return delivered, trace


def test_lossy_long_path_is_filled():
    # 100 Mbit/s, RTT 100 ms, 1 % random loss: >= 85 % of capacity delivered
    delivered, trace = simulate(100 * MBIT, 0.1, 0.01, [0.0], 20.0)
    assert delivered[0] / (100 * MBIT * 20.0) >= 0.85
    assert not any(r[-1] for r in trace)                  # the queue never overflows


def test_delay_spikes_of_a_busy_host_do_not_collapse_the_rate():
    for seed in (1, 2, 3):
        delivered, _ = simulate(100 * MBIT, 0.1, 0.01, [0.0], 20.0, spikes=2.0, seed=seed)
        assert delivered[0] / (100 * MBIT * 20.0) >= 0.85, seed


def test_reaches_link_rate_within_a_few_rtts():
    _, trace = simulate(100 * MBIT, 0.1, 0.0, [0.0], 1.5)
    assert max(r[0] for r in trace[:100]) >= 90 * MBIT     # within 10 RTTs


def test_two_flows_converge_to_similar_rates():
    for capacity, rtt in ((100 * MBIT, 0.1), (1000 * MBIT, 0.01), (1000 * MBIT, 0.1)):
        _, trace = simulate(capacity, rtt, 0.0, [0.0, 5.0], 40.0)
        tail = trace[-1000:]
        a = sum(r[0] for r in tail) / len(tail)
        b = sum(r[1] for r in tail) / len(tail)
        assert abs(a - b) / max(a, b) < 0.2, (capacity, a / MBIT, b / MBIT)
        assert (a + b) > 0.8 * capacity


def test_signals_filter_ignores_short_spikes_not_a_growing_queue():
    sig = Signals(1000)
    for k in range(20):                                   # a report every 10 ms
        sig.add(k * 0.01, 0.001, k * 100)
    sig.add(0.2, 0.08, 2000)                              # one late report: a spike
    assert sig.qdelay(0.2, 0.1) == 0.001                  # min over the last 25 ms
    assert sig.qdelay(0.2, 0.1, short=True) == 0.08       # slow start: the last report
    for k in range(21, 30):                               # a queue that persists
        sig.add(k * 0.01, 0.03, k * 100)
    assert sig.qdelay(0.29, 0.1) == 0.03
    # 100 blocks of 1000 bytes every 10 ms: 10 MB/s
    assert abs(sig.delivery(0.29, 0.1) - 10e6) < 1


def test_signals_recent_delivery_follows_a_change_the_long_window_lags():
    sig = Signals(1000)
    held = 0
    for k in range(60):                                   # 10 ms reports
        held += 50 if k < 54 else 100                     # 5 MB/s, then 10 MB/s
        sig.add(k * 0.01, 0.0, held)
    long = sig.delivery(0.59, 0.1)
    recent = sig.recent_delivery(0.59, 0.1)               # the last 50 ms
    assert abs(recent - 10e6) < 1 and long < 0.8 * recent


def test_signals_delivery_needs_two_reports():
    sig = Signals(1000)
    assert sig.delivery(0.0, 0.1) == 0.0
    sig.add(0.0, 0.0, 5)
    assert sig.delivery(0.0, 0.1) == 0.0
