"""Measurements across a live Link (topology.py): ping RTT, a UDP blast,
a TCP bulk transfer.  Each runs the probes of probe.py in the two
namespaces (the sink/server side in the server namespace) and returns what
they report.  Used by validate.py and tests/lab/test_wan_emulator.py."""
from __future__ import annotations

import json
import re
import subprocess
import sys

from bench.wan.topology import REPO, Link

PROBE = [sys.executable, "-m", "bench.wan.probe"]
ENV = {"PYTHONPATH": REPO, "PATH": "/usr/bin:/bin"}


def _start_sink(link: Link, argv: list[str]) -> subprocess.Popen:
    p = subprocess.Popen(link.server_cmd(PROBE + argv), cwd=REPO, stdout=subprocess.PIPE,
                         text=True, env=ENV)
    line = p.stdout.readline()
    if "listening" not in line:
        p.kill()
        raise RuntimeError(f"probe sink did not start: {line!r}")
    return p


def _finish(p: subprocess.Popen, timeout: float) -> dict:
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise
    return json.loads(out.strip().splitlines()[-1])


def _client(link: Link, argv: list[str], timeout: float) -> dict:
    cp = subprocess.run(link.client_cmd(PROBE + argv), cwd=REPO, capture_output=True,
                        text=True, timeout=timeout, env=ENV)
    if cp.returncode != 0:
        raise RuntimeError(f"probe {argv[0]} failed: {cp.stderr.strip()[-500:]}")
    return json.loads(cp.stdout.strip().splitlines()[-1])


def ping(link: Link, count: int = 10, interval: float = 0.2, size: int = 56) -> dict:
    """ICMP echo client -> server; min/avg/max/mdev RTT in ms and loss %."""
    cp = subprocess.run(link.client_cmd(["ping", "-q", "-c", str(count), "-i", str(interval),
                                         "-s", str(size), link.server_ip]),
                        capture_output=True, text=True, timeout=count * interval + 30)
    m = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", cp.stdout)
    lost = re.search(r"([\d.]+)% packet loss", cp.stdout)
    if not m:
        return {"min": None, "avg": None, "max": None, "mdev": None,
                "loss_pct": float(lost.group(1)) if lost else 100.0}
    mn, avg, mx, mdev = (float(x) for x in m.groups())
    return {"min": mn, "avg": avg, "max": mx, "mdev": mdev,
            "loss_pct": float(lost.group(1)) if lost else 0.0}


def udp_blast(link: Link, seconds: float, rate_mbps: float, size: int = 1400,
              port: int = 5201) -> dict:
    """Blast datagrams of ``size`` bytes client -> server at ``rate_mbps``
    (0 = flat out) for ``seconds``; return the sink's report plus ``sent``."""
    sink = _start_sink(link, ["udp-sink", str(port), str(seconds + 5)])
    try:
        sent = _client(link, ["udp-blast", link.server_ip, str(port), str(seconds),
                              str(rate_mbps), str(size)], timeout=seconds + 30)
    finally:
        got = _finish(sink, timeout=seconds + 40)
    got["sent"] = sent["sent"]
    return got


def tcp_bulk(link: Link, seconds: float, warmup: float, cc: str | None = None,
             port: int = 5202) -> dict:
    """One TCP connection client -> server sending for ``seconds``; goodput
    measured by the receiver after ``warmup`` seconds, plus the sender's
    TCP_INFO (mss, rtt_ms, cc, total_retrans)."""
    sink = _start_sink(link, ["tcp-sink", str(port), str(warmup)])
    try:
        argv = ["tcp-send", link.server_ip, str(port), str(seconds)] + ([cc] if cc else [])
        sent = _client(link, argv, timeout=seconds + 60)
    finally:
        got = _finish(sink, timeout=seconds + 90)
    return {**got, **sent}
