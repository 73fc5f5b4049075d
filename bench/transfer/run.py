"""bench/transfer: upload goodput over an emulated WAN, three ways, in one go.

    .venv/bin/python bench/transfer/run.py                 # every scenario
    .venv/bin/python bench/transfer/run.py --seconds 5 --scenarios 100/100/0.01
    make bench-transfer

For each scenario (rate Mbit/s / RTT ms / loss probability) the same
emulated link (bench/wan) carries, in turn: ``http`` — a plain HTTP PUT of
the file to the Swift API (one TCP connection, the baseline); ``swiftclient``
— python-swiftclient's single-PUT upload; ``swiftclient-seg`` — its
segmented upload, 8 segments over 8 parallel connections; ``stratus`` —
``stratus transfer put``.  One Stratus cloud runs in the server namespace for
the whole run; clients run in the client namespace and reach it only through
the emulator.  File sizes are chosen per method so that each upload takes
about ``--seconds`` at the rate that method can be expected to reach (the TCP
methods at the Mathis rate, the accelerated one at the link rate): a pilot
upload sized for a quarter of that, then, when it took under half of
``--seconds``, a run with a file sized from the rate the pilot showed (at
most twice; the last run is reported).  Every method's goodput is bytes/time of a whole
upload of its own file.  Every method starts its clock with a Keystone token
in hand (the TCP methods log in first; ``stratus transfer put`` gets the token
and the catalog's endpoint with ``--os-token``/``--endpoint``, as the openstack
CLI's token_endpoint); ``stratus``'s clock still covers starting the CLI
process.  ``--login-in-clock`` makes the CLI log in inside its clock.
A method whose code is not there yet is reported as ``skipped``.
Scenarios at >= 1 Gbit/s use ``--big-mtu`` (9000) on both ends: TCP and the
accelerated protocol see the same MTU.  Results go to
bench/results/transfer.json; the run ends with one summary line per scenario
and method.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from bench.transfer import report  # noqa: E402
from bench.transfer.client import md5_of  # noqa: E402
from bench.transfer.cloud import Cloud  # noqa: E402
from bench.wan import measure  # noqa: E402
from bench.wan.link import mathis_bps  # noqa: E402
from bench.wan.topology import REPO, Link  # noqa: E402

DEFAULT_SCENARIOS = "100/100/0,100/100/0.001,100/100/0.01,100/100/0.02,1000/100/0"
METHODS = "http,swiftclient,swiftclient-seg,stratus"
TCP_METHODS = {"http", "swiftclient"}
MB = 1 << 20


def parse_scenarios(text: str) -> list[tuple[float, float, float]]:
    out = []
    for item in text.split(","):
        rate, rtt, loss = (float(x) for x in item.split("/"))
        out.append((rate, rtt, loss))
    return out


def planned_bytes(method: str, rate: float, rtt: float, loss: float, mtu: int,
                  seconds: float, max_mb: int) -> int:
    """File size for ``method`` so that its upload takes about ``seconds``."""
    expect = rate * 1e6
    if method in TCP_METHODS and loss:
        expect = min(expect, mathis_bps(mtu - 52, rtt / 1000, loss))
    elif method == "swiftclient-seg" and loss:
        expect = min(expect, 8 * mathis_bps(mtu - 52, rtt / 1000, loss))
    size = int(expect * seconds / 8)
    return max(MB, min(size, max_mb * MB)) // MB * MB


def resized(result: dict, size: int, seconds: float, max_mb: int) -> int | None:
    """A bigger size when an upload took under half the target time (the
    estimate was too low), else None.  At most 4x per step: a short TCP
    upload is mostly slow start, faster than the steady state that follows.
    A stratus upload is judged by the protocol's own time (its client's
    figure), not the whole command's."""
    took = result.get("seconds") or 0
    if result.get("protocol_goodput_mbps"):
        # stratus: size on the protocol's own time (the CLI's start and login,
        # seconds on a busy host, would otherwise keep the file small)
        took = size * 8 / 1e6 / result["protocol_goodput_mbps"]
    if not result.get("ok") or took >= seconds / 2 or size >= max_mb * MB:
        return None
    rate = size / took
    return max(MB, min(int(rate * seconds), 4 * size, max_mb * MB)) // MB * MB


class Files:
    """Random test files by size, in a temp dir (random: nothing compresses)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="stratus-bench-files-")
        self.made: dict[int, tuple[str, str]] = {}

    def get(self, size: int) -> tuple[str, str]:
        if size not in self.made:
            path = os.path.join(self.dir, f"file-{size}")
            with open(path, "wb") as f:
                for off in range(0, size, 4 * MB):
                    f.write(os.urandom(min(4 * MB, size - off)))
            self.made[size] = (path, md5_of(path))
        return self.made[size]

    def remove(self):
        subprocess.run(["rm", "-rf", self.dir])


def udp_counters(ns: str) -> dict:
    """The kernel's UDP counters in namespace ``ns`` (RcvbufErrors: datagrams
    dropped because a receiver's socket buffer was full)."""
    cp = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"],
                        capture_output=True, text=True)
    rows = [ln.split()[1:] for ln in cp.stdout.splitlines() if ln.startswith("Udp:")]
    return dict(zip(rows[0], map(int, rows[1]))) if len(rows) == 2 else {}


def run_method(link: Link, cloud: Cloud, job: dict, timeout: float) -> dict:
    cp = subprocess.run(link.client_cmd([sys.executable, "-m", "bench.transfer.client",
                                         json.dumps(job)]),
                        cwd=REPO, capture_output=True, text=True, timeout=timeout,
                        env={**os.environ, "PYTHONPATH": REPO})
    try:
        return json.loads(cp.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"ok": False, "error": f"client exited {cp.returncode}: {cp.stderr[-300:]}"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="upload goodput over an emulated WAN")
    p.add_argument("--scenarios", default=DEFAULT_SCENARIOS,
                   help="comma-separated rate_mbps/rtt_ms/loss (default: %(default)s)")
    p.add_argument("--methods", default=METHODS)
    p.add_argument("--seconds", type=float, default=15.0, help="target time per upload")
    p.add_argument("--max-mb", type=int, default=2048, help="largest file")
    p.add_argument("--mtu", type=int, default=1500)
    p.add_argument("--big-mtu", type=int, default=9000, help="MTU at >= 1000 Mbit/s")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--login-in-clock", action="store_true",
                   help="stratus: log in inside the timed command (clouds.yaml and a Keystone "
                        "round trip), where the TCP methods log in before their clock starts")
    p.add_argument("--tcp-cc", default="cubic",
                   help="TCP congestion control of the clients' sockets (default: %(default)s, "
                        "Linux's default; this host's default is bbr)")
    a = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/transfer needs root (network namespaces)", file=sys.stderr)
        return 2
    scenarios = parse_scenarios(a.scenarios)
    methods = a.methods.split(",")
    files, results, summary = Files(), [], []
    first = scenarios[0]
    try:
        with Link(rate_mbps=first[0], rtt_ms=first[1], loss=first[2], mtu=a.mtu) as link:
            cloud = Cloud(link, a.port)
            try:
                t0 = time.monotonic()
                cloud.start()
                print(f"cloud up in the server namespace in {time.monotonic() - t0:.1f}s "
                      f"({cloud.public}); clients in the client namespace; "
                      f"TCP congestion control {a.tcp_cc}\n", flush=True)
                for rate, rtt, loss in scenarios:
                    mtu = a.big_mtu if rate >= 1000 else a.mtu
                    link.reconfigure(rate_mbps=rate, rtt_ms=rtt, loss=loss, mtu=mtu)
                    name = report.scenario_name(rate, rtt, loss)
                    pg = measure.ping(link, count=3, interval=0.2)
                    print(f"== {name}  ({link.describe()}; ping min RTT {pg['min']} ms)",
                          flush=True)
                    raw = {}
                    for method in methods:
                        # a pilot at a quarter of the target, then resized to the rate seen
                        size = planned_bytes(method, rate, rtt, loss, mtu, a.seconds / 4,
                                             a.max_mb)
                        for attempt in range(3):
                            path, md5 = files.get(size)
                            job = {"method": method, "auth_url": cloud.auth_url,
                                   "username": "admin", "password": cloud.admin_password(),
                                   "project": "admin", "container": "bench",
                                   "object": f"{name.replace('/', '_')}-{method}",
                                   "file": path, "size": size, "md5": md5,
                                   "clouds_yaml": cloud.clouds_yaml, "stratus": cloud.stratus,
                                   "tcp_cc": a.tcp_cc,
                                   "token_in_hand": not a.login_in_clock,
                                   "timeout": a.seconds * 20 + 120}
                            r = run_method(link, cloud, job, a.seconds * 20 + 180)
                            raw[method] = r
                            resize = resized(r, size, a.seconds, a.max_mb)
                            if resize is None:
                                break
                            size = resize        # too short to mean anything: resize, rerun
                        if not r.get("ok") and r.get("error"):
                            print(f"  ({method}: {r['error']})", flush=True)
                            logged = cloud.errors()
                            if logged:
                                print("  server log:\n    " + logged.replace("\n", "\n    "),
                                      flush=True)
                    figs = report.figures(raw, rate)
                    for method in methods:
                        print(report.table_row(method, raw[method], figs.get(method)), flush=True)
                        f = figs.get(method)
                        if f:
                            summary.append(report.summary_line(name, method, f))
                        else:
                            status = "skipped" if raw[method].get("skipped") else "error"
                            summary.append(report.summary_line(name, method, {
                                "goodput_mbps": None, "ratio_vs_tcp": None,
                                "link_share": None}) + f" status={status}")
                    results.append({"scenario": name, "rate_mbps": rate, "rtt_ms": rtt,
                                    "tcp_cc": a.tcp_cc,
                                    "loss": loss, "mtu": mtu, "ping": pg, "raw": raw,
                                    "figures": figs})
                    results[-1]["server_udp"] = udp_counters(link.server_ns)
                    results[-1]["client_udp"] = udp_counters(link.client_ns)
                    link.reconfigure()               # collect this scenario's link counters
                    results[-1]["forwarder"] = link.stats
                    print(flush=True)
            finally:
                cloud.stop()
                cloud.remove()
    finally:
        files.remove()
    print(f"Files sized for ~{a.seconds:g}s per upload; TCP congestion control {a.tcp_cc}; "
          f"scenarios >= 1000 Mbit/s use MTU {a.big_mtu} on both ends (same for TCP).")
    for line in summary:
        print(line)
    os.makedirs(os.path.join(REPO, "bench", "results"), exist_ok=True)
    with open(os.path.join(REPO, "bench", "results", "transfer.json"), "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
