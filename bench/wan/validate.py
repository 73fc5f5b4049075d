"""Validate the WAN emulator against what a real link would do.

    .venv/bin/python bench/wan/validate.py [--rate 100] [--rtt 100]
        [--losses 0.001,0.01,0.02] [--seconds 30] [--warmup 8] [--cc reno,cubic]

For the configured link it measures, through the emulator: the ping RTT
(must be the configured RTT, within a ms or two when the machine is idle),
the delivered rate of a UDP blast offered at 1.2x the link rate (must be the
configured rate), then for every loss rate and congestion control a single
TCP bulk transfer of ``--seconds`` whose goodput after ``--warmup`` is
printed next to the Mathis estimate MSS/RTT * 1.22/sqrt(p) (MSS from
TCP_INFO of the connection).  Mathis models Reno-like AIMD; the kernel's
default is CUBIC, which is more aggressive at high BDP, so both are run.
Results also go to bench/results/wan-validate.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from bench.wan import measure  # noqa: E402
from bench.wan.link import mathis_bps  # noqa: E402
from bench.wan.topology import REPO, Link  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="validate the WAN emulator")
    p.add_argument("--rate", type=float, default=100.0, help="Mbit/s")
    p.add_argument("--rtt", type=float, default=100.0, help="ms")
    p.add_argument("--losses", default="0.001,0.01,0.02")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--warmup", type=float, default=8.0)
    p.add_argument("--cc", default="reno,cubic")
    a = p.parse_args(argv)
    if os.geteuid() != 0:
        print("validate.py needs root (network namespaces)", file=sys.stderr)
        return 2
    out = {"rate_mbps": a.rate, "rtt_ms": a.rtt, "tcp": []}

    with Link(rate_mbps=a.rate, rtt_ms=a.rtt) as link:
        out["ping"] = measure.ping(link, count=20)
        out["udp"] = measure.udp_blast(link, seconds=5, rate_mbps=a.rate * 1.2)
    out["udp_forwarder"] = link.stats
    pg, ud = out["ping"], out["udp"]
    print(f"link {a.rate:g} Mbit/s, RTT {a.rtt:g} ms (one-way {a.rtt / 2:g} ms each direction)")
    print(f"  ping RTT min/avg/max/mdev {pg['min']}/{pg['avg']}/{pg['max']}/{pg['mdev']} ms "
          f"(configured {a.rtt:g})")
    wire = ud["rate_mbps"] * (1400 + 28) / 1400          # + IPv4 and UDP headers
    print(f"  UDP blast offered {a.rate * 1.2:g} Mbit/s: delivered {ud['rate_mbps']:.1f} Mbit/s "
          f"of payload = {wire:.1f} Mbit/s of IP packets ({wire / a.rate:.1%} of configured)")
    print()
    print(f"  {'loss':>6} {'cc':>6} {'mss':>5} {'tcp_rtt':>8} {'goodput':>9} {'mathis':>9} "
          f"{'ratio':>6} {'retrans':>7} {'fwd late avg/max':>17}")
    for loss in [float(x) for x in a.losses.split(",")]:
        for cc in a.cc.split(","):
            with Link(rate_mbps=a.rate, rtt_ms=a.rtt, loss=loss) as link:
                r = measure.tcp_bulk(link, seconds=a.seconds, warmup=a.warmup, cc=cc)
            fwd = link.stats["a_to_b"] if link.stats else {}
            m = min(mathis_bps(r["mss"], a.rtt / 1000, loss) / 1e6, a.rate)
            row = {"loss": loss, "cc": r["cc"], "mss": r["mss"], "kernel_rtt_ms": r["rtt_ms"],
                   "goodput_mbps": r["goodput_mbps"], "mathis_mbps": m,
                   "ratio": r["goodput_mbps"] / m, "total_retrans": r["total_retrans"],
                   "forwarder": link.stats}
            out["tcp"].append(row)
            print(f"  {loss:>6.2%} {r['cc']:>6} {r['mss']:>5} {r['rtt_ms']:>6.1f}ms "
                  f"{r['goodput_mbps']:>7.2f}Mb {m:>7.2f}Mb {row['ratio']:>6.2f} "
                  f"{r['total_retrans']:>7} {fwd.get('late_mean_us', 0) / 1000:>7.2f}/"
                  f"{fwd.get('late_max_us', 0) / 1000:.1f} ms", flush=True)
    print("\n  mathis = min(MSS/RTT * 1.22/sqrt(p), link rate); ratio = goodput / mathis")
    os.makedirs(os.path.join(REPO, "bench", "results"), exist_ok=True)
    with open(os.path.join(REPO, "bench", "results", "wan-validate.json"), "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
