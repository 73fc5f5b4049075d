"""The pure model of one direction of the WAN emulator (bench/wan/link.py)."""
from __future__ import annotations

import math
import pathlib
import sys

import pytest

# bench/ is not an installed package: import it from the repository root.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from bench.wan.link import LinkModel, default_queue_bytes, mathis_bps  # noqa: E402

MBIT = 1e6


def test_idle_link_releases_after_serialisation_plus_delay():
    m = LinkModel(rate_bps=8 * MBIT, delay=0.05)          # 1 byte per microsecond
    assert m.offer(1000, now=10.0) == pytest.approx(10.0 + 0.001 + 0.05)


def test_back_to_back_packets_are_spaced_by_serialisation_time():
    m = LinkModel(rate_bps=8 * MBIT, delay=0.0, queue_bytes=10**6)
    releases = [m.offer(1000, now=0.0) for _ in range(5)]
    gaps = [b - a for a, b in zip(releases, releases[1:])]
    assert gaps == pytest.approx([0.001] * 4)


def test_long_run_rate_is_the_configured_rate():
    m = LinkModel(rate_bps=100 * MBIT, delay=0.05, queue_bytes=10**9)
    last = None
    for i in range(10000):                                  # offered at 2x the rate
        last = m.offer(1500, now=i * 1500 * 8 / (200 * MBIT))
    assert 10000 * 1500 * 8 / (last - 0.05) == pytest.approx(100 * MBIT, rel=1e-3)


def test_backlog_drains_over_time():
    m = LinkModel(rate_bps=8 * MBIT, delay=0.0, queue_bytes=10**6)
    for _ in range(10):
        m.offer(1000, now=0.0)
    assert m.backlog_bytes(0.0) == pytest.approx(10000)
    assert m.backlog_bytes(0.004) == pytest.approx(6000)
    assert m.backlog_bytes(1.0) == 0


def test_drop_tail_when_queue_is_full():
    m = LinkModel(rate_bps=8 * MBIT, delay=0.0, queue_bytes=3000)
    out = [m.offer(1000, now=0.0) for _ in range(5)]
    assert [o is not None for o in out] == [True, True, True, False, False]
    assert m.stats.dropped_queue == 2
    # once the queue has drained the link accepts again
    assert m.offer(1000, now=1.0) is not None


def test_empty_queue_accepts_a_packet_larger_than_the_limit():
    m = LinkModel(rate_bps=8 * MBIT, delay=0.0, queue_bytes=1000)
    assert m.offer(9000, now=0.0) is not None
    assert m.offer(9000, now=0.0) is None


def test_unlimited_rate_only_delays():
    m = LinkModel(rate_bps=0, delay=0.02)
    assert [m.offer(1500, now=1.0) for _ in range(3)] == [1.02] * 3


def test_loss_is_bernoulli_with_the_configured_probability():
    n, p = 200_000, 0.01
    m = LinkModel(rate_bps=0, delay=0.0, loss=p, seed=7)
    lost = sum(m.offer(100, now=0.0) is None for _ in range(n))
    sigma = math.sqrt(n * p * (1 - p))
    assert abs(lost - n * p) < 5 * sigma
    assert m.stats.dropped_loss == lost and m.stats.offered == n


def test_lost_packets_take_no_link_time():
    m = LinkModel(rate_bps=8 * MBIT, delay=0.0, loss=0.5, seed=1, queue_bytes=10**9)
    kept = [r for r in (m.offer(1000, now=0.0) for _ in range(1000)) if r is not None]
    assert max(kept) == pytest.approx(len(kept) * 0.001)


def test_seeded_links_repeat():
    def run():
        m = LinkModel(rate_bps=0, delay=0.0, loss=0.3, reorder=0.3, seed=42)
        return [m.offer(100, now=float(i)) for i in range(100)]
    assert run() == run()


def test_reordered_packets_are_overtaken():
    m = LinkModel(rate_bps=80 * MBIT, delay=0.01, reorder=0.2, reorder_delay=0.005, seed=3)
    releases, flags = [], []
    for i in range(2000):
        releases.append(m.offer(1000, now=i * 1e-4))
        flags.append(m.last_reordered)
    assert m.stats.reordered == sum(flags)
    assert 0.15 * 2000 < sum(flags) < 0.25 * 2000
    for i, held in enumerate(flags):
        if held and i + 1 < len(releases) and not flags[i + 1]:
            assert releases[i + 1] < releases[i]         # the next one overtakes it
        if i and not held and not flags[i - 1]:
            assert releases[i] > releases[i - 1]         # in-order ones stay in order


def test_default_queue_is_one_bdp_with_a_floor():
    assert default_queue_bytes(100 * MBIT, 0.1) == 1_250_000
    assert default_queue_bytes(1 * MBIT, 0.001) == 65536
    assert LinkModel(rate_bps=100 * MBIT, delay=0.05).queue_bytes == 1_250_000


@pytest.mark.parametrize("kw", [dict(loss=1.0), dict(loss=-0.1), dict(reorder=1.5),
                                dict(rate_bps=-1), dict(delay=-1), dict(queue_bytes=0)])
def test_bad_parameters_are_refused(kw):
    args = dict(rate_bps=MBIT, delay=0.0) | kw
    with pytest.raises(ValueError):
        LinkModel(**args)


def test_mathis_estimate():
    # 1448-byte MSS, 100 ms, 1 % loss: 1448*8/0.1 * 1.22/0.1 = 1.413 Mbit/s
    assert mathis_bps(1448, 0.1, 0.01) == pytest.approx(1_413_248)
    assert mathis_bps(1448, 0.1, 0.0) == math.inf
