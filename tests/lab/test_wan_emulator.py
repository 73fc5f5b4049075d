"""The WAN emulator (bench/wan) for real, as root: two namespaces joined by
the TUN forwarder.  It delays (ping RTT is the configured RTT), rate-limits
(a UDP blast above the rate is delivered at the rate), drops (Bernoulli at
p, bounded statistically) and reorders; and leaving the block removes every
namespace, device and process, also when the block raises."""
from __future__ import annotations

import math
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from bench.wan import measure  # noqa: E402
from bench.wan.topology import Link, ns_pids, wan_namespaces  # noqa: E402


@pytest.fixture(autouse=True)
def no_leftovers():
    before = set(wan_namespaces())
    yield
    assert set(wan_namespaces()) <= before, "a wan- namespace was left behind"


def test_ping_rtt_is_the_configured_rtt():
    with Link(rate_mbps=50, rtt_ms=40) as link:
        r = measure.ping(link, count=15, interval=0.1)
    assert r["loss_pct"] == 0
    # min is what the link adds; the average also carries the host's jitter
    assert 40 <= r["min"] <= 43
    assert r["avg"] < 60


def test_udp_blast_is_delivered_at_the_configured_rate():
    with Link(rate_mbps=20, rtt_ms=20) as link:
        r = measure.udp_blast(link, seconds=3, rate_mbps=30, size=1200)
    assert r["sent"] > r["received"]                     # the excess was dropped
    assert r["rate_mbps"] == pytest.approx(20, rel=0.15)
    assert link.stats["a_to_b"]["dropped_queue"] > 0


def test_random_loss_and_reordering():
    p = 0.10
    with Link(rate_mbps=10, rtt_ms=20, loss=p, reorder=0.2, reorder_delay_ms=5) as link:
        # 1 ms apart, so a packet held back 5 ms is overtaken by the next ones
        r = measure.udp_blast(link, seconds=2, rate_mbps=2, size=250)
    n = r["sent"]
    assert n > 1000
    lost = n - r["received"]
    sigma = math.sqrt(n * p * (1 - p))
    assert abs(lost - n * p) < 6 * sigma, (lost, n)
    # reordering is applied to the packets that survive the loss (20 %); a held
    # packet counts only if a later one overtakes it within 5 ms, which a
    # stalled sender (VM preemption) can miss: hence the wide lower bound
    assert 0.05 * r["received"] < r["reordered"] < 0.30 * r["received"]
    assert link.stats["a_to_b"]["dropped_loss"] == lost


def test_cleanup_after_failure_removes_namespaces_devices_and_processes():
    link = Link(rate_mbps=10, rtt_ms=10)
    sleeper = None
    with pytest.raises(RuntimeError):
        with link:
            names = (link.client_ns, link.server_ns)
            assert set(names) <= set(wan_namespaces())
            forwarder = link._proc
            sleeper = subprocess.Popen(link.server_cmd(["sleep", "300"]))
            assert ns_pids(link.server_ns)
            raise RuntimeError("boom")
    assert not set(names) & set(wan_namespaces())
    assert forwarder.poll() is not None
    assert sleeper.wait(timeout=5) is not None
    # a TUN device dies with its namespace and its fd: no wan0 left anywhere
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert link.dev + ":" not in links
    assert link.stats is not None                        # the forwarder reported on exit
